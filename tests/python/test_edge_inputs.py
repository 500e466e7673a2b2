"""The other half of the bad-input matrix (issue 5): inputs that are odd but valid must give the right
result, checked against the NumPy reference, and leave the caller's arrays as they were. Zero-size
dimensions, read-only, negatively strided, zero-strided and unaligned arrays, NaN and +-inf, arrays that
alias each other, backward twice, forward with a new shape, and shapes of more than 2**31 elements."""

from __future__ import annotations

import os
import resource

import numpy as np
import pytest

import fastlayers as fl
import reference as ref
from helpers import assert_close

RNG = np.random.default_rng(11)
X = RNG.standard_normal((4, 6))
DOUT = RNG.standard_normal((4, 6))
W = RNG.standard_normal((6, 3))
B = RNG.standard_normal(3)
ADOUT = RNG.standard_normal((4, 3))
T = np.array([0, 2, 1, 2])


def unaligned(a):
    """A copy of ``a`` whose data starts at byte offset 1 of a uint8 buffer (not aligned for its dtype)."""
    a = np.asarray(a)
    buf = np.zeros(a.nbytes + 1, dtype=np.uint8)
    out = buf[1:].view(a.dtype).reshape(a.shape)
    out[...] = a
    assert not out.flags.aligned
    return out


def read_only(a):
    a = np.array(a)
    a.flags.writeable = False
    return a


def reversed_(a):
    """The same values, in memory back to front (negative strides on every axis)."""
    a = np.asarray(a)
    out = np.ascontiguousarray(a[tuple(slice(None, None, -1) for _ in a.shape)])[
        tuple(slice(None, None, -1) for _ in a.shape)
    ]
    assert all(s < 0 for s in out.strides if s)
    return out


def zero_stride_rows(a):
    """Every row the same, stride 0 along axis 0 (np.broadcast_to), read-only."""
    return np.broadcast_to(a[0], a.shape)


def big_endian(a):
    return np.asarray(a).astype(np.asarray(a).dtype.newbyteorder(">"))


LAYOUTS = {"unaligned": unaligned, "read-only": read_only, "negative-strides": reversed_,
           "zero-strides": zero_stride_rows, "big-endian": big_endian}


def run_layers(x, dout, Wm, b, adout, t):
    """Every layer and function once, fastlayers and reference; returns pairs (name, ours, expected)."""
    out = []
    relu, rrelu = fl.Relu(), ref.Relu()
    out += [("Relu.forward", relu.forward(x), rrelu.forward(np.array(x))),
            ("Relu.backward", relu.backward(dout), rrelu.backward(np.array(dout)))]
    sig, rsig = fl.Sigmoid(), ref.Sigmoid()
    out += [("Sigmoid.forward", sig.forward(x), rsig.forward(np.array(x))),
            ("Sigmoid.backward", sig.backward(dout), rsig.backward(np.array(dout)))]
    aff, raff = fl.Affine(Wm, b), ref.Affine(np.array(Wm), np.array(b))
    out += [("Affine.forward", aff.forward(x), raff.forward(np.array(x))),
            ("Affine.backward", aff.backward(adout), raff.backward(np.array(adout))),
            ("Affine.dW", aff.dW, raff.dW), ("Affine.db", aff.db, raff.db)]
    swl = fl.SoftmaxWithLoss()
    out += [("SoftmaxWithLoss.loss", swl.forward(x, t), ref.exact_loss(np.array(x), np.array(t))),
            ("SoftmaxWithLoss.backward", swl.backward(),
             (ref.softmax(np.array(x)) - ref.one_hot(np.array(t), x.shape[1])) / x.shape[0])]
    out += [("softmax", fl.softmax(x), ref.softmax(np.array(x))),
            ("cross_entropy_error", fl.cross_entropy_error(ref.softmax(np.array(x)), t),
             ref.cross_entropy_error(ref.softmax(np.array(x)), np.array(t)))]
    return out


