// Python class Sigmoid: forward/backward and the book's `out` attribute.
#include "arrays.hpp"
#include "fastlayers/sigmoid.hpp"

namespace fastlayers::bind {
namespace {

struct Sigmoid {
  py::object out = py::none();  // the array forward returned
};

py::array sigmoid_forward(Sigmoid& self, py::handle x_in, py::handle out_arg) {
  py::array x = as_numeric(x_in, "x");
  return dispatch(unary_float(x), [&](auto tag) -> py::array {
    using T = decltype(tag);
    auto xc = contiguous<T>(x);
    auto out = out_arg.is_none()
                   ? empty<T>(shape_of(x))
                   : out_array<T>(out_arg, shape_of(x), "Sigmoid.forward", "the shape of x", {{xc, "x", true}});
    {
      ReleaseGil nogil(xc.size());
      fastlayers::sigmoid_forward(xc.data(), out.mutable_data(), xc.size());
    }
    self.out = out;
    return out;
  });
}

py::array sigmoid_backward(Sigmoid& self, py::handle dout_in, py::handle out_arg) {
  if (self.out.is_none()) value_error("Sigmoid.backward() called before Sigmoid.forward(): there is no out yet");
  py::array dout = as_numeric(dout_in, "dout");
  auto out = py::reinterpret_borrow<py::array>(self.out);
  const Shape shape = shape_of(out);
  if (shape_of(dout) != shape)
    value_error("Sigmoid.backward: dout has shape " + shape_str(shape_of(dout)) + ", expected " + shape_str(shape) +
                " (the shape of the forward output out)");
  return dispatch(promote({&dout, &out}), [&](auto tag) -> py::array {
    using T = decltype(tag);
    auto dc = contiguous<T>(dout);
    auto oc = contiguous<T>(out);
    auto dx = out_arg.is_none()
                  ? empty<T>(shape)
                  : out_array<T>(out_arg, shape, "Sigmoid.backward", "the shape of the forward output out",
                                 {{dc, "dout", true}, {oc, "the layer's out", true}});
    {
      ReleaseGil nogil(dc.size());
      fastlayers::sigmoid_backward(dc.data(), oc.data(), dx.mutable_data(), dc.size());
    }
    return dx;
  });
}

// Pickle/deepcopy state: (out,).
Sigmoid sigmoid_setstate(const py::tuple& state) {
  if (state.size() != 1)
    value_error("Sigmoid.__setstate__: state must be a tuple (out,), got " + std::to_string(state.size()) + " items");
  Sigmoid self;
  if (!state[0].is_none()) {
    py::array out = as_numeric(state[0], "out");
    if (out.dtype().kind() != 'f') type_error("Sigmoid.__setstate__: out must be a float array, got " + dtype_str(out));
    self.out = out;
  }
  return self;
}

}  // namespace

void bind_sigmoid(py::module_& m) {
  py::class_<Sigmoid> cls(m, "Sigmoid", py::module_local(), R"doc(
Sigmoid layer of "Deep Learning from Scratch" 5.5.2.

forward(x):     out = 1 / (1 + exp(-x)), computed so that it never overflows
                (x = -1000 gives 0, x = +1000 gives exactly 1); keeps out.
backward(dout): dx = dout * (1 - out) * out.

>>> Sigmoid().forward(np.array([0.0, 1000.0, -1000.0]))
array([0.5, 1. , 0. ])
)doc");
  cls
      .def(py::init<>())
      .def("forward", &sigmoid_forward, py::arg("x"), py::kw_only(), py::arg("out") = py::none(), R"doc(
out = 1 / (1 + exp(-x)), computed without overflow. Keeps and returns out.

x: any shape; out: x's shape (float32 for float32 input, else float64).
out=: an array to write the result into (and keep and return) instead of a new one: C-contiguous,
writeable, of that shape and dtype; it may be x itself (in place) but not overlap it otherwise.

>>> Sigmoid().forward(np.array([[0.0, 2.0]]))
array([[0.5       , 0.88079708]])
)doc")
      .def("backward", &sigmoid_backward, py::arg("dout"), py::kw_only(), py::arg("out") = py::none(), R"doc(
dx = dout * (1 - out) * out, with out from the last forward.

dout: out's shape; dx: the same shape.
out=: an array to write dx into and return instead of a new one: C-contiguous, writeable, of dx's
shape and dtype; it may be dout itself (in place) but not overlap it otherwise.

>>> sig = Sigmoid(); out = sig.forward(np.array([0.0]))
>>> sig.backward(np.array([1.0]))
array([0.25])
)doc")
      .def(py::pickle([](const Sigmoid& self) { return py::make_tuple(self.out); }, &sigmoid_setstate))
      .def_property_readonly(
          "out", [](const Sigmoid& self) { return self.out; },
          "The array the last forward returned, or None before it.")
      .def("__repr__", [](const Sigmoid& self) {
        return self.out.is_none()
                   ? std::string("Sigmoid()")
                   : "Sigmoid(out=" + shape_str(shape_of(py::reinterpret_borrow<py::array>(self.out))) + ")";
      });
  def_reduce_ex(cls);
}

}  // namespace fastlayers::bind
