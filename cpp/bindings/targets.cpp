// Target checks shared by SoftmaxWithLoss and cross_entropy_error.
#include "targets.hpp"

#include <algorithm>

namespace fastlayers::bind {

namespace {

bool same_shape(const py::array& a, const py::array& b) {
  return a.ndim() == b.ndim() && std::equal(a.shape(), a.shape() + a.ndim(), b.shape());
}

}  // namespace

Targets read_targets(const py::array& x, const py::array& t, const char* where) {
  // Shapes read off the arrays: Shape vectors are built only for an error message.
  const Index c = x.shape(x.ndim() - 1);
  const Index n = x.ndim() == 2 ? x.shape(0) : 1;
  Targets out;
  bool labels;
  if (x.ndim() == 2) {
    if (same_shape(t, x))
      labels = false;
    else if (t.ndim() == 1 && t.shape(0) == n)
      labels = true;
    else
      value_error(std::string(where) + ": t has shape " + shape_str(shape_of(t)) + ", expected " +
                  shape_str(shape_of(x)) + " (one-hot or probabilities, like x) or " + shape_str({n}) +
                  " (integer labels)");
  } else {
    if (same_shape(t, x))
      labels = false;
    else if (t.ndim() == 0 || (t.ndim() == 1 && t.shape(0) == 1))
      labels = true;
    else
      value_error(std::string(where) + ": t has shape " + shape_str(shape_of(t)) + ", expected " +
                  shape_str(shape_of(x)) + " (one-hot or probabilities, like x) or a scalar integer label for a "
                  "single sample");
  }
  if (labels) {
    out.labels_given = true;
    out.labels = checked_labels(t, c, where);
  } else {
    out.probs = t;
  }
  return out;
}

}  // namespace fastlayers::bind