# (A zero-strided 1-D b or t is a constant array: covered by the 2-D arguments.)
@pytest.mark.parametrize(
    "layout,which",
    [(layout, which) for layout in LAYOUTS for which in ("x", "dout", "W", "b", "t")
     if not (layout == "zero-strides" and which in ("b", "t"))],
)
def test_layout_of_each_argument_gives_the_right_result(layout, which):
    """One argument at a time is unaligned, read-only, negatively strided, zero-strided or big-endian."""
    args = {"x": X, "dout": DOUT, "W": W, "b": B, "t": T}
    base = {k: v.copy() for k, v in args.items()}
    if layout == "zero-strides":
        base[which] = zero_stride_rows(base[which])  # the reference sees the same repeated rows
    arg = LAYOUTS[layout](base[which]) if layout != "zero-strides" else base[which]
    np.testing.assert_array_equal(arg, base[which])
    call = dict(base, **{which: arg})
    saved = {k: np.array(v) for k, v in call.items()}
    for name, ours, expected in run_layers(call["x"], call["dout"], call["W"], call["b"], ADOUT, call["t"]):
        assert_close(ours, expected, dtype=np.float64, rtol=1e-12, atol=1e-12), name
    for k, v in call.items():
        np.testing.assert_array_equal(v, saved[k], err_msg=f"{k} was modified")


@pytest.mark.parametrize("layout", ["unaligned", "negative-strides", "big-endian"])
def test_optimizer_params_of_any_layout_are_updated_in_place(layout):
    for make in (fl.SGD, fl.Momentum, fl.AdaGrad, fl.Adam):
        p = LAYOUTS[layout](W.copy())
        g = LAYOUTS[layout](W * 0.5)
        expected = {"W": W.copy()}
        make().update({"W": p}, {"W": g})
        make().update(expected, {"W": W * 0.5})
        np.testing.assert_array_equal(p, expected["W"])


# --- zero-size dimensions that are valid --------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(0, 3), (3, 0), (0,), (0, 0), (2, 0, 4)])
def test_elementwise_layers_and_softmax_on_empty_arrays(shape):
    x = np.zeros(shape)
    for layer in (fl.Relu(), fl.Sigmoid()):
        y = layer.forward(x)
        assert y.shape == shape and y.dtype == np.float64
        assert layer.backward(np.zeros(shape)).shape == shape
    assert fl.softmax(x).shape == shape


@pytest.mark.parametrize("n,d,m", [(0, 3, 2), (4, 0, 2), (4, 3, 0), (0, 0, 0)])
def test_affine_with_a_zero_dimension(n, d, m):
    """N = 0, D = 0 or M = 0: the right (empty or b-only) results, like NumPy."""
    x, Wm, b = RNG.standard_normal((n, d)), RNG.standard_normal((d, m)), RNG.standard_normal(m)
    dout = RNG.standard_normal((n, m))
    aff = fl.Affine(Wm, b)
    out = aff.forward(x)
    assert out.shape == (n, m)
    assert_close(out, x @ Wm + b)  # b alone when D = 0
    dx = aff.backward(dout)
    assert dx.shape == (n, d) and aff.dW.shape == (d, m) and aff.db.shape == (m,)
    assert_close(dx, dout @ Wm.T)
    assert_close(aff.dW, x.T @ dout)  # zeros when N = 0
    assert_close(aff.db, dout.sum(axis=0))


def test_softmax_with_loss_one_class():
    swl = fl.SoftmaxWithLoss()
    assert swl.forward(np.array([[3.0], [-1.0]]), np.array([0, 0])) == 0.0
    np.testing.assert_array_equal(swl.backward(), np.zeros((2, 1)))


def test_optimizers_on_empty_params():
    for make in (fl.SGD, fl.Momentum, fl.AdaGrad, fl.Adam):
        p = {"W": np.zeros((0, 3)), "b": np.zeros(0)}
        make().update(p, {"W": np.zeros((0, 3)), "b": np.zeros(0)})
        assert p["W"].shape == (0, 3)


# --- NaN and infinities ---------------------------------------------------------------------------------------


def test_nan_and_inf_propagate_like_numpy_through_affine_and_softmax():
    x = X.copy()
    x[1, 2] = np.nan
    x[2, 0] = np.inf
    with np.errstate(invalid="ignore", over="ignore"):
        np.testing.assert_allclose(fl.Affine(W, B).forward(x), ref.Affine(W, B).forward(x), rtol=1e-12)
        np.testing.assert_allclose(fl.softmax(x), ref.softmax(x), rtol=1e-12)
    assert np.isnan(fl.Affine(W, B).forward(x)[1]).all()


