// Affine (fully connected): out = x @ W + b, with the gradients of the book's Affine layer.
// Shapes: x (N, D) row-major, W (D, M) row- or col-major (MatView), b (M,), out (N, M).
#pragma once

#include "fastlayers/common.hpp"

namespace fastlayers {

// out = x @ W + b        (N,M) = (N,D)(D,M) + (M,)
template <class T>
void affine_forward(const T* x, Index n, Index d, MatView<T> W, const T* b, T* out);

// dx = dout @ W.T        (N,D) = (N,M)(M,D)      skipped when dx is null
// dW = x.T @ dout        (D,M) = (D,N)(N,M)      skipped when dW is null
// db = sum_rows(dout)    (M,)                    skipped when db is null
// Outputs must not alias the inputs.
template <class T>
void affine_backward(const T* dout, const T* x, Index n, Index d, MatView<T> W, T* dx, T* dW, T* db);

template <class T>
T mat_at(const MatView<T>& W, Index i, Index j) {
  return W.col_major ? W.data[i + j * W.rows] : W.data[i * W.cols + j];
}

template <class T>
void affine_forward_reference(const T* x, Index n, Index d, MatView<T> W, const T* b, T* out) {
  const Index m = W.cols;
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < m; ++j) {
      T acc = b[j];
      for (Index k = 0; k < d; ++k) acc += x[i * d + k] * mat_at(W, k, j);
      out[i * m + j] = acc;
    }
}

template <class T>
void affine_backward_reference(const T* dout, const T* x, Index n, Index d, MatView<T> W, T* dx, T* dW,
                               T* db) {
  const Index m = W.cols;
  for (Index i = 0; i < n; ++i)
    for (Index k = 0; k < d; ++k) {
      T acc = 0;
      for (Index j = 0; j < m; ++j) acc += dout[i * m + j] * mat_at(W, k, j);
      dx[i * d + k] = acc;
    }
  for (Index k = 0; k < d; ++k)
    for (Index j = 0; j < m; ++j) {
      T acc = 0;
      for (Index i = 0; i < n; ++i) acc += x[i * d + k] * dout[i * m + j];
      dW[k * m + j] = acc;
    }
  for (Index j = 0; j < m; ++j) {
    T acc = 0;
    for (Index i = 0; i < n; ++i) acc += dout[i * m + j];
    db[j] = acc;
  }
}

}  // namespace fastlayers
