"""One test per bad input: the right exception, a message naming the argument with the given (and expected)
shape or dtype, and every array and the layer's state left exactly as they were."""

from __future__ import annotations

import numpy as np
import pytest

import fastlayers as fl
import reference as ref
from helpers import Snapshot, assert_close, check_message, dt


def expect(concrete, *symbolic):
    """An expected shape in a message: the concrete tuple, or its symbolic spelling such as "(N, M)"."""
    return frozenset((str(concrete), *symbolic))


COMPLEX = np.array([[1 + 2j, 0j, 1j], [2 + 0j, -1j, 3 + 0j]])
OBJECT = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype=object)
STRING = np.array([["a", "b", "c"], ["d", "e", "f"]])

X = np.array([[1.0, -1.0, 0.5], [0.0, 2.0, -3.0]])  # (2, 3) for the element-wise layers
DOUT = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])

# Affine: D = 3, M = 2, N = 2
W = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
B = np.array([0.5, -0.5])
AX = np.array([[1.0, 0.0, -1.0], [2.0, 1.0, 0.0]])
ADOUT = np.array([[1.0, -1.0], [0.5, 2.0]])

# SoftmaxWithLoss: N = 3, C = 4
SX = np.array([[1.0, 2.0, 0.5, -1.0], [0.0, 0.0, 3.0, 1.0], [-2.0, 1.0, 1.0, 0.0]])
ST = np.array([1, 2, 0])

CASES = {}


def case(name, exc, arg, *fragments):
    """Register ``build`` (-> thunk, snapshot, after) under ``name``."""

    def deco(build):
        CASES[name] = (exc, arg, fragments, build)
        return build

    return deco


# --- Relu and Sigmoid ----------------------------------------------------------------------------------------

ELEMENTWISE = {"Relu": ("mask",), "Sigmoid": ("out",)}


def ready(layer_name):
    layer = getattr(fl, layer_name)()
    x = X.copy()
    layer.forward(x)
    expected_dx = getattr(ref, layer_name)()
    expected_dx.forward(X.copy())
    return layer, expected_dx.backward(DOUT)


def elementwise_cases(layer_name):
    attrs = ELEMENTWISE[layer_name]

    def after_ok(layer, expected_dx):
        def after():
            assert_close(layer.backward(DOUT.copy()), expected_dx)

        return after

    def fwd(bad):
        def build():
            layer, expected_dx = ready(layer_name)
            bad_ = bad.copy()
            return (lambda: layer.forward(bad_)), Snapshot(layer, attrs, [bad_]), after_ok(layer, expected_dx)

        return build

    def bwd(bad):
        def build():
            layer, expected_dx = ready(layer_name)
            bad_ = bad.copy()
            return (lambda: layer.backward(bad_)), Snapshot(layer, attrs, [bad_]), after_ok(layer, expected_dx)

        return build

    def before_forward():
        layer = getattr(fl, layer_name)()
        d = DOUT.copy()
        return (lambda: layer.backward(d)), Snapshot(layer, attrs, [d]), None

    p = layer_name.lower()
    case(f"{p}-forward-complex-x", TypeError, "x", dt(np.complex128))(fwd(COMPLEX))
    case(f"{p}-forward-object-x", TypeError, "x", dt(object))(fwd(OBJECT))
    case(f"{p}-forward-str-x", TypeError, "x", dt(STRING.dtype))(fwd(STRING))
    case(f"{p}-backward-before-forward", ValueError, None)(before_forward)
    case(f"{p}-backward-dout-transposed-shape", ValueError, "dout", "(3, 2)", "(2, 3)")(bwd(DOUT.T))
    case(f"{p}-backward-dout-flat-same-size", ValueError, "dout", "(6,)", "(2, 3)")(bwd(DOUT.ravel()))
    case(f"{p}-backward-dout-extra-row", ValueError, "dout", "(3, 3)", "(2, 3)")(bwd(np.ones((3, 3))))
    case(f"{p}-backward-complex-dout", TypeError, "dout", dt(np.complex128))(bwd(COMPLEX))
    case(f"{p}-backward-object-dout", TypeError, "dout", dt(object))(bwd(OBJECT))


elementwise_cases("Relu")
elementwise_cases("Sigmoid")


# --- Affine: construction ------------------------------------------------------------------------------------


