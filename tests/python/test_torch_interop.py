"""Against PyTorch where it is installed: torch.nn.functional relu, sigmoid, linear and cross_entropy (with
autograd for the gradients), and importing torch before fastlayers (two OpenMP runtimes in one process)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

import fastlayers as fl  # noqa: E402

from helpers import FLOAT_DTYPES, assert_close  # noqa: E402

SCRIPT = textwrap.dedent(
    """
    import sys
    order = sys.argv[1]
    if order == "torch-first":
        import torch
        import fastlayers as fl
    else:
        import fastlayers as fl
        import torch
    import threading
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.standard_normal((256, 300))
    W = rng.standard_normal((300, 128))
    b = rng.standard_normal(128)
    t = rng.integers(0, 128, 256)

    def run():
        aff, relu, sig, swl = fl.Affine(W, b), fl.Relu(), fl.Sigmoid(), fl.SoftmaxWithLoss()
        h = relu.forward(aff.forward(x))
        s = sig.forward(h)
        loss = swl.forward(s, t)
        dx = aff.backward(relu.backward(sig.backward(swl.backward())))
        return h, s, loss, dx, aff.dW

    # torch works with its own thread pool, then fastlayers, then torch again
    xt = torch.from_numpy(x)
    ht = torch.relu(torch.nn.functional.linear(xt, torch.from_numpy(W.T.copy()), torch.from_numpy(b)))
    h, s, loss, dx, dW = run()
    expected = np.maximum(x @ W + b, 0)
    scale = np.abs(x) @ np.abs(W) + np.abs(b)
    assert np.all(np.abs(h - expected) <= 1e-12 * scale), "Affine+Relu wrong"
    assert np.all(np.abs(h - ht.numpy()) <= 1e-12 * scale), "disagrees with torch"
    assert np.allclose(s, 1 / (1 + np.exp(-h)), rtol=1e-12, atol=0), "Sigmoid wrong"
    assert np.isfinite(loss), "loss not finite"

    # and from several threads at once
    results = [None] * 4
    def worker(i):
        results[i] = run()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    # (bit-identity with serial is test_threads.py's business; here: correct with torch loaded)
    for r in results:
        for got, want, what in zip(r, (h, s, loss, dx, dW), ("h", "s", "loss", "dx", "dW")):
            assert np.allclose(got, want, rtol=1e-10, atol=1e-12), what + " differs in a thread"
    torch.matmul(xt, xt.T)  # torch still fine afterwards
    print("OK", torch.__version__)
    """
)


@pytest.mark.parametrize("order", ["torch-first", "fastlayers-first"])
def test_import_order_with_torch(order):
    proc = subprocess.run([sys.executable, "-c", SCRIPT, order], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert proc.stdout.startswith("OK"), proc.stdout


def tol(dtype):
    return (1e-12, 1e-12) if dtype == np.float64 else (1e-5, 1e-6)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("shape", [(1, 1), (4, 7), (2, 3, 5)])
def test_relu_matches_torch(dtype, shape, rng):
    x = rng.standard_normal(shape).astype(dtype)
    x.flat[0] = 0.0  # torch's gradient at 0 is 0 too
    G = rng.standard_normal(shape).astype(dtype)
    xt = torch.from_numpy(x.copy()).requires_grad_()
    yt = F.relu(xt)
    (yt * torch.from_numpy(G)).sum().backward()
    relu = fl.Relu()
    np.testing.assert_array_equal(relu.forward(x), yt.detach().numpy())
    np.testing.assert_array_equal(relu.backward(G), xt.grad.numpy())


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("shape", [(1, 1), (4, 7), (2, 3, 5)])
def test_sigmoid_matches_torch(dtype, shape, rng):
    x = (8 * rng.standard_normal(shape)).astype(dtype)
    G = rng.standard_normal(shape).astype(dtype)
    xt = torch.from_numpy(x.copy()).requires_grad_()
    yt = torch.sigmoid(xt)
    (yt * torch.from_numpy(G)).sum().backward()
    sig = fl.Sigmoid()
    rtol, atol = tol(dtype)
    np.testing.assert_allclose(sig.forward(x), yt.detach().numpy(), rtol=rtol, atol=atol)
    np.testing.assert_allclose(sig.backward(G), xt.grad.numpy(), rtol=rtol, atol=atol)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("n,d,m", [(1, 1, 1), (5, 4, 3), (8, 16, 10)])
def test_affine_matches_torch_linear(dtype, n, d, m, rng):
    x = rng.standard_normal((n, d)).astype(dtype)
    W = rng.standard_normal((d, m)).astype(dtype)
    b = rng.standard_normal(m).astype(dtype)
    G = rng.standard_normal((n, m)).astype(dtype)
    xt = torch.from_numpy(x.copy()).requires_grad_()
    Wt = torch.from_numpy(W.T.copy()).requires_grad_()  # torch's weight is (out, in)
    bt = torch.from_numpy(b.copy()).requires_grad_()
    yt = F.linear(xt, Wt, bt)
    (yt * torch.from_numpy(G)).sum().backward()

    aff = fl.Affine(W, b)
    out = aff.forward(x)
    dx = aff.backward(G)
    x64, W64, G64 = (a.astype(np.float64) for a in (x, W, G))
    assert_close(
        out, yt.detach().numpy().astype(np.float64), dtype=dtype, scale=2 * (np.abs(x64) @ np.abs(W64) + np.abs(b))
    )
    assert_close(dx, xt.grad.numpy().astype(np.float64), dtype=dtype, scale=2 * np.abs(G64) @ np.abs(W64.T))
    assert_close(aff.dW, Wt.grad.numpy().T.astype(np.float64), dtype=dtype, scale=2 * np.abs(x64.T) @ np.abs(G64))
    assert_close(aff.db, bt.grad.numpy().astype(np.float64), dtype=dtype, scale=2 * np.abs(G64).sum(axis=0))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("target", ["labels", "onehot", "soft"])
@pytest.mark.parametrize("n,c", [(1, 1), (1, 4), (6, 5), (32, 10)])
def test_softmax_with_loss_matches_torch_cross_entropy(dtype, target, n, c, rng):
    x = (3 * rng.standard_normal((n, c))).astype(dtype)
    labels = rng.integers(0, c, n)
    if target == "labels":
        t = labels
        tt = torch.from_numpy(labels)
    else:
        if target == "onehot":
            t = np.eye(c, dtype=dtype)[labels]
        else:
            t = (rng.random((n, c)) + 0.05).astype(dtype)
            t /= t.sum(axis=1, keepdims=True)
        tt = torch.from_numpy(t.copy())
    xt = torch.from_numpy(x.copy()).requires_grad_()
    lt = F.cross_entropy(xt, tt)
    (2.0 * lt).backward()

    swl = fl.SoftmaxWithLoss()
    loss = swl.forward(x, t)
    rtol, atol = tol(dtype)
    assert loss == pytest.approx(lt.item(), rel=rtol, abs=atol * (1 + float(np.abs(x).max())))
    np.testing.assert_allclose(swl.y, F.softmax(xt, dim=1).detach().numpy(), rtol=rtol, atol=atol)
    np.testing.assert_allclose(swl.backward(2.0), xt.grad.numpy(), rtol=rtol, atol=atol)


@pytest.mark.parametrize("shape", [(7,), (3, 5), (2, 3, 4)])
def test_softmax_matches_torch(shape, rng):
    x = 10 * rng.standard_normal(shape)
    np.testing.assert_allclose(fl.softmax(x), F.softmax(torch.from_numpy(x), dim=-1).numpy(), rtol=1e-12, atol=1e-15)
