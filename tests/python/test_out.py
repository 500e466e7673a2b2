"""out= arguments: the result written into the caller's array and that array returned, bit for bit the
result of the call without out=, every other array and the layer's state as without out=; in place
where an element-wise call allows it. Bad out= arrays are in test_bad_input.py."""

from __future__ import annotations

import numpy as np
import pytest

import fastlayers as fl
from helpers import FLOAT_DTYPES, Snapshot, same_contents

RNG = np.random.default_rng(5)


def data(shape, dtype, lo=-3.0, hi=3.0):
    return RNG.uniform(lo, hi, shape).astype(dtype)


def affine(dtype, xshape=(6, 2, 3), m=4):
    d = int(np.prod(xshape[1:]))
    return fl.Affine(data((d, m), dtype), data((m,), dtype)), data(xshape, dtype)


# name -> build(dtype) -> (layer or None, call(layer, **kw) -> result, arrays the call reads, attributes to compare)
def _forward(cls):
    def build(dtype):
        x = data((5, 7), dtype)
        return cls(), lambda layer, **kw: layer.forward(x, **kw), [x], ["mask"] if cls is fl.Relu else []

    return build


def _backward(cls):
    def build(dtype):
        x, dout = data((5, 7), dtype), data((5, 7), dtype)

        def call(layer, **kw):
            layer.forward(x)
            return layer.backward(dout, **kw)

        return cls(), call, [x, dout], ["mask"] if cls is fl.Relu else ["out"]

    return build


def _affine_forward(dtype):
    layer, x = affine(dtype)
    return layer, lambda layer, **kw: layer.forward(x, **kw), [x, layer.W, layer.b], ["x", "original_x_shape"]


def _affine_backward(dtype):
    layer, x = affine(dtype)
    dout = data((6, 4), dtype)

    def call(layer, **kw):
        layer.forward(x)
        return layer.backward(dout, **kw)

    return layer, call, [x, dout, layer.W, layer.b], ["x", "dW", "db"]


def _swl_backward(dtype, labels):
    x = data((6, 5), dtype)
    t = RNG.integers(0, 5, 6) if labels else np.eye(5, dtype=dtype)[RNG.integers(0, 5, 6)]

    def call(layer, **kw):
        layer.forward(x, t)
        return layer.backward(0.5, **kw)

    return fl.SoftmaxWithLoss(), call, [x, t], ["y", "t", "loss"]


def _softmax(dtype):
    x = data((4, 3, 5), dtype)
    return None, lambda _, **kw: fl.softmax(x, **kw), [x], []


CALLS = {
    "Relu.forward": _forward(fl.Relu),
    "Relu.backward": _backward(fl.Relu),
    "Sigmoid.forward": _forward(fl.Sigmoid),
    "Sigmoid.backward": _backward(fl.Sigmoid),
    "Affine.forward": _affine_forward,
    "Affine.backward": _affine_backward,
    "SoftmaxWithLoss.backward labels": lambda dtype: _swl_backward(dtype, True),
    "SoftmaxWithLoss.backward one-hot": lambda dtype: _swl_backward(dtype, False),
    "softmax": _softmax,
}


def same_value(a, b):
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.shape == b.shape and a.dtype == b.dtype and same_contents(a, b)
    return a == b


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("name", list(CALLS))
def test_out_holds_the_result_and_is_returned(name, dtype):
    layer, call, reads, attrs = CALLS[name](dtype)
    expected = call(layer)
    expected_attrs = {a: np.copy(getattr(layer, a)) if isinstance(getattr(layer, a), np.ndarray) else getattr(layer, a)
                      for a in attrs}
    inputs = Snapshot(arrays=reads)
    out = np.full(expected.shape, np.nan, expected.dtype)
    got = call(layer, out=out)
    assert got is out
    assert same_contents(out, expected), f"{name}: out= differs from the result without it"
    inputs.check()
    for a in attrs:
        assert same_value(getattr(layer, a), expected_attrs[a]), f"{name}: layer.{a} differs with out="


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_sigmoid_keeps_out_as_its_out(dtype):
    x = data((3, 4), dtype)
    sig, out = fl.Sigmoid(), np.empty((3, 4), dtype)
    assert sig.forward(x, out=out) is out
    assert sig.out is out
    np.testing.assert_array_equal(sig.backward(np.ones_like(x)), out * (1 - out))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_affine_backward_out_has_the_forward_inputs_shape(dtype):
    layer, x = affine(dtype, xshape=(4, 1, 3, 2), m=5)
    layer.forward(x)
    dout = data((4, 5), dtype)
    expected = layer.backward(dout)
    out = np.empty((4, 1, 3, 2), dtype)
    assert layer.backward(dout, out=out) is out
    assert same_contents(out, expected)


def test_out_of_an_ndarray_subclass_is_written_and_returned():
    class Tagged(np.ndarray):
        pass

    x = data((3, 4), np.float64)
    out = np.empty((3, 4)).view(Tagged)
    assert fl.Relu().forward(x, out=out) is out
    np.testing.assert_array_equal(np.asarray(out), np.maximum(x, 0))


