"""Times the book's training recipe (train_neuralnet.py) with the book's NumPy code and with fastlayers,
on the same data, seed and batches, in one run; prints both times, accuracies and the ratio.

    python bench/python/compare_train.py                   # MNIST t10k 8,000/2,000 when found, else digits
    python bench/python/compare_train.py --data digits --iters 2000
    python bench/python/compare_train.py --check --max-ratio 0.3333 --min-test-acc 0.94 --json out.json

MNIST is looked for in --mnist-dir, $FASTLAYERS_MNIST_DIR, then ../shared/data/mnist beside the repo.
With the same seed both sides draw the same initial weights and the same batches (np.random.seed(seed)
then the book's constructor and np.random.choice), so their accuracies agree to float rounding.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))

import book_reference  # noqa: E402

import fastlayers as fl  # noqa: E402
from fastlayers import datasets  # noqa: E402
from fastlayers.training import fit  # noqa: E402


def find_mnist(explicit):
    for d in (explicit, os.environ.get("FASTLAYERS_MNIST_DIR"), REPO.parent / "shared" / "data" / "mnist"):
        if d and Path(d).is_dir() and any(Path(d).glob("t10k-images-idx3-ubyte*")):
            return Path(d)
    return None


def load(args):
    if args.data in ("auto", "mnist"):
        d = find_mnist(args.mnist_dir)
        if d is None and args.data == "mnist":
            sys.exit("compare_train: MNIST not found (--mnist-dir, $FASTLAYERS_MNIST_DIR, ../shared/data/mnist)")
        if d is not None:
            if args.t10k_split or not datasets.mnist_has_train(d):
                split = args.t10k_split or 8000
                return datasets.load_mnist(d, t10k_split=split), f"MNIST t10k split {split}/{10000 - split}"
            return datasets.load_mnist(d), "MNIST 60,000/10,000"
    return datasets.load_digits(), "digits 1,437/360"


def run_fastlayers(x_train, t_train, x_test, t_test, args):
    dtype = np.dtype(args.dtype)
    rs = np.random.RandomState(args.seed)  # the same stream as the book's np.random.seed(seed)
    x_train = np.ascontiguousarray(x_train, dtype=dtype)
    x_test = np.ascontiguousarray(x_test, dtype=dtype)
    net = fl.TwoLayerNet(x_train.shape[1], args.hidden, 10, seed=rs, dtype=dtype)
    h = fit(net, fl.SGD(lr=args.lr), x_train, t_train, x_test, t_test, args.iters, args.batch_size, rs)
    return {
        "train_acc": net.accuracy(x_train, t_train),
        "test_acc": net.accuracy(x_test, t_test),
        "test_acc_list": [e["test_acc"] for e in h.epochs],
        "loss": h.losses,
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", choices=("auto", "mnist", "digits"), default="auto")
    p.add_argument("--mnist-dir", default=None)
    p.add_argument("--t10k-split", type=int, default=None)
    p.add_argument("--iters", type=int, default=10000)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--hidden", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dtype", choices=("float32", "float64"), default="float32",
                   help="fastlayers' dtype, float32 by default like `fastlayers train` (the book computes in float64)")
    p.add_argument("--threads", type=int, default=1,
                   help="fastlayers threads, default 1 like `fastlayers train` (NumPy's BLAS keeps its own: "
                        "set OPENBLAS_NUM_THREADS to change it)")
    p.add_argument("--json", default=None, help="write the results here")
    p.add_argument("--check", action="store_true", help="exit 1 unless --max-ratio and --min-test-acc hold")
    p.add_argument("--max-ratio", type=float, default=1 / 3)
    p.add_argument("--min-test-acc", type=float, default=0.94)
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    if args.threads:
        fl.set_num_threads(args.threads)
    log = (lambda *a: None) if args.quiet else print

    ((x_train, t_train), (x_test, t_test)), what = load(args)
    log(f"{what}: {args.iters} iterations, batch {args.batch_size}, lr {args.lr}, hidden {args.hidden}, "
        f"seed {args.seed}; fastlayers {fl.__version__} ({fl.isa}, {fl.get_num_threads()} threads, {args.dtype})")

    t0 = time.perf_counter()
    ref = book_reference.train(x_train, t_train, x_test, t_test, args.iters, args.batch_size, args.lr,
                               args.hidden, args.seed)
    t_ref = time.perf_counter() - t0
    t0 = time.perf_counter()
    ours = run_fastlayers(x_train, t_train, x_test, t_test, args)
    t_ours = time.perf_counter() - t0
    ratio = t_ours / t_ref if t_ref > 0 else float("nan")

    rows = [("book NumPy (float64)", t_ref, ref), (f"fastlayers ({args.dtype})", t_ours, ours)]
    log(f"{'':24s}{'time (s)':>10s}{'train acc':>11s}{'test acc':>10s}")
    for name, t, r in rows:
        log(f"{name:24s}{t:10.2f}{r['train_acc']:11.4f}{r['test_acc']:10.4f}")
    log(f"ratio fastlayers/numpy: {ratio:.3f}  (fastlayers is {1 / ratio:.1f}x faster)")
    result = {
        "data": what, "iters": args.iters, "batch_size": args.batch_size, "lr": args.lr, "hidden": args.hidden,
        "seed": args.seed, "dtype": args.dtype, "isa": fl.isa, "threads": fl.get_num_threads(),
        "numpy": {"time_s": t_ref, "train_acc": ref["train_acc"], "test_acc": ref["test_acc"]},
        "fastlayers": {"time_s": t_ours, "train_acc": ours["train_acc"], "test_acc": ours["test_acc"]},
        "ratio": ratio,
    }
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    if args.check:
        ok = ratio <= args.max_ratio and ours["test_acc"] >= args.min_test_acc
        log(f"check: ratio {ratio:.3f} <= {args.max_ratio:.3f} and test acc {ours['test_acc']:.4f} >= "
            f"{args.min_test_acc}: {'PASS' if ok else 'FAIL'}")
        return 0 if ok else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
