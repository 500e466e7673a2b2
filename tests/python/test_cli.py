"""The fastlayers command, run as a user runs it (a subprocess): a short train writing the model, the
metrics JSON and the learning-curve PNG; reproducibility; Ctrl-C; predict; errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ENV = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
PNG = b"\x89PNG\r\n\x1a\n"


def run(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "fastlayers", *map(str, args)], capture_output=True, text=True,
                          env=ENV, timeout=timeout)


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    out = tmp_path_factory.mktemp("train")
    r = run("train", "--iters", 300, "--seed", 7, "--out", out, "--no-progress")
    assert r.returncode == 0, r.stderr
    return out, r


def test_train_writes_model_metrics_and_png(digits_run):
    out, r = digits_run
    assert "test accuracy" in r.stdout and "epoch" in r.stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["iterations_done"] == 300 and len(metrics["loss"]) == 300 and not metrics["interrupted"]
    assert metrics["data"] == "digits" and metrics["train_size"] == 1437 and metrics["test_size"] == 360
    assert metrics["dtype"] == "float32" and metrics["threads"] == 1
    assert metrics["test_acc"] > 0.85  # 300 iterations of the book's recipe on digits
    assert metrics["epochs"][0]["iter"] == 1 and metrics["epochs"][1]["iter"] == 15  # 1437 // 100 per epoch
    assert (out / "learning_curve.png").read_bytes()[:8] == PNG
    assert (out / "model.npz").is_file()


def test_seed_makes_runs_reproducible(digits_run, tmp_path):
    out, _ = digits_run
    r = run("train", "--iters", 300, "--seed", 7, "--out", tmp_path, "--quiet")
    assert r.returncode == 0 and r.stdout == "", r.stderr
    a = json.loads((out / "metrics.json").read_text())
    b = json.loads((tmp_path / "metrics.json").read_text())
    assert a["loss"] == b["loss"] and a["test_acc"] == b["test_acc"]


def test_predict_accuracy_and_labels(digits_run, tmp_path):
    out, _ = digits_run
    metrics = json.loads((out / "metrics.json").read_text())
    r = run("predict", out / "model.npz", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["test_acc"] == pytest.approx(metrics["test_acc"])
    import fastlayers as fl

    (_, _), (x_test, t_test) = fl.datasets.load_digits()
    np.save(tmp_path / "x.npy", x_test[:5])
    r = run("predict", out / "model.npz", "--input", tmp_path / "x.npy")
    assert r.returncode == 0, r.stderr
    labels = [int(v) for v in r.stdout.split()]
    net = fl.TwoLayerNet.load(out / "model.npz")
    assert labels == np.argmax(net.predict(x_test[:5]), axis=1).tolist()


def test_ctrl_c_stops_cleanly_and_saves(tmp_path):
    pytest.importorskip("sklearn")
    p = subprocess.Popen([sys.executable, "-m", "fastlayers", "train", "--iters", "10000000", "--out", str(tmp_path),
                          "--no-progress"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    try:
        deadline = time.time() + 60
        for line in p.stdout:
            if line.startswith("epoch    2") or time.time() > deadline:
                break
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 130, err
    assert "Traceback" not in err
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["interrupted"] and 0 < metrics["iterations_done"] < 10000000
    assert (tmp_path / "model.npz").is_file()


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "fastlayers"
    if not script.exists():
        pytest.skip(f"no console script beside {sys.executable}")
    r = subprocess.run([str(script), "train", "--help"], capture_output=True, text=True, env=ENV, timeout=60)
    assert r.returncode == 0 and "--optimizer" in r.stdout and "--mnist-dir" in r.stdout


def test_mnist_short_run_splits_t10k(mnist_dir, tmp_path):
    has_train = any(mnist_dir.glob("train-images-idx3-ubyte*"))
    split = ["--t10k-split", "8000"] if has_train else []  # automatic when only t10k is there
    r = run("train", "--data", "mnist", "--mnist-dir", mnist_dir, "--iters", 100, "--out", tmp_path,
            "--no-progress", "--dtype", "float64", *split)
    assert r.returncode == 0, r.stderr
    if not has_train:
        assert "only the t10k files" in r.stdout
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["train_size"] == 8000 and metrics["test_size"] == 2000 and metrics["dtype"] == "float64"
    assert metrics["test_acc"] > 0.6


def test_errors_are_reported_without_traceback(tmp_path):
    r = run("train", "--data", "mnist", "--mnist-dir", tmp_path / "nowhere", "--iters", 1, "--out", tmp_path)
    assert r.returncode == 2 and "fastlayers: error:" in r.stderr and "nowhere" in r.stderr
    assert "Traceback" not in r.stderr
    r = run("train", "--iters", -1)
    assert r.returncode == 2 and "--iters" in r.stderr
    r = run("predict", tmp_path / "missing.npz")
    assert r.returncode == 2 and "missing.npz" in r.stderr
    r = run("train", "--optimizer", "rmsprop")
    assert r.returncode == 2 and "rmsprop" in r.stderr


def test_version_names_the_package_version_and_core() -> None:
    import subprocess
    import sys

    import fastlayers

    run = subprocess.run([sys.executable, "-m", "fastlayers", "--version"], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == f"fastlayers {fastlayers.__version__} ({fastlayers.isa} core)"
