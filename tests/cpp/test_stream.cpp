// The elementwise kernels' streaming-store paths (cpp/src/stream.hpp), taken by calls that touch more
// memory than the last-level cache: the same values as the cached path and the scalar references,
// bit for bit, at every alignment of the output, in place too, on one and on two threads.
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "../../cpp/src/stream.hpp"
#include "fastlayers/relu.hpp"
#include "fastlayers/sigmoid.hpp"
#include "helpers.hpp"

namespace {

using namespace fltest;

template <class T>
class Stream : public CoreTest {
 protected:
  // Elements enough for a Relu call (x, y: T; mask: 1 byte each) to exceed the last-level cache, and
  // so for Sigmoid's (x, out); 0 when one array would exceed 256 MiB.
  static Index large() {
    const std::size_t bytes = fastlayers::detail::last_level_cache_bytes();
    const auto n = static_cast<Index>(bytes / sizeof(T) / 2 + 1001);
    return n * static_cast<Index>(sizeof(T)) > (Index{256} << 20) ? 0 : n;
  }
};
TYPED_TEST_SUITE(Stream, Scalars);

TYPED_TEST(Stream, ReluMatchesReferenceAtEveryOffset) {
  using T = TypeParam;
  const Index n = this->large();
  if (n == 0) GTEST_SKIP() << "last-level cache too large to exceed cheaply";
  std::vector<T> x = uniform<T>(n + 8, -1, 1, 3);
  x[5] = T(0);
  x[6] = T(-0.0);
  const std::vector<T> dout = uniform<T>(n + 8, -1, 1, 4);
  std::vector<T> want(usize(n)), dwant(usize(n));
  std::unique_ptr<bool[]> mwant(new bool[usize(n)]);
  for (const int threads : {1, 2}) {
    const ThreadBudget budget(threads);
    for (const std::size_t off : {0, 1, 3}) {
      SCOPED_TRACE(::testing::Message() << "offset " << off << ", threads " << threads);
      const T* xs = x.data() + off;
      std::vector<T> y(usize(n) + 8), dx(usize(n) + 8);
      std::unique_ptr<bool[]> mask(new bool[usize(n)]);
      fastlayers::relu_forward(xs, y.data() + off, mask.get(), n);
      fastlayers::relu_forward_reference(xs, want.data(), mwant.get(), n);
      ASSERT_TRUE(all_equal(std::vector<T>(y.begin() + off, y.begin() + off + n), want));
      for (Index i = 0; i < n; ++i) ASSERT_EQ(mask[usize(i)], mwant[usize(i)]) << "i = " << i;
      fastlayers::relu_backward(dout.data() + off, mask.get(), dx.data() + off, n);
      fastlayers::relu_backward_reference(dout.data() + off, mwant.get(), dwant.data(), n);
      ASSERT_TRUE(all_equal(std::vector<T>(dx.begin() + off, dx.begin() + off + n), dwant));
      // In place: y = relu(y), then dx = relu'(dx) over the same buffer.
      std::vector<T> inplace(x.begin() + off, x.begin() + off + n);
      fastlayers::relu_forward(inplace.data(), inplace.data(), mask.get(), n);
      ASSERT_TRUE(all_equal(inplace, want));
    }
  }
}

TYPED_TEST(Stream, SigmoidMatchesTheCachedPathAtEveryOffset) {
  using T = TypeParam;
  const Index n = this->large();
  if (n == 0) GTEST_SKIP() << "last-level cache too large to exceed cheaply";
  std::vector<T> x = uniform<T>(n + 8, -30, 30, 5);
  x[1] = T(-1000);
  x[2] = T(1000);
  x[3] = T(-100);
  const std::vector<T> dout = uniform<T>(n + 8, -1, 1, 6);
  // The references, and the cached path on the same values a piece at a time (small calls never
  // stream). The AVX2 path computes each element alike wherever it is: bit for bit equal. Eigen's
  // exp (the baseline build) does a block's last partial packet with the scalar exp, so there the
  // pieces may differ in the last bit: compared with the reference's tolerance.
  const bool exact = simd_core();
  std::vector<T> ref(usize(n) + 8), piecewise(usize(n) + 8), dref(usize(n) + 8);
  fastlayers::sigmoid_forward_reference(x.data(), ref.data(), n + 8);
  const Index piece = 4096;
  for (Index b = 0; b < n + 8; b += piece)
    fastlayers::sigmoid_forward(x.data() + b, piecewise.data() + b, n + 8 - b < piece ? n + 8 - b : piece);
  for (const int threads : {1, 2}) {
    const ThreadBudget budget(threads);
    for (const std::size_t off : {0, 1, 5}) {
      SCOPED_TRACE(::testing::Message() << "offset " << off << ", threads " << threads);
      std::vector<T> y(usize(n) + 8), dx(usize(n) + 8);
      fastlayers::sigmoid_forward(x.data() + off, y.data() + off, n);
      const std::vector<T> got(y.begin() + static_cast<std::ptrdiff_t>(off),
                               y.begin() + static_cast<std::ptrdiff_t>(off) + n);
      const auto want = [&](const std::vector<T>& v) {
        return std::vector<T>(v.begin() + static_cast<std::ptrdiff_t>(off),
                              v.begin() + static_cast<std::ptrdiff_t>(off) + n);
      };
      ASSERT_TRUE(all_close(got, want(ref), 8 * kEps<T>, static_cast<double>(std::numeric_limits<T>::denorm_min())));
      if (exact) {
        ASSERT_TRUE(all_equal(got, want(piecewise)));
      }
      // Backward from the same output: products in the same order, exact.
      fastlayers::sigmoid_backward(dout.data() + off, y.data() + off, dx.data() + off, n);
      fastlayers::sigmoid_backward_reference(dout.data() + off, y.data() + off, dref.data(), n);
      ASSERT_TRUE(all_equal(std::vector<T>(dx.begin() + static_cast<std::ptrdiff_t>(off),
                                           dx.begin() + static_cast<std::ptrdiff_t>(off) + n),
                            std::vector<T>(dref.begin(), dref.begin() + n)));
    }
  }
}

}  // namespace
