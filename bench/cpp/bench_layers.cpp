// Google Benchmark over the core kernels: forward and backward of each layer, float and double, 1 and 2
// threads, at the book's MNIST shapes, a medium/large shape and one element (the kernels' fixed cost).
// Counters: bytes/s of minimal memory traffic (elementwise, softmax) and flops/s (Affine), per real second.
#include <benchmark/benchmark.h>

#include <array>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "fastlayers/affine.hpp"
#include "fastlayers/cpu.hpp"
#include "fastlayers/network.hpp"
#include "fastlayers/relu.hpp"
#include "fastlayers/sigmoid.hpp"
#include "fastlayers/softmax_with_loss.hpp"
#include "fastlayers/threading.hpp"

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define FASTLAYERS_BENCH_X86 1
#include <immintrin.h>
#else
#define FASTLAYERS_BENCH_X86 0
#endif

namespace {

namespace fl = fastlayers;
using fl::Index;

using fl::cpu_has_avx2_fma;

// Whether this CPU can run the core this executable links (fastlayers/cpu.hpp: safe anywhere).
bool cpu_runs_this_core() { return fl::cpu_runs_isa(FASTLAYERS_ISA); }

// Skips the benchmark (before any core code runs) on a CPU without the core's ISA; otherwise sets
// the kernels' thread budget to the benchmark argument `threads_arg`.
bool setup(benchmark::State& state, int threads_arg) {
  if (!cpu_runs_this_core()) {
    state.SkipWithError("this CPU cannot run the " FASTLAYERS_ISA " core");
    return false;
  }
  fl::set_num_threads(static_cast<int>(state.range(threads_arg)));
  return true;
}

std::size_t usize(Index n) { return static_cast<std::size_t>(n); }

template <class T>
std::vector<T> normal(Index n, double scale, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> dist(0.0, scale);
  std::vector<T> v(usize(n));
  for (auto& e : v) e = static_cast<T>(dist(rng));
  return v;
}

std::vector<std::int64_t> random_labels(Index n, Index c, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<std::int64_t> dist(0, c - 1);
  std::vector<std::int64_t> t(usize(n));
  for (auto& e : t) e = dist(rng);
  return t;
}

template <class T>
std::vector<T> one_hot(const std::vector<std::int64_t>& labels, Index c) {
  std::vector<T> t(labels.size() * usize(c), T(0));
  for (std::size_t i = 0; i < labels.size(); ++i) t[i * usize(c) + static_cast<std::size_t>(labels[i])] = T(1);
  return t;
}

// `per_iteration` units of work (bytes, flops) each iteration, reported per second of real time with
// decimal prefixes: bytes=12.3G/s is 12.3 GB/s, flops=45.6G/s is 45.6 GFLOP/s.
benchmark::Counter per_second(double per_iteration) {
  return benchmark::Counter(per_iteration, benchmark::Counter::kIsIterationInvariantRate,
                            benchmark::Counter::kIs1000);
}

// Shapes (rows N, columns D) of Relu and Sigmoid: the book's hidden layer, large, one element.
void elementwise_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"N", "D", "threads"});
  for (const auto& s : std::vector<std::array<std::int64_t, 2>>{{100, 50}, {4096, 1024}, {1, 1}})
    for (std::int64_t t : {1, 2}) b->Args({s[0], s[1], t});
  b->UseRealTime()->Unit(benchmark::kMicrosecond);
}

// Shapes (N, D, M) of Affine: the book's two layers, its first on a small batch (8), medium, one element.
void affine_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"N", "D", "M", "threads"});
  for (const auto& s : std::vector<std::array<std::int64_t, 3>>{
           {100, 784, 50}, {100, 50, 10}, {8, 784, 50}, {256, 1024, 1024}, {1, 1, 1}})
    for (std::int64_t t : {1, 2}) b->Args({s[0], s[1], s[2], t});
  b->UseRealTime()->Unit(benchmark::kMicrosecond);
}

// Shapes (N, C) of SoftmaxWithLoss: the book's output layer, medium, one element.
void softmax_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"N", "C", "threads"});
  for (const auto& s : std::vector<std::array<std::int64_t, 2>>{{100, 10}, {256, 1000}, {1, 1}})
    for (std::int64_t t : {1, 2}) b->Args({s[0], s[1], t});
  b->UseRealTime()->Unit(benchmark::kMicrosecond);
}

