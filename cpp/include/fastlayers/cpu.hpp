// Which instruction-set builds of the core this CPU (and its OS) can run: "baseline", "avx2" (AVX2 and
// FMA) and "avx512" (AVX-512 F, CD, VL, DQ and BW, with AVX2 and FMA). Header-only and free of
// intrinsics, so the code that includes it (the _cpu module, the C++ tests and benchmarks) is compiled
// for the baseline and runs anywhere. GCC's and Clang's checks include the OS's: libgcc reads XCR0 and
// reports AVX and AVX-512 only where the OS saves their registers.
#pragma once

#include <string_view>

namespace fastlayers {

inline bool cpu_has_avx2_fma() {
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
  return false;
#endif
}

inline bool cpu_has_avx512() {
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
  __builtin_cpu_init();
  return cpu_has_avx2_fma() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512bw");
#else
  return false;
#endif
}

// Whether this CPU can run the core built for `isa` (a FASTLAYERS_ISA value).
inline bool cpu_runs_isa(std::string_view isa) {
  if (isa == "baseline") return true;
  if (isa == "avx2") return cpu_has_avx2_fma();
  if (isa == "avx512") return cpu_has_avx512();
  return false;
}

}  // namespace fastlayers
