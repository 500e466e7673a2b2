// The extension module: one per instruction set (FASTLAYERS_MODULE is _core_baseline or
// _core_avx2); each binds the same classes over its own build of the core.
#include <Eigen/Core>

#include "arrays.hpp"

namespace py = pybind11;

namespace fastlayers::bind {
void bind_relu(py::module_& m);
void bind_sigmoid(py::module_& m);
void bind_affine(py::module_& m);
void bind_softmax_with_loss(py::module_& m);
void bind_functions(py::module_& m);
void bind_optimizers(py::module_& m);
void bind_network(py::module_& m);
}  // namespace fastlayers::bind

PYBIND11_MODULE(FASTLAYERS_MODULE, m) {
  namespace fb = fastlayers::bind;
  m.doc() = "fastlayers C++ core (" FASTLAYERS_ISA " build)";
  m.attr("isa") = FASTLAYERS_ISA;

  // What this build was compiled against, for fastlayers.show_config().
  m.def(
      "_build_info",
      [] {
        py::dict info;
        info["isa"] = FASTLAYERS_ISA;
        info["eigen_version"] = std::to_string(EIGEN_WORLD_VERSION) + "." + std::to_string(EIGEN_MAJOR_VERSION) +
                                "." + std::to_string(EIGEN_MINOR_VERSION);
#ifdef _OPENMP
        info["openmp"] = _OPENMP;  // yyyymm of the OpenMP specification the compiler implements
#else
        info["openmp"] = py::none();
#endif
        return info;
      },
      "{'isa', 'eigen_version', 'openmp'} of this build (see fastlayers.show_config).");

  // A failed conversion inside a binding is a wrong argument type, not a RuntimeError.
  py::register_local_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const py::cast_error& e) {
      PyErr_SetString(PyExc_TypeError, e.what());
    }
  });
  fb::bind_relu(m);
  fb::bind_sigmoid(m);
  fb::bind_affine(m);
  fb::bind_softmax_with_loss(m);
  fb::bind_functions(m);
  fb::bind_optimizers(m);
  fb::bind_network(m);
}
