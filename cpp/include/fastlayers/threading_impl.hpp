// Template part of threading.hpp.
#pragma once

#include <exception>
#include <mutex>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace fastlayers {

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
    const Index t = omp_get_thread_num();
    const Index count = omp_get_num_threads();
    // Each share rounded to the nearest multiple of align (at least one): rounding up gave
    // a 100-row batch 96 rows on one thread and 4 on the other.
    const Index nearest = ((n / count + align / 2) / align) * align;
    const Index per = nearest > align ? nearest : align;
    const Index begin = t * per < n ? t * per : n;
    const Index end = t == count - 1 ? n : (begin + per < n ? begin + per : n);
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
