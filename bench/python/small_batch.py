"""Small batches: the book's network used on a few samples at a time (1 to 64 rows), where every matrix product
has few rows. fastlayers against the book's NumPy code and PyTorch (the book's layers written with torch ops),
in one process, on the same data: Affine 784->50 forward, forward + backward, and TwoLayerNet.predict.

    python bench/python/small_batch.py [--threads 1] [--budget 0.2] [--out bench/results/small_batch.json]

The thread variables (OMP_NUM_THREADS, OPENBLAS_NUM_THREADS, MKL_NUM_THREADS) are set to --threads before NumPy
loads, and OpenBLAS's tuning variables (OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE) unset unless --keep-openblas-env;
the output says what ran.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from functools import partial
from pathlib import Path
from typing import Any, Callable

BATCHES = (1, 2, 4, 8, 16, 32, 64)
THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
OPENBLAS_TUNING_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def forward_backward(layer: Any, x: Any, dout: Any) -> Any:
    layer.forward(x)
    return layer.backward(dout)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--budget", type=float, default=0.2, help="seconds per measurement")
    p.add_argument("--dtypes", default="float32,float64")
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "results" / "small_batch.json")
    p.add_argument("--keep-openblas-env", action="store_true")
    return p.parse_args()


def main() -> None:
    args = parse_args()
    # Before NumPy (and its OpenBLAS) or torch load.
    os.environ.update({k: str(args.threads) for k in THREAD_ENV})
    if not args.keep_openblas_env:
        for k in OPENBLAS_TUNING_ENV:
            os.environ.pop(k, None)
    sys.path.insert(0, str(Path(__file__).resolve().parent))

    import book_numpy as book
    import fastlayers as fl
    import numpy as np
    from bench_layers import cpu_name, fmt_time, measure, threadpool_report

    fl.set_num_threads(args.threads)
    try:
        import torch
        import torch_layers as tl
    except ImportError:
        torch = tl = None
    else:
        torch.set_num_threads(args.threads)

    info = {
        "cpu": cpu_name(),
        "threads": args.threads,
        "env": {k: os.environ.get(k) for k in THREAD_ENV + OPENBLAS_TUNING_ENV},
        "numpy": np.__version__,
        "fastlayers": {"version": fl.__version__, "isa": fl.isa, "threads": fl.get_num_threads()},
        "torch": torch and {"version": torch.__version__, "threads": torch.get_num_threads()},
        "threadpoolctl": threadpool_report(),
    }
    print(f"{info['cpu']}; fastlayers {fl.__version__} ({fl.isa}), NumPy {np.__version__}"
          + (f", PyTorch {torch.__version__}" if torch else ", no PyTorch") + f"; {args.threads} thread(s)")
    print("env: " + ", ".join(f"{k}={v}" for k, v in info["env"].items()))
    for lib in info["threadpoolctl"]:
        print(f"  {lib.get('internal_api')} {lib.get('version')} ({lib.get('architecture')}), "
              f"{lib.get('num_threads')} thread(s)")

    rng = np.random.default_rng(0)
    rows: list[dict[str, Any]] = []
    header = (f"{'case':<34} {'dtype':<8} {'fastlayers':>10} {'NumPy':>10} {'PyTorch':>10} {'vs NumPy':>9} "
              f"{'vs torch':>9}")
    print("\nmedian time per call; speed-up = other / fastlayers\n" + header)
    for dtype in args.dtypes.split(","):
        net = book.TwoLayerNet(784, 50, 10, dtype=dtype)
        fnet = fl.TwoLayerNet(784, 50, 10, dtype=dtype)
        for key, value in net.params.items():
            fnet.params[key][...] = value
        tnet = tl and book.TwoLayerNet(784, 50, 10, dtype=dtype, layers=tl.TORCH_LAYERS, asarray=torch.from_numpy)
        W, b = net.params["W1"], net.params["b1"]
        for batch in BATCHES:
            x = rng.random((batch, 784)).astype(dtype)
            dout = rng.standard_normal((batch, 50)).astype(dtype)
            tx, tdout = (torch.from_numpy(x), torch.from_numpy(dout)) if torch else (None, None)
            layers = {"fastlayers": fl.Affine(W, b), "numpy": book.Affine(W, b)}
            if tl:
                layers["torch"] = tl.Affine(torch.from_numpy(W), torch.from_numpy(b))
            inputs = {"fastlayers": (x, dout), "numpy": (x, dout), "torch": (tx, tdout)}

            cases: dict[str, dict[str, Callable[[], Any]]] = {
                f"Affine {batch}x784->50 forward": {
                    name: partial(layer.forward, inputs[name][0]) for name, layer in layers.items()
                },
                f"Affine {batch}x784->50 fwd+bwd": {
                    name: partial(forward_backward, layer, *inputs[name]) for name, layer in layers.items()
                },
                f"TwoLayerNet.predict {batch}x784": {
                    "fastlayers": partial(fnet.predict, x),
                    "numpy": partial(net.predict, x),
                    **({"torch": partial(tnet.predict, tx)} if tnet else {}),
                },
            }
            for case, fns in cases.items():
                ref = np.asarray(fns["numpy"]())
                agrees = {}
                for name, fn in fns.items():
                    got = fn()
                    got = got.numpy() if hasattr(got, "numpy") else np.asarray(got)
                    agrees[name] = bool(np.allclose(got, ref, rtol=1e-4, atol=1e-5))
                stats = measure(fns, args.budget)
                med = {name: st["median"] for name, st in stats.items()}
                speedup = {name: med[name] / med["fastlayers"] for name in med if name != "fastlayers"}
                rows.append({"case": case, "dtype": dtype, "batch": batch, "times": stats, "agrees": agrees,
                             "speedup": speedup})
                cells = [fmt_time(med[n]) if n in med else "-" for n in ("fastlayers", "numpy", "torch")]
                ratios = [f"{speedup[n]:.2f}x" if n in speedup else "-" for n in ("numpy", "torch")]
                wrong = [n for n, ok in agrees.items() if not ok]
                flag = f"  DISAGREES: {', '.join(wrong)}" if wrong else ""
                print(f"{case:<34} {dtype:<8} {cells[0]:>10} {cells[1]:>10} {cells[2]:>10} {ratios[0]:>9} "
                      f"{ratios[1]:>9}{flag}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"meta": info, "rows": rows}, indent=1))
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