def test_softmax_with_loss_positive_inf_logit_gives_nan_like_numpy_and_torch():
    """Documented (README): a +inf logit makes its row of y NaN and the loss NaN (inf - inf), as in the book's
    NumPy code and in PyTorch; the layer neither raises nor warns, and backward gives NaN in that row only."""
    x = np.array([[np.inf, 0.0, 1.0], [0.5, 1.0, -1.0]])
    t = np.array([0, 1])
    swl = fl.SoftmaxWithLoss()
    loss = swl.forward(x, t)
    with np.errstate(invalid="ignore"):
        expected_y = ref.softmax(x)
    assert np.isnan(loss)
    np.testing.assert_array_equal(swl.y, expected_y)
    assert np.isnan(swl.y[0]).all() and np.isfinite(swl.y[1]).all()
    dx = swl.backward()
    assert np.isnan(dx[0]).all()
    assert_close(dx[1], (ref.softmax(x[1]) - [0, 1, 0]) / 2)


def test_softmax_with_loss_negative_inf_logit_has_probability_zero():
    x = np.array([[-np.inf, 0.0, 1.0]])
    swl = fl.SoftmaxWithLoss()
    assert swl.forward(x, np.array([2])) == pytest.approx(ref.exact_loss(x[:, 1:], [1]))
    assert swl.y[0, 0] == 0.0
    assert swl.forward(x, np.array([0])) == np.inf  # the target has probability 0
    one_hot = np.array([[0.0, 0.0, 1.0]])  # a 0 target on the -inf logit adds nothing (no 0 * inf)
    assert swl.forward(x, one_hot) == pytest.approx(ref.exact_loss(x[:, 1:], [1]))


def test_nan_in_optimizer_grads_propagates_to_that_element_only():
    p = {"W": np.ones(3)}
    fl.SGD(lr=0.1).update(p, {"W": np.array([np.nan, 1.0, np.inf])})
    assert np.isnan(p["W"][0]) and p["W"][1] == pytest.approx(0.9) and p["W"][2] == -np.inf


# --- aliasing ----------------------------------------------------------------------------------------------------


def test_dout_is_the_forward_input():
    for layer, r in ((fl.Relu(), ref.Relu()), (fl.Sigmoid(), ref.Sigmoid())):
        x = X.copy()
        saved = x.copy()
        layer.forward(x)
        r.forward(saved.copy())
        assert_close(layer.backward(x), r.backward(saved.copy()))
        np.testing.assert_array_equal(x, saved)


def test_affine_input_is_its_own_weight():
    """x is W (a square W): forward(W) = W @ W + b; backward with dout = W too."""
    Wsq = RNG.standard_normal((4, 4))
    b = RNG.standard_normal(4)
    saved = Wsq.copy()
    aff, r = fl.Affine(Wsq, b), ref.Affine(saved.copy(), b.copy())
    assert_close(aff.forward(Wsq), r.forward(saved.copy()))
    assert_close(aff.backward(Wsq), r.backward(saved.copy()))
    assert_close(aff.dW, r.dW)
    np.testing.assert_array_equal(Wsq, saved)


def test_affine_bias_is_a_row_of_its_weight():
    Wm = RNG.standard_normal((3, 3))
    aff = fl.Affine(Wm, Wm[0])
    assert_close(aff.forward(X[:, :3]), X[:, :3] @ Wm + Wm[0])


def test_softmax_with_loss_target_is_x():
    x = ref.softmax(X)  # probabilities as both logits and targets
    swl = fl.SoftmaxWithLoss()
    assert swl.forward(x, x) == pytest.approx(-np.sum(x * ref.log_softmax(x)) / 4, rel=1e-12)
    assert_close(swl.backward(), (ref.softmax(x) - x) / 4)


def test_optimizer_grads_is_params():
    """grads[key] is params[key] (the same array), and two keys naming one array: as the book's code does."""
    for make in (fl.SGD, fl.Momentum, fl.AdaGrad, fl.Adam):
        a = W.copy()
        make(lr=0.1).update({"W": a}, {"W": a})
        expected = {"W": W.copy()}
        make(lr=0.1).update(expected, {"W": W.copy()})
        np.testing.assert_allclose(a, expected["W"], rtol=1e-15)
    a = W.copy()
    fl.SGD(lr=0.1).update({"A": a, "B": a}, {"A": np.ones_like(a), "B": np.ones_like(a)})
    np.testing.assert_allclose(a, W - 0.2)


