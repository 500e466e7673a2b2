"""The book's training loop (train_neuralnet.py, ch. 5.7.4) over a fastlayers network, with the fused
C++ step: shared by ``fastlayers train`` and bench/python/compare_train.py."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

__all__ = ["History", "fit"]


@dataclass
class History:
    losses: list[float] = field(default_factory=list)  # batch loss of every iteration (before its update)
    epochs: list[dict[str, Any]] = field(default_factory=list)  # {"epoch", "iter", "train_acc", "test_acc"}
    interrupted: bool = False
    time_s: float = 0.0


def fit(
    net: Any,
    optimizer: Any,
    x_train: np.ndarray,
    t_train: np.ndarray,
    x_test: np.ndarray,
    t_test: np.ndarray,
    iters: int,
    batch_size: int,
    rs: np.random.RandomState,
    on_iter: Callable[[int, float], None] | None = None,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
    history: History | None = None,
) -> History:
    """``iters`` steps of ``net.train_step`` on batches ``rs.choice(train_size, batch_size)`` (the book's
    np.random.choice), train and test accuracy every epoch of ``train_size // batch_size`` iterations
    (at i = 0, 1 epoch, 2 epochs, ... like the book). Ctrl-C ends the loop early with
    ``history.interrupted`` set; the history so far is returned either way."""
    h = history if history is not None else History()
    train_size = x_train.shape[0]
    iter_per_epoch = max(train_size // batch_size, 1)
    start = time.perf_counter()
    try:
        for i in range(iters):
            batch_mask = rs.choice(train_size, batch_size)
            loss = net.train_step(x_train[batch_mask], t_train[batch_mask], optimizer)
            h.losses.append(loss)
            if on_iter is not None:
                on_iter(i, loss)
            if i % iter_per_epoch == 0:
                e = {
                    "epoch": len(h.epochs),
                    "iter": i + 1,
                    "train_acc": net.accuracy(x_train, t_train),
                    "test_acc": net.accuracy(x_test, t_test),
                }
                h.epochs.append(e)
                if on_epoch is not None:
                    on_epoch(e)
    except KeyboardInterrupt:
        h.interrupted = True
    h.time_s = time.perf_counter() - start
    return h
