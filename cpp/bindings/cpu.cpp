// CPU feature probe, compiled for the baseline instruction set so it runs anywhere; it also
// carries the description of the build (compiler, flags per core build) that CMake passes in.
#include <pybind11/pybind11.h>

#include "fastlayers/cpu.hpp"

namespace py = pybind11;

namespace {

// The instruction-set extensions this CPU (and its OS) supports, of those a numeric kernel cares about.
py::dict cpu_features() {
  py::dict f;
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
  __builtin_cpu_init();
  f["sse2"] = bool(__builtin_cpu_supports("sse2"));
  f["sse3"] = bool(__builtin_cpu_supports("sse3"));
  f["ssse3"] = bool(__builtin_cpu_supports("ssse3"));
  f["sse4.1"] = bool(__builtin_cpu_supports("sse4.1"));
  f["sse4.2"] = bool(__builtin_cpu_supports("sse4.2"));
  f["avx"] = bool(__builtin_cpu_supports("avx"));
  f["avx2"] = bool(__builtin_cpu_supports("avx2"));
  f["fma"] = bool(__builtin_cpu_supports("fma"));
  f["avx512f"] = bool(__builtin_cpu_supports("avx512f"));
  f["avx512cd"] = bool(__builtin_cpu_supports("avx512cd"));
  f["avx512vl"] = bool(__builtin_cpu_supports("avx512vl"));
  f["avx512dq"] = bool(__builtin_cpu_supports("avx512dq"));
  f["avx512bw"] = bool(__builtin_cpu_supports("avx512bw"));
#elif defined(__aarch64__) || defined(_M_ARM64)
  f["neon"] = true;  // part of the AArch64 baseline
#endif
  return f;
}

#ifndef FASTLAYERS_COMPILER
#define FASTLAYERS_COMPILER "unknown"
#endif
#ifndef FASTLAYERS_BUILD_TYPE
#define FASTLAYERS_BUILD_TYPE ""
#endif

// The compiler, the build type and {isa: compiler flags} of each core build in this wheel.
py::dict build_info() {
  py::dict flags;
#ifdef FASTLAYERS_FLAGS_AVX512
  flags["avx512"] = FASTLAYERS_FLAGS_AVX512;
#endif
#ifdef FASTLAYERS_FLAGS_AVX2
  flags["avx2"] = FASTLAYERS_FLAGS_AVX2;
#endif
#ifdef FASTLAYERS_FLAGS_BASELINE
  flags["baseline"] = FASTLAYERS_FLAGS_BASELINE;
#endif
  py::dict d;
  d["compiler"] = FASTLAYERS_COMPILER;
  d["build_type"] = FASTLAYERS_BUILD_TYPE;
  d["flags"] = flags;
  return d;
}

}  // namespace

PYBIND11_MODULE(_cpu, m) {
  m.doc() = "Which instruction sets this CPU (and its OS) supports, and how fastlayers was built.";
  m.def("has_avx2_fma", &fastlayers::cpu_has_avx2_fma, "True when the CPU and OS support AVX2 and FMA.");
  m.def("has_avx512", &fastlayers::cpu_has_avx512,
        "True when the CPU and OS support AVX-512 F, CD, VL, DQ and BW, with AVX2 and FMA (the avx512 core).");
  m.def("cpu_features", &cpu_features, "{extension name: supported} for this CPU, e.g. {'avx2': True, ...}.");
  m.def("build_info", &build_info,
        "{'compiler', 'build_type', 'flags': {instruction set: compiler flags}} of this wheel's core builds.");
}
