"""Short versions of the acceptance runs: the book's gradient check on 3 real MNIST samples, a few
hundred iterations of the book's recipe on MNIST t10k and on digits, and a short side-by-side run
against the book's NumPy code (bench/python/compare_train.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

import fastlayers as fl
from fastlayers.datasets import load_mnist
from fastlayers.training import fit

BENCH = Path(__file__).resolve().parents[2] / "bench" / "python"


@pytest.fixture(scope="module")
def mnist_split(mnist_dir):
    return load_mnist(mnist_dir, t10k_split=8000)


@pytest.mark.parametrize("one_hot", [True, False])
def test_book_gradient_check_on_mnist(mnist_dir, one_hot):
    """ch05/gradient_check.py: TwoLayerNet(784, 50, 10), 3 samples; mean |numerical - backprop| < 1e-6."""
    (x_train, t_train), _ = load_mnist(mnist_dir, one_hot_label=one_hot, t10k_split=8000)
    net = fl.TwoLayerNet(784, 50, 10, seed=0)
    x_batch, t_batch = x_train[:3], t_train[:3]
    grad_numerical = net.numerical_gradient(x_batch, t_batch)
    grad_backprop = net.gradient(x_batch, t_batch)
    for key in ("W1", "b1", "W2", "b2"):
        diff = np.average(np.abs(grad_backprop[key] - grad_numerical[key]))
        assert diff < 1e-6, (key, diff)
        assert np.abs(grad_backprop[key]).max() > 0 or key == "b1"


def test_short_book_recipe_on_mnist(mnist_split):
    (x_train, t_train), (x_test, t_test) = mnist_split
    rs = np.random.RandomState(0)
    net = fl.TwoLayerNet(784, 50, 10, seed=rs)
    h = fit(net, fl.SGD(lr=0.1), x_train, t_train, x_test, t_test, 400, 100, rs)
    assert len(h.losses) == 400 and len(h.epochs) == 5  # at 0, 80, 160, 240, 320
    assert h.losses[-1] < 0.6 * h.losses[0]
    assert net.accuracy(x_test, t_test) > 0.85


def test_short_book_recipe_on_digits():
    pytest.importorskip("sklearn")
    (x_train, t_train), (x_test, t_test) = fl.datasets.load_digits()
    rs = np.random.RandomState(0)
    net = fl.TwoLayerNet(64, 50, 10, seed=rs)
    fit(net, fl.SGD(lr=0.1), x_train, t_train, x_test, t_test, 600, 100, rs)
    assert net.accuracy(x_test, t_test) > 0.85


@pytest.mark.parametrize("make_opt", [lambda: fl.Momentum(lr=0.05), lambda: fl.AdaGrad(lr=0.1), lambda: fl.Adam()])
def test_other_optimizers_learn(make_opt, mnist_split):
    (x_train, t_train), (x_test, t_test) = mnist_split
    rs = np.random.RandomState(1)
    net = fl.TwoLayerNet(784, 50, 10, seed=rs, dtype=np.float32)
    fit(net, make_opt(), x_train, t_train, x_test, t_test, 200, 100, rs)
    assert net.accuracy(x_test, t_test) > 0.8


def test_side_by_side_with_the_books_numpy_code(mnist_dir, tmp_path, monkeypatch):
    """Same seed, same batches: the book's NumPy TwoLayerNet and fastlayers agree.

    Speed is not asserted here (shared, noisy machines): the script prints the ratio, and the benchmarks in
    bench/ are where it is measured.
    """
    monkeypatch.syspath_prepend(str(BENCH))
    import compare_train

    out = tmp_path / "compare.json"
    rc = compare_train.main(["--data", "mnist", "--mnist-dir", str(mnist_dir), "--iters", "200", "--quiet",
                             "--dtype", "float64",
                             "--json", str(out)])
    assert rc == 0
    import json

    r = json.loads(out.read_text())
    assert r["numpy"]["test_acc"] == pytest.approx(r["fastlayers"]["test_acc"], abs=1e-9)  # float64: same batches
    assert r["fastlayers"]["test_acc"] > 0.8
    assert r["ratio"] > 0, r  # both timings were taken and reported
    sys.modules.pop("compare_train", None)
    sys.modules.pop("book_reference", None)
