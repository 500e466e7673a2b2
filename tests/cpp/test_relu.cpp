// ReLU: hand-computed values, the mask at 0 and NaN, gradient check, fast path vs scalar reference.
#include "fastlayers/relu.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "helpers.hpp"

namespace {

using namespace fltest;
using fastlayers::relu_backward;
using fastlayers::relu_backward_reference;
using fastlayers::relu_forward;
using fastlayers::relu_forward_reference;

template <class T>
class Relu : public CoreTest {};
TYPED_TEST_SUITE(Relu, Scalars);

// bool vectors are packed, so masks live in a plain array of bool.
struct Mask {
  explicit Mask(Index n) : v(new bool[usize(n) + 1]) {}
  ~Mask() { delete[] v; }
  Mask(const Mask&) = delete;
  Mask& operator=(const Mask&) = delete;
  bool* v;
};

TYPED_TEST(Relu, HandComputedForwardBackward) {
  using T = TypeParam;
  // The book's example x = [[1.0, -0.5], [-2.0, 3.0]] -> mask [[F, T], [T, F]], y = [[1, 0], [0, 3]].
  const std::vector<T> x{T(1.0), T(-0.5), T(-2.0), T(3.0)};
  std::vector<T> y(4);
  Mask mask(4);
  relu_forward(x.data(), y.data(), mask.v, 4);
  EXPECT_TRUE(all_equal(y, std::vector<T>{1, 0, 0, 3}));
  EXPECT_FALSE(mask.v[0]);
  EXPECT_TRUE(mask.v[1]);
  EXPECT_TRUE(mask.v[2]);
  EXPECT_FALSE(mask.v[3]);
  // dx = dout where x > 0, else 0: dout (5, 6, 7, 8) -> (5, 0, 0, 8).
  const std::vector<T> dout{5, 6, 7, 8};
  std::vector<T> dx(4);
  relu_backward(dout.data(), mask.v, dx.data(), 4);
  EXPECT_TRUE(all_equal(dx, std::vector<T>{5, 0, 0, 8}));
}

TYPED_TEST(Relu, MaskAtZeroAndNaN) {
  using T = TypeParam;
  const T nan = std::numeric_limits<T>::quiet_NaN();
  const T inf = std::numeric_limits<T>::infinity();
  const T tiny = std::numeric_limits<T>::denorm_min();
  // x <= 0 is masked: +0 and -0 are, NaN is not (NaN <= 0 is false) and passes through.
  const std::vector<T> x{T(0), -T(0), nan, -inf, inf, tiny, -tiny};
  const bool want_mask[] = {true, true, false, true, false, false, true};
  const Index n = static_cast<Index>(x.size());
  std::vector<T> y(x.size());
  Mask mask(n);
  relu_forward(x.data(), y.data(), mask.v, n);
  for (std::size_t i = 0; i < x.size(); ++i) EXPECT_EQ(mask.v[i], want_mask[i]) << "x[" << i << "] = " << x[i];
  EXPECT_EQ(y[0], T(0));
  EXPECT_FALSE(std::signbit(y[1])) << "relu(-0) is written as +0";
  EXPECT_TRUE(std::isnan(y[2]));
  EXPECT_EQ(y[3], T(0));
  EXPECT_EQ(y[4], inf);
  EXPECT_EQ(y[5], tiny);
  EXPECT_EQ(y[6], T(0));
  // Gradient 0 at exactly 0 (the book's x <= 0), dout passes at NaN.
  const std::vector<T> dout(x.size(), T(2));
  std::vector<T> dx(x.size());
  relu_backward(dout.data(), mask.v, dx.data(), n);
  EXPECT_TRUE(all_equal(dx, std::vector<T>{0, 0, 2, 0, 2, 2, 0}));
}

TYPED_TEST(Relu, BackwardMatchesNumericalGradient) {
  using T = TypeParam;
  const Index n = 37;
  // Keep x away from the kink at 0, where the central difference straddles it.
  std::vector<T> x = uniform<T>(n, -2, 2, 1);
  for (auto& v : x)
    if (std::abs(v) < T(0.05)) v = T(0.5);
  const std::vector<T> dout = uniform<T>(n, -1, 1, 2);
  // L(x) = sum(dout * relu(x)), evaluated in double.
  auto loss = [&](const std::vector<double>& xd) {
    std::vector<double> y(xd.size());
    Mask m(n);
    relu_forward(xd.data(), y.data(), m.v, n);
    return dot(dout, y);
  };
  const std::vector<double> want = numerical_gradient(loss, cast<double>(x));
  std::vector<T> y(usize(n));
  std::vector<T> dx(usize(n));
  Mask mask(n);
  relu_forward(x.data(), y.data(), mask.v, n);
  relu_backward(dout.data(), mask.v, dx.data(), n);
  EXPECT_TRUE(all_close(dx, want, kGradTol<T>, kGradTol<T>));
}

TYPED_TEST(Relu, FastPathMatchesReference) {
  using T = TypeParam;
  const ThreadBudget threads(4);  // large sizes take the threaded path even on one core
  for (const Index n : elementwise_sizes()) {
    SCOPED_TRACE(::testing::Message() << "n = " << n);
    std::vector<T> x = uniform<T>(n, -1, 1, static_cast<std::uint64_t>(n));
    for (Index i = 0; i < n; i += 7) x[usize(i)] = T(0);
    if (n > 3) x[usize(n / 2)] = std::numeric_limits<T>::quiet_NaN();
    const std::vector<T> dout = uniform<T>(n, -1, 1, static_cast<std::uint64_t>(n) + 1);
    std::vector<T> y(usize(n)), y_ref(usize(n)), dx(usize(n)), dx_ref(usize(n));
    Mask mask(n), mask_ref(n);
    relu_forward(x.data(), y.data(), mask.v, n);
    relu_forward_reference(x.data(), y_ref.data(), mask_ref.v, n);
    ASSERT_TRUE(all_equal(y, y_ref));
    ASSERT_TRUE(std::equal(mask.v, mask.v + n, mask_ref.v));
    relu_backward(dout.data(), mask.v, dx.data(), n);
    relu_backward_reference(dout.data(), mask_ref.v, dx_ref.data(), n);
    ASSERT_TRUE(all_equal(dx, dx_ref));
  }
}

TYPED_TEST(Relu, InPlaceMatchesOutOfPlace) {
  using T = TypeParam;
  const ThreadBudget threads(4);
  for (const Index n : {Index{0}, Index{17}, Index{100003}}) {
    SCOPED_TRACE(::testing::Message() << "n = " << n);
    const std::vector<T> x = uniform<T>(n, -1, 1, 7);
    const std::vector<T> dout = uniform<T>(n, -1, 1, 8);
    std::vector<T> y(usize(n)), dx(usize(n));
    Mask mask(n), mask_inplace(n);
    relu_forward(x.data(), y.data(), mask.v, n);
    relu_backward(dout.data(), mask.v, dx.data(), n);
    std::vector<T> buf = x;  // y = relu(x) over x itself
    relu_forward(buf.data(), buf.data(), mask_inplace.v, n);
    EXPECT_TRUE(all_equal(buf, y));
    EXPECT_TRUE(std::equal(mask.v, mask.v + n, mask_inplace.v));
    buf = dout;  // dx over dout itself
    relu_backward(buf.data(), mask.v, buf.data(), n);
    EXPECT_TRUE(all_equal(buf, dx));
  }
}

}  // namespace
