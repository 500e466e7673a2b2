"""SoftmaxWithLoss: y = softmax(x); loss = mean cross-entropy from logits (log-sum-exp); dx = (y - t) * dout / N."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fastlayers as fl
import reference as ref
from helpers import FLOAT_DTYPES, assert_close, assert_fresh, floats, laid_out

LABEL_DTYPES = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64]


@st.composite
def targets(draw, n, c, kind, dtype):
    labels = np.array(draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    if kind == "labels":
        return labels.astype(dtype)
    if kind == "onehot":
        return ref.one_hot(labels, c, dtype=dtype)
    w = np.array(draw(st.lists(st.floats(0.0, 1.0), min_size=n * c, max_size=n * c))).reshape(n, c)
    w[np.arange(n), labels] += 0.5  # every row has mass
    return (w / w.sum(axis=1, keepdims=True)).astype(dtype)


@st.composite
def swl_case(draw):
    dtype = draw(st.sampled_from(FLOAT_DTYPES))
    n = draw(st.integers(1, 6))
    c = draw(st.integers(1, 7))
    x = draw(laid_out(dtype, (n, c), floats(dtype, -20, 20)))
    kind = draw(st.sampled_from(["labels", "onehot", "soft"]))
    tdtype = draw(st.sampled_from(LABEL_DTYPES if kind == "labels" else FLOAT_DTYPES))
    t = draw(targets(n, c, kind, tdtype))
    dout = draw(st.sampled_from([1.0, 0.5, 2.5, -1.0]))
    return x, t, kind, dout


def loss_tol(x, dtype):
    rtol, atol = (1e-12, 1e-12) if np.dtype(dtype) == np.float64 else (1e-5, 1e-6)
    return atol + rtol * (1.0 + float(np.max(np.abs(x))))


def test_attributes_are_none_before_forward():
    swl = fl.SoftmaxWithLoss()
    assert swl.loss is None and swl.y is None and swl.t is None


@given(swl_case())
def test_forward_backward_match_reference(case):
    x, t, kind, dout = case
    x_before, t_before = x.copy(), t.copy()
    n, c = x.shape
    swl = fl.SoftmaxWithLoss()
    loss = swl.forward(x, t)

    assert type(loss) is float
    assert swl.loss == loss
    x64 = x.astype(np.float64)
    assert abs(loss - ref.exact_loss(x64, t)) <= loss_tol(x, x.dtype)

    assert isinstance(swl.y, np.ndarray) and swl.y.dtype == x.dtype and swl.y.shape == (n, c)
    y64 = ref.softmax(x64)
    assert_close(swl.y, y64, dtype=x.dtype)
    np.testing.assert_array_equal(swl.t, t)

    if kind != "soft":
        # The book adds 1e-7 inside the log; the layer may differ from it by exactly that much.
        labels = t if kind == "labels" else t.argmax(axis=1)
        delta = float(np.mean(1e-7 / y64[np.arange(n), labels]))
        assert abs(loss - ref.cross_entropy_error(y64, t)) <= delta * 1.001 + loss_tol(x, x.dtype)

    dx = swl.backward(dout)
    want_dtype = x.dtype if kind == "labels" else np.result_type(x, t)
    assert dx.dtype == want_dtype and dx.shape == (n, c)
    t1h = ref.one_hot(t, c) if kind == "labels" else t.astype(np.float64)
    assert_close(dx, (y64 - t1h) * dout / n, dtype=x.dtype)

    r = ref.SoftmaxWithLoss()
    r.forward(x64, t)
    assert_close(dx, r.backward(dout), dtype=x.dtype)

    np.testing.assert_array_equal(x, x_before)
    np.testing.assert_array_equal(t, t_before)
    assert_fresh(swl.y, x, t)
    assert_fresh(dx, x, t, swl.y)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_hand_computed(dtype):
    x = np.array([[0.0, np.log(3.0)], [np.log(2.0), np.log(2.0)]], dtype=dtype)
    t = np.array([1, 0])
    swl = fl.SoftmaxWithLoss()
    loss = swl.forward(x, t)
    # y = [[1/4, 3/4], [1/2, 1/2]];  loss = -(log(3/4) + log(1/2)) / 2
    assert_close(swl.y, [[0.25, 0.75], [0.5, 0.5]], dtype=dtype)
    assert loss == pytest.approx(-(np.log(0.75) + np.log(0.5)) / 2, rel=1e-12 if dtype == np.float64 else 1e-6)
    dx = swl.backward()
    assert_close(dx, [[0.125, -0.125], [-0.25, 0.25]], dtype=dtype)


@pytest.mark.parametrize("label_dtype", LABEL_DTYPES)
def test_every_integer_label_dtype(label_dtype, rng):
    x = rng.standard_normal((5, 4))
    labels = np.array([0, 3, 1, 2, 3])
    t = labels.astype(label_dtype)
    swl = fl.SoftmaxWithLoss()
    loss = swl.forward(x, t)
    assert loss == pytest.approx(ref.exact_loss(x, labels), rel=1e-12)
    dx = swl.backward()
    assert dx.dtype == np.float64
    assert_close(dx, (ref.softmax(x) - ref.one_hot(labels, 4)) / 5)


class _LabelArray(np.ndarray):
    """An ndarray subclass: NumPy may hand back a view of it (not a copy) when asked for a base-class array."""


LABEL_LAYOUTS = {
    "int8": lambda a: a.astype(np.int8),
    "uint16": lambda a: a.astype(np.uint16),
    "int64": lambda a: a.astype(np.int64),
    "longlong": lambda a: a.astype(np.longlong),
    "int64-big-endian": lambda a: a.astype(">i8"),
    "int64-strided": lambda a: np.repeat(a.astype(np.int64), 2)[::2],
    "int64-reversed": lambda a: a.astype(np.int64)[::-1].copy()[::-1],
    "int64-subclass": lambda a: a.astype(np.int64).view(_LabelArray),
    "uint8-strided": lambda a: np.repeat(a.astype(np.uint8), 3)[::3],
}


@pytest.mark.parametrize("layout", LABEL_LAYOUTS)
def test_labels_of_any_dtype_and_layout_are_kept_as_a_private_copy(layout, rng):
    # Labels that are already int64 and contiguous are copied; others are converted into a new array, which
    # is private already. Either way: the right loss, t kept as given (the book's self.t = t), and an
    # in-place change of the caller's t after forward does not reach backward.
    x = rng.standard_normal((4, 3))
    labels = np.array([0, 2, 1, 2])
    t = LABEL_LAYOUTS[layout](labels)
    swl = fl.SoftmaxWithLoss()
    loss = swl.forward(x, t)
    assert loss == pytest.approx(ref.exact_loss(x, labels), rel=1e-12)
    assert swl.t is t
    t[...] = 1  # still valid labels, but not the ones forward saw
    dx = swl.backward()
    assert_close(dx, (ref.softmax(x) - ref.one_hot(labels, 3)) / 4)
    np.testing.assert_array_equal(swl.t, np.ones(4))


def test_labels_and_onehot_agree(rng):
    x = rng.standard_normal((6, 5))
    labels = rng.integers(0, 5, 6)
    a, b = fl.SoftmaxWithLoss(), fl.SoftmaxWithLoss()
    la = a.forward(x, labels)
    lb = b.forward(x, ref.one_hot(labels, 5))
    assert la == pytest.approx(lb, rel=1e-13)
    assert_close(a.backward(0.7), b.backward(0.7))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_huge_logits_give_finite_correct_loss(dtype):
    x = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4]], dtype=dtype)
    t = np.array([1, 0])
    swl = fl.SoftmaxWithLoss()
    loss = swl.forward(x, t)
    # row 0: lse = 1e4, loss = 1e4 - (-1e4);  row 1: lse = 1e4 + log 2, loss = 2e4 + log 2
    assert np.isfinite(loss)
    assert loss == pytest.approx(2e4 + np.log(2.0) / 2, rel=1e-12 if dtype == np.float64 else 1e-6)
    assert np.all(np.isfinite(swl.y))
    assert_close(swl.y, [[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]], dtype=dtype)
    dx = swl.backward()
    assert np.all(np.isfinite(dx))
    assert_close(dx, np.array([[1.0, -1.0, 0.0], [-1.0, 0.5, 0.5]]) / 2, dtype=dtype)
    # and for a one-hot target, and for the correct class (loss exactly 0 for row 0)
    assert swl.forward(x, ref.one_hot(t, 3, dtype)) == pytest.approx(loss, rel=1e-12)
    assert swl.forward(x[:1], np.array([0])) == pytest.approx(0.0, abs=1e-12)


def test_soft_targets_use_full_cross_entropy():
    x = np.array([[1.0, 2.0, 3.0], [0.5, -0.5, 0.0]])
    t = np.array([[0.2, 0.3, 0.5], [0.6, 0.1, 0.3]])
    swl = fl.SoftmaxWithLoss()
    loss = swl.forward(x, t)
    full = -np.sum(t * ref.log_softmax(x)) / 2
    assert loss == pytest.approx(full, rel=1e-12)
    argmaxed = ref.exact_loss(x, t.argmax(axis=1))
    assert abs(loss - argmaxed) > 1e-3  # the deliberate difference from the book
    assert_close(swl.backward(2.0), (ref.softmax(x) - t) * 2.0 / 2)


def test_backward_default_dout_is_one(rng):
    x = rng.standard_normal((3, 4))
    t = np.array([0, 1, 3])
    swl = fl.SoftmaxWithLoss()
    swl.forward(x, t)
    dx_default = swl.backward()
    dx_one = swl.backward(1.0)
    np.testing.assert_array_equal(dx_default, dx_one)
    assert_close(swl.backward(3.0), 3.0 * dx_one)


def test_single_class_gives_zero_loss_and_gradient():
    swl = fl.SoftmaxWithLoss()
    loss = swl.forward(np.array([[3.0], [-7.0]]), np.array([0, 0]))
    assert loss == pytest.approx(0.0, abs=1e-15)
    np.testing.assert_array_equal(swl.y, [[1.0], [1.0]])
    np.testing.assert_allclose(swl.backward(), [[0.0], [0.0]], atol=1e-15)


@pytest.mark.parametrize(
    "label",
    [
        pytest.param(2, id="python-int"),
        pytest.param(np.int64(2), id="numpy-scalar"),
        pytest.param(np.array(2), id="0d-int64"),
        pytest.param(np.array(2, dtype=np.uint8), id="0d-uint8"),
        pytest.param(np.array([0.0, 0.0, 1.0, 0.0]), id="onehot-vector"),
    ],
)
def test_one_dimensional_x_is_one_sample(label):
    x = np.array([0.5, -1.0, 2.0, 0.0])
    swl = fl.SoftmaxWithLoss()
    loss = swl.forward(x, label)
    assert type(loss) is float
    assert loss == pytest.approx(-ref.log_softmax(x)[2], rel=1e-12)
    assert swl.y.shape == (4,)
    assert_close(swl.y, ref.softmax(x))
    dx = swl.backward(2.0)
    assert dx.shape == (4,)
    assert_close(dx, (ref.softmax(x) - np.array([0.0, 0.0, 1.0, 0.0])) * 2.0)


def test_later_calls_never_mutate_returned_arrays(rng):
    swl = fl.SoftmaxWithLoss()
    x1 = rng.standard_normal((3, 4))
    swl.forward(x1, np.array([0, 1, 2]))
    y1 = swl.y
    dx1 = swl.backward()
    saved = y1.copy(), dx1.copy()
    swl.forward(x1 * 3.0, np.array([3, 3, 3]))
    y2 = swl.y
    dx2 = swl.backward(5.0)
    np.testing.assert_array_equal(y1, saved[0])
    np.testing.assert_array_equal(dx1, saved[1])
    assert y2 is not y1
    assert_close(y2, ref.softmax(x1 * 3.0))
    assert_close(dx2, (ref.softmax(x1 * 3.0) - ref.one_hot([3, 3, 3], 4)) * 5.0 / 3)


def test_state_follows_latest_forward_of_new_shape(rng):
    swl = fl.SoftmaxWithLoss()
    swl.forward(rng.standard_normal((2, 3)), np.array([0, 1]))
    x = rng.standard_normal((4, 5))
    t = np.array([4, 0, 0, 2])
    loss = swl.forward(x, t)
    assert swl.y.shape == (4, 5) and swl.loss == loss
    np.testing.assert_array_equal(swl.t, t)
    assert swl.backward().shape == (4, 5)
