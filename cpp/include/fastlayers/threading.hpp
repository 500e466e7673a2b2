// Thread budget of the kernels: one process-wide setting, shared fairly between
// the Python threads that call kernels at the same time.
#pragma once

#include "fastlayers/common.hpp"

namespace fastlayers {

// Threads a kernel may use (>= 1). Starts at OpenMP's default, which honours OMP_NUM_THREADS.
int get_num_threads();
// n <= 0 resets to OpenMP's default.
void set_num_threads(int n);

// Held by every public kernel for its duration. While k calls run at once (from
// several Python threads, say) each gets get_num_threads() / k threads, so that
// concurrent callers do not oversubscribe the cores. It also sets the calling
// thread's OpenMP default to that budget, which Eigen's GEMM reads, and restores it.
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
  int saved_;
};

// Runs f(begin, end) over [0, n) split into contiguous chunks, one per thread;
// chunk starts are multiples of `align` so vector loops stay aligned.
template <class F>
void parallel_chunks(const ThreadScope& scope, Index n, Index grain, F&& f, Index align = 16);

}  // namespace fastlayers

#include "fastlayers/threading_impl.hpp"
