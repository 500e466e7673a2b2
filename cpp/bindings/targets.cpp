// Target checks shared by SoftmaxWithLoss and cross_entropy_error.
#include "targets.hpp"

namespace fastlayers::bind {

Targets read_targets(const py::array& x, const py::array& t, const char* where) {
  const Shape xs = shape_of(x);
  const Shape ts = shape_of(t);
  const Index c = xs.back();
  const Index n = xs.size() == 2 ? xs[0] : 1;
  Targets out;
  bool labels;
  if (xs.size() == 2) {
    if (ts == xs)
      labels = false;
    else if (ts == Shape{n})
      labels = true;
    else
      value_error(std::string(where) + ": t has shape " + shape_str(ts) + ", expected " + shape_str(xs) +
                  " (one-hot or probabilities, like x) or " + shape_str({n}) + " (integer labels)");
  } else {
    if (ts == xs)
      labels = false;
    else if (ts.empty() || ts == Shape{1})
      labels = true;
    else
      value_error(std::string(where) + ": t has shape " + shape_str(ts) + ", expected " + shape_str(xs) +
                  " (one-hot or probabilities, like x) or a scalar integer label for a single sample");
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
