// The process-wide thread budget and its fair share between concurrent callers.
#include "fastlayers/threading.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <fstream>
#include <string>

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#endif

#include "stream.hpp"

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

// Linux's sysfs describes the caches of the CPU the process sees (a virtual machine's sysconf may
// report the host's whole L3: 256 MiB here, where sysfs and lscpu say 32 MiB).
std::size_t detail::last_level_cache_bytes() {
  std::size_t best = 0;
  int best_level = 0;
  for (int i = 0; i < 8; ++i) {
    const std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(i) + "/";
    std::ifstream level_file(dir + "level");
    std::ifstream size_file(dir + "size");
    int level = 0;
    std::size_t size = 0;
    std::string unit;
    if (!(level_file >> level) || !(size_file >> size)) continue;
    size_file >> unit;
    if (unit == "K") size <<= 10;
    if (unit == "M") size <<= 20;
    if (level > best_level) {
      best_level = level;
      best = size;
    }
  }
#ifdef _SC_LEVEL3_CACHE_SIZE
  if (best == 0) {
    const long bytes = sysconf(_SC_LEVEL3_CACHE_SIZE);
    if (bytes > 0) best = static_cast<std::size_t>(bytes);
  }
#endif
  return best > 0 ? best : std::size_t{32} << 20;
}

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

int detail::threads_for(int threads, Index work, Index grain) {
  if (threads <= 1 || work < 2 * grain) return 1;
  const Index useful = work / grain;
  return static_cast<int>(std::min<Index>(threads, useful));
}

int ThreadScope::threads_for(Index work, Index grain) const { return detail::threads_for(threads_, work, grain); }

}  // namespace fastlayers
