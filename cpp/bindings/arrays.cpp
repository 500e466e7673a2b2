// NumPy dtype rules, conversions and error messages for the bindings.
#include "arrays.hpp"

#include <sstream>

#include "fastlayers/softmax.hpp"

namespace fastlayers::bind {
namespace {

enum class Kind { small_int, wide_int, f32, f64 };

Kind kind_of(const py::array& a) {
  const py::dtype dt = a.dtype();
  const char k = dt.kind();
  const auto size = dt.itemsize();
  if (k == 'f') return size == 8 ? Kind::f64 : Kind::f32;  // float16 computes in float32
  return size <= 2 ? Kind::small_int : Kind::wide_int;
}

// np.asarray(obj) for an obj that is not an ndarray.
py::array to_array(py::handle obj, const char* name) {
  auto& api = py::detail::npy_api::get();
  PyObject* r = api.PyArray_FromAny_(obj.ptr(), nullptr, 0, 0, py::detail::npy_api::NPY_ARRAY_ENSUREARRAY_, nullptr);
  if (r == nullptr) {
    py::error_already_set err;
    // Not an array: TypeError naming the argument. Anything else (MemoryError, KeyboardInterrupt,
    // an exception of the object's own __array__) goes through as it is.
    if (!err.matches(PyExc_TypeError) && !err.matches(PyExc_ValueError)) throw err;
    type_error(std::string(name) + " must be an array of real numbers, got " +
               std::string(py::str(py::type::handle_of(obj).attr("__name__"))) + " (" + err.what() + ")");
  }
  return py::reinterpret_steal<py::array>(r);
}

}  // namespace

py::array as_numeric(py::handle obj, const char* name) {
  // An ndarray is taken as it is (no default-constructed py::array: that allocates an empty NumPy array).
  const py::array a = py::detail::npy_api::get().PyArray_Check_(obj.ptr()) ? py::reinterpret_borrow<py::array>(obj)
                                                                             : to_array(obj, name);
  const py::dtype dt = a.dtype();
  const char k = dt.kind();
  const bool ok = k == 'b' || k == 'i' || k == 'u' ||
                  (k == 'f' && (dt.itemsize() == 2 || dt.itemsize() == 4 || dt.itemsize() == 8));
  if (!ok)
    type_error(std::string(name) + " must have a real numeric dtype (float32 or float64; bool, integers and "
                                   "float16 are converted), got " + dtype_str(a));
  return a;
}

Float unary_float(const py::array& a) { return kind_of(a) == Kind::f32 ? Float::f32 : Float::f64; }

Float promote(std::initializer_list<const py::array*> arrays) {
  bool any_float = false, any_f64 = false, any_wide_int = false;
  for (const py::array* a : arrays) {
    switch (kind_of(*a)) {
      case Kind::f64: any_f64 = any_float = true; break;
      case Kind::f32: any_float = true; break;
      case Kind::wide_int: any_wide_int = true; break;
      case Kind::small_int: break;
    }
  }
  if (!any_float || any_f64 || any_wide_int) return Float::f64;
  return Float::f32;
}

Shape shape_of(const py::array& a) { return Shape(a.shape(), a.shape() + a.ndim()); }

Index size_of(const Shape& shape) {
  Index n = 1;
  for (auto s : shape) n *= static_cast<Index>(s);
  return n;
}

bool is_c_contiguous(const py::array& a) {
  return (a.flags() & py::detail::npy_api::NPY_ARRAY_C_CONTIGUOUS_) != 0;
}
bool is_f_contiguous(const py::array& a) {
  return (a.flags() & py::detail::npy_api::NPY_ARRAY_F_CONTIGUOUS_) != 0;
}
bool is_aligned(const py::array& a) { return (a.flags() & py::detail::npy_api::NPY_ARRAY_ALIGNED_) != 0; }

std::string shape_str(const Shape& shape) {
  std::ostringstream s;
  s << '(';
  for (std::size_t i = 0; i < shape.size(); ++i) s << (i ? ", " : "") << shape[i];
  if (shape.size() == 1) s << ',';
  s << ')';
  return s.str();
}

std::string dtype_str(const py::array& a) { return py::str(a.dtype()); }

void value_error(const std::string& msg) { throw py::value_error(msg); }
void type_error(const std::string& msg) { throw py::type_error(msg); }

namespace {

// The bytes a C- or F-contiguous array's elements occupy: [lo, hi), empty for an empty array.
std::pair<std::uintptr_t, std::uintptr_t> byte_span(const py::array& a) {
  const auto lo = reinterpret_cast<std::uintptr_t>(a.data());
  return {lo, lo + static_cast<std::uintptr_t>(a.nbytes())};
}

}  // namespace

py::array check_out(py::handle out, Float f, const Shape& shape, const std::string& where, const char* shape_what,
                    std::initializer_list<Read> reads) {
  const char* want = f == Float::f32 ? "float32" : "float64";
  auto& api = py::detail::npy_api::get();
  if (!api.PyArray_Check_(out.ptr()))
    type_error(where + ": out must be a numpy.ndarray of dtype " + want + " and shape " + shape_str(shape) +
               ", got " + std::string(py::str(py::type::handle_of(out).attr("__name__"))));
  auto a = py::reinterpret_borrow<py::array>(out);
  const auto* descr = py::detail::array_descriptor_proxy(py::detail::array_proxy(a.ptr())->descr);
  const int type_num = f == Float::f32 ? py::detail::npy_api::NPY_FLOAT_ : py::detail::npy_api::NPY_DOUBLE_;
  if (descr->type_num != type_num || descr->byteorder == '>')
    type_error(where + ": out must have dtype " + want + " (the dtype of the result), got " + dtype_str(a) +
               "; out is written as it is, never cast");
  if (shape_of(a) != shape)
    value_error(where + ": out has shape " + shape_str(shape_of(a)) + ", expected " + shape_str(shape) + " (" +
                shape_what + ")");
  if ((a.flags() & py::detail::npy_api::NPY_ARRAY_WRITEABLE_) == 0) value_error(where + ": out is read-only");
  if (!is_c_contiguous(a) || !is_aligned(a))
    value_error(where + ": out must be C-contiguous and aligned (it is written in place, element by element in "
                        "row-major order); got an array with strides " +
                shape_str(Shape(a.strides(), a.strides() + a.ndim())) + (is_aligned(a) ? "" : ", not aligned"));
  const auto [lo, hi] = byte_span(a);
  for (const Read& r : reads) {
    const auto [rlo, rhi] = byte_span(r.a);
    if (lo >= hi || rlo >= rhi || hi <= rlo || rhi <= lo) continue;  // empty, or disjoint
    if (r.may_be_out && lo == rlo && hi == rhi) continue;           // the very same elements: in place
    value_error(where + ": out shares memory with " + r.name +
                (r.may_be_out ? std::string(" without being exactly its elements (in place, out may be ") + r.name +
                                    " itself, not an overlapping part of it)"
                              : std::string(", which the call reads while it writes out; pass an array of its own")));
  }
  return a;
}

py::array_t<std::int64_t> checked_labels(const py::array& t, Index c, const char* where) {
  const char k = t.dtype().kind();
  if (k != 'i' && k != 'u')
    type_error(std::string(where) + ": t as class labels must have an integer dtype, got " + dtype_str(t));
  // Always a private copy: a later change to the caller's t must not reach the kernels. A label dtype
  // other than int64, or a non-contiguous t, is converted into a new array that is already private
  // (it owns its data and nothing else refers to it); t itself, or a view of t (as NumPy gives for an
  // ndarray subclass), is copied. uint64 labels beyond the int64 range wrap negative here and are
  // reported as out of range.
  py::array_t<std::int64_t> labels = contiguous<std::int64_t>(t);
  if (labels.ptr() == t.ptr() ||
      (py::detail::array_proxy(labels.ptr())->flags & py::detail::npy_api::NPY_ARRAY_OWNDATA_) == 0) {
    auto copy = empty<std::int64_t>(static_cast<int>(t.ndim()), t.shape());
    std::copy(labels.data(), labels.data() + labels.size(), copy.mutable_data());
    labels = std::move(copy);
  }
  const Index bad = first_bad_label(labels.data(), labels.size(), c);
  if (bad >= 0) {
    const py::array flat = py::array(t).reshape({t.size()});
    value_error(std::string(where) + ": t holds label " + std::string(py::str(flat[py::int_(bad)])) + " at index " +
                std::to_string(bad) + "; labels must be integers in [0, " + std::to_string(c) +
                ") for x with C = " + std::to_string(c) + " classes");
  }
  return labels;
}

}  // namespace fastlayers::bind
