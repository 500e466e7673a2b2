"""The book's chapter 5 training loop written against fastlayers' layers, as a user would write it.

Type-checked with `mypy --strict` by scripts/test.sh (it is the typing example of the README).
Run: python examples/train_book.py [--iters 300]
"""

from __future__ import annotations

import argparse
from collections import OrderedDict

import fastlayers as fl
import numpy as np
from fastlayers.typing import FloatArray


class TwoLayerNet:
    """The book's TwoLayerNet, layer by layer, with fastlayers doing the math."""

    def __init__(self, input_size: int, hidden_size: int, output_size: int, rng: np.random.Generator) -> None:
        self.params: dict[str, FloatArray] = {
            "W1": 0.01 * rng.standard_normal((input_size, hidden_size)),
            "b1": np.zeros(hidden_size),
            "W2": 0.01 * rng.standard_normal((hidden_size, output_size)),
            "b2": np.zeros(output_size),
        }
        self.affine1 = fl.Affine(self.params["W1"], self.params["b1"])  # keeps references: updates are seen
        self.affine2 = fl.Affine(self.params["W2"], self.params["b2"])
        self.layers: OrderedDict[str, fl.Affine | fl.Relu] = OrderedDict(
            [("Affine1", self.affine1), ("Relu1", fl.Relu()), ("Affine2", self.affine2)]
        )
        self.last_layer = fl.SoftmaxWithLoss()

    def predict(self, x: FloatArray) -> FloatArray:
        for layer in self.layers.values():
            x = layer.forward(x)
        return x

    def loss(self, x: FloatArray, t: np.ndarray) -> float:
        return self.last_layer.forward(self.predict(x), t)

    def accuracy(self, x: FloatArray, t: np.ndarray) -> float:
        return float(np.mean(np.argmax(self.predict(x), axis=1) == t))

    def gradient(self, x: FloatArray, t: np.ndarray) -> dict[str, FloatArray]:
        self.loss(x, t)
        dout = self.last_layer.backward()
        for layer in reversed(self.layers.values()):
            dout = layer.backward(dout)
        grads: dict[str, FloatArray] = {}
        for i, affine in ((1, self.affine1), (2, self.affine2)):
            assert affine.dW is not None and affine.db is not None
            grads[f"W{i}"], grads[f"b{i}"] = affine.dW, affine.db
        return grads


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iters", type=int, default=300)
    args = parser.parse_args(argv)

    x_train, t_train, x_test, t_test = load()
    rng = np.random.default_rng(0)
    net = TwoLayerNet(x_train.shape[1], 50, 10, rng)
    optimizer: fl.Optimizer = fl.SGD(lr=0.1)
    for i in range(args.iters):
        batch = rng.choice(len(x_train), 100)
        grads = net.gradient(x_train[batch], t_train[batch])
        optimizer.update(net.params, grads)  # in place: the layers see the new weights
        if i % 100 == 0:
            print(f"iter {i:5d}  loss {net.loss(x_train[batch], t_train[batch]):.4f}")
    accuracy = net.accuracy(x_test, t_test)
    print(f"test accuracy {accuracy:.3f}")
    return accuracy


def load() -> tuple[FloatArray, np.ndarray, FloatArray, np.ndarray]:
    """The 8x8 digits that ship with fastlayers' examples (scikit-learn's CSV), scaled to [0, 1]."""
    (x_train, t_train), (x_test, t_test) = fl.datasets.load_digits()
    return x_train.astype(np.float64), t_train, x_test.astype(np.float64), t_test


if __name__ == "__main__":
    main()
