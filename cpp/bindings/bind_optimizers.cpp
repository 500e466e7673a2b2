// Python classes SGD, Momentum, AdaGrad and Adam with the book's update(params, grads), in place, in C++.
#include "bind_optimizers.hpp"

#include <cmath>
#include <cstring>

namespace fastlayers::bind {
namespace {

std::string key_str(const py::object& key) { return std::string(py::repr(key)); }
std::string type_name(py::handle h) { return std::string(py::str(py::type::handle_of(h).attr("__name__"))); }

bool is_mapping(py::handle h) {
  static py::object mapping = py::module_::import("collections.abc").attr("Mapping");
  return py::isinstance(h, mapping);
}

bool is_float_array(const py::array& a) {
  const py::dtype dt = a.dtype();
  return dt.kind() == 'f' && (dt.itemsize() == 4 || dt.itemsize() == 8);
}

// Dtypes compared by value, not by identity: an unpickled array's dtype is an equal but distinct object.
bool same_float(const py::array& a, const py::array& b) {
  return is_float_array(a) && is_float_array(b) && a.dtype().itemsize() == b.dtype().itemsize();
}

// In the machine's byte order: the kernels read raw memory (a '>f8' array is converted, like a strided one).
bool is_native(const py::array& a) {
  return py::detail::array_descriptor_proxy(py::detail::array_proxy(a.ptr())->descr)->byteorder != '>';
}

// state[key] for a parameter `p`: created as zeros, or checked when it exists.
py::array state_for(py::dict& state, const py::object& key, const py::array& p, const char* sname,
                    const std::string& where) {
  if (state.contains(key)) {
    py::handle s = state[key];
    if (!py::isinstance<py::array>(s))
      type_error(where + ": state " + sname + "[" + key_str(key) + "] must be an ndarray, got " + type_name(s));
    auto a = py::reinterpret_borrow<py::array>(s);
    if (shape_of(a) != shape_of(p) || !same_float(a, p) || !is_native(a) || !is_c_contiguous(a) || !is_aligned(a) ||
        !a.writeable())
      value_error(where + ": state " + sname + "[" + key_str(key) + "] is a " + dtype_str(a) + " array of shape " +
                  shape_str(shape_of(a)) + ", expected a writable C-contiguous " + dtype_str(p) + " array of shape " +
                  shape_str(shape_of(p)) + " like params[" + key_str(key) +
                  "] (did the parameters change? use a new optimizer)");
    return a;
  }
  py::array z = p.dtype().itemsize() == 4 ? py::array(py::dtype::of<float>(), shape_of(p))
                                           : py::array(py::dtype::of<double>(), shape_of(p));
  std::memset(z.mutable_data(), 0, static_cast<std::size_t>(z.nbytes()));
  state[key] = z;
  return z;
}

template <class T>
ParamSlot<T> make_slot(void* p, const py::array& g, py::array* s1, py::array* s2) {
  ParamSlot<T> s;
  s.param = static_cast<T*>(p);
  s.grad = static_cast<const T*>(g.data());
  s.s1 = s1 ? static_cast<T*>(s1->mutable_data()) : nullptr;
  s.s2 = s2 ? static_cast<T*>(s2->mutable_data()) : nullptr;
  s.n = static_cast<Index>(g.size());
  return s;
}

const char* state1_name(OptimizerKind k) {
  switch (k) {
    case OptimizerKind::momentum: return "v";
    case OptimizerKind::adagrad: return "h";
    case OptimizerKind::adam: return "m";
    default: return "";
  }
}

void update(Optimizer& opt, py::handle params, py::handle grads, const std::string& where) {
  if (!is_mapping(params))
    type_error(where + ": params must be a dict mapping names to float32/float64 ndarrays, got " + type_name(params));
  if (!is_mapping(grads))
    type_error(where + ": grads must be a dict mapping the names of params to gradient arrays, got " +
               type_name(grads));
  std::vector<UpdateItem> items;
  py::object keys = params.attr("keys")();
  for (py::handle k : keys) {
    py::object key = py::reinterpret_borrow<py::object>(k);
    const int has = PySequence_Contains(grads.ptr(), key.ptr());  // `key in grads`, any truthy answer
    if (has < 0) throw py::error_already_set();
    if (has == 0)
      value_error(where + ": grads has no entry " + key_str(key) + ", expected one gradient for every key of params");
    items.push_back(UpdateItem{key, params[key], grads[key]});
  }
  PreparedUpdate up = prepare_update(opt, items, where);
  {
    py::gil_scoped_release nogil;
    run_update(opt, up);
  }
  finish_update(up);
}

void check_rate(double v, const char* name, const char* cls, bool below_one) {
  if (!std::isfinite(v) || v < 0 || (below_one && v >= 1))
    value_error(std::string(cls) + ": " + name + " must be a finite number " + (below_one ? "in [0, 1)" : ">= 0") +
                ", got " + std::string(py::repr(py::float_(v))));
}

struct SGD : Optimizer {};
struct Momentum : Optimizer {};
struct AdaGrad : Optimizer {};
struct Adam : Optimizer {};

template <class C>
void def_lr(py::class_<C, Optimizer>& c, const char* cls) {
  c.def_property(
      "lr", [](const C& self) { return self.cfg.lr; },
      [cls](C& self, double v) {
        check_rate(v, "lr", cls, false);
        self.cfg.lr = v;
      },
      "Learning rate (may be changed between updates).");
}

py::object state_or_none(const py::object& s) { return s; }

// Pickle/deepcopy: (lr, momentum, beta1, beta2, iter, state1, state2), the hyperparameters checked on load.
template <class C>
void def_pickle(py::class_<C, Optimizer>& c, OptimizerKind kind, const char* cls) {
  c.def(py::pickle(
      [](const C& self) {
        return py::make_tuple(self.cfg.lr, self.cfg.momentum, self.cfg.beta1, self.cfg.beta2, self.iter, self.s1,
                              self.s2);
      },
      [kind, cls](const py::tuple& state) {
        if (state.size() != 7)
          value_error(std::string(cls) + ".__setstate__: state must be a tuple (lr, momentum, beta1, beta2, iter, "
                      "state1, state2), got " + std::to_string(state.size()) + " items");
        C o;
        o.cfg.kind = kind;
        o.cfg.lr = state[0].cast<double>();
        o.cfg.momentum = state[1].cast<double>();
        o.cfg.beta1 = state[2].cast<double>();
        o.cfg.beta2 = state[3].cast<double>();
        check_rate(o.cfg.lr, "lr", cls, false);
        check_rate(o.cfg.momentum, "momentum", cls, true);
        check_rate(o.cfg.beta1, "beta1", cls, true);
        check_rate(o.cfg.beta2, "beta2", cls, true);
        o.iter = state[4].cast<long long>();
        if (o.iter < 0) value_error(std::string(cls) + ".__setstate__: iter must be >= 0");
        for (std::size_t i : {std::size_t{5}, std::size_t{6}})
          if (!state[i].is_none() && !py::isinstance<py::dict>(state[i]))
            type_error(std::string(cls) + ".__setstate__: optimizer state must be a dict or None, got " +
                       type_name(state[i]));
        o.s1 = state[5];
        o.s2 = state[6];
        return o;
      }));
  def_reduce_ex(c);
}

}  // namespace

PreparedUpdate prepare_update(Optimizer& opt, const std::vector<UpdateItem>& items, const std::string& where) {
  const OptimizerKind kind = opt.cfg.kind;
  // 1. Check everything; nothing is modified until all items pass.
  std::vector<py::array> ps, gs;
  for (const UpdateItem& it : items) {
    auto k = [&] { return key_str(it.key); };  // repr(key), computed only for an error message
    if (!py::isinstance<py::array>(it.param))
      type_error(where + ": params[" + k() + "] must be a float32 or float64 numpy.ndarray (it is updated in place), got " +
                 type_name(it.param));
    auto p = py::reinterpret_borrow<py::array>(it.param);
    if (!is_float_array(p))
      type_error(where + ": params[" + k() + "] must have dtype float32 or float64 (it is updated in place), got " +
                 dtype_str(p));
    if (!p.writeable())
      value_error(where + ": params[" + k() + "] is read-only; the optimizer updates params in place and needs a "
                  "writable array");
    if (!py::isinstance<py::array>(it.grad))
      type_error(where + ": grads[" + k() + "] must be a numpy.ndarray of dtype " + dtype_str(p) + " and shape " +
                 shape_str(shape_of(p)) + ", got " + type_name(it.grad));
    auto g = py::reinterpret_borrow<py::array>(it.grad);
    if (!same_float(g, p))
      type_error(where + ": grads[" + k() + "] has dtype " + dtype_str(g) + ", expected " + dtype_str(p) +
                 " (the dtype of params[" + k() + "])");
    if (shape_of(g) != shape_of(p))
      value_error(where + ": grads[" + k() + "] has shape " + shape_str(shape_of(g)) + ", expected " +
                  shape_str(shape_of(p)) + " (the shape of params[" + k() + "])");
    ps.push_back(p);
    gs.push_back(g);
  }
  if (kind != OptimizerKind::sgd) {
    for (py::object* s : {&opt.s1, &opt.s2}) {
      if (s == &opt.s2 && kind != OptimizerKind::adam) continue;
      if (!s->is_none() && !py::isinstance<py::dict>(*s))
        type_error(where + ": optimizer state must be a dict or None, got " + type_name(*s));
    }
  }
  // 2. State (created on first use, like the book) and slots.
  PreparedUpdate up;
  std::vector<py::object> s1s(items.size()), s2s(items.size());
  if (kind != OptimizerKind::sgd) {
    if (opt.s1.is_none()) opt.s1 = py::dict();
    if (kind == OptimizerKind::adam && opt.s2.is_none()) opt.s2 = py::dict();
    auto d1 = py::reinterpret_borrow<py::dict>(opt.s1);
    // Check all existing entries first, then create the missing ones.
    for (std::size_t i = 0; i < items.size(); ++i)
      if (d1.contains(items[i].key)) s1s[i] = state_for(d1, items[i].key, ps[i], state1_name(kind), where);
    if (kind == OptimizerKind::adam) {
      auto d2 = py::reinterpret_borrow<py::dict>(opt.s2);
      for (std::size_t i = 0; i < items.size(); ++i)
        if (d2.contains(items[i].key)) s2s[i] = state_for(d2, items[i].key, ps[i], "v", where);
      for (std::size_t i = 0; i < items.size(); ++i)
        if (!s2s[i]) s2s[i] = state_for(d2, items[i].key, ps[i], "v", where);
    }
    for (std::size_t i = 0; i < items.size(); ++i)
      if (!s1s[i]) s1s[i] = state_for(d1, items[i].key, ps[i], state1_name(kind), where);
  }
  for (std::size_t i = 0; i < items.size(); ++i) {
    py::array p = ps[i];
    const bool f32 = p.dtype().itemsize() == 4;
    py::array work = p;
    if (!is_c_contiguous(p) || !is_aligned(p) || !is_native(p)) {
      work = f32 ? py::array(contiguous<float>(p)) : py::array(contiguous<double>(p));
      if (work.ptr() == p.ptr()) work = py::array(p.attr("copy")());
      up.writeback.emplace_back(p, work);
    }
    py::array g = f32 ? py::array(contiguous<float>(gs[i])) : py::array(contiguous<double>(gs[i]));
    py::array a1 = no_array(), a2 = no_array();
    if (s1s[i]) a1 = py::reinterpret_borrow<py::array>(s1s[i]);
    if (s2s[i]) a2 = py::reinterpret_borrow<py::array>(s2s[i]);
    py::array* s1 = s1s[i] ? &a1 : nullptr;
    py::array* s2 = s2s[i] ? &a2 : nullptr;
    void* data = work.mutable_data();
    if (f32)
      up.f32.push_back(make_slot<float>(data, g, s1, s2));
    else
      up.f64.push_back(make_slot<double>(data, g, s1, s2));
    up.param_data.push_back(data);
    up.keep.push_back(work);
    up.keep.push_back(g);
    if (s1) up.keep.push_back(*s1);
    if (s2) up.keep.push_back(*s2);
  }
  if (kind == OptimizerKind::adam) opt.iter += 1;
  return up;
}

void run_update(Optimizer& opt, PreparedUpdate& up) {
  optimizer_step(opt.cfg, opt.iter, up.f32.data(), static_cast<Index>(up.f32.size()));
  optimizer_step(opt.cfg, opt.iter, up.f64.data(), static_cast<Index>(up.f64.size()));
}

void finish_update(PreparedUpdate& up) {
  for (auto& [param, work] : up.writeback) param[py::ellipsis()] = work;
  up.writeback.clear();
}

void bind_optimizers(py::module_& m) {
  py::class_<Optimizer>(m, "Optimizer", py::module_local(),
                        "Base class of the optimizers: update(params, grads) updates params in place.")
      .def(
          "update", [](Optimizer& self, py::handle params, py::handle grads) {
            const char* names[] = {"SGD", "Momentum", "AdaGrad", "Adam"};
            update(self, params, grads, std::string(names[static_cast<int>(self.cfg.kind)]) + ".update");
          },
          py::arg("params"), py::arg("grads"), R"doc(
Updates every params[key] in place from grads[key], in C++ (the GIL is released).

params: dict of writable float32/float64 ndarrays; grads: a dict with the same keys, each of
the same shape and dtype as its parameter. Errors name the key; nothing is updated on error.
The rule is the subclass's (SGD: params[key] -= lr * grads[key]).

>>> params = {"W": np.array([1.0, 2.0])}
>>> SGD(lr=0.5).update(params, {"W": np.array([1.0, 1.0])}); params["W"]
array([0.5, 1.5])
)doc");

  auto sgd = py::class_<SGD, Optimizer>(m, "SGD", py::module_local(), R"doc(
Stochastic gradient descent (the book's common/optimizer.py): params[key] -= lr * grads[key].

>>> opt = SGD(lr=0.1); params = {"W": np.ones(2)}; opt.update(params, {"W": np.ones(2)}); params["W"]
array([0.9, 0.9])
)doc");
  sgd.def(py::init([](double lr) {
            check_rate(lr, "lr", "SGD", false);
            SGD o;
            o.cfg.kind = OptimizerKind::sgd;
            o.cfg.lr = lr;
            return o;
          }),
          py::arg("lr") = 0.01)
      .def("__repr__", [](const SGD& s) { return "SGD(lr=" + std::string(py::repr(py::float_(s.cfg.lr))) + ")"; });
  def_lr(sgd, "SGD");
  def_pickle(sgd, OptimizerKind::sgd, "SGD");

  auto mom = py::class_<Momentum, Optimizer>(m, "Momentum", py::module_local(), R"doc(
Momentum SGD (the book): v = momentum * v - lr * grads[key]; params[key] += v.
`v` is None before the first update, then a dict of arrays like params.

>>> opt = Momentum(lr=0.1, momentum=0.9); params = {"W": np.zeros(2)}
>>> opt.update(params, {"W": np.ones(2)}); opt.update(params, {"W": np.ones(2)}); params["W"]
array([-0.29, -0.29])
)doc");
  mom.def(py::init([](double lr, double momentum) {
            check_rate(lr, "lr", "Momentum", false);
            check_rate(momentum, "momentum", "Momentum", true);
            Momentum o;
            o.cfg.kind = OptimizerKind::momentum;
            o.cfg.lr = lr;
            o.cfg.momentum = momentum;
            return o;
          }),
          py::arg("lr") = 0.01, py::arg("momentum") = 0.9)
      .def_property(
          "momentum", [](const Momentum& s) { return s.cfg.momentum; },
          [](Momentum& s, double v) {
            check_rate(v, "momentum", "Momentum", true);
            s.cfg.momentum = v;
          },
          "Momentum factor in [0, 1) (may be changed between updates).")
      .def_property(
          "v", [](const Momentum& s) { return state_or_none(s.s1); }, [](Momentum& s, py::object v) { s.s1 = v; },
          "Velocity per key (dict), or None before the first update.")
      .def("__repr__", [](const Momentum& s) {
        return "Momentum(lr=" + std::string(py::repr(py::float_(s.cfg.lr))) +
               ", momentum=" + std::string(py::repr(py::float_(s.cfg.momentum))) + ")";
      });
  def_lr(mom, "Momentum");
  def_pickle(mom, OptimizerKind::momentum, "Momentum");

  auto ada = py::class_<AdaGrad, Optimizer>(m, "AdaGrad", py::module_local(), R"doc(
AdaGrad (the book): h += grads[key]**2; params[key] -= lr * grads[key] / (sqrt(h) + 1e-7).
`h` is None before the first update, then a dict of arrays like params.

>>> opt = AdaGrad(lr=0.1); params = {"W": np.zeros(2)}
>>> opt.update(params, {"W": np.array([2.0, -2.0])}); params["W"]
array([-0.1,  0.1])
)doc");
  ada.def(py::init([](double lr) {
            check_rate(lr, "lr", "AdaGrad", false);
            AdaGrad o;
            o.cfg.kind = OptimizerKind::adagrad;
            o.cfg.lr = lr;
            return o;
          }),
          py::arg("lr") = 0.01)
      .def_property(
          "h", [](const AdaGrad& s) { return state_or_none(s.s1); }, [](AdaGrad& s, py::object v) { s.s1 = v; },
          "Sum of squared gradients per key (dict), or None before the first update.")
      .def("__repr__",
           [](const AdaGrad& s) { return "AdaGrad(lr=" + std::string(py::repr(py::float_(s.cfg.lr))) + ")"; });
  def_lr(ada, "AdaGrad");
  def_pickle(ada, OptimizerKind::adagrad, "AdaGrad");

  auto adam = py::class_<Adam, Optimizer>(m, "Adam", py::module_local(), R"doc(
Adam in the book's form: iter += 1; lr_t = lr * sqrt(1 - beta2**iter) / (1 - beta1**iter);
m += (1 - beta1) * (g - m); v += (1 - beta2) * (g**2 - v); params[key] -= lr_t * m / (sqrt(v) + 1e-7).
`m` and `v` are None before the first update, then dicts of arrays like params.

>>> opt = Adam(lr=0.1); params = {"W": np.zeros(2)}
>>> opt.update(params, {"W": np.array([3.0, -3.0])}); params["W"].round(6), opt.iter
(array([-0.1,  0.1]), 1)
)doc");
  adam.def(py::init([](double lr, double beta1, double beta2) {
             check_rate(lr, "lr", "Adam", false);
             check_rate(beta1, "beta1", "Adam", true);
             check_rate(beta2, "beta2", "Adam", true);
             Adam o;
             o.cfg.kind = OptimizerKind::adam;
             o.cfg.lr = lr;
             o.cfg.beta1 = beta1;
             o.cfg.beta2 = beta2;
             return o;
           }),
           py::arg("lr") = 0.001, py::arg("beta1") = 0.9, py::arg("beta2") = 0.999)
      .def_property(
          "beta1", [](const Adam& s) { return s.cfg.beta1; },
          [](Adam& s, double v) {
            check_rate(v, "beta1", "Adam", true);
            s.cfg.beta1 = v;
          },
          "Decay rate of the first moment m, in [0, 1).")
      .def_property(
          "beta2", [](const Adam& s) { return s.cfg.beta2; },
          [](Adam& s, double v) {
            check_rate(v, "beta2", "Adam", true);
            s.cfg.beta2 = v;
          },
          "Decay rate of the second moment v, in [0, 1).")
      .def_property(
          "iter", [](const Adam& s) { return s.iter; },
          [](Adam& s, long long v) {
            if (v < 0) value_error("Adam: iter must be >= 0, got " + std::to_string(v));
            s.iter = v;
          },
          "Number of updates so far.")
      .def_property(
          "m", [](const Adam& s) { return state_or_none(s.s1); }, [](Adam& s, py::object v) { s.s1 = v; },
          "First moment per key (dict), or None before the first update.")
      .def_property(
          "v", [](const Adam& s) { return state_or_none(s.s2); }, [](Adam& s, py::object v) { s.s2 = v; },
          "Second moment per key (dict), or None before the first update.")
      .def("__repr__", [](const Adam& s) {
        return "Adam(lr=" + std::string(py::repr(py::float_(s.cfg.lr))) +
               ", beta1=" + std::string(py::repr(py::float_(s.cfg.beta1))) +
               ", beta2=" + std::string(py::repr(py::float_(s.cfg.beta2))) + ")";
      });
  def_lr(adam, "Adam");
  def_pickle(adam, OptimizerKind::adam, "Adam");
}

}  // namespace fastlayers::bind
