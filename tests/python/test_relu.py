"""Relu against the book's layer: mask = (x <= 0), forward zeroes it, backward zeroes dout there."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fastlayers as fl
import reference as ref
from helpers import FLOAT_DTYPES, assert_fresh, floats, laid_out, shapes


@st.composite
def relu_case(draw):
    dtype = draw(st.sampled_from(FLOAT_DTYPES))
    shape = draw(shapes(max_dims=4))
    # Mix in exact zeros and -0.0 so that the x == 0 boundary is exercised often.
    elements = st.one_of(floats(dtype), st.sampled_from([0.0, -0.0]))
    x = draw(laid_out(dtype, shape, elements))
    dout = draw(laid_out(dtype, shape))
    return x, dout


def test_mask_is_none_before_forward():
    assert fl.Relu().mask is None


@given(relu_case())
def test_forward_backward_match_reference(case):
    x, dout = case
    x_before, dout_before = x.copy(), dout.copy()
    relu, r = fl.Relu(), ref.Relu()

    out = relu.forward(x)
    expected = r.forward(x)
    assert out.dtype == x.dtype and out.shape == x.shape
    np.testing.assert_array_equal(out, expected)

    assert isinstance(relu.mask, np.ndarray)
    assert relu.mask.dtype == np.bool_ and relu.mask.shape == x.shape
    np.testing.assert_array_equal(relu.mask, x <= 0)

    dx = relu.backward(dout)
    assert dx.dtype == dout.dtype and dx.shape == x.shape
    np.testing.assert_array_equal(dx, r.backward(dout))

    np.testing.assert_array_equal(x, x_before)
    np.testing.assert_array_equal(dout, dout_before)
    assert_fresh(out, x, dout)
    assert_fresh(dx, x, dout, out)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_hand_computed(dtype):
    x = np.array([[1.0, -0.5], [-2.0, 3.0], [0.0, 0.25]], dtype=dtype)
    relu = fl.Relu()
    out = relu.forward(x)
    np.testing.assert_array_equal(out, np.array([[1.0, 0.0], [0.0, 3.0], [0.0, 0.25]], dtype=dtype))
    np.testing.assert_array_equal(relu.mask, [[False, True], [True, False], [True, False]])
    dx = relu.backward(np.full_like(x, 7.0))
    np.testing.assert_array_equal(dx, np.array([[7.0, 0.0], [0.0, 7.0], [0.0, 7.0]], dtype=dtype))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_gradient_is_zero_at_zero(dtype):
    x = np.array([0.0, -0.0, 1e-30, -1e-30], dtype=dtype)
    relu = fl.Relu()
    out = relu.forward(x)
    np.testing.assert_array_equal(out, np.array([0.0, 0.0, 1e-30, 0.0], dtype=dtype))
    np.testing.assert_array_equal(relu.mask, [True, True, False, True])
    dx = relu.backward(np.ones_like(x))
    np.testing.assert_array_equal(dx, np.array([0.0, 0.0, 1.0, 0.0], dtype=dtype))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_nan_and_inf(dtype):
    x = np.array([np.nan, np.inf, -np.inf, -1.0], dtype=dtype)
    relu = fl.Relu()
    out = relu.forward(x)
    # NaN <= 0 is False, so NaN is not masked and passes through.
    np.testing.assert_array_equal(out, np.array([np.nan, np.inf, 0.0, 0.0], dtype=dtype))
    np.testing.assert_array_equal(relu.mask, [False, False, True, True])
    dout = np.array([1.0, 2.0, 3.0, 4.0], dtype=dtype)
    np.testing.assert_array_equal(relu.backward(dout), np.array([1.0, 2.0, 0.0, 0.0], dtype=dtype))


def test_backward_does_not_modify_dout_and_forward_does_not_modify_x():
    x = np.array([[-1.0, 2.0, 0.0]])
    dout = np.array([[5.0, 6.0, 7.0]])
    relu = fl.Relu()
    relu.forward(x)
    dx = relu.backward(dout)
    np.testing.assert_array_equal(x, [[-1.0, 2.0, 0.0]])
    np.testing.assert_array_equal(dout, [[5.0, 6.0, 7.0]])
    np.testing.assert_array_equal(dx, [[0.0, 6.0, 0.0]])
    assert dx is not dout


def test_later_calls_never_mutate_returned_arrays():
    relu = fl.Relu()
    x1 = np.array([[-1.0, 2.0], [3.0, -4.0]])
    x2 = np.array([[5.0, -6.0], [-7.0, 8.0]])
    y1 = relu.forward(x1)
    mask1 = relu.mask
    dx1 = relu.backward(np.ones_like(x1))
    saved = [a.copy() for a in (y1, mask1, dx1)]

    y2 = relu.forward(x2)
    mask2 = relu.mask
    dx2 = relu.backward(np.full_like(x2, 3.0))

    for held, before in zip((y1, mask1, dx1), saved):
        np.testing.assert_array_equal(held, before)
    np.testing.assert_array_equal(y2, [[5.0, 0.0], [0.0, 8.0]])
    np.testing.assert_array_equal(mask2, [[False, True], [True, False]])
    np.testing.assert_array_equal(dx2, [[3.0, 0.0], [0.0, 3.0]])


def test_backward_uses_latest_forward_mask_of_new_shape():
    relu = fl.Relu()
    relu.forward(np.array([[-1.0, 1.0]]))
    relu.forward(np.array([1.0, -1.0, 1.0]))
    assert relu.mask.shape == (3,)
    np.testing.assert_array_equal(relu.backward(np.array([1.0, 2.0, 3.0])), [1.0, 0.0, 3.0])


def test_readonly_and_zero_stride_inputs():
    row = np.array([-1.0, 0.5, 0.0, 2.0])
    x = np.broadcast_to(row, (3, 4))  # read-only, stride 0 on axis 0
    assert not x.flags.writeable
    relu = fl.Relu()
    out = relu.forward(x)
    np.testing.assert_array_equal(out, np.broadcast_to([0.0, 0.5, 0.0, 2.0], (3, 4)))
    dout = np.broadcast_to(np.array([1.0, 2.0, 3.0, 4.0]), (3, 4))
    np.testing.assert_array_equal(relu.backward(dout), np.broadcast_to([0.0, 2.0, 0.0, 4.0], (3, 4)))
