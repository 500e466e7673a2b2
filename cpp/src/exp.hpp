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
template <class Arg, class Out>
void exp_exact(const Arg& arg, Out&& out) {
  using T = typename Eigen::internal::remove_all<Out>::type::Scalar;
  out = arg.exp();
  if (out.size() > 0 && arg.minCoeff() < -kSubnormal<T>)
    for (Index i = 0; i < out.size(); ++i)
      if (arg.coeff(i) < -kSubnormal<T>) out.coeffRef(i) = std::exp(arg.coeff(i));
}

}  // namespace fastlayers::detail
