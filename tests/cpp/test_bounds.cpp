// Every kernel writes its output and nothing around it: the output sits inside a larger buffer filled with
// a sentinel, at every offset within a vector and with every length of a last partial vector (the AVX2
// build stores those lanes by 16-, 8- and 4-byte stores, not a masked store), and the elements before
// and after it must keep the sentinel. The values themselves are checked against the references
// elsewhere; here they are compared to the reference too, so a store to the wrong lane shows.
#include <cstdint>
#include <vector>

#include "fastlayers/affine.hpp"
#include "fastlayers/relu.hpp"
#include "fastlayers/sigmoid.hpp"
#include "fastlayers/softmax.hpp"
#include "fastlayers/softmax_with_loss.hpp"
#include "helpers.hpp"

namespace {

using namespace fltest;

constexpr Index kPad = 9;  // elements of sentinel either side: more than a vector of float

// A buffer of `n` elements at offset `off` inside sentinel padding.
template <class T>
struct Guarded {
  static constexpr T kSentinel = T(-12345.5);
  std::vector<T> buf;
  Index off;
  Guarded(Index n, Index offset) : buf(usize(n + offset + 2 * kPad), kSentinel), off(kPad + offset) {}
  T* data() { return buf.data() + off; }
  // The indices outside [off, off + n) that lost the sentinel.
  void expect_untouched(Index n, const char* what) const {
    for (Index i = 0; i < static_cast<Index>(buf.size()); ++i) {
      if (i < off || i >= off + n) {
        EXPECT_EQ(buf[usize(i)], kSentinel) << what << ": wrote element " << i - off;
      }
    }
  }
};

template <class T>
class Bounds : public CoreTest {};
TYPED_TEST_SUITE(Bounds, Scalars);

TYPED_TEST(Bounds, ElementwiseKernelsWriteOnlyTheirOutput) {
  using T = TypeParam;
  for (Index n = 1; n <= 19; ++n)
    for (Index offset = 0; offset < 8; ++offset) {
      const std::vector<T> x = uniform<T>(n, -3, 3, static_cast<std::uint64_t>(n));
      const std::vector<T> dout = uniform<T>(n, -1, 1, static_cast<std::uint64_t>(n) + 100);
      std::vector<T> want(usize(n));

      Guarded<T> y(n, offset);
      fastlayers::sigmoid_forward(x.data(), y.data(), n);
      y.expect_untouched(n, "sigmoid_forward");
      fastlayers::sigmoid_forward_reference(x.data(), want.data(), n);
      for (Index i = 0; i < n; ++i) EXPECT_NEAR(y.data()[i], want[usize(i)], 4 * kEps<T>) << "n " << n;

      Guarded<T> dx(n, offset);
      fastlayers::sigmoid_backward(dout.data(), want.data(), dx.data(), n);
      dx.expect_untouched(n, "sigmoid_backward");

      Guarded<T> r(n, offset);
      std::vector<unsigned char> mask_bytes(usize(n) + 2 * kPad, 0x5a);
      bool* mask = reinterpret_cast<bool*>(mask_bytes.data() + kPad);
      fastlayers::relu_forward(x.data(), r.data(), mask, n);
      r.expect_untouched(n, "relu_forward");
      for (Index i = 0; i < kPad; ++i) {
        EXPECT_EQ(mask_bytes[usize(i)], 0x5a) << "relu_forward's mask, element " << i - kPad;
        EXPECT_EQ(mask_bytes[usize(n + kPad + i)], 0x5a) << "relu_forward's mask, element " << n + i;
      }
      Guarded<T> rd(n, offset);
      fastlayers::relu_backward(dout.data(), mask, rd.data(), n);
      rd.expect_untouched(n, "relu_backward");
    }
}

TYPED_TEST(Bounds, SoftmaxRowsWriteOnlyTheirOutput) {
  using T = TypeParam;
  for (Index c = 1; c <= 19; ++c)
    for (Index rows : {1, 3})
      for (Index offset = 0; offset < 8; offset += 3) {
        const Index n = rows * c;
        const std::vector<T> x = uniform<T>(n, -4, 4, static_cast<std::uint64_t>(c));
        std::vector<T> want(usize(n));
        fastlayers::softmax_rows_reference(x.data(), rows, c, want.data());

        Guarded<T> y(n, offset);
        fastlayers::softmax_rows(x.data(), rows, c, y.data());
        y.expect_untouched(n, "softmax_rows");
        for (Index i = 0; i < n; ++i) EXPECT_NEAR(y.data()[i], want[usize(i)], 8 * kEps<T>) << "c " << c;

        const std::vector<std::int64_t> t = random_labels(rows, c, 7);
        Guarded<T> yl(n, offset);
        fastlayers::softmax_with_loss_forward_labels(x.data(), rows, c, t.data(), yl.data());
        yl.expect_untouched(n, "softmax_with_loss_forward_labels");
        for (Index i = 0; i < n; ++i) EXPECT_EQ(yl.data()[i], y.data()[i]) << "c " << c;
      }
}

TYPED_TEST(Bounds, AffineWritesOnlyItsOutputs) {
  using T = TypeParam;
  // Widths m and d around the vector widths and the small GEMM's two-vector panels.
  for (Index m : {1, 2, 3, 5, 7, 9, 10, 13, 17})
    for (Index d : {1, 3, 6, 11})
      for (Index offset : {0, 1, 5}) {
        const Index n = 7;
        const std::vector<T> x = uniform<T>(n * d, -1, 1, 1);
        const std::vector<T> W = uniform<T>(d * m, -1, 1, 2);
        const std::vector<T> b = uniform<T>(m, -1, 1, 3);
        const std::vector<T> dout = uniform<T>(n * m, -1, 1, 4);
        const fastlayers::MatView<T> w{W.data(), d, m, false};
        std::vector<T> want(usize(n * m)), dx_want(usize(n * d)), dW_want(usize(d * m)), db_want(usize(m));
        fastlayers::affine_forward_reference(x.data(), n, d, w, b.data(), want.data());
        fastlayers::affine_backward_reference(dout.data(), x.data(), n, d, w, dx_want.data(), dW_want.data(),
                                              db_want.data());

        Guarded<T> out(n * m, offset);
        fastlayers::affine_forward(x.data(), n, d, w, b.data(), out.data());
        out.expect_untouched(n * m, "affine_forward");
        for (Index i = 0; i < n * m; ++i) EXPECT_NEAR(out.data()[i], want[usize(i)], 64 * kEps<T>) << m << " " << d;

        Guarded<T> dx(n * d, offset), dW(d * m, offset), db(m, offset);
        fastlayers::affine_backward(dout.data(), x.data(), n, d, w, dx.data(), dW.data(), db.data());
        dx.expect_untouched(n * d, "affine_backward dx");
        dW.expect_untouched(d * m, "affine_backward dW");
        db.expect_untouched(m, "affine_backward db");
        for (Index i = 0; i < n * d; ++i) EXPECT_NEAR(dx.data()[i], dx_want[usize(i)], 64 * kEps<T>);
        for (Index i = 0; i < d * m; ++i) EXPECT_NEAR(dW.data()[i], dW_want[usize(i)], 64 * kEps<T>);
      }
}

}  // namespace
