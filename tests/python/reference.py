"""Independent NumPy reference of the book's layers (ch. 5.5-5.6) and common/functions.py.

The math is the book's, line for line; the only departures are the ones the tests need to compare
meaningfully: a sigmoid that cannot overflow (same function, branch on the sign), SoftmaxWithLoss.backward
honouring ``dout`` and treating a 1-D ``x`` as one sample, and exact (log-sum-exp) losses beside the book's
``+ 1e-7`` one.
"""

from __future__ import annotations

import numpy as np


# --- common/functions.py -----------------------------------------------------------------------------------


def sigmoid(x):
    """1 / (1 + exp(-x)), evaluated so that exp never overflows (exp(x) / (1 + exp(x)) for x < 0)."""
    x = np.asarray(x)
    out = np.empty_like(x)
    pos = x >= 0
    neg = ~pos
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    e = np.exp(x[neg])
    out[neg] = e / (1.0 + e)
    return out


def softmax(x):
    """The book's softmax along the last axis: subtract the max, exp, divide by the sum."""
    x = np.asarray(x)
    x = x - np.max(x, axis=-1, keepdims=True)
    e = np.exp(x)
    return e / np.sum(e, axis=-1, keepdims=True)


def log_softmax(x):
    """Exact log(softmax(x)) along the last axis via log-sum-exp (no +1e-7)."""
    x = np.asarray(x)
    z = x - np.max(x, axis=-1, keepdims=True)
    return z - np.log(np.sum(np.exp(z), axis=-1, keepdims=True))


def cross_entropy_error(y, t):
    """The book's cross_entropy_error, verbatim semantics (also takes a Python int label for a 1-D y)."""
    y = np.asarray(y)
    t = np.asarray(t)
    if y.ndim == 1:
        t = t.reshape(1, t.size)
        y = y.reshape(1, y.size)
    # The book tests t.size == y.size; with one class (C == 1) that mistakes labels (N,) for one-hot, so the
    # shape is what tells here (the same for every C > 1).
    if t.size == y.size and t.shape == y.shape:
        t = t.argmax(axis=1)
    t = t.reshape(-1)
    batch_size = y.shape[0]
    return float(-np.sum(np.log(y[np.arange(batch_size), t] + 1e-7)) / batch_size)


def one_hot(t, num_classes, dtype=np.float64):
    t = np.asarray(t).reshape(-1)
    out = np.zeros((t.size, num_classes), dtype=dtype)
    out[np.arange(t.size), t] = 1
    return out


def exact_loss(x, t):
    """Mean cross-entropy computed from logits: -sum(t_onehot_or_prob * log_softmax(x)) / N, in float64.

    ``t`` is (N,) labels or (N, C) targets; a 1-D ``x`` is one sample (t a scalar label or a length-C vector).
    """
    x = np.asarray(x, dtype=np.float64)
    t = np.asarray(t)
    if x.ndim == 1:
        t = t.reshape(1, -1) if t.ndim == 1 else t.reshape(1)
        x = x.reshape(1, -1)
    if t.ndim == 1:
        t = one_hot(t, x.shape[1])
    return float(-np.sum(t.astype(np.float64) * log_softmax(x)) / x.shape[0])


# --- layers (ch. 5.5-5.6) ----------------------------------------------------------------------------------


class Relu:
    def __init__(self):
        self.mask = None

    def forward(self, x):
        self.mask = x <= 0
        out = x.copy()
        out[self.mask] = 0
        return out

    def backward(self, dout):
        dx = dout.copy()  # the book writes into dout; the spec says the caller's dout is left alone
        dx[self.mask] = 0
        return dx


class Sigmoid:
    def __init__(self):
        self.out = None

    def forward(self, x):
        out = sigmoid(x)
        self.out = out
        return out

    def backward(self, dout):
        return dout * (1.0 - self.out) * self.out


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
        return np.dot(self.x, self.W) + self.b

    def backward(self, dout):
        dx = np.dot(dout, self.W.T)
        self.dW = np.dot(self.x.T, dout)
        self.db = np.sum(dout, axis=0)
        return dx.reshape(*self.original_x_shape)


class SoftmaxWithLoss:
    """The book's layer; backward returns (y - t_onehot) * dout / N (the book drops dout)."""

    def __init__(self):
        self.loss = None
        self.y = None
        self.t = None

    def forward(self, x, t):
        self.t = t
        self.y = softmax(x)
        self.loss = cross_entropy_error(self.y, self.t)
        return self.loss

    def backward(self, dout=1.0):
        y = self.y
        t = np.asarray(self.t)
        one_sample = y.ndim == 1
        y2 = y.reshape(1, -1) if one_sample else y
        if t.ndim == y.ndim:  # one-hot / probabilities
            t2 = t.reshape(y2.shape)
        else:
            t2 = one_hot(t, y2.shape[1], dtype=y2.dtype)
        batch_size = y2.shape[0]
        dx = (y2 - t2) * dout / batch_size
        return dx.reshape(y.shape)
