// Template part of threading.hpp.
#pragma once

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
#pragma omp parallel num_threads(nt)
  {
    const Index t = omp_get_thread_num();
    const Index count = omp_get_num_threads();
    const Index per = ((n / count + align - 1) / align) * align;
    const Index begin = t * per < n ? t * per : n;
    const Index end = t == count - 1 ? n : (begin + per < n ? begin + per : n);
    if (begin < end) f(begin, end);
  }
#else
  f(Index{0}, n);
#endif
}

}  // namespace fastlayers
