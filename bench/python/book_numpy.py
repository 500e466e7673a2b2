"""The book's NumPy layers (common/layers.py, common/functions.py) and ch05 TwoLayerNet, as the benchmark baseline.

Verbatim semantics, including the book's quirks: ``Relu.backward`` zeroes ``dout`` in place and returns it,
``sigmoid`` is ``1 / (1 + np.exp(-x))``, ``SoftmaxWithLoss.backward`` ignores ``dout``. The only additions are
in ``TwoLayerNet``: the layer classes, the dtype and the array type of the parameters are arguments, so that
the same network code runs on the book's layers, on fastlayers' and on hand-written torch layers.
"""

from __future__ import annotations

from collections import OrderedDict
from types import ModuleType, SimpleNamespace
from typing import Any, Callable

import numpy as np


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def softmax(x):
    x = x - np.max(x, axis=-1, keepdims=True)  # guards against overflow
    return np.exp(x) / np.sum(np.exp(x), axis=-1, keepdims=True)


def cross_entropy_error(y, t):
    if y.ndim == 1:
        t = t.reshape(1, t.size)
        y = y.reshape(1, y.size)

    # one-hot targets become class labels
    if t.size == y.size:
        t = t.argmax(axis=1)

    batch_size = y.shape[0]
    return -np.sum(np.log(y[np.arange(batch_size), t] + 1e-7)) / batch_size


class Relu:
    def __init__(self):
        self.mask = None

    def forward(self, x):
        self.mask = x <= 0
        out = x.copy()
        out[self.mask] = 0
        return out

    def backward(self, dout):
        dout[self.mask] = 0
        dx = dout
        return dx


class Sigmoid:
    def __init__(self):
        self.out = None

    def forward(self, x):
        out = sigmoid(x)
        self.out = out
        return out

    def backward(self, dout):
        dx = dout * (1.0 - self.out) * self.out
        return dx


class Affine:
    def __init__(self, W, b):
        self.W = W
        self.b = b
        self.x = None
        self.original_x_shape = None
        self.dW = None
        self.db = None

    def forward(self, x):
        self.original_x_shape = x.shape
        x = x.reshape(x.shape[0], -1)
        self.x = x
        out = np.dot(self.x, self.W) + self.b
        return out

    def backward(self, dout):
        dx = np.dot(dout, self.W.T)
        self.dW = np.dot(self.x.T, dout)
        self.db = np.sum(dout, axis=0)
        dx = dx.reshape(*self.original_x_shape)
        return dx


class SoftmaxWithLoss:
    def __init__(self):
        self.loss = None
        self.y = None  # softmax output
        self.t = None  # targets

    def forward(self, x, t):
        self.t = t
        self.y = softmax(x)
        self.loss = cross_entropy_error(self.y, self.t)
        return self.loss

    def backward(self, dout=1):
        batch_size = self.t.shape[0]
        if self.t.size == self.y.size:  # one-hot targets
            dx = (self.y - self.t) / batch_size
        else:
            dx = self.y.copy()
            dx[np.arange(batch_size), self.t] -= 1
            dx = dx / batch_size
        return dx


BOOK_LAYERS = SimpleNamespace(Affine=Affine, Relu=Relu, SoftmaxWithLoss=SoftmaxWithLoss)


class TwoLayerNet:
    """ch05/two_layer_net.py without numerical_gradient; ``layers`` supplies Affine, Relu and SoftmaxWithLoss,
    ``asarray`` turns the initial NumPy parameters into the layers' array type (e.g. ``torch.from_numpy``).
    The weights come from ``rng`` (``np.random`` itself: the global state, as the book's ``np.random.randn``;
    by default a fixed ``default_rng(0)``, the same in every benchmark process)."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        output_size: int,
        weight_init_std: float = 0.01,
        *,
        layers: ModuleType | SimpleNamespace = BOOK_LAYERS,
        dtype: Any = np.float64,
        asarray: Callable[[np.ndarray], Any] = np.asarray,
        rng: Any = None,
    ):
        rng = rng if rng is not None else np.random.default_rng(0)
        self.params = {}
        self.params["W1"] = asarray((weight_init_std * rng.standard_normal((input_size, hidden_size))).astype(dtype))
        self.params["b1"] = asarray(np.zeros(hidden_size, dtype=dtype))
        self.params["W2"] = asarray((weight_init_std * rng.standard_normal((hidden_size, output_size))).astype(dtype))
        self.params["b2"] = asarray(np.zeros(output_size, dtype=dtype))

        self.layers = OrderedDict()
        self.layers["Affine1"] = layers.Affine(self.params["W1"], self.params["b1"])
        self.layers["Relu1"] = layers.Relu()
        self.layers["Affine2"] = layers.Affine(self.params["W2"], self.params["b2"])
        self.lastLayer = layers.SoftmaxWithLoss()

    def predict(self, x):
        for layer in self.layers.values():
            x = layer.forward(x)
        return x

    def loss(self, x, t):
        y = self.predict(x)
        return self.lastLayer.forward(y, t)

    def accuracy(self, x, t):
        y = self.predict(x)
        y = np.argmax(y, axis=1)
        if t.ndim != 1:
            t = np.argmax(t, axis=1)
        accuracy = np.sum(y == t) / float(x.shape[0])
        return accuracy

    def gradient(self, x, t):
        self.loss(x, t)

        dout = 1
        dout = self.lastLayer.backward(dout)
        layers = list(self.layers.values())
        layers.reverse()
        for layer in layers:
            dout = layer.backward(dout)

        grads = {}
        grads["W1"], grads["b1"] = self.layers["Affine1"].dW, self.layers["Affine1"].db
        grads["W2"], grads["b2"] = self.layers["Affine2"].dW, self.layers["Affine2"].db
        return grads

    def train_step(self, x, t, learning_rate=0.1):
        """One iteration of ch05/train_neuralnet.py on a given batch: gradient, then the in-place SGD update."""
        grad = self.gradient(x, t)
        for key in ("W1", "b1", "W2", "b2"):
            self.params[key] -= learning_rate * grad[key]
