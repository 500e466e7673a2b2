// Python class SoftmaxWithLoss: softmax + mean cross-entropy from the logits (log-sum-exp),
// with the book's attributes loss, y and t.
#include "arrays.hpp"
#include "fastlayers/softmax_with_loss.hpp"
#include "targets.hpp"

namespace fastlayers::bind {
namespace {

struct SoftmaxWithLoss {
  py::object loss = py::none();  // float
  py::object y = py::none();     // softmax(x), x's shape
  py::object t = py::none();     // the caller's t, as an array
  Targets target;                // private, validated copy of the labels (or the probabilities)
};

double swl_forward(SoftmaxWithLoss& self, py::handle x_in, py::handle t_in) {
  const char* where = "SoftmaxWithLoss.forward";
  py::array x = as_numeric(x_in, "x");
  if (x.ndim() != 1 && x.ndim() != 2)
    value_error(std::string(where) + ": x must have shape (N, C) or (C,), got shape " + shape_str(shape_of(x)));
  const Index n = x.ndim() == 2 ? x.shape(0) : 1;
  const Index c = x.shape(x.ndim() - 1);
  if (n == 0) value_error(std::string(where) + ": x is an empty batch of shape " + shape_str(shape_of(x)) + "; need N >= 1");
  if (c == 0) value_error(std::string(where) + ": x has shape " + shape_str(shape_of(x)) + " with no classes; need C >= 1");
  py::array t = as_numeric(t_in, "t");
  Targets target = read_targets(x, t, where);
  return dispatch(unary_float(x), [&](auto tag) -> double {
    using T = decltype(tag);
    auto xc = contiguous<T>(x);
    auto y = empty<T>(shape_of(x));
    double loss;
    if (target.is_labels()) {
      const std::int64_t* lab = target.labels.data();
      ReleaseGil nogil(n * c);
      loss = softmax_with_loss_forward_labels(xc.data(), n, c, lab, y.mutable_data());
    } else {
      auto tc = contiguous<T>(target.probs);
      ReleaseGil nogil(n * c);
      loss = softmax_with_loss_forward_probs(xc.data(), n, c, tc.data(), y.mutable_data());
    }
    self.y = y;
    self.t = t;
    self.target = std::move(target);
    self.loss = py::float_(loss);
    return loss;
  });
}

py::array swl_backward(SoftmaxWithLoss& self, py::handle dout_in) {
  if (self.y.is_none())
    value_error("SoftmaxWithLoss.backward() called before SoftmaxWithLoss.forward(): there is no y yet");
  // __float__ or __index__ only: a real scalar, a 0-d array; not a str, not a larger array.
  const double dout = PyFloat_AsDouble(dout_in.ptr());
  if (dout == -1.0 && PyErr_Occurred()) {
    PyErr_Clear();
    type_error("SoftmaxWithLoss.backward: dout must be a real scalar (the gradient of the loss, default 1.0), got " +
               std::string(py::str(py::type::handle_of(dout_in).attr("__name__"))));
  }
  const auto y = py::reinterpret_borrow<py::array>(self.y);
  const Index c = y.shape(y.ndim() - 1);
  const Index n = y.size() / c;
  const Targets& target = self.target;
  const Float f = target.is_labels() ? unary_float(y) : promote({&y, &target.probs});
  return dispatch(f, [&](auto tag) -> py::array {
    using T = decltype(tag);
    auto yc = contiguous<T>(y);
    auto dx = empty<T>(shape_of(y));
    const T scale = static_cast<T>(dout / static_cast<double>(n));
    if (target.is_labels()) {
      const std::int64_t* lab = target.labels.data();
      ReleaseGil nogil(n * c);
      softmax_with_loss_backward_labels(yc.data(), n, c, lab, scale, dx.mutable_data());
    } else {
      auto tc = contiguous<T>(target.probs);
      ReleaseGil nogil(n * c);
      softmax_with_loss_backward_probs(yc.data(), n, c, tc.data(), scale, dx.mutable_data());
    }
    return dx;
  });
}

}  // namespace

void bind_softmax_with_loss(py::module_& m) {
  py::class_<SoftmaxWithLoss>(m, "SoftmaxWithLoss", py::module_local(), R"doc(
Softmax-with-Loss layer of "Deep Learning from Scratch" 5.6.3.

forward(x, t): x logits (N, C), or (C,) for one sample; t one-hot/probabilities of x's
               shape, or integer labels (N,) (a scalar label for one sample).
               Keeps y = softmax(x) and t; returns the mean cross-entropy as a float,
               computed from the logits with log-sum-exp (finite for logits of +-1e4).
backward(dout=1.0): returns dx = (y - t_onehot) * dout / N, of x's shape.

>>> swl = SoftmaxWithLoss()
>>> swl.forward(np.log(np.array([[0.3, 0.2, 0.5]])), np.array([[0.0, 1.0, 0.0]]))
1.6094379124341003
>>> swl.backward()
array([[ 0.3, -0.8,  0.5]])
)doc")
      .def(py::init<>())
      .def("forward", &swl_forward, py::arg("x"), py::arg("t"), R"doc(
y = softmax(x); returns loss = -sum(t * log y) / N, the mean cross-entropy (from the logits).

x: logits (N, C) or (C,); t: one-hot or probabilities of x's shape, or integer labels (N,)
(a scalar for one sample). Returns a float; keeps y (x's shape), t and loss.

>>> swl = SoftmaxWithLoss()
>>> round(swl.forward(np.array([[0.0, 0.0]]), np.array([1])), 6)   # -log(1/2)
0.693147
)doc")
      .def("backward", &swl_backward, py::arg("dout") = 1.0, R"doc(
dx = (y - t_onehot) * dout / N, with y and t from the last forward.

dout: a float (the gradient of the loss, 1.0 by default); dx: the forward x's shape.

>>> swl = SoftmaxWithLoss(); loss = swl.forward(np.array([[0.0, 0.0]]), np.array([1]))
>>> swl.backward()
array([[ 0.5, -0.5]])
)doc")
      .def_property_readonly(
          "loss", [](const SoftmaxWithLoss& self) { return self.loss; }, "The loss of the last forward, or None.")
      .def_property_readonly(
          "y", [](const SoftmaxWithLoss& self) { return self.y; }, "softmax(x) of the last forward, or None.")
      .def_property_readonly(
          "t", [](const SoftmaxWithLoss& self) { return self.t; }, "The targets of the last forward, or None.")
      .def("__repr__", [](const SoftmaxWithLoss& self) {
        return self.y.is_none() ? std::string("SoftmaxWithLoss()")
                                : "SoftmaxWithLoss(y=" + shape_str(shape_of(py::reinterpret_borrow<py::array>(self.y))) +
                                      ", loss=" + std::string(py::str(self.loss)) + ")";
      });
}

}  // namespace fastlayers::bind
