// The vector operations for the elementwise kernels (private to the core): one Vec<T> per element
// type (AVX2, 256 bits, in the avx2 and avx512 builds), so that each kernel is written once for float
// and double; Vec512<T> (AVX-512, in the avx512 build) with the same operations, where a kernel is
// written over its vector type too; and map_vectors, the loop every one-input kernel shares.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "fastlayers/common.hpp"

#if defined(__AVX2__) && defined(__FMA__)
#define FASTLAYERS_SIMD 1
#include <immintrin.h>

namespace fastlayers::detail {

// The first `bytes` bytes of v (a multiple of 4, below 32) to p, by 16-, 8- and 4-byte stores: a masked
// store (vmaskmovps/pd) is microcoded on AMD Zen (measured: one a row made short-row softmax twice as slow).
inline void store_first_bytes(void* p, __m256i v, Index bytes) {
  auto* out = static_cast<unsigned char*>(p);
  __m128i part = _mm256_castsi256_si128(v);
  if (bytes >= 16) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out), part);
    part = _mm256_extracti128_si256(v, 1);
    out += 16;
    bytes -= 16;
  }
  if (bytes >= 8) {
    _mm_storel_epi64(reinterpret_cast<__m128i*>(out), part);
    part = _mm_srli_si128(part, 8);
    out += 8;
    bytes -= 8;
  }
  if (bytes >= 4) _mm_storeu_si32(out, part);
}

template <class T>
struct Vec;

template <>
struct Vec<float> {
  using T = float;
  using R = __m256;
  static constexpr Index kWidth = 8;
  static constexpr Index kBytes = 32;
  static R load(const float* p) { return _mm256_loadu_ps(p); }
  static R load(const float* p, __m256i m) { return _mm256_maskload_ps(p, m); }
  static void store(float* p, R v) { _mm256_storeu_ps(p, v); }
  // The first n lanes (0 <= n < 8) to p (store_first_bytes above).
  static void store_first(float* p, R v, Index n) { store_first_bytes(p, _mm256_castps_si256(v), n * 4); }
  static void stream(float* p, R v) { _mm256_stream_ps(p, v); }
  static R set1(float v) { return _mm256_set1_ps(v); }
  static R add(R a, R b) { return _mm256_add_ps(a, b); }
  static R mul(R a, R b) { return _mm256_mul_ps(a, b); }
  static R fma(R a, R b, R c) { return _mm256_fmadd_ps(a, b, c); }    // a * b + c, one rounding
  static R fnma(R a, R b, R c) { return _mm256_fnmadd_ps(a, b, c); }  // c - a * b, one rounding
  // p * 2^n where t's low bits hold the integer n (exp_approx in exp.hpp): n added to p's exponent field.
  static R add_exponent(R p, R t) {
    return _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(p), _mm256_slli_epi32(_mm256_castps_si256(t), 23)));
  }
  static R sub(R a, R b) { return _mm256_sub_ps(a, b); }
  static R div(R a, R b) { return _mm256_div_ps(a, b); }
  static R max(R a, R b) { return _mm256_max_ps(a, b); }
  static R neg_abs(R x) { return _mm256_or_ps(x, _mm256_set1_ps(-0.0f)); }
  static R negative(R x) { return _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ); }
  static R not_positive(R x) { return _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LE_OQ); }
  // Whether any lane is below c or NaN.
  static bool any_below_or_nan(R x, float c) {
    return _mm256_movemask_ps(_mm256_cmp_ps(x, _mm256_set1_ps(c), _CMP_NGE_UQ)) != 0;
  }
  static int bits(R mask) { return _mm256_movemask_ps(mask); }
  static R nonzero(R v) { return _mm256_cmp_ps(v, _mm256_setzero_ps(), _CMP_NEQ_UQ); }  // NaN too, like !=
  static R select(R mask, R yes, R no) { return _mm256_blendv_ps(no, yes, mask); }
  static R zero_where(R mask, R v) { return _mm256_andnot_ps(mask, v); }
  static R keep(R v, __m256i m) { return _mm256_and_ps(v, _mm256_castsi256_ps(m)); }
  static R fill(R v, __m256i m, float other) {
    return _mm256_blendv_ps(_mm256_set1_ps(other), v, _mm256_castsi256_ps(m));
  }
  // Lanes where the bytes p[0..8) are nonzero (a bool mask).
  static R nonzero(const unsigned char* p) {
    std::int64_t bytes;
    std::memcpy(&bytes, p, sizeof bytes);
    const __m256i wide = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(bytes));
    return _mm256_castsi256_ps(_mm256_cmpgt_epi32(wide, _mm256_setzero_si256()));
  }
  // The first n lanes (0 <= n <= 8), for masked loads.
  static __m256i lanes(Index n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
};

