// ReLU: y = x where x > 0, else 0; mask = (x <= 0) as in the book (gradient 0 at x == 0).
// All arrays are contiguous, n elements. x, y, dout and dx may alias each other; mask may not.
#pragma once

#include "fastlayers/common.hpp"

namespace fastlayers {

// mask[i] = x[i] <= 0;  y[i] = mask[i] ? 0 : x[i]   (NaN is not masked and passes through)
template <class T>
void relu_forward(const T* x, T* y, bool* mask, Index n);

// dx[i] = mask[i] ? 0 : dout[i]
template <class T>
void relu_backward(const T* dout, const bool* mask, T* dx, Index n);

// Scalar references the fast paths are tested against.
template <class T>
void relu_forward_reference(const T* x, T* y, bool* mask, Index n) {
  for (Index i = 0; i < n; ++i) {
    mask[i] = x[i] <= T(0);
    y[i] = mask[i] ? T(0) : x[i];
  }
}

template <class T>
void relu_backward_reference(const T* dout, const bool* mask, T* dx, Index n) {
  for (Index i = 0; i < n; ++i) dx[i] = mask[i] ? T(0) : dout[i];
}

}  // namespace fastlayers
