// Sigmoid kernels: a vectorised exp (exp.hpp), one pass per direction, threads for large arrays.
#include "fastlayers/sigmoid.hpp"

#include <Eigen/Core>

#include "exp.hpp"
#include "stream.hpp"

#include "fastlayers/threading.hpp"

namespace fastlayers {
namespace {

constexpr Index kGrain = 1 << 14;
using detail::kBlock;

template <class T>
using ArrayMap = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;
template <class T>
using ConstArrayMap = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;

template <class T>
void sigmoid_forward_chunk(const T* x, T* out, Index n) {
  // e = exp(-|x|) lives in an aligned block: cache-resident until used, and the vectorised exp
  // runs on the same elements wherever x and out are in memory.
  Eigen::Array<T, kBlock, 1> e;
  for (Index b = 0; b < n; b += kBlock) {
    const Index len = n - b < kBlock ? n - b : kBlock;
    ConstArrayMap<T> xv(x + b, len);
    auto eb = e.head(len);
    detail::exp_exact(-xv.abs(), eb);
    // A plain loop, so the compiler turns the choice into a vector blend (Eigen 3.4's select is
    // a scalar branch: ~50% mispredicted on random signs, 7 ns an element).
    const T* ep = e.data();
    const T* xb = x + b;
    T* ob = out + b;
    for (Index i = 0; i < len; ++i) {
      const T ei = ep[i];
      ob[i] = (xb[i] >= T(0) ? T(1) : ei) / (T(1) + ei);
    }
  }
}

#ifdef FASTLAYERS_AVX2_EXP
// The same formula on K vectors at a time with the build's own exp (exp.hpp), every element through the
// same path (map_vectors), on the build's widest vectors (detail::Wide: 512 bits in the avx512 build, with
// the same operations in every lane, so the same results as 256). Forced inline: GCC left the double
// version a call per vector (1.6x slower).
template <class T, std::size_t K>
[[gnu::always_inline]] inline void sigmoid_v(typename detail::Wide<T>::R (&v)[K]) {
  using V = detail::Wide<T>;
  typename V::R e[K];
  for (std::size_t j = 0; j < K; ++j) e[j] = V::neg_abs(v[j]);
  detail::exp_nonpositive<T, V>(e);  // exp(-|x|)
  for (std::size_t j = 0; j < K; ++j)
    v[j] = V::div(V::select(V::negative(v[j]), e[j], V::set1(T(1))), V::add(V::set1(T(1)), e[j]));
}

template <>
void sigmoid_forward_chunk<float>(const float* x, float* out, Index n) {
  detail::map_vectors<float, false, detail::Wide<float>>(x, out, n, [](auto& v) { sigmoid_v<float>(v); });
}

template <>
void sigmoid_forward_chunk<double>(const double* x, double* out, Index n) {
  detail::map_vectors<double, false, detail::Wide<double>>(x, out, n, [](auto& v) { sigmoid_v<double>(v); });
}

// The same with streaming stores (stream.hpp).
template <class T>
void sigmoid_forward_stream(const T* x, T* out, Index n) {
  detail::map_vectors<T, true, detail::Wide<T>>(x, out, n, [](auto& v) { sigmoid_v<T>(v); });
  _mm_sfence();
}

// dx = dout * (1 - out) * out, multiplied in that order like the Eigen expression below and the
// reference (which does the elements before dx's first 32-byte boundary and after the last vector),
// streamed.
template <class T>
void sigmoid_backward_stream(const T* dout, const T* out, T* dx, Index n) {
  using V = detail::Vec<T>;
  Index i = detail::to_aligned(dx, n);
  sigmoid_backward_reference(dout, out, dx, i);
  const auto one = V::set1(T(1));
  for (; i + V::kWidth <= n; i += V::kWidth) {
    const auto o = V::load(out + i);
    V::stream(dx + i, V::mul(V::mul(V::load(dout + i), V::sub(one, o)), o));
  }
  sigmoid_backward_reference(dout + i, out + i, dx + i, n - i);
  _mm_sfence();
}
#endif

template <class T>
void sigmoid_backward_chunk(const T* dout, const T* out, T* dx, Index n) {
  ConstArrayMap<T> d(dout, n);
  ConstArrayMap<T> o(out, n);
  ArrayMap<T> g(dx, n);
  g = d * (T(1) - o) * o;
}

}  // namespace

template <class T>
void sigmoid_forward(const T* x, T* out, Index n) {
  ThreadScope scope;
#ifdef FASTLAYERS_STREAM_STORES
  if (detail::stream_output(static_cast<std::size_t>(n) * 2 * sizeof(T))) {
    parallel_chunks(scope, n, kGrain, [&](Index b, Index e) { sigmoid_forward_stream(x + b, out + b, e - b); });
    return;
  }
#endif
  parallel_chunks(scope, n, kGrain, [&](Index b, Index e) { sigmoid_forward_chunk(x + b, out + b, e - b); });
}

template <class T>
void sigmoid_backward(const T* dout, const T* out, T* dx, Index n) {
  ThreadScope scope;
#ifdef FASTLAYERS_STREAM_STORES
  if (detail::stream_output(static_cast<std::size_t>(n) * 3 * sizeof(T))) {
    parallel_chunks(scope, n, kGrain,
                    [&](Index b, Index e) { sigmoid_backward_stream(dout + b, out + b, dx + b, e - b); });
    return;
  }
#endif
  parallel_chunks(scope, n, kGrain,
                  [&](Index b, Index e) { sigmoid_backward_chunk(dout + b, out + b, dx + b, e - b); });
}

template void sigmoid_forward<float>(const float*, float*, Index);
template void sigmoid_forward<double>(const double*, double*, Index);
template void sigmoid_backward<float>(const float*, const float*, float*, Index);
template void sigmoid_backward<double>(const double*, const double*, double*, Index);

}  // namespace fastlayers
