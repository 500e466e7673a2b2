// Affine kernels: Eigen GEMM on row-major maps (W may be a transpose, read in place).
#include "fastlayers/affine.hpp"

#include <Eigen/Core>

#include "fastlayers/threading.hpp"

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

}  // namespace

template <class T>
void affine_forward(const T* x, Index n, Index d, MatView<T> W, const T* b, T* out) {
  ThreadScope scope;
  const Index m = W.cols;
  Eigen::Map<const RowMat<T>> X(x, n, d);
  Eigen::Map<RowMat<T>> Y(out, n, m);
  Eigen::Map<const RowVec<T>> B(b, m);
  with_weight(W, [&](const auto& Wm) {
    Y.rowwise() = B;
    if (d > 0) Y.noalias() += X * Wm;
  });
}

template <class T>
void affine_backward(const T* dout, const T* x, Index n, Index d, MatView<T> W, T* dx, T* dW, T* db) {
  ThreadScope scope;
  const Index m = W.cols;
  Eigen::Map<const RowMat<T>> G(dout, n, m);
  if (dx != nullptr) {
    Eigen::Map<RowMat<T>> DX(dx, n, d);
    with_weight(W, [&](const auto& Wm) {
      if (m > 0)
        DX.noalias() = G * Wm.transpose();
      else
        DX.setZero();
    });
  }
  if (dW != nullptr) {
    Eigen::Map<const RowMat<T>> X(x, n, d);
    Eigen::Map<RowMat<T>> DW(dW, d, m);
    if (n > 0)
      DW.noalias() = X.transpose() * G;
    else
      DW.setZero();
  }
  if (db != nullptr) {
    Eigen::Map<RowVec<T>> DB(db, m);
    DB = G.colwise().sum();
  }
}

template void affine_forward<float>(const float*, Index, Index, MatView<float>, const float*, float*);
template void affine_forward<double>(const double*, Index, Index, MatView<double>, const double*, double*);
template void affine_backward<float>(const float*, const float*, Index, Index, MatView<float>, float*, float*,
                                     float*);
template void affine_backward<double>(const double*, const double*, Index, Index, MatView<double>, double*,
                                      double*, double*);

}  // namespace fastlayers
