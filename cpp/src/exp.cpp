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
template <>
void exp_nonpositive<float>(const float* x, float* y, Index n) {
  Index i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, detail::exp_nonpositive(_mm256_loadu_ps(x + i)));
  if (i < n) {
    const __m256i m = detail::lanes(n - i);
    _mm256_maskstore_ps(y + i, m, detail::exp_nonpositive(_mm256_maskload_ps(x + i, m)));
  }
}
#endif

template void exp_nonpositive<float>(const float*, float*, Index);
template void exp_nonpositive<double>(const double*, double*, Index);

}  // namespace fastlayers
