"""fl.softmax (last axis, max-subtracted) and fl.cross_entropy_error (the book's, with 1e-7 in the log)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fastlayers as fl
import reference as ref
from helpers import FLOAT_DTYPES, assert_close, assert_fresh, floats, laid_out, shapes

LABEL_DTYPES = [np.int8, np.int32, np.int64, np.uint8, np.uint64]

# --- softmax -----------------------------------------------------------------------------------------------


@st.composite
def softmax_case(draw):
    dtype = draw(st.sampled_from(FLOAT_DTYPES))
    shape = draw(shapes(min_dims=1, max_dims=4, max_side=6))
    x = draw(laid_out(dtype, shape, floats(dtype, -30, 30)))
    return x


@given(softmax_case())
def test_softmax_matches_reference(x):
    saved = x.copy()
    y = fl.softmax(x)
    assert isinstance(y, np.ndarray)
    assert y.dtype == x.dtype and y.shape == x.shape
    assert_close(y, ref.softmax(x.astype(np.float64)), dtype=x.dtype)
    rtol = 1e-12 if x.dtype == np.float64 else 1e-5
    np.testing.assert_allclose(y.sum(axis=-1), 1.0, rtol=rtol)
    np.testing.assert_array_equal(x, saved)
    assert_fresh(y, x)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_softmax_hand_computed_1d_2d_3d(dtype):
    v = np.array([0.0, np.log(3.0)], dtype=dtype)
    assert_close(fl.softmax(v), [0.25, 0.75], dtype=dtype)
    m = np.array([[0.0, np.log(3.0)], [np.log(2.0), np.log(2.0)]], dtype=dtype)
    assert_close(fl.softmax(m), [[0.25, 0.75], [0.5, 0.5]], dtype=dtype)
    t3 = np.stack([m, m[::-1]])  # (2, 2, 2): still the last axis
    assert_close(fl.softmax(t3), [[[0.25, 0.75], [0.5, 0.5]], [[0.5, 0.5], [0.25, 0.75]]], dtype=dtype)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_softmax_never_overflows(dtype):
    x = np.array([[1e4, 0.0, -1e4], [1e4, 1e4, 1e4], [-1e4, -1e4, -1e4]], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = fl.softmax(x)
    assert np.all(np.isfinite(y))
    assert_close(y, [[1.0, 0.0, 0.0], [1 / 3, 1 / 3, 1 / 3], [1 / 3, 1 / 3, 1 / 3]], dtype=dtype)
    big = np.finfo(dtype).max
    y = fl.softmax(np.array([big, big / 2], dtype=dtype))
    np.testing.assert_array_equal(y, np.array([1.0, 0.0], dtype=dtype))


def test_softmax_is_shift_invariant(rng):
    x = rng.standard_normal((4, 6))
    assert_close(fl.softmax(x + 500.0), fl.softmax(x))


def test_softmax_single_element_rows():
    np.testing.assert_array_equal(fl.softmax(np.array([[3.0], [-2.0]])), [[1.0], [1.0]])
    np.testing.assert_array_equal(fl.softmax(np.array([7.0])), [1.0])


# --- cross_entropy_error -----------------------------------------------------------------------------------


@st.composite
def cee_case(draw):
    dtype = draw(st.sampled_from(FLOAT_DTYPES))
    n = draw(st.integers(1, 6))
    c = draw(st.integers(1, 6))
    # the book's function takes any y (not necessarily normalised, zeros allowed)
    y = draw(laid_out(dtype, (n, c), floats(dtype, 0.0, 1.0)))
    labels = np.array(draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    kind = draw(st.sampled_from(["labels", "onehot"]))
    if kind == "labels":
        t = labels.astype(draw(st.sampled_from(LABEL_DTYPES)))
    else:
        t = ref.one_hot(labels, c, dtype=draw(st.sampled_from(FLOAT_DTYPES)))
    return y, t


@given(cee_case())
def test_cross_entropy_error_matches_the_book(case):
    y, t = case
    saved = y.copy(), t.copy()
    got = fl.cross_entropy_error(y, t)
    assert type(got) is float
    expected = ref.cross_entropy_error(y.astype(np.float64), t)
    if y.dtype == np.float64:
        assert got == pytest.approx(expected, rel=1e-12, abs=1e-13)
    else:
        assert got == pytest.approx(expected, rel=1e-5, abs=1e-6)
    np.testing.assert_array_equal(y, saved[0])
    np.testing.assert_array_equal(t, saved[1])


def test_cross_entropy_error_hand_computed_keeps_the_1e7():
    y = np.array([[0.1, 0.6, 0.3], [0.0, 0.5, 0.5]])
    t = np.array([1, 0])
    expected = -(np.log(0.6 + 1e-7) + np.log(0.0 + 1e-7)) / 2
    assert fl.cross_entropy_error(y, t) == pytest.approx(expected, rel=1e-13)
    assert fl.cross_entropy_error(y, ref.one_hot(t, 3)) == pytest.approx(expected, rel=1e-13)


def test_cross_entropy_error_argmaxes_soft_targets_like_the_book():
    y = np.array([[0.2, 0.5, 0.3]])
    t = np.array([[0.1, 0.3, 0.6]])
    assert fl.cross_entropy_error(y, t) == pytest.approx(-np.log(0.3 + 1e-7), rel=1e-13)


def test_cross_entropy_error_does_not_normalise_y():
    y = np.array([[2.0, 4.0]])
    assert fl.cross_entropy_error(y, np.array([1])) == pytest.approx(-np.log(4.0 + 1e-7), rel=1e-13)


@pytest.mark.parametrize(
    "t",
    [
        pytest.param(1, id="python-int"),
        pytest.param(np.int32(1), id="numpy-scalar"),
        pytest.param(np.array(1), id="0d-array"),
        pytest.param(np.array([0.0, 1.0, 0.0]), id="onehot-vector"),
    ],
)
def test_cross_entropy_error_one_dimensional_y_is_one_sample(t):
    y = np.array([0.1, 0.7, 0.2])
    got = fl.cross_entropy_error(y, t)
    assert type(got) is float
    assert got == pytest.approx(-np.log(0.7 + 1e-7), rel=1e-13)
    assert got == pytest.approx(ref.cross_entropy_error(y, t), rel=1e-13)


def test_cross_entropy_error_is_mean_over_batch(rng):
    y = ref.softmax(rng.standard_normal((8, 5)))
    t = rng.integers(0, 5, 8)
    whole = fl.cross_entropy_error(y, t)
    parts = [fl.cross_entropy_error(y[i], int(t[i])) for i in range(8)]
    assert whole == pytest.approx(np.mean(parts), rel=1e-12)
