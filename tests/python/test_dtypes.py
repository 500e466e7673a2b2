"""Result dtypes: float32/float64 run natively; integers and bool -> float64; float16 -> float32; mixed inputs
follow NumPy promotion; backward's dtype is np.result_type(dout, forward dtype)."""

from __future__ import annotations

import numpy as np
import pytest

import fastlayers as fl
import reference as ref
from helpers import FLOAT_DTYPES, assert_close

CONVERTED = [
    (np.int8, np.float64),
    (np.int32, np.float64),
    (np.int64, np.float64),
    (np.uint8, np.float64),
    (np.uint64, np.float64),
    (np.bool_, np.float64),
    (np.float16, np.float32),
    (np.float32, np.float32),
    (np.float64, np.float64),
]
IDS = [np.dtype(a).name for a, _ in CONVERTED]


def sample(dtype):
    base = (
        np.array([[0, 1, 2], [3, 1, 0]])
        if dtype in (np.uint8, np.uint64, np.bool_)
        else np.array([[-2, 1, 0], [3, -1, 2]])
    )
    return base.astype(dtype)


@pytest.mark.parametrize("in_dtype,out_dtype", CONVERTED, ids=IDS)
def test_relu_converts(in_dtype, out_dtype):
    x = sample(in_dtype)
    relu = fl.Relu()
    out = relu.forward(x)
    assert out.dtype == out_dtype
    np.testing.assert_array_equal(out, ref.Relu().forward(x.astype(out_dtype)))
    assert relu.mask.dtype == np.bool_
    np.testing.assert_array_equal(relu.mask, x <= 0)
    dx = relu.backward(np.ones(x.shape, dtype=out_dtype))
    assert dx.dtype == out_dtype


@pytest.mark.parametrize("in_dtype,out_dtype", CONVERTED, ids=IDS)
def test_sigmoid_converts(in_dtype, out_dtype):
    x = sample(in_dtype)
    sig = fl.Sigmoid()
    out = sig.forward(x)
    assert out.dtype == out_dtype
    assert_close(out, ref.sigmoid(x.astype(np.float64)), dtype=out_dtype)
    assert sig.backward(np.ones(x.shape, dtype=out_dtype)).dtype == out_dtype


@pytest.mark.parametrize("in_dtype,out_dtype", CONVERTED, ids=IDS)
def test_softmax_converts(in_dtype, out_dtype):
    x = sample(in_dtype)
    y = fl.softmax(x)
    assert y.dtype == out_dtype
    assert_close(y, ref.softmax(x.astype(np.float64)), dtype=out_dtype)


FWD_DOUT = [
    (np.float32, np.float32),
    (np.float32, np.float64),
    (np.float64, np.float32),
    (np.float64, np.float64),
    (np.float32, np.float16),
    (np.float32, np.int32),
    (np.float64, np.int64),
]


