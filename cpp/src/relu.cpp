// ReLU kernels: one fused, branch-free pass per direction, split across threads for large arrays.
#include "fastlayers/relu.hpp"

#include <cstdint>
#include <cstring>

#include "fastlayers/threading.hpp"
#include "stream.hpp"

namespace fastlayers {
namespace {

constexpr Index kGrain = 1 << 15;  // elements per thread below which threading does not pay

template <class T>
void relu_forward_chunk(const T* __restrict x, T* __restrict y, bool* __restrict mask, Index n) {
  // Written as selects on a 0/1 byte so the compiler emits blends, not branches.
  for (Index i = 0; i < n; ++i) {
    const T v = x[i];
    const bool m = v <= T(0);
    mask[i] = m;
    y[i] = m ? T(0) : v;
  }
}

// The mask is read as bytes: GCC does not vectorise loads of bool.
template <class T>
void relu_backward_chunk(const T* __restrict dout, const unsigned char* __restrict mask, T* __restrict dx,
                         Index n) {
  for (Index i = 0; i < n; ++i) {
    const T v = dout[i];
    dx[i] = mask[i] ? T(0) : v;
  }
}

// In-place variants: the same loops without the no-alias promise.
template <class T>
void relu_forward_chunk_alias(const T* x, T* y, bool* mask, Index n) {
  for (Index i = 0; i < n; ++i) {
    const T v = x[i];
    const bool m = v <= T(0);
    mask[i] = m;
    y[i] = m ? T(0) : v;
  }
}

template <class T>
void relu_backward_chunk_alias(const T* dout, const unsigned char* mask, T* dx, Index n) {
  for (Index i = 0; i < n; ++i) {
    const T v = dout[i];
    dx[i] = mask[i] ? T(0) : v;
  }
}

#ifdef FASTLAYERS_STREAM_STORES
// Streaming-store variants for calls larger than the last-level cache (stream.hpp): the same
// selects eight (float) or four (double) lanes at a time, y and dx written past the caches from the
// first 32-byte boundary on; the elements before it and after the last whole vector take the loops
// above, which compute the same values (a select is exact).

// Byte k of kMaskBytes[b] is bit k of b: movemask bits to the 0/1 bytes of a bool mask.
struct MaskBytes {
  std::uint64_t v[256];
  constexpr MaskBytes() : v() {
    for (int b = 0; b < 256; ++b)
      for (int k = 0; k < 8; ++k)
        if ((b >> k) & 1) v[b] |= std::uint64_t{1} << (8 * k);
  }
};
constexpr MaskBytes kMaskBytes{};

void relu_forward_stream(const float* x, float* y, bool* mask, Index n) {
  Index i = detail::to_aligned(y, n);
  relu_forward_chunk_alias(x, y, mask, i);
  const __m256 zero = _mm256_setzero_ps();
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    const __m256 m = _mm256_cmp_ps(v, zero, _CMP_LE_OQ);
    _mm256_stream_ps(y + i, _mm256_andnot_ps(m, v));
    std::memcpy(mask + i, &kMaskBytes.v[_mm256_movemask_ps(m)], 8);
  }
  relu_forward_chunk_alias(x + i, y + i, mask + i, n - i);
  _mm_sfence();
}

void relu_forward_stream(const double* x, double* y, bool* mask, Index n) {
  Index i = detail::to_aligned(y, n);
  relu_forward_chunk_alias(x, y, mask, i);
  const __m256d zero = _mm256_setzero_pd();
  for (; i + 4 <= n; i += 4) {
    const __m256d v = _mm256_loadu_pd(x + i);
    const __m256d m = _mm256_cmp_pd(v, zero, _CMP_LE_OQ);
    _mm256_stream_pd(y + i, _mm256_andnot_pd(m, v));
    std::memcpy(mask + i, &kMaskBytes.v[_mm256_movemask_pd(m)], 4);
  }
  relu_forward_chunk_alias(x + i, y + i, mask + i, n - i);
  _mm_sfence();
}

void relu_backward_stream(const float* dout, const unsigned char* mask, float* dx, Index n) {
  Index i = detail::to_aligned(dx, n);
  relu_backward_chunk_alias(dout, mask, dx, i);
  const __m256i zero = _mm256_setzero_si256();
  for (; i + 8 <= n; i += 8) {
    std::int64_t bytes;
    std::memcpy(&bytes, mask + i, 8);
    const __m256i m = _mm256_cmpgt_epi32(_mm256_cvtepu8_epi32(_mm_cvtsi64_si128(bytes)), zero);
    _mm256_stream_ps(dx + i, _mm256_andnot_ps(_mm256_castsi256_ps(m), _mm256_loadu_ps(dout + i)));
  }
  relu_backward_chunk_alias(dout + i, mask + i, dx + i, n - i);
  _mm_sfence();
}

void relu_backward_stream(const double* dout, const unsigned char* mask, double* dx, Index n) {
  Index i = detail::to_aligned(dx, n);
  relu_backward_chunk_alias(dout, mask, dx, i);
  const __m256i zero = _mm256_setzero_si256();
  for (; i + 4 <= n; i += 4) {
    std::int32_t bytes;
    std::memcpy(&bytes, mask + i, 4);
    const __m256i m = _mm256_cmpgt_epi64(_mm256_cvtepu8_epi64(_mm_cvtsi32_si128(bytes)), zero);
    _mm256_stream_pd(dx + i, _mm256_andnot_pd(_mm256_castsi256_pd(m), _mm256_loadu_pd(dout + i)));
  }
  relu_backward_chunk_alias(dout + i, mask + i, dx + i, n - i);
  _mm_sfence();
}
#endif

}  // namespace

template <class T>
void relu_forward(const T* x, T* y, bool* mask, Index n) {
  ThreadScope scope;
  const bool alias = x == y;
#ifdef FASTLAYERS_STREAM_STORES
  if (detail::stream_output(static_cast<std::size_t>(n) * (2 * sizeof(T) + 1))) {
    parallel_chunks(scope, n, kGrain, [&](Index b, Index e) { relu_forward_stream(x + b, y + b, mask + b, e - b); });
    return;
  }
#endif
  parallel_chunks(scope, n, kGrain, [&](Index b, Index e) {
    if (alias)
      relu_forward_chunk_alias(x + b, y + b, mask + b, e - b);
    else
      relu_forward_chunk(x + b, y + b, mask + b, e - b);
  });
}

template <class T>
void relu_backward(const T* dout, const bool* mask, T* dx, Index n) {
  ThreadScope scope;
  const bool alias = dout == dx;
  const auto* bytes = reinterpret_cast<const unsigned char*>(mask);
#ifdef FASTLAYERS_STREAM_STORES
  if (detail::stream_output(static_cast<std::size_t>(n) * (2 * sizeof(T) + 1))) {
    parallel_chunks(scope, n, kGrain,
                    [&](Index b, Index e) { relu_backward_stream(dout + b, bytes + b, dx + b, e - b); });
    return;
  }
#endif
  parallel_chunks(scope, n, kGrain, [&](Index b, Index e) {
    if (alias)
      relu_backward_chunk_alias(dout + b, bytes + b, dx + b, e - b);
    else
      relu_backward_chunk(dout + b, bytes + b, dx + b, e - b);
  });
}

template void relu_forward<float>(const float*, float*, bool*, Index);
template void relu_forward<double>(const double*, double*, bool*, Index);
template void relu_backward<float>(const float*, const bool*, float*, Index);
template void relu_backward<double>(const double*, const bool*, double*, Index);

}  // namespace fastlayers
