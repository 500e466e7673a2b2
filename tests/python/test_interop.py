"""Inputs NumPy can view (PyTorch CPU tensors, memoryviews, objects with __array__) are read in place,
outputs are plain ndarrays, and threadpoolctl sees and limits the OpenMP pool the kernels use."""

from __future__ import annotations

import array
import json
import os
import subprocess
import sys
import textwrap

import fastlayers as fl
import numpy as np
import pytest


class ArrayWrapper:
    """A foreign container that NumPy reads through __array__ (as pandas/xarray objects are read)."""

    def __init__(self, data: np.ndarray) -> None:
        self.data = data

    def __array__(self, dtype=None, copy=None):
        return self.data if dtype is None else self.data.astype(dtype)


def sources(base: np.ndarray):
    """(name, object) pairs viewing `base`'s memory without a copy."""
    yield "memoryview", memoryview(base)
    yield "__array__", ArrayWrapper(base)
    try:
        import torch
    except ImportError:
        return
    yield "torch", torch.from_numpy(base)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_foreign_inputs_are_read_in_place(dtype, rng):
    base = rng.standard_normal((5, 4)).astype(dtype)
    W = rng.standard_normal((4, 3)).astype(dtype)
    b = rng.standard_normal(3).astype(dtype)
    for name, obj in sources(base):
        aff = fl.Affine(W, b)
        out = aff.forward(obj)
        # the layer keeps the (N, D) input it computed with: the caller's memory itself, not a copy
        assert np.shares_memory(aff.x, base), name
        assert type(out) is np.ndarray and out.dtype == dtype, name
        np.testing.assert_allclose(out, base @ W + b, rtol=1e-5 if dtype == np.float32 else 1e-12)
        dx = aff.backward(obj[:, :3] if name == "torch" else np.asarray(obj)[:, :3])
        assert type(dx) is np.ndarray and type(aff.dW) is np.ndarray, name


@pytest.mark.parametrize("make", [memoryview, ArrayWrapper], ids=["memoryview", "__array__"])
def test_every_layer_accepts_foreign_inputs_and_returns_ndarrays(make, rng):
    x = rng.standard_normal((3, 4))
    t = np.array([0, 3, 1])
    relu, sig, swl = fl.Relu(), fl.Sigmoid(), fl.SoftmaxWithLoss()
    outputs = [
        relu.forward(make(x)),
        relu.backward(make(x)),
        sig.forward(make(x)),
        sig.backward(make(x)),
        fl.softmax(make(x)),
    ]
    loss = swl.forward(make(x), make(t))
    outputs.append(swl.backward())
    for got in outputs:
        assert type(got) is np.ndarray
    np.testing.assert_array_equal(outputs[0], np.maximum(x, 0))
    assert isinstance(loss, float)
    assert loss == pytest.approx(fl.cross_entropy_error(make(fl.softmax(x)), make(t)), rel=1e-6)


def test_a_non_contiguous_buffer_is_read_correctly():
    base = np.arange(24, dtype=np.float64).reshape(4, 6)
    view = memoryview(base[:, ::2])  # a strided buffer: read through a copy, with the right values
    np.testing.assert_array_equal(fl.Relu().forward(view), base[:, ::2])
    # a buffer of another type than float32/float64 (array.array of int32) is converted
    np.testing.assert_array_equal(fl.Relu().forward(array.array("i", [-1, 2])), [0.0, 2.0])


def test_torch_tensor_inputs_and_weights_shared_with_numpy(rng):
    torch = pytest.importorskip("torch")
    Wt = torch.from_numpy(rng.standard_normal((4, 3)))
    bt = torch.zeros(3, dtype=torch.float64)
    # Affine keeps references to W and b, so they must be ndarrays: a tensor is refused, its
    # .numpy() view (the same memory) is accepted and an in-place update of the tensor is seen.
    with pytest.raises(TypeError, match=r"W must be a float32 or float64 numpy\.ndarray"):
        fl.Affine(Wt, bt.numpy())
    aff = fl.Affine(Wt.numpy(), bt.numpy())
    x = torch.from_numpy(rng.standard_normal((2, 4)))
    before = aff.forward(x)
    with torch.no_grad():
        Wt.mul_(2.0)
        bt.add_(1.0)
    after = aff.forward(x)
    np.testing.assert_allclose(after, 2 * before + 1, rtol=1e-12)
    # a tensor that requires grad refuses NumPy's view itself: its own error goes through unchanged
    with pytest.raises(RuntimeError, match="requires grad"):
        fl.Relu().forward(torch.ones(2, requires_grad=True))
    # a strided float32 tensor is read through a copy
    xt = torch.from_numpy(rng.standard_normal((4, 6)).astype(np.float32))[:, ::2]
    np.testing.assert_array_equal(fl.Relu().forward(xt), np.maximum(xt.numpy(), 0))


THREADPOOL_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import fastlayers as fl
    from threadpoolctl import threadpool_info, threadpool_limits

    default = fl.get_num_threads()
    with threadpool_limits(limits=1, user_api="openmp"):
        limited = fl.get_num_threads()
    after = fl.get_num_threads()
    pools = [p for p in threadpool_info() if p["user_api"] == "openmp"]
    fl.set_num_threads(2)
    with threadpool_limits(limits=1, user_api="openmp"):
        pinned = fl.get_num_threads()
    maps = open("/proc/self/maps").read() if sys.platform.startswith("linux") else ""
    core = fl._core._impl.__file__
    print(json.dumps({"default": default, "limited": limited, "after": after, "pinned": pinned,
                      "pools": pools, "maps": maps, "core": core}))
    """
)


def test_threadpoolctl_sees_and_limits_the_openmp_pool():
    pytest.importorskip("threadpoolctl")
    run = subprocess.run(
        [sys.executable, "-c", THREADPOOL_SCRIPT],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "OMP_NUM_THREADS": "3"},
    )
    assert run.returncode == 0, run.stderr
    r = json.loads(run.stdout)
    assert r["default"] == 3  # OMP_NUM_THREADS
    assert r["limited"] == 1  # threadpool_limits(1) reaches the kernels
    assert r["after"] == 3  # and is undone on exit
    assert r["pinned"] == 2  # an explicit set_num_threads is the user's choice and stays
    # threadpoolctl lists the OpenMP runtime that the loaded fastlayers core is linked to
    assert r["pools"], "threadpoolctl found no OpenMP runtime"
    if sys.platform.startswith("linux"):
        loaded = {line.split()[-1] for line in r["maps"].splitlines() if "libgomp" in line or "libomp" in line}
        assert {p["filepath"] for p in r["pools"]} & loaded, (r["pools"], loaded)
        ldd = subprocess.run(["ldd", r["core"]], capture_output=True, text=True)
        if ldd.returncode == 0:
            omp = [line for line in ldd.stdout.splitlines() if "gomp" in line or "libomp" in line]
            linked = [line.split("=>")[-1].split()[0] for line in omp]
            assert linked, ldd.stdout
            real = {os.path.realpath(p["filepath"]) for p in r["pools"]}
            assert {os.path.realpath(p) for p in linked} & real, (linked, r["pools"])
