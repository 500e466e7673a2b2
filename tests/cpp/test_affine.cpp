// Affine: hand-computed values, row- vs col-major W, skipped gradients, empty shapes,
// gradient check, Eigen GEMM vs the scalar reference.
#include "fastlayers/affine.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include "helpers.hpp"

namespace {

using namespace fltest;
using fastlayers::affine_backward;
using fastlayers::affine_backward_reference;
using fastlayers::affine_forward;
using fastlayers::affine_forward_reference;
using fastlayers::MatView;

template <class T>
class Affine : public CoreTest {};
TYPED_TEST_SUITE(Affine, Scalars);

// W (rows, cols) stored row-major, viewed as such.
template <class T>
MatView<T> row_major(const std::vector<T>& w, Index rows, Index cols) {
  return MatView<T>{w.data(), rows, cols, false};
}

// The same matrix copied into column-major storage (what NumPy calls F order, e.g. W = V.T).
template <class T>
std::vector<T> to_col_major(const std::vector<T>& w, Index rows, Index cols) {
  std::vector<T> out(w.size());
  for (Index i = 0; i < rows; ++i)
    for (Index j = 0; j < cols; ++j) out[usize(i + j * rows)] = w[usize(i * cols + j)];
  return out;
}

// Forward and all three gradients of one call, row-major outputs.
template <class T>
struct Grads {
  std::vector<T> out, dx, dW, db;
};

template <class T>
Grads<T> run_fast(const std::vector<T>& x, const MatView<T>& W, const std::vector<T>& b, const std::vector<T>& dout,
                  Index n, Index d) {
  const Index m = W.cols;
  Grads<T> g{std::vector<T>(usize(n * m)), std::vector<T>(usize(n * d)), std::vector<T>(usize(d * m)),
             std::vector<T>(usize(m))};
  affine_forward(x.data(), n, d, W, b.data(), g.out.data());
  affine_backward(dout.data(), x.data(), n, d, W, g.dx.data(), g.dW.data(), g.db.data());
  return g;
}

template <class T>
Grads<T> run_reference(const std::vector<T>& x, const MatView<T>& W, const std::vector<T>& b,
                       const std::vector<T>& dout, Index n, Index d) {
  const Index m = W.cols;
  Grads<T> g{std::vector<T>(usize(n * m)), std::vector<T>(usize(n * d)), std::vector<T>(usize(d * m)),
             std::vector<T>(usize(m))};
  affine_forward_reference(x.data(), n, d, W, b.data(), g.out.data());
  affine_backward_reference(dout.data(), x.data(), n, d, W, g.dx.data(), g.dW.data(), g.db.data());
  return g;
}

TYPED_TEST(Affine, HandComputedForwardBackward) {
  using T = TypeParam;
  // x = [[1, 2, 3], [4, 5, 6]] (2,3), W = [[1, 0], [0, 1], [1, 1]] (3,2), b = [0.5, -1]
  //   x @ W = [[1 + 3, 2 + 3], [4 + 6, 5 + 6]] = [[4, 5], [10, 11]];  + b = [[4.5, 4], [10.5, 10]]
  const std::vector<T> x{1, 2, 3, 4, 5, 6};
  const std::vector<T> w{1, 0, 0, 1, 1, 1};
  const std::vector<T> b{T(0.5), T(-1)};
  // dout = [[1, 2], [3, 4]]:
  //   dx = dout @ W.T = [[1, 2, 1 + 2], [3, 4, 3 + 4]]                                = [[1, 2, 3], [3, 4, 7]]
  //   dW = x.T @ dout = [[1 + 12, 2 + 16], [2 + 15, 4 + 20], [3 + 18, 6 + 24]]        = [[13, 18], [17, 24], [21, 30]]
  //   db = column sums of dout                                                     = [4, 6]
  const std::vector<T> dout{1, 2, 3, 4};
  for (const bool col_major : {false, true}) {
    SCOPED_TRACE(col_major ? "W col-major" : "W row-major");
    const std::vector<T> wstore = col_major ? to_col_major(w, 3, 2) : w;
    const MatView<T> W{wstore.data(), 3, 2, col_major};
    const Grads<T> g = run_fast(x, W, b, dout, 2, 3);
    EXPECT_TRUE(all_equal(g.out, std::vector<T>{T(4.5), 4, T(10.5), 10}));
    EXPECT_TRUE(all_equal(g.dx, std::vector<T>{1, 2, 3, 3, 4, 7}));
    EXPECT_TRUE(all_equal(g.dW, std::vector<T>{13, 18, 17, 24, 21, 30}));
    EXPECT_TRUE(all_equal(g.db, std::vector<T>{4, 6}));
  }
}

TYPED_TEST(Affine, ColMajorWeightGivesRowMajorResult) {
  using T = TypeParam;
  for (const auto& [n, d, m] : {std::tuple<Index, Index, Index>{1, 1, 1}, {5, 7, 3}, {33, 17, 9}, {64, 300, 20}}) {
    SCOPED_TRACE(::testing::Message() << "n, d, m = " << n << ", " << d << ", " << m);
    const std::vector<T> x = uniform<T>(n * d, -1, 1, 31);
    const std::vector<T> w = uniform<T>(d * m, -1, 1, 32);
    const std::vector<T> b = uniform<T>(m, -1, 1, 33);
    const std::vector<T> dout = uniform<T>(n * m, -1, 1, 34);
    const std::vector<T> w_cm = to_col_major(w, d, m);
    const Grads<T> r = run_fast(x, row_major(w, d, m), b, dout, n, d);
    const Grads<T> c = run_fast(x, MatView<T>{w_cm.data(), d, m, true}, b, dout, n, d);
    // Same sums, possibly in another order inside the GEMM kernels.
    const double tol = 4 * static_cast<double>(std::max({n, d, m})) * kEps<T>;
    EXPECT_TRUE(all_close(c.out, r.out, 0, tol));
    EXPECT_TRUE(all_close(c.dx, r.dx, 0, tol));
    EXPECT_TRUE(all_close(c.dW, r.dW, 0, tol));  // dW comes back row-major (D,M) either way
    EXPECT_TRUE(all_close(c.db, r.db, 0, tol));
  }
}

template <class T>
void same_result_at_any_alignment(Index n, Index d, Index m) {
  const std::vector<T> x = uniform<T>(n * d, -1, 1, 35);
  const std::vector<T> w = uniform<T>(d * m, -1, 1, 36);
  const std::vector<T> b = uniform<T>(m, -1, 1, 37);
  const std::vector<T> dout = uniform<T>(n * m, -1, 1, 38);
  const Grads<T> want = run_fast(x, row_major(w, d, m), b, dout, n, d);
  for (const std::size_t off : {1, 2, 3}) {
    SCOPED_TRACE(::testing::Message() << "every array at +" << off);
    const std::vector<T> xs = shifted(x, off), ws = shifted(w, off), bs = shifted(b, off), gs = shifted(dout, off);
    std::vector<T> out(off + usize(n * m)), dx(off + usize(n * d)), dW(off + usize(d * m)), db(off + usize(m));
    const MatView<T> W{ws.data() + off, d, m, false};
    affine_forward(xs.data() + off, n, d, W, bs.data() + off, out.data() + off);
    affine_backward(gs.data() + off, xs.data() + off, n, d, W, dx.data() + off, dW.data() + off, db.data() + off);
    EXPECT_TRUE(all_equal(unshifted(out, off), want.out));
    EXPECT_TRUE(all_equal(unshifted(dx, off), want.dx));
    EXPECT_TRUE(all_equal(unshifted(dW, off), want.dW));
    EXPECT_TRUE(all_equal(unshifted(db, off), want.db));
  }
}

TYPED_TEST(Affine, SameResultAtAnyAlignment) {
  using T = TypeParam;
  // The small GEMM's 9x13 @ 13x7, and 40x300 @ 300x13 (Eigen for 8 or 12 columns, dot products for the rest).
  for (const auto& [n, d, m] : {std::tuple<Index, Index, Index>{9, 13, 7}, {40, 300, 13}}) {
    SCOPED_TRACE(::testing::Message() << "n, d, m = " << n << ", " << d << ", " << m);
    same_result_at_any_alignment<T>(n, d, m);
  }
}

TYPED_TEST(Affine, NullGradientsAreSkipped) {
  using T = TypeParam;
  const Index n = 6, d = 5, m = 4;
  const std::vector<T> x = uniform<T>(n * d, -1, 1, 41);
  const std::vector<T> w = uniform<T>(d * m, -1, 1, 42);
  const std::vector<T> b = uniform<T>(m, -1, 1, 43);
  const std::vector<T> dout = uniform<T>(n * m, -1, 1, 44);
  const MatView<T> W = row_major(w, d, m);
  const Grads<T> all = run_fast(x, W, b, dout, n, d);
  for (int which = 0; which < 8; ++which) {
    const bool want_dx = (which & 1) != 0, want_dW = (which & 2) != 0, want_db = (which & 4) != 0;
    SCOPED_TRACE(::testing::Message() << "dx " << want_dx << ", dW " << want_dW << ", db " << want_db);
    std::vector<T> dx(usize(n * d), T(-7)), dW(usize(d * m), T(-7)), db(usize(m), T(-7));
    affine_backward(dout.data(), x.data(), n, d, W, want_dx ? dx.data() : nullptr, want_dW ? dW.data() : nullptr,
                    want_db ? db.data() : nullptr);
    if (want_dx) {
      EXPECT_TRUE(all_equal(dx, all.dx));
    }
    if (want_dW) {
      EXPECT_TRUE(all_equal(dW, all.dW));
    }
    if (want_db) {
      EXPECT_TRUE(all_equal(db, all.db));
    }
  }
}

// db sums each column of dout in row order from zero, whatever the width: 1 to 1000 columns (in strips of 32 or 64
// summed in registers, or row by row when wider than two strips), 1 to 300 rows. Values of magnitudes 1e-3 to 1e6
// of both signs, so that another order of the additions changes the bits (summing the rows backwards does).
TYPED_TEST(Affine, BiasGradientSumsRowsInOrder) {
  using T = TypeParam;
  std::uint64_t seed = 1300;
  for (const Index m : {1, 7, 10, 31, 32, 33, 50, 63, 64, 65, 127, 128, 129, 1000}) {
    for (const Index n : {1, 3, 100, 300}) {
      SCOPED_TRACE(::testing::Message() << "n " << n << ", m " << m);
      std::vector<T> dout = uniform<T>(n * m, -1, 1, seed++);
      const std::vector<T> scale = uniform<T>(n * m, -3, 6, seed++);
      for (std::size_t i = 0; i < dout.size(); ++i) dout[i] *= static_cast<T>(std::pow(10.0, scale[i]));
      std::vector<T> want(usize(m));
      for (Index j = 0; j < m; ++j) {
        T acc = 0;
        for (Index i = 0; i < n; ++i) acc += dout[usize(i * m + j)];
        want[usize(j)] = acc;
      }
      std::vector<T> db(usize(m), T(-7));
      const std::vector<T> none;
      affine_backward<T>(dout.data(), none.data(), n, 1, MatView<T>{none.data(), 1, m, false}, nullptr, nullptr,
                         db.data());
      EXPECT_TRUE(all_equal(db, want));
    }
  }
}

TYPED_TEST(Affine, EmptyDimensions) {
  using T = TypeParam;
  const std::vector<T> none;
  {
    // d = 0: x @ W is an empty sum, so out = b on every row; dx is (n, 0) and dW is (0, m).
    const std::vector<T> b{1, 2, 3};
    std::vector<T> out(6, T(-7));
    affine_forward(none.data(), 2, 0, MatView<T>{none.data(), 0, 3, false}, b.data(), out.data());
    EXPECT_TRUE(all_equal(out, std::vector<T>{1, 2, 3, 1, 2, 3}));
    const std::vector<T> dout{1, 2, 3, 4, 5, 6};
    std::vector<T> db(3);
    affine_backward<T>(dout.data(), none.data(), 2, 0, MatView<T>{none.data(), 0, 3, false}, nullptr, nullptr,
                    db.data());
    EXPECT_TRUE(all_equal(db, std::vector<T>{5, 7, 9}));
  }
  {
    // m = 0: no outputs, and dx = dout @ W.T is an empty sum, i.e. zeros (n, d).
    const std::vector<T> x{1, 2, 3, 4};
    std::vector<T> dx(4, T(-7));
    affine_backward<T>(none.data(), x.data(), 2, 2, MatView<T>{none.data(), 2, 0, false}, dx.data(), nullptr, nullptr);
    EXPECT_TRUE(all_equal(dx, std::vector<T>(4, T(0))));
  }
  {
    // n = 0: dW = x.T @ dout and db are empty sums, i.e. zeros.
    const std::vector<T> w{1, 2, 3, 4, 5, 6};
    std::vector<T> dW(6, T(-7)), db(3, T(-7));
    affine_backward<T>(none.data(), none.data(), 0, 2, MatView<T>{w.data(), 2, 3, false}, nullptr, dW.data(), db.data());
    EXPECT_TRUE(all_equal(dW, std::vector<T>(6, T(0))));
    EXPECT_TRUE(all_equal(db, std::vector<T>(3, T(0))));
  }
}

TYPED_TEST(Affine, BackwardMatchesNumericalGradient) {
  using T = TypeParam;
  const Index n = 3, d = 4, m = 5;
  const std::vector<T> x = uniform<T>(n * d, -1, 1, 51);
  const std::vector<T> w = uniform<T>(d * m, -1, 1, 52);
  const std::vector<T> b = uniform<T>(m, -1, 1, 53);
  const std::vector<T> dout = uniform<T>(n * m, -1, 1, 54);
  const std::vector<double> xd = cast<double>(x), wd = cast<double>(w), bd = cast<double>(b);
  // L(x, W, b) = sum(dout * (x @ W + b)), evaluated in double; one numerical gradient per argument.
  auto loss = [&](const std::vector<double>& xv, const std::vector<double>& wv, const std::vector<double>& bv) {
    std::vector<double> out(usize(n * m));
    affine_forward(xv.data(), n, d, MatView<double>{wv.data(), d, m, false}, bv.data(), out.data());
    return dot(dout, out);
  };
  const auto num_dx = numerical_gradient([&](const std::vector<double>& v) { return loss(v, wd, bd); }, xd);
  const auto num_dW = numerical_gradient([&](const std::vector<double>& v) { return loss(xd, v, bd); }, wd);
  const auto num_db = numerical_gradient([&](const std::vector<double>& v) { return loss(xd, wd, v); }, bd);
  for (const bool col_major : {false, true}) {
    SCOPED_TRACE(col_major ? "W col-major" : "W row-major");
    const std::vector<T> wstore = col_major ? to_col_major(w, d, m) : w;
    const Grads<T> g = run_fast(x, MatView<T>{wstore.data(), d, m, col_major}, b, dout, n, d);
    EXPECT_TRUE(all_close(g.dx, num_dx, kGradTol<T>, kGradTol<T>));
    EXPECT_TRUE(all_close(g.dW, num_dW, kGradTol<T>, kGradTol<T>));
    EXPECT_TRUE(all_close(g.db, num_db, kGradTol<T>, kGradTol<T>));
  }
}

// The fast kernels against the scalar reference, W stored row-major and column-major.
template <class T>
void expect_fast_matches_reference(const std::vector<T>& x, const std::vector<T>& w, const std::vector<T>& b,
                                   const std::vector<T>& dout, Index n, Index d, Index m, double tol) {
  for (const bool col_major : {false, true}) {
    SCOPED_TRACE(col_major ? "W col-major" : "W row-major");
    const std::vector<T> wstore = col_major ? to_col_major(w, d, m) : w;
    const MatView<T> W{wstore.data(), d, m, col_major};
    const Grads<T> fast = run_fast(x, W, b, dout, n, d);
    const Grads<T> ref = run_reference(x, W, b, dout, n, d);
    EXPECT_TRUE(all_close(fast.out, ref.out, 0, tol));
    EXPECT_TRUE(all_close(fast.dx, ref.dx, 0, tol));
    EXPECT_TRUE(all_close(fast.dW, ref.dW, 0, tol));
    EXPECT_TRUE(all_close(fast.db, ref.db, 0, tol));
  }
}

// A random (n, d) -> m layer: x, W, b and dout uniform in [-1, 1), from the next four seeds.
template <class T>
struct Layer {
  std::vector<T> x, w, b, dout;
};

template <class T>
Layer<T> random_layer(Index n, Index d, Index m, std::uint64_t& seed) {
  Layer<T> l;  // one draw after the other, in this order
  l.x = uniform<T>(n * d, -1, 1, ++seed);
  l.w = uniform<T>(d * m, -1, 1, ++seed);
  l.b = uniform<T>(m, -1, 1, ++seed);
  l.dout = uniform<T>(n * m, -1, 1, ++seed);
  return l;
}

// Each result is a sum of at most max(n, d, m) terms of size <= 1 (plus b).
template <class T>
double sum_tolerance(Index n, Index d, Index m) {
  return 2 * static_cast<double>(std::max({n, d, m}) + 1) * kEps<T>;
}

// Products whose last m % W columns (W = 8 floats or 4 doubles a vector) the AVX2 build computes as dot
// products along x's rows (dot_cols.hpp) and the others through Eigen: every count of such columns (1 to 7 in
// float, 1 to 3 in double), row counts that end in partial tiles, inner dimensions ending in a partial vector.
TYPED_TEST(Affine, TailColumnsMatchReference) {
  using T = TypeParam;
  std::uint64_t seed = 500;
  for (const Index n : {25, 31})
    for (const Index d : {601, 1030})
      for (Index m = 9; m <= 15; ++m) {
        SCOPED_TRACE(::testing::Message() << "n, d, m = " << n << ", " << d << ", " << m);
        Layer<T> l = random_layer<T>(n, d, m, seed);
        l.x.resize(usize(n * d + 8), std::numeric_limits<T>::quiet_NaN());  // a read past x's end shows as NaN
        expect_fast_matches_reference(l.x, l.w, l.b, l.dout, n, d, m, sum_tolerance<T>(n, d, m));
      }
}

// Products of 1 to 16 rows, which the AVX2 build computes through its few-rows GEMM (few_rows_gemm.hpp): the
// forward, and dx when W is stored column-major (B = W.T is then row-major). Every row count (tiles of 1 to 6
// rows), column counts that end in a partial vector or fill whole ones, in groups of 1 to 8 vectors, inner
// dimensions of 1 to 300. They match the reference (x and W in buffers of their exact size: a read past
// either fails the AddressSanitizer build); and, in the AVX2 build, each row of a batch is the same bits as
// that row's forward alone (each element one chain of FMAs in the inner dimension's order, whatever its tile
// and whatever the batch).
TYPED_TEST(Affine, FewRowsMatchReference) {
  using T = TypeParam;
  std::uint64_t seed = 900;
  for (Index n = 1; n <= 16; ++n)
    for (const Index d : {1, 37, 300})
      for (const Index m : {1, 5, 8, 17, 50, 64, 100}) {
        SCOPED_TRACE(::testing::Message() << "n, d, m = " << n << ", " << d << ", " << m);
        const Layer<T> l = random_layer<T>(n, d, m, seed);
        expect_fast_matches_reference(l.x, l.w, l.b, l.dout, n, d, m, sum_tolerance<T>(n, d, m));
        // The baseline build's Eigen GEMM tiles by the batch; one-element sums of tiny products take a plain
        // loop (affine.cpp).
        if (!simd_core() || d == 1) continue;
        std::vector<T> batch(usize(n * m)), alone(usize(m));
        const MatView<T> W{l.w.data(), d, m, false};
        affine_forward(l.x.data(), n, d, W, l.b.data(), batch.data());
        for (Index i = 0; i < n; ++i) {
          affine_forward(l.x.data() + i * d, 1, d, W, l.b.data(), alone.data());
          EXPECT_TRUE(all_equal(alone, std::vector<T>(batch.begin() + i * m, batch.begin() + (i + 1) * m)))
              << "row " << i;
        }
      }
}

// Small products (at most 2^17 multiply-adds), which the AVX2 build computes through its small GEMM
// (small_gemm.hpp): it reads B in place when B's columns are contiguous and packs a copy otherwise, the same
// tiles either way. The forward reads W in place when W is row-major and packs it when column-major; dx =
// dout @ W.T the other way round. Both layouts give the same bits: the path taken does not change a result.
TYPED_TEST(Affine, SmallProductsSameBitsInEitherLayout) {
  using T = TypeParam;
  if (!simd_core()) GTEST_SKIP() << "the small GEMM is the AVX2 and AVX-512 builds'";
  const std::tuple<Index, Index, Index> shapes[] = {{100, 50, 10}, {1, 50, 10},  {17, 9, 33}, {64, 31, 10},
                                                    {13, 40, 17},  {5, 7, 33},   {29, 80, 41}, {40, 30, 7},
                                                    {100, 10, 50}, {256, 16, 16}, {20, 100, 50}};
  std::uint64_t seed = 1200;
  for (const auto& [n, d, m] : shapes) {
    SCOPED_TRACE(::testing::Message() << "n, d, m = " << n << ", " << d << ", " << m);
    const Layer<T> l = random_layer<T>(n, d, m, seed);
    const std::vector<T> wcol = to_col_major(l.w, d, m);
    const Grads<T> row = run_fast(l.x, MatView<T>{l.w.data(), d, m, false}, l.b, l.dout, n, d);
    const Grads<T> col = run_fast(l.x, MatView<T>{wcol.data(), d, m, true}, l.b, l.dout, n, d);
    EXPECT_TRUE(all_equal(row.out, col.out));
    EXPECT_TRUE(all_equal(row.dx, col.dx));
  }
}

TYPED_TEST(Affine, FastPathMatchesReference) {
  using T = TypeParam;
  const ThreadBudget threads(4);
  // Empty, tiny, odd, small products of every tile remainder (the AVX2 build's small GEMM: rows in tiles
  // of up to 6, columns in groups of vectors, the book's 100x50->10 among them), large enough (x of 120k elements, W
  // of 150k) for a threaded GEMM, and products computed in two halves over the inner dimension (the
  // forward of 100x784->50 and 40x2001->30, odd k; the dW of 2000x50->10), and dW products through the
  // AVX2 build's narrow GEMM (rows in tiles of two vectors, the last rows padded, the inner dimension in
  // blocks of 64, columns in tiles of 4 to 6): 401, 300, 131, 200, 264 and 64 rows (float tails of 1, 12, 3,
  // 8, 8 and 0 rows), 50, 7, 20, 33, 4 and 5 columns, inner dimensions of 300, 100, 70, 150, 130 and 1000; with one
  // input feature (x's one column is contiguous) the forward takes it too, adding to the bias, and with one
  // output so does dx. 30x129->130: the forward's last 2 columns and dx's last one (B = W.T, read in place
  // in either layout) through the AVX2 build's dot products (dot_cols.hpp).
  const std::tuple<Index, Index, Index> shapes[] = {
      {0, 3, 4},   {3, 0, 4},   {3, 4, 0},     {1, 1, 1},     {2, 3, 5},      {7, 13, 3},
      {17, 9, 33}, {64, 31, 10}, {100, 1, 7},  {100, 50, 10}, {1, 50, 10},    {13, 40, 17},
      {6, 64, 24}, {11, 23, 8},  {5, 7, 33},   {29, 80, 41},  {300, 401, 50}, {64, 512, 300},
      {128, 512, 640}, {100, 784, 50}, {40, 2001, 30}, {2000, 50, 10}, {100, 300, 7}, {70, 131, 20},
      {150, 200, 33}, {130, 264, 4}, {1000, 64, 5}, {7000, 1, 20}, {5000, 30, 1}, {30, 129, 130}};
  std::uint64_t seed = 60;
  for (const auto& [n, d, m] : shapes) {
    SCOPED_TRACE(::testing::Message() << "n, d, m = " << n << ", " << d << ", " << m);
    const Layer<T> l = random_layer<T>(n, d, m, seed);
    expect_fast_matches_reference(l.x, l.w, l.b, l.dout, n, d, m, sum_tolerance<T>(n, d, m));
  }
}

}  // namespace
