// Helpers shared by the bindings: NumPy dtype rules, conversions without needless copies,
// and error messages that name the argument, the expected and the given.
#pragma once

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "fastlayers/common.hpp"

namespace fastlayers::bind {

namespace py = pybind11;
using Shape = std::vector<py::ssize_t>;

// The float type a computation runs in.
enum class Float { f32, f64 };

// np.asarray(obj) without a dtype change; TypeError naming `name` unless the dtype is a
// real number (bool, integer, float16/32/64).
py::array as_numeric(py::handle obj, const char* name);

// The float type for one operand alone: float16/float32 -> f32, float64 -> f64,
// bool and integers -> f64 (like np.exp).
Float unary_float(const py::array& a);
// NumPy's promotion between operands (float32 with float64 -> f64; int8/int16/uint8/uint16/bool
// keep float32; wider integers need float64).
Float promote(std::initializer_list<const py::array*> arrays);

template <class T>
constexpr Float float_of() {
  return sizeof(T) == 4 ? Float::f32 : Float::f64;
}

// a as a C-contiguous, aligned array of T: `a` itself when it already is one, else a copy.
template <class T>
py::array_t<T> contiguous(const py::array& a) {
  // Fast path, read straight off the array struct: a per-call cost on tiny inputs.
  const auto* proxy = py::detail::array_proxy(a.ptr());
  const auto* descr = py::detail::array_descriptor_proxy(proxy->descr);
  constexpr int flags = py::detail::npy_api::NPY_ARRAY_C_CONTIGUOUS_ | py::detail::npy_api::NPY_ARRAY_ALIGNED_;
  if (descr->type_num == py::detail::npy_format_descriptor<T>::value && descr->byteorder != '>' &&
      (proxy->flags & flags) == flags)
    return py::reinterpret_borrow<py::array_t<T>>(a);
  auto& api = py::detail::npy_api::get();
  PyObject* r = api.PyArray_FromAny_(a.ptr(), py::dtype::of<T>().release().ptr(), 0, 0,
                                     py::detail::npy_api::NPY_ARRAY_C_CONTIGUOUS_ |
                                         py::detail::npy_api::NPY_ARRAY_ALIGNED_ |
                                         py::detail::npy_api::NPY_ARRAY_FORCECAST_ |
                                         py::detail::npy_api::NPY_ARRAY_ENSUREARRAY_,
                                     nullptr);
  if (r == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::array_t<T>>(r);
}

// Releases the GIL for work of at least kNoGilWork elements (or multiply-adds); below that,
// releasing and re-taking it would cost more than the work itself.
constexpr Index kNoGilWork = Index{1} << 14;
class ReleaseGil {
 public:
  explicit ReleaseGil(Index work) {
    if (work >= kNoGilWork) release_.emplace();
  }

 private:
  std::optional<py::gil_scoped_release> release_;
};

// A C-contiguous array of T with this shape whose memory comes from NumPy (straight through
// NumPy's C API: pybind11's array constructor costs more than the work of a small layer).
// The shape is given as nd dimensions (an array's own, say: no Shape to build) or as a Shape.
template <class T>
py::array_t<T> empty(int nd, const py::ssize_t* dims) {
  auto& api = py::detail::npy_api::get();
  PyObject* descr = api.PyArray_DescrFromType_(py::detail::npy_format_descriptor<T>::value);
  PyObject* r = api.PyArray_NewFromDescr_(api.PyArray_Type_, descr, nd, dims, nullptr, nullptr, 0, nullptr);
  if (r == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::array_t<T>>(r);
}
template <class T>
py::array_t<T> empty(const Shape& shape) {
  return empty<T>(static_cast<int>(shape.size()), shape.data());
}

// An operand a call reads, for the overlap check of an out= argument: a contiguous array (as converted
// for the kernel, so that its memory is exactly [data, data + nbytes)), the name the message uses, and
// whether out may be the very same memory (an element-wise kernel reading each element before writing it).
struct Read {
  const py::array& a;
  const char* name;
  bool may_be_out;
};

// The out= argument of a call that computes in T an array of `shape`: out itself, after checking that it
// is a numpy.ndarray (subclasses too) of dtype T, of that shape, writeable, C-contiguous and aligned, and
// that it shares no memory with the operands in `reads` but where one may be out exactly. TypeError
// (not an array, another dtype) or ValueError otherwise, naming `where`, out and the expected and given.
// `shape_what` says where the expected shape comes from ("the shape of x").
py::array check_out(py::handle out, Float f, const Shape& shape, const std::string& where, const char* shape_what,
                    std::initializer_list<Read> reads);

template <class T>
py::array_t<T> out_array(py::handle out, const Shape& shape, const std::string& where, const char* shape_what,
                         std::initializer_list<Read> reads) {
  return py::reinterpret_steal<py::array_t<T>>(
      check_out(out, float_of<T>(), shape, where, shape_what, reads).release());
}

// A view of contiguous `a` with another shape of the same size; it keeps `a` alive and is writeable
// when `a` is (as pybind11's array_t(shape, ptr, base) makes it, without that constructor's cost).
template <class T>
py::array_t<T> view_as(const py::array_t<T>& a, int nd, const py::ssize_t* dims) {
  auto& api = py::detail::npy_api::get();
  PyObject* descr = api.PyArray_DescrFromType_(py::detail::npy_format_descriptor<T>::value);
  const int flags = py::detail::array_proxy(a.ptr())->flags & ~py::detail::npy_api::NPY_ARRAY_OWNDATA_;
  PyObject* r = api.PyArray_NewFromDescr_(api.PyArray_Type_, descr, nd, dims, nullptr,
                                          py::detail::array_proxy(a.ptr())->data, flags, nullptr);
  if (r == nullptr) throw py::error_already_set();
  auto view = py::reinterpret_steal<py::array_t<T>>(r);
  // Steals the new reference to a, also when it fails.
  if (api.PyArray_SetBaseObject_(r, a.inc_ref().ptr()) != 0) throw py::error_already_set();
  return view;
}

// An array handle that holds nothing yet, for members and locals assigned later: pybind11's default
// constructors of py::array and py::array_t allocate an empty NumPy array, a per-call cost on tiny inputs.
template <class A = py::array>
A no_array() {
  return py::reinterpret_steal<A>(py::handle());
}

Shape shape_of(const py::array& a);
Index size_of(const Shape& shape);
bool is_c_contiguous(const py::array& a);
bool is_f_contiguous(const py::array& a);
bool is_aligned(const py::array& a);

// "(3, 4)", "(5,)", "()"
std::string shape_str(const Shape& shape);
std::string dtype_str(const py::array& a);

[[noreturn]] void value_error(const std::string& msg);
[[noreturn]] void type_error(const std::string& msg);

// Runs fn(T{}) with T the C++ type of f.
template <class F>
decltype(auto) dispatch(Float f, F&& fn) {
  if (f == Float::f32) return fn(float{});
  return fn(double{});
}

// pickle for every protocol, and copy/deepcopy: (copyreg.__newobj__, (cls,), self.__getstate__()), the state then
// given to __setstate__ (py::pickle). Without it, protocols 0 and 1 went through copyreg's fallback, which
// constructs a bare pybind11 object: the C++ exception that raised ended the process.
template <class PyClass>
void def_reduce_ex(PyClass& cls) {
  cls.def("__reduce_ex__", [](py::handle self, int /*protocol*/) {
    return py::make_tuple(py::module_::import("copyreg").attr("__newobj__"),
                          py::make_tuple(py::type::handle_of(self)), self.attr("__getstate__")());
  });
}

// For classes that cannot be pickled: a TypeError for every protocol (see def_reduce_ex).
template <class PyClass>
void def_no_pickle(PyClass& cls) {
  cls.def("__reduce_ex__", [](py::handle self, int) -> py::object {
    type_error("cannot pickle '" + std::string(py::str(py::type::handle_of(self).attr("__name__"))) + "' object");
  });
}

// The labels of t as a fresh int64 array (never a view of the caller's t), after checking
// that t has an integer dtype and every label is in [0, c). `where` names the caller.
py::array_t<std::int64_t> checked_labels(const py::array& t, Index c, const char* where);

}  // namespace fastlayers::bind
