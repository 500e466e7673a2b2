"""On real data: the book's two-layer net on MNIST images trains step for step like the NumPy reference.

Skipped when ../shared/data/mnist (beside the repo) is absent.
"""

from __future__ import annotations

import gzip

import numpy as np

import fastlayers as fl
import reference as ref


def load_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic = int.from_bytes(data[:4], "big")
    ndim = magic & 0xFF
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def test_two_layer_net_on_mnist_matches_reference(mnist_dir):
    images = load_idx(next(mnist_dir.glob("t10k-images-idx3-ubyte*")))[:200]
    labels = load_idx(next(mnist_dir.glob("t10k-labels-idx1-ubyte*")))[:200]
    assert images.shape == (200, 28, 28) and labels.shape == (200,)
    x = images.reshape(200, 1, 28, 28).astype(np.float64) / 255.0  # Affine flattens (N, 1, 28, 28)
    t = labels  # uint8 labels

    rng = np.random.default_rng(0)
    params = {
        "W1": 0.01 * rng.standard_normal((784, 50)),
        "b1": np.zeros(50),
        "W2": 0.01 * rng.standard_normal((50, 10)),
        "b2": np.zeros(10),
    }
    ours = {k: v.copy() for k, v in params.items()}
    theirs = {k: v.copy() for k, v in params.items()}

    def net(mod, p):
        return mod.Affine(p["W1"], p["b1"]), mod.Relu(), mod.Affine(p["W2"], p["b2"]), mod.SoftmaxWithLoss()

    n1, nr, n2, nl = net(fl, ours)
    r1, rr, r2, rl = net(ref, theirs)
    losses = []
    for step in range(20):
        lo = nl.forward(n2.forward(nr.forward(n1.forward(x))), t)
        lr_ = rl.forward(r2.forward(rr.forward(r1.forward(x))), t)
        # the reference loss carries the book's +1e-7 inside the log
        assert abs(lo - lr_) < 1e-5, step
        n1.backward(nr.backward(n2.backward(nl.backward())))
        r1.backward(rr.backward(r2.backward(rl.backward())))
        for (a, b), (p, q) in zip(((n1, r1), (n2, r2)), (("W1", "b1"), ("W2", "b2"))):
            np.testing.assert_allclose(a.dW, b.dW, rtol=1e-9, atol=1e-12)
            np.testing.assert_allclose(a.db, b.db, rtol=1e-9, atol=1e-12)
            ours[p] -= 0.5 * a.dW  # in place: the layers hold these arrays
            ours[q] -= 0.5 * a.db
            theirs[p] -= 0.5 * b.dW
            theirs[q] -= 0.5 * b.db
        losses.append(lo)
    assert losses[-1] < 0.8 * losses[0]
    predictions = fl.softmax(n2.forward(nr.forward(n1.forward(x)))).argmax(axis=1)
    assert np.mean(predictions == t) > 0.3
