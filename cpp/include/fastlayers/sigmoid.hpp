// Sigmoid: out = 1 / (1 + exp(-x)), computed without overflow; backward from the output.
// All arrays are contiguous, n elements; any of them may be the same buffer (no partial overlap).
#pragma once

#include <cmath>

#include "fastlayers/common.hpp"

namespace fastlayers {

// e = exp(-|x|) is in (0, 1], so nothing overflows:
//   x >= 0: out = 1 / (1 + e)       (x = +1000 gives exactly 1)
//   x <  0: out = e / (1 + e)       (x = -1000 gives 0, x = -100 the correctly rounded tiny value)
template <class T>
void sigmoid_forward(const T* x, T* out, Index n);

// dx = dout * (1 - out) * out
template <class T>
void sigmoid_backward(const T* dout, const T* out, T* dx, Index n);

template <class T>
void sigmoid_forward_reference(const T* x, T* out, Index n) {
  for (Index i = 0; i < n; ++i) {
    const T e = std::exp(-std::abs(x[i]));
    out[i] = (x[i] >= T(0) ? T(1) : e) / (T(1) + e);
  }
}

template <class T>
void sigmoid_backward_reference(const T* dout, const T* out, T* dx, Index n) {
  for (Index i = 0; i < n; ++i) dx[i] = dout[i] * (T(1) - out[i]) * out[i];
}

}  // namespace fastlayers