def test_outputs_fed_back_as_inputs_are_not_modified():
    relu = fl.Relu()
    y = relu.forward(X)
    y_saved = y.copy()
    y2 = relu.forward(y)
    dx = relu.backward(y2)
    np.testing.assert_array_equal(y, y_saved)
    np.testing.assert_array_equal(dx, np.where(y <= 0, 0.0, y2))


# --- call order -------------------------------------------------------------------------------------------------


def test_backward_twice_gives_the_same_result():
    for layer in (fl.Relu(), fl.Sigmoid(), fl.Affine(W, B)):
        x = X
        layer.forward(x)
        d = DOUT if not isinstance(layer, fl.Affine) else ADOUT
        first = layer.backward(d)
        np.testing.assert_array_equal(layer.backward(d), first)
    swl = fl.SoftmaxWithLoss()
    swl.forward(X, T)
    np.testing.assert_array_equal(swl.backward(), swl.backward())


def test_forward_with_a_new_shape_replaces_the_state():
    for layer in (fl.Relu(), fl.Sigmoid()):
        layer.forward(X)
        x2 = RNG.standard_normal((2, 3, 5))
        layer.forward(x2)
        with pytest.raises(ValueError, match=r"\(4, 6\)"):
            layer.backward(DOUT)
        assert layer.backward(np.ones((2, 3, 5))).shape == (2, 3, 5)
    aff = fl.Affine(W, B)
    aff.forward(X)
    aff.forward(X.reshape(2, 2, 6)[:, 0])
    assert aff.x.shape == (2, 6) and aff.original_x_shape == (2, 6)
    with pytest.raises(ValueError, match="dout"):
        aff.backward(ADOUT)
    swl = fl.SoftmaxWithLoss()
    swl.forward(X, T)
    swl.forward(X[0], 3)
    assert swl.backward().shape == (6,)


# --- shapes of more than 2**31 elements (views: no real memory) ------------------------------------------------


def _huge_views():
    """Zero-strided views whose element counts exceed 2**31 (and 2**32); they take no memory themselves."""
    one = np.ones(1)
    return {
        "rows": np.broadcast_to(one, (2**31 + 3, 1)),
        "square": np.broadcast_to(one, (2**16 + 1, 2**16 + 1)),
        "wide": np.broadcast_to(one, (1, 2**32 + 1)),
    }


def _bc(shape, dtype=np.float64):
    """A zero-strided view of the given shape: no memory however large."""
    return np.broadcast_to(np.ones(1, dtype=dtype), shape)


def _labels(n):
    return np.broadcast_to(np.zeros(1, dtype=np.int64), (n,))


HUGE_CALLS = {
    "Relu.forward": lambda v: fl.Relu().forward(v),
    "Sigmoid.forward": lambda v: fl.Sigmoid().forward(v),
    "softmax": lambda v: fl.softmax(v),
    "Affine.forward": lambda v: fl.Affine(_bc((v.shape[1], 1)), np.zeros(1)).forward(v),
    "Affine.forward(W huge)": lambda v: fl.Affine(v.T, _bc((v.shape[0],))).forward(_bc((1, v.shape[1]))),
    "SoftmaxWithLoss.forward": lambda v: fl.SoftmaxWithLoss().forward(v, _labels(v.shape[0])),
    "cross_entropy_error": lambda v: fl.cross_entropy_error(v, _labels(v.shape[0])),
    "Sequential.predict": lambda v: fl.Sequential([fl.Affine(_bc((v.shape[1], 1)), np.zeros(1))]).predict(v),
}