def test_out_follows_the_computed_dtype_not_the_inputs():
    # int input computes in float64; a float32 x with a float64 W computes in float64
    relu = fl.Relu()
    out = np.empty((2, 2))
    assert relu.forward(np.array([[1, -2], [0, 3]]), out=out) is out
    np.testing.assert_array_equal(out, [[1.0, 0.0], [0.0, 3.0]])
    layer = fl.Affine(np.eye(2), np.zeros(2))
    out = np.empty((1, 2))
    assert layer.forward(np.array([[1.0, 2.0]], np.float32), out=out) is out
    np.testing.assert_array_equal(out, [[1.0, 2.0]])


def test_out_may_be_an_input_of_another_dtype_that_is_converted_first():
    # x is int64 and converted to a float64 copy before out (which views x's memory) is written.
    x = np.array([[3, -1], [-4, 2]], dtype=np.int64)
    out = x.view(np.float64)
    assert fl.Relu().forward(x, out=out) is out
    np.testing.assert_array_equal(out, [[3.0, 0.0], [0.0, 2.0]])


# --- in place ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_elementwise_calls_in_place(dtype):
    x, dout = data((6, 9), dtype), data((6, 9), dtype)

    r2 = fl.Relu()
    want_y = r2.forward(x)
    want_dx = r2.backward(dout)
    relu = fl.Relu()
    buf = x.copy()
    assert relu.forward(buf, out=buf) is buf
    assert same_contents(buf, want_y)
    np.testing.assert_array_equal(relu.mask, x <= 0)
    d = dout.copy()
    assert relu.backward(d, out=d) is d
    assert same_contents(d, want_dx)

    s2 = fl.Sigmoid()
    want_y = s2.forward(x)
    want_dx = s2.backward(dout)
    sig = fl.Sigmoid()
    buf = x.copy()
    assert sig.forward(buf, out=buf) is buf and sig.out is buf
    assert same_contents(buf, want_y)
    d = dout.copy()
    assert sig.backward(d, out=d) is d
    assert same_contents(d, want_dx)
    # into the layer's own out: each element read before it is written
    assert sig.backward(dout, out=sig.out) is buf
    assert same_contents(buf, want_dx)

    buf = x.copy()
    want = fl.softmax(x)
    assert fl.softmax(buf, out=buf) is buf
    assert same_contents(buf, want)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_softmax_with_loss_backward_into_its_own_y(dtype):
    x, t = data((5, 4), dtype), np.array([0, 3, 1, 1, 2])
    ref = fl.SoftmaxWithLoss()
    ref.forward(x, t)
    want = ref.backward()
    swl = fl.SoftmaxWithLoss()
    swl.forward(x, t)
    assert swl.backward(out=swl.y) is swl.y
    assert same_contents(swl.y, want)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_large_arrays_in_place_and_into_out(dtype, threads):
    """Arrays larger than the last-level cache take the kernels' streaming-store paths and two threads."""
    old = fl.get_num_threads()
    fl.set_num_threads(threads)
    try:
        n = (48 << 20) // np.dtype(dtype).itemsize + 3  # 48 MiB and an odd tail
        x, dout = data(n, dtype), data(n, dtype)
        for cls in (fl.Relu, fl.Sigmoid):
            ref = cls()
            want_y = ref.forward(x)
            want_dx = ref.backward(dout)
            layer = cls()
            out = np.empty_like(x)
            assert layer.forward(x, out=out) is out
            assert same_contents(out, want_y), cls.__name__
            dx = np.empty_like(x)
            assert layer.backward(dout, out=dx) is dx
            assert same_contents(dx, want_dx), cls.__name__
            layer = cls()
            buf = x.copy()
            layer.forward(buf, out=buf)
            assert same_contents(buf, want_y), cls.__name__
            d = dout.copy()
            layer.backward(d, out=d)
            assert same_contents(d, want_dx), cls.__name__
    finally:
        fl.set_num_threads(old)


def test_a_training_loop_reusing_its_buffers_learns_as_without_them():
    """A two-layer step with every activation and gradient written into buffers allocated once gives
    the same weights, step after step, as the same loop with fresh arrays."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((32, 20))
    t = rng.integers(0, 3, 32)

    def params():
        r = np.random.default_rng(2)
        return {"W1": 0.1 * r.standard_normal((20, 8)), "b1": np.zeros(8),
                "W2": 0.1 * r.standard_normal((8, 3)), "b2": np.zeros(3)}

    def run(buffers):
        p = params()
        a1, relu, a2, last = fl.Affine(p["W1"], p["b1"]), fl.Relu(), fl.Affine(p["W2"], p["b2"]), fl.SoftmaxWithLoss()
        kw = (lambda k: {"out": buffers[k]}) if buffers else (lambda k: {})
        losses = []
        for _ in range(5):
            h = relu.forward(a1.forward(x, **kw("h")), **kw("h"))
            losses.append(last.forward(a2.forward(h, **kw("s")), t))
            d = a2.backward(last.backward(**kw("ds")), **kw("dh"))
            a1._backward_params(relu.backward(d, **kw("dh")))
            for layer, w, b in ((a1, "W1", "b1"), (a2, "W2", "b2")):
                p[w] -= 0.5 * layer.dW
                p[b] -= 0.5 * layer.db
        return p, losses

    fresh, fresh_losses = run(None)
    reused, reused_losses = run({"h": np.empty((32, 8)), "s": np.empty((32, 3)), "ds": np.empty((32, 3)),
                                 "dh": np.empty((32, 8))})
    assert reused_losses == fresh_losses
    assert fresh_losses[-1] < fresh_losses[0]
    for k in fresh:
        assert same_contents(reused[k], fresh[k]), k
