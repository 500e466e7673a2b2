"""The book's own NumPy code for chapter 5.7 (common/functions.py, common/layers.py,
ch05/two_layer_net.py, ch05/train_neuralnet.py), transcribed independently of fastlayers as the
baseline of compare_train.py. Plain NumPy; nothing here imports fastlayers. The layers and
functions are book_numpy's (the benchmarks' copy of common/layers.py and common/functions.py).

Departures from the book, both so that the two sides do the same work: the training loop takes its data
as arguments (instead of loading MNIST itself), and an epoch is ``train_size // batch_size`` iterations
(the book's float ``train_size / batch_size`` never divides i when batch_size does not divide
train_size, so it would evaluate once only).
"""

from __future__ import annotations

import time
from collections import OrderedDict

import numpy as np
from book_numpy import Affine, Relu, SoftmaxWithLoss, cross_entropy_error, softmax  # noqa: F401


def numerical_gradient(f, x):
    h = 1e-4
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        idx = it.multi_index
        tmp_val = x[idx]
        x[idx] = float(tmp_val) + h
        fxh1 = f(x)
        x[idx] = tmp_val - h
        fxh2 = f(x)
        grad[idx] = (fxh1 - fxh2) / (2 * h)
        x[idx] = tmp_val
        it.iternext()
    return grad


class TwoLayerNet:
    def __init__(self, input_size, hidden_size, output_size, weight_init_std=0.01):
        self.params = {}
        self.params["W1"] = weight_init_std * np.random.randn(input_size, hidden_size)
        self.params["b1"] = np.zeros(hidden_size)
        self.params["W2"] = weight_init_std * np.random.randn(hidden_size, output_size)
        self.params["b2"] = np.zeros(output_size)

        self.layers = OrderedDict()
        self.layers["Affine1"] = Affine(self.params["W1"], self.params["b1"])
        self.layers["Relu1"] = Relu()
        self.layers["Affine2"] = Affine(self.params["W2"], self.params["b2"])
        self.lastLayer = SoftmaxWithLoss()

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

    def numerical_gradient(self, x, t):
        def loss_W(W):
            return self.loss(x, t)

        grads = {}
        grads["W1"] = numerical_gradient(loss_W, self.params["W1"])
        grads["b1"] = numerical_gradient(loss_W, self.params["b1"])
        grads["W2"] = numerical_gradient(loss_W, self.params["W2"])
        grads["b2"] = numerical_gradient(loss_W, self.params["b2"])
        return grads

    def gradient(self, x, t):
        # forward
        self.loss(x, t)
        # backward
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


def one_hot(t, classes=10):
    T = np.zeros((t.size, classes))
    for idx, row in enumerate(T):
        row[t[idx]] = 1
    return T


def train(x_train, t_train, x_test, t_test, iters_num=10000, batch_size=100, learning_rate=0.1, hidden_size=50,
          seed=0, log=None):
    """train_neuralnet.py: one-hot targets, SGD, accuracy every epoch. Returns a dict of the results."""
    np.random.seed(seed)
    t_train = one_hot(t_train)  # the book loads MNIST with one_hot_label=True
    t_test = one_hot(t_test)
    start = time.perf_counter()
    network = TwoLayerNet(input_size=x_train.shape[1], hidden_size=hidden_size, output_size=10)
    train_size = x_train.shape[0]
    train_loss_list, train_acc_list, test_acc_list = [], [], []
    iter_per_epoch = max(train_size // batch_size, 1)
    for i in range(iters_num):
        batch_mask = np.random.choice(train_size, batch_size)
        x_batch = x_train[batch_mask]
        t_batch = t_train[batch_mask]

        grad = network.gradient(x_batch, t_batch)
        for key in ("W1", "b1", "W2", "b2"):
            network.params[key] -= learning_rate * grad[key]

        loss = network.loss(x_batch, t_batch)
        train_loss_list.append(loss)

        if i % iter_per_epoch == 0:
            train_acc = network.accuracy(x_train, t_train)
            test_acc = network.accuracy(x_test, t_test)
            train_acc_list.append(train_acc)
            test_acc_list.append(test_acc)
            if log:
                log(f"  numpy epoch {len(test_acc_list) - 1}: train acc {train_acc:.4f}, test acc {test_acc:.4f}")
    elapsed = time.perf_counter() - start
    return {
        "time_s": elapsed,
        "train_acc": float(network.accuracy(x_train, t_train)),
        "test_acc": float(network.accuracy(x_test, t_test)),
        "train_acc_list": [float(a) for a in train_acc_list],
        "test_acc_list": [float(a) for a in test_acc_list],
        "loss": [float(v) for v in train_loss_list],
        "network": network,
    }
