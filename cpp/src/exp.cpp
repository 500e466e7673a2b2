// exp_nonpositive (fastlayers/exp.hpp): the kernels' exp over an array.
#include "fastlayers/exp.hpp"

#include "exp.hpp"

namespace fastlayers {

template <class T>
void exp_nonpositive(const T* x, T* y, Index n) {
  Eigen::Array<T, detail::kBlock, 1> e;
  for (Index b = 0; b < n; b += detail::kBlock) {
    const Index len = n - b < detail::kBlock ? n - b : detail::kBlock;
    auto eb = e.head(len);
    detail::exp_exact(Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>(x + b, len), eb);
    for (Index i = 0; i < len; ++i) y[b + i] = e[i];
  }
}

#ifdef FASTLAYERS_AVX2_EXP
// The AVX2 build's own exp (exp.hpp), a vector at a time, the last partial vector masked.
template <class T>
void exp_nonpositive_vec(const T* x, T* y, Index n) {
  using V = detail::Vec<T>;
  Index i = 0;
  for (; i + V::kWidth <= n; i += V::kWidth) V::store(y + i, V::exp(V::load(x + i)));
  if (i < n) {
    const __m256i m = V::lanes(n - i);
    V::store(y + i, m, V::exp(V::load(x + i, m)));
  }
}

template <>
void exp_nonpositive<float>(const float* x, float* y, Index n) {
  exp_nonpositive_vec(x, y, n);
}

template <>
void exp_nonpositive<double>(const double* x, double* y, Index n) {
  exp_nonpositive_vec(x, y, n);
}
#endif

template void exp_nonpositive<float>(const float*, float*, Index);
template void exp_nonpositive<double>(const double*, double*, Index);

}  // namespace fastlayers
