"""PyTorch counterparts of the book's layers for the benchmark: hand-written forward/backward with torch ops
(the book's classes, op for op) and the same two-layer network trained with autograd.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import torch
import torch.nn.functional as F


class Relu:
    def __init__(self):
        self.mask = None

    def forward(self, x):
        self.mask = x <= 0
        return x.masked_fill(self.mask, 0)

    def backward(self, dout):
        return dout.masked_fill(self.mask, 0)


class Sigmoid:
    def __init__(self):
        self.out = None

    def forward(self, x):
        self.out = torch.sigmoid(x)
        return self.out

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
        self.x = x.reshape(x.shape[0], -1)
        return torch.addmm(self.b, self.x, self.W)

    def backward(self, dout):
        dx = dout @ self.W.T
        self.dW = self.x.T @ dout
        self.db = dout.sum(dim=0)
        return dx.reshape(self.original_x_shape)


class SoftmaxWithLoss:
    """The book's softmax + cross_entropy_error (one-hot targets, ``+ 1e-7`` inside the log)."""

    def __init__(self):
        self.loss = None
        self.y = None
        self.t = None

    def forward(self, x, t):
        self.t = t
        self.y = torch.softmax(x, dim=-1)
        labels = t.argmax(dim=1, keepdim=True)
        self.loss = -torch.log(self.y.gather(1, labels) + 1e-7).sum() / x.shape[0]
        return self.loss

    def backward(self, dout=1):
        return (self.y - self.t) / self.t.shape[0]


TORCH_LAYERS = SimpleNamespace(Affine=Affine, Relu=Relu, SoftmaxWithLoss=SoftmaxWithLoss)


class AutogradTwoLayerNet:
    """784-50-10 Affine-Relu-Affine-softmax cross-entropy with autograd and the book's in-place SGD update."""

    def __init__(self, params: dict[str, np.ndarray]):
        self.params = {k: torch.from_numpy(v.copy()).requires_grad_() for k, v in params.items()}

    def train_step(self, x, t, learning_rate=0.1):
        p = self.params
        h = torch.relu(torch.addmm(p["b1"], x, p["W1"]))
        loss = F.cross_entropy(torch.addmm(p["b2"], h, p["W2"]), t)
        loss.backward()
        with torch.no_grad():
            for v in p.values():
                v.sub_(v.grad, alpha=learning_rate)
                v.grad = None
