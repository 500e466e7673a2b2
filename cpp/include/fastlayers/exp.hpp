// The exponential the Sigmoid and softmax kernels use, exposed so that tests can hold it against
// std::exp: in the AVX2 build its own vectorised exp (cpp/src/exp.hpp), in the baseline build Eigen's.
#pragma once

#include "fastlayers/common.hpp"

namespace fastlayers {

// y = exp(x) elementwise for x <= 0 (and NaN), exact down to the subnormal results and 0.
// Positive x are outside its domain (the kernels subtract the maximum or negate |x| first).
template <class T>
void exp_nonpositive(const T* x, T* y, Index n);

}  // namespace fastlayers
