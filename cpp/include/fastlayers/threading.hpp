// Thread budget of the kernels: one process-wide setting, shared fairly between
// the Python threads that call kernels at the same time.
#pragma once

#include "fastlayers/common.hpp"

namespace fastlayers {

// The most threads a kernel ever starts: OpenMP aborts the process when it cannot create a thread,
// which a budget of, say, a million threads (set, or from OMP_NUM_THREADS) made happen on a large GEMM.
constexpr int kMaxThreads = 1024;

// Threads a kernel may use (1 to kMaxThreads). Starts at OpenMP's default, which honours OMP_NUM_THREADS.
int get_num_threads();
// n <= 0 resets to OpenMP's default; n above kMaxThreads counts as kMaxThreads.
void set_num_threads(int n);

namespace detail {
// Threads worth using for `work` units when one thread should get at least `grain`, out of `threads`.
int threads_for(int threads, Index work, Index grain);
}  // namespace detail

// Held by every public kernel for its duration. While k calls run at once (from several
// Python threads, say) each gets get_num_threads() / k threads, so that concurrent callers
// do not oversubscribe the cores. Kernels split work so that their results do not depend on
// the number of threads they get.
class ThreadScope {
 public:
  ThreadScope();
  ~ThreadScope();
  ThreadScope(const ThreadScope&) = delete;
  ThreadScope& operator=(const ThreadScope&) = delete;
  int threads() const { return threads_; }
  // Threads worth using for `work` units when one thread should get at least `grain`.
  int threads_for(Index work, Index grain) const;

 private:
  int threads_;
};

// Runs f(begin, end) over [0, n) split into nt contiguous chunks, one per thread; chunk
// starts are multiples of `align`.
template <class F>
void parallel_for_chunks(int nt, Index n, Index align, F&& f);

// The same with nt = scope.threads_for(n, grain).
template <class F>
void parallel_chunks(const ThreadScope& scope, Index n, Index grain, F&& f, Index align = 16) {
  parallel_for_chunks(scope.threads_for(n, grain), n, align, f);
}

}  // namespace fastlayers

#include "fastlayers/threading_impl.hpp"