def ctor(W_, b_):
    def build():
        args = [W_, b_]
        snap = Snapshot(arrays=[a for a in args if isinstance(a, np.ndarray)])
        return (lambda: fl.Affine(*args)), snap, None

    return build


case("affine-W-list", TypeError, "W", "list")(ctor(W.tolist(), B.copy()))
case("affine-W-int", TypeError, "W", dt(np.int64))(ctor(W.astype(np.int64), B.copy()))
case("affine-W-float16", TypeError, "W", dt(np.float16))(ctor(W.astype(np.float16), B.copy()))
case("affine-W-complex", TypeError, "W", dt(np.complex128))(ctor(W.astype(np.complex128), B.copy()))
case("affine-W-object", TypeError, "W", dt(object))(ctor(W.astype(object), B.copy()))
case("affine-W-bool", TypeError, "W", dt(np.bool_))(ctor(W > 2, B.copy()))
case("affine-b-list", TypeError, "b", "list")(ctor(W.copy(), B.tolist()))
case("affine-b-int", TypeError, "b", dt(np.int64))(ctor(W.copy(), np.array([1, 2])))
case("affine-b-float16", TypeError, "b", dt(np.float16))(ctor(W.copy(), B.astype(np.float16)))
case("affine-b-complex", TypeError, "b", dt(np.complex128))(ctor(W.copy(), B.astype(np.complex128)))
case("affine-W-1d", ValueError, "W", "(3,)")(ctor(np.ones(3), B.copy()))
case("affine-W-3d", ValueError, "W", "(3, 2, 1)")(ctor(np.ones((3, 2, 1)), B.copy()))
case("affine-W-0d", ValueError, "W", "()")(ctor(np.array(1.0), B.copy()))
case("affine-b-column", ValueError, "b", "(2, 1)", expect("(2,)", "(M,)"))(ctor(W.copy(), B.reshape(2, 1).copy()))
case("affine-b-too-long", ValueError, "b", "(3,)", expect("(2,)", "(M,)"))(ctor(W.copy(), np.ones(3)))
case("affine-b-too-short", ValueError, "b", "(1,)", expect("(2,)", "(M,)"))(ctor(W.copy(), np.ones(1)))


# --- Affine: forward / backward ------------------------------------------------------------------------------

AFF_ATTRS = ("W", "b", "x", "dW", "db", "original_x_shape")


def aff_ready():
    Wc, bc = W.copy(), B.copy()
    aff = fl.Affine(Wc, bc)
    aff.forward(AX.copy())
    aff.backward(ADOUT.copy())
    return aff, Wc, bc


def aff_after(aff):
    def after():
        # the state from the last good forward is still in force
        assert_close(aff.backward(ADOUT.copy()), ADOUT @ W.T)
        assert_close(aff.dW, AX.T @ ADOUT)
        assert_close(aff.db, ADOUT.sum(axis=0))

    return after


def aff_fwd(bad):
    def build():
        aff, Wc, bc = aff_ready()
        bad_ = bad.copy()
        return (lambda: aff.forward(bad_)), Snapshot(aff, AFF_ATTRS, [bad_, Wc, bc]), aff_after(aff)

    return build


def aff_bwd(bad):
    def build():
        aff, Wc, bc = aff_ready()
        bad_ = bad.copy()
        return (lambda: aff.backward(bad_)), Snapshot(aff, AFF_ATTRS, [bad_, Wc, bc]), aff_after(aff)

    return build


def aff_backward_before_forward():
    Wc, bc = W.copy(), B.copy()
    aff = fl.Affine(Wc, bc)
    d = ADOUT.copy()
    return (lambda: aff.backward(d)), Snapshot(aff, ("W", "b", "x", "dW", "db"), [d, Wc, bc]), None


