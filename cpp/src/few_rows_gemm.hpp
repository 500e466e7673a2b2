// A GEMM for products with few rows (the AVX2 build only): C = A * B or C += A * B, B read in place
// (its columns contiguous), for an Affine forward on a small batch, such as x of 1 to 16 rows @ W.
//
// Eigen's GEMM packs B, the whole of W, on every call, and its register tiles are 12 or 24 rows tall, so a
// small batch pays the packing and leaves most of each tile empty (measured, float 8x784 @ 784x50: 10.5 us,
// NumPy 9 us with its call; 2x784 @ 784x50 10.4 us, more than for 8 rows). Here C is computed in tiles of MR
// rows by NV vectors of columns, each element a single chain of FMAs over p = 0, 1, ..., k-1 in order from
// zero, added to C last when accumulating: the same bits whatever the tile an element falls in, the tiling,
// the thread split or the memory alignment (small_gemm.hpp runs small products of any shape here). Rows are
// split into tiles of at most 6, as evenly as they go; NV is as wide as MR leaves registers for (8 vectors
// for one row, 6 for two, 3 for three or four, 2 for five or six: at least 8 independent chains, the FMA
// latency times its two ports, and at most 12 accumulators). Columns run in groups of NV vectors, the outer
// loop, so that a group's strip of B, read from memory once, serves every row tile from the cache. The last
// vector of a row of B or C, when the columns do not fill it, is read through a mask and written by
// store_first (a masked store is microcoded on AMD Zen).
#pragma once

#include "simd.hpp"

#if FASTLAYERS_SIMD
namespace fastlayers::detail {

// Most rows the few-rows path takes (see few_rows_pays in affine.cpp for when it pays).
constexpr Index kFewRowsMax = 16;
constexpr int kFewRowsTile = 6;  // most rows of one tile

// Vectors of columns a tile of mr rows computes at once.
constexpr int few_rows_vectors(Index mr) { return mr == 1 ? 8 : mr == 2 ? 6 : mr <= 4 ? 3 : 2; }

// One tile: MR rows of C from c, NV vectors of columns, the last holding `last` (1 to W) columns, read
// through a mask when Partial. A's element (m, p) is a[m * ars + p * acs]; B's row p starts at b + p * ldb.
template <class T, int MR, int NV, bool Partial>
inline void few_rows_tile(T* c, Index ldc, Index k, const T* a, Index ars, Index acs, const T* b, Index ldb,
                          Index last, bool accumulate) {
  using V = Vec<T>;
  using R = typename V::R;
  constexpr Index W = V::kWidth;
  R acc[MR][NV];
#pragma GCC unroll 8
  for (int m = 0; m < MR; ++m)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) acc[m][v] = V::set1(T(0));
  const __m256i lanes = V::lanes(last);
  for (Index p = 0; p < k; ++p, a += acs, b += ldb) {
    if constexpr (MR <= 2) {
      // Wide tiles: the row's broadcasts first, then one vector of B at a time (MR + 1 + MR * NV registers).
      R av[MR];
#pragma GCC unroll 8
      for (int m = 0; m < MR; ++m) av[m] = V::set1(a[m * ars]);
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) {
        const R bv = Partial && v == NV - 1 ? V::load(b + v * W, lanes) : V::load(b + v * W);
#pragma GCC unroll 8
        for (int m = 0; m < MR; ++m) acc[m][v] = V::fma(av[m], bv, acc[m][v]);
      }
    } else {
      // Tall tiles: the vectors of B first, then one broadcast at a time (NV + 1 + MR * NV registers).
      R bv[NV];
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) bv[v] = Partial && v == NV - 1 ? V::load(b + v * W, lanes) : V::load(b + v * W);
#pragma GCC unroll 8
      for (int m = 0; m < MR; ++m) {
        const R av = V::set1(a[m * ars]);
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) acc[m][v] = V::fma(av, bv[v], acc[m][v]);
      }
    }
  }
