"""TwoLayerNet and Sequential: the book's API against the NumPy reference, gradients, the fused
train_step against the layer-by-layer path, save/load, numerical_gradient, and bad input."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

import fastlayers as fl
import reference as ref
from helpers import check_message


def ref_net(params, kinds=("Affine", "Relu", "Affine")):
    """The reference layers over copies of ``params``."""
    p = {k: v.copy() for k, v in params.items()}
    layers, k = [], 0
    for kind in kinds:
        if kind == "Affine":
            k += 1
            layers.append(ref.Affine(p[f"W{k}"], p[f"b{k}"]))
        else:
            layers.append(getattr(ref, kind)())
    return p, layers, ref.SoftmaxWithLoss()


def ref_forward(layers, x):
    out = x.reshape(x.shape[0], -1)
    for layer in layers:
        out = layer.forward(out)
    return out


def ref_grads(layers, last, x, t):
    last.forward(ref_forward(layers, x), t)
    dout = last.backward(1.0)
    for layer in reversed(layers):
        dout = layer.backward(dout)
    grads, k = {}, 0
    for layer in layers:
        if isinstance(layer, ref.Affine):
            k += 1
            grads[f"W{k}"], grads[f"b{k}"] = layer.dW, layer.db
    return grads


@pytest.fixture
def data(rng):
    x = rng.random((12, 1, 4, 5))  # flattened to (12, 20)
    t = rng.integers(0, 6, size=12)
    return x, t


def test_two_layer_net_structure():
    net = fl.TwoLayerNet(20, 7, 6, seed=1)
    assert list(net.params) == ["W1", "b1", "W2", "b2"]
    assert [net.params[k].shape for k in net.params] == [(20, 7), (7,), (7, 6), (6,)]
    assert all(v.dtype == np.float64 for v in net.params.values())
    assert list(net.layers) == ["Affine1", "Relu1", "Affine2"]
    assert net.layers["Affine1"].W is net.params["W1"] and net.layers["Affine2"].b is net.params["b2"]
    assert isinstance(net.lastLayer, fl.SoftmaxWithLoss)
    assert not net.params["b1"].any() and not net.params["b2"].any()


def test_seed_gives_the_books_weights():
    np.random.seed(3)
    W1 = 0.01 * np.random.randn(20, 7)
    W2 = 0.01 * np.random.randn(7, 6)
    net = fl.TwoLayerNet(20, 7, 6, seed=3)
    np.testing.assert_array_equal(net.params["W1"], W1)
    np.testing.assert_array_equal(net.params["W2"], W2)
    np.random.seed(3)
    net2 = fl.TwoLayerNet(20, 7, 6)  # no seed: NumPy's global state, as in the book
    np.testing.assert_array_equal(net2.params["W1"], W1)


def test_float32_net(data):
    x, t = data
    net = fl.TwoLayerNet(20, 7, 6, seed=0, dtype=np.float32)
    assert all(v.dtype == np.float32 for v in net.params.values())
    loss = net.train_step(x.astype(np.float32), t, fl.SGD(lr=0.1))
    assert np.isfinite(loss) and net.params["W1"].dtype == np.float32


def test_predict_loss_accuracy_match_reference(data, rng):
    x, t = data
    net = fl.TwoLayerNet(20, 7, 6, weight_init_std=0.5, seed=0)
    net.params["b1"][:] = rng.standard_normal(7)
    _, layers, last = ref_net(net.params)
    scores = ref_forward(layers, x)
    np.testing.assert_allclose(net.predict(x), scores, rtol=1e-12, atol=1e-14)
    assert net.loss(x, t) == pytest.approx(ref.exact_loss(scores, t), rel=1e-12)
    acc = np.mean(np.argmax(scores, axis=1) == t)
    assert net.accuracy(x, t) == acc
    assert net.accuracy(x, ref.one_hot(t, 6)) == acc


def test_gradient_matches_reference_backprop(data):
    x, t = data
    net = fl.TwoLayerNet(20, 7, 6, weight_init_std=0.5, seed=0)
    _, layers, last = ref_net(net.params)
    ours = net.gradient(x, t)
    theirs = ref_grads(layers, last, x, t)
    assert list(ours) == ["W1", "b1", "W2", "b2"]
    for k in ours:
        assert not np.shares_memory(ours[k], net.params[k])
        np.testing.assert_allclose(ours[k], theirs[k], rtol=1e-10, atol=1e-14)


def test_gradient_check_small_net(data):
    x, t = data
    net = fl.TwoLayerNet(20, 7, 6, weight_init_std=0.5, seed=0)
    before = {k: v.copy() for k, v in net.params.items()}
    num = net.numerical_gradient(x, t)
    grad = net.gradient(x, t)
    for k in grad:
        assert num[k].dtype == np.float64
        assert np.mean(np.abs(num[k] - grad[k])) < 1e-8, k
        np.testing.assert_array_equal(net.params[k], before[k])  # restored


OPTIMIZERS = [
    lambda: fl.SGD(lr=0.1),
    lambda: fl.Momentum(lr=0.05),
    lambda: fl.AdaGrad(lr=0.05),
    lambda: fl.Adam(lr=0.01),
]


@pytest.mark.parametrize("make_opt", OPTIMIZERS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("one_hot", [False, True])
def test_train_step_equals_layer_by_layer(make_opt, dtype, one_hot, data):
    x, t = data
    x = x.astype(dtype)
    target = ref.one_hot(t, 6, dtype) if one_hot else t
    fused = fl.TwoLayerNet(20, 7, 6, weight_init_std=0.3, seed=5, dtype=dtype)
    plain = fl.TwoLayerNet(20, 7, 6, weight_init_std=0.3, seed=5, dtype=dtype)
    ids = {k: id(v) for k, v in fused.params.items()}
    opt_f, opt_p = make_opt(), make_opt()
    rtol = 1e-10 if dtype == np.float64 else 2e-4
    for _ in range(5):
        loss_f = fused.train_step(x, target, opt_f)
        grads = plain.gradient(x, target)
        loss_p = plain.lastLayer.loss
        opt_p.update(plain.params, grads)
        assert loss_f == pytest.approx(loss_p, rel=rtol)
        for k in fused.params:
            assert id(fused.params[k]) == ids[k]
            np.testing.assert_allclose(fused.params[k], plain.params[k], rtol=rtol, atol=rtol * 1e-2)


def test_sequential_deeper_with_sigmoid_equals_reference(rng):
    params = {
        "W1": rng.standard_normal((10, 8)), "b1": rng.standard_normal(8),
        "W2": rng.standard_normal((8, 6)), "b2": rng.standard_normal(6),
        "W3": rng.standard_normal((6, 4)), "b3": rng.standard_normal(4),
    }
    kinds = ("Affine", "Sigmoid", "Affine", "Relu", "Affine")
    mine = {k: v.copy() for k, v in params.items()}
    net = fl.Sequential([fl.Affine(mine["W1"], mine["b1"]), fl.Sigmoid(), fl.Affine(mine["W2"], mine["b2"]),
                         fl.Relu(), fl.Affine(mine["W3"], mine["b3"]), fl.SoftmaxWithLoss()])
    assert list(net.layers) == ["Affine1", "Sigmoid1", "Affine2", "Relu1", "Affine3"]
    assert list(net.params) == ["W1", "b1", "W2", "b2", "W3", "b3"]
    x = rng.standard_normal((9, 10))
    t = rng.integers(0, 4, 9)
    p, layers, last = ref_net(params, kinds)
    theirs = ref_grads(layers, last, x, t)
    ours = net.gradient(x, t)
    for k in ours:
        np.testing.assert_allclose(ours[k], theirs[k], rtol=1e-10, atol=1e-13)
    # fused step == reference SGD step
    net.train_step(x, t, fl.SGD(lr=0.1))
    for k in p:
        np.testing.assert_allclose(net.params[k], params[k] - 0.1 * theirs[k], rtol=1e-10, atol=1e-13)


def test_train_step_with_a_book_style_python_optimizer(data):
    x, t = data

    class PySGD:
        def __init__(self, lr):
            self.lr = lr

        def update(self, params, grads):
            for k in params:
                params[k] -= self.lr * grads[k]

    a = fl.TwoLayerNet(20, 7, 6, seed=2)
    b = fl.TwoLayerNet(20, 7, 6, seed=2)
    assert a.train_step(x, t, PySGD(0.1)) == pytest.approx(b.train_step(x, t, fl.SGD(lr=0.1)), rel=1e-12)
    for k in a.params:
        np.testing.assert_allclose(a.params[k], b.params[k], rtol=1e-12)


def test_assigned_params_are_used_and_non_contiguous_ones_updated(data, rng):
    x, t = data
    net = fl.TwoLayerNet(20, 7, 6, seed=0)
    ref_copy = fl.TwoLayerNet(20, 7, 6, seed=0)
    W1 = np.asfortranarray(net.params["W1"])  # a new, F-ordered array
    net.params["W1"] = W1
    net.train_step(x, t, fl.SGD(lr=0.5))
    ref_copy.train_step(x, t, fl.SGD(lr=0.5))
    assert net.params["W1"] is W1 and net.layers["Affine1"].W is W1
    np.testing.assert_allclose(W1, ref_copy.params["W1"], rtol=1e-12)


def test_save_and_load(tmp_path, data):
    x, t = data
    net = fl.TwoLayerNet(20, 7, 6, seed=4)
    net.train_step(x, t, fl.SGD(lr=0.5))
    path = net.save(tmp_path / "net")
    assert path.endswith("net.npz")
    back = fl.TwoLayerNet.load(path)
    assert isinstance(back, fl.TwoLayerNet)
    for k in net.params:
        np.testing.assert_array_equal(back.params[k], net.params[k])
        assert back.params[k].flags.writeable
    np.testing.assert_array_equal(back.predict(x), net.predict(x))
    seq = fl.Sequential([fl.Affine(np.ones((20, 3)), np.zeros(3)), fl.Sigmoid(), fl.Affine(np.ones((3, 2)), np.zeros(2))])
    p2 = seq.save(tmp_path / "seq.npz")
    back2 = fl.Sequential.load(p2)
    assert list(back2.layers) == ["Affine1", "Sigmoid1", "Affine2"]
    np.testing.assert_array_equal(back2.predict(x), seq.predict(x))
    with pytest.raises(ValueError, match="TwoLayerNet"):
        fl.TwoLayerNet.load(p2)


def test_load_bad_files(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ValueError) as e:
        fl.TwoLayerNet.load(bad)
    assert "bad.npz" in str(e.value)
    np.savez(tmp_path / "plain.npz", W1=np.ones(2))
    with pytest.raises(ValueError, match="__arch__"):
        fl.TwoLayerNet.load(tmp_path / "plain.npz")
    with pytest.raises(FileNotFoundError):
        fl.TwoLayerNet.load(tmp_path / "missing.npz")


# --- numerical_gradient --------------------------------------------------------------------------------


def test_numerical_gradient_books_helper():
    x = np.array([3.0, 4.0])
    g = fl.numerical_gradient(lambda v: np.sum(v**2), x)
    np.testing.assert_allclose(g, [6.0, 8.0], rtol=1e-8)
    np.testing.assert_array_equal(x, [3.0, 4.0])
    x32 = np.array([[3.0, -1.5]], dtype=np.float32)
    g32 = fl.numerical_gradient(lambda v: float(np.sum(v.astype(np.float64) ** 2)), x32)
    assert g32.dtype == np.float64
    np.testing.assert_allclose(g32, [[6.0, -3.0]], rtol=1e-6)


@pytest.mark.parametrize("bad", [np.array([1, 2]), np.array([True]), np.array([1 + 1j])])
def test_numerical_gradient_rejects_non_float(bad):
    with pytest.raises(TypeError) as e:
        fl.numerical_gradient(lambda v: 0.0, bad)
    check_message(e, "x", str(bad.dtype))


def test_numerical_gradient_rejects_lists_and_read_only():
    with pytest.raises(TypeError) as e:
        fl.numerical_gradient(lambda v: 0.0, [1.0, 2.0])
    check_message(e, "x", "list")
    x = np.ones(2)
    x.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        fl.numerical_gradient(lambda v: 0.0, x)


# --- bad input ------------------------------------------------------------------------------------------


def test_train_step_bad_x_width(data):
    net = fl.TwoLayerNet(20, 7, 6, seed=0)
    with pytest.raises(ValueError) as e:
        net.train_step(np.ones((3, 19)), np.zeros(3, dtype=int), fl.SGD())
    check_message(e, "x", "(3, 19)", "20")


def test_train_step_bad_labels(data):
    x, _ = data
    net = fl.TwoLayerNet(20, 7, 6, seed=0)
    before = net.params["W1"].copy()
    with pytest.raises(ValueError) as e:
        net.train_step(x, np.full(12, 6), fl.SGD())
    check_message(e, "t", "6")
    with pytest.raises(TypeError):
        net.train_step(x, np.zeros(12), fl.SGD())  # float labels
    np.testing.assert_array_equal(net.params["W1"], before)


def test_train_step_bad_optimizer(data):
    x, t = data
    with pytest.raises(TypeError) as e:
        fl.TwoLayerNet(20, 7, 6).train_step(x, t, "sgd")
    check_message(e, "optimizer", "str")


def test_train_step_mixed_dtypes(data):
    x, t = data
    net = fl.TwoLayerNet(20, 7, 6, seed=0)
    net.params["b1"] = net.params["b1"].astype(np.float32)
    with pytest.raises(TypeError, match="float32"):
        net.train_step(x, t, fl.SGD())


def test_train_step_read_only_param(data):
    x, t = data
    net = fl.TwoLayerNet(20, 7, 6, seed=0)
    net.params["W2"].flags.writeable = False
    with pytest.raises(ValueError) as e:
        net.train_step(x, t, fl.SGD())
    check_message(e, "W2")


@pytest.mark.parametrize("x", [np.ones(20), np.ones(())])
def test_predict_needs_a_batch_axis(x):
    with pytest.raises(ValueError) as e:
        fl.TwoLayerNet(20, 7, 6).predict(x)
    check_message(e, "x", "(N, ...)")


def test_constructor_errors():
    with pytest.raises(ValueError) as e:
        fl.TwoLayerNet(0, 7, 6)
    check_message(e, "input_size")
    with pytest.raises(TypeError):
        fl.TwoLayerNet(20, 7, 6, dtype=np.int32)
    with pytest.raises(TypeError) as e:
        fl.Sequential([fl.Affine(np.ones((2, 2)), np.zeros(2)), "relu"])
    check_message(e, "layers", "str")
    with pytest.raises(ValueError, match="Affine"):
        fl.Sequential([fl.Relu()])
    with pytest.raises(TypeError) as e:
        fl.Sequential(OrderedDict(A=fl.Affine(np.ones((2, 2)), np.zeros(2))), loss=fl.Relu())
    check_message(e, "loss")


def _offset_copy(a, offset):
    """A copy of ``a`` whose data starts ``offset`` elements past a 64-byte boundary."""
    buf = np.empty(a.size + 16, dtype=a.dtype)
    start = (-buf.ctypes.data % 64) // a.itemsize + offset
    out = buf[start : start + a.size].reshape(a.shape)
    out[...] = a
    return out


@pytest.mark.parametrize("make_opt", OPTIMIZERS)
def test_seeded_training_does_not_depend_on_array_addresses(make_opt, data):
    """Regression: Eigen's peeled reductions made db (and Adam's update) round by the arrays' alignment,
    so two runs with the same seed differed in the last bit."""
    x, t = data
    results = []
    for offset in (0, 1, 2, 3):
        net = fl.TwoLayerNet(20, 7, 6, weight_init_std=0.3, seed=5)
        for k in net.params:
            net.params[k] = _offset_copy(net.params[k], offset)
        opt = make_opt()
        losses = [net.train_step(_offset_copy(x, 3 - offset), t, opt) for _ in range(4)]
        results.append((losses, {k: v.copy() for k, v in net.params.items()}))
    for losses, params in results[1:]:
        assert losses == results[0][0]
        for k in params:
            np.testing.assert_array_equal(params[k], results[0][1][k])


def test_optimizer_update_does_not_depend_on_array_addresses(rng):
    p0 = rng.standard_normal(37)
    g = rng.standard_normal(37)
    outs = []
    for offset in range(4):
        opt = fl.Adam(lr=0.1)
        p = {"W": _offset_copy(p0, offset)}
        for _ in range(3):
            opt.update(p, {"W": _offset_copy(g, (offset + 1) % 4)})
        outs.append(p["W"].copy())
    for o in outs[1:]:
        np.testing.assert_array_equal(o, outs[0])


def test_gradient_skips_only_a_plain_first_affines_dx(data, rng):
    """gradient() does not compute the first Affine's dx (nobody reads it), but a subclass's own backward is
    still called, and a Relu first still gets the gradient right."""
    x, t = data
    calls = []

    class LoggedAffine(fl.Affine):
        def backward(self, dout):
            calls.append(dout.shape)
            return super().backward(dout)

    W1, b1 = rng.standard_normal((20, 7)), rng.standard_normal(7)
    W2, b2 = rng.standard_normal((7, 6)), rng.standard_normal(6)
    logged = fl.Sequential([LoggedAffine(W1, b1), fl.Relu(), fl.Affine(W2, b2)])
    plain = fl.Sequential([fl.Affine(W1, b1), fl.Relu(), fl.Affine(W2, b2)])
    g_logged, g_plain = logged.gradient(x, t), plain.gradient(x, t)
    assert calls == [(12, 7)]
    for k in g_plain:
        np.testing.assert_array_equal(g_logged[k], g_plain[k])
    relu_first = fl.Sequential([fl.Relu(), fl.Affine(W1, b1), fl.Sigmoid(), fl.Affine(W2, b2)])
    _, layers, last = ref_net({"W1": W1, "b1": b1, "W2": W2, "b2": b2}, ("Relu", "Affine", "Sigmoid", "Affine"))
    theirs = ref_grads(layers, last, x, t)
    ours = relu_first.gradient(x, t)
    for k in theirs:
        np.testing.assert_allclose(ours[k], theirs[k], rtol=1e-10, atol=1e-14)
