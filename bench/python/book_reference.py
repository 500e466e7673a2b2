"""The book's own NumPy code for chapter 5.7 (common/functions.py, common/layers.py,
ch05/two_layer_net.py, ch05/train_neuralnet.py), transcribed independently of fastlayers as the
baseline of compare_train.py. Plain NumPy; nothing here imports fastlayers. The layers and
functions and ch05's TwoLayerNet are book_numpy's (the benchmarks' copy of the book's code), its weights
drawn from NumPy's global random state like the book's ``np.random.randn``.

Departures from the book, both so that the two sides do the same work: the training loop takes its data
as arguments (instead of loading MNIST itself), and an epoch is ``train_size // batch_size`` iterations
(the book's float ``train_size / batch_size`` never divides i when batch_size does not divide
train_size, so it would evaluate once only).
"""

from __future__ import annotations

import time

import numpy as np
from book_numpy import TwoLayerNet


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
    network = TwoLayerNet(input_size=x_train.shape[1], hidden_size=hidden_size, output_size=10, rng=np.random)
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
