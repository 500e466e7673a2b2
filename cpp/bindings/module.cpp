// The extension module: one per instruction set (FASTLAYERS_MODULE is _core_baseline or
// _core_avx2); each binds the same classes over its own build of the core.
#include "arrays.hpp"

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
  fb::bind_relu(m);
  fb::bind_sigmoid(m);
  fb::bind_affine(m);
  fb::bind_softmax_with_loss(m);
  fb::bind_functions(m);
  fb::bind_optimizers(m);
  fb::bind_network(m);
}
