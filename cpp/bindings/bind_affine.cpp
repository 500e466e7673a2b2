// Python class Affine(W, b): keeps references to the caller's W and b (never copies them into
// private storage), so an in-place update by the caller is what the next forward uses.
#include "arrays.hpp"
#include "fastlayers/affine.hpp"

namespace fastlayers::bind {
namespace {

struct Affine {
  py::array W;  // (D, M), the caller's own array
  py::array b;  // (M,),   the caller's own array
  py::object x = py::none();                 // (N, D) flattened forward input
  // tuple; null after a forward until it is first read (built from x_shape then, not on every forward)
  py::object original_x_shape = py::none();
  Shape x_shape;                             // the same, for backward
  py::object dW = py::none();
  py::object db = py::none();
};

// W or b as given: a float32/float64 ndarray, never a converted copy.
py::array check_param(py::handle p, const char* name, int ndim, const char* expected) {
  if (!py::isinstance<py::array>(p))
    type_error(std::string("Affine: ") + name + " must be a float32 or float64 numpy.ndarray of shape " + expected +
               " (the layer keeps a reference to it, so it cannot convert it), got " +
               std::string(py::str(py::type::handle_of(p).attr("__name__"))));
  auto a = py::reinterpret_borrow<py::array>(p);
  const py::dtype dt = a.dtype();
  if (dt.kind() != 'f' || (dt.itemsize() != 4 && dt.itemsize() != 8))
    type_error(std::string("Affine: ") + name + " must have dtype float32 or float64 (the layer keeps a reference to "
               "it, so it cannot convert it), got " + dtype_str(a));
  if (a.ndim() != ndim)
    value_error(std::string("Affine: ") + name + " must have shape " + expected + ", got shape " +
                shape_str(shape_of(a)));
  return a;
}

void check_pair(const py::array& W, const py::array& b) {
  if (b.shape(0) != W.shape(1))
    value_error("Affine: b must have shape (M,) = (" + std::to_string(W.shape(1)) + ",) to match W of shape " +
                shape_str(shape_of(W)) + ", got shape " + shape_str(shape_of(b)));
}

// W (in T) as Eigen reads it: the caller's memory when it is C- or F-contiguous, aligned and of
// dtype T; otherwise a converted C-contiguous copy for this call only.
template <class T>
struct WeightView {
  py::array_t<T> hold = no_array<py::array_t<T>>();
  MatView<T> view;
};

template <class T>
WeightView<T> weight_view(const py::array& W) {
  WeightView<T> w;
  const auto* descr = py::detail::array_descriptor_proxy(py::detail::array_proxy(W.ptr())->descr);
  const bool same = descr->type_num == py::detail::npy_format_descriptor<T>::value && descr->byteorder != '>' &&
                    is_aligned(W);
  if (same && (is_c_contiguous(W) || is_f_contiguous(W))) {
    w.hold = py::reinterpret_borrow<py::array_t<T>>(W);
    w.view.col_major = !is_c_contiguous(W);
  } else {
    w.hold = contiguous<T>(W);
  }
  w.view.data = w.hold.data();
  w.view.rows = W.shape(0);
  w.view.cols = W.shape(1);
  return w;
}

// Setters check W and b one at a time; that they fit each other is checked by each call,
// so that both can be replaced by arrays of a new shape.
void set_W(Affine& self, py::handle W) { self.W = check_param(W, "W", 2, "(D, M)"); }
void set_b(Affine& self, py::handle b) { self.b = check_param(b, "b", 1, "(M,)"); }

py::array affine_forward(Affine& self, py::handle x_in, py::handle out_arg) {
  py::array x = as_numeric(x_in, "x");
  const py::array W = self.W;  // local references: W stays alive while the GIL is released
  const py::array b = self.b;
  check_param(W, "W", 2, "(D, M)");  // W's shape may have been changed in place since
  check_param(b, "b", 1, "(M,)");
  check_pair(W, b);
  Shape xshape = shape_of(x);
  if (xshape.empty())
    value_error("Affine.forward: x must have shape (N, ...) with at least one dimension, got shape ()");
  const Index n = xshape[0];
  Index d = 1;
  for (std::size_t i = 1; i < xshape.size(); ++i) d *= xshape[i];
  const Index m = W.shape(1);
  if (d != W.shape(0))
    value_error("Affine.forward: x of shape " + shape_str(xshape) + " flattens to " + shape_str({n, d}) +
                ", expected (N, " + std::to_string(W.shape(0)) + ") to match W of shape " + shape_str(shape_of(W)));
  return dispatch(promote({&x, &W, &b}), [&](auto tag) -> py::array {
    using T = decltype(tag);
    auto xc = contiguous<T>(x);
    auto w = weight_view<T>(W);
    auto bc = contiguous<T>(b);
    const py::ssize_t out_dims[2] = {n, m}, x_dims[2] = {n, d};
    auto out = out_arg.is_none() ? empty<T>(2, out_dims)
                                 : out_array<T>(out_arg, {n, m}, "Affine.forward", "(N, M) for x's N and W's M",
                                                {{xc, "x", false}, {w.hold, "W", false}, {bc, "b", false}});
    {
      ReleaseGil nogil(n * d * m);
      fastlayers::affine_forward(xc.data(), n, d, w.view, bc.data(), out.mutable_data());
    }
    self.x = view_as(xc, 2, x_dims);
    self.original_x_shape = py::object();  // built from x_shape when read
    self.x_shape = std::move(xshape);
    return out;
  });
}

// backward(dout) when want_dx, else _backward_params(dout): dW and db alone (dx is not computed; returns None).
py::object affine_backward_impl(Affine& self, py::handle dout_in, bool want_dx, py::handle out) {
  if (self.x.is_none()) value_error("Affine.backward() called before Affine.forward(): there is no x yet");
  py::array dout = as_numeric(dout_in, "dout");
  const py::array W = self.W;
  const py::array b = self.b;
  check_param(W, "W", 2, "(D, M)");
  check_param(b, "b", 1, "(M,)");
  check_pair(W, b);
  const auto x = py::reinterpret_borrow<py::array>(self.x);
  const Index n = x.shape(0), d = x.shape(1), m = W.shape(1);
  if (W.shape(0) != d)
    value_error("Affine.backward: W has shape " + shape_str(shape_of(W)) + " but the forward input x has D = " +
                std::to_string(d) + " features; expected W of shape (" + std::to_string(d) + ", M)");
  if (dout.ndim() != 2 || dout.shape(0) != n || dout.shape(1) != m)
    value_error("Affine.backward: dout has shape " + shape_str(shape_of(dout)) + ", expected " +
                shape_str({n, m}) + " (the shape of the forward output)");
  const Shape& dx_shape = self.x_shape;
  return dispatch(promote({&dout, &x, &W}), [&](auto tag) -> py::object {
    using T = decltype(tag);
    auto dc = contiguous<T>(dout);
    auto xc = contiguous<T>(x);
    auto w = weight_view<T>(W);
    auto dx = !want_dx          ? no_array<py::array_t<T>>()
              : out.is_none() ? empty<T>(dx_shape)
                              : out_array<T>(out, dx_shape, "Affine.backward", "the shape of the forward input x",
                                             {{dc, "dout", false}, {xc, "the forward input x", false},
                                              {w.hold, "W", false}});
    const py::ssize_t dW_dims[2] = {d, m}, db_dims[1] = {m};
    auto dW = empty<T>(2, dW_dims);
    auto db = empty<T>(1, db_dims);
    {
      ReleaseGil nogil((want_dx ? 2 : 1) * n * d * m);
      fastlayers::affine_backward(dc.data(), xc.data(), n, d, w.view, want_dx ? dx.mutable_data() : nullptr,
                                  dW.mutable_data(), db.mutable_data());
    }
    self.dW = dW;
    self.db = db;
    if (!want_dx) return py::none();
    return std::move(dx);
  });
}

py::array affine_backward(Affine& self, py::handle dout_in, py::handle out) {
  return py::reinterpret_steal<py::array>(affine_backward_impl(self, dout_in, true, out).release());
}

void affine_backward_params(Affine& self, py::handle dout_in) {
  affine_backward_impl(self, dout_in, false, py::none());
}

// original_x_shape as a tuple, built on first read after a forward (a tuple per forward cost more than
// a small layer's work).
py::object original_x_shape(Affine& self) {
  if (!self.original_x_shape) {
    py::tuple shape(self.x_shape.size());
    for (std::size_t i = 0; i < self.x_shape.size(); ++i) shape[i] = py::int_(self.x_shape[i]);
    self.original_x_shape = std::move(shape);
  }
  return self.original_x_shape;
}

std::string affine_repr(const Affine& self) {
  return "Affine(W: " + shape_str(shape_of(self.W)) + " " + dtype_str(self.W) + ", b: " + shape_str(shape_of(self.b)) +
         " " + dtype_str(self.b) + ")";
}

// Pickle/deepcopy state: (W, b, x, original_x_shape, dW, db). W and b are pickled with the layer:
// an unpickled (or deep-copied) layer refers to its own copies of them. The state is checked on load
// (backward writes dx of original_x_shape from x's N x D).
py::tuple affine_getstate(Affine& self) {
  return py::make_tuple(self.W, self.b, self.x, original_x_shape(self), self.dW, self.db);
}

Affine affine_setstate(const py::tuple& state) {
  const std::string where = "Affine.__setstate__";
  if (state.size() != 6)
    value_error(where + ": state must be a tuple (W, b, x, original_x_shape, dW, db), got " +
                std::to_string(state.size()) + " items");
  Affine self;
  // Each checked alone, like the setters: a layer whose W and b are being replaced one after the other is a
  // valid state to copy (every call checks that they fit).
  self.W = check_param(state[0], "W", 2, "(D, M)");
  self.b = check_param(state[1], "b", 1, "(M,)");
  if (!state[2].is_none()) {
    py::array x = as_numeric(state[2], "x");
    Shape xshape;
    for (py::handle v : py::tuple(state[3])) xshape.push_back(v.cast<py::ssize_t>());
    if (x.ndim() != 2 || xshape.empty() || xshape[0] != x.shape(0) || size_of(xshape) != static_cast<Index>(x.size()))
      value_error(where + ": x of shape " + shape_str(shape_of(x)) + " does not fit original_x_shape " +
                  shape_str(xshape) + "; expected x of shape (N, D) with N * D elements of (N, ...)");
    self.x = x;
    self.original_x_shape = py::tuple(state[3]);
    self.x_shape = xshape;
  }
  for (int i : {4, 5})
    if (!state[static_cast<std::size_t>(i)].is_none() && !py::isinstance<py::array>(state[static_cast<std::size_t>(i)]))
      type_error(where + ": " + (i == 4 ? "dW" : "db") + " must be an ndarray or None");
  self.dW = state[4];
  self.db = state[5];
  return self;
}

}  // namespace

void bind_affine(py::module_& m) {
  py::class_<Affine> cls(m, "Affine", py::module_local(), R"doc(
Affine (fully connected) layer of "Deep Learning from Scratch" 5.6.2.

Affine(W, b) keeps references to W (D, M) and b (M,): `layer.W is W`. An in-place update
such as `W -= lr * layer.dW` is used by the next forward. W and b must therefore be
float32 or float64 numpy arrays (any strides); anything else raises TypeError.

forward(x):     x of shape (N, ...) is flattened to (N, D); out = x @ W + b, shape (N, M).
backward(dout): dout (N, M); dW = x.T @ dout, db = dout.sum(axis=0);
                returns dx = dout @ W.T in x's original shape.

>>> W = np.array([[1.0, 2.0], [3.0, 4.0]]); b = np.array([0.5, -0.5])
>>> layer = Affine(W, b)
>>> layer.forward(np.array([[1.0, 1.0]]))
array([[4.5, 5.5]])
)doc");
  cls
      .def(py::init([](py::handle W, py::handle b) {
             Affine a;
             a.W = check_param(W, "W", 2, "(D, M)");
             a.b = check_param(b, "b", 1, "(M,)");
             check_pair(a.W, a.b);
             return a;
           }),
           py::arg("W"), py::arg("b"))
      .def("forward", &affine_forward, py::arg("x"), py::kw_only(), py::arg("out") = py::none(), R"doc(
out = x @ W + b, with x (N, ...) flattened to (N, D) like x.reshape(N, -1). Keeps that x.

x: (N, D) or (N, ...) with D elements per row; W: (D, M); b: (M,); out: (N, M), in the dtype
np.result_type(x, W, b) (float32 or float64).
out=: an array to write the result into and return instead of a new one: C-contiguous, writeable,
of that shape and dtype, sharing no memory with x, W or b.

>>> layer = Affine(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([0.5, -0.5]))
>>> layer.forward(np.array([[1.0, 0.0], [0.0, 1.0]]))
array([[1.5, 1.5],
       [3.5, 3.5]])
)doc")
      .def("backward", &affine_backward, py::arg("dout"), py::kw_only(), py::arg("out") = py::none(), R"doc(
dx = dout @ W.T (returned, in the forward x's original shape); dW = x.T @ dout; db = dout.sum(axis=0).

dout: (N, M); dx: (N, D) reshaped to the forward x's shape; dW: (D, M); db: (M,).
out=: an array to write dx into and return instead of a new one: C-contiguous, writeable, of the
forward x's shape and dx's dtype, sharing no memory with dout, W or the forward's x. dW and db are
new arrays either way.

>>> layer = Affine(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([0.5, -0.5]))
>>> out = layer.forward(np.array([[1.0, 1.0]]))
>>> layer.backward(np.array([[1.0, 0.0]]))
array([[1., 3.]])
>>> layer.dW, layer.db
(array([[1., 0.],
       [1., 0.]]), array([1., 0.]))
)doc")
      .def("_backward_params", &affine_backward_params, py::arg("dout"),
           "backward(dout) without dx: sets dW and db only and returns None (for a network's first layer, whose dx "
           "nobody reads).")
      .def(py::pickle(&affine_getstate, &affine_setstate))
      .def_property(
          "W", [](const Affine& self) { return self.W; }, &set_W, "The caller's weight array (D, M), by reference.")
      .def_property(
          "b", [](const Affine& self) { return self.b; }, &set_b, "The caller's bias array (M,), by reference.")
      .def_property_readonly(
          "x", [](const Affine& self) { return self.x; }, "The flattened (N, D) input of the last forward, or None.")
      .def_property_readonly(
          "original_x_shape", &original_x_shape,
          "The shape of the last forward's x, or None.")
      .def_property_readonly(
          "dW", [](const Affine& self) { return self.dW; }, "Gradient of W from the last backward, or None.")
      .def_property_readonly(
          "db", [](const Affine& self) { return self.db; }, "Gradient of b from the last backward, or None.")
      .def("__repr__", &affine_repr);
  def_reduce_ex(cls);
}

}  // namespace fastlayers::bind
