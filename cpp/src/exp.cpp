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
// The avx2 and avx512 builds' own exp (exp.hpp), on the build's widest vectors.
template <>
void exp_nonpositive<float>(const float* x, float* y, Index n) {
  using V = detail::Wide<float>;
  detail::map_vectors<float, false, V>(x, y, n, [](auto& v) { detail::exp_nonpositive<float, V>(v); });
}

template <>
void exp_nonpositive<double>(const double* x, double* y, Index n) {
  using V = detail::Wide<double>;
  detail::map_vectors<double, false, V>(x, y, n, [](auto& v) { detail::exp_nonpositive<double, V>(v); });
}
#endif

template void exp_nonpositive<float>(const float*, float*, Index);
template void exp_nonpositive<double>(const double*, double*, Index);

}  // namespace fastlayers
