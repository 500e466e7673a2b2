// A sequential network (Affine, Relu, Sigmoid layers, then SoftmaxWithLoss) run as one call:
// the forward pass, the loss and the backward pass to every Affine's dW and db, with no
// dx computed for the first layer. Built from the layer kernels; the Python layer-by-layer
// path is the reference it is tested against.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <vector>

#include "fastlayers/common.hpp"

namespace fastlayers {

enum class NetLayerKind { affine, relu, sigmoid };

// One layer. For an Affine: W (D, M), b (M,), and where to write dW (D, M) and db (M,),
// contiguous row-major; dW/db must not alias W, b or x. Relu and Sigmoid use none of these.
template <class T>
struct NetLayer {
  NetLayerKind kind = NetLayerKind::relu;
  MatView<T> W;
  const T* b = nullptr;
  T* dW = nullptr;
  T* db = nullptr;
};

// 64-byte aligned storage. Eigen's vectorised sums start with a scalar head up to the first aligned
// element, so their rounding depends on the buffer's address; fixed alignment makes a seeded run
// bit-for-bit reproducible.
template <class T>
struct AlignedAllocator {
  using value_type = T;
  static constexpr std::align_val_t kAlign{64};
  AlignedAllocator() = default;
  template <class U>
  AlignedAllocator(const AlignedAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), kAlign)); }
  void deallocate(T* p, std::size_t) noexcept { ::operator delete(p, kAlign); }
  template <class U>
  bool operator==(const AlignedAllocator<U>&) const noexcept { return true; }
  template <class U>
  bool operator!=(const AlignedAllocator<U>&) const noexcept { return false; }
};

template <class T>
using AlignedVector = std::vector<T, AlignedAllocator<T>>;

// Activations and masks of one pass, kept between calls so that repeated steps do not allocate.
template <class T>
struct NetBuffers {
  std::vector<AlignedVector<T>> act;  // act[i]: output of layer i, (N, width_i)
  std::vector<std::unique_ptr<bool[]>> mask;
  std::vector<Index> mask_size;
  AlignedVector<T> y;       // softmax output (N, C)
  AlignedVector<T> g0, g1;  // backward ping-pong buffers
};

// Output width of each layer for an input of width d (-1 when an Affine's W does not fit).
template <class T>
std::vector<Index> net_widths(const NetLayer<T>* layers, Index count, Index d);

// scores = the network's output (N, C) for x (N, D); no softmax.
template <class T>
void net_predict(const NetLayer<T>* layers, Index count, const T* x, Index n, Index d, T* scores, NetBuffers<T>& buf);

// Forward, mean SoftmaxWithLoss against labels (N,) in [0, C) -- or, when labels is null, against
// probs (N, C) -- and backward into every Affine's dW and db. Returns the loss.
template <class T>
double net_gradient(const NetLayer<T>* layers, Index count, const T* x, Index n, Index d,
                    const std::int64_t* labels, const T* probs, NetBuffers<T>& buf);

}  // namespace fastlayers
