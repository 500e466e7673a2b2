// The fused network calls behind fastlayers.Sequential: train_step (forward, backward and the optimizer
// update of every parameter in one call, the GIL released) and a forward-only predict.
#include <mutex>

#include "bind_optimizers.hpp"
#include "fastlayers/network.hpp"
#include "targets.hpp"

namespace fastlayers::bind {
namespace {

// Buffers reused from one call to the next; one per network.
struct NetWorkspace {
  NetBuffers<float> f32;
  NetBuffers<double> f64;
  std::vector<py::array> grads;  // dW1, db1, dW2, ... of the last train_step
  std::mutex mutex;
  template <class T>
  NetBuffers<T>& buffers() {
    if constexpr (sizeof(T) == 4)
      return f32;
    else
      return f64;
  }
};

// One layer as described by Python: ("affine", W, b, W_key, b_key), ("relu",) or ("sigmoid",).
struct LayerSpec {
  NetLayerKind kind;
  py::array W = no_array(), b = no_array();  // (py::array's default constructor allocates an empty array)
  py::object W_key, b_key;
};

std::vector<LayerSpec> read_layers(py::handle layers, const std::string& where) {
  std::vector<LayerSpec> out;
  for (py::handle item : layers) {
    if (!py::isinstance<py::tuple>(item) || py::len(item) < 1)
      type_error(where + ": each layer must be a tuple (kind, ...), got " +
                 std::string(py::repr(py::type::handle_of(item))));
    auto t = py::reinterpret_borrow<py::tuple>(item);
    const std::string kind = py::str(t[0]);
    LayerSpec s;
    if (kind == "affine") {
      if (t.size() != 5) value_error(where + ": an affine layer is (\"affine\", W, b, W_key, b_key)");
      s.kind = NetLayerKind::affine;
      for (int j : {1, 2}) {
        if (!py::isinstance<py::array>(t[static_cast<std::size_t>(j)]))
          type_error(where + ": Affine " + (j == 1 ? "W" : "b") + " must be a float32 or float64 ndarray");
      }
      s.W = t[1].cast<py::array>();
      s.b = t[2].cast<py::array>();
      s.W_key = t[3];
      s.b_key = t[4];
      if (s.W.ndim() != 2 || s.b.ndim() != 1 || s.b.shape(0) != s.W.shape(1))
        value_error(where + ": params[" + std::string(py::repr(s.W_key)) + "] has shape " +
                    shape_str(shape_of(s.W)) + " and params[" + std::string(py::repr(s.b_key)) + "] shape " +
                    shape_str(shape_of(s.b)) + "; expected W (D, M) and b (M,)");
    } else if (kind == "relu") {
      s.kind = NetLayerKind::relu;
    } else if (kind == "sigmoid") {
      s.kind = NetLayerKind::sigmoid;
    } else {
      value_error(where + ": unknown layer kind '" + kind + "'");
    }
    out.push_back(s);
  }
  return out;
}

// The network's float type: the dtype all its parameters share. (Dtype names only for an error message:
// str(dtype) took a third of a small network's train_step.)
Float net_float(const std::vector<LayerSpec>& specs, const std::string& where) {
  const py::array* first = nullptr;
  Float f = Float::f64;
  for (const LayerSpec& s : specs) {
    if (s.kind != NetLayerKind::affine) continue;
    for (const py::array* a : {&s.W, &s.b}) {
      const py::dtype dt = a->dtype();
      if (dt.kind() != 'f' || (dt.itemsize() != 4 && dt.itemsize() != 8))
        type_error(where + ": every parameter must have dtype float32 or float64, got " + dtype_str(*a));
      const Float g = dt.itemsize() == 4 ? Float::f32 : Float::f64;
      if (first == nullptr) {
        first = a;
        f = g;
      } else if (g != f) {
        type_error(where + ": the parameters mix dtypes " + dtype_str(*first) + " and " + dtype_str(*a) +
                   "; the fused network needs one dtype for all of them");
      }
    }
  }
  return f;
}

// x (N, ...) flattened to (N, D), checked against the first Affine.
struct Input {
  py::array x = no_array();
  Index n, d;
};

Input read_x(py::handle x_in, const std::vector<LayerSpec>& specs, const std::string& where) {
  Input in;
  in.x = as_numeric(x_in, "x");
  if (in.x.ndim() < 2)
    value_error(where + ": x must have shape (N, ...) with a batch axis first, got shape " + shape_str(shape_of(in.x)));
  in.n = in.x.shape(0);
  in.d = 1;
  for (py::ssize_t i = 1; i < in.x.ndim(); ++i) in.d *= in.x.shape(i);
  if (in.n == 0) value_error(where + ": x is an empty batch of shape " + shape_str(shape_of(in.x)) + "; need N >= 1");
  Index width = in.d;
  int affine = 0;
  for (const LayerSpec& s : specs) {
    if (s.kind != NetLayerKind::affine) continue;
    ++affine;
    if (s.W.shape(0) != width)
      value_error(where + ": x of shape " + shape_str(shape_of(in.x)) + " flattens to " + shape_str({in.n, in.d}) +
                  ", but Affine " + std::to_string(affine) + " (params[" + std::string(py::repr(s.W_key)) +
                  "] of shape " + shape_str(shape_of(s.W)) + ") expects " + std::to_string(s.W.shape(0)) +
                  " inputs where the layer before gives " + std::to_string(width));
    width = s.W.shape(1);
  }
  if (affine == 0) value_error(where + ": the network has no Affine layer");
  return in;
}

Index out_width(const std::vector<LayerSpec>& specs) {
  Index w = 0;
  for (const LayerSpec& s : specs)
    if (s.kind == NetLayerKind::affine) w = s.W.shape(1);
  return w;
}

double train_step(py::handle layers, py::handle x_in, py::handle t_in, Optimizer& opt, NetWorkspace& ws) {
  const std::string where = "train_step";
  std::vector<LayerSpec> specs = read_layers(layers, where);
  const Float f = net_float(specs, where);
  Input in = read_x(x_in, specs, where);
  const Index c = out_width(specs);
  if (c == 0) value_error(where + ": the last Affine has no outputs (M = 0)");
  py::array t = as_numeric(t_in, "t");
  Targets target = read_targets(Shape{in.n, c}, t, where.c_str());

  return dispatch(f, [&](auto tag) -> double {
    using T = decltype(tag);
    auto xc = contiguous<T>(in.x);
    auto probs = no_array<py::array_t<T>>();
    if (!target.is_labels()) probs = contiguous<T>(target.probs);
    const std::int64_t* labels = target.is_labels() ? target.labels.data() : nullptr;
    // Gradient arrays (reused) and the update items: W1, b1, W2, b2, ...
    std::vector<UpdateItem> items;
    std::size_t g = 0;
    for (const LayerSpec& s : specs) {
      if (s.kind != NetLayerKind::affine) continue;
      for (const auto& [p, key] : {std::pair<const py::array&, const py::object&>(s.W, s.W_key),
                                   std::pair<const py::array&, const py::object&>(s.b, s.b_key)}) {
        if (ws.grads.size() <= g) ws.grads.resize(g + 1);
        if (!ws.grads[g] || shape_of(ws.grads[g]) != shape_of(p) || ws.grads[g].dtype().itemsize() != p.dtype().itemsize())
          ws.grads[g] = empty<T>(shape_of(p));
        items.push_back(UpdateItem{key, p, ws.grads[g]});
        ++g;
      }
    }
    ws.grads.resize(g);
    PreparedUpdate up = prepare_update(opt, items, where);
    std::vector<NetLayer<T>> net;
    std::size_t k = 0;
    for (const LayerSpec& s : specs) {
      NetLayer<T> L;
      L.kind = s.kind;
      if (s.kind == NetLayerKind::affine) {
        L.W = MatView<T>{static_cast<const T*>(up.param_data[k]), s.W.shape(0), s.W.shape(1), false};
        L.b = static_cast<const T*>(up.param_data[k + 1]);
        L.dW = static_cast<T*>(ws.grads[k].mutable_data());
        L.db = static_cast<T*>(ws.grads[k + 1].mutable_data());
        k += 2;
      }
      net.push_back(L);
    }
    double loss;
    {
      py::gil_scoped_release nogil;
      std::lock_guard<std::mutex> lock(ws.mutex);
      loss = net_gradient(net.data(), static_cast<Index>(net.size()), xc.data(), in.n, in.d, labels,
                          labels ? nullptr : probs.data(), ws.buffers<T>());
      run_update(opt, up);
    }
    finish_update(up);
    return loss;
  });
}

py::array predict(py::handle layers, py::handle x_in, NetWorkspace& ws) {
  const std::string where = "predict";
  std::vector<LayerSpec> specs = read_layers(layers, where);
  const Float f = net_float(specs, where);
  Input in = read_x(x_in, specs, where);
  const Index c = out_width(specs);
  return dispatch(f, [&](auto tag) -> py::array {
    using T = decltype(tag);
    std::vector<py::array_t<T>> hold;
    std::vector<NetLayer<T>> net;
    for (const LayerSpec& s : specs) {
      NetLayer<T> L;
      L.kind = s.kind;
      if (s.kind == NetLayerKind::affine) {
        hold.push_back(contiguous<T>(s.W));
        hold.push_back(contiguous<T>(s.b));
        L.W = MatView<T>{hold[hold.size() - 2].data(), s.W.shape(0), s.W.shape(1), false};
        L.b = hold.back().data();
      }
      net.push_back(L);
    }
    auto xc = contiguous<T>(in.x);
    auto scores = empty<T>({in.n, c});
    {
      py::gil_scoped_release nogil;
      std::lock_guard<std::mutex> lock(ws.mutex);
      net_predict(net.data(), static_cast<Index>(net.size()), xc.data(), in.n, in.d, scores.mutable_data(),
                  ws.buffers<T>());
    }
    return scores;
  });
}

}  // namespace

void bind_network(py::module_& m) {
  py::class_<NetWorkspace> ws(m, "_NetWorkspace", py::module_local(),
                              "Buffers of one network's fused calls (activations, masks, gradients), reused.");
  def_no_pickle(ws);
  ws.def(py::init<>())
      .def_property_readonly(
          "grads", [](const NetWorkspace& ws) { return py::list(py::cast(ws.grads)); },
          "The gradients [dW1, db1, ...] of the last train_step (overwritten by the next).");
  m.def("_train_step", &train_step, py::arg("layers"), py::arg("x"), py::arg("t"), py::arg("optimizer"),
        py::arg("workspace"),
        "Fused forward, SoftmaxWithLoss, backward and optimizer update of a layer list; returns the loss.");
  m.def("_predict", &predict, py::arg("layers"), py::arg("x"), py::arg("workspace"),
        "Fused forward pass of a layer list; returns the scores (N, C).");
}

}  // namespace fastlayers::bind
