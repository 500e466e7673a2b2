// SoftmaxWithLoss: softmax of logits x (N, C) and the mean cross-entropy against targets,
// computed from the logits with log-sum-exp; backward dx = (y - t) * dout / N.
// x and y may be the same buffer, and so may y and dx.
#pragma once

#include <cstdint>

#include "fastlayers/common.hpp"

namespace fastlayers {

// y = softmax(x); returns mean_i (logsumexp(x_i) - x[i, t_i]).   t: labels in [0, C)
template <class T>
double softmax_with_loss_forward_labels(const T* x, Index n, Index c, const std::int64_t* t, T* y);

// y = softmax(x); returns mean_i sum_c t_ic (logsumexp(x_i) - x_ic).   t: (N, C) one-hot or
// probabilities; terms with t_ic == 0 are skipped, so a -inf logit there costs nothing.
template <class T>
double softmax_with_loss_forward_probs(const T* x, Index n, Index c, const T* t, T* y);

// dx = (y - onehot(t)) * scale      (scale = dout / N)
template <class T>
void softmax_with_loss_backward_labels(const T* y, Index n, Index c, const std::int64_t* t, T scale, T* dx);

// dx = (y - t) * scale
template <class T>
void softmax_with_loss_backward_probs(const T* y, Index n, Index c, const T* t, T scale, T* dx);

}  // namespace fastlayers