// Relu forward: reads x, writes y and the 1-byte mask.
template <class T>
void BM_ReluForward(benchmark::State& state) {
  if (!setup(state, 2)) return;
  const Index n = state.range(0) * state.range(1);
  const auto x = normal<T>(n, 1.0, 1);
  std::vector<T> y(usize(n));
  std::unique_ptr<bool[]> mask(new bool[usize(n)]());
  for (auto _ : state) {
    fl::relu_forward(x.data(), y.data(), mask.get(), n);
    benchmark::ClobberMemory();
  }
  state.counters["bytes"] = per_second(static_cast<double>(n) * (2 * sizeof(T) + 1));
}

// Relu backward: reads dout and the mask, writes dx.
template <class T>
void BM_ReluBackward(benchmark::State& state) {
  if (!setup(state, 2)) return;
  const Index n = state.range(0) * state.range(1);
  const auto x = normal<T>(n, 1.0, 1);
  const auto dout = normal<T>(n, 1.0, 2);
  std::vector<T> dx(usize(n));
  std::unique_ptr<bool[]> mask(new bool[usize(n)]());
  fl::relu_forward(x.data(), dx.data(), mask.get(), n);
  for (auto _ : state) {
    fl::relu_backward(dout.data(), mask.get(), dx.data(), n);
    benchmark::ClobberMemory();
  }
  state.counters["bytes"] = per_second(static_cast<double>(n) * (2 * sizeof(T) + 1));
}

// Sigmoid forward: reads x, writes out.
template <class T>
void BM_SigmoidForward(benchmark::State& state) {
  if (!setup(state, 2)) return;
  const Index n = state.range(0) * state.range(1);
  const auto x = normal<T>(n, 1.0, 1);
  std::vector<T> out(usize(n));
  for (auto _ : state) {
    fl::sigmoid_forward(x.data(), out.data(), n);
    benchmark::ClobberMemory();
  }
  state.counters["bytes"] = per_second(static_cast<double>(n) * 2 * sizeof(T));
}

// Sigmoid backward: reads dout and out, writes dx.
template <class T>
void BM_SigmoidBackward(benchmark::State& state) {
  if (!setup(state, 2)) return;
  const Index n = state.range(0) * state.range(1);
  const auto x = normal<T>(n, 1.0, 1);
  const auto dout = normal<T>(n, 1.0, 2);
  std::vector<T> out(usize(n));
  std::vector<T> dx(usize(n));
  fl::sigmoid_forward(x.data(), out.data(), n);
  for (auto _ : state) {
    fl::sigmoid_backward(dout.data(), out.data(), dx.data(), n);
    benchmark::ClobberMemory();
  }
  state.counters["bytes"] = per_second(static_cast<double>(n) * 3 * sizeof(T));
}

// Affine forward: out = x @ W + b, 2*N*D*M flops.
template <class T>
void BM_AffineForward(benchmark::State& state) {
  if (!setup(state, 3)) return;
  const Index n = state.range(0), d = state.range(1), m = state.range(2);
  const auto x = normal<T>(n * d, 1.0, 1);
  const auto W = normal<T>(d * m, 0.01, 2);
  const auto b = normal<T>(m, 0.01, 3);
  std::vector<T> out(usize(n * m));
  for (auto _ : state) {
    fl::affine_forward(x.data(), n, d, fl::MatView<T>{W.data(), d, m, false}, b.data(), out.data());
    benchmark::ClobberMemory();
  }
  state.counters["flops"] = per_second(2.0 * static_cast<double>(n * d * m));
}

// Affine backward: dx = dout @ W.T, dW = x.T @ dout, db = sum_rows(dout); 4*N*D*M + N*M flops.
template <class T>
void BM_AffineBackward(benchmark::State& state) {
  if (!setup(state, 3)) return;
  const Index n = state.range(0), d = state.range(1), m = state.range(2);
  const auto x = normal<T>(n * d, 1.0, 1);
  const auto W = normal<T>(d * m, 0.01, 2);
  const auto dout = normal<T>(n * m, 1.0, 3);
  std::vector<T> dx(usize(n * d)), dW(usize(d * m)), db(usize(m));
  for (auto _ : state) {
    fl::affine_backward(dout.data(), x.data(), n, d, fl::MatView<T>{W.data(), d, m, false}, dx.data(), dW.data(),
                        db.data());
    benchmark::ClobberMemory();
  }
  state.counters["flops"] = per_second(4.0 * static_cast<double>(n * d * m) + static_cast<double>(n * m));
}

