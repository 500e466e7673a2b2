// Vectorised exp for the kernels (private to the core's sources).
#pragma once

#include <Eigen/Core>
#include <cmath>
#include <cstddef>

#include "fastlayers/common.hpp"
#include "simd.hpp"

namespace fastlayers::detail {

// Below -kSubnormal<T> exp is subnormal (or 0), where Eigen's vectorised exp is not exact: it
// clamps its argument, so exp(-1000.0) came out as 5.6e-309. Those rare elements are redone
// with std::exp.
template <class T>
constexpr T kSubnormal = sizeof(T) == 4 ? T(87) : T(708);

// out = exp(arg), elementwise, correctly down to 0. `arg` is a 1-D Eigen array expression.
// `out` must not overlap the data `arg` reads (it is read again after out is written), and
// should be an aligned buffer: Eigen computes the elements before the first aligned
// address with the scalar exp, which would make results depend on memory placement.
template <class Arg, class Out>
void exp_exact(const Arg& arg, Out&& out) {
  using T = typename Eigen::internal::remove_all<Out>::type::Scalar;
  out = arg.exp();
  // PropagateNumbers: with the default, a NaN anywhere could make the minimum NaN and skip the redo.
  if (out.size() > 0 && arg.template minCoeff<Eigen::PropagateNumbers>() < -kSubnormal<T>)
    for (Index i = 0; i < out.size(); ++i)
      if (arg.coeff(i) < -kSubnormal<T>) out.coeffRef(i) = std::exp(arg.coeff(i));
}

// Sum of p[0..n) in an order fixed by n alone: eight interleaved partial sums, then the rest.
// Eigen's own sum peels elements up to the first aligned address, so its result would depend
// on where the array lives in memory.
template <class T>
T sum_fixed_order(const T* p, Index n) {
  T acc[8] = {};
  Index i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) acc[j] += p[i + j];
  T s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; i < n; ++i) s += p[i];
  return s;
}

// Elements per block of the kernels that stage values in an aligned local buffer.
constexpr Index kBlock = 256;

}  // namespace fastlayers::detail

#ifdef FASTLAYERS_SIMD
// The kernels of the avx2 and avx512 builds use their own exp below: Eigen 3.4's packet exp costs about 2.3
// cycles an element (float) here and made Sigmoid and softmax compute-bound (measured: Sigmoid
// 4096x1024 at 47% of memory bandwidth); its double exp was slower still.
#define FASTLAYERS_AVX2_EXP 1

