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

template <class T>
void relu_forward_stream(const T* x, T* y, bool* mask, Index n) {
  using V = detail::Vec<T>;
  Index i = detail::to_aligned(y, n);
  relu_forward_chunk_alias(x, y, mask, i);
  for (; i + V::kWidth <= n; i += V::kWidth) {
    const auto v = V::load(x + i);
    const auto m = V::not_positive(v);
    V::stream(y + i, V::zero_where(m, v));
    std::memcpy(mask + i, &kMaskBytes.v[V::bits(m)], static_cast<std::size_t>(V::kWidth));
  }
  relu_forward_chunk_alias(x + i, y + i, mask + i, n - i);
  _mm_sfence();
}

template <class T>
void relu_backward_stream(const T* dout, const unsigned char* mask, T* dx, Index n) {
  using V = detail::Vec<T>;
  Index i = detail::to_aligned(dx, n);
  relu_backward_chunk_alias(dout, mask, dx, i);
  for (; i + V::kWidth <= n; i += V::kWidth)
    V::stream(dx + i, V::zero_where(V::nonzero(mask + i), V::load(dout + i)));
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
