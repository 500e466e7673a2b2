// Template part of threading.hpp.
#pragma once

#include <exception>
#include <mutex>
#include <utility>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace fastlayers {
namespace detail {

// Share t of count of [0, n): shares start at multiples of align, each rounded to the nearest
// multiple (at least one; rounding up gave a 100-row batch 96 rows on one thread and 4 on the
// other); the last share ends at n. A share may be empty when n is small.
inline std::pair<Index, Index> chunk_range(Index t, Index count, Index n, Index align) {
  const Index nearest = ((n / count + align / 2) / align) * align;
  const Index per = nearest > align ? nearest : align;
  const Index begin = t * per < n ? t * per : n;
  const Index end = t == count - 1 ? n : (begin + per < n ? begin + per : n);
  return {begin, end};
}

}  // namespace detail

template <class F>
void parallel_for_chunks(int nt, Index n, Index align, F&& f) {
  if (nt <= 1 || n <= align) {
    f(Index{0}, n);
    return;
  }
#ifdef _OPENMP
  // An exception must not leave an OpenMP region (that calls std::terminate): the first one
  // thrown by any thread (std::bad_alloc from Eigen's GEMM blocks, say) is rethrown here.
  std::exception_ptr error;
  std::mutex error_mutex;
#pragma omp parallel num_threads(nt)
  {
    const auto [begin, end] = detail::chunk_range(omp_get_thread_num(), omp_get_num_threads(), n, align);
    if (begin < end) {
      try {
        f(begin, end);
      } catch (...) {
        const std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
      }
    }
  }
  if (error) std::rethrow_exception(error);
#else
  f(Index{0}, n);
#endif
}

}  // namespace fastlayers
