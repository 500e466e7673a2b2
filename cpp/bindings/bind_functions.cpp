// Python functions softmax and cross_entropy_error (the book's common/functions.py), and the
// thread settings.
#include "arrays.hpp"
#include "fastlayers/softmax.hpp"
#include "fastlayers/threading.hpp"
#include "targets.hpp"

namespace fastlayers::bind {
namespace {

py::array softmax(py::handle x_in, py::handle out) {
  py::array x = as_numeric(x_in, "x");
  if (x.ndim() == 0) value_error("softmax: x must have at least one dimension (softmax runs along the last), got shape ()");
  const Shape shape = shape_of(x);
  const Index c = shape.back();
  const Index rows = c > 0 ? static_cast<Index>(x.size()) / c : 0;
  return dispatch(unary_float(x), [&](auto tag) -> py::array {
    using T = decltype(tag);
    auto xc = contiguous<T>(x);
    auto y = out.is_none() ? empty<T>(shape) : out_array<T>(out, shape, "softmax", "the shape of x", {{xc, "x", true}});
    {
      ReleaseGil nogil(xc.size());
      softmax_rows(xc.data(), rows, c, y.mutable_data());
    }
    return y;
  });
}

double cross_entropy_error(py::handle y_in, py::handle t_in) {
  const char* where = "cross_entropy_error";
  py::array y = as_numeric(y_in, "y");
  if (y.ndim() != 1 && y.ndim() != 2)
    value_error(std::string(where) + ": y must have shape (N, C) or (C,), got shape " + shape_str(shape_of(y)));
  const Index n = y.ndim() == 2 ? y.shape(0) : 1;
  const Index c = y.shape(y.ndim() - 1);
  if (n == 0 || c == 0)
    value_error(std::string(where) + ": y of shape " + shape_str(shape_of(y)) + " is empty; need N >= 1 and C >= 1");
  py::array t = as_numeric(t_in, "t");
  Targets target = read_targets(y, t, where);
  py::array_t<std::int64_t> labels = target.labels;
  if (!target.is_labels()) {  // the book: t = t.argmax(axis=1)
    labels = py::array_t<std::int64_t>(Shape{n});
    dispatch(unary_float(target.probs), [&](auto tag) {
      using T = decltype(tag);
      auto tc = contiguous<T>(target.probs);
      argmax_rows(tc.data(), n, c, labels.mutable_data());
    });
  }
  return dispatch(unary_float(y), [&](auto tag) -> double {
    using T = decltype(tag);
    auto yc = contiguous<T>(y);
    return cross_entropy_labels(yc.data(), n, c, labels.data());
  });
}

}  // namespace

void bind_functions(py::module_& m) {
  m.def("softmax", &softmax, py::arg("x"), py::kw_only(), py::arg("out") = py::none(), R"doc(
y = exp(x - max(x)) / sum(exp(x - max(x))) along the last axis, so it never overflows.

x: any shape with at least one axis (N, C), (C,), (..., C); y: x's shape.
out=: an array to write y into and return instead of a new one: C-contiguous, writeable, of y's
shape and dtype; it may be x itself (in place) but not overlap it otherwise.

>>> softmax(np.array([0.3, 2.9, 4.0]))
array([0.01821127, 0.24519181, 0.73659691])
)doc");
  m.def("cross_entropy_error", &cross_entropy_error, py::arg("y"), py::arg("t"), R"doc(
The book's cross_entropy_error: y probabilities (N, C) or (C,); t one-hot of y's shape (its
argmax is the label) or integer labels (N,) (a scalar for one sample).
Returns -sum(log(y[i, t_i] + 1e-7)) / N as a float.

>>> cross_entropy_error(np.array([0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0]), 2)
0.510825457099338
)doc");
  m.def(
      "set_num_threads",
      [](int n) {
        if (n > fastlayers::kMaxThreads)
          value_error("set_num_threads: n must be at most " + std::to_string(fastlayers::kMaxThreads) +
                      " (or <= 0 for the default), got " + std::to_string(n));
        fastlayers::set_num_threads(n);
      },
      py::arg("n"), R"doc(
Sets the threads fastlayers kernels may use (at most 1024); n <= 0 restores the default (OpenMP's:
OMP_NUM_THREADS, the core count, or what threadpoolctl.threadpool_limits sets). A count set here is not
changed by threadpoolctl. Results do not depend on the count.

>>> set_num_threads(1); get_num_threads()
1
>>> set_num_threads(0)   # back to OpenMP's default
)doc");
  m.def("get_num_threads", &fastlayers::get_num_threads, R"doc(
The threads fastlayers kernels may use (>= 1): the set_num_threads count, else OpenMP's default.

>>> get_num_threads() >= 1
True
)doc");
}

}  // namespace fastlayers::bind
