"""Times fastlayers, the book's NumPy layers and PyTorch side by side: one process per library and thread count.

    python bench/python/bench_layers.py [--quick] [--threads 1,2] [--dtypes float32,float64] [--cases NAMES]
                                        [--repeats N] [--out PATH] [--keep-openblas-env]

Prints a table (median times, speedups, fraction of this machine's measured limits, PASS/MISS against the
targets of issue 3), writes JSON (bench/results/latest.json by default) and a bar chart of the speedups next
to it (same name, .png). Each library runs in its own child process (their thread pools -- libgomp for
fastlayers and torch, OpenBLAS's own for NumPy -- spin after each call and, sharing 2 cores in one process,
starve each other); each child sets OMP_NUM_THREADS, OPENBLAS_NUM_THREADS and MKL_NUM_THREADS, and unsets
OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE (they can make NumPy's OpenBLAS pick slow kernels) unless
--keep-openblas-env is given. The parent keeps the three children of a thread count alive and asks them for one
case after the other, so the libraries of a row are timed seconds apart (this shared host's speed drifts over
minutes). The whole is repeated --repeats times (3 by default, 1 with --quick) with fresh processes, each with
that share of the time budget, and a row reports the median of the processes' medians: a process can keep a
slower mode for its lifetime (seen here for microsecond calls). See bench/README.md.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Callable

import numpy as np

import book_numpy as book

IMPLS = ("fastlayers", "numpy", "torch", "torch_manual")
# The implementations each child process runs; "check" runs them all once to compare their outputs.
FAMILIES = {"fastlayers": ("fastlayers",), "numpy": ("numpy",), "torch": ("torch", "torch_manual"), "check": IMPLS}
HEADERS = {
    "fastlayers": "fastlayers", "numpy": "NumPy(book)", "torch": "torch-autograd", "torch_manual": "torch-manual",
}
THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
OPENBLAS_TUNING_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
# FMA peak per core in GFLOP/s, the figure issue 3 sets the Affine target against (2 x 256-bit FMA per cycle
# at 3.2 GHz); float64 does half the lanes.
FMA_PEAK_PER_CORE = {"float32": 102.0, "float64": 51.0}
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "results" / "latest.json"


# --- timing -------------------------------------------------------------------------------------------------


def _warm_up(fn: Callable[[], Any], min_time: float) -> float:
    """Calls fn at least 3 times and for at least min_time; returns the mean time of the calls after the first."""
    fn()
    calls, start = 0, time.perf_counter()
    while calls < 2 or time.perf_counter() - start < min_time:
        fn()
        calls += 1
    return (time.perf_counter() - start) / calls


def _samples(fn: Callable[[], Any], per_call: float, budget: float) -> tuple[list[float], float, float]:
    """About budget seconds of samples, each the mean wall time of `number` back-to-back calls (~2 ms, at
    least one call; >= 3 samples). Also returns the wall and this thread's CPU time spent in all."""
    number = max(1, int(min(0.002, budget / 10) / per_call))
    count = max(3, int(budget / (number * per_call)))
    out = []
    wall0, cpu0 = time.perf_counter(), time.thread_time()
    for _ in range(count):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        out.append((time.perf_counter() - start) / number)
    return out, time.perf_counter() - wall0, time.thread_time() - cpu0


def measure(fns: dict[str, Callable[[], Any]], budget: float, rounds: int = 3) -> dict[str, dict[str, float]]:
    """Median, quartiles and minimum of the per-call time of each callable, ~budget seconds each.

    The callables take turns over `rounds` rounds, so that a burst of load from other processes hits all of
    them rather than one. The garbage collector is off while timing, as in timeit. "cpu_share" is the calling
    thread's CPU time over the wall time: well below 1 when other processes took the core (or when the call
    waits for other threads).
    """
    gc.collect()
    gc.disable()
    try:
        per_call = {name: _warm_up(fn, min(0.05, budget / 5)) for name, fn in fns.items()}
        samples: dict[str, list[float]] = {name: [] for name in fns}
        wall = dict.fromkeys(fns, 0.0)
        cpu = dict.fromkeys(fns, 0.0)
        for _ in range(rounds):
            for name, fn in fns.items():
                s, w, c = _samples(fn, per_call[name], budget / rounds)
                samples[name] += s
                wall[name] += w
                cpu[name] += c
    finally:
        gc.enable()
    out = {}
    for name, s in samples.items():
        q1, median, q3 = statistics.quantiles(s, n=4, method="inclusive")
        out[name] = {"median": median, "q1": q1, "q3": q3, "min": min(s), "samples": len(s),
                     "cpu_share": cpu[name] / wall[name]}
    return out


# --- this machine's limits ------------------------------------------------------------------------------------


