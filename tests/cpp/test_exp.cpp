// The kernels' exp (fastlayers/exp.hpp) against std::exp in double: the AVX2 build's own float exp
// and Eigen's everywhere else, on dense sweeps of the domain, the subnormal tail and specials.
#include "fastlayers/exp.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "helpers.hpp"

namespace {

using namespace fltest;
using fastlayers::exp_nonpositive;

template <class T>
class Exp : public CoreTest {};
TYPED_TEST_SUITE(Exp, Scalars);

// The AVX2 and AVX-512 builds' own exp (simd.hpp); the baseline build uses Eigen's.
template <class T>
bool own_exp() {
  return simd_core();
}

// Error of got against exp(x) in units of the last place of the correctly rounded T.
template <class T>
double ulp_error(T x, T got) {
  const long double want = std::exp(static_cast<long double>(x));
  const auto rounded = static_cast<T>(want);
  const long double ulp = static_cast<long double>(std::nextafter(rounded, std::numeric_limits<T>::infinity())) -
                          static_cast<long double>(rounded);
  return static_cast<double>(std::fabs(static_cast<long double>(got) - want) / ulp);
}

// x from -0 down to the last normal result, by bit pattern: every `step`th T.
template <class T>
std::vector<T> sweep(std::uint64_t step) {
  using U = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
  const T lo_value = sizeof(T) == 4 ? T(-87) : T(-708);
  U lo, u;
  std::memcpy(&lo, &lo_value, sizeof lo);
  const T neg_zero = T(-0.0);
  std::memcpy(&u, &neg_zero, sizeof u);
  std::vector<T> xs;
  for (; u <= lo; u = static_cast<U>(u + step)) {
    T x;
    std::memcpy(&x, &u, sizeof x);
    xs.push_back(x);
    if (lo - u < step) break;
  }
  xs.push_back(lo_value);
  return xs;
}

TYPED_TEST(Exp, WithinAnUlpOfTheCorrectlyRoundedValue) {
  using T = TypeParam;
  // float: every 31st of the 1.1e9 floats in [-87, -0]; double: 2e6 values spread over [-708, -0] by
  // bit pattern. The AVX2 exp stays under 1 ulp (0.88 at most over every float of the range);
  // Eigen's measured 1.27 (float) and 1.42 ulp (double) here.
  const double bound = own_exp<T>() ? 1.0 : 2.0;
  const std::vector<T> x = sizeof(T) == 4 ? sweep<T>(31) : sweep<T>(std::uint64_t{1} << 51 >> 10);
  std::vector<T> y(x.size());
  exp_nonpositive(x.data(), y.data(), static_cast<Index>(x.size()));
  double worst = 0;
  T worst_x = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double e = ulp_error(x[i], y[i]);
    if (e > worst) {
      worst = e;
      worst_x = x[i];
    }
  }
  EXPECT_LT(worst, bound) << x.size() << " values, worst at x = " << worst_x << " (" << core_isa() << " core)";
  EXPECT_EQ(y.front(), T(1));
}

TYPED_TEST(Exp, SubnormalTailAndSpecials) {
  using T = TypeParam;
  const T inf = std::numeric_limits<T>::infinity();
  const T nan = std::numeric_limits<T>::quiet_NaN();
  // Below the last normal result exp is subnormal or 0: std::exp's values, bit for bit, next to
  // ordinary elements in the same vector.
  const double lo = sizeof(T) == 4 ? -110.0 : -760.0;
  const double hi = sizeof(T) == 4 ? -86.0 : -707.0;
  std::vector<T> x;
  for (double v = lo; v < hi; v += 0.03125) {
    x.push_back(static_cast<T>(v));
    x.push_back(T(-1));
  }
  // NaNs whose payload fills the low mantissa bits (the float exp takes 2^n from low mantissa bits
  // of a value computed from x), of either sign, before the specials the end of the test checks.
  for (const bool negative : {false, true}) {
    using U = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
    U bits;
    const T q = negative ? -nan : nan;
    std::memcpy(&bits, &q, sizeof bits);
    bits |= 0x1ff;
    T payload;
    std::memcpy(&payload, &bits, sizeof payload);
    for (int k = 0; k < 8; ++k) x.push_back(k % 2 == 0 ? payload : T(-0.5));
  }
  for (T s : {-inf, nan, T(-0.0), T(0.0), T(-1000), T(-1e-30)}) x.push_back(s);
  std::vector<T> y(x.size());
  exp_nonpositive(x.data(), y.data(), static_cast<Index>(x.size()));
  const T last_normal = sizeof(T) == 4 ? T(-87) : T(-708);
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (std::isnan(x[i])) {
      EXPECT_TRUE(std::isnan(y[i]));
    } else if (x[i] < last_normal) {
      EXPECT_EQ(y[i], std::exp(x[i])) << "x = " << x[i];
    } else {
      EXPECT_LT(ulp_error(x[i], y[i]), own_exp<T>() ? 1.0 : 2.0) << "x = " << x[i];
    }
  }
  EXPECT_EQ(y[y.size() - 6], T(0));  // -inf
  EXPECT_EQ(y[y.size() - 4], T(1));  // -0
  EXPECT_EQ(y[y.size() - 3], T(1));  // +0
  EXPECT_EQ(y[y.size() - 2], T(0));  // -1000
}

TYPED_TEST(Exp, SameResultAtAnyOffsetAndLength) {
  using T = TypeParam;
  // Each element comes out the same whatever its position, alignment and the array's length (the
  // last partial vector is masked, not done by a scalar loop).
  if (!own_exp<T>()) GTEST_SKIP() << "Eigen's exp computes a block's last partial packet with the scalar exp";
  const std::vector<T> x = uniform<T>(203, -90, 0, 5);
  std::vector<T> want(x.size());
  exp_nonpositive(x.data(), want.data(), static_cast<Index>(x.size()));
  for (const std::size_t off : {1, 3, 7}) {
    const std::size_t lengths[] = {1, 5, 8, 9, 31, 200 - off};
    for (const std::size_t len : lengths) {
      std::vector<T> y(len + 2, T(-7));
      exp_nonpositive(x.data() + off, y.data() + 1, static_cast<Index>(len));
      for (std::size_t i = 0; i < len; ++i) ASSERT_EQ(y[i + 1], want[off + i]) << "off " << off << " len " << len;
      EXPECT_EQ(y[0], T(-7));  // nothing written outside
      EXPECT_EQ(y[len + 1], T(-7));
    }
  }
}

}  // namespace