@pytest.mark.skipif(bool(os.environ.get("FASTLAYERS_ASAN")), reason="ASan reserves terabytes of address space")
@pytest.mark.parametrize("view", ["rows", "square", "wide"])
@pytest.mark.parametrize("call", list(HUGE_CALLS))
def test_more_than_2_31_elements_is_a_clear_error_never_a_wrapped_index(call, view):
    """Each call either computes, or raises a clear MemoryError (the copy or the output does not fit) or a
    ValueError naming a shape; a 32-bit size would wrap to a small one and crash or return garbage instead.

    The address space is capped at what the process uses plus 2 GiB while the call runs, so that an attempt
    to allocate tens of GiB fails at once on any machine instead of paging."""
    v = _huge_views()[view]
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as f:
        vm_bytes = int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    cap = vm_bytes + 2 * 2**30
    resource.setrlimit(resource.RLIMIT_AS, (cap if hard == resource.RLIM_INFINITY else min(cap, hard), hard))
    try:
        HUGE_CALLS[call](v)
    except MemoryError as e:
        assert "Unable to allocate" in str(e) or "alloc" in str(e).lower(), str(e)
    except ValueError as e:
        assert "shape" in str(e), str(e)
    else:
        pytest.fail(f"{call} on a {v.shape} view returned instead of running out of memory")
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


# --- regressions -------------------------------------------------------------------------------------------------


def _at_offset(a, k):
    """A copy of ``a`` starting k elements into a fresh buffer: the same values at another alignment."""
    buf = np.empty(a.size + 8, dtype=a.dtype)
    v = buf[k : k + a.size].reshape(a.shape)
    v[...] = a
    return v


@pytest.mark.parametrize("n,d,m", [(5, 6, 4), (1, 6, 4), (3, 3, 3), (1, 1, 1), (8, 5, 6), (1, 50, 10), (100, 50, 10)])
def test_small_affine_result_depended_on_where_arrays_sat_in_memory(n, d, m):
    """Regression: Eigen's coefficient-based product (N + M + D < 20) used FMA only from the output's first
    32-byte-aligned element on, so on the AVX2 build the same inputs gave results differing in the last bit."""
    rng = np.random.default_rng(n * 100 + d * 10 + m)
    x, Wm, b, dout = rng.standard_normal((n, d)), rng.standard_normal((d, m)), rng.standard_normal(m), \
        rng.standard_normal((n, m))
    first, keep = None, []
    for k in range(4):
        for trial in range(8):
            keep.append(np.empty(1 + 3 * trial))  # moves the next output buffers around
            aff = fl.Affine(_at_offset(Wm, k), _at_offset(b, (k + 1) % 4))
            out = aff.forward(_at_offset(x, (k + 2) % 4))
            res = (out, aff.backward(_at_offset(dout, (k + 3) % 4)), aff.dW, aff.db)
            if first is None:
                first = res
            for name, u, v in zip(("out", "dx", "dW", "db"), res, first):
                np.testing.assert_array_equal(u, v, err_msg=name)
    assert_close(first[0], x @ Wm + b)


def test_optimizer_rejected_unpickled_params_as_another_dtype():
    """Regression: dtypes were compared by identity, and an unpickled array's float64 is an equal but distinct
    dtype object, so update() said 'grads has dtype float64, expected float64'."""
    import pickle

    p = pickle.loads(pickle.dumps(W.copy()))
    expected = W - 0.1 * np.ones_like(W)
    for make in (fl.SGD, fl.Momentum, fl.AdaGrad, fl.Adam):
        q = p.copy() if make is not fl.SGD else p
        make(lr=0.1).update({"W": q}, {"W": np.ones_like(W)})
    np.testing.assert_allclose(p, expected, rtol=1e-15)


@pytest.mark.parametrize("make", [fl.SGD, fl.Momentum, fl.AdaGrad, fl.Adam])
def test_optimizer_wrote_native_numbers_into_big_endian_params(make):
    """Regression: a '>f8' parameter passed the float64 check and the kernels updated its bytes as native
    doubles (garbage); now it is updated through a native copy, like a strided one."""
    big = W.astype(W.dtype.newbyteorder(">"))
    g = (0.5 * W).astype(W.dtype.newbyteorder(">"))
    native = {"W": W.copy()}
    opt_big, opt_native = make(lr=0.1), make(lr=0.1)
    for _ in range(3):
        opt_big.update({"W": big}, {"W": g})
        opt_native.update(native, {"W": 0.5 * W})
    assert big.dtype.byteorder == ">"
    np.testing.assert_array_equal(big, native["W"])