template <>
struct Vec<double> {
  using T = double;
  using R = __m256d;
  static constexpr Index kWidth = 4;
  static constexpr Index kBytes = 32;
  static R load(const double* p) { return _mm256_loadu_pd(p); }
  static R load(const double* p, __m256i m) { return _mm256_maskload_pd(p, m); }
  static void store(double* p, R v) { _mm256_storeu_pd(p, v); }
  static void store_first(double* p, R v, Index n) { store_first_bytes(p, _mm256_castpd_si256(v), n * 8); }  // n < 4
  static void stream(double* p, R v) { _mm256_stream_pd(p, v); }
  static R set1(double v) { return _mm256_set1_pd(v); }
  static R add(R a, R b) { return _mm256_add_pd(a, b); }
  static R mul(R a, R b) { return _mm256_mul_pd(a, b); }
  static R fma(R a, R b, R c) { return _mm256_fmadd_pd(a, b, c); }
  static R fnma(R a, R b, R c) { return _mm256_fnmadd_pd(a, b, c); }
  static R add_exponent(R p, R t) {
    return _mm256_castsi256_pd(_mm256_add_epi64(_mm256_castpd_si256(p), _mm256_slli_epi64(_mm256_castpd_si256(t), 52)));
  }
  static R sub(R a, R b) { return _mm256_sub_pd(a, b); }
  static R div(R a, R b) { return _mm256_div_pd(a, b); }
  static R max(R a, R b) { return _mm256_max_pd(a, b); }
  static R neg_abs(R x) { return _mm256_or_pd(x, _mm256_set1_pd(-0.0)); }
  static R negative(R x) { return _mm256_cmp_pd(x, _mm256_setzero_pd(), _CMP_LT_OQ); }
  static R not_positive(R x) { return _mm256_cmp_pd(x, _mm256_setzero_pd(), _CMP_LE_OQ); }
  static bool any_below_or_nan(R x, double c) {
    return _mm256_movemask_pd(_mm256_cmp_pd(x, _mm256_set1_pd(c), _CMP_NGE_UQ)) != 0;
  }
  static int bits(R mask) { return _mm256_movemask_pd(mask); }
  static R nonzero(R v) { return _mm256_cmp_pd(v, _mm256_setzero_pd(), _CMP_NEQ_UQ); }
  static R select(R mask, R yes, R no) { return _mm256_blendv_pd(no, yes, mask); }
  static R zero_where(R mask, R v) { return _mm256_andnot_pd(mask, v); }
  static R keep(R v, __m256i m) { return _mm256_and_pd(v, _mm256_castsi256_pd(m)); }
  static R fill(R v, __m256i m, double other) {
    return _mm256_blendv_pd(_mm256_set1_pd(other), v, _mm256_castsi256_pd(m));
  }
  static R nonzero(const unsigned char* p) {
    std::int32_t bytes;
    std::memcpy(&bytes, p, sizeof bytes);
    const __m256i wide = _mm256_cvtepu8_epi64(_mm_cvtsi32_si128(bytes));
    return _mm256_castsi256_pd(_mm256_cmpgt_epi64(wide, _mm256_setzero_si256()));
  }
  static __m256i lanes(Index n) { return _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3)); }
};

