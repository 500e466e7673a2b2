// softmax_rows, the book's cross_entropy_error on labels, argmax_rows and first_bad_label.
#include "fastlayers/softmax.hpp"

#include <cmath>
#include <cstdint>
#include <limits>
#include <tuple>
#include <vector>

#include "helpers.hpp"

namespace {

using namespace fltest;
using fastlayers::argmax_rows;
using fastlayers::cross_entropy_labels;
using fastlayers::first_bad_label;
using fastlayers::row_argmax;
using fastlayers::softmax_rows;
using fastlayers::softmax_rows_reference;

template <class T>
class Softmax : public CoreTest {};
TYPED_TEST_SUITE(Softmax, Scalars);

template <class T>
std::vector<T> softmax(const std::vector<T>& x, Index rows, Index cols) {
  std::vector<T> y(x.size());
  softmax_rows(x.data(), rows, cols, y.data());
  return y;
}

TYPED_TEST(Softmax, HandComputed) {
  using T = TypeParam;
  // Row 0: x = log(0.3, 0.2, 0.5) sums to 1 after exp, so softmax gives back (0.3, 0.2, 0.5).
  // Row 1: the book's softmax([0.3, 2.9, 4.0]) = [0.01821127, 0.24519181, 0.73659691].
  const std::vector<T> x{static_cast<T>(std::log(0.3)), static_cast<T>(std::log(0.2)), static_cast<T>(std::log(0.5)),
                         T(0.3), T(2.9), T(4.0)};
  const std::vector<T> y = softmax(x, 2, 3);
  EXPECT_TRUE(all_close(
      y, std::vector<double>{0.3, 0.2, 0.5, 0.01821127329554753, 0.24519181293507392, 0.7365969137693786},
      16 * kEps<T>, 0));
}

TYPED_TEST(Softmax, LargeLogitsDoNotOverflow) {
  using T = TypeParam;
  // exp(1e4) overflows any float type; after subtracting the row max every exponent is <= 0:
  //   (1e4, 1e4, 1e4) -> 1/3 each;  (1e4, -1e4, 0) -> (1, 0, 0);  (-1e4, -1e4, -1e4) -> 1/3 each.
  const std::vector<T> x{T(1e4), T(1e4), T(1e4), T(1e4), T(-1e4), T(0), T(-1e4), T(-1e4), T(-1e4)};
  const std::vector<T> y = softmax(x, 3, 3);
  const double third = 1.0 / 3.0;
  EXPECT_TRUE(all_close(y, std::vector<double>{third, third, third, 1, 0, 0, third, third, third}, 4 * kEps<T>, 0));
  // Shift invariance: softmax(z + 1e4) = softmax(z), up to rounding z + 1e4 to T.
  const std::vector<T> z = uniform<T>(20, -5, 5, 71);
  std::vector<T> shifted(z.size());
  for (std::size_t i = 0; i < z.size(); ++i) shifted[i] = z[i] + T(1e4);
  EXPECT_TRUE(all_close(softmax(shifted, 2, 10), softmax(z, 2, 10), 4e4 * kEps<T>, 0));
}

TYPED_TEST(Softmax, FastPathMatchesReference) {
  using T = TypeParam;
  const ThreadBudget threads(4);
  // (0, 5) empty; single and odd columns; one long row; many rows (200k and 257k elements: threaded).
  const std::tuple<Index, Index> shapes[] = {{0, 5},  {1, 1},   {1, 7},      {3, 17},    {64, 10},
                                             {13, 33}, {5, 257}, {1, 100003}, {20000, 10}, {1000, 257}};
  for (const auto& [rows, cols] : shapes) {
    SCOPED_TRACE(::testing::Message() << "rows, cols = " << rows << ", " << cols);
    const std::vector<T> x = uniform<T>(rows * cols, -10, 10, static_cast<std::uint64_t>(rows * cols));
    const std::vector<T> y = softmax(x, rows, cols);
    std::vector<T> y_ref(x.size());
    softmax_rows_reference(x.data(), rows, cols, y_ref.data());
    // A few ulp from exp, plus the two sums of `cols` positive terms, accumulated in different orders.
    const double rtol = (8 + 4 * std::sqrt(static_cast<double>(cols))) * kEps<T>;
    ASSERT_TRUE(all_close(y, y_ref, rtol, 0));
    for (Index i = 0; i < rows; ++i) {
      double s = 0;
      for (Index j = 0; j < cols; ++j) s += static_cast<double>(y[usize(i * cols + j)]);
      ASSERT_NEAR(s, 1.0, rtol) << "row " << i;
    }
  }
}

TYPED_TEST(Softmax, SameResultAtAnyAlignment) {
  using T = TypeParam;
  // Rows of 5 and 300 columns, so rows start at every alignment, and the buffers too.
  for (const auto& [rows, cols] : {std::tuple<Index, Index>{7, 5}, {3, 300}}) {
    const std::vector<T> x = uniform<T>(rows * cols, -10, 10, 75);
    const std::vector<T> want = softmax(x, rows, cols);
    for (const std::size_t xo : {1, 3}) {
      for (const std::size_t yo : {0, 1, 2}) {
        SCOPED_TRACE(::testing::Message() << "cols " << cols << ", x at +" << xo << ", y at +" << yo);
        const std::vector<T> xs = shifted(x, xo);
        std::vector<T> ys(yo + x.size());
        softmax_rows(xs.data() + xo, rows, cols, ys.data() + yo);
        EXPECT_TRUE(all_equal(unshifted(ys, yo), want));
      }
    }
  }
}

TYPED_TEST(Softmax, InPlaceMatchesOutOfPlace) {
  using T = TypeParam;
  const ThreadBudget threads(4);
  for (const auto& [rows, cols] : {std::tuple<Index, Index>{1, 1}, {3, 17}, {20000, 10}}) {
    SCOPED_TRACE(::testing::Message() << "rows, cols = " << rows << ", " << cols);
    std::vector<T> x = uniform<T>(rows * cols, -10, 10, 81);
    const std::vector<T> y = softmax(x, rows, cols);
    softmax_rows(x.data(), rows, cols, x.data());
    EXPECT_TRUE(all_equal(x, y));
  }
}

// Regression: in place (x == y, which softmax.hpp allows), a row whose logits lie further apart than
// exp's subnormal threshold (87 in float, 708 in double) came out NaN or wrong: exp_exact re-read its
// argument x - max after the exp had overwritten x.
TYPED_TEST(Softmax, InPlaceWithFarApartLogits) {
  using T = TypeParam;
  const T far = sizeof(T) == 4 ? T(100) : T(1000);
  // softmax(far, 0) = (1, exp(-far)) and softmax(0, -far) = (1, exp(-far)); exp(-far) is 0 or subnormal.
  std::vector<T> x{far, T(0), T(0), -far};
  const std::vector<T> y = softmax(x, 2, 2);
  const double tail = static_cast<double>(std::exp(-far));
  const double tiny = static_cast<double>(std::numeric_limits<T>::denorm_min());
  EXPECT_TRUE(all_close(y, std::vector<double>{1, tail, 1, tail}, 0, tiny));
  softmax_rows(x.data(), 2, 2, x.data());
  EXPECT_TRUE(all_close(x, std::vector<double>{1, tail, 1, tail}, 0, tiny));
}

TYPED_TEST(Softmax, CrossEntropyOnLabelsHandComputed) {
  using T = TypeParam;
  // The book's example y; cross_entropy_error = -log(y[t] + 1e-7):
  //   t = 2: -log(0.6 + 1e-7) = 0.510825457099338;  t = 7: -log(0.1 + 1e-7) = 2.302584092994546
  //   the batch of both: their mean 1.406704775046942;  y[t] = 0: -log(1e-7) = 16.11809565095832
  const std::vector<T> row{T(0.1), T(0.05), T(0.6), T(0.0), T(0.05), T(0.1), T(0.0), T(0.1), T(0.0), T(0.0)};
  std::vector<T> y = row;
  y.insert(y.end(), row.begin(), row.end());
  const std::int64_t t2 = 2, t7 = 7, t3 = 3;
  const std::vector<std::int64_t> both{2, 7};
  const double tol = 8 * kEps<T>;
  EXPECT_NEAR(cross_entropy_labels(y.data(), 1, 10, &t2), 0.510825457099338, tol);
  EXPECT_NEAR(cross_entropy_labels(y.data(), 1, 10, &t7), 2.302584092994546, tol * 3);
  EXPECT_NEAR(cross_entropy_labels(y.data(), 2, 10, both.data()), 1.406704775046942, tol * 2);
  EXPECT_NEAR(cross_entropy_labels(y.data(), 1, 10, &t3), 16.11809565095832, tol * 16);
}

TYPED_TEST(Softmax, ArgmaxRowsTakesFirstNaNThenFirstMaximum) {
  using T = TypeParam;
  const T nan = std::numeric_limits<T>::quiet_NaN();
  const T inf = std::numeric_limits<T>::infinity();
  // One row per case, 4 columns, with numpy.argmax's answer:
  const std::vector<T> t{
      0,    0,    1,    0,     // one-hot          -> 2
      2,    5,    5,    1,     // tie              -> 1 (first maximum)
      3,    3,    3,    3,     // all equal        -> 0
      1,    nan,  7,    nan,   // NaN              -> 1 (first NaN wins over larger numbers)
      nan,  9,    9,    9,     // NaN first        -> 0
      -inf, -inf, -inf, -inf,  // all -inf         -> 0
      -1,   -3,   -2,   -0.5,  // negatives        -> 3
      1,    2,    3,    nan,   // NaN last         -> 3
  };
  const std::vector<std::int64_t> want{2, 1, 0, 1, 0, 0, 3, 3};
  std::vector<std::int64_t> labels(want.size(), -1);
  argmax_rows(t.data(), 8, 4, labels.data());
  EXPECT_EQ(labels, want);
  for (Index i = 0; i < 8; ++i) EXPECT_EQ(row_argmax(t.data() + i * 4, 4), want[usize(i)]) << "row " << i;
  // One column: always 0.
  const std::vector<T> col{5, nan, -inf};
  std::vector<std::int64_t> zeros(3, -1);
  argmax_rows(col.data(), 3, 1, zeros.data());
  EXPECT_EQ(zeros, (std::vector<std::int64_t>{0, 0, 0}));
}

using FirstBadLabel = CoreTest;

TEST_F(FirstBadLabel, FindsTheFirstLabelOutsideRange) {
  const std::vector<std::int64_t> good{0, 1, 2, 2, 0};
  EXPECT_EQ(first_bad_label(good.data(), 5, 3), -1);
  EXPECT_EQ(first_bad_label(good.data(), 0, 3), -1);       // no labels, none bad
  EXPECT_EQ(first_bad_label(good.data(), 5, 2), 2);        // label == C is out of range
  const std::vector<std::int64_t> bad{0, 2, -1, 3, 7};
  EXPECT_EQ(first_bad_label(bad.data(), 5, 3), 2);         // -1 before 3 and 7
  EXPECT_EQ(first_bad_label(bad.data(), 2, 3), -1);        // only the valid head is looked at
  const std::vector<std::int64_t> extreme{std::numeric_limits<std::int64_t>::min(), 0};
  EXPECT_EQ(first_bad_label(extreme.data(), 2, 3), 0);
  const std::vector<std::int64_t> huge{0, std::numeric_limits<std::int64_t>::max()};
  EXPECT_EQ(first_bad_label(huge.data(), 2, 3), 1);
  EXPECT_EQ(first_bad_label(good.data(), 1, 0), 0);        // no classes: every label is bad
}

}  // namespace
