// Target checks shared by SoftmaxWithLoss and cross_entropy_error.
#include "targets.hpp"

#include <algorithm>

namespace fastlayers::bind {

namespace {

bool same_shape(const py::array& t, int nd, const py::ssize_t* shape) {
  return t.ndim() == nd && std::equal(shape, shape + nd, t.shape());
}

// x's shape as nd dimensions (1 or 2) at `shape`; x_shape() builds it for an error message.
template <class ShapeOfX>
Targets read(int nd, const py::ssize_t* shape, ShapeOfX x_shape, const py::array& t, const char* where) {
  const Index c = shape[nd - 1];
  const Index n = nd == 2 ? shape[0] : 1;
  Targets out;
  bool labels;
  if (nd == 2) {
    if (same_shape(t, nd, shape))
      labels = false;
    else if (t.ndim() == 1 && t.shape(0) == n)
      labels = true;
    else
      value_error(std::string(where) + ": t has shape " + shape_str(shape_of(t)) + ", expected " +
                  shape_str(x_shape()) + " (one-hot or probabilities, like x) or " + shape_str({n}) +
                  " (integer labels)");
  } else {
    if (same_shape(t, nd, shape))
      labels = false;
    else if (t.ndim() == 0 || (t.ndim() == 1 && t.shape(0) == 1))
      labels = true;
    else
      value_error(std::string(where) + ": t has shape " + shape_str(shape_of(t)) + ", expected " +
                  shape_str(x_shape()) + " (one-hot or probabilities, like x) or a scalar integer label for a "
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

}  // namespace

Targets read_targets(const py::array& x, const py::array& t, const char* where) {
  // Shapes read off the arrays: Shape vectors are built only for an error message.
  return read(static_cast<int>(x.ndim()), x.shape(), [&] { return shape_of(x); }, t, where);
}

Targets read_targets(const Shape& x_shape, const py::array& t, const char* where) {
  return read(static_cast<int>(x_shape.size()), x_shape.data(), [&] { return x_shape; }, t, where);
}

}  // namespace fastlayers::bind