// Elements before p + i reaches an `Align`-byte boundary (where a streaming store of that many bytes
// needs it), at most n; n when p is not even aligned to its element size.
template <Index Align = 32, class T>
Index to_aligned(const T* p, Index n) {
  const auto misalign = static_cast<Index>(reinterpret_cast<std::uintptr_t>(p) % Align);
  if (misalign % static_cast<Index>(sizeof(T)) != 0) return n;
  const Index k = misalign == 0 ? 0 : (Align - misalign) / static_cast<Index>(sizeof(T));
  return k < n ? k : n;
}

// y[i] = f(x[i]) a vector at a time. The last partial vector is loaded through a mask and stored by
// store_first, and so, with Stream, is the part before y's first vector-size boundary, the whole vectors
// then written with streaming stores (the caller ends with _mm_sfence); so every element takes the same
// path wherever it sits.
// y may be x. f transforms vectors in place: kRound at a time (an `R (&)[kRound]`), then the rest one at a
// time (an `R (&)[1]`), so a kernel bound by the latency of its exp and division, like Sigmoid's, can give
// the core kRound independent chains side by side (exp_approx in exp.hpp). V is Vec<T> or Vec512<T>.
constexpr std::size_t kRound = 4;

template <class T, bool Stream = false, class V = Vec<T>, class F>
void map_vectors(const T* x, T* y, Index n, F&& f) {
  using R = typename V::R;
  constexpr Index W = V::kWidth;
  auto one = [&f](R v) {
    R a[1] = {v};
    f(a);
    return a[0];
  };
  Index i = 0;
  if (Stream) {
    const Index head = to_aligned<V::kBytes>(y, n);
    if (head >= W) {  // y never aligned (and n >= W): plain stores
      map_vectors<T, false, V>(x, y, n, f);
      return;
    }
    if (head > 0) V::store_first(y, one(V::load(x, V::lanes(head))), head);
    i = head;
  }
  constexpr Index kRoundN = static_cast<Index>(kRound) * W;
  for (; i + kRoundN <= n; i += kRoundN) {
    R v[kRound];
    for (std::size_t j = 0; j < kRound; ++j) v[j] = V::load(x + i + static_cast<Index>(j) * W);
    f(v);
    for (std::size_t j = 0; j < kRound; ++j) {
      if (Stream)
        V::stream(y + i + static_cast<Index>(j) * W, v[j]);
      else
        V::store(y + i + static_cast<Index>(j) * W, v[j]);
    }
  }
  for (; i + W <= n; i += W) {
    if (Stream)
      V::stream(y + i, one(V::load(x + i)));
    else
      V::store(y + i, one(V::load(x + i)));
  }
  if (i < n) {
    const auto m = V::lanes(n - i);
    V::store_first(y + i, one(V::load(x + i, m)), n - i);
  }
}

#if defined(__AVX512F__) && defined(__AVX512DQ__)
// 512-bit vectors (the avx512 build), the operations the kernels written over their vector type use, each
// lane computed by the same instruction as in Vec<T> (so with the same result). Comparisons give mask
// registers, and the last partial vector is loaded and stored through one.
template <class T>
struct Vec512;

