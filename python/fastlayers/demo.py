"""A short tour of the layers on the book's numbers: ``python -m fastlayers.demo``."""

from __future__ import annotations

import time

import numpy as np

import fastlayers as fl


def main() -> None:
    print(f"fastlayers {fl.__version__}: {fl.isa} core, {fl.get_num_threads()} threads\n")

    # The book's example: y = (0.3, 0.2, 0.5) for the correct class 1.
    swl = fl.SoftmaxWithLoss()
    loss = swl.forward(np.log([[0.3, 0.2, 0.5]]), np.array([1]))
    y = swl.y
    assert y is not None
    print(f"SoftmaxWithLoss: y = {y[0]}, t = 1 -> loss = {loss:.6f}")
    print(f"  backward -> {swl.backward()[0]}   (y - t)")

    relu = fl.Relu()
    x = np.array([[1.0, -0.5], [-2.0, 3.0]])
    out = relu.forward(x)
    assert relu.mask is not None
    print(f"\nRelu.forward({x.tolist()}) -> {out.tolist()}, mask {relu.mask.tolist()}")

    sig = fl.Sigmoid()
    print(f"Sigmoid.forward([-1000, 0, 1000]) -> {sig.forward(np.array([-1000.0, 0.0, 1000.0])).tolist()}")

    # Affine keeps references to W and b: an in-place update reaches the next forward.
    rng = np.random.default_rng(0)
    W = 0.01 * rng.standard_normal((784, 50))
    b = np.zeros(50)
    aff = fl.Affine(W, b)
    xb = rng.random((100, 784))
    aff.forward(xb)
    aff.backward(np.ones((100, 50)))
    assert aff.dW is not None
    W -= 0.1 * aff.dW
    print(f"\nAffine(W {W.shape}, b {b.shape}): aff.W is W -> {aff.W is W}; after W -= 0.1 * dW the")
    print(f"  next forward matches x @ W + b: {np.allclose(aff.forward(xb), xb @ W + b)}")

    # Time one forward+backward of the book's MNIST shapes against the same NumPy code.
    def numpy_step() -> None:
        h = xb @ W + b
        mask = h <= 0
        h[mask] = 0
        dh = np.ones_like(h)
        dh[mask] = 0
        _ = dh @ W.T, xb.T @ dh, dh.sum(axis=0)

    def fastlayers_step() -> None:
        h = relu.forward(aff.forward(xb))
        aff.backward(relu.backward(np.ones_like(h)))

    for name, fn in (("NumPy", numpy_step), ("fastlayers", fastlayers_step)):
        fn()
        t0 = time.perf_counter()
        for _ in range(200):
            fn()
        us = (time.perf_counter() - t0) / 200 * 1e6
        print(f"{name:>11}: Affine+Relu forward+backward at 100x784->50: {us:7.1f} us")


if __name__ == "__main__":
    main()
