// Shared by the C++ tests: the scalar types, the fixture that skips a core this CPU cannot run,
// random data, element-wise comparison, and central-difference gradients in double.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "fastlayers/common.hpp"
#include "fastlayers/cpu.hpp"
#include "fastlayers/threading.hpp"

namespace fltest {

using fastlayers::Index;
using Scalars = ::testing::Types<float, double>;

template <class T>
constexpr double kEps = std::numeric_limits<T>::epsilon();

// Tolerance of an analytic gradient in T against a central difference in double.
template <class T>
constexpr double kGradTol = sizeof(T) == 4 ? 1e-4 : 1e-7;

// The instruction set of the core this executable links, "baseline", "avx2" or "avx512"
// (test_isa.cpp, the one source compiled per executable).
const char* core_isa();

// Whether that core has the kernels of its own (simd.hpp: AVX2 intrinsics, in the avx2 and avx512
// builds); the baseline build runs Eigen's code for everything.
inline bool simd_core() { return std::string(core_isa()) != "baseline"; }

// Whether this CPU can run that core (fastlayers/cpu.hpp: compiled for the baseline, safe anywhere).
inline bool cpu_runs_this_core() { return fastlayers::cpu_runs_isa(core_isa()); }

// Every test derives from this: it skips before any core code runs when the CPU lacks the ISA.
class CoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!cpu_runs_this_core()) GTEST_SKIP() << "this CPU cannot run the " << core_isa() << " core";
  }
};

// Sets the kernels' thread budget for a scope, then resets it to OpenMP's default, the state
// every test starts from. (Not nested: the default cannot be told apart from an explicit value.)
class ThreadBudget {
 public:
  explicit ThreadBudget(int n) { fastlayers::set_num_threads(n); }
  ~ThreadBudget() { fastlayers::set_num_threads(0); }
  ThreadBudget(const ThreadBudget&) = delete;
  ThreadBudget& operator=(const ThreadBudget&) = delete;
};

inline std::size_t usize(Index n) { return static_cast<std::size_t>(n); }

// n values drawn uniformly from [lo, hi), reproducible from the seed.
template <class T>
std::vector<T> uniform(Index n, double lo, double hi, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<T> v(usize(n));
  for (auto& e : v) e = static_cast<T>(dist(rng));
  return v;
}

inline std::vector<std::int64_t> random_labels(Index n, Index c, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::int64_t> dist(0, c - 1);
  std::vector<std::int64_t> t(usize(n));
  for (auto& e : t) e = dist(rng);
  return t;
}

template <class T>
std::vector<T> one_hot(const std::vector<std::int64_t>& t, Index c) {
  std::vector<T> out(t.size() * usize(c), T(0));
  for (std::size_t i = 0; i < t.size(); ++i) out[i * usize(c) + static_cast<std::size_t>(t[i])] = T(1);
  return out;
}

template <class To, class From>
std::vector<To> cast(const std::vector<From>& v) {
  return std::vector<To>(v.begin(), v.end());
}

// v placed `offset` elements into a larger buffer: the data then sits at another alignment than
// a fresh vector's. The values start at .data() + offset.
template <class T>
std::vector<T> shifted(const std::vector<T>& v, std::size_t offset) {
  std::vector<T> out(offset + v.size(), T(0));
  std::copy(v.begin(), v.end(), out.begin() + static_cast<std::ptrdiff_t>(offset));
  return out;
}

template <class T>
std::vector<T> unshifted(const std::vector<T>& buf, std::size_t offset) {
  return std::vector<T>(buf.begin() + static_cast<std::ptrdiff_t>(offset), buf.end());
}

// Sizes for the element-wise kernels: empty, tiny, around multiples of the vector widths
// (4/8/16 lanes), and large enough (> 2 * grain) that the kernels split across threads.
inline std::vector<Index> elementwise_sizes() {
  std::vector<Index> sizes{0, 1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 33, 63, 65, 255, 257, 1000, 4099, 100003, 262147};
  std::mt19937_64 rng(20240601);
  std::uniform_int_distribution<Index> dist(1, 5000);
  for (int i = 0; i < 8; ++i) sizes.push_back(dist(rng));
  return sizes;
}

// |actual - expected| <= atol + rtol * |expected| element-wise; two NaNs match, and so do
// infinities of the same sign. Reports the first few mismatches.
template <class A, class E>
::testing::AssertionResult all_close(const std::vector<A>& actual, const std::vector<E>& expected, double rtol,
                                     double atol) {
  if (actual.size() != expected.size())
    return ::testing::AssertionFailure() << "sizes differ: " << actual.size() << " vs " << expected.size();
  std::ostringstream msg;
  msg.precision(std::numeric_limits<double>::max_digits10);
  std::size_t bad = 0;
  for (std::size_t i = 0; i < actual.size(); ++i) {
    const double a = static_cast<double>(actual[i]);
    const double e = static_cast<double>(expected[i]);
    const bool ok = (std::isnan(a) && std::isnan(e)) || a == e || std::abs(a - e) <= atol + rtol * std::abs(e);
    if (!ok && bad++ < 5) msg << "\n  [" << i << "] " << a << " vs expected " << e;
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << bad << " of " << actual.size() << " elements differ" << msg.str();
}

// Exactly equal (+0 == -0), NaN matching NaN.
template <class A, class E>
::testing::AssertionResult all_equal(const std::vector<A>& actual, const std::vector<E>& expected) {
  return all_close(actual, expected, 0.0, 0.0);
}

// Central differences of a scalar function f at x, in double:
//   g_i = (f(x + h e_i) - f(x - h e_i)) / 2h       error O(h^2) from truncation, O(eps / h) from rounding
template <class F>
std::vector<double> numerical_gradient(F&& f, std::vector<double> x, double h = 1e-5) {
  std::vector<double> g(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double xi = x[i];
    x[i] = xi + h;
    const double fp = f(x);
    x[i] = xi - h;
    const double fm = f(x);
    x[i] = xi;
    g[i] = (fp - fm) / (2 * h);
  }
  return g;
}

// sum_i a_i * b_i in double: the scalar loss L = sum(dout * layer(x)) whose gradient is backward(dout).
template <class A, class B>
double dot(const std::vector<A>& a, const std::vector<B>& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += static_cast<double>(a[i]) * static_cast<double>(b[i]);
  return s;
}

}  // namespace fltest
