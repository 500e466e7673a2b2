"""Test helpers: hypothesis strategies over shapes and memory layouts, tolerances, state snapshots."""

from __future__ import annotations

import copy
import re

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

FLOAT_DTYPES = [np.float32, np.float64]

# (rtol, atol) per dtype, against a reference computed in float64 (or in the same dtype).
TOL = {
    np.dtype(np.float64): (1e-12, 1e-13),
    np.dtype(np.float32): (1e-5, 1e-6),
}

LAYOUTS = ["C", "transposed", "step2", "reversed", "mixed"]


def tol(dtype):
    return TOL[np.dtype(dtype)]


def floats(dtype, lo=-10.0, hi=10.0):
    width = 32 if np.dtype(dtype) == np.float32 else 64
    return st.floats(lo, hi, width=width, allow_nan=False, allow_infinity=False, allow_subnormal=False)


@st.composite
def laid_out(draw, dtype, shape, elements=None, layouts=LAYOUTS):
    """An array of ``shape`` whose memory is C order, a transpose, a step-2 slice, reversed, or a mix."""
    shape = tuple(shape)
    elements = floats(dtype) if elements is None else elements
    layout = draw(st.sampled_from(layouts))

    def arr(s):
        return draw(hnp.arrays(dtype, tuple(s), elements=elements))

    if layout == "C" or len(shape) == 0:
        a = arr(shape)
    elif layout == "transposed":
        a = arr(shape[::-1]).T
    elif layout == "step2":
        a = arr([2 * n for n in shape])[tuple(slice(None, None, 2) for _ in shape)]
    elif layout == "reversed":
        a = arr(shape)[tuple(slice(None, None, -1) for _ in shape)]
    else:  # "mixed": reversed step-2 rows of a transposed block
        big = arr([n if i else 2 * n for i, n in enumerate(shape)][::-1]).T
        a = big[::-2]
    assert a.shape == shape, (a.shape, shape)
    return a


def shapes(min_dims=1, max_dims=4, max_side=5):
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=max_side)


def assert_close(actual, expected, dtype=None, rtol=None, atol=None, scale=None):
    """assert_allclose with the dtype's tolerance; ``scale`` (broadcastable) multiplies atol for sums."""
    actual = np.asarray(actual)
    expected = np.asarray(expected)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    d_rtol, d_atol = tol(dtype if dtype is not None else actual.dtype)
    rtol = d_rtol if rtol is None else rtol
    atol = d_atol if atol is None else atol
    if scale is not None:
        # Error bound of a sum of products: |err| <= rtol * sum(|terms|) elementwise.
        atol = atol + rtol * np.asarray(scale, dtype=np.float64)
        err = np.abs(actual.astype(np.float64) - expected.astype(np.float64))
        bound = atol + rtol * np.abs(expected.astype(np.float64))
        bad = ~(err <= bound)
        assert not bad.any(), (
            f"{bad.sum()} of {bad.size} elements differ; max err {err.max()}, "
            f"actual {actual[bad][:5]}, expected {expected[bad][:5]}"
        )
        return
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


def assert_fresh(out, *inputs):
    """``out`` is a NumPy array that shares no memory with any of ``inputs``."""
    assert isinstance(out, np.ndarray), type(out)
    for a in inputs:
        if isinstance(a, np.ndarray):
            assert not np.shares_memory(out, a), "output aliases an input array"


class Snapshot:
    """Identity and contents of a layer's attributes and of some arrays, to compare after a failed call."""

    def __init__(self, layer=None, attrs=(), arrays=()):
        self.layer = layer
        self.attrs = {}
        for name in attrs:
            value = getattr(layer, name)
            self.attrs[name] = (value, _copy(value))
        self.arrays = [(a, _copy(a)) for a in arrays]

    def check(self):
        for name, (obj, saved) in self.attrs.items():
            now = getattr(self.layer, name)
            if obj is None or isinstance(obj, np.ndarray):
                assert now is obj, f"layer.{name} was replaced by a failed call"
            _assert_same(now, saved, f"layer.{name}")
        for i, (obj, saved) in enumerate(self.arrays):
            _assert_same(obj, saved, f"argument #{i}")


def _copy(v):
    if isinstance(v, np.ndarray):
        return v.copy()
    return copy.deepcopy(v)


def same_contents(a, b):
    """Whether two arrays of one shape and dtype hold the same bytes (element-wise == for object arrays).
    Not np.array_equal: a NaN or a NaT is not equal to itself, so an untouched array holding one looked
    modified (equal_nan covers floats only)."""
    if a.dtype.kind == "O":
        return bool(np.array_equal(a, b))
    return np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes()


def _assert_same(now, saved, what):
    if isinstance(saved, np.ndarray):
        assert isinstance(now, np.ndarray), what
        assert now.shape == saved.shape and now.dtype == saved.dtype, what
        assert same_contents(now, saved), f"{what} was modified"
    elif isinstance(saved, dict):  # an optimizer's state: key -> array
        assert isinstance(now, dict) and now.keys() == saved.keys(), f"{what} changed keys"
        for k in saved:
            _assert_same(now[k], saved[k], f"{what}[{k!r}]")
    else:
        assert now == saved, f"{what} changed: {saved!r} -> {now!r}"


def _names(msg, name):
    return re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", msg) is not None


def check_message(excinfo, arg, *fragments):
    """The error message names ``arg`` (as a word) and contains every fragment (e.g. ``str(shape)``).

    A fragment that is a frozenset is satisfied by any one of its members.
    """
    msg = str(excinfo.value)
    assert _names(msg, arg), f"message does not name {arg!r}: {msg!r}"
    for f in fragments:
        options = sorted(f) if isinstance(f, frozenset) else [str(f)]
        assert any(o in msg for o in options), f"message lacks {' or '.join(map(repr, options))}: {msg!r}"


def dtype_words(dtype):
    """Acceptable spellings of a dtype in a message."""
    dtype = np.dtype(dtype)
    words = {str(dtype), dtype.name}
    if dtype.kind == "U":
        words |= {"str", "unicode", "<U"}
    if dtype.kind == "O":
        words |= {"object"}
    return words


def dt(dtype):
    """A check_message fragment matching any spelling of ``dtype``."""
    return frozenset(dtype_words(dtype))


def numerical_gradient(f, x, h=1e-5):
    """Central differences of scalar f() with respect to the array ``x``, perturbed IN PLACE."""
    grad = np.zeros(x.shape, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        idx = it.multi_index
        old = x[idx]
        x[idx] = old + h
        fp = f()
        x[idx] = old - h
        fm = f()
        x[idx] = old
        grad[idx] = (fp - fm) / (2 * h)
    return grad
