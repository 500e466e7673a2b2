// ReLU kernels: one fused, branch-free pass per direction, split across threads for large arrays.
#include "fastlayers/relu.hpp"

#include "fastlayers/threading.hpp"

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

}  // namespace

template <class T>
void relu_forward(const T* x, T* y, bool* mask, Index n) {
  ThreadScope scope;
  const bool alias = x == y;
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
