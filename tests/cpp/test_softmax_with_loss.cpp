// SoftmaxWithLoss: the book's example by hand, soft targets, labels vs one-hot, logits of +-1e4,
// gradient check, and the kernels against a log-sum-exp reference computed here in double.
#include "fastlayers/softmax_with_loss.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <tuple>
#include <vector>

#include "fastlayers/softmax.hpp"
#include "helpers.hpp"

namespace {

using namespace fltest;
using fastlayers::softmax_rows_reference;
using fastlayers::softmax_with_loss_backward_labels;
using fastlayers::softmax_with_loss_backward_probs;
using fastlayers::softmax_with_loss_forward_labels;
using fastlayers::softmax_with_loss_forward_probs;

template <class T>
class SoftmaxWithLoss : public CoreTest {};
TYPED_TEST_SUITE(SoftmaxWithLoss, Scalars);

// mean_i sum_c t_ic (logsumexp(x_i) - x_ic) in double, terms with t_ic == 0 skipped.
template <class T>
double reference_loss(const std::vector<T>& x, Index n, Index c, const std::vector<T>& t) {
  double total = 0;
  for (Index i = 0; i < n; ++i) {
    const T* xr = x.data() + i * c;
    double m = -std::numeric_limits<double>::infinity();
    for (Index j = 0; j < c; ++j) m = std::max(m, static_cast<double>(xr[j]));
    double s = 0;
    for (Index j = 0; j < c; ++j) s += std::exp(static_cast<double>(xr[j]) - m);
    const double lse = m + std::log(s);
    for (Index j = 0; j < c; ++j) {
      const double tj = static_cast<double>(t[usize(i * c + j)]);
      if (tj != 0) total += tj * (lse - static_cast<double>(xr[j]));
    }
  }
  return total / static_cast<double>(n);
}

template <class T>
std::vector<T> logs(std::initializer_list<double> p) {
  std::vector<T> out;
  for (const double v : p) out.push_back(static_cast<T>(std::log(v)));
  return out;
}

TYPED_TEST(SoftmaxWithLoss, BookExampleByHand) {
  using T = TypeParam;
  // x = log(0.3, 0.2, 0.5) so y = softmax(x) = (0.3, 0.2, 0.5); t = (0, 1, 0):
  //   loss = -log(0.2) = 1.6094379124341003;   dx = (y - t) * dout / N = (0.3, -0.8, 0.5)
  const std::vector<T> x = logs<T>({0.3, 0.2, 0.5});
  const std::vector<std::int64_t> label{1};
  const std::vector<T> onehot{0, 1, 0};
  std::vector<T> y(3), y_probs(3), dx(3), dx_probs(3);
  const double tol = 8 * kEps<T>;
  EXPECT_NEAR(softmax_with_loss_forward_labels(x.data(), 1, 3, label.data(), y.data()), 1.6094379124341003, tol);
  EXPECT_NEAR(softmax_with_loss_forward_probs(x.data(), 1, 3, onehot.data(), y_probs.data()), 1.6094379124341003,
              tol);
  EXPECT_TRUE(all_close(y, std::vector<double>{0.3, 0.2, 0.5}, tol, 0));
  EXPECT_TRUE(all_close(y_probs, std::vector<double>{0.3, 0.2, 0.5}, tol, 0));
  softmax_with_loss_backward_labels(y.data(), 1, 3, label.data(), T(1), dx.data());
  softmax_with_loss_backward_probs(y_probs.data(), 1, 3, onehot.data(), T(1), dx_probs.data());
  EXPECT_TRUE(all_close(dx, std::vector<double>{0.3, -0.8, 0.5}, tol, 0));
  EXPECT_TRUE(all_close(dx_probs, std::vector<double>{0.3, -0.8, 0.5}, tol, 0));
}

// Regression: the labels loss read x[t] after softmax had overwritten it when y is x.
TYPED_TEST(SoftmaxWithLoss, InPlaceLabelsLossReadsLogitsFirst) {
  using T = TypeParam;
  const double tol = 8 * kEps<T>;
  std::vector<T> xy = logs<T>({0.3, 0.2, 0.5});
  const std::vector<std::int64_t> label{1};
  EXPECT_NEAR(softmax_with_loss_forward_labels(xy.data(), 1, 3, label.data(), xy.data()), 1.6094379124341003, tol);
  EXPECT_TRUE(all_close(xy, std::vector<double>{0.3, 0.2, 0.5}, tol, 0));
  softmax_with_loss_backward_labels(xy.data(), 1, 3, label.data(), T(1), xy.data());
  EXPECT_TRUE(all_close(xy, std::vector<double>{0.3, -0.8, 0.5}, tol, 0));
}

TYPED_TEST(SoftmaxWithLoss, BatchMeanAndScale) {
  using T = TypeParam;
  // Row 0 as above (loss -log 0.2); row 1: x = log(0.25, 0.25, 0.5), t = 2, loss -log 0.5.
  //   loss = (1.6094379124341003 + 0.6931471805599453) / 2 = 1.1512925464970227
  //   with dout = 3, scale = dout / N = 1.5:
  //   dx = 1.5 * [(0.3, 0.2 - 1, 0.5), (0.25, 0.25, 0.5 - 1)] = [(0.45, -1.2, 0.75), (0.375, 0.375, -0.75)]
  std::vector<T> x = logs<T>({0.3, 0.2, 0.5});
  const std::vector<T> x1 = logs<T>({0.25, 0.25, 0.5});
  x.insert(x.end(), x1.begin(), x1.end());
  const std::vector<std::int64_t> t{1, 2};
  std::vector<T> y(6), dx(6);
  EXPECT_NEAR(softmax_with_loss_forward_labels(x.data(), 2, 3, t.data(), y.data()), 1.1512925464970227,
              8 * kEps<T>);
  softmax_with_loss_backward_labels(y.data(), 2, 3, t.data(), T(1.5), dx.data());
  EXPECT_TRUE(all_close(dx, std::vector<double>{0.45, -1.2, 0.75, 0.375, 0.375, -0.75}, 8 * kEps<T>, 0));
}

TYPED_TEST(SoftmaxWithLoss, SoftTargetsByHand) {
  using T = TypeParam;
  // x = (0, 0), y = (1/2, 1/2), t = (1/4, 3/4): loss = (1/4 + 3/4) log 2 = 0.6931471805599453,
  // dx = y - t = (1/4, -1/4).
  const std::vector<T> x{0, 0};
  const std::vector<T> t{T(0.25), T(0.75)};
  std::vector<T> y(2), dx(2);
  EXPECT_NEAR(softmax_with_loss_forward_probs(x.data(), 1, 2, t.data(), y.data()), 0.6931471805599453, 4 * kEps<T>);
  softmax_with_loss_backward_probs(y.data(), 1, 2, t.data(), T(1), dx.data());
  EXPECT_TRUE(all_equal(dx, std::vector<T>{T(0.25), T(-0.25)}));
  // x = log(0.3, 0.2, 0.5), t = (1/2, 0, 1/2): loss = -(log 0.3 + log 0.5) / 2 = 0.9485599924429406.
  const std::vector<T> x3 = logs<T>({0.3, 0.2, 0.5});
  const std::vector<T> t3{T(0.5), T(0), T(0.5)};
  std::vector<T> y3(3);
  EXPECT_NEAR(softmax_with_loss_forward_probs(x3.data(), 1, 3, t3.data(), y3.data()), 0.9485599924429406,
              8 * kEps<T>);
}

TYPED_TEST(SoftmaxWithLoss, ZeroTargetSkipsMinusInfinityLogit) {
  using T = TypeParam;
  // x = (-inf, 0, 0), t = (0, 1, 0): y = (0, 1/2, 1/2) and loss = log 2; the term 0 * (lse - (-inf))
  // would be NaN, so it is skipped.
  const std::vector<T> x{-std::numeric_limits<T>::infinity(), 0, 0};
  const std::vector<T> t{0, 1, 0};
  std::vector<T> y(3);
  EXPECT_NEAR(softmax_with_loss_forward_probs(x.data(), 1, 3, t.data(), y.data()), 0.6931471805599453, 4 * kEps<T>);
  EXPECT_TRUE(all_equal(y, std::vector<T>{0, T(0.5), T(0.5)}));
}

TYPED_TEST(SoftmaxWithLoss, SparseTargetsAcrossSkippedRuns) {
  using T = TypeParam;
  // Targets at the edges of the 32-element runs the one-hot path skips, -0 elsewhere in some runs,
  // and a -inf logit wherever the target is zero: only the targeted logits may enter the loss.
  const Index c = 200;
  const T inf = std::numeric_limits<T>::infinity();
  std::vector<T> x(usize(c), -inf), t(usize(c), T(0));
  t[40] = T(-0.0);
  t[100] = T(-0.0);
  const double tv[] = {0.125, 0.25, 0.125, 0.25, 0.25};
  const Index at[] = {0, 31, 32, 63, c - 1};
  for (int k = 0; k < 5; ++k) {
    t[usize(at[k])] = static_cast<T>(tv[k]);
    x[usize(at[k])] = static_cast<T>(k);
  }
  const double want = reference_loss(std::vector<T>(x), 1, c, t);
  std::vector<T> y(usize(c));
  const double got = softmax_with_loss_forward_probs(x.data(), 1, c, t.data(), y.data());
  EXPECT_TRUE(std::isfinite(got));
  EXPECT_NEAR(got, want, 16 * kEps<T> * (1 + want));
}

TYPED_TEST(SoftmaxWithLoss, LogitsOfTenThousandGiveFiniteLoss) {
  using T = TypeParam;
  // Row 0: x = (1e4, -1e4), t = 1: lse = 1e4 + log(1 + e^-2e4) = 1e4, loss = 1e4 - (-1e4) = 2e4
  //        (the book's -log(y + 1e-7) would clip this to 16.1).
  // Row 1: same x, t = 0: loss = 0.   Row 2: x = (-1e4, -1e4), t = 0: loss = log 2.
  //   mean = (2e4 + 0 + log 2) / 3 = 6666.897715726853
  const std::vector<T> x{T(1e4), T(-1e4), T(1e4), T(-1e4), T(-1e4), T(-1e4)};
  const std::vector<std::int64_t> t{1, 0, 0};
  const std::vector<T> onehot = one_hot<T>(t, 2);
  std::vector<T> y(6), y_probs(6), dx(6);
  const double want = 6666.897715726853;
  const double loss = softmax_with_loss_forward_labels(x.data(), 3, 2, t.data(), y.data());
  EXPECT_NEAR(loss, want, 1e-12 * want);
  EXPECT_NEAR(softmax_with_loss_forward_probs(x.data(), 3, 2, onehot.data(), y_probs.data()), want, 1e-12 * want);
  EXPECT_TRUE(all_close(y, std::vector<double>{1, 0, 1, 0, 0.5, 0.5}, 2 * kEps<T>, 0));
  EXPECT_TRUE(all_equal(y_probs, y));
  // dx = (y - t) / 3:  row 0 (1, -1) / 3, row 1 (0, 0), row 2 (-1/2, 1/2) / 3.
  softmax_with_loss_backward_labels(y.data(), 3, 2, t.data(), T(1) / T(3), dx.data());
  const double third = 1.0 / 3.0;
  EXPECT_TRUE(all_close(dx, std::vector<double>{third, -third, 0, 0, -third / 2, third / 2}, 4 * kEps<T>, 0));
}

TYPED_TEST(SoftmaxWithLoss, LabelsAndOneHotAgree) {
  using T = TypeParam;
  const ThreadBudget threads(4);
  for (const auto& [n, c] : {std::tuple<Index, Index>{1, 1}, {37, 11}, {20000, 10}}) {
    SCOPED_TRACE(::testing::Message() << "n, c = " << n << ", " << c);
    const std::vector<T> x = uniform<T>(n * c, -8, 8, 91);
    const std::vector<std::int64_t> t = random_labels(n, c, 92);
    const std::vector<T> onehot = one_hot<T>(t, c);
    std::vector<T> y(x.size()), y_probs(x.size()), dx(x.size()), dx_probs(x.size());
    const double loss = softmax_with_loss_forward_labels(x.data(), n, c, t.data(), y.data());
    const double loss_probs = softmax_with_loss_forward_probs(x.data(), n, c, onehot.data(), y_probs.data());
    EXPECT_DOUBLE_EQ(loss, loss_probs);
    EXPECT_TRUE(all_equal(y, y_probs));
    const T scale = T(0.7) / static_cast<T>(n);
    softmax_with_loss_backward_labels(y.data(), n, c, t.data(), scale, dx.data());
    softmax_with_loss_backward_probs(y.data(), n, c, onehot.data(), scale, dx_probs.data());
    EXPECT_TRUE(all_equal(dx, dx_probs));
  }
}

TYPED_TEST(SoftmaxWithLoss, SameResultAtAnyAlignment) {
  using T = TypeParam;
  const Index n = 6, c = 37;
  const std::vector<T> x = uniform<T>(n * c, -10, 10, 95);
  const std::vector<std::int64_t> t = random_labels(n, c, 96);
  std::vector<T> want_y(x.size());
  const double want = softmax_with_loss_forward_labels(x.data(), n, c, t.data(), want_y.data());
  for (const std::size_t xo : {1, 2, 5}) {
    for (const std::size_t yo : {0, 1, 3}) {
      SCOPED_TRACE(::testing::Message() << "x at +" << xo << ", y at +" << yo);
      const std::vector<T> xs = shifted(x, xo);
      std::vector<T> ys(yo + x.size());
      EXPECT_EQ(softmax_with_loss_forward_labels(xs.data() + xo, n, c, t.data(), ys.data() + yo), want);
      EXPECT_TRUE(all_equal(unshifted(ys, yo), want_y));
    }
  }
}

TYPED_TEST(SoftmaxWithLoss, BackwardMatchesNumericalGradient) {
  using T = TypeParam;
  const Index n = 4, c = 5;
  const double dout = 1.3;
  const std::vector<T> x = uniform<T>(n * c, -3, 3, 101);
  const std::vector<std::int64_t> labels = random_labels(n, c, 102);
  // Soft targets: positive rows normalised to sum 1, one exact zero.
  std::vector<T> soft = uniform<T>(n * c, 0.1, 1, 103);
  soft[3] = T(0);
  for (Index i = 0; i < n; ++i) {
    T s = 0;
    for (Index j = 0; j < c; ++j) s += soft[usize(i * c + j)];
    for (Index j = 0; j < c; ++j) soft[usize(i * c + j)] /= s;
  }
  const std::vector<double> soft_d = cast<double>(soft);
  // L(x) = dout * loss(x), evaluated in double; backward gets scale = dout / N.
  auto loss_labels = [&](const std::vector<double>& xd) {
    std::vector<double> y(xd.size());
    return dout * softmax_with_loss_forward_labels(xd.data(), n, c, labels.data(), y.data());
  };
  auto loss_probs = [&](const std::vector<double>& xd) {
    std::vector<double> y(xd.size());
    return dout * softmax_with_loss_forward_probs(xd.data(), n, c, soft_d.data(), y.data());
  };
  const T scale = static_cast<T>(dout / static_cast<double>(n));
  std::vector<T> y(x.size()), dx(x.size());
  softmax_with_loss_forward_labels(x.data(), n, c, labels.data(), y.data());
  softmax_with_loss_backward_labels(y.data(), n, c, labels.data(), scale, dx.data());
  EXPECT_TRUE(all_close(dx, numerical_gradient(loss_labels, cast<double>(x)), kGradTol<T>, kGradTol<T>));
  softmax_with_loss_forward_probs(x.data(), n, c, soft.data(), y.data());
  softmax_with_loss_backward_probs(y.data(), n, c, soft.data(), scale, dx.data());
  EXPECT_TRUE(all_close(dx, numerical_gradient(loss_probs, cast<double>(x)), kGradTol<T>, kGradTol<T>));
}

TYPED_TEST(SoftmaxWithLoss, FastPathMatchesReference) {
  using T = TypeParam;
  const ThreadBudget threads(4);
  const std::tuple<Index, Index> shapes[] = {{1, 1},  {1, 7},      {3, 17},      {64, 10},
                                             {13, 33}, {1, 100003}, {20000, 10}, {1000, 129}};
  std::uint64_t seed = 110;
  for (const auto& [n, c] : shapes) {
    SCOPED_TRACE(::testing::Message() << "n, c = " << n << ", " << c);
    const std::vector<T> x = uniform<T>(n * c, -10, 10, ++seed);
    const std::vector<std::int64_t> labels = random_labels(n, c, ++seed);
    const std::vector<T> onehot = one_hot<T>(labels, c);
    std::vector<T> y(x.size()), y_ref(x.size()), dx(x.size());
    // The loss is formed in double from a softmax sum in T: its error is that of the sum.
    const double tol = (8 + 4 * std::sqrt(static_cast<double>(c))) * kEps<T>;
    const double want = reference_loss(x, n, c, onehot);
    EXPECT_NEAR(softmax_with_loss_forward_labels(x.data(), n, c, labels.data(), y.data()), want, tol * (1 + want));
    softmax_rows_reference(x.data(), n, c, y_ref.data());
    EXPECT_TRUE(all_close(y, y_ref, tol, 0));
    // The same targets one-hot, and dense soft targets (every row's target loop runs in full).
    std::vector<T> y_probs(x.size());
    EXPECT_NEAR(softmax_with_loss_forward_probs(x.data(), n, c, onehot.data(), y_probs.data()), want,
                tol * (1 + want));
    EXPECT_TRUE(all_equal(y_probs, y));
    std::vector<T> soft = uniform<T>(n * c, 0, 1, ++seed);
    const double want_soft = reference_loss(x, n, c, soft);
    EXPECT_NEAR(softmax_with_loss_forward_probs(x.data(), n, c, soft.data(), y_probs.data()), want_soft,
                tol * (1 + want_soft) * static_cast<double>(c));
    // dx = (y - onehot) * scale, the same operations in T: exact.
    const T scale = T(2) / static_cast<T>(n);
    softmax_with_loss_backward_labels(y.data(), n, c, labels.data(), scale, dx.data());
    std::vector<T> want_dx(x.size());
    for (std::size_t k = 0; k < x.size(); ++k) want_dx[k] = (y[k] - onehot[k]) * scale;
    EXPECT_TRUE(all_equal(dx, want_dx));
  }
}

TYPED_TEST(SoftmaxWithLoss, BackwardOverYAndEmptyBatch) {
  using T = TypeParam;
  const Index n = 9, c = 4;
  const std::vector<T> x = uniform<T>(n * c, -3, 3, 121);
  const std::vector<std::int64_t> t = random_labels(n, c, 122);
  std::vector<T> y(x.size()), dx(x.size());
  softmax_with_loss_forward_labels(x.data(), n, c, t.data(), y.data());
  softmax_with_loss_backward_labels(y.data(), n, c, t.data(), T(0.5), dx.data());
  // dx written over y (the kernel reads y[t] before overwriting the row).
  std::vector<T> buf = y;
  softmax_with_loss_backward_labels(buf.data(), n, c, t.data(), T(0.5), buf.data());
  EXPECT_TRUE(all_equal(buf, dx));
  // N = 0: nothing is read or written.
  const T sentinel = T(-7);
  T guard = sentinel;
  softmax_with_loss_backward_labels(y.data(), 0, c, t.data(), T(1), &guard);
  softmax_with_loss_backward_probs(y.data(), 0, c, y.data(), T(1), &guard);
  EXPECT_EQ(guard, sentinel);
}

}  // namespace
