// softmax along rows, and the book's cross_entropy_error on probabilities.
// Arrays are contiguous row-major (rows, cols); x and y may be the same buffer.
#pragma once

#include <cmath>
#include <cstdint>

#include "fastlayers/common.hpp"

namespace fastlayers {

// y[i, :] = exp(x[i, :] - max_i) / sum(exp(x[i, :] - max_i))   never overflows
template <class T>
void softmax_rows(const T* x, Index rows, Index cols, T* y);

// The book's cross_entropy_error with integer labels t (N,), each in [0, C):
//   -sum_i log(y[i, t_i] + 1e-7) / N     (log taken in T, like NumPy on a T array)
template <class T>
double cross_entropy_labels(const T* y, Index n, Index c, const std::int64_t* t);

// labels[i] = argmax(t[i, :]): the book turns one-hot targets into labels this way
// (first maximum; a NaN counts as the maximum, like numpy.argmax). Needs c >= 1.
template <class T>
void argmax_rows(const T* t, Index n, Index c, std::int64_t* labels);

// Index of the first label outside [0, c), or -1 when all are valid.
Index first_bad_label(const std::int64_t* t, Index n, Index c);

template <class T>
Index row_argmax(const T* row, Index c) {
  Index best = 0;
  for (Index j = 1; j < c; ++j) {
    if (std::isnan(row[best])) break;
    if (row[j] > row[best] || std::isnan(row[j])) best = j;
  }
  return best;
}

template <class T>
void softmax_rows_reference(const T* x, Index rows, Index cols, T* y) {
  for (Index i = 0; i < rows; ++i) {
    const T* xr = x + i * cols;
    T* yr = y + i * cols;
    T m = xr[0];
    for (Index j = 1; j < cols; ++j) m = xr[j] > m ? xr[j] : m;
    T s = 0;
    for (Index j = 0; j < cols; ++j) {
      yr[j] = std::exp(xr[j] - m);
      s += yr[j];
    }
    for (Index j = 0; j < cols; ++j) yr[j] /= s;
  }
}

}  // namespace fastlayers
