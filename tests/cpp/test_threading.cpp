// The thread budget: set/get, its fair share between concurrent kernels, the chunk split, and
// kernels that give identical results on 1 and 2 threads, and from two calling threads at once.
#include "fastlayers/threading.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <mutex>
#include <new>
#include <stdexcept>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "fastlayers/affine.hpp"
#include "fastlayers/relu.hpp"
#include "fastlayers/sigmoid.hpp"
#include "fastlayers/softmax.hpp"
#include "fastlayers/softmax_with_loss.hpp"
#include "helpers.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif
#ifdef __linux__
#include <dirent.h>
#endif

namespace {

using namespace fltest;
using fastlayers::get_num_threads;
using fastlayers::parallel_chunks;
using fastlayers::set_num_threads;
using fastlayers::ThreadScope;

using Threading = CoreTest;

// Regression: set_num_threads(1000000) made a 2048^3 Affine ask OpenMP for 32,768 threads; libgomp could not
// create them and ended the process ("Thread creation failed").
TEST_F(Threading, NumThreadsIsCappedSoOpenMPNeverFailsToCreateThem) {
  set_num_threads(1 << 20);
  EXPECT_EQ(get_num_threads(), fastlayers::kMaxThreads);
  {
    ThreadScope scope;
    EXPECT_LE(scope.threads_for(Index{1} << 40, 1), fastlayers::kMaxThreads);
  }
  set_num_threads(0);
}

TEST_F(Threading, SetAndGetNumThreads) {
  set_num_threads(0);
  const int fallback = get_num_threads();  // OpenMP's default, which honours OMP_NUM_THREADS
  EXPECT_GE(fallback, 1);
#ifdef _OPENMP
  EXPECT_EQ(fallback, omp_get_max_threads());
#endif
  set_num_threads(3);
  EXPECT_EQ(get_num_threads(), 3);
  set_num_threads(1);
  EXPECT_EQ(get_num_threads(), 1);
  set_num_threads(-2);  // n <= 0 resets
  EXPECT_EQ(get_num_threads(), fallback);
  set_num_threads(64);  // more than the cores is allowed
  EXPECT_EQ(get_num_threads(), 64);
  set_num_threads(0);
  EXPECT_EQ(get_num_threads(), fallback);
}

#ifdef _OPENMP
// Unset, the budget follows OpenMP's setting as it is now, so threadpoolctl's omp_set_num_threads
// limits the kernels too; an explicit set_num_threads wins over it.
TEST_F(Threading, DefaultFollowsOmpSetNumThreads) {
  const int omp_saved = omp_get_max_threads();
  set_num_threads(0);
  omp_set_num_threads(3);
  EXPECT_EQ(get_num_threads(), 3);
  set_num_threads(2);
  EXPECT_EQ(get_num_threads(), 2);
  set_num_threads(0);
  omp_set_num_threads(omp_saved);
  EXPECT_EQ(get_num_threads(), omp_saved);
}
#endif

TEST_F(Threading, ConcurrentScopesShareTheBudget) {
  const ThreadBudget budget(4);
  {
    const ThreadScope a;
    EXPECT_EQ(a.threads(), 4);
    {
      const ThreadScope b;
      EXPECT_EQ(b.threads(), 2);  // 4 / 2 running
      const ThreadScope c;
      EXPECT_EQ(c.threads(), 1);  // 4 / 3, at least 1
    }
    const ThreadScope d;
    EXPECT_EQ(d.threads(), 2);  // a is still running
  }
  const ThreadScope alone;
  EXPECT_EQ(alone.threads(), 4);  // the others gave their share back
}

TEST_F(Threading, ThreadsForNeedsTwoGrainsPerExtraThread) {
  {
    const ThreadBudget budget(4);
    const ThreadScope scope;
    EXPECT_EQ(scope.threads_for(0, 100), 1);
    EXPECT_EQ(scope.threads_for(199, 100), 1);  // under two grains: not worth a second thread
    EXPECT_EQ(scope.threads_for(200, 100), 2);
    EXPECT_EQ(scope.threads_for(350, 100), 3);  // one thread per whole grain
    EXPECT_EQ(scope.threads_for(1000000, 100), 4);  // capped by the budget
  }
  {
    const ThreadBudget budget(1);
    const ThreadScope scope;
    EXPECT_EQ(scope.threads_for(1000000, 100), 1);
  }
}

// Calls parallel_for_chunks(nt, n, align, ...) and returns the chunks it handed out, checking
// that they cover [0, n) exactly once.
std::vector<std::pair<Index, Index>> chunks_of(int nt, Index n, Index align) {
  std::vector<int> hits(usize(n), 0);
  std::vector<std::pair<Index, Index>> chunks;
  std::mutex mu;
  fastlayers::parallel_for_chunks(nt, n, align, [&](Index b, Index e) {
    for (Index i = b; i < e; ++i) ++hits[usize(i)];  // chunks are disjoint: no race
    const std::lock_guard<std::mutex> lock(mu);
    chunks.emplace_back(b, e);
  });
  EXPECT_EQ(std::count(hits.begin(), hits.end(), 1), static_cast<std::ptrdiff_t>(n)) << "not covered exactly once";
  return chunks;
}

TEST_F(Threading, ParallelForChunksCoversEachIndexOnceAtAlignedStarts) {
  for (const int nt : {1, 2, 3, 4, 8}) {
    for (const Index n : {Index{0}, Index{1}, Index{15}, Index{16}, Index{17}, Index{250}, Index{1000}, Index{100003}}) {
      for (const Index align : {Index{1}, Index{10}, Index{16}}) {
        SCOPED_TRACE(::testing::Message() << "nt " << nt << ", n " << n << ", align " << align);
        const auto chunks = chunks_of(nt, n, align);
        EXPECT_GE(chunks.size(), 1u);
        EXPECT_LE(chunks.size(), static_cast<std::size_t>(nt));
        for (const auto& [b, e] : chunks) {
          EXPECT_EQ(b % align, 0) << "chunk [" << b << ", " << e << ")";
          if (n > 0) {
            EXPECT_LT(b, e) << "no empty chunk is handed out";
          }
        }
        if (nt >= 2 && n > 2 * align) {
          EXPECT_GE(chunks.size(), 2u) << "the work is really split";
        }
      }
    }
  }
}

// An exception thrown by a worker thread must reach the caller, not std::terminate the process
// (Python would see an abort instead of MemoryError for a std::bad_alloc in a kernel).
TEST_F(Threading, ParallelForChunksRethrowsAWorkersException) {
  for (const int nt : {1, 2, 4}) {
    SCOPED_TRACE(::testing::Message() << "nt " << nt);
    const Index n = 1000;
    EXPECT_THROW(fastlayers::parallel_for_chunks(nt, n, 16,
                                                 [&](Index b, Index e) {
                                                   if (e == n) throw std::bad_alloc();  // the last chunk only
                                                   (void)b;
                                                 }),
                 std::bad_alloc);
    EXPECT_THROW(fastlayers::parallel_for_chunks(nt, n, 16, [](Index, Index) { throw std::invalid_argument("x"); }),
                 std::invalid_argument);
  }
}

TEST_F(Threading, ParallelChunksUsesThreadsFor) {
  const Index grain = 100;
  for (const int threads : {1, 2, 3, 4}) {
    const ThreadBudget budget(threads);
    for (const Index n : {Index{150}, Index{250}, Index{100003}}) {
      SCOPED_TRACE(::testing::Message() << "threads " << threads << ", n " << n);
      std::vector<std::pair<Index, Index>> chunks;
      std::mutex mu;
      const ThreadScope scope;
      parallel_chunks(scope, n, grain, [&](Index b, Index e) {
        const std::lock_guard<std::mutex> lock(mu);
        chunks.emplace_back(b, e);
      });
      // n = 150 is under two grains: one chunk; otherwise one per useful thread (16-aligned starts).
      EXPECT_EQ(static_cast<int>(chunks.size()), scope.threads_for(n, grain));
      Index covered = 0;
      for (const auto& [b, e] : chunks) covered += e - b;
      EXPECT_EQ(covered, n);
    }
  }
}

// Runs `kernel` with 1 and with 2 threads and returns both results.
template <class F>
auto on_one_and_two_threads(F&& kernel) {
  std::pair<decltype(kernel()), decltype(kernel())> out;
  {
    const ThreadBudget budget(1);
    out.first = kernel();
  }
  {
    const ThreadBudget budget(2);
    out.second = kernel();
  }
  return out;
}

template <class T>
class ThreadCount : public CoreTest {};
TYPED_TEST_SUITE(ThreadCount, Scalars);

TYPED_TEST(ThreadCount, ElementwiseKernelsGiveIdenticalResults) {
  using T = TypeParam;
  const Index n = 262147;  // > 2 grains of every element-wise kernel
  const std::vector<T> x = uniform<T>(n, -20, 20, 131);
  const std::vector<T> dout = uniform<T>(n, -1, 1, 132);
  const auto relu = on_one_and_two_threads([&] {
    std::vector<T> y(usize(n)), dx(usize(n));
    std::unique_ptr<bool[]> mask(new bool[usize(n)]);
    fastlayers::relu_forward(x.data(), y.data(), mask.get(), n);
    fastlayers::relu_backward(dout.data(), mask.get(), dx.data(), n);
    return std::make_pair(y, dx);
  });
  EXPECT_TRUE(all_equal(relu.first.first, relu.second.first));
  EXPECT_TRUE(all_equal(relu.first.second, relu.second.second));
  const auto sigmoid = on_one_and_two_threads([&] {
    std::vector<T> y(usize(n)), dx(usize(n));
    fastlayers::sigmoid_forward(x.data(), y.data(), n);
    fastlayers::sigmoid_backward(dout.data(), y.data(), dx.data(), n);
    return std::make_pair(y, dx);
  });
  EXPECT_TRUE(all_equal(sigmoid.first.first, sigmoid.second.first));
  EXPECT_TRUE(all_equal(sigmoid.first.second, sigmoid.second.second));
}

TYPED_TEST(ThreadCount, SoftmaxKernelsGiveIdenticalResults) {
  using T = TypeParam;
  const Index n = 20000, c = 10;
  const std::vector<T> x = uniform<T>(n * c, -8, 8, 141);
  const std::vector<std::int64_t> t = random_labels(n, c, 142);
  const auto rows = on_one_and_two_threads([&] {
    std::vector<T> y(x.size());
    fastlayers::softmax_rows(x.data(), n, c, y.data());
    return y;
  });
  EXPECT_TRUE(all_equal(rows.first, rows.second));
  struct Result {
    double loss = 0;
    std::vector<T> y, dx;
  };
  const auto swl = on_one_and_two_threads([&] {
    Result r{0, std::vector<T>(x.size()), std::vector<T>(x.size())};
    r.loss = fastlayers::softmax_with_loss_forward_labels(x.data(), n, c, t.data(), r.y.data());
    fastlayers::softmax_with_loss_backward_labels(r.y.data(), n, c, t.data(), T(1) / T(n), r.dx.data());
    return r;
  });
  EXPECT_TRUE(all_equal(swl.first.y, swl.second.y));
  EXPECT_TRUE(all_equal(swl.first.dx, swl.second.dx));
  EXPECT_EQ(swl.first.loss, swl.second.loss);  // the mean over rows too, not just equal to rounding
}

TYPED_TEST(ThreadCount, AffineGivesIdenticalResults) {
  using T = TypeParam;
  // The book's small products (never split), and big enough for the GEMMs to be split: by rows (n = 300),
  // by columns (n = 64 < 2 * 48 rows), and with n = 128 rows by columns for the forward and dx products
  // (their B, 512x640, is large) but by rows for dW; in two halves over the inner dimension: the forward
  // of the book's 100x784->50 and of 40x2000->30, and the dW of 2000x50->10 (a batch of 2000); dW by the
  // AVX2 build's narrow GEMM, split by rows: 401x50 (its last share ends in a tile of one row), 784x50 and
  // 1000x20. The AVX2 build's forward computes the columns after the last whole vector as dot products
  // (dot_cols.hpp): in the rows of each share (300x401->50, 200x130->23, and the dx of 100x300->131, whose
  // B is W.T), the halves of 100x784->50 and 40x2000->30, and the last column share of 64x512->300 (4 of its
  // 300 columns). The AVX2 build's few-rows GEMM (few_rows_gemm.hpp) takes the forward of a batch of at most 16
  // (and dx, with W column-major): split by columns (16x100->2000, and 6x80->3001, whose last share ends in a
  // partial vector), in two halves over the inner dimension (16x784->50, 4x1200->200). Too small to split
  // by kGemmGrain, on two threads the backward computes dx beside dW (100x50->10, 8x784->50, 48x64->16) and
  // the AVX2 build's small GEMM splits its rows (256x32->16; 200x30->10 and 64x64->16 in double, in shares of
  // 102 + 98 and 30 + 34 rows).
  for (const auto& [n, d, m] : {std::tuple<Index, Index, Index>{100, 50, 10}, {8, 784, 50}, {48, 64, 16},
                                {256, 32, 16}, {200, 30, 10}, {64, 64, 16}, {300, 401, 50}, {64, 512, 300},
                                {128, 512, 640}, {100, 784, 50}, {40, 2000, 30}, {2000, 50, 10}, {200, 1000, 20},
                                {200, 130, 23}, {100, 300, 131}, {16, 100, 2000}, {6, 80, 3001}, {16, 784, 50},
                                {4, 1200, 200}}) {
    SCOPED_TRACE(::testing::Message() << "n, d, m = " << n << ", " << d << ", " << m);
    const std::vector<T> x = uniform<T>(n * d, -1, 1, 151);
    const std::vector<T> w = uniform<T>(d * m, -1, 1, 152);
    const std::vector<T> b = uniform<T>(m, -1, 1, 153);
    const std::vector<T> dout = uniform<T>(n * m, -1, 1, 154);
    for (const bool col_major : {false, true}) {
      SCOPED_TRACE(col_major ? "W col-major" : "W row-major");
      std::vector<T> wstore(w.size());
      for (Index i = 0; i < d; ++i)
        for (Index j = 0; j < m; ++j)
          wstore[usize(col_major ? i + j * d : i * m + j)] = w[usize(i * m + j)];
      const fastlayers::MatView<T> W{wstore.data(), d, m, col_major};
      struct Result {
        std::vector<T> out, dx, dW, db;
      };
      auto run = [&] {
        Result g{std::vector<T>(usize(n * m)), std::vector<T>(usize(n * d)), std::vector<T>(usize(d * m)),
                 std::vector<T>(usize(m))};
        fastlayers::affine_forward(x.data(), n, d, W, b.data(), g.out.data());
        fastlayers::affine_backward(dout.data(), x.data(), n, d, W, g.dx.data(), g.dW.data(), g.db.data());
        return g;
      };
      const auto r = on_one_and_two_threads(run);
      EXPECT_TRUE(all_equal(r.first.out, r.second.out));
      EXPECT_TRUE(all_equal(r.first.dx, r.second.dx));
      EXPECT_TRUE(all_equal(r.first.dW, r.second.dW));
      EXPECT_TRUE(all_equal(r.first.db, r.second.db));
      for (const int nt : {3, 4}) {  // odd and even shares of the two inner halves
        SCOPED_TRACE(::testing::Message() << nt << " threads");
        const ThreadBudget budget(nt);
        const Result g = run();
        EXPECT_TRUE(all_equal(r.first.out, g.out));
        EXPECT_TRUE(all_equal(r.first.dx, g.dx));
        EXPECT_TRUE(all_equal(r.first.dW, g.dW));
        EXPECT_TRUE(all_equal(r.first.db, g.db));
      }
    }
  }
}

#ifdef __linux__
// Threads of this process right now.
int os_threads() {
  int n = 0;
  if (DIR* dir = opendir("/proc/self/task")) {
    while (const dirent* e = readdir(dir))
      if (e->d_name[0] != '.') ++n;
    closedir(dir);
  }
  return n;
}
#endif

// A budget of 1 means the kernels run on the calling thread alone: none may start a thread pool
// (Eigen's GEMM, say, which would otherwise parallelise on its own with OpenMP's default).
TEST_F(Threading, BudgetOfOneStartsNoThread) {
#ifndef __linux__
  GTEST_SKIP() << "counts threads through /proc/self/task";
#else
  if (os_threads() != 1)
    GTEST_SKIP() << "threads already run in this process (an earlier test's pool); ctest runs each test alone";
  const ThreadBudget budget(1);
  const Index n = 300, d = 401, m = 50;  // 120k-element arrays, a 6M multiply-add GEMM
  const std::vector<double> x = uniform<double>(n * d, -1, 1, 171);
  const std::vector<double> w = uniform<double>(d * m, -1, 1, 172);
  const std::vector<double> b = uniform<double>(m, -1, 1, 173);
  const std::vector<double> dout = uniform<double>(n * m, -1, 1, 174);
  const std::vector<std::int64_t> t = random_labels(n, d, 175);
  std::vector<double> y(x.size()), dx(x.size());
  std::unique_ptr<bool[]> mask(new bool[x.size()]);
  const Index size = n * d;
  fastlayers::relu_forward(x.data(), y.data(), mask.get(), size);
  fastlayers::relu_backward(x.data(), mask.get(), dx.data(), size);
  EXPECT_EQ(os_threads(), 1) << "after relu";
  fastlayers::sigmoid_forward(x.data(), y.data(), size);
  fastlayers::sigmoid_backward(x.data(), y.data(), dx.data(), size);
  EXPECT_EQ(os_threads(), 1) << "after sigmoid";
  fastlayers::softmax_rows(x.data(), n, d, y.data());
  fastlayers::softmax_with_loss_forward_labels(x.data(), n, d, t.data(), y.data());
  fastlayers::softmax_with_loss_backward_labels(y.data(), n, d, t.data(), 1.0 / static_cast<double>(n), dx.data());
  EXPECT_EQ(os_threads(), 1) << "after softmax and SoftmaxWithLoss";
  std::vector<double> out(usize(n * m)), dW(w.size()), db(b.size());
  const fastlayers::MatView<double> W{w.data(), d, m, false};
  fastlayers::affine_forward(x.data(), n, d, W, b.data(), out.data());
  EXPECT_EQ(os_threads(), 1) << "after affine_forward";
  fastlayers::affine_backward(dout.data(), x.data(), n, d, W, dx.data(), dW.data(), db.data());
  EXPECT_EQ(os_threads(), 1) << "after affine_backward";
#endif
}

TEST_F(Threading, TwoCallingThreadsAtOnceGetCorrectResults) {
  // Two threads (like two Python threads without the GIL) share the budget while both run.
  const ThreadBudget budget(2);
  const Index n = 200003;
  const std::vector<double> x = uniform<double>(n, -10, 10, 161);
  std::vector<double> want(usize(n));
  fastlayers::sigmoid_forward(x.data(), want.data(), n);
  std::vector<std::vector<double>> got(2, std::vector<double>(usize(n)));
  std::vector<int> mismatches(2, 0);
  std::vector<std::thread> callers;
  for (std::size_t k = 0; k < 2; ++k)
    callers.emplace_back([&, k] {
      for (int rep = 0; rep < 20; ++rep) {
        std::fill(got[k].begin(), got[k].end(), 0.0);
        fastlayers::sigmoid_forward(x.data(), got[k].data(), n);
        if (got[k] != want) ++mismatches[k];
      }
    });
  for (auto& t : callers) t.join();
  EXPECT_EQ(mismatches[0], 0);
  EXPECT_EQ(mismatches[1], 0);
  EXPECT_EQ(get_num_threads(), 2);  // the budget itself is untouched by the sharing
}

}  // namespace
