// A GEMM for small products (the AVX2 build only): C = A * B or C += A * B without Eigen's
// blocking machinery, whose fixed cost (working out the blocking, packing both operands) is most of
// the time of a product like the book's 100x50 @ 50x10 (~50k multiply-adds, a few microseconds).
//
// The tiles are few_rows_gemm's (few_rows_gemm.hpp: up to 6 rows by up to 8 vectors, each element a
// single chain of FMAs over p = 0, 1, ..., k-1 in order from zero, added to C last when accumulating),
// over B in place when its columns are contiguous, else over a copy of B packed row-major on the stack
// (dx = dout @ W.T reads W across its rows). So an element's value does not depend on where it sits in
// its tile, on the tiling, or on memory alignment, and a product has the same bits whichever of the two
// paths computes it.
#pragma once

#include "few_rows_gemm.hpp"

#if FASTLAYERS_SIMD
namespace fastlayers::detail {

// Largest B (elements) the small path takes: a strided B is packed on the stack.
constexpr Index kSmallGemmPanel = 8192;

// Whether small_gemm takes a B of k x cols.
inline bool small_gemm_fits(Index k, Index cols) { return k * cols <= kSmallGemmPanel; }

// C (rows x cols, row stride ldc) = A * B, or += when accumulate; small_gemm_fits(k, cols). A's element
// (i, p) is at a[i * ars + p * acs], B's (p, j) at b[p * brs + j * bcs]: any of the row-/column-major views
// and transposes Affine uses.
template <class T>
void small_gemm(T* c, Index ldc, Index rows, Index cols, Index k, const T* a, Index ars, Index acs, const T* b,
                Index brs, Index bcs, bool accumulate) {
  if (bcs == 1) {
    few_rows_gemm(c, ldc, rows, cols, k, a, ars, acs, b, brs, accumulate);
    return;
  }
  alignas(32) T panel[kSmallGemmPanel];
  for (Index p = 0; p < k; ++p)
    for (Index j = 0; j < cols; ++j) panel[p * cols + j] = b[p * brs + j * bcs];
  few_rows_gemm(c, ldc, rows, cols, k, a, ars, acs, panel, cols, accumulate);
}

}  // namespace fastlayers::detail
#endif
