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
      const T r = T(1) / (T(1) + ei);
      ob[i] = xb[i] >= T(0) ? r : ei * r;
    }
  }
}

#ifdef FASTLAYERS_AVX2_EXP
// The same formula a vector at a time with the AVX2 exp (exp.hpp); the last partial vector is
// loaded and stored through a mask, so every element takes the same path wherever it sits.
template <class T>
typename detail::Vec<T>::R sigmoid_v(typename detail::Vec<T>::R x) {
  using V = detail::Vec<T>;
  const auto e = V::exp(V::neg_abs(x));  // exp(-|x|)
  const auto r = V::div(V::set1(T(1)), V::add(V::set1(T(1)), e));
  return V::select(V::negative(x), V::mul(e, r), r);
}

template <class T>
void sigmoid_forward_vec(const T* x, T* out, Index n) {
  using V = detail::Vec<T>;
  Index i = 0;
  for (; i + V::kWidth <= n; i += V::kWidth) V::store(out + i, sigmoid_v<T>(V::load(x + i)));
  if (i < n) {
    const __m256i m = V::lanes(n - i);
    V::store(out + i, m, sigmoid_v<T>(V::load(x + i, m)));
  }
}

template <>
void sigmoid_forward_chunk<float>(const float* x, float* out, Index n) {
  sigmoid_forward_vec(x, out, n);
}

template <>
void sigmoid_forward_chunk<double>(const double* x, double* out, Index n) {
  sigmoid_forward_vec(x, out, n);
}

// The same with streaming stores (stream.hpp) from out's first 32-byte boundary on; the elements
// before it go through one masked vector, so each element is still computed the same way.
template <class T>
void sigmoid_forward_stream(const T* x, T* out, Index n) {
  using V = detail::Vec<T>;
  const Index head = detail::to_aligned(out, n);
  if (head == n || head >= V::kWidth) {  // short, or out not even element-aligned
    sigmoid_forward_vec(x, out, n);
    return;
  }
  if (head > 0) {
    const __m256i m = V::lanes(head);
    V::store(out, m, sigmoid_v<T>(V::load(x, m)));
  }
  Index i = head;
  for (; i + V::kWidth <= n; i += V::kWidth) V::stream(out + i, sigmoid_v<T>(V::load(x + i)));
  if (i < n) {
    const __m256i m = V::lanes(n - i);
    V::store(out + i, m, sigmoid_v<T>(V::load(x + i, m)));
  }
  _mm_sfence();
}

// dx = dout * (1 - out) * out, multiplied in that order like the Eigen expression below, streamed.
template <class T>
void sigmoid_backward_stream(const T* dout, const T* out, T* dx, Index n);

template <>
void sigmoid_backward_stream<float>(const float* dout, const float* out, float* dx, Index n) {
  Index i = detail::to_aligned(dx, n);
  for (Index j = 0; j < i; ++j) dx[j] = dout[j] * (1.0f - out[j]) * out[j];
  const __m256 one = _mm256_set1_ps(1.0f);
  for (; i + 8 <= n; i += 8) {
    const __m256 o = _mm256_loadu_ps(out + i);
    _mm256_stream_ps(dx + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(dout + i), _mm256_sub_ps(one, o)), o));
  }
  for (; i < n; ++i) dx[i] = dout[i] * (1.0f - out[i]) * out[i];
  _mm_sfence();
}

template <>
void sigmoid_backward_stream<double>(const double* dout, const double* out, double* dx, Index n) {
  Index i = detail::to_aligned(dx, n);
  for (Index j = 0; j < i; ++j) dx[j] = dout[j] * (1.0 - out[j]) * out[j];
  const __m256d one = _mm256_set1_pd(1.0);
  for (; i + 4 <= n; i += 4) {
    const __m256d o = _mm256_loadu_pd(out + i);
    _mm256_stream_pd(dx + i, _mm256_mul_pd(_mm256_mul_pd(_mm256_loadu_pd(dout + i), _mm256_sub_pd(one, o)), o));
  }
  for (; i < n; ++i) dx[i] = dout[i] * (1.0 - out[i]) * out[i];
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