#pragma GCC unroll 8
  for (int m = 0; m < MR; ++m)
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) {
      T* out = c + m * ldc + v * W;
      R val = acc[m][v];
      if (Partial && v == NV - 1) {
        if (accumulate) val = V::add(V::load(out, lanes), val);
        V::store_first(out, val, last);
      } else {
        if (accumulate) val = V::add(V::load(out), val);
        V::store(out, val);
      }
    }
}

// A tile of MR rows and nv (1 to NV) vectors, the last with `last` columns.
template <class T, int MR, int NV>
inline void few_rows_tile_n(T* c, Index ldc, Index k, const T* a, Index ars, Index acs, const T* b, Index ldb,
                            Index nv, Index last, bool accumulate) {
  if (nv == NV) {
    if (last == Vec<T>::kWidth)
      few_rows_tile<T, MR, NV, false>(c, ldc, k, a, ars, acs, b, ldb, last, accumulate);
    else
      few_rows_tile<T, MR, NV, true>(c, ldc, k, a, ars, acs, b, ldb, last, accumulate);
  } else if constexpr (NV > 1) {
    few_rows_tile_n<T, MR, NV - 1>(c, ldc, k, a, ars, acs, b, ldb, nv, last, accumulate);
  }
}

// A tile of mr (1 to MR) rows.
template <class T, int MR = kFewRowsTile>
inline void few_rows_tile_mr(Index mr, T* c, Index ldc, Index k, const T* a, Index ars, Index acs, const T* b,
                             Index ldb, Index nv, Index last, bool accumulate) {
  if (mr == MR)
    few_rows_tile_n<T, MR, few_rows_vectors(MR)>(c, ldc, k, a, ars, acs, b, ldb, nv, last, accumulate);
  else if constexpr (MR > 1)
    few_rows_tile_mr<T, MR - 1>(mr, c, ldc, k, a, ars, acs, b, ldb, nv, last, accumulate);
}

// Share `i` of n split into `count` parts as evenly as they go, the larger parts first.
inline Index even_share(Index n, Index count, Index i) { return n / count + (i < n % count ? 1 : 0); }

// C (rows x cols, row stride ldc) = A * B, or += when accumulate; any number of rows (Affine sends it at most
// kFewRowsMax, small_gemm.hpp small products of any shape). A's element (i, p) is at a[i * ars + p * acs];
// B's (p, j) at b[p * ldb + j]. Reads A, B and C only inside their elements (the columns of the last partial
// vector through a mask).
template <class T>
void few_rows_gemm(T* c, Index ldc, Index rows, Index cols, Index k, const T* a, Index ars, Index acs, const T* b,
                   Index ldb, bool accumulate) {
  constexpr Index W = Vec<T>::kWidth;
  if (rows <= 0 || cols <= 0) return;
  const Index tiles = (rows + kFewRowsTile - 1) / kFewRowsTile;
  const Index nv_max = few_rows_vectors(even_share(rows, tiles, 0));  // the tallest tile's width
  const Index vectors = (cols + W - 1) / W;
  const Index groups = (vectors + nv_max - 1) / nv_max;
  Index v0 = 0;
  for (Index g = 0; g < groups; ++g) {
    const Index nv = even_share(vectors, groups, g);
    const Index end = (v0 + nv) * W < cols ? (v0 + nv) * W : cols;
    const Index last = end - (v0 + nv - 1) * W;
    Index i0 = 0;
    for (Index t = 0; t < tiles; ++t) {
      const Index mr = even_share(rows, tiles, t);
      few_rows_tile_mr<T>(mr, c + i0 * ldc + v0 * W, ldc, k, a + i0 * ars, ars, acs, b + v0 * W, ldb, nv, last,
                          accumulate);
      i0 += mr;
    }
    v0 += nv;
  }
}

}  // namespace fastlayers::detail
#endif