@pytest.mark.parametrize("fwd,dout_dtype", FWD_DOUT, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("layer", ["Relu", "Sigmoid"])
def test_elementwise_backward_dtype_is_result_type(layer, fwd, dout_dtype):
    x = np.array([[-1.0, 0.5], [2.0, -3.0]], dtype=fwd)
    dout = np.array([[1, 2], [3, 4]]).astype(dout_dtype)
    lay = getattr(fl, layer)()
    out = lay.forward(x)
    dx = lay.backward(dout)
    want = np.result_type(dout, out)
    assert dx.dtype == want
    if layer == "Relu":
        expected = np.where(x <= 0, 0.0, dout.astype(np.float64))
    else:
        o = out.astype(np.float64)
        expected = dout.astype(np.float64) * (1 - o) * o
    # (1 - out) may be rounded in the forward dtype (as NumPy's book formula does) or in the wider one
    lowest = np.float32 if np.float32 in (fwd, dout_dtype) or dout_dtype == np.float16 else np.float64
    assert_close(dx, expected, dtype=lowest)


AFFINE_MIX = [
    # x, W, b -> compute dtype
    (np.float32, np.float32, np.float32),
    (np.float64, np.float64, np.float64),
    (np.float64, np.float32, np.float32),
    (np.float32, np.float64, np.float32),
    (np.float32, np.float32, np.float64),
    (np.uint8, np.float32, np.float32),
    (np.int64, np.float32, np.float32),
    (np.int8, np.float64, np.float64),
    (np.float16, np.float32, np.float32),
    (np.bool_, np.float32, np.float64),
]


@pytest.mark.parametrize("xd,wd,bd", AFFINE_MIX, ids=lambda d: np.dtype(d).name)
def test_affine_compute_dtype_follows_numpy_promotion(xd, wd, bd):
    x = np.array([[1, 0, 2], [3, 1, 1]]).astype(xd)
    W = np.array([[0.5, -1.0], [2.0, 0.25], [-0.75, 1.5]], dtype=wd)
    b = np.array([0.125, -2.0], dtype=bd)
    want = np.result_type(x.dtype, W.dtype, b.dtype)
    assert want == np.result_type(x @ W + b)  # the rule is NumPy's own
    aff = fl.Affine(W, b)
    out = aff.forward(x)
    assert out.dtype == want
    assert_close(out, x.astype(np.float64) @ W.astype(np.float64) + b.astype(np.float64), dtype=want)
    dout = np.array([[1.0, -1.0], [0.5, 2.0]], dtype=want)
    dx = aff.backward(dout)
    assert dx.dtype == want and aff.dW.dtype == want and aff.db.dtype == want
    assert_close(dx, dout.astype(np.float64) @ W.astype(np.float64).T, dtype=want)
    assert_close(aff.dW, x.astype(np.float64).T @ dout.astype(np.float64), dtype=want)


@pytest.mark.parametrize("fwd,dout_dtype", FWD_DOUT, ids=lambda d: np.dtype(d).name)
def test_affine_backward_dtype_is_result_type(fwd, dout_dtype):
    W = np.array([[1.0, 2.0], [3.0, 4.0]], dtype=fwd)
    b = np.zeros(2, dtype=fwd)
    aff = fl.Affine(W, b)
    x = np.array([[1.0, -1.0]], dtype=fwd)
    aff.forward(x)
    dout = np.array([[1, 2]]).astype(dout_dtype)
    want = np.result_type(dout, W)
    dx = aff.backward(dout)
    assert dx.dtype == want and aff.dW.dtype == want and aff.db.dtype == want
    np.testing.assert_array_equal(dx, [[5.0, 11.0]])
    np.testing.assert_array_equal(aff.dW, [[1.0, 2.0], [-1.0, -2.0]])
    np.testing.assert_array_equal(aff.db, [1.0, 2.0])


@pytest.mark.parametrize("xd", FLOAT_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("td", [np.float32, np.float64, np.int64, np.uint8], ids=lambda d: np.dtype(d).name)
def test_softmax_with_loss_dtypes(xd, td):
    x = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]], dtype=xd)
    labels = np.array([1, 2])
    is_labels = np.issubdtype(td, np.integer)
    t = labels.astype(td) if is_labels else ref.one_hot(labels, 3, dtype=td)
    swl = fl.SoftmaxWithLoss()
    loss = swl.forward(x, t)
    assert type(loss) is float
    assert loss == pytest.approx(ref.exact_loss(x, labels), rel=1e-12 if xd == np.float64 else 1e-5)
    assert swl.y.dtype == xd
    dx = swl.backward()
    want = np.dtype(xd) if is_labels else np.result_type(x, t)
    assert dx.dtype == want
    assert_close(dx, (ref.softmax(x.astype(np.float64)) - ref.one_hot(labels, 3)) / 2, dtype=xd)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_cross_entropy_error_returns_python_float(dtype):
    y = np.array([[0.25, 0.75]], dtype=dtype)
    got = fl.cross_entropy_error(y, np.array([1]))
    assert type(got) is float
    assert got == pytest.approx(-np.log(0.75 + 1e-7), rel=1e-6)


def test_float32_runs_natively_close_to_float64(rng):
    """The float32 path is held against the float64 one at float32 tolerance (not computed via float64)."""
    x64 = rng.standard_normal((16, 10))
    W64 = rng.standard_normal((10, 7))
    b64 = rng.standard_normal(7)
    t = rng.integers(0, 7, 16)
    outs = {}
    for dt in FLOAT_DTYPES:
        aff = fl.Affine(W64.astype(dt), b64.astype(dt))
        sig, relu, swl = fl.Sigmoid(), fl.Relu(), fl.SoftmaxWithLoss()
        h = sig.forward(relu.forward(aff.forward(x64.astype(dt))))
        loss = swl.forward(h, t)
        dx = aff.backward(relu.backward(sig.backward(swl.backward())))
        assert h.dtype == dt and dx.dtype == dt and aff.dW.dtype == dt
        outs[dt] = (h, loss, dx, aff.dW, aff.db)
    for a32, a64 in zip(outs[np.float32], outs[np.float64]):
        np.testing.assert_allclose(a32, a64, rtol=1e-4, atol=1e-5)
