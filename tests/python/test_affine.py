"""Affine(W, b): out = x2d @ W + b with x2d = x.reshape(N, -1); keeps W and b by reference."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fastlayers as fl
import reference as ref
from helpers import FLOAT_DTYPES, assert_close, assert_fresh, floats, laid_out


@st.composite
def affine_case(draw):
    dx_, dw_, db_ = (draw(st.sampled_from(FLOAT_DTYPES)) for _ in range(3))
    n = draw(st.integers(1, 5))
    rest = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    d = int(np.prod(rest))
    m = draw(st.integers(1, 5))
    x = draw(laid_out(dx_, (n, *rest), floats(dx_, -3, 3)))
    W = draw(laid_out(dw_, (d, m), floats(dw_, -3, 3)))
    b = draw(laid_out(db_, (m,), floats(db_, -3, 3)))
    dtype = np.result_type(x, W, b)
    dout = draw(laid_out(dtype, (n, m), floats(dtype, -3, 3)))
    return x, W, b, dout


def expected_forward(x, W, b):
    x2 = x.reshape(x.shape[0], -1).astype(np.float64)
    W64, b64 = W.astype(np.float64), b.astype(np.float64)
    return x2 @ W64 + b64, np.abs(x2) @ np.abs(W64) + np.abs(b64)


def test_attributes_before_forward_and_references_kept():
    W = np.ones((3, 2))
    b = np.zeros(2)
    aff = fl.Affine(W, b)
    assert aff.W is W and aff.b is b
    assert aff.x is None and aff.dW is None and aff.db is None
    aff.forward(np.ones((4, 3)))
    aff.backward(np.ones((4, 2)))
    assert aff.W is W and aff.b is b


@given(affine_case())
def test_forward_backward_match_reference(case):
    x, W, b, dout = case
    saved = [a.copy() for a in (x, W, b, dout)]
    dtype = np.result_type(x, W, b)
    n = x.shape[0]
    aff = fl.Affine(W, b)
    assert aff.W is W and aff.b is b

    out = aff.forward(x)
    assert out.dtype == dtype and out.shape == (n, W.shape[1])
    expected, scale = expected_forward(x, W, b)
    assert_close(out, expected, dtype=dtype, scale=scale)
    assert aff.original_x_shape == x.shape
    assert aff.x.shape == (n, W.shape[0])
    np.testing.assert_array_equal(aff.x, x.reshape(n, -1))

    dx = aff.backward(dout)
    x2, d64, W64 = x.reshape(n, -1).astype(np.float64), dout.astype(np.float64), W.astype(np.float64)
    assert dx.shape == x.shape and dx.dtype == dtype
    assert_close(dx, (d64 @ W64.T).reshape(x.shape), dtype=dtype, scale=(np.abs(d64) @ np.abs(W64.T)).reshape(x.shape))
    assert aff.dW.shape == W.shape and aff.dW.dtype == dtype
    assert_close(aff.dW, x2.T @ d64, dtype=dtype, scale=np.abs(x2.T) @ np.abs(d64))
    assert aff.db.shape == b.shape and aff.db.dtype == dtype
    assert_close(aff.db, d64.sum(axis=0), dtype=dtype, scale=np.abs(d64).sum(axis=0))

    for a, s in zip((x, W, b, dout), saved):
        np.testing.assert_array_equal(a, s)
    assert aff.W is W and aff.b is b
    for o in (out, dx, aff.dW, aff.db):
        assert_fresh(o, x, W, b, dout)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_hand_computed(dtype):
    W = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=dtype)  # (D=2, M=3)
    b = np.array([0.5, -0.5, 1.0], dtype=dtype)
    x = np.array([[1.0, 1.0], [2.0, -1.0]], dtype=dtype)
    aff = fl.Affine(W, b)
    out = aff.forward(x)
    np.testing.assert_array_equal(out, np.array([[5.5, 6.5, 10.0], [-1.5, -1.5, 1.0]], dtype=dtype))
    dout = np.array([[1.0, 0.0, 2.0], [0.0, 1.0, -1.0]], dtype=dtype)
    dx = aff.backward(dout)
    np.testing.assert_array_equal(dx, np.array([[7.0, 16.0], [-1.0, -1.0]], dtype=dtype))
    np.testing.assert_array_equal(aff.dW, np.array([[1.0, 2.0, 0.0], [1.0, -1.0, 3.0]], dtype=dtype))
    np.testing.assert_array_equal(aff.db, np.array([1.0, 1.0, 1.0], dtype=dtype))


def test_affine_sees_inplace_weight_update(rng):
    W = rng.standard_normal((4, 3))
    b = rng.standard_normal(3)
    x = rng.standard_normal((5, 4))
    aff = fl.Affine(W, b)
    aff.forward(x)
    aff.backward(rng.standard_normal((5, 3)))
    W -= 0.1 * aff.dW  # SGD step, in place
    b -= 0.1 * aff.db
    out = aff.forward(x)
    assert_close(out, x @ W + b, scale=np.abs(x) @ np.abs(W) + np.abs(b))


def test_affine_sees_inplace_single_element_change():
    W = np.zeros((3, 2))
    b = np.zeros(2)
    x = np.array([[1.0, 2.0, 3.0]])
    aff = fl.Affine(W, b)
    np.testing.assert_array_equal(aff.forward(x), [[0.0, 0.0]])
    W[2, 1] = 10.0
    np.testing.assert_array_equal(aff.forward(x), [[0.0, 30.0]])
    b[0] = -1.0
    np.testing.assert_array_equal(aff.forward(x), [[-1.0, 30.0]])


@pytest.mark.parametrize(
    "view",
    [
        pytest.param(lambda a: a.T, id="transpose"),
        pytest.param(lambda a: a[::2], id="rows-step2"),
        pytest.param(lambda a: a[::-1, ::2], id="reversed-rows-step2-cols"),
        pytest.param(lambda a: np.asfortranarray(a), id="fortran"),
    ],
)
def test_strided_weights_read_correctly_and_by_reference(view, rng):
    W0 = rng.standard_normal((6, 6))
    W = view(W0)
    b0 = rng.standard_normal(2 * W.shape[1])
    b = b0[::-2]
    x = rng.standard_normal((3, W.shape[0]))
    aff = fl.Affine(W, b)
    assert aff.W is W and aff.b is b
    scale = np.abs(x) @ np.abs(W) + np.abs(b)
    assert_close(aff.forward(x), x @ W + b, scale=scale)
    # A change through the base array is seen through the view the layer holds.
    W[1, 0] += 5.0
    b0[-1] += 2.0  # b[0] is b0[-1]
    assert_close(aff.forward(x), x @ W + b, scale=np.abs(x) @ np.abs(W) + np.abs(b))
    dout = rng.standard_normal((3, W.shape[1]))
    dx = aff.backward(dout)
    assert_close(dx, dout @ W.T, scale=np.abs(dout) @ np.abs(W.T))


def test_batch_first_flattening_of_nd_input(rng):
    x = rng.standard_normal((2, 3, 4, 5))
    W = rng.standard_normal((60, 7))
    b = rng.standard_normal(7)
    aff = fl.Affine(W, b)
    out = aff.forward(x)
    assert out.shape == (2, 7)
    x2 = x.reshape(2, -1)
    assert_close(out, x2 @ W + b, scale=np.abs(x2) @ np.abs(W) + np.abs(b))
    assert aff.original_x_shape == (2, 3, 4, 5)
    np.testing.assert_array_equal(aff.x, x2)
    dout = rng.standard_normal((2, 7))
    dx = aff.backward(dout)
    assert dx.shape == (2, 3, 4, 5)
    assert_close(dx, (dout @ W.T).reshape(x.shape), scale=(np.abs(dout) @ np.abs(W.T)).reshape(x.shape))
    assert_close(aff.dW, x2.T @ dout, scale=np.abs(x2.T) @ np.abs(dout))


def test_nd_input_non_contiguous_flattens_in_c_order(rng):
    base = rng.standard_normal((4, 5, 6))
    x = base.transpose(2, 0, 1)[::2, ::-1]  # (3, 4, 5), no contiguous axis
    W = rng.standard_normal((20, 2))
    b = np.zeros(2)
    aff = fl.Affine(W, b)
    r = ref.Affine(W, b)
    assert_close(aff.forward(x), r.forward(x), scale=np.abs(x.reshape(3, -1)) @ np.abs(W))
    dout = rng.standard_normal((3, 2))
    dx = aff.backward(dout)
    assert_close(dx, r.backward(dout), scale=(np.abs(dout) @ np.abs(W.T)).reshape(x.shape))
    assert_close(aff.dW, r.dW, scale=np.abs(x.reshape(3, -1)).T @ np.abs(dout))


def test_one_dimensional_x_is_a_column_like_the_book():
    W = np.array([[2.0, -1.0]])  # D == 1
    b = np.array([1.0, 0.0])
    x = np.array([1.0, 2.0, 3.0])
    aff = fl.Affine(W, b)
    r = ref.Affine(W, b)
    out = aff.forward(x)
    np.testing.assert_array_equal(out, r.forward(x))
    assert out.shape == (3, 2)
    assert aff.x.shape == (3, 1)
    assert aff.original_x_shape == (3,)
    dout = np.array([[1.0, 1.0], [0.0, 2.0], [1.0, 0.0]])
    dx = aff.backward(dout)
    assert dx.shape == (3,)
    np.testing.assert_array_equal(dx, r.backward(dout))
    np.testing.assert_array_equal(aff.dW, r.dW)
    np.testing.assert_array_equal(aff.db, r.db)


@pytest.mark.parametrize("n,d,m", [(1, 1, 1), (1, 5, 3), (4, 1, 3), (4, 3, 1), (1, 1, 7)])
def test_degenerate_sizes(n, d, m, rng):
    W = rng.standard_normal((d, m))
    b = rng.standard_normal(m)
    x = rng.standard_normal((n, d))
    aff, r = fl.Affine(W, b), ref.Affine(W, b)
    assert_close(aff.forward(x), r.forward(x), scale=np.abs(x) @ np.abs(W) + np.abs(b))
    dout = rng.standard_normal((n, m))
    assert_close(aff.backward(dout), r.backward(dout), scale=np.abs(dout) @ np.abs(W.T))
    assert_close(aff.dW, r.dW, scale=np.abs(x.T) @ np.abs(dout))
    assert_close(aff.db, r.db, scale=np.abs(dout).sum(axis=0))


def test_later_calls_never_mutate_returned_arrays(rng):
    W = rng.standard_normal((3, 2))
    b = rng.standard_normal(2)
    aff = fl.Affine(W, b)
    x1 = rng.standard_normal((4, 3))
    out1 = aff.forward(x1)
    ax1 = aff.x
    dx1 = aff.backward(np.ones((4, 2)))
    dW1, db1 = aff.dW, aff.db
    held = (out1, ax1, dx1, dW1, db1)
    saved = [a.copy() for a in held]

    x2 = rng.standard_normal((4, 3))
    out2 = aff.forward(x2)
    dx2 = aff.backward(np.full((4, 2), -2.0))

    for a, s in zip(held, saved):
        np.testing.assert_array_equal(a, s)
    assert aff.dW is not dW1 and aff.db is not db1
    assert_close(out2, x2 @ W + b, scale=np.abs(x2) @ np.abs(W) + np.abs(b))
    assert_close(dx2, np.full((4, 2), -2.0) @ W.T, scale=2 * np.abs(np.ones((4, 2))) @ np.abs(W.T))
    assert_close(aff.db, np.full(2, -8.0))


def test_backward_does_not_modify_dout(rng):
    aff = fl.Affine(rng.standard_normal((3, 2)), rng.standard_normal(2))
    aff.forward(rng.standard_normal((4, 3)))
    dout = rng.standard_normal((4, 2))
    saved = dout.copy()
    dx = aff.backward(dout)
    np.testing.assert_array_equal(dout, saved)
    assert_fresh(dx, dout)


def test_readonly_and_zero_stride_inputs(rng):
    W = np.broadcast_to(rng.standard_normal((1, 3)), (4, 3))
    b = np.broadcast_to(np.array(0.5), (3,))
    x = np.broadcast_to(rng.standard_normal(4), (2, 4))
    assert not (W.flags.writeable or b.flags.writeable or x.flags.writeable)
    aff = fl.Affine(W, b)
    assert aff.W is W and aff.b is b
    assert_close(aff.forward(x), x @ W + b, scale=np.abs(x) @ np.abs(W) + 0.5)
    dout = np.broadcast_to(np.array([1.0, 2.0, 3.0]), (2, 3))
    assert_close(aff.backward(dout), dout @ W.T, scale=np.abs(dout) @ np.abs(W.T))


def test_original_x_shape_follows_each_forward(rng):
    # original_x_shape is built when first read after a forward (not on every forward): it must still be
    # None before any forward, the latest forward's shape after each one, and survive a backward and pickling.
    import pickle

    aff = fl.Affine(rng.standard_normal((6, 2)), rng.standard_normal(2))
    assert aff.original_x_shape is None
    aff.forward(rng.standard_normal((3, 2, 3)))
    aff.forward(rng.standard_normal((4, 6)))  # not read in between
    assert aff.original_x_shape == (4, 6)
    assert aff.original_x_shape is aff.original_x_shape
    aff.forward(rng.standard_normal((1, 3, 2)))
    assert aff.original_x_shape == (1, 3, 2)
    assert aff.backward(rng.standard_normal((1, 2))).shape == (1, 3, 2)
    aff.forward(rng.standard_normal((5, 1, 6)))
    copy = pickle.loads(pickle.dumps(aff))
    assert copy.original_x_shape == (5, 1, 6) and aff.original_x_shape == (5, 1, 6)
    assert copy.backward(rng.standard_normal((5, 2))).shape == (5, 1, 6)
    # A forward that fails leaves the last shape in place.
    with pytest.raises(ValueError):
        aff.forward(rng.standard_normal((2, 7)))
    assert aff.original_x_shape == (5, 1, 6)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("n,d,m", [(3, 4, 2), (100, 784, 50), (100, 50, 10)])
def test_backward_params_gives_backwards_dW_and_db_without_dx(dtype, n, d, m, rng):
    W = rng.standard_normal((d, m)).astype(dtype)
    b = rng.standard_normal(m).astype(dtype)
    x = rng.standard_normal((n, d)).astype(dtype)
    dout = rng.standard_normal((n, m)).astype(dtype)
    full, params_only = fl.Affine(W, b), fl.Affine(W, b)
    full.forward(x)
    params_only.forward(x)
    full.backward(dout)
    assert params_only._backward_params(dout) is None
    np.testing.assert_array_equal(params_only.dW, full.dW)
    np.testing.assert_array_equal(params_only.db, full.db)
    assert params_only.dW.dtype == dtype and params_only.dW.shape == (d, m)


def test_backward_params_checks_like_backward(rng):
    layer = fl.Affine(rng.standard_normal((4, 2)), np.zeros(2))
    with pytest.raises(ValueError, match="called before Affine.forward"):
        layer._backward_params(np.ones((3, 2)))
    layer.forward(np.ones((3, 4)))
    with pytest.raises(ValueError, match=r"dout has shape \(3, 3\), expected \(3, 2\)"):
        layer._backward_params(np.ones((3, 3)))
    assert layer.dW is None and layer.db is None
