// Affine kernels: Eigen GEMM on row-major maps (W may be a transpose, read in place).
#include "fastlayers/affine.hpp"

#include <Eigen/Core>

#include "fastlayers/threading.hpp"
#include "small_gemm.hpp"

namespace fastlayers {
namespace {

template <class T>
using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using ColMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;
template <class T>
using RowVec = Eigen::Matrix<T, 1, Eigen::Dynamic>;

// Calls f with W mapped in its own layout, so Eigen's GEMM reads it without a copy.
template <class T, class F>
void with_weight(const MatView<T>& W, F&& f) {
  if (W.col_major)
    f(Eigen::Map<const ColMat<T>>(W.data, W.rows, W.cols));
  else
    f(Eigen::Map<const RowMat<T>>(W.data, W.rows, W.cols));
}

// Threads split a product's output by rows, or by columns (few rows, or a large B), at
// multiples of kSplit (a multiple of every GEMM panel height Eigen uses): each element's sum
// over the inner dimension then runs exactly as in the serial product, so results do not
// depend on the thread count.
constexpr Index kSplit = 48;
constexpr Index kGemmGrain = Index{1} << 18;  // multiply-adds per thread below which threading does not pay
// Each thread packs the whole of the operand its share does not split: B for a row split, A for a column
// split. A column split is chosen when B is both the larger and too big for a core's L2 cache (this many
// elements or more): measured at 256x1024 @ 1024x1024 on 2 threads, the forward and dx products ran
// 11-16% faster split by columns; below that size (the book's 100x50 @ 50x784 dx) rows stayed faster.
constexpr Index kBigOperand = Index{1} << 18;
// Products of at most this many multiply-adds go through detail::small_gemm (AVX2 build) on one thread:
// measured against Eigen's GEMM at the book's 100x50 @ 50x10 products (forward, dx, dW) 1.1-2.8x faster,
// at 64^3 about even, at 128x64x64 and above slower (no cache blocking). Below kGemmGrain, so a product
// takes this path whatever the thread count.
constexpr Index kSmallGemm = Index{1} << 17;
static_assert(kSmallGemm <= kGemmGrain, "the small path must not depend on the thread count");

// out = A * B, or out += A * B when accumulate.
template <class Out, class A, class B>
void gemm(const ThreadScope& scope, Out out, const A& a, const B& b, bool accumulate) {
  const Index r = out.rows(), c = out.cols(), k = a.cols();
  if (k == 0) {
    if (!accumulate) out.setZero();
    return;
  }
  // Products Eigen would evaluate coefficient by coefficient (its EIGEN_GEMM_TO_COEFFBASED_THRESHOLD): a plain
  // loop in a fixed order. Eigen's lazy product uses FMA packets from out's first aligned address on and
  // separate multiply and add before it, so the last bit depended on where out sat in memory (AVX2 build).
  if (r + c + k < 20) {
    for (Index i = 0; i < r; ++i)
      for (Index j = 0; j < c; ++j) {
        typename Out::Scalar acc = 0;
        for (Index p = 0; p < k; ++p) acc += a(i, p) * b(p, j);
        out(i, j) = accumulate ? out(i, j) + acc : acc;
      }
    return;
  }
#if FASTLAYERS_SIMD
  if (r * c * k <= kSmallGemm && out.colStride() == 1 &&
      detail::small_gemm(out.data(), out.rowStride(), r, c, k, a.data(), a.rowStride(), a.colStride(), b.data(),
                         b.rowStride(), b.colStride(), accumulate))
    return;
#endif
  auto run = [accumulate](auto o, const auto& aa, const auto& bb) {
    if (accumulate)
      o.noalias() += aa * bb;
    else
      o.noalias() = aa * bb;
  };
  const int nt = scope.threads_for(r * c * k, kGemmGrain);
  const bool by_columns = r < 2 * kSplit || (c > r && c >= 2 * kSplit && k * c >= kBigOperand);
  if (nt <= 1)
    run(out, a, b);
  else if (!by_columns)
    parallel_for_chunks(nt, r, kSplit, [&](Index b0, Index e0) {
      run(out.middleRows(b0, e0 - b0), a.middleRows(b0, e0 - b0), b);
    });
  else
    parallel_for_chunks(nt, c, kSplit, [&](Index b0, Index e0) {
      run(out.middleCols(b0, e0 - b0), a, b.middleCols(b0, e0 - b0));
    });
}

}  // namespace

template <class T>
void affine_forward(const T* x, Index n, Index d, MatView<T> W, const T* b, T* out) {
  ThreadScope scope;
  const Index m = W.cols;
  Eigen::Map<const RowMat<T>> X(x, n, d);
  Eigen::Map<RowMat<T>> Y(out, n, m);
  Eigen::Map<const RowVec<T>> B(b, m);
  Y.rowwise() = B;
  with_weight(W, [&](const auto& Wm) { gemm(scope, Y.block(0, 0, n, m), X, Wm, true); });
}

template <class T>
void affine_backward(const T* dout, const T* x, Index n, Index d, MatView<T> W, T* dx, T* dW, T* db) {
  ThreadScope scope;
  const Index m = W.cols;
  Eigen::Map<const RowMat<T>> G(dout, n, m);
  if (dx != nullptr) {
    Eigen::Map<RowMat<T>> DX(dx, n, d);
    with_weight(W, [&](const auto& Wm) { gemm(scope, DX.block(0, 0, n, d), G, Wm.transpose(), false); });
  }
  if (dW != nullptr) {
    Eigen::Map<const RowMat<T>> X(x, n, d);
    Eigen::Map<RowMat<T>> DW(dW, d, m);
    gemm(scope, DW.block(0, 0, d, m), X.transpose(), G, false);
  }
  if (db != nullptr) {
    // Row by row, so each db[j] sums dout[:, j] in row order (Eigen's colwise().sum() would
    // reassociate depending on memory alignment).
    Eigen::Map<RowVec<T>> DB(db, m);
    DB.setZero();
    for (Index i = 0; i < n; ++i) DB += G.row(i);
  }
}
template void affine_forward<float>(const float*, Index, Index, MatView<float>, const float*, float*);
template void affine_forward<double>(const double*, Index, Index, MatView<double>, const double*, double*);
template void affine_backward<float>(const float*, const float*, Index, Index, MatView<float>, float*, float*,
                                     float*);
template void affine_backward<double>(const double*, const double*, Index, Index, MatView<double>, double*,
                                      double*, double*);

}  // namespace fastlayers
