// Parameter updates of the book's common/optimizer.py (SGD, Momentum, AdaGrad, Adam), in place.
// Every array is contiguous with n elements; p is written, g is read. g may be the same buffer as p
// (each element is read before it is written); the state arrays must not alias p or g.
#pragma once

#include <cmath>

#include "fastlayers/common.hpp"

namespace fastlayers {

// p -= lr * g
template <class T>
void sgd_update(T* p, const T* g, Index n, T lr);

// v = momentum * v - lr * g;  p += v
template <class T>
void momentum_update(T* p, const T* g, T* v, Index n, T lr, T momentum);

// h += g * g;  p -= lr * g / (sqrt(h) + 1e-7)
template <class T>
void adagrad_update(T* p, const T* g, T* h, Index n, T lr);

// The book's Adam, step t (t >= 1):
//   lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t)        (adam_lr_t, computed once per step)
//   m += (1 - beta1) * (g - m);  v += (1 - beta2) * (g^2 - v);  p -= lr_t * m / (sqrt(v) + 1e-7)
template <class T>
void adam_update(T* p, const T* g, T* m, T* v, Index n, T lr_t, T beta1, T beta2);

inline double adam_lr_t(double lr, double beta1, double beta2, long long t) {
  const double td = static_cast<double>(t);
  return lr * std::sqrt(1.0 - std::pow(beta2, td)) / (1.0 - std::pow(beta1, td));
}

// One optimizer step over many parameters, as the Python optimizers' update(params, grads) does.
enum class OptimizerKind { sgd, momentum, adagrad, adam };

struct OptimizerConfig {
  OptimizerKind kind = OptimizerKind::sgd;
  double lr = 0.01;
  double momentum = 0.9;  // Momentum
  double beta1 = 0.9;     // Adam
  double beta2 = 0.999;   // Adam
};

// One parameter: s1 is v (Momentum), h (AdaGrad) or m (Adam); s2 is Adam's v. Unused ones may be null.
template <class T>
struct ParamSlot {
  T* param = nullptr;
  const T* grad = nullptr;
  T* s1 = nullptr;
  T* s2 = nullptr;
  Index n = 0;
};

// Applies cfg to every slot; `step` is Adam's t after this step's increment (ignored by the others).
template <class T>
void optimizer_step(const OptimizerConfig& cfg, long long step, const ParamSlot<T>* slots, Index count);

// Scalar references the fast paths are tested against (the book's formulas, element by element).
template <class T>
void sgd_update_reference(T* p, const T* g, Index n, T lr) {
  for (Index i = 0; i < n; ++i) p[i] -= lr * g[i];
}

template <class T>
void momentum_update_reference(T* p, const T* g, T* v, Index n, T lr, T momentum) {
  for (Index i = 0; i < n; ++i) {
    v[i] = momentum * v[i] - lr * g[i];
    p[i] += v[i];
  }
}

template <class T>
void adagrad_update_reference(T* p, const T* g, T* h, Index n, T lr) {
  for (Index i = 0; i < n; ++i) {
    const T gi = g[i];
    h[i] += gi * gi;
    p[i] -= lr * gi / (std::sqrt(h[i]) + T(1e-7));
  }
}

template <class T>
void adam_update_reference(T* p, const T* g, T* m, T* v, Index n, T lr_t, T beta1, T beta2) {
  for (Index i = 0; i < n; ++i) {
    const T gi = g[i];
    m[i] += (T(1) - beta1) * (gi - m[i]);
    v[i] += (T(1) - beta2) * (gi * gi - v[i]);
    p[i] -= lr_t * m[i] / (std::sqrt(v[i]) + T(1e-7));
  }
}

}  // namespace fastlayers