case("affine-x-wrong-features", ValueError, "x", "(2, 4)", expect("3", "D"))(aff_fwd(np.ones((2, 4))))
case("affine-x-nd-wrong-features", ValueError, "x", "(2, 2, 2)", expect("3", "D"))(aff_fwd(np.ones((2, 2, 2))))
case("affine-x-1d-when-D-is-not-1", ValueError, "x", "(3,)")(aff_fwd(np.ones(3)))
case("affine-x-0d", ValueError, "x", "()")(aff_fwd(np.array(1.0)))
case("affine-x-complex", TypeError, "x", dt(np.complex128))(aff_fwd(COMPLEX))
case("affine-x-object", TypeError, "x", dt(object))(aff_fwd(OBJECT))
case("affine-x-str", TypeError, "x", dt(STRING.dtype))(aff_fwd(STRING))
case("affine-backward-before-forward", ValueError, None)(aff_backward_before_forward)
case("affine-dout-wrong-M", ValueError, "dout", "(2, 3)", expect("(2, 2)", "(N, M)"))(aff_bwd(np.ones((2, 3))))
case("affine-dout-wrong-N", ValueError, "dout", "(3, 2)", expect("(2, 2)", "(N, M)"))(aff_bwd(np.ones((3, 2))))
case("affine-dout-1d", ValueError, "dout", "(4,)", expect("(2, 2)", "(N, M)"))(aff_bwd(np.ones(4)))
case("affine-dout-3d", ValueError, "dout", "(2, 2, 1)", expect("(2, 2)", "(N, M)"))(aff_bwd(np.ones((2, 2, 1))))
case("affine-dout-complex", TypeError, "dout", dt(np.complex128))(aff_bwd(ADOUT.astype(np.complex128)))


# --- SoftmaxWithLoss -----------------------------------------------------------------------------------------

SWL_ATTRS = ("loss", "y", "t")


def swl_ready():
    swl = fl.SoftmaxWithLoss()
    swl.forward(SX.copy(), ST.copy())
    return swl


def swl_after(swl):
    def after():
        assert swl.loss == pytest.approx(ref.exact_loss(SX, ST), rel=1e-12)
        assert_close(swl.backward(), (ref.softmax(SX) - ref.one_hot(ST, 4)) / 3)

    return after


def swl_fwd(bad_x, bad_t):
    def build():
        swl = swl_ready()
        x_ = bad_x.copy() if isinstance(bad_x, np.ndarray) else bad_x
        t_ = bad_t.copy() if isinstance(bad_t, np.ndarray) else bad_t
        arrays = [a for a in (x_, t_) if isinstance(a, np.ndarray)]
        return (lambda: swl.forward(x_, t_)), Snapshot(swl, SWL_ATTRS, arrays), swl_after(swl)

    return build


def swl_backward_before_forward():
    swl = fl.SoftmaxWithLoss()
    return (lambda: swl.backward()), Snapshot(swl, SWL_ATTRS), None


X1 = np.array([0.5, 1.0, -1.0, 2.0])  # one sample, C = 4

case("swl-x-3d", ValueError, "x", "(3, 4, 1)")(swl_fwd(SX.reshape(3, 4, 1), ST))
case("swl-x-0d", ValueError, "x", "()")(swl_fwd(np.array(1.0), np.array(0)))
case("swl-labels-too-long", ValueError, "t", "(4,)", expect("(3,)", "(N,)"))(swl_fwd(SX, np.array([0, 1, 2, 3])))
case("swl-labels-too-short", ValueError, "t", "(2,)", expect("(3,)", "(N,)"))(swl_fwd(SX, np.array([0, 1])))
case("swl-onehot-wrong-C", ValueError, "t", "(3, 5)", expect("(3, 4)", "(N, C)"))(swl_fwd(SX, np.zeros((3, 5))))
case("swl-onehot-wrong-N", ValueError, "t", "(2, 4)", expect("(3, 4)", "(N, C)"))(swl_fwd(SX, np.zeros((2, 4))))
case("swl-t-3d", ValueError, "t", "(3, 4, 1)")(swl_fwd(SX, np.zeros((3, 4, 1))))
case("swl-label-equal-to-C", ValueError, "t")(swl_fwd(SX, np.array([0, 4, 1])))
case("swl-label-negative", ValueError, "t")(swl_fwd(SX, np.array([0, -1, 1])))
case("swl-label-uint8-255", ValueError, "t")(swl_fwd(SX, np.array([0, 255, 1], dtype=np.uint8)))
case("swl-label-int64-huge", ValueError, "t")(swl_fwd(SX, np.array([0, 2**40, 1])))
case("swl-labels-float", TypeError, "t", dt(np.float64))(swl_fwd(SX, np.array([0.0, 1.0, 2.0])))
case("swl-labels-float32", TypeError, "t", dt(np.float32))(swl_fwd(SX, np.array([0, 1, 2], dtype=np.float32)))
case("swl-x-complex", TypeError, "x", dt(np.complex128))(swl_fwd(SX.astype(np.complex128), ST))
case("swl-x-object", TypeError, "x", dt(object))(swl_fwd(SX.astype(object), ST))
case("swl-x-str", TypeError, "x", dt(STRING.dtype))(swl_fwd(STRING, np.array([0, 1])))
case("swl-t-complex", TypeError, "t", dt(np.complex128))(swl_fwd(SX, ref.one_hot(ST, 4).astype(np.complex128)))
case("swl-t-object", TypeError, "t", dt(object))(swl_fwd(SX, ST.astype(object)))
case("swl-t-str", TypeError, "t", dt(np.array(["1", "2", "0"]).dtype))(swl_fwd(SX, np.array(["1", "2", "0"])))
case("swl-empty-batch-labels", ValueError, "x", "(0, 4)")(swl_fwd(np.zeros((0, 4)), np.zeros(0, dtype=np.int64)))
case("swl-empty-batch-onehot", ValueError, "x", "(0, 4)")(swl_fwd(np.zeros((0, 4)), np.zeros((0, 4))))
case("swl-1d-label-out-of-range", ValueError, "t")(swl_fwd(X1, 4))
case("swl-1d-label-negative", ValueError, "t")(swl_fwd(X1, -1))
case("swl-1d-label-python-float", TypeError, "t", "float")(swl_fwd(X1, 1.0))
case("swl-1d-label-0d-float", TypeError, "t", dt(np.float64))(swl_fwd(X1, np.array(1.0)))
case("swl-1d-onehot-wrong-length", ValueError, "t", "(5,)", expect("(4,)", "(C,)"))(swl_fwd(X1, np.zeros(5)))
case("swl-1d-t-2d", ValueError, "t", "(1, 4)")(swl_fwd(X1, np.zeros((1, 4))))
case("swl-backward-before-forward", ValueError, None)(swl_backward_before_forward)


