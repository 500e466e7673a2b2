"""Layers, networks and optimizers survive pickle (every protocol, 0 to 5) and copy.deepcopy with their state, and
the copy behaves exactly like the original from then on. copy.copy shares the arrays (W, b and the state)."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

import fastlayers as fl

RNG = np.random.default_rng(2)
X = RNG.standard_normal((5, 2, 3))
W = RNG.standard_normal((6, 4))
B = RNG.standard_normal(4)
DOUT = RNG.standard_normal((5, 4))
T = np.array([0, 3, 1, 1, 2])

COPIES = {f"pickle-{p}": (lambda o, p=p: pickle.loads(pickle.dumps(o, protocol=p))) for p in range(6)}
COPIES["deepcopy"] = copy.deepcopy


def same(a, b):
    if a is None or b is None:
        assert a is None and b is None
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            same(a[k], b[k])
    else:
        assert a == b


def used(layer_name):
    """A layer after forward and backward, and the calls that continue from its state."""
    if layer_name == "Relu":
        layer = fl.Relu()
        layer.forward(X.astype(np.float32))
        return layer, ("mask",), lambda l: l.backward(X)
    if layer_name == "Sigmoid":
        layer = fl.Sigmoid()
        layer.forward(X)
        return layer, ("out",), lambda l: l.backward(X)
    if layer_name == "Affine":
        layer = fl.Affine(W.copy(), B.copy())
        layer.forward(X)
        layer.backward(DOUT)
        return layer, ("W", "b", "x", "original_x_shape", "dW", "db"), lambda l: (l.backward(DOUT), l.forward(X))
    layer = fl.SoftmaxWithLoss()
    if layer_name == "SoftmaxWithLoss-onehot":
        layer.forward(X.reshape(5, 6), np.eye(6)[[0, 5, 1, 1, 2]])
    else:
        layer.forward(X.reshape(5, 6), T.copy())
    return layer, ("loss", "y", "t"), lambda l: l.backward(0.5)


LAYERS = ["Relu", "Sigmoid", "Affine", "SoftmaxWithLoss", "SoftmaxWithLoss-onehot"]


@pytest.mark.parametrize("how", list(COPIES))
@pytest.mark.parametrize("layer_name", LAYERS)
def test_layer_copies_keep_their_state_and_continue_alike(layer_name, how):
    layer, attrs, cont = used(layer_name)
    twin = COPIES[how](layer)
    assert type(twin) is type(layer)
    for a in attrs:
        same(getattr(twin, a), getattr(layer, a))
        if isinstance(getattr(layer, a), np.ndarray):
            assert getattr(twin, a) is not getattr(layer, a)  # its own arrays
    r1, r2 = cont(layer), cont(twin)
    for u, v in zip(r1 if isinstance(r1, tuple) else (r1,), r2 if isinstance(r2, tuple) else (r2,)):
        same(u, v)
    assert repr(twin) == repr(layer)


@pytest.mark.parametrize("how", list(COPIES))
@pytest.mark.parametrize("layer_name", ["Relu", "Sigmoid", "Affine", "SoftmaxWithLoss"])
def test_fresh_layers_copy_too(layer_name, how):
    layer = fl.Affine(W.copy(), B.copy()) if layer_name == "Affine" else getattr(fl, layer_name)()
    twin = COPIES[how](layer)
    with pytest.raises(ValueError, match="before"):
        twin.backward(DOUT) if layer_name != "SoftmaxWithLoss" else twin.backward()


@pytest.mark.parametrize("how", list(COPIES))
def test_copied_affine_refers_to_its_own_W_and_b(how):
    Wc, bc = W.copy(), B.copy()
    aff = fl.Affine(Wc, bc)
    twin = COPIES[how](aff)
    assert twin.W is not Wc and twin.b is not bc
    Wc += 1.0  # the caller's in-place update reaches the original only
    np.testing.assert_allclose(twin.forward(X), X.reshape(5, -1) @ W + B, rtol=1e-12)
    np.testing.assert_allclose(aff.forward(X), X.reshape(5, -1) @ Wc + bc)


def test_shallow_copy_of_affine_shares_W_b_and_state():
    Wc, bc = W.copy(), B.copy()
    aff = fl.Affine(Wc, bc)
    aff.forward(X)
    twin = copy.copy(aff)
    assert twin.W is Wc and twin.b is bc and twin.x is aff.x
    twin.forward(X[:2])  # a new forward replaces the twin's own state only
    assert aff.x.shape == (5, 6) and twin.x.shape == (2, 6)


@pytest.mark.parametrize("how", list(COPIES))
@pytest.mark.parametrize("name", ["SGD", "Momentum", "AdaGrad", "Adam"])
def test_optimizer_copies_keep_hyperparameters_and_state(name, how):
    opt = getattr(fl, name)(lr=0.05)
    params = {"W": W.copy(), "b": B.copy()}
    grads = {"W": np.ones_like(W), "b": np.ones_like(B)}
    opt.update(params, grads)
    twin = COPIES[how](opt)
    assert type(twin) is type(opt) and repr(twin) == repr(opt)
    for attr in ("lr", "momentum", "beta1", "beta2", "iter", "v", "h", "m"):
        if hasattr(opt, attr):
            same(getattr(twin, attr), getattr(opt, attr))
    p2 = copy.deepcopy(params)
    opt.update(params, grads)
    twin.update(p2, grads)
    same(p2, params)


@pytest.mark.parametrize("how", list(COPIES))
@pytest.mark.parametrize("cls", ["TwoLayerNet", "Sequential"])
def test_network_copies_train_alike(cls, how):
    if cls == "TwoLayerNet":
        net = fl.TwoLayerNet(6, 5, 4, seed=1)
    else:
        net = fl.Sequential([fl.Affine(W.copy(), B.copy()), fl.Sigmoid(), fl.Affine(np.eye(4), np.zeros(4))])
    opt = fl.Momentum(lr=0.1)
    net.train_step(X, T, opt)
    grads = net.gradient(X, T)  # leaves state in every layer
    twin, twin_opt = COPIES[how]((net, opt))
    assert type(twin) is type(net)
    assert list(twin.layers) == list(net.layers)
    for key, value in net.params.items():
        same(twin.params[key], value)
        assert twin.params[key] is not value
    for layer, wk, bk in twin._affine_keys:  # the layers and params still share their arrays
        assert layer.W is twin.params[wk] and layer.b is twin.params[bk]
    same(twin.lastLayer.y, net.lastLayer.y)
    same(twin.gradient(X, T), grads)
    for _ in range(3):
        assert twin.train_step(X, T, twin_opt) == net.train_step(X, T, opt)
    same(twin.params, net.params)


def test_pickled_state_is_checked_on_load():
    """A state that does not fit (hand-made or corrupt) is a clear error, not an out-of-bounds read later."""
    swl = fl.SoftmaxWithLoss()
    swl.forward(X.reshape(5, 6), T)
    loss, y, t, labels = swl.__getstate__()
    twin = fl.SoftmaxWithLoss.__new__(fl.SoftmaxWithLoss)
    with pytest.raises(ValueError, match="label 9"):
        twin.__setstate__((loss, y, t, np.array([0, 9, 1, 1, 2])))
    with pytest.raises(ValueError, match=r"\(4,\)"):
        twin.__setstate__((loss, y, t, labels[:4]))
    aff = fl.Affine(W.copy(), B.copy())
    aff.forward(X)
    state = aff.__getstate__()
    twin = fl.Affine.__new__(fl.Affine)
    with pytest.raises(ValueError, match="original_x_shape"):
        twin.__setstate__(state[:3] + ((5, 7),) + state[4:])
    with pytest.raises(TypeError, match="W"):
        twin.__setstate__((W.astype(int),) + state[1:])
    relu = fl.Relu.__new__(fl.Relu)
    with pytest.raises(TypeError, match="mask"):
        relu.__setstate__((np.ones(3), "float64"))
    opt = fl.Adam.__new__(fl.Adam)
    with pytest.raises(ValueError, match="beta1"):
        opt.__setstate__((0.1, 0.9, 1.5, 0.999, 0, None, None))


def test_load_of_weights_of_the_wrong_shape_is_a_clear_error(tmp_path):
    net = fl.TwoLayerNet(6, 5, 4, seed=0)
    path = net.save(tmp_path / "net.npz")
    with np.load(path) as f:
        data = dict(f)
    for key, bad, fragment in (
        ("W2", np.ones((7, 4)), r"\(7, 4\)"),  # does not take the 5 hidden outputs
        ("b1", np.ones(3), r"\(3,\)"),
        ("W1", np.ones(30), r"\(30,\)"),
    ):
        broken = dict(data, **{key: bad})
        p = tmp_path / f"bad_{key}.npz"
        np.savez(p, **broken)
        for loader in (fl.TwoLayerNet.load, fl.Sequential.load):
            with pytest.raises(ValueError, match=fragment) as e:
                loader(p)
            assert str(p) in str(e.value)


def test_pickle_protocol_0_and_1_ended_the_process():
    """Regression: with protocols 0 and 1, copyreg's fallback constructed a bare pybind11 object and the C++
    exception this raised ended the interpreter (even before any pickle support: fastlayers.Relu() alone).
    Run in a child process, so that a return of the bug fails this test instead of killing the run."""
    import subprocess
    import sys

    code = """