def machine_limits(threads: int, budget: float) -> dict[str, Any]:
    """GEMM GFLOP/s (NumPy matmul, 1024^3) and memory bandwidth (GB/s) with `threads` threads.

    Bandwidth: 128 MiB float64 arrays a, b, c split into one contiguous part per thread, each part run by
    its own Python thread (NumPy releases the GIL). "triad" is a = b + 3 c as np.multiply(c, 3, out=a);
    np.add(a, b, out=a), counted as the 5 array passes these two calls make; "copy" is np.copyto(a, b),
    2 passes. Writes count once (no write-allocate), as in STREAM.
    """
    rng = np.random.default_rng(0)
    out: dict[str, Any] = {"gemm_gflops": {}}
    size = 1024
    for dt in ("float32", "float64"):
        a = rng.random((size, size)).astype(dt)
        b = rng.random((size, size)).astype(dt)
        c = np.empty((size, size), dtype=dt)
        t = measure({"gemm": partial(np.matmul, a, b, out=c)}, budget)["gemm"]["median"]
        out["gemm_gflops"][dt] = 2 * size**3 / t / 1e9

    n = 128 * 2**20 // 8
    a, b, c = np.full(n, 0.0), np.full(n, 1.0), np.full(n, 2.0)
    bounds = [n * i // threads for i in range(threads + 1)]
    parts = [slice(lo, hi) for lo, hi in zip(bounds, bounds[1:])]

    def triad(s: slice) -> None:
        np.multiply(c[s], 3.0, out=a[s])
        np.add(a[s], b[s], out=a[s])

    def copy(s: slice) -> None:
        np.copyto(a[s], b[s])

    with ThreadPoolExecutor(threads) as pool:
        times = measure(
            {
                "triad": lambda: list(pool.map(triad, parts)),
                "copy": lambda: list(pool.map(copy, parts)),
            },
            budget,
        )
    out["triad_gbs"] = 5 * a.nbytes / times["triad"]["median"] / 1e9
    out["copy_gbs"] = 2 * a.nbytes / times["copy"]["median"] / 1e9
    out["fma_peak_gflops"] = {dt: FMA_PEAK_PER_CORE[dt] * threads for dt in FMA_PEAK_PER_CORE}
    return out


def best_limits(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The best of several machine_limits results, figure by figure (load from other processes only ever lowers
    them); the runs themselves are kept under "runs"."""

    def best(values: list[Any]) -> Any:
        if isinstance(values[0], dict):
            return {k: best([v[k] for v in values]) for k in values[0]}
        return max(values)

    return {**best(runs), "runs": runs}


# --- the cases ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    layer: str  # Relu, Sigmoid, Affine, SoftmaxWithLoss or TwoLayerNet
    dims: tuple[int, ...]  # (N, D) elementwise, (N, D, M) Affine, (N, C) SoftmaxWithLoss, (N,) TwoLayerNet
    group: str  # mnist, medium, large, overhead or train
    passes: tuple[str, ...]

    @property
    def name(self) -> str:
        if self.layer == "Affine":
            n, d, m = self.dims
            return f"Affine {n}x{d}->{m}"
        if self.layer == "TwoLayerNet":
            kind = "fused step" if self.passes == ("fused",) else "step"
            return f"TwoLayerNet {kind} b{self.dims[0]}"
        return f"{self.layer} {'x'.join(map(str, self.dims))}"

    def work(self, pass_: str, itemsize: int) -> tuple[str, float] | None:
        """("flops" or "bytes", amount) a pass does at least: GEMM flops for Affine, minimal memory traffic
        (each array read or written once, Relu's mask 1 byte an element) for the others."""
        if self.layer == "TwoLayerNet":
            return None
        if self.layer == "Affine":
            n, d, m = self.dims
            flops = {"fwd": 2 * n * d * m, "bwd": 4 * n * d * m}
            flops["fwd+bwd"] = flops["fwd"] + flops["bwd"]
            return "flops", float(flops[pass_])
        elems = int(np.prod(self.dims))
        per_elem = {
            "Relu": {"fwd": 2 * itemsize + 1, "bwd": 2 * itemsize + 1},  # x, y, mask / dout, mask, dx
            "Sigmoid": {"fwd": 2 * itemsize, "bwd": 3 * itemsize},  # x, out / dout, out, dx
            "SoftmaxWithLoss": {"fwd": 3 * itemsize, "bwd": 3 * itemsize},  # x, t, y / y, t, dx
        }[self.layer]
        per_elem["fwd+bwd"] = per_elem["fwd"] + per_elem["bwd"]
        return "bytes", float(elems * per_elem[pass_])


LAYER_PASSES = ("fwd", "fwd+bwd")
OVERHEAD_PASSES = ("fwd", "bwd", "fwd+bwd")


def all_cases(quick: bool) -> list[Case]:
    cases = [
        Case("Affine", (100, 784, 50), "mnist", LAYER_PASSES),
        Case("Relu", (100, 50), "mnist", LAYER_PASSES),
        Case("Sigmoid", (100, 50), "mnist", LAYER_PASSES),
        Case("Affine", (100, 50, 10), "mnist", LAYER_PASSES),
        Case("SoftmaxWithLoss", (100, 10), "mnist", LAYER_PASSES),
        Case("Affine", (256, 1024, 1024), "medium", LAYER_PASSES),
        Case("SoftmaxWithLoss", (256, 1000), "medium", LAYER_PASSES),
        Case("Relu", (4096, 1024), "large", LAYER_PASSES),
        Case("Sigmoid", (4096, 1024), "large", LAYER_PASSES),
        Case("Relu", (1, 1), "overhead", OVERHEAD_PASSES),
        Case("Sigmoid", (1, 1), "overhead", OVERHEAD_PASSES),
        Case("Affine", (1, 1, 1), "overhead", OVERHEAD_PASSES),
        Case("SoftmaxWithLoss", (1, 1), "overhead", OVERHEAD_PASSES),
        Case("TwoLayerNet", (100,), "train", ("step",)),
        Case("TwoLayerNet", (100,), "train", ("fused",)),
    ]
    if quick:
        keep = {("Affine", (100, 784, 50)), ("Relu", (100, 50)), ("SoftmaxWithLoss", (100, 10)),
                ("Affine", (256, 1024, 1024)), ("Relu", (4096, 1024)), ("Relu", (1, 1)), ("TwoLayerNet", (100,))}
        cases = [c for c in cases if (c.layer, c.dims) in keep]
    return cases


def one_hot(labels: np.ndarray, classes: int, dtype: str) -> np.ndarray:
    t = np.zeros((labels.size, classes), dtype=dtype)
    t[np.arange(labels.size), labels] = 1
    return t


def layer_calls(layer: Any, args: tuple, dout: tuple) -> dict[str, Callable[[], Any]]:
    """The passes of a layer with the book's API; forward runs once first, so that backward alone can."""

    def fwd_bwd() -> Any:
        layer.forward(*args)
        return layer.backward(*dout)

    layer.forward(*args)
    return {
        "fwd": partial(layer.forward, *args),
        "bwd": partial(layer.backward, *dout),
        "fwd+bwd": fwd_bwd,
        "check": lambda: [layer.forward(*args), fwd_bwd()],
    }


def autograd_calls(f: Callable[..., Any], args: tuple, grad_out: Any) -> dict[str, Callable[[], Any]]:
    """The passes of a differentiable torch function f(*args): forward records the graph, backward fills the
    .grad of every input that requires it, reset to None after each call (zero_grad(set_to_none=True))."""
    inputs = [a for a in args if a.requires_grad]

    def reset() -> Any:
        dx = args[0].grad
        for a in inputs:
            a.grad = None
        return dx

    def fwd_bwd() -> Any:
        f(*args).backward(grad_out)
        return reset()

    out = f(*args)

    def bwd() -> Any:
        out.backward(grad_out, retain_graph=True)
        return reset()

    return {"fwd": partial(f, *args), "bwd": bwd, "fwd+bwd": fwd_bwd, "check": lambda: [f(*args), fwd_bwd()]}


def implementations(
    case: Case, dtype: str, names: tuple[str, ...], fl: Any, torch: Any
) -> dict[str, dict[str, Callable[[], Any]]]:
    """For each implementation in `names` (those of torch only when `torch` is not None), its callables per
    pass and "check", the outputs compared across implementations.

    The data are the same in every process (a fixed seed); each implementation gets its own copy (the book's
    Relu.backward writes into dout).
    """
    rng = np.random.default_rng(42)
    impls: dict[str, dict[str, Callable[[], Any]]] = {}
    if torch is None:
        names = tuple(n for n in names if not n.startswith("torch"))
    else:
        import torch_layers as tl
        import torch.nn.functional as F

        def tensor(a: np.ndarray, grad: bool = False) -> Any:
            return torch.from_numpy(a.copy()).requires_grad_(grad)

    if case.layer in ("Relu", "Sigmoid"):
        x = rng.standard_normal(case.dims).astype(dtype)
        dout = rng.standard_normal(case.dims).astype(dtype)
        if "fastlayers" in names:
            impls["fastlayers"] = layer_calls(getattr(fl, case.layer)(), (x,), (dout.copy(),))
        if "numpy" in names:
            impls["numpy"] = layer_calls(getattr(book, case.layer)(), (x.copy(),), (dout.copy(),))
        if "torch" in names:
            op = torch.relu if case.layer == "Relu" else torch.sigmoid
            impls["torch"] = autograd_calls(op, (tensor(x, True),), tensor(dout))
            impls["torch_manual"] = layer_calls(getattr(tl, case.layer)(), (tensor(x),), (tensor(dout),))
    elif case.layer == "Affine":
        n, d, m = case.dims
        x = rng.random((n, d)).astype(dtype)
        W = (0.01 * rng.standard_normal((d, m))).astype(dtype)
        b = (0.01 * rng.standard_normal(m)).astype(dtype)
        dout = rng.standard_normal((n, m)).astype(dtype)
        if "fastlayers" in names:
            impls["fastlayers"] = layer_calls(fl.Affine(W.copy(), b.copy()), (x,), (dout,))
        if "numpy" in names:
            impls["numpy"] = layer_calls(book.Affine(W.copy(), b.copy()), (x.copy(),), (dout.copy(),))
        if "torch" in names:
            impls["torch"] = autograd_calls(
                lambda x, W, b: torch.addmm(b, x, W), (tensor(x, True), tensor(W, True), tensor(b, True)), tensor(dout)
            )
            impls["torch_manual"] = layer_calls(tl.Affine(tensor(W), tensor(b)), (tensor(x),), (tensor(dout),))
    elif case.layer == "SoftmaxWithLoss":
        n, c = case.dims
        x = rng.standard_normal((n, c)).astype(dtype)
        t = one_hot(rng.integers(0, c, n), c, dtype)
        if "fastlayers" in names:
            impls["fastlayers"] = layer_calls(fl.SoftmaxWithLoss(), (x, t), ())
        if "numpy" in names:
            impls["numpy"] = layer_calls(book.SoftmaxWithLoss(), (x.copy(), t.copy()), ())
        if "torch" in names:
            impls["torch"] = autograd_calls(F.cross_entropy, (tensor(x, True), tensor(t)), None)
            impls["torch_manual"] = layer_calls(tl.SoftmaxWithLoss(), (tensor(x), tensor(t)), ())
    else:  # TwoLayerNet: the step, and as check the parameters after one step from the same start
        # "step": the book's TwoLayerNet over each library's layers (Python between layers, SGD in NumPy);
        # "fused": fastlayers' own TwoLayerNet.train_step (forward, backward and SGD in one C++ call), the
        # others as in "step".
        x = rng.random((case.dims[0], 784)).astype(dtype)
        t = one_hot(rng.integers(0, 10, case.dims[0]), 10, dtype)
        pass_ = case.passes[0]

        def fused() -> tuple[Any, Any, Any]:
            start = book.TwoLayerNet(784, 50, 10, dtype=dtype).params
            net = fl.TwoLayerNet(784, 50, 10, dtype=dtype)
            for key, value in start.items():
                net.params[key][...] = value
            sgd = fl.SGD(lr=0.1)

            class Stepper:  # the book's train_step signature over the fused call
                params = net.params

                def train_step(self, xs: Any, ts: Any) -> Any:
                    return net.train_step(xs, ts, sgd)

            return Stepper(), x, t

        def per_layer() -> tuple[Any, Any, Any]:
            return book.TwoLayerNet(784, 50, 10, layers=fl, dtype=dtype), x, t

        makers: dict[str, Callable[[], Any]] = {
            "fastlayers": fused if pass_ == "fused" else per_layer,
            "numpy": lambda: (book.TwoLayerNet(784, 50, 10, dtype=dtype), x.copy(), t.copy()),
        }
        if torch is not None:
            makers["torch"] = lambda: (
                tl.AutogradTwoLayerNet(book.TwoLayerNet(784, 50, 10, dtype=dtype).params), tensor(x), tensor(t)
            )
            makers["torch_manual"] = lambda: (
                book.TwoLayerNet(784, 50, 10, layers=tl.TORCH_LAYERS, dtype=dtype, asarray=torch.from_numpy),
                tensor(x),
                tensor(t),
            )

        def checked(make: Callable[[], Any]) -> list[Any]:
            net, xs, ts = make()
            net.train_step(xs, ts)
            return [net.params["W1"], net.params["b2"]]

        for name, make in makers.items():
            if name not in names:
                continue
            net, xs, ts = make()
            impls[name] = {pass_: partial(net.train_step, xs, ts), "check": partial(checked, make)}
    return impls


def agreement(impls: dict[str, dict[str, Callable[[], Any]]]) -> dict[str, bool]:
    """Whether each implementation's outputs match the book's (loose tolerance: the losses differ by design)."""

    def as_numpy(v: Any) -> np.ndarray:
        return v.detach().numpy() if hasattr(v, "detach") else np.asarray(v)

    ref = [as_numpy(v).astype(np.float64) for v in impls["numpy"]["check"]()]
    out = {}
    for name, calls in impls.items():
        got = [as_numpy(v).astype(np.float64) for v in calls["check"]()]
        out[name] = all(g.shape == r.shape and np.allclose(g, r, rtol=2e-3, atol=1e-5) for g, r in zip(got, ref))
    return out


# --- child: one thread count, one library ---------------------------------------------------------------------


def threadpool_report() -> list[dict[str, Any]]:
    from threadpoolctl import threadpool_info

    keys = ("user_api", "internal_api", "prefix", "version", "num_threads", "architecture", "threading_layer",
            "filepath")
    return [{k: lib.get(k) for k in keys if k in lib} for lib in threadpool_info()]


def selected_cases(quick: bool, only: list[str] | None) -> list[Case]:
    """The cases to run: all (or --quick's few), narrowed to those whose name contains one of `only`."""
    return [c for c in all_cases(quick) if not only or any(s.lower() in c.name.lower() for s in only)]


def open_family(threads: int, family: str) -> tuple[tuple[str, ...], Any, Any]:
    """Imports the libraries of `family` (see FAMILIES) and sets their thread counts; returns (names, fl, torch)."""
    names = FAMILIES[family]
    fl = torch = None
    if "fastlayers" in names:
        import fastlayers as fl

        fl.set_num_threads(threads)
    if "torch" in names:
        try:
            import torch
        except ImportError:
            torch = None
        else:
            torch.set_num_threads(threads)
    return names, fl, torch


def child_info(threads: int, family: str, fl: Any, torch: Any, load_start: tuple[float, ...]) -> dict[str, Any]:
    return {
        "threads": threads,
        "family": family,
        "env": {k: os.environ.get(k) for k in THREAD_ENV + OPENBLAS_TUNING_ENV},
        "numpy": np.__version__,
        "fastlayers": fl and {"version": fl.__version__, "isa": fl.isa, "threads": fl.get_num_threads()},
        "torch": torch and {"version": torch.__version__, "threads": torch.get_num_threads()},
        "threadpoolctl": threadpool_report(),
        "loadavg": {"start": load_start, "end": os.getloadavg()},
    }


def measure_case(case: Case, dtype: str, threads: int, names: tuple[str, ...], fl: Any, torch: Any,
                 budget: float) -> list[dict[str, Any]]:
    """The rows (one per pass) of one case and dtype for the implementations `names`."""
    impls = implementations(case, dtype, names, fl, torch)
    rows = [{
        "case": case.name, "layer": case.layer, "dims": list(case.dims), "group": case.group,
        "pass": pass_, "dtype": dtype, "threads": threads,
        "times": measure({name: calls[pass_] for name, calls in impls.items()}, budget),
        "work": case.work(pass_, np.dtype(dtype).itemsize),
    } for pass_ in case.passes]
    del impls
    return rows


def run_check(dtypes: list[str], quick: bool, only: list[str] | None) -> dict[str, Any]:
    """Runs every implementation once per case and dtype and compares their outputs with the book's."""
    load_start = os.getloadavg()
    names, fl, torch = open_family(1, "check")
    rows = []
    for case in selected_cases(quick, only):
        for dtype in dtypes:
            print(f"[check] {case.name} {dtype}", file=sys.stderr, flush=True)
            rows.append({"case": case.name, "dtype": dtype,
                         "agrees": agreement(implementations(case, dtype, names, fl, torch))})
    return {"info": child_info(1, "check", fl, torch, load_start), "rows": rows}


# Seconds to wait after the NumPy child before timing another library with 2 threads: OpenBLAS's idle threads spin
# (yielding) for 2^28 TSC cycles, ~0.1 s here, and a second thread of the next library then waited for kernel ticks
# (a 2-thread Affine forward of 0.12 ms took 6-8 ms in some processes, right after the limits' GEMMs).
PAUSE_AFTER_OPENBLAS = 0.3
REPLY = "@bench-reply "  # marks the child's answers on its stdout (anything else printed there is ignored)


def serve(threads: int, family: str, quick: bool, repeats: int) -> None:
    """A measuring child: answers the parent's requests, one JSON line each on stdin, until "quit".

    {"op": "case", "case": NAME, "dtype": DTYPE} -> {"rows": [...]} (1/repeats of the time budget);
    {"op": "limits"} -> machine_limits; {"op": "info"} -> versions, thread pools, load average; {"op": "ping"}
    -> "ready" (the libraries are imported).
    """
    load_start = os.getloadavg()
    names, fl, torch = open_family(threads, family)
    budget = (0.05 if quick else 0.3) / repeats
    cases = {c.name: c for c in all_cases(quick)}
    for line in sys.stdin:
        request = json.loads(line)
        op = request["op"]
        if op == "quit":
            break
        if op == "case":
            answer: Any = {"rows": measure_case(cases[request["case"]], request["dtype"], threads, names, fl, torch,
                                                budget)}
        elif op == "limits":
            answer = machine_limits(threads, 2 * budget)
        elif op == "ping":
            answer = "ready"
        elif op == "info":
            answer = child_info(threads, family, fl, torch, load_start)
        else:
            raise ValueError(f"unknown request {request!r}")
        print(REPLY + json.dumps(answer), flush=True)


# --- parent: targets, table, JSON, plot ---------------------------------------------------------------------


def analyse(row: dict[str, Any], limits: dict[str, Any]) -> None:
    """Adds speedups, fastlayers' fraction of the machine's limit and the verdict against issue 3's targets."""
    times = {k: v["median"] for k, v in row["times"].items()}
    fl_t = times["fastlayers"]
    row["speedup"] = {k: t / fl_t for k, t in times.items() if k != "fastlayers"}
    torch_ts = [times[k] for k in ("torch", "torch_manual") if k in times]
    torch_best = min(torch_ts) if torch_ts else None
    dtype, layer, group = row["dtype"], row["layer"], row["group"]
    if row["work"] is not None and group != "overhead":
        kind, amount = row["work"]
        rate = amount / fl_t / 1e9
        if kind == "flops":
            row["gflops"] = rate
            row["frac_gemm"] = rate / limits["gemm_gflops"][dtype]
            row["frac_peak"] = rate / limits["fma_peak_gflops"][dtype]
            row["limit"] = f"{row['frac_gemm']:.0%} gemm {row['frac_peak']:.0%} peak"
        else:
            row["gbs"] = rate
            row["frac_bw"] = rate / limits["triad_gbs"]
            row["limit"] = f"{row['frac_bw']:.0%} bw ({rate:.1f} GB/s)"

    checks: list[tuple[str, bool | None, str]] = []  # (target, met, measured); met None: cannot tell

    def vs_torch(need: float) -> None:
        sp = None if torch_best is None else torch_best / fl_t
        checks.append((f">={need:g}x torch", None if sp is None else sp >= need, "-" if sp is None else f"{sp:.2f}x"))

    if group == "large" and dtype == "float32":
        need = 0.80 if layer == "Relu" else 0.70
        checks.append((f">={need:.0%} bw", row["frac_bw"] >= need, f"{row['frac_bw']:.0%}"))
        vs_torch(1.0)
    elif group == "medium" and dtype == "float32" and layer == "SoftmaxWithLoss":
        vs_torch(2.0)
    elif group == "medium" and dtype == "float32" and layer == "Affine":
        checks.append((">=numpy", times["numpy"] >= fl_t, f"{times['numpy'] / fl_t:.2f}x"))
        vs_torch(1.0)
        checks.append((">=65% peak", row["frac_peak"] >= 0.65, f"{row['frac_peak']:.0%}"))
    elif group in ("mnist", "train"):
        need = 1.3 if row["dims"] == [100, 784, 50] else 3.0
        checks.append((f">={need:g}x numpy", times["numpy"] / fl_t >= need, f"{times['numpy'] / fl_t:.2f}x"))
        vs_torch(need)
    elif group == "overhead":
        calls = 2 if row["pass"] == "fwd+bwd" else 1
        per_call = fl_t / calls
        checks.append(("<=1.5us/call", per_call <= 1.5e-6, f"{per_call * 1e6:.2f}us"))
    row["target"] = ", ".join(c[0] for c in checks)
    if not checks:
        row["status"] = ""
    elif all(c[1] is not False for c in checks):
        row["status"] = "PASS"
    else:
        row["status"] = "MISS " + " ".join(f"{c[0]}:{c[2]}" for c in checks if c[1] is False)


def fmt_time(s: float) -> str:
    if s < 1e-6:
        return f"{s * 1e9:.0f}ns"
    if s < 1e-3:
        return f"{s * 1e6:.2f}us" if s < 1e-5 else f"{s * 1e6:.1f}us"
    return f"{s * 1e3:.2f}ms" if s < 1e-2 else f"{s * 1e3:.1f}ms"


def fmt_stat(st: dict[str, float] | None) -> str:
    if st is None:
        return "-"
    return f"{fmt_time(st['median'])}±{(st['q3'] - st['q1']) / st['median'] * 100:.0f}%"


def print_report(result: dict[str, Any]) -> None:
    meta = result["meta"]
    print(f"\nfastlayers benchmark, {meta['cpu']}, Python {meta['python']}")
    kept = "kept in the children" if meta["keep_openblas_env"] else "unset in the children (--keep-openblas-env keeps)"
    print(f"OpenBLAS tuning in the parent environment: {meta['openblas_env'] or 'none set'}; {kept}.")
    for threads, lim in result["limits"].items():
        gemm, peak = lim["gemm_gflops"], lim["fma_peak_gflops"]
        print(f"[threads={threads}] limits: GEMM {gemm['float32']:.1f} GFLOP/s fp32, {gemm['float64']:.1f} fp64 "
              f"(FMA peak {peak['float32']:.0f} / {peak['float64']:.0f}); bandwidth triad {lim['triad_gbs']:.1f} GB/s, "
              f"copy {lim['copy_gbs']:.1f} GB/s")
    for info in result["children"]:
        pools = "; ".join(" ".join(str(lib[k]) for k in ("prefix", "version", "architecture") if lib.get(k))
                          + f" x{lib.get('num_threads')}" for lib in info["threadpoolctl"])
        versions = [f"NumPy {info['numpy']}"]
        if info["fastlayers"]:
            versions.append(f"fastlayers {info['fastlayers']['version']} ({info['fastlayers']['isa']})")
        if info["torch"]:
            versions.append(f"torch {info['torch']['version']}")
        load = info["loadavg"]
        print(f"[threads={info['threads']} {info['family']}] {', '.join(versions)}; threadpools: {pools}; "
              f"load avg {load['start'][0]:.1f} -> {load['end'][0]:.1f}")
    cols = ["case", "pass", "dtype", "thr"] + [HEADERS[i] for i in IMPLS] + [
        "xNumPy", "xT-ag", "xT-man", "cpu", "fastlayers of limit", "target", "status"]
    lines = []
    for row in result["rows"]:
        t, sp = row["times"], row["speedup"]
        lines.append([
            row["case"], row["pass"], row["dtype"].replace("float", "f"), str(row["threads"]),
            *[fmt_stat(t.get(i)) for i in IMPLS],
            *[f"{sp[i]:.2f}" if i in sp else "-" for i in ("numpy", "torch", "torch_manual")],
            f"{min(v['cpu_share'] for v in t.values()):.0%}", row.get("limit", ""), row["target"], row["status"],
        ])
    widths = [max(len(c), *(len(line[k]) for line in lines)) for k, c in enumerate(cols)]
    repeats = meta.get("repeats", 1)
    over = f" (the median of {repeats} processes' medians)" if repeats > 1 else ""
    print(f"\nMedian time per call{over} ±IQR/median; xNumPy etc.: that time / fastlayers' time; cpu: the "
          "lowest share of CPU time the timing thread got in the row (below ~90%: other processes competed, "
          "re-run);\nbw: triad "
          "bandwidth; gemm: NumPy matmul 1024^3; peak: FMA peak x threads; torch targets against the faster torch "
          "variant.")
    print("  ".join(c.ljust(w) for c, w in zip(cols, widths)))
    for line in lines:
        print("  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip())
    status = [r["status"].split()[0] for r in result["rows"] if r["status"]]
    print(f"\ntargets: {status.count('PASS')} PASS, {status.count('MISS')} MISS")
    bad = sorted({f"{r['case']} {r['dtype']}: {k}" for r in result["rows"] for k, ok in r["agrees"].items() if not ok})
    if bad:
        print("WARNING: outputs differ from the book's for " + "; ".join(bad))


def plot(result: dict[str, Any], path: Path) -> None:
    """Bar chart of fastlayers' speedup over each other implementation (log scale), one panel per thread
    count and dtype, at the pass that covers the most work (fwd+bwd, or the training step)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in result["rows"] if r["pass"] in ("fwd+bwd", "step", "fused")]
    threads = sorted({r["threads"] for r in rows})
    dtypes = sorted({r["dtype"] for r in rows})
    cases = list(dict.fromkeys(r["case"] for r in rows))
    others = [i for i in IMPLS[1:] if any(i in r["speedup"] for r in rows)]
    fig, axes = plt.subplots(len(threads), len(dtypes), figsize=(7 * len(dtypes), 4.5 * len(threads)),
                             squeeze=False, sharey=True)
    width = 0.8 / len(others)
    for ti, th in enumerate(threads):
        for di, dt in enumerate(dtypes):
            ax = axes[ti][di]
            sel = {r["case"]: r for r in rows if r["threads"] == th and r["dtype"] == dt}
            for k, impl in enumerate(others):
                xs = [i + (k - (len(others) - 1) / 2) * width for i in range(len(cases))]
                ax.bar(xs, [sel[c]["speedup"].get(impl, np.nan) if c in sel else np.nan for c in cases], width,
                       label=f"vs {HEADERS[impl]}")
            ax.axhline(1.0, color="black", linewidth=0.8)
            ax.set_yscale("log")
            ax.set_xticks(range(len(cases)))
            ax.set_xticklabels(cases, rotation=60, ha="right", fontsize=8)
            ax.set_title(f"{dt}, {th} thread{'s' if th > 1 else ''}")
            ax.set_ylabel("speedup of fastlayers (x)")
            ax.grid(axis="y", which="both", alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.suptitle("fastlayers speedup, forward+backward (median times)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()} x{os.cpu_count()}"
    except OSError:
        pass
    return f"{platform.processor() or platform.machine()} x{os.cpu_count()}"


def child_env(args: argparse.Namespace, threads: int) -> dict[str, str]:
    """The environment of a child for `threads`: the thread variables set, OpenBLAS tuning unset (unless kept)."""
    env = dict(os.environ)
    env.update({k: str(threads) for k in THREAD_ENV})
    if not args.keep_openblas_env:
        for k in OPENBLAS_TUNING_ENV:
            env.pop(k, None)
    return env


def run_check_process(args: argparse.Namespace) -> dict[str, Any]:
    """run_check in a fresh interpreter; returns its result."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "check.json"
        cmd = [sys.executable, __file__, "--check-child", "--dtypes", ",".join(args.dtypes), "--out", str(out)]
        cmd += (["--quick"] if args.quick else []) + (["--cases", args.cases] if args.cases else [])
        subprocess.run(cmd, env=child_env(args, 1), check=True)
        return json.loads(out.read_text())


class Child:
    """One library family's measuring process for one thread count (serve), alive for one repeat."""

    def __init__(self, args: argparse.Namespace, threads: int, family: str) -> None:
        cmd = [sys.executable, __file__, "--serve", family, "--threads", str(threads), "--repeats", str(args.repeats)]
        cmd += ["--quick"] if args.quick else []
        self.family = family
        self.proc = subprocess.Popen(cmd, env=child_env(args, threads), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)

    def ask(self, **request: Any) -> Any:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        for line in self.proc.stdout:
            if line.startswith(REPLY):
                return json.loads(line[len(REPLY):])
        raise RuntimeError(f"the {self.family} child ended (exit code {self.proc.wait()}) before answering {request}")

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
        self.proc.stdin.close()
        if self.proc.wait() != 0:
            raise RuntimeError(f"the {self.family} child exited with code {self.proc.returncode}")


def combine(stats: list[dict[str, float]]) -> dict[str, Any]:
    """One implementation's timing over several child processes: the median of their medians (and of their
    quartiles), the lowest minimum and CPU share, the per-process medians kept."""
    medians = [st["median"] for st in stats]
    return {
        "median": statistics.median(medians),
        "q1": statistics.median(st["q1"] for st in stats),
        "q3": statistics.median(st["q3"] for st in stats),
        "min": min(st["min"] for st in stats),
        "samples": sum(int(st["samples"]) for st in stats),
        "cpu_share": min(st["cpu_share"] for st in stats),
        "process_medians": medians,
    }


def run_parent(args: argparse.Namespace) -> None:
    openblas_env = {k: os.environ[k] for k in OPENBLAS_TUNING_ENV if k in os.environ}
    check = run_check_process(args)
    agrees = {(r["case"], r["dtype"]): r["agrees"] for r in check["rows"]}
    children: list[dict[str, Any]] = []
    limit_runs: dict[int, list[dict[str, Any]]] = {}
    merged: dict[tuple[Any, ...], dict[str, Any]] = {}
    families = ("fastlayers", "numpy", "torch")
    requests = [(case.name, dtype) for case in selected_cases(args.quick, args.only) for dtype in args.dtypes]
    for repeat in range(args.repeats):
        for threads in args.threads:
            procs = [Child(args, threads, family) for family in families]
            for child in procs:  # all imports done (importing torch takes seconds of CPU) before anything is timed
                child.ask(op="ping")
            numpy_child = procs[families.index("numpy")]
            limit_runs.setdefault(threads, []).append(numpy_child.ask(op="limits"))
            last = numpy_child
            for i, (case, dtype) in enumerate(requests):
                print(f"[repeat {repeat + 1}/{args.repeats}, threads={threads}] {case} {dtype}", file=sys.stderr,
                      flush=True)
                for child in procs[i % 3:] + procs[:i % 3]:  # each library first in turn
                    if threads > 1:  # let the last library's idle threads stop spinning (OpenBLAS's: ~0.1 s)
                        time.sleep(PAUSE_AFTER_OPENBLAS if last is numpy_child else 0.05)
                    last = child
                    for row in child.ask(op="case", case=case, dtype=dtype)["rows"]:
                        key = (row["case"], row["pass"], row["dtype"], threads)
                        times = merged.setdefault(key, {**row, "times": {}})["times"]
                        for name, stat in row["times"].items():
                            times.setdefault(name, []).append(stat)
            limit_runs[threads].append(numpy_child.ask(op="limits"))
            for child in procs:
                children.append({"info": child.ask(op="info")})
                child.close()
    limits = {t: best_limits(runs) for t, runs in limit_runs.items()}
    rows = list(merged.values())
    for row in rows:
        row["times"] = {name: combine(stats) for name, stats in row["times"].items()}
        row["agrees"] = agrees[(row["case"], row["dtype"])]
        analyse(row, limits[row["threads"]])
    order = {c.name: i for i, c in enumerate(all_cases(False))}
    pass_order = {p: i for i, p in enumerate((*OVERHEAD_PASSES, "step", "fused"))}
    rows.sort(key=lambda r: (order[r["case"]], pass_order[r["pass"]], r["dtype"], r["threads"]))
    result = {
        "meta": {
            "cpu": cpu_name(), "python": platform.python_version(), "openblas_env": openblas_env,
            "keep_openblas_env": args.keep_openblas_env, "quick": args.quick, "repeats": args.repeats,
            "argv": sys.argv[1:],
            "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        },
        "limits": {str(k): v for k, v in limits.items()},
        "children": [c["info"] for c in [check, *children]],
        "rows": rows,
    }
    print_report(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    png = args.out.with_suffix(".png")
    plot(result, png)
    print(f"\nwrote {args.out} and {png}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="few shapes, ~0.05 s per measurement")
    p.add_argument("--threads", default="1,2", help="comma-separated thread counts, child processes for each")
    p.add_argument("--dtypes", default="float32,float64", help="comma-separated: float32, float64")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"JSON output (default {DEFAULT_OUT}); PNG beside")
    p.add_argument("--cases", help="comma-separated substrings of case names to run, e.g. 'Sigmoid,Relu 4096'")
    p.add_argument("--repeats", type=int, help="child processes per library and thread count, one after the "
                   "other (default 3, 1 with --quick); each gets that share of the time budget")
    p.add_argument("--keep-openblas-env", action="store_true",
                   help="keep OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE in the child processes")
    p.add_argument("--serve", choices=[f for f in FAMILIES if f != "check"], help=argparse.SUPPRESS)
    p.add_argument("--check-child", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    args.threads = [int(t) for t in args.threads.split(",")]
    args.dtypes = [d.strip() for d in args.dtypes.split(",")]
    args.only = args.cases.split(",") if args.cases else None
    if args.repeats is None:
        args.repeats = 1 if args.quick else 3
    if args.repeats < 1:
        p.error(f"--repeats must be at least 1, got {args.repeats}")
    if not set(args.dtypes) <= {"float32", "float64"}:
        p.error("--dtypes takes float32 and/or float64")
    if args.serve:
        serve(args.threads[0], args.serve, args.quick, args.repeats)
    elif args.check_child:
        args.out.write_text(json.dumps(run_check(args.dtypes, args.quick, args.only)))
    else:
        run_parent(args)


if __name__ == "__main__":
    main()
