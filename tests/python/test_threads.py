"""Layers used from several Python threads give results identical to serial, and compute runs without the GIL."""

from __future__ import annotations

import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import fastlayers as fl

N_THREADS = 4


def make_inputs(seed, dtype):
    rng = np.random.default_rng(seed)
    return {
        "x": rng.standard_normal((32, 3, 8, 8)).astype(dtype),
        "W1": rng.standard_normal((192, 100)).astype(dtype),
        "b1": rng.standard_normal(100).astype(dtype),
        "W2": rng.standard_normal((100, 10)).astype(dtype),
        "b2": rng.standard_normal(10).astype(dtype),
        "t": rng.integers(0, 10, 32),
    }


def train_steps(inp, steps=4, lr=0.05):
    """Affine -> Relu -> Affine -> Sigmoid -> SoftmaxWithLoss with SGD, on private copies of the weights."""
    W1, b1, W2, b2 = (inp[k].copy() for k in ("W1", "b1", "W2", "b2"))
    a1, relu, a2, sig, last = fl.Affine(W1, b1), fl.Relu(), fl.Affine(W2, b2), fl.Sigmoid(), fl.SoftmaxWithLoss()
    losses, dxs = [], []
    for _ in range(steps):
        h = sig.forward(a2.forward(relu.forward(a1.forward(inp["x"]))))
        losses.append(last.forward(h, inp["t"]))
        dxs.append(a1.backward(relu.backward(a2.backward(sig.backward(last.backward())))))
        for W, b, a in ((W1, b1, a1), (W2, b2, a2)):
            W -= lr * a.dW
            b -= lr * a.db
    return losses, dxs, (W1, b1, W2, b2), fl.softmax(h), fl.cross_entropy_error(fl.softmax(h), inp["t"])


def assert_identical(a, b):
    la, dxa, pa, ya, ea = a
    lb, dxb, pb, yb, eb = b
    assert la == lb
    assert ea == eb
    for u, v in zip([*dxa, *pa, ya], [*dxb, *pb, yb]):
        assert u.dtype == v.dtype
        np.testing.assert_array_equal(u, v)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_threads_give_the_serial_results(dtype):
    inputs = [make_inputs(seed, dtype) for seed in range(2 * N_THREADS)]
    serial = [train_steps(inp) for inp in inputs]
    with ThreadPoolExecutor(max_workers=N_THREADS) as pool:
        threaded = list(pool.map(train_steps, inputs))
    for s, t in zip(serial, threaded):
        assert_identical(s, t)


def test_threads_sharing_read_only_weights():
    """Several layers in several threads over the SAME W and b arrays (read-only use) agree with serial."""
    rng = np.random.default_rng(7)
    W = rng.standard_normal((200, 50))
    b = rng.standard_normal(50)
    xs = [rng.standard_normal((128, 200)) for _ in range(8)]
    douts = [rng.standard_normal((128, 50)) for _ in range(8)]

    def job(i):
        aff = fl.Affine(W, b)
        out = aff.forward(xs[i])
        dx = aff.backward(douts[i])
        return out, dx, aff.dW, aff.db

    serial = [job(i) for i in range(8)]
    barrier = threading.Barrier(N_THREADS)

    def job_sync(i):
        if i < N_THREADS:
            barrier.wait()  # start the first wave together
        return job(i)

    with ThreadPoolExecutor(max_workers=N_THREADS) as pool:
        threaded = list(pool.map(job_sync, range(8)))
    for s, t in zip(serial, threaded):
        for u, v in zip(s, t):
            np.testing.assert_array_equal(u, v)


def test_serial_results_are_repeatable_whatever_the_heap_state():
    """Threads can only match serial if serial is itself repeatable: the same inputs must give bit-identical
    outputs call after call, wherever the allocator happens to place output and scratch buffers."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((128, 200))
    t = rng.integers(0, 200, 128)
    W, b = rng.standard_normal((200, 50)), rng.standard_normal(50)
    dout = rng.standard_normal((128, 50))

    def run():
        swl = fl.SoftmaxWithLoss()
        loss = swl.forward(x, t)
        aff = fl.Affine(W, b)
        out = aff.forward(x)
        dx = aff.backward(dout)
        sig = fl.Sigmoid()
        return {
            "softmax": fl.softmax(x),
            "cross_entropy_error": fl.cross_entropy_error(swl.y, t),
            "SoftmaxWithLoss.loss": loss,
            "SoftmaxWithLoss.y": swl.y,
            "SoftmaxWithLoss.backward": swl.backward(),
            "Affine.forward": out,
            "Affine.backward": dx,
            "Affine.dW": aff.dW,
            "Affine.db": aff.db,
            "Sigmoid": sig.forward(x),
            "Sigmoid.backward": sig.backward(x),
        }

    first = run()
    keep = []
    differing = set()
    for i in range(30):
        keep.append(np.empty(1 + 37 * i))  # move the allocator's next addresses around
        for name, value in run().items():
            if not np.array_equal(value, first[name]):
                differing.add(name)
    assert not differing, f"not repeatable from call to call: {sorted(differing)}"


def _counter_rate(seconds):
    """Increments per second of a pure-Python counting thread (needs the GIL to run)."""
    count = [0]
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            count[0] += 1

    th = threading.Thread(target=spin)
    th.start()
    time.sleep(seconds)
    stop.set()
    th.join()
    return count[0] / seconds


def test_compute_releases_the_gil():
    """A pure-Python thread keeps running while one long fastlayers call is in progress.

    Were the GIL held for the whole call, the counter could only move during the few bytecodes around the
    call (at most ~2 switch intervals); with the GIL released it moves for most of the call.
    """
    old_interval = sys.getswitchinterval()
    sys.setswitchinterval(0.001)
    try:
        rate = _counter_rate(0.1)
        # One call that takes long enough: a large Affine forward (grow it until it takes >= 0.15 s).
        rng = np.random.default_rng(0)
        n = 512
        while True:
            x = rng.standard_normal((n, n))
            W = rng.standard_normal((n, n))
            b = np.zeros(n)
            aff = fl.Affine(W, b)
            t0 = time.perf_counter()
            aff.forward(x)
            took = time.perf_counter() - t0
            if took >= 0.15 or n >= 2048:
                break
            n *= 2

        count = [0]
        stop = threading.Event()
        started = threading.Event()

        def spin():
            started.set()
            while not stop.is_set():
                count[0] += 1

        th = threading.Thread(target=spin)
        th.start()
        started.wait()
        c0 = count[0]
        t0 = time.perf_counter()
        aff.forward(x)
        took = time.perf_counter() - t0
        c1 = count[0]
        stop.set()
        th.join()
    finally:
        sys.setswitchinterval(old_interval)

    during = c1 - c0
    held_bound = rate * 2 * 0.001  # what a GIL-holding call would allow at most
    assert took > 0.05, f"the call took only {took:.3f}s; cannot judge"
    assert during > 5 * held_bound, (
        f"counter moved {during} times during a {took:.3f}s call (rate {rate:.0f}/s); "
        f"a GIL-holding call allows ~{held_bound:.0f}"
    )
