"""Where fastlayers' time goes outside the kernels: per-call cost on one element against no-op calls and NumPy
allocation, a size sweep of Relu.forward, page faults and allocation cost per call on the large arrays, and
what out= saves there.

    python bench/python/overhead.py [--threads 1] [--budget 0.3]

Run it with the same thread environment as bench_layers.py's children (see bench/README.md).
"""

from __future__ import annotations

import argparse
import resource
from functools import partial
from typing import Any, Callable

import numpy as np

import fastlayers as fl
from bench_layers import fmt_time, measure


def report(title: str, fns: dict[str, Callable[[], Any]], budget: float) -> dict[str, float]:
    """Times the callables together, prints median, IQR and minimum of each; returns the medians."""
    print(f"\n{title}")
    stats = measure(fns, budget)
    width = max(map(len, fns))
    for name, st in stats.items():
        print(f"  {name.ljust(width)}  {fmt_time(st['median']):>9}  IQR {fmt_time(st['q3'] - st['q1']):>8}  "
              f"min {fmt_time(st['min']):>9}  cpu {st['cpu_share']:.0%}")
    return {name: st["median"] for name, st in stats.items()}


def minor_faults_per_call(fn: Callable[[], Any], calls: int = 20) -> float:
    fn()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(calls):
        fn()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / calls


class _Noop:
    def f(self, x: Any) -> None:
        pass


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--budget", type=float, default=0.3, help="seconds per measurement")
    args = p.parse_args()
    fl.set_num_threads(args.threads)
    budget = args.budget
    print(f"fastlayers {fl.__version__} ({fl.isa}), {fl.get_num_threads()} thread(s), NumPy {np.__version__}")

    x32 = np.zeros((1, 1), np.float32)
    x64 = np.zeros((1, 1))
    report("Baselines (one call each)", {
        "Python method, 1 arg (no-op)": partial(_Noop().f, x32),
        "pybind11 no-op fl.get_num_threads()": fl.get_num_threads,
        "pybind11 int arg fl.set_num_threads(n)": partial(fl.set_num_threads, args.threads),
        "np.empty((1,1), float32)": partial(np.empty, (1, 1), np.float32),
        "np.empty((1,1), bool)": partial(np.empty, (1, 1), bool),
        "np.asarray(x)": partial(np.asarray, x32),
        "np.require(x, float32, 'CA')": partial(np.require, x32, np.float32, "CA"),
        "x.copy() (1 elt)": x32.copy,
    }, budget)

    calls: dict[str, Callable[[], Any]] = {}
    for x in (x32, x64):
        tag = x.dtype.name
        relu, sig, swl = fl.Relu(), fl.Sigmoid(), fl.SoftmaxWithLoss()
        aff = fl.Affine(np.ones((1, 1), x.dtype), np.zeros(1, x.dtype))
        for layer in (relu, sig, aff):
            layer.forward(x)
        calls |= {
            f"Relu.forward {tag}": partial(relu.forward, x),
            f"Relu.backward {tag}": partial(relu.backward, x),
            f"Sigmoid.forward {tag}": partial(sig.forward, x),
            f"Sigmoid.backward {tag}": partial(sig.backward, x),
            f"Affine.forward {tag}": partial(aff.forward, x),
            f"Affine.backward {tag}": partial(aff.backward, x),
            f"SoftmaxWithLoss.forward one-hot {tag}": partial(swl.forward, x, np.ones((1, 1), x.dtype)),
            f"SoftmaxWithLoss.forward label {tag}": partial(swl.forward, x, np.zeros(1, np.int64)),
            f"SoftmaxWithLoss.backward {tag}": swl.backward,
        }
        swl.forward(x, np.ones((1, 1), x.dtype))
    report("fastlayers on one element (1x1)", calls, budget)

    sizes = [1, 16, 256, 4096, 5000, 65536, 2**20, 2**22]
    sweep = {}
    for n in sizes:
        x = np.random.default_rng(0).standard_normal(n).astype(np.float32)
        sweep[f"n={n}"] = partial(fl.Relu().forward, x)
    medians = report("Relu.forward float32 by size (ns per element after the 1-element time)", sweep, budget)
    base = medians["n=1"]
    for n in sizes[1:]:
        print(f"  n={n:<8} {(medians[f'n={n}'] - base) / (n - 1) * 1e9:7.3f} ns/elt above n=1")

    n = 4096 * 1024
    x = np.random.default_rng(0).standard_normal(n).astype(np.float32)
    dout = np.random.default_rng(1).standard_normal(n).astype(np.float32)
    relu, sig = fl.Relu(), fl.Sigmoid()
    relu.forward(x)
    sig.forward(x)
    pre32, pre8 = np.empty(n, np.float32), np.empty(n, bool)
    big = {
        "fl Relu.forward": partial(relu.forward, x),
        "fl Relu.backward": partial(relu.backward, dout),
        "fl Sigmoid.forward": partial(sig.forward, x),
        "fl Sigmoid.backward": partial(sig.backward, dout),
        "np.empty(f32) + np.empty(bool), touched": lambda: (np.empty(n, np.float32).fill(0), np.empty(n, bool).fill(0)),
        "fill preallocated f32 + bool": lambda: (pre32.fill(0), pre8.fill(0)),
        "np.copyto preallocated f32 (read x, write y)": partial(np.copyto, pre32, x),
        "np.maximum(x, 0) (new array)": partial(np.maximum, x, 0),
        "np.maximum(x, 0, out=preallocated)": partial(np.maximum, x, 0, out=pre32),
    }
    report(f"Large arrays, 4096x1024 float32 ({x.nbytes >> 20} MiB each)", big, budget)
    print("\nMinor page faults per call (4 KiB pages; a fresh 16 MiB array costs 4096 when not huge-paged)")
    for name, fn in big.items():
        print(f"  {name:<45} {minor_faults_per_call(fn):8.1f}")

    out_arguments(budget)


