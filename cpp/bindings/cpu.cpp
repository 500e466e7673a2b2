// CPU feature probe, compiled for the baseline instruction set so it runs anywhere.
#include <pybind11/pybind11.h>

namespace {

bool has_avx2_fma() {
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

}  // namespace

PYBIND11_MODULE(_cpu, m) {
  m.doc() = "Which instruction sets this CPU (and its OS) supports.";
  m.def("has_avx2_fma", &has_avx2_fma, "True when the CPU and OS support AVX2 and FMA.");
}