template <>
struct Vec512<float> {
  using T = float;
  using R = __m512;
  using Mask = __mmask16;
  static constexpr Index kWidth = 16;
  static constexpr Index kBytes = 64;
  static R load(const float* p) { return _mm512_loadu_ps(p); }
  static R load(const float* p, Mask m) { return _mm512_maskz_loadu_ps(m, p); }
  static void store(float* p, R v) { _mm512_storeu_ps(p, v); }
  static void store_first(float* p, R v, Index n) { _mm512_mask_storeu_ps(p, lanes(n), v); }
  static void stream(float* p, R v) { _mm512_stream_ps(p, v); }
  static R set1(float v) { return _mm512_set1_ps(v); }
  static R add(R a, R b) { return _mm512_add_ps(a, b); }
  static R mul(R a, R b) { return _mm512_mul_ps(a, b); }
  static R max(R a, R b) { return _mm512_max_ps(a, b); }
  static R div(R a, R b) { return _mm512_div_ps(a, b); }
  static R fma(R a, R b, R c) { return _mm512_fmadd_ps(a, b, c); }
  static R fnma(R a, R b, R c) { return _mm512_fnmadd_ps(a, b, c); }
  static R sub(R a, R b) { return _mm512_sub_ps(a, b); }
  static R add_exponent(R p, R t) {
    return _mm512_castsi512_ps(_mm512_add_epi32(_mm512_castps_si512(p), _mm512_slli_epi32(_mm512_castps_si512(t), 23)));
  }
  static R neg_abs(R x) { return _mm512_or_ps(x, _mm512_set1_ps(-0.0f)); }
  static Mask negative(R x) { return _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ); }
  static bool any_below_or_nan(R x, float c) { return _mm512_cmp_ps_mask(x, _mm512_set1_ps(c), _CMP_NGE_UQ) != 0; }
  static R select(Mask m, R yes, R no) { return _mm512_mask_blend_ps(m, no, yes); }
  static R keep(R v, Mask m) { return _mm512_maskz_mov_ps(m, v); }
  static R fill(R v, Mask m, float other) { return _mm512_mask_blend_ps(m, _mm512_set1_ps(other), v); }
  static Mask lanes(Index n) { return n >= kWidth ? Mask(0xFFFF) : static_cast<Mask>((1u << n) - 1u); }
};

template <>
struct Vec512<double> {
  using T = double;
  using R = __m512d;
  using Mask = __mmask8;
  static constexpr Index kWidth = 8;
  static constexpr Index kBytes = 64;
  static R load(const double* p) { return _mm512_loadu_pd(p); }
  static R load(const double* p, Mask m) { return _mm512_maskz_loadu_pd(m, p); }
  static void store(double* p, R v) { _mm512_storeu_pd(p, v); }
  static void store_first(double* p, R v, Index n) { _mm512_mask_storeu_pd(p, lanes(n), v); }
  static void stream(double* p, R v) { _mm512_stream_pd(p, v); }
  static R set1(double v) { return _mm512_set1_pd(v); }
  static R add(R a, R b) { return _mm512_add_pd(a, b); }
  static R mul(R a, R b) { return _mm512_mul_pd(a, b); }
  static R max(R a, R b) { return _mm512_max_pd(a, b); }
  static R div(R a, R b) { return _mm512_div_pd(a, b); }
  static R fma(R a, R b, R c) { return _mm512_fmadd_pd(a, b, c); }
  static R fnma(R a, R b, R c) { return _mm512_fnmadd_pd(a, b, c); }
  static R sub(R a, R b) { return _mm512_sub_pd(a, b); }
  static R add_exponent(R p, R t) {
    return _mm512_castsi512_pd(_mm512_add_epi64(_mm512_castpd_si512(p), _mm512_slli_epi64(_mm512_castpd_si512(t), 52)));
  }
  static R neg_abs(R x) { return _mm512_or_pd(x, _mm512_set1_pd(-0.0)); }
  static Mask negative(R x) { return _mm512_cmp_pd_mask(x, _mm512_setzero_pd(), _CMP_LT_OQ); }
  static bool any_below_or_nan(R x, double c) { return _mm512_cmp_pd_mask(x, _mm512_set1_pd(c), _CMP_NGE_UQ) != 0; }
  static R select(Mask m, R yes, R no) { return _mm512_mask_blend_pd(m, no, yes); }
  static R keep(R v, Mask m) { return _mm512_maskz_mov_pd(m, v); }
  static R fill(R v, Mask m, double other) { return _mm512_mask_blend_pd(m, _mm512_set1_pd(other), v); }
  static Mask lanes(Index n) { return n >= kWidth ? Mask(0xFF) : static_cast<Mask>((1u << n) - 1u); }
};

// The widest vectors of the build, for the kernels written over their vector type.
template <class T>
using Wide = Vec512<T>;
#else
template <class T>
using Wide = Vec<T>;
#endif

}  // namespace fastlayers::detail
#endif
