"""The benchmark's bookkeeping (bench/python/bench_layers.py): how timings from several child processes are
combined and how a row is judged against the performance targets; and bench/python/small_batch.py run end to
end. No timing is judged here."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "python"


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(BENCH))  # bench_layers imports book_numpy from beside it
    try:
        spec = importlib.util.spec_from_file_location("bench_layers", BENCH / "bench_layers.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["bench_layers"] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop("bench_layers", None)
        sys.path.remove(str(BENCH))


def stat(median, q1=None, q3=None, minimum=None, samples=10, cpu=1.0):
    return {"median": median, "q1": median * 0.9 if q1 is None else q1, "q3": median * 1.1 if q3 is None else q3,
            "min": median * 0.8 if minimum is None else minimum, "samples": samples, "cpu_share": cpu}


def test_combine_takes_the_median_of_the_process_medians(bench):
    # One process in a slow mode (20 us against 12): the median of three ignores it, a mean would not.
    got = bench.combine([stat(12e-6, samples=5, cpu=0.99), stat(20e-6, minimum=15e-6, cpu=0.93),
                         stat(12.5e-6, minimum=9e-6, samples=7)])
    assert got["median"] == pytest.approx(12.5e-6)
    assert got["q1"] == pytest.approx(12.5e-6 * 0.9)
    assert got["q3"] == pytest.approx(12.5e-6 * 1.1)
    assert got["min"] == pytest.approx(9e-6)
    assert got["samples"] == 22
    assert got["cpu_share"] == pytest.approx(0.93)
    assert got["process_medians"] == [12e-6, 20e-6, 12.5e-6]


def test_combine_of_one_process_is_that_process(bench):
    got = bench.combine([stat(3e-3)])
    assert got["median"] == 3e-3 and got["min"] == pytest.approx(2.4e-3) and got["process_medians"] == [3e-3]


def mnist_row(fastlayers, numpy, torch):
    return {"case": "Relu 100x50", "layer": "Relu", "dims": [100, 50], "group": "mnist", "pass": "fwd+bwd",
            "dtype": "float32", "threads": 2, "work": None,
            "times": {"fastlayers": stat(fastlayers), "numpy": stat(numpy), "torch": stat(torch)}}


@pytest.mark.parametrize(
    ("fastlayers", "numpy", "torch", "status"),
    [
        (10e-6, 31e-6, 40e-6, "PASS"),
        (10e-6, 29e-6, 40e-6, "MISS >=3x numpy:2.90x"),
        (10e-6, 40e-6, 20e-6, "MISS >=3x torch:2.00x"),
    ],
)
def test_analyse_judges_a_row_against_its_target(bench, fastlayers, numpy, torch, status):
    row = mnist_row(fastlayers, numpy, torch)
    bench.analyse(row, {})
    assert row["status"] == status
    assert row["speedup"]["numpy"] == pytest.approx(numpy / fastlayers)


def test_small_batch_script_runs_and_agrees_with_the_book(tmp_path):
    """bench/python/small_batch.py end to end with a tiny time budget: every case measured for every library
    present, every output close to the book's NumPy code (the script's own check), the JSON written."""
    import json
    import subprocess

    out = tmp_path / "small_batch.json"
    proc = subprocess.run(
        [sys.executable, str(BENCH / "small_batch.py"), "--budget", "0.002", "--dtypes", "float32,float64",
         "--out", str(out)],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert "DISAGREES" not in proc.stdout
    result = json.loads(out.read_text())
    assert result["meta"]["env"]["OMP_NUM_THREADS"] == "1"
    rows = result["rows"]
    assert {(r["dtype"], r["batch"]) for r in rows} == {(d, b) for d in ("float32", "float64")
                                                       for b in (1, 2, 4, 8, 16, 32, 64)}
    assert len(rows) == 2 * 7 * 3
    for row in rows:
        assert {"fastlayers", "numpy"} <= set(row["times"]), row["case"]
        assert all(row["agrees"].values()), row
        assert all(st["median"] > 0 for st in row["times"].values())
