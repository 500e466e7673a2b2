// Python class Relu: forward/backward and the book's `mask` attribute.
#include "arrays.hpp"
#include "fastlayers/relu.hpp"

namespace fastlayers::bind {
namespace {

struct Relu {
  py::object mask = py::none();  // bool ndarray, x <= 0
  Float dtype = Float::f64;      // dtype of the forward output
};

py::array relu_forward(Relu& self, py::handle x_in, py::handle out) {
  py::array x = as_numeric(x_in, "x");
  const Float f = unary_float(x);
  const Shape shape = shape_of(x);
  return dispatch(f, [&](auto tag) -> py::array {
    using T = decltype(tag);
    auto xc = contiguous<T>(x);
    auto y = out.is_none() ? empty<T>(shape)
                           : out_array<T>(out, shape, "Relu.forward", "the shape of x", {{xc, "x", true}});
    auto mask = empty<bool>(shape);
    {
      ReleaseGil nogil(xc.size());
      fastlayers::relu_forward(xc.data(), y.mutable_data(), mask.mutable_data(), xc.size());
    }
    self.mask = mask;
    self.dtype = f;
    return y;
  });
}

py::array relu_backward(Relu& self, py::handle dout_in, py::handle out) {
  if (self.mask.is_none()) value_error("Relu.backward() called before Relu.forward(): there is no mask yet");
  py::array dout = as_numeric(dout_in, "dout");
  auto mask = py::reinterpret_borrow<py::array_t<bool>>(self.mask);
  const Shape shape = shape_of(mask);
  if (shape_of(dout) != shape)
    value_error("Relu.backward: dout has shape " + shape_str(shape_of(dout)) + ", expected " + shape_str(shape) +
                " (the shape of the forward input x)");
  const Float f = unary_float(dout) == Float::f64 || self.dtype == Float::f64 ? Float::f64 : Float::f32;
  return dispatch(f, [&](auto tag) -> py::array {
    using T = decltype(tag);
    auto dc = contiguous<T>(dout);
    auto dx = out.is_none() ? empty<T>(shape)
                            : out_array<T>(out, shape, "Relu.backward", "the shape of the forward input x",
                                           {{dc, "dout", true}, {mask, "mask", false}});
    {
      ReleaseGil nogil(dc.size());
      fastlayers::relu_backward(dc.data(), mask.data(), dx.mutable_data(), dc.size());
    }
    return dx;
  });
}

// Pickle/deepcopy state: (mask, dtype name of the forward output).
py::tuple relu_getstate(const Relu& self) {
  return py::make_tuple(self.mask, self.dtype == Float::f32 ? "float32" : "float64");
}

Relu relu_setstate(const py::tuple& state) {
  if (state.size() != 2)
    value_error("Relu.__setstate__: state must be a tuple (mask, dtype), got " + std::to_string(state.size()) +
                " items");
  Relu self;
  const std::string dtype = py::str(state[1]);
  if (dtype != "float32" && dtype != "float64")
    value_error("Relu.__setstate__: dtype must be 'float32' or 'float64', got '" + dtype + "'");
  self.dtype = dtype == "float32" ? Float::f32 : Float::f64;
  if (!state[0].is_none()) {
    py::array mask = as_numeric(state[0], "mask");
    if (mask.dtype().kind() != 'b') type_error("Relu.__setstate__: mask must be a bool array, got " + dtype_str(mask));
    self.mask = contiguous<bool>(mask);  // backward reads it as contiguous bytes
  }
  return self;
}

}  // namespace

void bind_relu(py::module_& m) {
  py::class_<Relu> cls(m, "Relu", py::module_local(), R"doc(
ReLU layer of "Deep Learning from Scratch" 5.5.1.

forward(x):    mask = (x <= 0); returns x with the masked entries set to 0.
backward(dout): returns dout with the masked entries set to 0 (gradient 0 at x == 0).

Neither call modifies its argument; each returns a new array of x's dtype
(float32 stays float32; integers and bool compute in float64), or writes into
the array given as out= and returns that.

>>> relu = Relu()
>>> relu.forward(np.array([[1.0, -0.5], [-2.0, 3.0]]))
array([[1., 0.],
       [0., 3.]])
)doc");
  cls
      .def(py::init<>())
      .def("forward", &relu_forward, py::arg("x"), py::kw_only(), py::arg("out") = py::none(), R"doc(
mask = (x <= 0); out = x with the masked entries set to 0. Returns out.

x: any shape; out: x's shape (float32 for float32 input, else float64). x is not modified
(unless it is out).
out=: an array to write the result into and return instead of a new one: C-contiguous, writeable,
of that shape and dtype; it may be x itself (in place) but not overlap it otherwise.

>>> Relu().forward(np.array([-1.0, 0.0, 2.0]))
array([0., 0., 2.])
)doc")
      .def("backward", &relu_backward, py::arg("dout"), py::kw_only(), py::arg("out") = py::none(), R"doc(
dx = dout with the entries where the forward's x <= 0 set to 0 (gradient 0 at x == 0).

dout: the forward's x shape; dx: the same shape. dout is not modified (unless it is out).
out=: an array to write dx into and return instead of a new one: C-contiguous, writeable, of dx's
shape and dtype; it may be dout itself (in place) but not overlap it otherwise.

>>> relu = Relu(); out = relu.forward(np.array([-1.0, 0.0, 2.0]))
>>> relu.backward(np.array([5.0, 5.0, 5.0]))
array([0., 0., 5.])
)doc")
      .def(py::pickle(&relu_getstate, &relu_setstate))
      .def_property_readonly(
          "mask", [](const Relu& self) { return self.mask; },
          "Bool ndarray (x <= 0) from the last forward, or None before it.")
      .def("__repr__", [](const Relu& self) {
        return self.mask.is_none() ? std::string("Relu()")
                                   : "Relu(mask=" + shape_str(shape_of(py::reinterpret_borrow<py::array>(self.mask))) + ")";
      });
  def_reduce_ex(cls);
}

}  // namespace fastlayers::bind
