// The process-wide thread budget and its fair share between concurrent callers.
#include "fastlayers/threading.hpp"

#include <algorithm>
#include <atomic>

namespace fastlayers {
namespace {

int default_threads() {
#ifdef _OPENMP
  static const int n = omp_get_max_threads();
  return std::max(1, n);
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

void set_num_threads(int n) { g_threads.store(n > 0 ? n : 0, std::memory_order_relaxed); }

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
