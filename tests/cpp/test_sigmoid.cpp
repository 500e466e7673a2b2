// Sigmoid: hand-computed values, saturation without NaN, the subnormal tail, gradient check,
// fast path vs scalar reference, in-place use.
#include "fastlayers/sigmoid.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "helpers.hpp"

namespace {

using namespace fltest;
using fastlayers::sigmoid_backward;
using fastlayers::sigmoid_backward_reference;
using fastlayers::sigmoid_forward;
using fastlayers::sigmoid_forward_reference;

template <class T>
class Sigmoid : public CoreTest {};
TYPED_TEST_SUITE(Sigmoid, Scalars);

// Tolerance of the vectorised exp against std::exp: a few ulp, and one step of the subnormal grid.
template <class T>
::testing::AssertionResult close_to_reference(const std::vector<T>& actual, const std::vector<T>& expected) {
  return all_close(actual, expected, 8 * kEps<T>, static_cast<double>(std::numeric_limits<T>::denorm_min()));
}

TYPED_TEST(Sigmoid, HandComputedForwardBackward) {
  using T = TypeParam;
  // sigmoid(0) = 1/2, sigmoid(ln 3) = 1 / (1 + 1/3) = 3/4, sigmoid(-ln 3) = 1/4, sigmoid(ln 9) = 9/10.
  const std::vector<T> x{T(0), static_cast<T>(std::log(3.0)), static_cast<T>(-std::log(3.0)),
                         static_cast<T>(std::log(9.0))};
  std::vector<T> y(4);
  sigmoid_forward(x.data(), y.data(), 4);
  EXPECT_TRUE(all_close(y, std::vector<double>{0.5, 0.75, 0.25, 0.9}, 4 * kEps<T>, 0));
  // dx = dout * (1 - y) * y with dout (1, 1, 2, 10): (1/4 * 1/2, 1/4 * 3/4, 2 * 3/4 * 1/4, 10 * 1/10 * 9/10).
  const std::vector<T> dout{1, 1, 2, 10};
  std::vector<T> dx(4);
  sigmoid_backward(dout.data(), y.data(), dx.data(), 4);
  EXPECT_TRUE(all_close(dx, std::vector<double>{0.25, 0.1875, 0.375, 0.9}, 8 * kEps<T>, 0));
}

TYPED_TEST(Sigmoid, SaturatesWithoutNaN) {
  using T = TypeParam;
  const T inf = std::numeric_limits<T>::infinity();
  const std::vector<T> x{T(1000), T(-1000), inf, -inf, T(-100), std::numeric_limits<T>::quiet_NaN()};
  std::vector<T> y(x.size());
  sigmoid_forward(x.data(), y.data(), static_cast<Index>(x.size()));
  EXPECT_EQ(y[0], T(1));  // 1 / (1 + exp(-1000)) rounds to exactly 1
  EXPECT_EQ(y[1], T(0));  // exp(-1000) underflows to 0, and 0 / (1 + 0) is 0, not 0/0
  EXPECT_EQ(y[2], T(1));
  EXPECT_EQ(y[3], T(0));
  // sigmoid(-100) = e / (1 + e) with e = exp(-100) = 3.720075976020836e-44: a normal double, and in
  // float a subnormal (27 steps of 2^-149), which must not be flushed to 0 or lost to the clamp in exp.
  const double want = std::exp(-100.0) / (1.0 + std::exp(-100.0));
  EXPECT_GT(y[4], T(0));
  EXPECT_NEAR(static_cast<double>(y[4]), want,
              std::max(4 * kEps<T> * want, static_cast<double>(std::numeric_limits<T>::denorm_min())));
  EXPECT_TRUE(std::isnan(y[5]));
  // The gradient is 0 where the output saturates, never NaN.
  const std::vector<T> dout(x.size(), T(1));
  std::vector<T> dx(x.size());
  sigmoid_backward(dout.data(), y.data(), dx.data(), static_cast<Index>(x.size()));
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(dx[i], T(0)) << "i = " << i;
  EXPECT_FALSE(std::isnan(dx[4]));
}

TYPED_TEST(Sigmoid, NegativeTailMatchesStdExp) {
  using T = TypeParam;
  // x from far below the underflow of exp (-104 float, -745 double) up to 0, on a fine grid: the
  // vectorised exp clamps its argument, so the subnormal tail has to come out like std::exp's.
  const double lo = sizeof(T) == 4 ? -110.0 : -760.0;
  const Index n = 2001;
  std::vector<T> x(usize(n));
  for (Index i = 0; i < n; ++i) x[usize(i)] = static_cast<T>(lo * (1.0 - static_cast<double>(i) / (n - 1)));
  std::vector<T> y(usize(n)), y_ref(usize(n));
  sigmoid_forward(x.data(), y.data(), n);
  sigmoid_forward_reference(x.data(), y_ref.data(), n);
  EXPECT_TRUE(close_to_reference(y, y_ref));
}

TYPED_TEST(Sigmoid, BackwardMatchesNumericalGradient) {
  using T = TypeParam;
  const Index n = 41;
  const std::vector<T> x = uniform<T>(n, -6, 6, 11);
  const std::vector<T> dout = uniform<T>(n, -1, 1, 12);
  // L(x) = sum(dout * sigmoid(x)), evaluated in double.
  auto loss = [&](const std::vector<double>& xd) {
    std::vector<double> y(xd.size());
    sigmoid_forward(xd.data(), y.data(), n);
    return dot(dout, y);
  };
  const std::vector<double> want = numerical_gradient(loss, cast<double>(x));
  std::vector<T> y(usize(n)), dx(usize(n));
  sigmoid_forward(x.data(), y.data(), n);
  sigmoid_backward(dout.data(), y.data(), dx.data(), n);
  EXPECT_TRUE(all_close(dx, want, kGradTol<T>, kGradTol<T>));
}

TYPED_TEST(Sigmoid, FastPathMatchesReference) {
  using T = TypeParam;
  const ThreadBudget threads(4);  // large sizes take the threaded path even on one core
  for (const Index n : elementwise_sizes()) {
    SCOPED_TRACE(::testing::Message() << "n = " << n);
    std::vector<T> x = uniform<T>(n, -30, 30, static_cast<std::uint64_t>(n));
    if (n > 5) {
      x[1] = T(0);
      x[2] = T(-1000);
      x[3] = T(1000);
      x[usize(n - 1)] = T(-100);
    }
    const std::vector<T> dout = uniform<T>(n, -1, 1, static_cast<std::uint64_t>(n) + 1);
    std::vector<T> y(usize(n)), y_ref(usize(n)), dx(usize(n)), dx_ref(usize(n));
    sigmoid_forward(x.data(), y.data(), n);
    sigmoid_forward_reference(x.data(), y_ref.data(), n);
    ASSERT_TRUE(close_to_reference(y, y_ref));
    // Backward is the same product in both, on the same y: exact.
    sigmoid_backward(dout.data(), y_ref.data(), dx.data(), n);
    sigmoid_backward_reference(dout.data(), y_ref.data(), dx_ref.data(), n);
    ASSERT_TRUE(all_equal(dx, dx_ref));
  }
}

TYPED_TEST(Sigmoid, SameResultAtAnyAlignment) {
  using T = TypeParam;
  // NumPy arrays start at any element offset; the vectorised exp must not compute the elements
  // before an aligned address differently.
  const Index n = 1001;
  std::vector<T> x = uniform<T>(n, -30, 30, 25);
  x[0] = T(-1000);
  x[1] = T(-100);
  const std::vector<T> dout = uniform<T>(n, -1, 1, 26);
  std::vector<T> want(usize(n)), want_dx(usize(n));
  sigmoid_forward(x.data(), want.data(), n);
  sigmoid_backward(dout.data(), want.data(), want_dx.data(), n);
  for (const std::size_t xo : {1, 2, 3, 5}) {
    for (const std::size_t oo : {0, 1, 7}) {
      SCOPED_TRACE(::testing::Message() << "x at +" << xo << ", out at +" << oo);
      const std::vector<T> xs = shifted(x, xo);
      std::vector<T> ys(oo + usize(n)), dxs(oo + usize(n));
      sigmoid_forward(xs.data() + xo, ys.data() + oo, n);
      EXPECT_TRUE(all_equal(unshifted(ys, oo), want));
      const std::vector<T> douts = shifted(dout, xo);
      sigmoid_backward(douts.data() + xo, ys.data() + oo, dxs.data() + oo, n);
      EXPECT_TRUE(all_equal(unshifted(dxs, oo), want_dx));
    }
  }
}

TYPED_TEST(Sigmoid, InPlaceMatchesOutOfPlace) {
  using T = TypeParam;
  const ThreadBudget threads(4);
  for (const Index n : {Index{0}, Index{1}, Index{300}, Index{100003}}) {
    SCOPED_TRACE(::testing::Message() << "n = " << n);
    const std::vector<T> x = uniform<T>(n, -10, 10, 21);
    const std::vector<T> dout = uniform<T>(n, -1, 1, 22);
    std::vector<T> y(usize(n)), dx(usize(n));
    sigmoid_forward(x.data(), y.data(), n);
    sigmoid_backward(dout.data(), y.data(), dx.data(), n);
    std::vector<T> buf = x;  // out over x
    sigmoid_forward(buf.data(), buf.data(), n);
    EXPECT_TRUE(all_equal(buf, y));
    buf = dout;  // dx over dout
    sigmoid_backward(buf.data(), y.data(), buf.data(), n);
    EXPECT_TRUE(all_equal(buf, dx));
    buf = y;  // dx over out
    sigmoid_backward(dout.data(), buf.data(), buf.data(), n);
    EXPECT_TRUE(all_equal(buf, dx));
  }
}

}  // namespace
