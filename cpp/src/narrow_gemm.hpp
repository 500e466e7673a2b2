// A GEMM for outputs with few columns whose A has contiguous columns (the AVX2 build only): the
// dW = x.T @ dout of a layer with few outputs, such as the book's 784x50 dW1 (x.T is 784x100, x read in
// place; dout is 100x50).
//
// Eigen packs both operands and vectorises along the 50 (48 in whole panels, the last 2 in its slow edge
// loops). Here vectors run down A's columns (the 784, contiguous in x's rows) and B's elements are
// broadcast from where they are, so neither operand is packed and no lane is wasted; a tile of 2 vectors
// by 4-6 columns keeps 8-12 independent FMA chains in flight. A tile is written to a small buffer,
// transposed and stored into C's rows.
//
// Each element of C is one chain of FMAs over p = 0, 1, ..., k-1 in order, added to C last when
// accumulating, whichever tile, row split or thread computes it: the rows after the last whole tile are
// copied into a zero-padded strip and run through the same tiles. So results do not depend on the
// thread count, the split or memory alignment (unaligned loads and stores throughout).
#pragma once

#include "simd.hpp"

#if FASTLAYERS_SIMD
namespace fastlayers::detail {

// The columns of C this path takes: at most kNarrowMaxCols (a tile's buffer holds a whole row), at least
// kNarrowMinCols (fewer gives too few independent FMA chains). When it pays is the caller's choice (affine.cpp).
constexpr Index kNarrowMaxCols = 64;
constexpr Index kNarrowMinCols = 4;
static_assert(kNarrowMinCols >= 4, "narrow_tile_cols has tiles of 3 to 6 columns only");
// The inner dimension runs in blocks of this many, so that a tile's strip of A (kNarrowBlockK cache lines)
// stays in the L1 cache while the tiles of the other columns read it again: without the blocks, float at
// 784x50 fell from 1.15x Eigen at k = 100 to 0.9x at k = 150 (blocks of 32 or 100: within noise of 64).
constexpr Index kNarrowBlockK = 64;

// Rows of C one tile covers: two vectors.
template <class T>
constexpr Index kNarrowRows = 2 * Vec<T>::kWidth;

inline bool narrow_gemm_fits(Index cols) { return cols >= kNarrowMinCols && cols <= kNarrowMaxCols; }

// Columns [c0, c0 + MC) of the tile whose strip of A starts at a (A(i, p) at a[i + p * acs], i below
// kNarrowRows) over one block of k: buf[(c0 + j) * kNarrowRows + i] = sum over p of A(i, p) * B(p, c0 + j),
// the FMA chains starting from 0 in the first block and from buf's sums of the blocks before otherwise.
template <class T, int MC>
inline void narrow_tile(const T* a, Index acs, Index k, const T* b, Index brs, Index bcs, Index c0, T* buf,
                        bool first) {
  using V = Vec<T>;
  using R = typename V::R;
  constexpr Index W = V::kWidth, JB = kNarrowRows<T>;
  R acc0[MC], acc1[MC];
#pragma GCC unroll 6
  for (int j = 0; j < MC; ++j) {
    acc0[j] = first ? V::set1(T(0)) : V::load(buf + (c0 + j) * JB);
    acc1[j] = first ? V::set1(T(0)) : V::load(buf + (c0 + j) * JB + W);
  }
  const T* bp = b + c0 * bcs;
  for (Index p = 0; p < k; ++p, a += acs, bp += brs) {
    const R x0 = V::load(a), x1 = V::load(a + W);
#pragma GCC unroll 6
    for (int j = 0; j < MC; ++j) {
      const R bb = V::set1(bp[j * bcs]);
      acc0[j] = V::fma(x0, bb, acc0[j]);
      acc1[j] = V::fma(x1, bb, acc1[j]);
    }
  }
#pragma GCC unroll 6
  for (int j = 0; j < MC; ++j) {
    V::store(buf + (c0 + j) * JB, acc0[j]);
    V::store(buf + (c0 + j) * JB + W, acc1[j]);
  }
}

// A tile of `width` columns: 3 to 6, as narrow_gemm splits at least kNarrowMinCols = 4 columns (7 is the
// one count that gives a tile of 3: 4 + 3).
template <class T>
inline void narrow_tile_cols(int width, const T* a, Index acs, Index k, const T* b, Index brs, Index bcs, Index c0,
                             T* buf, bool first) {
  switch (width) {
    case 3: narrow_tile<T, 3>(a, acs, k, b, brs, bcs, c0, buf, first); break;
    case 4: narrow_tile<T, 4>(a, acs, k, b, brs, bcs, c0, buf, first); break;
    case 5: narrow_tile<T, 5>(a, acs, k, b, brs, bcs, c0, buf, first); break;
    default: narrow_tile<T, 6>(a, acs, k, b, brs, bcs, c0, buf, first); break;
  }
}

// In-register transposes of a square block of vectors: r[q] holds column q on entry, row q on return.
inline void transpose_block(__m256 (&r)[8]) {
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
  r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
  r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
  r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
  r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
  r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
  r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
  r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

inline void transpose_block(__m256d (&r)[4]) {
  const __m256d t0 = _mm256_unpacklo_pd(r[0], r[1]), t1 = _mm256_unpackhi_pd(r[0], r[1]);
  const __m256d t2 = _mm256_unpacklo_pd(r[2], r[3]), t3 = _mm256_unpackhi_pd(r[2], r[3]);
  r[0] = _mm256_permute2f128_pd(t0, t2, 0x20);
  r[1] = _mm256_permute2f128_pd(t1, t3, 0x20);
  r[2] = _mm256_permute2f128_pd(t0, t2, 0x31);
  r[3] = _mm256_permute2f128_pd(t1, t3, 0x31);
}

// Rows [0, nrows) of the tile in buf (column-major, kNarrowRows a column) to C's rows c, c + ldc, ...
template <class T>
inline void narrow_store(const T* buf, Index nrows, Index cols, T* c, Index ldc, bool accumulate) {
  using V = Vec<T>;
  using R = typename V::R;
  constexpr Index W = V::kWidth, JB = kNarrowRows<T>;
  Index j = 0;
  for (; j + W <= cols; j += W)
    for (Index h = 0; h < JB && h < nrows; h += W) {
      R r[W];
#pragma GCC unroll 8
      for (Index q = 0; q < W; ++q) r[q] = V::load(buf + (j + q) * JB + h);
      transpose_block(r);
      for (Index q = 0; q < W && h + q < nrows; ++q) {
        T* out = c + (h + q) * ldc + j;
        V::store(out, accumulate ? V::add(V::load(out), r[q]) : r[q]);
      }
    }
  for (; j < cols; ++j)
    for (Index i = 0; i < nrows; ++i) {
      T* out = c + i * ldc + j;
      *out = accumulate ? *out + buf[j * JB + i] : buf[j * JB + i];
    }
}

// C (rows x cols, row stride ldc) = A * B, or += when accumulate, where A's element (i, p) is at
// a[i + p * acs] and B's (p, j) at b[p * brs + j * bcs]; narrow_gemm_fits(cols) must hold, and k >= 1.
template <class T>
void narrow_gemm(T* c, Index ldc, Index rows, Index cols, Index k, const T* a, Index acs, const T* b, Index brs,
                 Index bcs, bool accumulate) {
  constexpr Index JB = kNarrowRows<T>;
  alignas(32) T buf[kNarrowMaxCols * JB];
  // Columns in q tiles of near-equal width, 6 at most: 50 = 5 x 6 + 4 x 5.
  const Index q = (cols + 5) / 6, base = cols / q, wider = cols % q;
  // Rows [i, i + nrows) of C, nrows <= JB, over the inner dimension in blocks of kNarrowBlockK (the tiles
  // carry their sums from one block to the next in buf). Short row groups read a zero-padded copy of A.
  auto tile_rows = [&](Index i, Index nrows) {
    alignas(32) T strip[kNarrowBlockK * JB];
    for (Index p0 = 0; p0 < k; p0 += kNarrowBlockK) {
      const Index kb = k - p0 < kNarrowBlockK ? k - p0 : kNarrowBlockK;
      const T* src = a + i + p0 * acs;
      Index src_cs = acs;
      if (nrows < JB) {
        for (Index p = 0; p < kb; ++p) {
          for (Index m = 0; m < nrows; ++m) strip[p * JB + m] = src[p * acs + m];
          for (Index m = nrows; m < JB; ++m) strip[p * JB + m] = T(0);
        }
        src = strip;
        src_cs = JB;
      }
      Index c0 = 0;
      for (Index t = 0; t < q; ++t) {
        const Index width = base + (t < wider ? 1 : 0);
        narrow_tile_cols<T>(static_cast<int>(width), src, src_cs, kb, b + p0 * brs, brs, bcs, c0, buf, p0 == 0);
        c0 += width;
      }
    }
    narrow_store(buf, nrows, cols, c + i * ldc, ldc, accumulate);
  };
  Index i = 0;
  for (; i + JB <= rows; i += JB) tile_rows(i, JB);
  if (i < rows) tile_rows(i, rows - i);
}

}  // namespace fastlayers::detail
#endif
