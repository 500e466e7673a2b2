// Types shared by every kernel: the index type and the matrix views the kernels work on.
#pragma once

#include <cstddef>
#include <cstdint>

namespace fastlayers {

using Index = std::ptrdiff_t;

// A read-only (rows, cols) matrix that is either C-contiguous (row-major) or
// F-contiguous (col-major), e.g. a weight W or its transpose, without a copy.
template <class T>
struct MatView {
  const T* data = nullptr;
  Index rows = 0;
  Index cols = 0;
  bool col_major = false;
};

}  // namespace fastlayers
