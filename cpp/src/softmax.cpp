// softmax, cross_entropy_error and SoftmaxWithLoss kernels: rows in parallel, a vectorised exp (exp.hpp).
#include "fastlayers/softmax.hpp"

#include <Eigen/Core>
#include <cstdint>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#include "exp.hpp"

#include "fastlayers/softmax_with_loss.hpp"
#include "fastlayers/threading.hpp"

namespace fastlayers {
namespace {

constexpr Index kGrain = 1 << 14;  // elements per thread

template <class T>
using RowMap = Eigen::Map<Eigen::Array<T, 1, Eigen::Dynamic>>;
template <class T>
using ConstRowMap = Eigen::Map<const Eigen::Array<T, 1, Eigen::Dynamic>>;

// A row's max m and sum s of exp(x - m), in double: logsumexp(row) = m + log(s). The log is left to the
// caller: softmax() needs none, and the loss takes them for all rows after the rows are done. Written into
// the caller's RowStats, not returned: GCC spilled a returned pair as two halves and reloaded it whole, a
// store-forwarding stall every row.
struct RowStats {
  double m;
  double s;
};

double logsumexp(RowStats r) { return r.m + std::log(r.s); }

// y_row = softmax(x_row). The exponentials go through an aligned block buffer and are summed in a
// fixed order, so the result does not depend on where x and y are in memory.
template <class T>
void softmax_row(const T* x, Index c, T* y, RowStats& stats) {
  ConstRowMap<T> xr(x, c);
  const T m = xr.maxCoeff();
  Eigen::Array<T, detail::kBlock, 1> e;
  T s = 0;
  for (Index b = 0; b < c; b += detail::kBlock) {
    const Index len = c - b < detail::kBlock ? c - b : detail::kBlock;
    auto eb = e.head(len);
    detail::exp_exact(xr.segment(b, len).transpose() - m, eb);
    s += detail::sum_fixed_order(e.data(), len);
    RowMap<T>(y + b, len) = eb.transpose();
  }
  RowMap<T>(y, c) *= T(1) / s;
  stats.m = static_cast<double>(m);
  stats.s = static_cast<double>(s);
}

#ifdef FASTLAYERS_AVX2_EXP
// y[j] = exp(x[j] - m) for j below the last multiple of kRound vectors in [0, full), kRound vectors side by
// side (exp_approx in exp.hpp), each added to sum in order; returns where it stopped. Out of line: inlined,
// its constants held across the row made rows of a vector or two slower (SoftmaxWithLoss 100x10 double
// 2.8 -> 3.4 us).
template <class T, class V>
[[gnu::noinline]] Index exp_rounds(const T* x, Index full, typename V::R mb, T* y, typename V::R& sum) {
  constexpr Index W = V::kWidth;
  constexpr Index kRoundN = static_cast<Index>(detail::kRound) * W;
  auto s = sum;  // a local: the stores to y could alias the reference, which would then live in memory
  Index j = 0;
  for (; j + kRoundN <= full; j += kRoundN) {
    typename V::R e[detail::kRound];
    for (std::size_t k = 0; k < detail::kRound; ++k) e[k] = V::sub(V::load(x + j + static_cast<Index>(k) * W), mb);
    detail::exp_nonpositive<T, V>(e);
    for (std::size_t k = 0; k < detail::kRound; ++k) {
      V::store(y + j + static_cast<Index>(k) * W, e[k]);
      s = V::add(s, e[k]);
    }
  }
  sum = s;
  return j;
}

// Rows in the AVX2 and AVX-512 builds, on the build's widest vectors (detail::Wide): max, then exp(x - max)
// into y with a vector of running sums (exp_rounds, then a vector at a time), then the scaling, a vector at a
// time; a row's last partial vector is loaded through a mask and kept in a register until it is scaled and
// stored, so the sums run in an order fixed by c alone (not by where x and y are in memory), and the AVX2 build
// needs no masked store (microcoded on AMD Zen; one per row made SoftmaxWithLoss 100x10 twice as slow; the
// AVX-512 one stores through a mask register). 512-bit vectors from kWideMinCols columns on (so a row's
// results still depend on c alone), measured in C++ on an Intel Xeon against the 256-bit code (1 thread,
// median of 5, alternated runs): SoftmaxWithLoss 256x1000 forward float 221-283 -> 141-168 us, double
// 614-688 -> 357-363 us; with 10 columns float was slower (3.5-4.1 -> 4.4-6.4 us: a 16-lane vector two
// thirds full, and twice the lanes to reduce), so short rows keep 256-bit vectors.
constexpr Index kWideMinCols = 64;

template <class T, class V>
void softmax_row_vec(const T* x, Index c, T* y, RowStats& stats) {
  constexpr Index W = V::kWidth;
  const Index full = c - c % W;
  const auto tail = V::lanes(c - full);
  const T neg_inf = -std::numeric_limits<T>::infinity();
  auto mv = V::set1(neg_inf);
  for (Index j = 0; j < full; j += W) mv = V::max(mv, V::load(x + j));
  if (full < c) mv = V::max(mv, V::fill(V::load(x + full, tail), tail, neg_inf));
  alignas(64) T lane[W];
  V::store(lane, mv);
  T m = lane[0];
  for (Index k = 1; k < W; ++k) m = lane[k] > m ? lane[k] : m;
  // A NaN in x may be lost by the max, but its exp is NaN, so the sum and the whole row are NaN,
  // as with Eigen's maxCoeff.
  const auto mb = V::set1(m);
  auto sum = V::set1(T(0));
  Index j = full >= static_cast<Index>(detail::kRound) * W ? exp_rounds<T, V>(x, full, mb, y, sum) : 0;
  for (; j < full; j += W) {
    const auto e = detail::exp_nonpositive<T, V>(V::sub(V::load(x + j), mb));
    V::store(y + j, e);
    sum = V::add(sum, e);
  }
  auto last = V::set1(T(0));  // the partial vector's exps stay in a register until scaled
  if (full < c) {
    last = V::keep(detail::exp_nonpositive<T, V>(V::sub(V::load(x + full, tail), mb)), tail);
    sum = V::add(sum, last);
  }
  V::store(lane, sum);
  for (Index width = W / 2; width >= 1; width /= 2)  // the lanes summed pairwise, in a fixed order
    for (Index k = 0; k < width; ++k) lane[k] = lane[2 * k] + lane[2 * k + 1];
  const T s = lane[0];
  const auto inv = V::set1(T(1) / s);
  for (Index j = 0; j < full; j += W) V::store(y + j, V::mul(V::load(y + j), inv));
  if (full < c) V::store_first(y + full, V::mul(last, inv), c - full);
  stats.m = static_cast<double>(m);
  stats.s = static_cast<double>(s);
}

template <class T>
void softmax_row_any(const T* x, Index c, T* y, RowStats& stats) {
  if (c >= kWideMinCols)
    softmax_row_vec<T, detail::Wide<T>>(x, c, y, stats);
  else
    softmax_row_vec<T, detail::Vec<T>>(x, c, y, stats);
}

template <>
void softmax_row<float>(const float* x, Index c, float* y, RowStats& stats) {
  softmax_row_any(x, c, y, stats);
}

template <>
void softmax_row<double>(const double* x, Index c, double* y, RowStats& stats) {
  softmax_row_any(x, c, y, stats);
}
#endif

// Whether p[0..n) are all +-0, with a vectorisable OR over the bits (no branch per element).
template <class T>
bool all_zero(const T* p, Index n) {
  using U = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;
  constexpr U kNoSign = ~U(0) >> 1;
  U any = 0;
  for (Index k = 0; k < n; ++k) {
    U u;
    std::memcpy(&u, p + k, sizeof u);
    any |= u & kNoSign;
  }
  return any == 0;
}

// dot += sum_j t_j x_j and tsum += sum_j t_j over the j with t_j != 0, in index order, so a
// -inf logit where t_j == 0 costs nothing. One-hot rows are mostly zero: runs of zeros are
// skipped a vector at a time, and only the runs holding a target take the scalar loop.
template <class T>
void target_dot(const T* t, const T* x, Index c, double& dot, double& tsum) {
  constexpr Index kRun = 32;
  for (Index b = 0; b < c; b += kRun) {
    const Index e = c - b < kRun ? c : b + kRun;
    if (all_zero(t + b, e - b)) continue;
    for (Index j = b; j < e; ++j)
      if (t[j] != T(0)) {
        dot += static_cast<double>(t[j]) * static_cast<double>(x[j]);
        tsum += static_cast<double>(t[j]);
      }
  }
}

#ifdef FASTLAYERS_AVX2_EXP
// The same sums in the same order, the nonzero targets of each run of 32 found by vector compares and
// their bit masks, visited lowest bit first: no branch an element (where a one-hot row's target sits
// is random, so the scalar loop mispredicted once a row).
template <class T>
void target_dot_vec(const T* t, const T* x, Index c, double& dot, double& tsum) {
  using V = detail::Vec<T>;
  constexpr Index W = V::kWidth;
  constexpr Index kRun = 32;  // elements a mask covers: one branch per run of zeros
  for (Index b = 0; b < c; b += kRun) {
    const Index len = c - b < kRun ? c - b : kRun;
    std::uint32_t bits = 0;
    for (Index v = 0; v < len; v += W) {
      const auto tv = len - v < W ? V::load(t + b + v, V::lanes(len - v)) : V::load(t + b + v);
      bits |= static_cast<std::uint32_t>(V::bits(V::nonzero(tv))) << v;
    }
    for (; bits != 0; bits &= bits - 1) {
      const Index j = b + __builtin_ctz(bits);
      dot += static_cast<double>(t[j]) * static_cast<double>(x[j]);
      tsum += static_cast<double>(t[j]);
    }
  }
}

template <>
void target_dot<float>(const float* t, const float* x, Index c, double& dot, double& tsum) {
  target_dot_vec(t, x, c, dot, tsum);
}

template <>
void target_dot<double>(const double* t, const double* x, Index c, double& dot, double& tsum) {
  target_dot_vec(t, x, c, dot, tsum);
}
#endif

// Runs f(row) over rows, threaded by the total element count.
template <class F>
void for_rows(Index n, Index c, F&& f) {
  ThreadScope scope;
  const Index per_row = c > 0 ? c : 1;
  parallel_chunks(
      scope, n * per_row, kGrain,
      [&](Index b, Index e) {
        const Index first = b / per_row, last = e / per_row;  // not a division a row
        for (Index i = first; i < last; ++i) f(i);
      },
      per_row);
}

// What a row contributes to the loss, before the log: the row's stats and the rest of its term.
struct RowLoss {
  RowStats stats;
  double a;  // labels: the target logit; probabilities: sum_j t_j x_j
  double b = 0;  // probabilities: sum_j t_j (unused with labels)
};

// Sum over rows of term(row's RowLoss) in double. The rows (g(i, its RowLoss), which fills it in) run
// in parallel like for_rows; the terms, with their logs, are then summed serially in row order, so
// the result does not depend on the thread count. (g writes the fields in place: a RowLoss returned by
// value was spilled and reloaded like RowStats.)
template <class G, class Term>
double sum_rows(Index n, Index c, G&& g, Term&& term) {
  std::vector<RowLoss> per_row(static_cast<std::size_t>(n));
  for_rows(n, c, [&](Index i) { g(i, per_row[static_cast<std::size_t>(i)]); });
  double total = 0;
  for (const RowLoss& r : per_row) total += term(r);
  return total;
}

}  // namespace

template <class T>
void softmax_rows(const T* x, Index rows, Index cols, T* y) {
  if (cols == 0) return;
  for_rows(rows, cols, [&](Index i) {
    RowStats unused;
    softmax_row(x + i * cols, cols, y + i * cols, unused);
  });
}

template <class T>
double cross_entropy_labels(const T* y, Index n, Index c, const std::int64_t* t) {
  double total = 0;
  for (Index i = 0; i < n; ++i) total += static_cast<double>(std::log(y[i * c + t[i]] + T(1e-7)));
  return -total / static_cast<double>(n);
}

template <class T>
void argmax_rows(const T* t, Index n, Index c, std::int64_t* labels) {
  for (Index i = 0; i < n; ++i) labels[i] = row_argmax(t + i * c, c);
}

Index first_bad_label(const std::int64_t* t, Index n, Index c) {
  for (Index i = 0; i < n; ++i)
    if (t[i] < 0 || t[i] >= c) return i;
  return -1;
}

template <class T>
double softmax_with_loss_forward_labels(const T* x, Index n, Index c, const std::int64_t* t, T* y) {
  const double total = sum_rows(
      n, c,
      [&](Index i, RowLoss& r) {
        r.a = static_cast<double>(x[i * c + t[i]]);  // the target logit, before y (which may be x) is written
        softmax_row(x + i * c, c, y + i * c, r.stats);
      },
      [](const RowLoss& r) { return logsumexp(r.stats) - r.a; });
  return total / static_cast<double>(n);
}

template <class T>
double softmax_with_loss_forward_probs(const T* x, Index n, Index c, const T* t, T* y) {
  const double total = sum_rows(
      n, c,
      [&](Index i, RowLoss& r) {
        const T* xr = x + i * c;
        // Read the logits before y is written: x and y may be the same buffer.
        double dot = 0;  // sum_c t_c x_c  (terms with t_c == 0 skipped)
        double tsum = 0;
        target_dot(t + i * c, xr, c, dot, tsum);
        r.a = dot;
        r.b = tsum;
        softmax_row(xr, c, y + i * c, r.stats);
      },
      [](const RowLoss& r) { return r.b == 0 ? 0.0 : logsumexp(r.stats) * r.b - r.a; });
  return total / static_cast<double>(n);
}

template <class T>
void softmax_with_loss_backward_labels(const T* y, Index n, Index c, const std::int64_t* t, T scale, T* dx) {
  for_rows(n, c, [&](Index i) {
    ConstRowMap<T> yr(y + i * c, c);
    RowMap<T> dr(dx + i * c, c);
    const T target = y[i * c + t[i]];  // read first: dx and y may be the same buffer
    dr = yr * scale;
    dr[t[i]] = (target - T(1)) * scale;
  });
}

template <class T>
void softmax_with_loss_backward_probs(const T* y, Index n, Index c, const T* t, T scale, T* dx) {
  for_rows(n, c, [&](Index i) {
    ConstRowMap<T> yr(y + i * c, c);
    ConstRowMap<T> tr(t + i * c, c);
    RowMap<T> dr(dx + i * c, c);
    dr = (yr - tr) * scale;
  });
}

#define FASTLAYERS_INSTANTIATE(T)                                                                        \
  template void softmax_rows<T>(const T*, Index, Index, T*);                                             \
  template double cross_entropy_labels<T>(const T*, Index, Index, const std::int64_t*);                  \
  template void argmax_rows<T>(const T*, Index, Index, std::int64_t*);                                   \
  template double softmax_with_loss_forward_labels<T>(const T*, Index, Index, const std::int64_t*, T*);  \
  template double softmax_with_loss_forward_probs<T>(const T*, Index, Index, const T*, T*);              \
  template void softmax_with_loss_backward_labels<T>(const T*, Index, Index, const std::int64_t*, T, T*); \
  template void softmax_with_loss_backward_probs<T>(const T*, Index, Index, const T*, T, T*);

FASTLAYERS_INSTANTIATE(float)
FASTLAYERS_INSTANTIATE(double)
#undef FASTLAYERS_INSTANTIATE

}  // namespace fastlayers