import copy, pickle, numpy as np, fastlayers as fl
from fastlayers import _core
objs = [fl.Relu(), fl.Sigmoid(), fl.Affine(np.ones((2, 2)), np.zeros(2)), fl.SoftmaxWithLoss(),
        fl.SGD(), fl.Momentum(), fl.AdaGrad(), fl.Adam(), fl.TwoLayerNet(2, 2, 2, seed=0)]
for proto in (0, 1):
    for o in objs:
        twin = pickle.loads(pickle.dumps(o, protocol=proto))
        assert type(twin) is type(o) and repr(twin) == repr(o), (proto, o)
    try:
        pickle.dumps(_core._NetWorkspace(), protocol=proto)
    except TypeError as e:
        assert "cannot pickle" in str(e)
    else:
        raise AssertionError("the workspace pickled")
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-2000:]


@pytest.mark.parametrize("how", list(COPIES))
def test_affine_between_setting_W_and_b_could_not_be_copied(how):
    """Regression (found by the fuzzer): W and b are set one at a time, so an Affine may hold a W and a b that do
    not fit yet; copying it raised ValueError on load. The copy keeps both, and calls check them as before."""
    aff = fl.Affine(np.ones((2, 3)), np.zeros(3))
    aff.W = np.ones((2, 4))  # b (3,) is replaced next
    twin = COPIES[how](aff)
    assert twin.W.shape == (2, 4) and twin.b.shape == (3,)
    with pytest.raises(ValueError, match=r"b must have shape"):
        twin.forward(np.ones((1, 2)))
    twin.b = np.zeros(4)
    np.testing.assert_array_equal(twin.forward(np.ones((1, 2))), [[2.0, 2.0, 2.0, 2.0]])
