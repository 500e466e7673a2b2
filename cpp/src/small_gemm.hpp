// A GEMM for small products (the AVX2 build only): C = A * B or C += A * B without Eigen's
// blocking machinery, whose fixed cost (working out the blocking, packing both operands) is most of
// the time of a product like the book's 100x50 @ 50x10 (~50k multiply-adds, a few microseconds).
//
// B is copied once into a row-major panel whose width is padded with zeros to whole vectors; C is
// then computed in tiles of up to 6 rows by 2 vectors (12 accumulators, enough independent FMA
// chains to hide their latency), each element a single chain of FMAs over p = 0, 1, ..., k-1 in
// order, added to C last when accumulating. So an element's value does not depend on where it sits
// in its tile, on the tiling, or on memory alignment (unaligned loads and stores throughout).
#pragma once

#include "simd.hpp"

#if FASTLAYERS_SIMD
namespace fastlayers::detail {

// Largest packed B (elements) the small path takes: it lives on the stack.
constexpr Index kSmallGemmPanel = 8192;

// One tile: rows [i0, i0 + MR), vectors [j0, j0 + NV * W) of C.
template <class T, int MR, int NV>
inline void small_gemm_tile(T* c, Index ldc, Index cols, Index k, const T* a, Index ars, Index acs, const T* bp,
                            Index ldb, Index j0, bool accumulate) {
  using V = Vec<T>;
  using R = typename V::R;
  constexpr Index W = V::kWidth;
  R acc[MR][NV];
#pragma GCC unroll 8
  for (int m = 0; m < MR; ++m)
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) acc[m][v] = V::set1(T(0));
  const T* arow[MR];
#pragma GCC unroll 8
  for (int m = 0; m < MR; ++m) arow[m] = a + m * ars;
  const T* b = bp + j0;
  for (Index p = 0; p < k; ++p, b += ldb) {
    R bv[NV];
#pragma GCC unroll 2
    for (int v = 0; v < NV; ++v) bv[v] = V::load(b + v * W);
    const Index ap = p * acs;
#pragma GCC unroll 8
    for (int m = 0; m < MR; ++m) {
      const R av = V::set1(arow[m][ap]);
#pragma GCC unroll 2
      for (int v = 0; v < NV; ++v) acc[m][v] = V::fma(av, bv[v], acc[m][v]);
    }
  }
#pragma GCC unroll 2
  for (int v = 0; v < NV; ++v) {
    const Index j = j0 + v * W;
    const Index valid = cols - j < W ? cols - j : W;
    if (valid <= 0) break;
    const __m256i lanes = V::lanes(valid);
#pragma GCC unroll 8
    for (int m = 0; m < MR; ++m) {
      T* out = c + m * ldc + j;
      R val = acc[m][v];
      if (valid == W) {
        if (accumulate) val = V::add(V::load(out), val);
        V::store(out, val);
      } else {
        if (accumulate) val = V::add(V::load(out, lanes), val);
        V::store_first(out, val, valid);
      }
    }
  }
}

// The last rows - i < 6 rows of a column panel: one tile of exactly that height.
template <class T, int NV, int MR = 5>
inline void small_gemm_rest(T* c, Index ldc, Index rest, Index cols, Index k, const T* a, Index ars, Index acs,
                            const T* bp, Index ldb, Index j0, bool accumulate) {
  if (rest == MR)
    small_gemm_tile<T, MR, NV>(c, ldc, cols, k, a, ars, acs, bp, ldb, j0, accumulate);
  else if constexpr (MR > 1)
    small_gemm_rest<T, NV, MR - 1>(c, ldc, rest, cols, k, a, ars, acs, bp, ldb, j0, accumulate);
}

template <class T, int NV>
inline void small_gemm_rows(T* c, Index ldc, Index rows, Index cols, Index k, const T* a, Index ars, Index acs,
                            const T* bp, Index ldb, Index j0, bool accumulate) {
  constexpr int MR = 6;
  Index i = 0;
  for (; i + MR <= rows; i += MR)
    small_gemm_tile<T, MR, NV>(c + i * ldc, ldc, cols, k, a + i * ars, ars, acs, bp, ldb, j0, accumulate);
  small_gemm_rest<T, NV>(c + i * ldc, ldc, rows - i, cols, k, a + i * ars, ars, acs, bp, ldb, j0, accumulate);
}

// C (rows x cols, row stride ldc) = A * B, or += when accumulate. A's element (i, p) is at
// a[i * ars + p * acs], B's (p, j) at b[p * brs + j * bcs]: any of the row-/column-major views and
// transposes Affine uses. Returns false, computing nothing, when B is too large for the small path.
template <class T>
bool small_gemm(T* c, Index ldc, Index rows, Index cols, Index k, const T* a, Index ars, Index acs, const T* b,
                Index brs, Index bcs, bool accumulate) {
  constexpr Index W = Vec<T>::kWidth;
  const Index ldb = (cols + W - 1) / W * W;
  if (k * ldb > kSmallGemmPanel) return false;
  alignas(32) T panel[kSmallGemmPanel];
  for (Index p = 0; p < k; ++p) {
    T* dst = panel + p * ldb;
    const T* src = b + p * brs;
    if (bcs == 1)  // the contiguous case apart, so the compiler vectorises the copy
      for (Index j = 0; j < cols; ++j) dst[j] = src[j];
    else
      for (Index j = 0; j < cols; ++j) dst[j] = src[j * bcs];
    for (Index j = cols; j < ldb; ++j) dst[j] = T(0);
  }
  Index j0 = 0;
  for (; j0 + 2 * W <= ldb; j0 += 2 * W)
    small_gemm_rows<T, 2>(c, ldc, rows, cols, k, a, ars, acs, panel, ldb, j0, accumulate);
  if (j0 < ldb) small_gemm_rows<T, 1>(c, ldc, rows, cols, k, a, ars, acs, panel, ldb, j0, accumulate);
  return true;
}

}  // namespace fastlayers::detail
#endif