// SoftmaxWithLoss forward with integer labels: reads x and the labels, writes y.
template <class T>
void BM_SoftmaxWithLossForwardLabels(benchmark::State& state) {
  if (!setup(state, 2)) return;
  const Index n = state.range(0), c = state.range(1);
  const auto x = normal<T>(n * c, 1.0, 1);
  const auto t = random_labels(n, c, 2);
  std::vector<T> y(usize(n * c));
  for (auto _ : state)
    benchmark::DoNotOptimize(fl::softmax_with_loss_forward_labels(x.data(), n, c, t.data(), y.data()));
  state.counters["bytes"] = per_second(static_cast<double>(n * c) * 2 * sizeof(T) + static_cast<double>(n) * 8);
}

// SoftmaxWithLoss forward with one-hot targets (the book's MNIST setting): reads x and t, writes y.
template <class T>
void BM_SoftmaxWithLossForwardOneHot(benchmark::State& state) {
  if (!setup(state, 2)) return;
  const Index n = state.range(0), c = state.range(1);
  const auto x = normal<T>(n * c, 1.0, 1);
  const auto t = one_hot<T>(random_labels(n, c, 2), c);
  std::vector<T> y(usize(n * c));
  for (auto _ : state)
    benchmark::DoNotOptimize(fl::softmax_with_loss_forward_probs(x.data(), n, c, t.data(), y.data()));
  state.counters["bytes"] = per_second(static_cast<double>(n * c) * 3 * sizeof(T));
}

// SoftmaxWithLoss backward with integer labels: reads y and the labels, writes dx.
template <class T>
void BM_SoftmaxWithLossBackwardLabels(benchmark::State& state) {
  if (!setup(state, 2)) return;
  const Index n = state.range(0), c = state.range(1);
  const auto x = normal<T>(n * c, 1.0, 1);
  const auto t = random_labels(n, c, 2);
  std::vector<T> y(usize(n * c)), dx(usize(n * c));
  fl::softmax_with_loss_forward_labels(x.data(), n, c, t.data(), y.data());
  const T scale = T(1) / static_cast<T>(n);
  for (auto _ : state) {
    fl::softmax_with_loss_backward_labels(y.data(), n, c, t.data(), scale, dx.data());
    benchmark::ClobberMemory();
  }
  state.counters["bytes"] = per_second(static_cast<double>(n * c) * 2 * sizeof(T) + static_cast<double>(n) * 8);
}

// SoftmaxWithLoss backward with one-hot targets: reads y and t, writes dx.
template <class T>
void BM_SoftmaxWithLossBackwardOneHot(benchmark::State& state) {
  if (!setup(state, 2)) return;
  const Index n = state.range(0), c = state.range(1);
  const auto x = normal<T>(n * c, 1.0, 1);
  const auto t = one_hot<T>(random_labels(n, c, 2), c);
  std::vector<T> y(usize(n * c)), dx(usize(n * c));
  fl::softmax_with_loss_forward_probs(x.data(), n, c, t.data(), y.data());
  const T scale = T(1) / static_cast<T>(n);
  for (auto _ : state) {
    fl::softmax_with_loss_backward_probs(y.data(), n, c, t.data(), scale, dx.data());
    benchmark::ClobberMemory();
  }
  state.counters["bytes"] = per_second(static_cast<double>(n * c) * 3 * sizeof(T));
}

