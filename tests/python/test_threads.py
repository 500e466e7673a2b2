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


# --- issue 5: many threads, shared layers, thread settings changed under load -----------------------------------


def test_many_threads_each_with_their_own_layers_match_serial():
    inputs = [make_inputs(100 + seed, np.float32 if seed % 2 else np.float64) for seed in range(16)]
    serial = [train_steps(inp, steps=2) for inp in inputs]
    barrier = threading.Barrier(16)

    def job(inp):
        barrier.wait()
        return train_steps(inp, steps=2)

    with ThreadPoolExecutor(max_workers=16) as pool:
        threaded = list(pool.map(job, inputs))
    for s, t in zip(serial, threaded):
        assert_identical(s, t)


def test_one_affine_object_read_by_several_threads():
    """forward on one shared Affine from several threads: each output is the serial one (forward's output
    depends only on x, W and b; the layer's stored x is whichever forward came last)."""
    rng = np.random.default_rng(8)
    W, b = rng.standard_normal((300, 60)), rng.standard_normal(60)
    aff = fl.Affine(W, b)
    xs = [rng.standard_normal((64 + i, 300)) for i in range(8)]
    serial = [fl.Affine(W, b).forward(x) for x in xs]
    barrier = threading.Barrier(8)

    def job(i):
        barrier.wait()
        return [aff.forward(xs[i]) for _ in range(20)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(job, range(8)))
    for i, outs in enumerate(results):
        for out in outs:
            np.testing.assert_array_equal(out, serial[i])
    assert any(aff.x is not None and np.array_equal(aff.x, x) for x in xs)


def _hammer(layer_calls, seconds=1.0, n_threads=4):
    """Runs the callables from several threads at once until time is up; returns the exceptions raised."""
    stop = time.perf_counter() + seconds
    errors = []
    barrier = threading.Barrier(n_threads)

    def job(k):
        barrier.wait()
        i = 0
        while time.perf_counter() < stop:
            try:
                layer_calls[(k + i) % len(layer_calls)]()
            except ValueError as e:  # a backward whose forward another thread replaced: allowed
                errors.append(e)
            i += 1

    with ThreadPoolExecutor(max_workers=n_threads) as pool:
        list(pool.map(job, range(n_threads)))
    return errors


def test_softmax_with_loss_backward_raced_by_forward_on_another_thread():
    """Regression: backward kept a reference to the layer's targets while the GIL was released, so a
    forward on another thread could free the labels backward was reading (use after free, a crash).
    A layer is not meant to be used from two threads at once; doing so must still be memory-safe."""
    rng = np.random.default_rng(9)
    swl = fl.SoftmaxWithLoss()
    shapes = [(40000, 2), (3000, 30)]  # labels of 320 kB and 24 kB; both big enough to release the GIL
    xs = [rng.standard_normal(s) for s in shapes]
    ts = [rng.integers(0, s[1], s[0]) for s in shapes]
    calls = [
        lambda: swl.forward(xs[0], ts[0].copy()),
        lambda: swl.backward(),
        lambda: swl.forward(xs[1], ts[1].copy()),
        lambda: swl.backward(),
    ]
    _hammer(calls)
    # the layer is still consistent: the last forward's state, usable
    loss = swl.forward(xs[1], ts[1])
    assert np.isfinite(loss) and swl.backward().shape == shapes[1]


@pytest.mark.parametrize("layer_name", ["Relu", "Sigmoid", "Affine"])
def test_one_layer_used_from_several_threads_never_crashes(layer_name):
    """Forward and backward of different shapes on one layer from 4 threads: every call returns an array of a
    valid shape or raises ValueError (its forward was replaced); nothing crashes or corrupts memory."""
    rng = np.random.default_rng(10)
    if layer_name == "Affine":
        W, b = rng.standard_normal((200, 100)), rng.standard_normal(100)
        layer = fl.Affine(W, b)
        xs = [rng.standard_normal((n, 200)) for n in (300, 7)]
        douts = [rng.standard_normal((n, 100)) for n in (300, 7)]
    else:
        layer = getattr(fl, layer_name)()
        xs = [rng.standard_normal(s) for s in ((300, 200), (7, 3))]
        douts = [rng.standard_normal(x.shape) for x in xs]
    outs = []

    def fwd(i):
        return lambda: outs.append(layer.forward(xs[i]).shape)

    def bwd(i):
        return lambda: outs.append(layer.backward(douts[i]).shape)

    errors = _hammer([fwd(0), bwd(0), fwd(1), bwd(1)])
    assert outs, "no call completed"
    valid = {x.shape for x in xs} | {(x.shape[0], 100) for x in xs}
    assert set(outs) <= valid
    # a backward that ran before any forward finished, or whose forward another thread replaced
    assert all("dout" in str(e) or "before" in str(e) for e in errors), {str(e) for e in errors}


def test_set_num_threads_while_other_threads_compute():
    """Results do not depend on the thread count, so changing it mid-run must not change them either."""
    rng = np.random.default_rng(12)
    W, b = rng.standard_normal((512, 256)), rng.standard_normal(256)
    xs = [rng.standard_normal((256, 512)) for _ in range(4)]
    serial = [(fl.Affine(W, b).forward(x), fl.Sigmoid().forward(x), fl.softmax(x)) for x in xs]
    stop = threading.Event()

    def toggler():
        k = 0
        while not stop.is_set():
            fl.set_num_threads([1, 2, 3, 0, 8][k % 5])
            k += 1

    th = threading.Thread(target=toggler)
    th.start()
    try:
        def job(i):
            return [(fl.Affine(W, b).forward(xs[i]), fl.Sigmoid().forward(xs[i]), fl.softmax(xs[i])) for _ in range(5)]

        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(job, range(4)))
    finally:
        stop.set()
        th.join()
        fl.set_num_threads(0)  # back to the default
    for i, runs in enumerate(results):
        for run in runs:
            for u, v in zip(run, serial[i]):
                np.testing.assert_array_equal(u, v)


def test_set_num_threads_of_a_million_ended_the_process():
    """Regression: the budget was unbounded, and a large Affine then asked OpenMP for tens of thousands of threads;
    libgomp could not create them and ended the interpreter. Now at most 1024 (OMP_NUM_THREADS is capped too)."""
    with pytest.raises(ValueError, match="1024.*1000000"):
        fl.set_num_threads(1_000_000)
    fl.set_num_threads(1024)
    try:
        assert fl.get_num_threads() == 1024
    finally:
        fl.set_num_threads(0)
    import os
    import subprocess

    env = dict(os.environ, OMP_NUM_THREADS="1000000")
    out = subprocess.run([sys.executable, "-c", "import fastlayers as fl; print(fl.get_num_threads())"],
                         env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1024"
