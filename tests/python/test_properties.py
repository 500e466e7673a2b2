"""Property tests (hypothesis) of every layer and function against the NumPy reference over every accepted dtype
(float64, float32, float16, integers, bool), every memory layout (C order, transposed, step-2, reversed, mixed,
zero-strided, unaligned, big-endian) and wide value ranges (up to +-1e300, subnormals, exact zeros).

The per-layer files test float32/float64 over the strided layouts at moderate values; this file completes the
matrix. The compute dtype follows the README: float16 computes in float32, integers and bool in float64.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fastlayers as fl
import reference as ref
from helpers import assert_close, laid_out, shapes

DTYPES = [np.float64, np.float32, np.float16, np.int8, np.int32, np.int64, np.uint8, np.bool_]
EXTRA_LAYOUTS = ["as drawn", "zero-strided", "unaligned", "big-endian"]


def compute_dtype(dtype):
    """The float type fastlayers computes a one-input function in (README): float16 and float32 in float32,
    everything else (float64, integers, bool) in float64."""
    dtype = np.dtype(dtype)
    return np.dtype(np.float32 if dtype.kind == "f" and dtype.itemsize <= 4 else np.float64)


def elements(dtype, wide):
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return st.booleans()
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return st.integers(int(info.min), int(info.max)) if wide else st.integers(max(int(info.min), -20), 20)
    width = dtype.itemsize * 8
    hi = (1e300 if width == 64 else float(np.finfo(dtype).max) / 2) if wide else 8.0
    normal = st.floats(-hi, hi, width=width, allow_nan=False, allow_infinity=False)
    if not wide:
        return normal
    tiny = float(dtype.type(np.finfo(dtype).smallest_normal))  # values around it and below: subnormals
    return st.one_of(normal, st.sampled_from([0.0, -0.0]), st.floats(-tiny, tiny, width=width, allow_nan=False))


@st.composite
def any_array(draw, shape, dtypes=DTYPES, wide=None):
    dtype = np.dtype(draw(st.sampled_from(dtypes)))
    wide = draw(st.booleans()) if wide is None else wide
    a = draw(laid_out(dtype, shape, elements(dtype, wide)))
    extra = draw(st.sampled_from(EXTRA_LAYOUTS))
    if extra == "zero-strided" and a.ndim >= 1 and a.shape[0] > 0:
        a = np.broadcast_to(a[:1], a.shape)
    elif extra == "unaligned" and dtype.itemsize > 1:
        buf = np.zeros(a.nbytes + 1, np.uint8)
        u = buf[1:].view(dtype).reshape(a.shape)
        u[...] = a
        a = u
    elif extra == "big-endian" and dtype.itemsize > 1:
        a = a.astype(dtype.newbyteorder(">"))
    return a


def f64(a):
    return np.asarray(a, dtype=np.float64)


@given(st.data())
def test_relu(data):
    shape = data.draw(shapes(max_dims=3))
    x = data.draw(any_array(shape))
    dout = data.draw(any_array(shape))
    saved = (x.copy(), dout.copy())
    relu = fl.Relu()
    out = relu.forward(x)
    cd = compute_dtype(x.dtype)
    assert out.dtype == cd and out.shape == shape
    np.testing.assert_array_equal(out, ref.Relu().forward(x.astype(cd)))
    np.testing.assert_array_equal(relu.mask, x <= 0)
    dx = relu.backward(dout)
    assert dx.dtype == np.result_type(cd, compute_dtype(dout.dtype))
    np.testing.assert_array_equal(dx, np.where(x <= 0, 0, dout).astype(dx.dtype))
    np.testing.assert_array_equal(x, saved[0])
    np.testing.assert_array_equal(dout, saved[1])


@given(st.data())
def test_sigmoid(data):
    shape = data.draw(shapes(max_dims=3))
    x = data.draw(any_array(shape))
    dout = data.draw(any_array(shape, wide=False))
    sig = fl.Sigmoid()
    out = sig.forward(x)
    cd = compute_dtype(x.dtype)
    assert out.dtype == cd
    expected = ref.sigmoid(f64(x))
    assert_close(out, expected, dtype=cd, atol=np.finfo(cd).eps)
    assert ((out >= 0) & (out <= 1)).all()
    dx = sig.backward(dout)
    assert_close(dx, f64(dout) * (1 - f64(out)) * f64(out), dtype=dx.dtype, atol=2 * np.finfo(dx.dtype).eps * 20)


@given(st.data())
def test_softmax(data):
    shape = data.draw(shapes(max_dims=3))
    x = data.draw(any_array(shape))
    y = fl.softmax(x)
    cd = compute_dtype(x.dtype)
    assert y.dtype == cd and y.shape == shape
    with np.errstate(over="ignore", invalid="ignore"):
        expected = ref.softmax(f64(x))
    assert_close(y, expected, dtype=cd, atol=4 * np.finfo(cd).eps)


@given(st.data())
def test_softmax_with_loss(data):
    n, c = data.draw(st.integers(1, 6)), data.draw(st.integers(1, 6))
    x = data.draw(any_array((n, c)))
    labels = data.draw(st.booleans())
    if labels:
        t = data.draw(any_array((n,), dtypes=[np.int64, np.int32, np.uint8, np.int8], wide=False).map(
            lambda a: np.abs(a.astype(np.int64)) % c))
        t_onehot = ref.one_hot(t, c)
    else:
        t = data.draw(any_array((n, c), dtypes=[np.float64, np.float32, np.bool_], wide=False))
        t_onehot = f64(t)
    swl = fl.SoftmaxWithLoss()
    loss = swl.forward(x, t)
    cd = compute_dtype(x.dtype)
    xs = f64(x)
    expected = float(-np.sum(np.where(t_onehot != 0, t_onehot * ref.log_softmax(xs), 0.0)) / n)
    # |loss| can be as large as the logits: the tolerance scales with them
    scale = np.abs(xs).max() * np.abs(t_onehot).sum() / n + abs(expected) + 1
    assert abs(loss - expected) <= 8 * np.finfo(cd).eps * scale, (loss, expected)
    dout = data.draw(st.floats(-4, 4))
    dx = swl.backward(dout)
    assert dx.shape == (n, c)
    with np.errstate(over="ignore", invalid="ignore"):
        expected_dx = (ref.softmax(xs) - t_onehot) * dout / n
    # y is computed in x's float type, whatever dx's dtype (float64 targets promote dx)
    assert_close(dx, expected_dx, dtype=cd, atol=8 * np.finfo(cd).eps * (1 + np.abs(t_onehot).max()))


@given(st.data())
def test_cross_entropy_error(data):
    n, c = data.draw(st.integers(1, 6)), data.draw(st.integers(1, 6))
    y = data.draw(any_array((n, c), dtypes=[np.float64, np.float32], wide=False).map(lambda a: np.abs(a)))
    t = data.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n).map(np.array))
    got = fl.cross_entropy_error(y, t)
    expected = ref.cross_entropy_error(np.array(y, dtype=compute_dtype(y.dtype)), t)
    assert got == np.float64(expected) or abs(got - expected) <= 1e-6 * (1 + abs(expected))


@given(st.data())
def test_affine(data):
    n, m = data.draw(st.integers(0, 5)), data.draw(st.integers(0, 5))
    rest = tuple(data.draw(st.lists(st.integers(0, 4), min_size=1, max_size=2)))
    d = int(np.prod(rest))
    x = data.draw(any_array((n, *rest), wide=False))
    W = data.draw(any_array((d, m), dtypes=[np.float64, np.float32], wide=False))
    b = data.draw(any_array((m,), dtypes=[np.float64, np.float32], wide=False))
    cd = np.result_type(x.dtype if x.dtype != np.float16 else np.float32, W.dtype, b.dtype)
    dout = data.draw(any_array((n, m), dtypes=[np.float64, np.float32], wide=False))
    aff = fl.Affine(W, b)
    out = aff.forward(x)
    x2, W64, b64 = f64(x).reshape(n, d), f64(W), f64(b)
    assert out.dtype == cd and out.shape == (n, m)
    assert_close(out, x2 @ W64 + b64, dtype=cd, scale=np.abs(x2) @ np.abs(W64) + np.abs(b64))
    dx = aff.backward(dout)
    d64 = f64(dout)
    assert dx.shape == x.shape
    assert_close(dx, (d64 @ W64.T).reshape(x.shape), dtype=dx.dtype,
                 scale=(np.abs(d64) @ np.abs(W64.T)).reshape(x.shape))
    assert_close(aff.dW, x2.T @ d64, dtype=aff.dW.dtype, scale=np.abs(x2.T) @ np.abs(d64))
    assert_close(aff.db, d64.sum(axis=0), dtype=aff.db.dtype, scale=np.abs(d64).sum(axis=0))


@given(st.data())
def test_optimizers(data):
    """Any shape, float dtype and layout of params and grads, against the book's update in float64."""
    shape = data.draw(shapes(min_dims=0, max_dims=3))
    dtype = data.draw(st.sampled_from([np.float64, np.float32]))
    p = data.draw(laid_out(dtype, shape))
    g = data.draw(laid_out(dtype, shape))
    name = data.draw(st.sampled_from(["SGD", "Momentum", "AdaGrad", "Adam"]))
    p0 = f64(p).copy()
    getattr(fl, name)(lr=0.1).update({"p": p}, {"p": g})
    g64 = f64(g)
    if name == "SGD":
        expected = p0 - 0.1 * g64
    elif name == "Momentum":
        expected = p0 - 0.1 * g64
    elif name == "AdaGrad":
        expected = p0 - 0.1 * g64 / (np.sqrt(g64 * g64) + 1e-7)
    else:
        lr_t = 0.1 * np.sqrt(1 - 0.999) / (1 - 0.9)
        m, v = 0.1 * g64, 0.001 * g64 * g64
        expected = p0 - lr_t * m / (np.sqrt(v) + 1e-7)
    assert_close(p, expected, dtype=dtype, atol=1e-5 if dtype == np.float32 else 1e-12)