def out_arguments(budget: float) -> None:
    """Each large element-wise call with a new output against out= a preallocated one. glibc's malloc serves
    an allocation of 32 MiB or more (its largest mmap threshold) with a fresh mapping every time, whose pages
    the kernel must fault in and zero on first write; smaller ones come back from the heap already mapped."""
    print("\nNew output against out= (speed-up = new / out=; faults: minor page faults per call, new / out=)")
    for shape, dtype in (((4096, 1024), np.float32), ((4096, 1024), np.float64), ((8192, 1024), np.float32)):
        x = np.random.default_rng(0).standard_normal(shape).astype(dtype)
        dout = np.random.default_rng(1).standard_normal(shape).astype(dtype)
        relu, sig = fl.Relu(), fl.Sigmoid()
        relu.forward(x)
        sig.forward(x)
        pre = np.empty_like(x)
        sig_out = np.empty_like(x)
        sig.forward(x, out=sig_out)
        pairs = {
            "Relu.forward": (partial(relu.forward, x), partial(relu.forward, x, out=pre)),
            "Relu.backward": (partial(relu.backward, dout), partial(relu.backward, dout, out=pre)),
            "Sigmoid.forward": (partial(sig.forward, x), partial(sig.forward, x, out=sig_out)),
            "Sigmoid.backward": (partial(sig.backward, dout), partial(sig.backward, dout, out=pre)),
        }
        fns = {f"{k} {how}": f for k, (new, into) in pairs.items() for how, f in (("new", new), ("out=", into))}
        stats = measure(fns, budget)
        print(f"  {shape[0]}x{shape[1]} {np.dtype(dtype).name} ({x.nbytes >> 20} MiB an array)")
        for k, (new, into) in pairs.items():
            a, b = stats[f"{k} new"]["median"], stats[f"{k} out="]["median"]
            print(f"    {k:<17} new {fmt_time(a):>9}  out= {fmt_time(b):>9}  speed-up {a / b:5.2f}x  faults "
                  f"{minor_faults_per_call(new, 5):6.0f} / {minor_faults_per_call(into, 5):4.0f}")


if __name__ == "__main__":
    main()
