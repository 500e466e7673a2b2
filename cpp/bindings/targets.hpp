// Reading the targets t of SoftmaxWithLoss and cross_entropy_error: one-hot/probabilities of
// the scores' shape, or integer class labels, checked once, before anything is computed.
#pragma once

#include "arrays.hpp"

namespace fastlayers::bind {

struct Targets {
  bool labels_given = false;
  py::array_t<std::int64_t> labels = no_array<py::array_t<std::int64_t>>();  // (N,), private copy, every label in [0, C)
  py::array probs = no_array();  // scores' shape, when t is one-hot/probabilities
  bool is_labels() const { return labels_given; }
};

// x: (N, C) or (C,) scores. t: same shape as x (one-hot/probabilities), or labels (N,) for 2-D x,
// a scalar label (or a 1-element array, as the book allows) for 1-D x.
Targets read_targets(const py::array& x, const py::array& t, const char* where);
// The same for scores of this shape, (N, C) or (C,), not at hand as an array.
Targets read_targets(const Shape& x_shape, const py::array& t, const char* where);

}  // namespace fastlayers::bind
