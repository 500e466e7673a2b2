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
    auto y = empty<T>(static_cast<int>(x.ndim()), x.shape());
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

py::array swl_backward(SoftmaxWithLoss& self, py::handle dout_in, py::handle out) {
  if (self.y.is_none())
    value_error("SoftmaxWithLoss.backward() called before SoftmaxWithLoss.forward(): there is no y yet");
  // __float__ or __index__ only: a real scalar, a 0-d array; not a str, not a larger array, not a
  // complex number (NumPy's complex scalars have a __float__ that drops the imaginary part).
  static const auto* complex_scalar = new py::object(py::module_::import("numpy").attr("complexfloating"));
  const bool is_array = py::isinstance<py::array>(dout_in);
  if ((is_array && (py::reinterpret_borrow<py::array>(dout_in).ndim() != 0 ||
                    py::reinterpret_borrow<py::array>(dout_in).dtype().kind() == 'c')) ||
      PyComplex_Check(dout_in.ptr()) || py::isinstance(dout_in, *complex_scalar))
    type_error("SoftmaxWithLoss.backward: dout must be a real scalar (the gradient of the loss, default 1.0), got " +
               std::string(py::str(py::type::handle_of(dout_in).attr("__name__"))) +
               (is_array ? " of shape " + shape_str(shape_of(py::reinterpret_borrow<py::array>(dout_in))) +
                               " and dtype " + dtype_str(py::reinterpret_borrow<py::array>(dout_in))
                         : std::string()));
  const double dout = PyFloat_AsDouble(dout_in.ptr());
  if (dout == -1.0 && PyErr_Occurred()) {
    PyErr_Clear();
    type_error("SoftmaxWithLoss.backward: dout must be a real scalar (the gradient of the loss, default 1.0), got " +
               std::string(py::str(py::type::handle_of(dout_in).attr("__name__"))));
  }
  const auto y = py::reinterpret_borrow<py::array>(self.y);
  const Index c = y.shape(y.ndim() - 1);
  const Index n = y.size() / c;
  // A copy (new references), not a reference to self.target: while the GIL is released below,
  // another thread may run forward on this layer and replace (and free) self.target's arrays.
  const Targets target = self.target;
  const Float f = target.is_labels() ? unary_float(y) : promote({&y, &target.probs});
  return dispatch(f, [&](auto tag) -> py::array {
    using T = decltype(tag);
    auto yc = contiguous<T>(y);
    auto tc = target.is_labels() ? no_array<py::array_t<T>>() : contiguous<T>(target.probs);
    const py::array& t_read = target.is_labels() ? static_cast<const py::array&>(target.labels) : tc;
    auto dx = out.is_none() ? empty<T>(static_cast<int>(y.ndim()), y.shape())
                            : out_array<T>(out, shape_of(y), "SoftmaxWithLoss.backward",
                                           "the shape of the forward input x",
                                           {{yc, "the layer's y", true}, {t_read, "the targets t", false}});
    const T scale = static_cast<T>(dout / static_cast<double>(n));
    {
      ReleaseGil nogil(n * c);
      if (target.is_labels())
        softmax_with_loss_backward_labels(yc.data(), n, c, target.labels.data(), scale, dx.mutable_data());
      else
        softmax_with_loss_backward_probs(yc.data(), n, c, tc.data(), scale, dx.mutable_data());
    }
    return dx;
  });
}

// Pickle/deepcopy state: (loss, y, t, the private targets: labels or probabilities). The targets are
// checked again on load (labels in range, shapes), as the kernels index y by them.
py::tuple swl_getstate(const SoftmaxWithLoss& self) {
  py::object target = py::none();
  if (!self.y.is_none()) target = self.target.is_labels() ? py::object(self.target.labels) : py::object(self.target.probs);
  return py::make_tuple(self.loss, self.y, self.t, target);
}

SoftmaxWithLoss swl_setstate(const py::tuple& state) {
  const char* where = "SoftmaxWithLoss.__setstate__";
  if (state.size() != 4)
    value_error(std::string(where) + ": state must be a tuple (loss, y, t, targets), got " +
                std::to_string(state.size()) + " items");
  SoftmaxWithLoss self;
  if (state[1].is_none()) return self;
  py::array y = as_numeric(state[1], "y");
  const char k = y.dtype().kind();
  if (k != 'f' || y.ndim() < 1 || y.ndim() > 2 || y.size() == 0)
    value_error(std::string(where) + ": y must be a non-empty float array of shape (N, C) or (C,), got a " +
                dtype_str(y) + " array of shape " + shape_str(shape_of(y)));
  py::array target = as_numeric(state[3], "targets");
  self.target = read_targets(y, target, where);
  self.y = y;
  self.t = state[2];
  self.loss = state[0].is_none() ? py::object(py::none()) : py::object(py::float_(state[0].cast<double>()));
  return self;
}

}  // namespace

void bind_softmax_with_loss(py::module_& m) {
  py::class_<SoftmaxWithLoss> cls(m, "SoftmaxWithLoss", py::module_local(), R"doc(
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
)doc");
  cls
      .def(py::init<>())
      .def("forward", &swl_forward, py::arg("x"), py::arg("t"), R"doc(
y = softmax(x); returns loss = -sum(t * log y) / N, the mean cross-entropy (from the logits).

x: logits (N, C) or (C,); t: one-hot or probabilities of x's shape, or integer labels (N,)
(a scalar for one sample). Returns a float; keeps y (x's shape), t and loss.

>>> swl = SoftmaxWithLoss()
>>> round(swl.forward(np.array([[0.0, 0.0]]), np.array([1])), 6)   # -log(1/2)
0.693147
)doc")
      .def("backward", &swl_backward, py::arg("dout") = 1.0, py::kw_only(), py::arg("out") = py::none(), R"doc(
dx = (y - t_onehot) * dout / N, with y and t from the last forward.

dout: a float (the gradient of the loss, 1.0 by default); dx: the forward x's shape.
out=: an array to write dx into and return instead of a new one: C-contiguous, writeable, of dx's
shape and dtype; it may be the layer's y itself (in place) but not overlap it or t otherwise.

>>> swl = SoftmaxWithLoss(); loss = swl.forward(np.array([[0.0, 0.0]]), np.array([1]))
>>> swl.backward()
array([[ 0.5, -0.5]])
)doc")
      .def(py::pickle(&swl_getstate, &swl_setstate))
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
  def_reduce_ex(cls);
}

}  // namespace fastlayers::bind
