"""Sigmoid: out = 1 / (1 + exp(-x)) that never overflows; backward = dout * (1 - out) * out."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fastlayers as fl
import reference as ref
from helpers import FLOAT_DTYPES, assert_close, assert_fresh, floats, laid_out, shapes


@st.composite
def sigmoid_case(draw):
    dtype = draw(st.sampled_from(FLOAT_DTYPES))
    shape = draw(shapes(max_dims=4))
    x = draw(laid_out(dtype, shape, floats(dtype, -40.0, 40.0)))
    dout = draw(laid_out(dtype, shape, floats(dtype, -5.0, 5.0)))
    return x, dout


def test_out_is_none_before_forward():
    assert fl.Sigmoid().out is None


@given(sigmoid_case())
def test_forward_backward_match_reference(case):
    x, dout = case
    x_before, dout_before = x.copy(), dout.copy()
    sig = fl.Sigmoid()
    out = sig.forward(x)
    assert out.dtype == x.dtype and out.shape == x.shape
    assert sig.out is out
    # float32 is held against the float64 reference at float32 tolerance.
    assert_close(out, ref.sigmoid(x.astype(np.float64)), dtype=x.dtype)
    assert np.all((out >= 0) & (out <= 1))

    dx = sig.backward(dout)
    assert dx.dtype == x.dtype and dx.shape == x.shape
    # backward is computed from the stored output, exactly the book's formula in the layer's dtype
    expected = dout.astype(np.float64) * (1.0 - out.astype(np.float64)) * out.astype(np.float64)
    assert_close(dx, expected, dtype=x.dtype)

    np.testing.assert_array_equal(x, x_before)
    np.testing.assert_array_equal(dout, dout_before)
    assert_fresh(out, x, dout)
    assert_fresh(dx, x, dout, out)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_hand_computed(dtype):
    x = np.array([0.0, np.log(3.0), -np.log(3.0)], dtype=dtype)
    sig = fl.Sigmoid()
    out = sig.forward(x)
    assert_close(out, [0.5, 0.75, 0.25], dtype=dtype)
    dx = sig.backward(np.array([1.0, 2.0, 4.0], dtype=dtype))
    assert_close(dx, [0.25, 2 * 0.75 * 0.25, 4 * 0.25 * 0.75], dtype=dtype)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_extreme_inputs_never_overflow_warn_or_nan(dtype):
    big = np.finfo(dtype).max
    x = np.array([-1000.0, 1000.0, -100.0, 100.0, -big, big, -88.0, 88.0, -745.0, 710.0], dtype=dtype)
    sig = fl.Sigmoid()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            out = sig.forward(x)
            dx = sig.backward(np.ones_like(x))
    assert out.dtype == dtype
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(dx))
    assert out[1] == 1.0 and out[5] == 1.0 and out[3] == 1.0
    tiny = np.finfo(dtype).tiny
    assert 0.0 <= out[0] <= tiny and 0.0 <= out[4] <= tiny
    # exp(-100) ~ 3.7e-44 is a normal float64 and a subnormal (or 0) float32
    if dtype == np.float64:
        assert out[2] == pytest.approx(np.exp(-100.0), rel=1e-12)
    else:
        assert 0.0 <= out[2] <= tiny  # 0 to float32 precision (a subnormal or a clamped tiny value)
    assert_close(out[6:8], ref.sigmoid(np.array([-88.0, 88.0])), dtype=dtype)
    np.testing.assert_array_equal(dx[[1, 3, 5]], 0.0)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_infinities(dtype):
    sig = fl.Sigmoid()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = sig.forward(np.array([-np.inf, np.inf], dtype=dtype))
    np.testing.assert_array_equal(out, np.array([0.0, 1.0], dtype=dtype))


def test_symmetry():
    x = np.linspace(-30, 30, 241)
    out = fl.Sigmoid().forward(x)
    out_neg = fl.Sigmoid().forward(-x)
    np.testing.assert_allclose(out + out_neg, 1.0, rtol=0, atol=1e-15)


def test_later_calls_never_mutate_returned_arrays():
    sig = fl.Sigmoid()
    x1 = np.array([[-1.0, 2.0], [3.0, -4.0]])
    y1 = sig.forward(x1)
    dx1 = sig.backward(np.ones_like(x1))
    saved = y1.copy(), dx1.copy()
    y2 = sig.forward(x1 + 10.0)
    dx2 = sig.backward(np.full_like(x1, 3.0))
    np.testing.assert_array_equal(y1, saved[0])
    np.testing.assert_array_equal(dx1, saved[1])
    assert sig.out is y2
    assert_close(y2, ref.sigmoid(x1 + 10.0))
    assert_close(dx2, 3.0 * (1 - y2) * y2)


def test_backward_does_not_modify_dout():
    sig = fl.Sigmoid()
    sig.forward(np.array([0.0, 1.0]))
    dout = np.array([2.0, 3.0])
    dx = sig.backward(dout)
    np.testing.assert_array_equal(dout, [2.0, 3.0])
    assert_fresh(dx, dout)


def test_readonly_and_zero_stride_inputs():
    x = np.broadcast_to(np.array([-1.0, 0.0, 1.0]), (2, 3))
    sig = fl.Sigmoid()
    out = sig.forward(x)
    assert_close(out, ref.sigmoid(np.ascontiguousarray(x)))
    dx = sig.backward(np.broadcast_to(np.array([1.0, 2.0, 3.0]), (2, 3)))
    assert_close(dx, np.array([1.0, 2.0, 3.0]) * (1 - out) * out)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_nan_gives_nan_and_leaves_its_neighbours_alone(dtype):
    """A NaN (here with payload bits in its low mantissa, either sign) gives NaN in its own element only; the
    saturating and subnormal-range elements beside it come out as they do in an array without it."""
    itype = np.uint32 if dtype == np.float32 else np.uint64
    nans = np.array([np.nan, -np.nan], dtype=dtype).view(itype) | itype(0x1FF)
    others = np.array([-1000.0, -100.0, -90.0, -87.5, -3.0, 0.5, 2.0, -np.inf], dtype=dtype)
    x = np.empty(3 * len(others), dtype=dtype)
    x[0::3], x[1::3], x[2::3] = nans.view(dtype)[0], others, nans.view(dtype)[1]  # a NaN first: the baseline
    out = fl.Sigmoid().forward(x)  # build's minimum of the block then came out NaN and skipped the redo
    assert np.isnan(out[0::3]).all() and np.isnan(out[2::3]).all()
    np.testing.assert_array_equal(out[1::3], fl.Sigmoid().forward(others.copy()))
