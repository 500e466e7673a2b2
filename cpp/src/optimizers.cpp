// Optimizer kernels: one fused Eigen array expression per parameter, threads for large arrays.
#include "fastlayers/optimizers.hpp"

#include <Eigen/Core>

#include "fastlayers/threading.hpp"

namespace fastlayers {
namespace {

constexpr Index kGrain = 1 << 15;  // elements per thread below which threading does not pay

template <class T>
using Arr = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;
template <class T>
using CArr = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;

// Runs f(begin, end) over [0, n) in parallel chunks (scope is the caller's).
template <class F>
void chunks(const ThreadScope& scope, Index n, F&& f) {
  parallel_chunks(scope, n, kGrain, f);
}

template <class T>
void sgd_chunk(T* p, const T* g, Index n, T lr) {
  Arr<T> P(p, n);
  CArr<T> G(g, n);
  P -= lr * G;
}

template <class T>
void momentum_chunk(T* p, const T* g, T* v, Index n, T lr, T momentum) {
  Arr<T> P(p, n), V(v, n);
  CArr<T> G(g, n);
  V = momentum * V - lr * G;
  P += V;
}

template <class T>
void adagrad_chunk(T* p, const T* g, T* h, Index n, T lr) {
  Arr<T> P(p, n), H(h, n);
  CArr<T> G(g, n);
  H += G.square();
  P -= lr * G / (H.sqrt() + T(1e-7));
}

template <class T>
void adam_chunk(T* p, const T* g, T* m, T* v, Index n, T lr_t, T beta1, T beta2) {
  Arr<T> P(p, n), M(m, n), V(v, n);
  CArr<T> G(g, n);
  M += (T(1) - beta1) * (G - M);
  V += (T(1) - beta2) * (G.square() - V);
  P -= lr_t * M / (V.sqrt() + T(1e-7));
}

template <class T>
void step_one(const ThreadScope& scope, const OptimizerConfig& cfg, T lr_t, const ParamSlot<T>& s) {
  const T lr = static_cast<T>(cfg.lr);
  switch (cfg.kind) {
    case OptimizerKind::sgd:
      chunks(scope, s.n, [&](Index b, Index e) { sgd_chunk(s.param + b, s.grad + b, e - b, lr); });
      break;
    case OptimizerKind::momentum: {
      const T mom = static_cast<T>(cfg.momentum);
      chunks(scope, s.n,
             [&](Index b, Index e) { momentum_chunk(s.param + b, s.grad + b, s.s1 + b, e - b, lr, mom); });
      break;
    }
    case OptimizerKind::adagrad:
      chunks(scope, s.n, [&](Index b, Index e) { adagrad_chunk(s.param + b, s.grad + b, s.s1 + b, e - b, lr); });
      break;
    case OptimizerKind::adam: {
      const T b1 = static_cast<T>(cfg.beta1), b2 = static_cast<T>(cfg.beta2);
      chunks(scope, s.n, [&](Index b, Index e) {
        adam_chunk(s.param + b, s.grad + b, s.s1 + b, s.s2 + b, e - b, lr_t, b1, b2);
      });
      break;
    }
  }
}

}  // namespace

template <class T>
void sgd_update(T* p, const T* g, Index n, T lr) {
  ThreadScope scope;
  chunks(scope, n, [&](Index b, Index e) { sgd_chunk(p + b, g + b, e - b, lr); });
}

template <class T>
void momentum_update(T* p, const T* g, T* v, Index n, T lr, T momentum) {
  ThreadScope scope;
  chunks(scope, n, [&](Index b, Index e) { momentum_chunk(p + b, g + b, v + b, e - b, lr, momentum); });
}

template <class T>
void adagrad_update(T* p, const T* g, T* h, Index n, T lr) {
  ThreadScope scope;
  chunks(scope, n, [&](Index b, Index e) { adagrad_chunk(p + b, g + b, h + b, e - b, lr); });
}

template <class T>
void adam_update(T* p, const T* g, T* m, T* v, Index n, T lr_t, T beta1, T beta2) {
  ThreadScope scope;
  chunks(scope, n, [&](Index b, Index e) { adam_chunk(p + b, g + b, m + b, v + b, e - b, lr_t, beta1, beta2); });
}

template <class T>
void optimizer_step(const OptimizerConfig& cfg, long long step, const ParamSlot<T>* slots, Index count) {
  ThreadScope scope;
  const T lr_t = cfg.kind == OptimizerKind::adam ? static_cast<T>(adam_lr_t(cfg.lr, cfg.beta1, cfg.beta2, step))
                                                 : T(0);
  for (Index i = 0; i < count; ++i) step_one(scope, cfg, lr_t, slots[i]);
}

#define FASTLAYERS_INSTANTIATE(T)                                                          \
  template void sgd_update<T>(T*, const T*, Index, T);                                     \
  template void momentum_update<T>(T*, const T*, T*, Index, T, T);                         \
  template void adagrad_update<T>(T*, const T*, T*, Index, T);                             \
  template void adam_update<T>(T*, const T*, T*, T*, Index, T, T, T);                      \
  template void optimizer_step<T>(const OptimizerConfig&, long long, const ParamSlot<T>*, Index);

FASTLAYERS_INSTANTIATE(float)
FASTLAYERS_INSTANTIATE(double)
#undef FASTLAYERS_INSTANTIATE

}  // namespace fastlayers