# --- softmax and cross_entropy_error -------------------------------------------------------------------------


def fn(f, *args):
    def build():
        args_ = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
        return (lambda: f(*args_)), Snapshot(arrays=[a for a in args_ if isinstance(a, np.ndarray)]), None

    return build


Y = ref.softmax(SX)
case("softmax-complex-x", TypeError, "x", dt(np.complex128))(fn(fl.softmax, COMPLEX))
case("softmax-object-x", TypeError, "x", dt(object))(fn(fl.softmax, OBJECT))
case("softmax-str-x", TypeError, "x", dt(STRING.dtype))(fn(fl.softmax, STRING))
case("cee-labels-too-long", ValueError, "t", "(4,)", expect("(3,)", "(N,)"))(
    fn(fl.cross_entropy_error, Y, np.array([0, 1, 2, 3]))
)
case("cee-onehot-wrong-C", ValueError, "t", "(3, 5)", expect("(3, 4)", "(N, C)"))(
    fn(fl.cross_entropy_error, Y, np.zeros((3, 5)))
)
case("cee-label-equal-to-C", ValueError, "t")(fn(fl.cross_entropy_error, Y, np.array([0, 4, 1])))
case("cee-label-negative", ValueError, "t")(fn(fl.cross_entropy_error, Y, np.array([0, -1, 1])))
case("cee-labels-float", TypeError, "t", dt(np.float64))(fn(fl.cross_entropy_error, Y, np.array([0.0, 1.0, 2.0])))
case("cee-y-complex", TypeError, "y", dt(np.complex128))(fn(fl.cross_entropy_error, Y.astype(np.complex128), ST))
case("cee-y-object", TypeError, "y", dt(object))(fn(fl.cross_entropy_error, Y.astype(object), ST))
case("cee-y-3d", ValueError, "y", "(3, 4, 1)")(fn(fl.cross_entropy_error, Y.reshape(3, 4, 1), ST))
case("cee-1d-label-out-of-range", ValueError, "t")(fn(fl.cross_entropy_error, Y[0], 4))
case("cee-t-complex", TypeError, "t", dt(np.complex128))(
    fn(fl.cross_entropy_error, Y, ref.one_hot(ST, 4).astype(np.complex128))
)


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input(name):
    exc, arg, fragments, build = CASES[name]
    thunk, snapshot, after = build()
    with pytest.raises(exc) as excinfo:
        thunk()
    # the documented type, and not also the other one
    assert not isinstance(excinfo.value, TypeError if exc is ValueError else ValueError)
    if arg is not None:
        check_message(excinfo, arg, *fragments)
    snapshot.check()
    if after is not None:
        after()