// The book's TwoLayerNet gradient as one fused call (net_gradient: Affine 784->50, Relu, Affine 50->10,
// SoftmaxWithLoss on integer labels, batch N; no dx for the first layer): 2*N*(2*784*50 + 3*50*10) flops.
template <class T>
void BM_TwoLayerNetGradient(benchmark::State& state) {
  if (!setup(state, 1)) return;
  const Index n = state.range(0), d = 784, h = 50, c = 10;
  const auto x = normal<T>(n * d, 0.3, 1);
  const auto W1 = normal<T>(d * h, 0.01, 2), b1 = normal<T>(h, 0.01, 3);
  const auto W2 = normal<T>(h * c, 0.01, 4), b2 = normal<T>(c, 0.01, 5);
  const auto labels = random_labels(n, c, 6);
  std::vector<T> dW1(usize(d * h)), db1(usize(h)), dW2(usize(h * c)), db2(usize(c));
  std::vector<fl::NetLayer<T>> layers(3);
  layers[0] = {fl::NetLayerKind::affine, fl::MatView<T>{W1.data(), d, h, false}, b1.data(), dW1.data(), db1.data()};
  layers[1].kind = fl::NetLayerKind::relu;
  layers[2] = {fl::NetLayerKind::affine, fl::MatView<T>{W2.data(), h, c, false}, b2.data(), dW2.data(), db2.data()};
  fl::NetBuffers<T> buf;
  for (auto _ : state) {
    benchmark::DoNotOptimize(fl::net_gradient<T>(layers.data(), 3, x.data(), n, d, labels.data(), nullptr, buf));
    benchmark::ClobberMemory();
  }
  state.counters["flops"] = per_second(2.0 * static_cast<double>(n) * (2 * d * h + 3 * h * c));
}

void net_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"N", "threads"});
  for (std::int64_t t : {1, 2}) b->Args({100, t});
  b->UseRealTime()->Unit(benchmark::kMicrosecond);
}

#if FASTLAYERS_BENCH_X86
constexpr int kChains = 12;  // independent FMA chains: more than FMA latency x FMA ports (4 x 2 on Zen 3)

// `iters` rounds of kChains independent 8-lane float FMAs: 16 * kChains flops a round at the FMA peak.
__attribute__((target("avx2,fma"))) float fma_chains(std::int64_t iters) {
  __m256 acc[kChains];
  for (int c = 0; c < kChains; ++c) acc[c] = _mm256_set1_ps(static_cast<float>(c));
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-6f);
  for (std::int64_t i = 0; i < iters; ++i)
    for (int c = 0; c < kChains; ++c) acc[c] = _mm256_fmadd_ps(acc[c], a, b);
  __m256 sum = acc[0];
  for (int c = 1; c < kChains; ++c) sum = _mm256_add_ps(sum, acc[c]);
  return _mm_cvtss_f32(_mm256_castps256_ps128(sum));
}

// This machine's float FMA peak with `threads` threads (each runs the chains; the ceiling of Affine's
// GFLOP/s, to set against the nominal 102 GFLOP/s a core of issue 3).
void BM_FmaPeak(benchmark::State& state) {
  if (!cpu_has_avx2_fma()) {
    state.SkipWithError("CPU lacks AVX2/FMA");
    return;
  }
  const int threads = static_cast<int>(state.range(0));
  constexpr std::int64_t kIters = 1 << 16;
  for (auto _ : state) {
    float sink = 0;
#pragma omp parallel num_threads(threads) reduction(+ : sink)
    sink += fma_chains(kIters);
    benchmark::DoNotOptimize(sink);
  }
  state.counters["flops"] = per_second(16.0 * kChains * kIters * threads);
}
BENCHMARK(BM_FmaPeak)->ArgName("threads")->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMicrosecond);
#endif

#define FASTLAYERS_BENCH(fn, args)              \
  BENCHMARK_TEMPLATE(fn, float)->Apply(args);   \
  BENCHMARK_TEMPLATE(fn, double)->Apply(args)

FASTLAYERS_BENCH(BM_ReluForward, elementwise_args);
FASTLAYERS_BENCH(BM_ReluBackward, elementwise_args);
FASTLAYERS_BENCH(BM_SigmoidForward, elementwise_args);
FASTLAYERS_BENCH(BM_SigmoidBackward, elementwise_args);
FASTLAYERS_BENCH(BM_AffineForward, affine_args);
FASTLAYERS_BENCH(BM_AffineBackward, affine_args);
FASTLAYERS_BENCH(BM_SoftmaxWithLossForwardLabels, softmax_args);
FASTLAYERS_BENCH(BM_SoftmaxWithLossForwardOneHot, softmax_args);
FASTLAYERS_BENCH(BM_SoftmaxWithLossBackwardLabels, softmax_args);
FASTLAYERS_BENCH(BM_SoftmaxWithLossBackwardOneHot, softmax_args);
FASTLAYERS_BENCH(BM_TwoLayerNetGradient, net_args);

// Which core the numbers are for, in the context header (console) and "context" (JSON).
const bool kContext = (benchmark::AddCustomContext("fastlayers_isa", FASTLAYERS_ISA), true);

}  // namespace
