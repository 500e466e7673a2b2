// Vectorised exp for the kernels (private to the core's sources).
#pragma once

#include <Eigen/Core>
#include <cmath>

#include "fastlayers/common.hpp"

namespace fastlayers::detail {

// Below -kSubnormal<T> exp is subnormal (or 0), where Eigen's vectorised exp is not exact: it
// clamps its argument, so exp(-1000.0) came out as 5.6e-309. Those rare elements are redone
// with std::exp.
template <class T>
constexpr T kSubnormal = sizeof(T) == 4 ? T(87) : T(708);

// out = exp(arg), elementwise, correctly down to 0. `arg` is a 1-D Eigen array expression.
// `out` should be an aligned buffer: Eigen computes the elements before the first aligned
// address with the scalar exp, which would make results depend on memory placement.
template <class Arg, class Out>
void exp_exact(const Arg& arg, Out&& out) {
  using T = typename Eigen::internal::remove_all<Out>::type::Scalar;
  out = arg.exp();
  if (out.size() > 0 && arg.minCoeff() < -kSubnormal<T>)
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
