// The process-wide thread budget and its fair share between concurrent callers.
#include "fastlayers/threading.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

#include <algorithm>
#include <atomic>

namespace fastlayers {
namespace {

// OpenMP's setting for the calling thread: OMP_NUM_THREADS, or what omp_set_num_threads (say,
// through threadpoolctl) made it.
int default_threads() {
#ifdef _OPENMP
  return std::clamp(omp_get_max_threads(), 1, kMaxThreads);
#else
  return 1;
#endif
}

std::atomic<int> g_threads{0};  // 0: not set, use default_threads()
std::atomic<int> g_active{0};   // kernels running right now

}  // namespace

int get_num_threads() {
  const int n = g_threads.load(std::memory_order_relaxed);
  return n > 0 ? n : default_threads();
}

void set_num_threads(int n) { g_threads.store(n > 0 ? std::min(n, kMaxThreads) : 0, std::memory_order_relaxed); }

ThreadScope::ThreadScope() {
  const int active = g_active.fetch_add(1, std::memory_order_relaxed) + 1;
  threads_ = std::max(1, get_num_threads() / active);
}

ThreadScope::~ThreadScope() { g_active.fetch_sub(1, std::memory_order_relaxed); }

int ThreadScope::threads_for(Index work, Index grain) const {
  if (threads_ <= 1 || work < 2 * grain) return 1;
  const Index useful = work / grain;
  return static_cast<int>(std::min<Index>(threads_, useful));
}

}  // namespace fastlayers