namespace fastlayers::detail {

// exp_approx's constants for float: exp(x) in each lane for -kSubnormal<float> <= x <= 0 (normal
// results), under 1 ulp from the correctly rounded value (0.88 at most over every float of the range,
// against std::exp in long double; tests/cpp/test_exp.cpp checks every 31st).
// x = n ln2 + r with n = round(x / ln2), |r| <= ln2 / 2: adding 1.5 * 2^23 rounds x / ln2 to an
// integer held in the low mantissa bits of t, so t's bits shifted up by 23 are n's in the exponent
// field; ln2 is split into a 9-bit head, so n * head is exact, and a tail. exp(r) = 1 + r + r^2 q(r)
// with q of degree 4, fitted for the least maximal relative error over |r| <= ln2 / 2 (3.1e-9, a
// twentieth of an ulp; the Taylor series needs degree 7 for that); 2^n is added to the exponent
// field, exact as every result is normal. Nine multiply-adds a vector where the Taylor form with a
// rounding instruction and a final multiply took eleven, and this kernel is bound by the FMA ports
// (Sigmoid 1.3x faster). Lanes with x < -87, x > 0 or NaN are wrong (a NaN's payload would reach the
// exponent): exp_nonpositive below redoes them.
template <class T>
struct ExpApprox;

template <>
struct ExpApprox<float> {
  static constexpr float kShift = 12582912.0f;  // 1.5 * 2^23
  static constexpr float kLog2e = 1.44269504088896341f;
  static constexpr float kLn2Head = 0.693359375f;
  static constexpr float kLn2Tail = -2.12194440054690583e-4f;
  static constexpr int kDegree = 4;
  static constexpr float kQ[kDegree + 1] = {0x1.fffffcp-2f, 0x1.555492p-3f, 0x1.5558f2p-5f, 0x1.123a2p-7f,
                                            0x1.6a23cep-10f};
};

// The same for double, -kSubnormal<double> <= x <= 0: n by the 1.5 * 2^52 shift (t's bits shifted up
// by 52 are n's in the exponent field); ln2 split into a head with 32 trailing zero bits (n * head exact
// for |n| < 2^21) and a tail; exp(r) = 1 + r + r^2 q(r) with q of degree 9 fitted for the least maximal
// relative error over |r| <= ln2 / 2 (3.6e-18; the Taylor series needs degree 13 for 2e-17); 2^n added
// to the exponent field. Under 1 ulp: 0.93 at most over 200 million doubles of the range (0.90 with the
// Taylor form), with fourteen operations on the FMA ports where that took seventeen (float64 Sigmoid
// 1.2x faster). Lanes outside the range or NaN: as for float.
template <>
struct ExpApprox<double> {
  static constexpr double kShift = 6755399441055744.0;  // 1.5 * 2^52
  static constexpr double kLog2e = 1.4426950408889634074;
  static constexpr double kLn2Head = 6.93147180369123816490e-01;
  static constexpr double kLn2Tail = 1.90821492927058770002e-10;
  static constexpr int kDegree = 9;
  static constexpr double kQ[kDegree + 1] = {
      0x1.000000000000ap-1,  0x1.55555555554f9p-3,  0x1.555555555083cp-5,  0x1.1111111127d16p-7,
      0x1.6c16c184393d8p-10, 0x1.a01a012a0e148p-13, 0x1.a01999e0e4024p-16, 0x1.71df25b2f7c1fp-19,
      0x1.28ad9ce9004d4p-22, 0x1.ad7f42cfa11c2p-26};
};

// exp(x) by ExpApprox<T> in place on K vectors of V (Vec<T>, or Vec512<T> in the avx512 build), each
// step over all K before the next: the core then has K independent chains side by side in its window,
// where one vector's chain of dependent multiply-adds at a time left the FMA ports waiting (measured
// with K = 4 against one vector a call, in C++: Sigmoid's forward 100x50 float 1.62 -> 1.54 us, double
// 4.88 -> 4.26 us; SoftmaxWithLoss 256x1000 forward double 300 -> 255 us, float 106 -> 103 us). Every
// lane's operations are the same for any K and either vector width, so results depend on neither.
template <class V, std::size_t K>
[[gnu::always_inline]] inline void exp_approx(typename V::R (&x)[K]) {
  using C = ExpApprox<typename V::T>;
  using R = typename V::R;
  const R shift = V::set1(C::kShift);
  R t[K], r[K], p[K];
  for (std::size_t j = 0; j < K; ++j) t[j] = V::fma(x[j], V::set1(C::kLog2e), shift);
  for (std::size_t j = 0; j < K; ++j) {
    const R n = V::sub(t[j], shift);
    r[j] = V::fnma(n, V::set1(C::kLn2Head), x[j]);
    r[j] = V::fnma(n, V::set1(C::kLn2Tail), r[j]);
  }
  for (std::size_t j = 0; j < K; ++j) p[j] = V::set1(C::kQ[C::kDegree]);
  for (int k = C::kDegree - 1; k >= 0; --k)
    for (std::size_t j = 0; j < K; ++j) p[j] = V::fma(p[j], r[j], V::set1(C::kQ[k]));
  for (int k = 0; k < 2; ++k)
    for (std::size_t j = 0; j < K; ++j) p[j] = V::fma(p[j], r[j], V::set1(typename V::T(1)));
  for (std::size_t j = 0; j < K; ++j) x[j] = V::add_exponent(p[j], t[j]);
}

// e = exp_approx(x) with the lanes where x < -kSubnormal (subnormal or zero results, -inf) or NaN
// redone with std::exp. Rare, so out of line.
template <class V>
[[gnu::noinline, gnu::cold]] typename V::R exp_redo_tail(typename V::R x, typename V::R e) {
  using T = typename V::T;
  alignas(64) T xs[V::kWidth];
  alignas(64) T es[V::kWidth];
  V::store(xs, x);
  V::store(es, e);
  for (Index j = 0; j < V::kWidth; ++j)
    if (!(xs[j] >= -kSubnormal<T>)) es[j] = std::exp(xs[j]);
  return V::load(es);
}

// exp(x) for x <= 0 (and NaN) in each lane of K vectors of V, in place, exact down to 0 like exp_exact.
template <class T, class V = Vec<T>, std::size_t K>
[[gnu::always_inline]] inline void exp_nonpositive(typename V::R (&x)[K]) {
  typename V::R e[K];
  for (std::size_t j = 0; j < K; ++j) e[j] = x[j];
  exp_approx<V>(e);
  for (std::size_t j = 0; j < K; ++j)
    x[j] = V::any_below_or_nan(x[j], -kSubnormal<T>) ? exp_redo_tail<V>(x[j], e[j]) : e[j];
}

// The same for one vector.
template <class T, class V = Vec<T>>
[[gnu::always_inline]] inline typename V::R exp_nonpositive(typename V::R x) {
  typename V::R v[1] = {x};
  exp_nonpositive<T, V>(v);
  return v[0];
}

}  // namespace fastlayers::detail
#endif
