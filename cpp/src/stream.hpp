// Non-temporal ("streaming") stores for the elementwise kernels' large outputs (private to the core).
//
// A plain store first reads the output's cache line from memory (read for ownership), so a kernel
// that writes y while reading x moves 3 bytes for every 2 it needs. When a call touches more memory
// than the last-level cache holds, its output would be evicted before anything reads it again, and
// streaming stores, which write whole lines past the caches, remove that third read. Measured here
// (Relu forward, float32 4096x1024, one thread): 2.0 ms with plain stores, 1.4 ms streaming. Below
// the cache size plain stores stay: the next layer then finds its input in cache.
#pragma once

#include <cstddef>

#include "fastlayers/common.hpp"
#include "simd.hpp"

// -DFASTLAYERS_NO_STREAM_STORES turns them off (for measuring what they bring).
#if defined(FASTLAYERS_SIMD) && !defined(FASTLAYERS_NO_STREAM_STORES)
#define FASTLAYERS_STREAM_STORES 1
#endif

namespace fastlayers::detail {

// Bytes of the last-level cache (sysfs, else sysconf), 32 MiB when the system does not say.
std::size_t last_level_cache_bytes();

// Whether a call that reads and writes `bytes` in all should write its output with streaming stores.
inline bool stream_output(std::size_t bytes) {
#ifdef FASTLAYERS_STREAM_STORES
  static const std::size_t limit = last_level_cache_bytes();
  return bytes >= limit;
#else
  (void)bytes;
  return false;
#endif
}

}  // namespace fastlayers::detail
