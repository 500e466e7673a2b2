// Optimizer kernels: hand-computed steps, fast paths vs the scalar references over many sizes and
// several steps, optimizer_step vs the single kernels, and results independent of threads and address.
#include "fastlayers/optimizers.hpp"

#include <cmath>
#include <vector>

#include "helpers.hpp"

namespace {

using namespace fltest;
using fastlayers::OptimizerConfig;
using fastlayers::OptimizerKind;
using fastlayers::ParamSlot;

template <class T>
class Optimizers : public CoreTest {};
TYPED_TEST_SUITE(Optimizers, Scalars);

// The fast path and the reference may contract a*b+c into an FMA differently: a few eps apart.
template <class T>
constexpr double kTol = 8 * kEps<T>;

template <class T>
struct State {
  std::vector<T> p, g, s1, s2;
};

template <class T>
State<T> make_state(Index n, std::uint64_t seed) {
  return {uniform<T>(n, -2, 2, seed), uniform<T>(n, -1, 1, seed + 1), std::vector<T>(usize(n)),
          std::vector<T>(usize(n))};
}

// One step of `kind` on st, by the fast kernels (fast = true) or the references.
template <class T>
void step(OptimizerKind kind, State<T>& st, long long t, bool fast) {
  const Index n = static_cast<Index>(st.p.size());
  const T lr = T(0.05), mom = T(0.9), b1 = T(0.9), b2 = T(0.999);
  const T lr_t = static_cast<T>(fastlayers::adam_lr_t(0.05, 0.9, 0.999, t));
  switch (kind) {
    case OptimizerKind::sgd:
      fast ? fastlayers::sgd_update(st.p.data(), st.g.data(), n, lr)
           : fastlayers::sgd_update_reference(st.p.data(), st.g.data(), n, lr);
      break;
    case OptimizerKind::momentum:
      fast ? fastlayers::momentum_update(st.p.data(), st.g.data(), st.s1.data(), n, lr, mom)
           : fastlayers::momentum_update_reference(st.p.data(), st.g.data(), st.s1.data(), n, lr, mom);
      break;
    case OptimizerKind::adagrad:
      fast ? fastlayers::adagrad_update(st.p.data(), st.g.data(), st.s1.data(), n, lr)
           : fastlayers::adagrad_update_reference(st.p.data(), st.g.data(), st.s1.data(), n, lr);
      break;
    case OptimizerKind::adam:
      fast ? fastlayers::adam_update(st.p.data(), st.g.data(), st.s1.data(), st.s2.data(), n, lr_t, b1, b2)
           : fastlayers::adam_update_reference(st.p.data(), st.g.data(), st.s1.data(), st.s2.data(), n, lr_t, b1,
                                               b2);
      break;
  }
}

const OptimizerKind kKinds[] = {OptimizerKind::sgd, OptimizerKind::momentum, OptimizerKind::adagrad,
                                OptimizerKind::adam};

TYPED_TEST(Optimizers, HandComputedSteps) {
  using T = TypeParam;
  // SGD: p = 1 - 0.5 * 2 = 0
  std::vector<T> p{T(1)}, g{T(2)}, v{T(0)}, h{T(0)}, m{T(0)}, w{T(0)};
  fastlayers::sgd_update(p.data(), g.data(), 1, T(0.5));
  EXPECT_EQ(p[0], T(0));
  // Momentum, twice: v = -0.5*2 = -1, p = -1; v = 0.5*(-1) - 1 = -1.5, p = -2.5
  p[0] = T(0);
  fastlayers::momentum_update(p.data(), g.data(), v.data(), 1, T(0.5), T(0.5));
  fastlayers::momentum_update(p.data(), g.data(), v.data(), 1, T(0.5), T(0.5));
  EXPECT_EQ(v[0], T(-1.5));
  EXPECT_EQ(p[0], T(-2.5));
  // AdaGrad: h = 4, p = 0 - 0.5 * 2 / (2 + 1e-7)
  p[0] = T(0);
  fastlayers::adagrad_update(p.data(), g.data(), h.data(), 1, T(0.5));
  EXPECT_EQ(h[0], T(4));
  EXPECT_NEAR(static_cast<double>(p[0]), -0.5 * 2 / (2 + 1e-7), 4 * kEps<T>);
  // Adam, step 1: m = 0.1*2 = 0.2, v = 0.001*4 = 0.004, lr_t = lr * sqrt(0.001) / 0.1
  p[0] = T(0);
  const double lr_t = fastlayers::adam_lr_t(0.01, 0.9, 0.999, 1);
  EXPECT_NEAR(lr_t, 0.01 * std::sqrt(0.001) / 0.1, 1e-15);
  fastlayers::adam_update(p.data(), g.data(), m.data(), w.data(), 1, static_cast<T>(lr_t), T(0.9), T(0.999));
  EXPECT_NEAR(static_cast<double>(m[0]), 0.2, 4 * kEps<T>);
  EXPECT_NEAR(static_cast<double>(w[0]), 0.004, 4 * kEps<T>);
  EXPECT_NEAR(static_cast<double>(p[0]), -lr_t * 0.2 / (std::sqrt(0.004) + 1e-7), 1e-6);
}

TYPED_TEST(Optimizers, FastPathMatchesReferenceOverSeveralSteps) {
  using T = TypeParam;
  for (OptimizerKind kind : kKinds)
    for (Index n : elementwise_sizes()) {
      State<T> fast = make_state<T>(n, 11), ref = make_state<T>(n, 11);
      for (long long t = 1; t <= 4; ++t) {
        fast.g = uniform<T>(n, -1, 1, 100 + static_cast<std::uint64_t>(t));
        ref.g = fast.g;
        step(kind, fast, t, true);
        step(kind, ref, t, false);
      }
      EXPECT_TRUE(all_close(fast.p, ref.p, kTol<T> * 8, kTol<T>)) << "kind " << static_cast<int>(kind) << " n " << n;
      EXPECT_TRUE(all_close(fast.s1, ref.s1, kTol<T> * 8, kTol<T>)) << "kind " << static_cast<int>(kind) << " n " << n;
      EXPECT_TRUE(all_close(fast.s2, ref.s2, kTol<T> * 8, kTol<T>)) << "kind " << static_cast<int>(kind) << " n " << n;
    }
}

TYPED_TEST(Optimizers, OptimizerStepEqualsTheSingleKernels) {
  using T = TypeParam;
  for (OptimizerKind kind : kKinds) {
    State<T> a = make_state<T>(300, 5), b = make_state<T>(7, 6), a2 = a, b2 = b;
    std::vector<ParamSlot<T>> slots = {{a.p.data(), a.g.data(), a.s1.data(), a.s2.data(), 300},
                                       {b.p.data(), b.g.data(), b.s1.data(), b.s2.data(), 7}};
    OptimizerConfig cfg;
    cfg.kind = kind;
    cfg.lr = 0.05;
    for (long long t = 1; t <= 3; ++t) {
      fastlayers::optimizer_step(cfg, t, slots.data(), 2);
      step(kind, a2, t, true);
      step(kind, b2, t, true);
    }
    EXPECT_TRUE(all_equal(a.p, a2.p));
    EXPECT_TRUE(all_equal(b.p, b2.p));
  }
}

TYPED_TEST(Optimizers, SameBitsForAnyThreadCountAndAddress) {
  using T = TypeParam;
  const Index n = 200003;  // several chunks of the threaded path
  for (OptimizerKind kind : kKinds) {
    State<T> one = make_state<T>(n, 9);
    {
      ThreadBudget budget(1);
      step(kind, one, 1, true);
    }
    for (std::size_t offset : {1, 3}) {
      State<T> st = make_state<T>(n, 9);
      std::vector<T> p = shifted(st.p, offset), s1 = shifted(st.s1, offset), s2 = shifted(st.s2, offset);
      ThreadBudget budget(2);
      const T lr_t = static_cast<T>(fastlayers::adam_lr_t(0.05, 0.9, 0.999, 1));
      T* pp = p.data() + offset;
      switch (kind) {
        case OptimizerKind::sgd: fastlayers::sgd_update(pp, st.g.data(), n, T(0.05)); break;
        case OptimizerKind::momentum:
          fastlayers::momentum_update(pp, st.g.data(), s1.data() + offset, n, T(0.05), T(0.9));
          break;
        case OptimizerKind::adagrad: fastlayers::adagrad_update(pp, st.g.data(), s1.data() + offset, n, T(0.05)); break;
        case OptimizerKind::adam:
          fastlayers::adam_update(pp, st.g.data(), s1.data() + offset, s2.data() + offset, n, lr_t, T(0.9), T(0.999));
          break;
      }
      EXPECT_TRUE(all_equal(unshifted(p, offset), one.p)) << "kind " << static_cast<int>(kind) << " offset " << offset;
    }
  }
}

}  // namespace
