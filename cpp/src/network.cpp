// The fused network pass: the layer kernels chained over buffers kept in NetBuffers. Each kernel
// splits its own work over threads (deterministically, see threading.hpp), so nothing here holds a
// ThreadScope: a scope held around them would halve every kernel's share.
#include "fastlayers/network.hpp"

#include <utility>

#include "fastlayers/affine.hpp"
#include "fastlayers/relu.hpp"
#include "fastlayers/sigmoid.hpp"
#include "fastlayers/softmax_with_loss.hpp"

namespace fastlayers {
namespace {

template <class T>
void ensure(AlignedVector<T>& v, Index size) {
  if (static_cast<Index>(v.size()) < size) v.resize(static_cast<std::size_t>(size));
}

// Runs the forward pass; returns a pointer to the last layer's output (N, widths.back()).
template <class T>
const T* forward(const NetLayer<T>* layers, Index count, const T* x, Index n, const std::vector<Index>& widths,
                 NetBuffers<T>& buf) {
  buf.act.resize(static_cast<std::size_t>(count));
  buf.mask.resize(static_cast<std::size_t>(count));
  buf.mask_size.resize(static_cast<std::size_t>(count), 0);
  const T* in = x;
  for (Index i = 0; i < count; ++i) {
    const NetLayer<T>& L = layers[i];
    const auto k = static_cast<std::size_t>(i);
    const Index din = widths[k], dout = widths[k + 1];
    ensure(buf.act[k], n * dout);
    T* out = buf.act[k].data();
    switch (L.kind) {
      case NetLayerKind::affine:
        affine_forward(in, n, din, L.W, L.b, out);  // out = in @ W + b    (N,M) = (N,D)(D,M) + (M,)
        break;
      case NetLayerKind::relu:
        if (buf.mask_size[k] < n * dout) {
          buf.mask[k].reset(new bool[static_cast<std::size_t>(n * dout)]);
          buf.mask_size[k] = n * dout;
        }
        relu_forward(in, out, buf.mask[k].get(), n * dout);
        break;
      case NetLayerKind::sigmoid:
        sigmoid_forward(in, out, n * dout);
        break;
    }
    in = out;
  }
  return in;
}

}  // namespace

template <class T>
std::vector<Index> net_widths(const NetLayer<T>* layers, Index count, Index d) {
  std::vector<Index> w{d};
  for (Index i = 0; i < count; ++i) {
    const NetLayer<T>& L = layers[i];
    if (L.kind == NetLayerKind::affine) {
      if (w.back() != L.W.rows) {
        w.push_back(-1);
        return w;
      }
      w.push_back(L.W.cols);
    } else {
      w.push_back(w.back());
    }
  }
  return w;
}

template <class T>
void net_predict(const NetLayer<T>* layers, Index count, const T* x, Index n, Index d, T* scores,
                 NetBuffers<T>& buf) {
  const std::vector<Index> widths = net_widths(layers, count, d);
  const T* out = forward(layers, count, x, n, widths, buf);
  const Index size = n * widths.back();
  for (Index i = 0; i < size; ++i) scores[i] = out[i];
}

template <class T>
double net_gradient(const NetLayer<T>* layers, Index count, const T* x, Index n, Index d,
                    const std::int64_t* labels, const T* probs, NetBuffers<T>& buf) {
  const std::vector<Index> widths = net_widths(layers, count, d);
  const T* scores = forward(layers, count, x, n, widths, buf);
  const Index c = widths.back();
  ensure(buf.y, n * c);
  Index widest = d;
  for (Index w : widths) widest = w > widest ? w : widest;
  ensure(buf.g0, n * widest);
  ensure(buf.g1, n * widest);

  // dscores = (softmax - t) / N     (N, C)
  const T scale = T(1) / static_cast<T>(n);
  double loss;
  T* g = buf.g0.data();
  T* other = buf.g1.data();
  if (labels != nullptr) {
    loss = softmax_with_loss_forward_labels(scores, n, c, labels, buf.y.data());
    softmax_with_loss_backward_labels(buf.y.data(), n, c, labels, scale, g);
  } else {
    loss = softmax_with_loss_forward_probs(scores, n, c, probs, buf.y.data());
    softmax_with_loss_backward_probs(buf.y.data(), n, c, probs, scale, g);
  }

  // g holds d(loss)/d(output of layer i), (N, widths[i+1]); Relu and Sigmoid work in place.
  for (Index i = count - 1; i >= 0; --i) {
    const NetLayer<T>& L = layers[i];
    const auto k = static_cast<std::size_t>(i);
    const Index width = widths[k + 1];
    switch (L.kind) {
      case NetLayerKind::affine: {
        const T* in = i == 0 ? x : buf.act[k - 1].data();
        // dx = g @ W.T (skipped for the first layer); dW = in.T @ g; db = sum_rows(g)
        affine_backward(g, in, n, widths[k], L.W, i == 0 ? nullptr : other, L.dW, L.db);
        std::swap(g, other);
        break;
      }
      case NetLayerKind::relu:
        if (i > 0) relu_backward(g, buf.mask[k].get(), g, n * width);
        break;
      case NetLayerKind::sigmoid:
        if (i > 0) sigmoid_backward(g, buf.act[k].data(), g, n * width);  // from the output
        break;
    }
  }
  return loss;
}

#define FASTLAYERS_INSTANTIATE(T)                                                                             \
  template std::vector<Index> net_widths<T>(const NetLayer<T>*, Index, Index);                                \
  template void net_predict<T>(const NetLayer<T>*, Index, const T*, Index, Index, T*, NetBuffers<T>&);        \
  template double net_gradient<T>(const NetLayer<T>*, Index, const T*, Index, Index, const std::int64_t*,     \
                                  const T*, NetBuffers<T>&);

FASTLAYERS_INSTANTIATE(float)
FASTLAYERS_INSTANTIATE(double)
#undef FASTLAYERS_INSTANTIATE

}  // namespace fastlayers
