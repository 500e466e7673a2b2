// The last few columns of a product whose A has contiguous rows (the AVX2 build only): the 50 = 48 + 2
// outputs of the book's 100x784 @ 784x50 forward.
//
// Eigen computes a row-major out = A * B as out.T = B.T * A.T and vectorises along out's columns, a whole
// packet (8 floats, 4 doubles) at a time; the columns after the last whole packet go through its edge loops,
// one column at about a third of the speed of the others (measured: 100x784 @ 784xM in float on one core,
// 75 us at M = 48, 85 us at 50, 89 us at 52, 103 us at 55; 56 again 89). Here those last q columns are dot
// products along A's rows instead: B's q columns are copied once into contiguous, zero-padded rows, and a
// tile of R rows of A by the q columns keeps R * q vectors of partial sums.
//
// Each element is the same computation wherever it sits: lane l of its accumulator sums A(i, p) * B(p, j)
// over p = l, l + W, l + 2W, ... by FMA in order (the last vector of A's row loaded through a mask, its
// missing lanes 0, B's padding 0), the lanes are then added in a fixed tree, and the sum is added to out
// last when accumulating. So results do not depend on the tile, the row split, the thread count or memory
// alignment.
#pragma once

#include <utility>

#include "fastlayers/common.hpp"
#include "simd.hpp"

#if FASTLAYERS_SIMD
namespace fastlayers::detail {

inline float lane_sum(__m256 v) {
  const __m128 h = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));  // l + (l + 4)
  const __m128 q = _mm_add_ps(h, _mm_movehl_ps(h, h));                                    // (0+4)+(2+6), ...
  return _mm_cvtss_f32(_mm_add_ss(q, _mm_movehdup_ps(q)));
}

inline double lane_sum(__m256d v) {
  const __m128d h = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
  return _mm_cvtsd_f64(_mm_add_sd(h, _mm_unpackhi_pd(h, h)));
}

// Rows [0, R) of A (row stride lda) by the Q packed columns (bq: Q rows of kp >= k elements, zero from k on).
template <class T, int R, int Q>
inline void dot_tile(T* c, Index ldc, Index k, const T* a, Index lda, const T* bq, Index kp, bool accumulate) {
  using V = Vec<T>;
  using Reg = typename V::R;
  constexpr Index W = V::kWidth;
  Reg acc[R][Q];
#pragma GCC unroll 8
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 8
    for (int j = 0; j < Q; ++j) acc[i][j] = V::set1(T(0));
  const Index kw = k / W * W;
  for (Index p = 0; p < kw; p += W) {
    Reg bv[Q];
#pragma GCC unroll 8
    for (int j = 0; j < Q; ++j) bv[j] = V::load(bq + j * kp + p);
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i) {
      const Reg av = V::load(a + i * lda + p);
#pragma GCC unroll 8
      for (int j = 0; j < Q; ++j) acc[i][j] = V::fma(av, bv[j], acc[i][j]);
    }
  }
  if (kw < k) {
    const __m256i lanes = V::lanes(k - kw);
    Reg bv[Q];
#pragma GCC unroll 8
    for (int j = 0; j < Q; ++j) bv[j] = V::load(bq + j * kp + kw);
#pragma GCC unroll 8
    for (int i = 0; i < R; ++i) {
      const Reg av = V::load(a + i * lda + kw, lanes);
#pragma GCC unroll 8
      for (int j = 0; j < Q; ++j) acc[i][j] = V::fma(av, bv[j], acc[i][j]);
    }
  }
#pragma GCC unroll 8
  for (int i = 0; i < R; ++i)
#pragma GCC unroll 8
    for (int j = 0; j < Q; ++j) {
      const T s = lane_sum(acc[i][j]);
      T& out = c[i * ldc + j];
      out = accumulate ? out + s : s;
    }
}

// Tiles of R rows (R * Q partial sums: at most 12 of the 16 vector registers), then single rows.
template <class T, int Q>
inline void dot_rows(T* c, Index ldc, Index rows, Index k, const T* a, Index lda, const T* bq, Index kp,
                     bool accumulate) {
  constexpr int R = Q == 1 ? 6 : 12 / Q < 6 ? 12 / Q : 6;
  Index i = 0;
  for (; i + R <= rows; i += R) dot_tile<T, R, Q>(c + i * ldc, ldc, k, a + i * lda, lda, bq, kp, accumulate);
  for (; i < rows; ++i) dot_tile<T, 1, Q>(c + i * ldc, ldc, k, a + i * lda, lda, bq, kp, accumulate);
}

template <class T, int... Qs>
inline void dot_rows_q(std::integer_sequence<int, Qs...>, Index q, T* c, Index ldc, Index rows, Index k,
                       const T* a, Index lda, const T* bq, Index kp, bool accumulate) {
  ((q == Qs + 1 ? dot_rows<T, Qs + 1>(c, ldc, rows, k, a, lda, bq, kp, accumulate) : void()), ...);
}

// The length of a packed column of B: k rounded up to whole vectors.
template <class T>
Index dot_cols_padded(Index k) {
  constexpr Index W = Vec<T>::kWidth;
  return (k + W - 1) / W * W;
}

// C[i, j] (+)= sum over p of A(i, p) B(p, j) for rows [0, rows) and the q < W columns of C starting at c:
// A(i, p) at a[i * lda + p], B(p, j) at b[p * brs + j * bcs]; bq is scratch for q * dot_cols_padded(k)
// elements.
template <class T>
void dot_cols(T* c, Index ldc, Index rows, Index q, Index k, const T* a, Index lda, const T* b, Index brs, Index bcs,
              T* bq, bool accumulate) {
  const Index kp = dot_cols_padded<T>(k);
  for (Index j = 0; j < q; ++j) {
    T* dst = bq + j * kp;
    const T* src = b + j * bcs;
    for (Index p = 0; p < k; ++p) dst[p] = src[p * brs];
    for (Index p = k; p < kp; ++p) dst[p] = T(0);
  }
  dot_rows_q<T>(std::make_integer_sequence<int, Vec<T>::kWidth - 1>{}, q, c, ldc, rows, k, a, lda, bq, kp,
                accumulate);
}

}  // namespace fastlayers::detail
#endif
