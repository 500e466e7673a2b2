"""The ``fastlayers`` command: ``train`` a TwoLayerNet like the book's train_neuralnet.py (ch. 5.7.4) and
``predict`` with a saved one."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__, isa
from ._core import Optimizer
from .datasets import Split

OPTIMIZERS = ("sgd", "momentum", "adagrad", "adam")
INTERRUPTED = 130  # exit status after Ctrl-C (128 + SIGINT), with the results so far saved


class CLIError(Exception):
    """A user error: printed as ``fastlayers: error: ...`` with exit status 2."""


def _default_mnist_dir() -> str | None:
    return os.environ.get("FASTLAYERS_MNIST_DIR")


def load_data(
    name: str, mnist_dir: str | None, t10k_split: int | None, log: Callable[[str], object] = print
) -> tuple[Split, str]:
    """((x_train, t_train), (x_test, t_test)) and a description, for --data digits|mnist."""
    from . import datasets

    if name == "digits":
        try:
            return datasets.load_digits(), "scikit-learn digits 8x8 (1,437 train / 360 test)"
        except ImportError as e:
            raise CLIError(f"{e}; or use --data mnist --mnist-dir DIR") from None
    directory = mnist_dir or _default_mnist_dir()
    if not directory:
        raise CLIError("--data mnist needs --mnist-dir DIR (or FASTLAYERS_MNIST_DIR) with the MNIST .gz files")
    try:
        if t10k_split is None and not datasets.mnist_has_train(directory):
            t10k_split = 8000
            log(f"note: only the t10k files are in {directory}: splitting them 8,000 train / 2,000 test "
                "(--t10k-split N to change)")
        data = datasets.load_mnist(directory, t10k_split=t10k_split)
    except (FileNotFoundError, datasets.DatasetError) as e:
        raise CLIError(str(e)) from None
    what = f"MNIST t10k split {t10k_split} / {10000 - t10k_split}" if t10k_split else "MNIST 60,000 / 10,000"
    return data, what


def make_optimizer(name: str, lr: float) -> Optimizer:
    from . import _core

    classes: dict[str, type[Optimizer]] = {
        "sgd": _core.SGD, "momentum": _core.Momentum, "adagrad": _core.AdaGrad, "adam": _core.Adam
    }
    cls = classes[name]
    try:
        return cls(lr=lr)  # type: ignore[call-arg]  # every optimizer takes lr
    except ValueError as e:
        raise CLIError(f"--lr: {e}") from None


class _Progress:
    """tqdm when installed (and stderr is a terminal), else a line every 10%."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total = total
        self.bar: Any = None
        self.enabled = enabled
        self.next_line = 0
        if enabled:
            try:
                from tqdm import tqdm  # type: ignore[import-untyped]

                self.bar = tqdm(total=total, unit="it", dynamic_ncols=True, disable=None, mininterval=0.25)
            except ImportError:
                self.bar = None

    def update(self, i: int, loss: float) -> None:
        if self.bar is not None:
            self.bar.update(1)
            if i % 25 == 0:
                self.bar.set_postfix(loss=f"{loss:.4f}", refresh=False)

    def write(self, msg: str) -> None:
        if self.bar is not None and not self.bar.disable:
            self.bar.write(msg)
        else:
            print(msg, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def plot_learning_curve(path: Path, losses: list[float], epochs: list[dict[str, Any]], title: str) -> bool:
    """Loss per iteration and accuracy per epoch, as a PNG (matplotlib's headless Agg). False without matplotlib."""
    try:  # a Figure on the Agg canvas: headless, and no pyplot (no global state, a faster import)
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return False
    fig = Figure(figsize=(11, 4))
    FigureCanvasAgg(fig)
    ax1, ax2 = fig.subplots(1, 2)
    if losses:
        it = np.arange(len(losses))
        ax1.plot(it, losses, color="tab:blue", alpha=0.3, linewidth=0.6, label="batch loss")
        w = max(1, min(100, len(losses) // 20))
        if w > 1:
            smooth = np.convolve(losses, np.ones(w) / w, mode="valid")
            ax1.plot(np.arange(w - 1, len(losses)), smooth, color="tab:blue", label=f"mean of {w}")
        ax1.legend()
    ax1.set_xlabel("iteration")
    ax1.set_ylabel("loss")
    ax1.set_title("training loss")
    if epochs:
        x = [e["epoch"] for e in epochs]
        ax2.plot(x, [e["train_acc"] for e in epochs], marker="o", markersize=3, label="train")
        ax2.plot(x, [e["test_acc"] for e in epochs], marker="s", markersize=3, linestyle="--", label="test")
        ax2.legend(loc="lower right")
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("accuracy")
    ax2.set_ylim(0, 1.0)
    ax2.set_title("accuracy")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return True


def train(args: argparse.Namespace) -> int:
    import fastlayers as fl

    if args.iters < 0:
        raise CLIError(f"--iters must be >= 0, got {args.iters}")
    if args.batch_size < 1:
        raise CLIError(f"--batch-size must be >= 1, got {args.batch_size}")
    if args.hidden < 1:
        raise CLIError(f"--hidden must be >= 1, got {args.hidden}")
    if args.threads < 1:
        raise CLIError(f"--threads must be >= 1, got {args.threads}")
    fl.set_num_threads(args.threads)
    quiet = args.quiet
    log = (lambda *a, **k: None) if quiet else print

    data, what = load_data(args.data, args.mnist_dir, args.t10k_split, log)
    (x_train, t_train), (x_test, t_test) = data
    dtype = np.dtype(args.dtype)
    x_train = np.ascontiguousarray(x_train, dtype=dtype)  # once, not per batch
    x_test = np.ascontiguousarray(x_test, dtype=dtype)
    train_size = x_train.shape[0]
    optimizer = make_optimizer(args.optimizer, args.lr)
    rs = np.random.RandomState(args.seed)  # the weights, then the batches, like the book after np.random.seed
    net = fl.TwoLayerNet(x_train.shape[1], args.hidden, 10, seed=rs, dtype=dtype)
    out = Path(args.out) if args.out else Path("runs") / f"{args.data}-{time.strftime('%Y%m%d-%H%M%S')}"
    out.mkdir(parents=True, exist_ok=True)
    log(
        f"training TwoLayerNet({x_train.shape[1]}, {args.hidden}, 10) on {what}, {args.iters} iterations, "
        f"batch {args.batch_size}, {args.optimizer} "
        f"lr {args.lr}, {dtype}, {fl.get_num_threads()} threads, {fl.isa} core"
    )

    from .training import fit

    progress = _Progress(args.iters, enabled=not quiet and not args.no_progress)

    def on_epoch(e: dict[str, Any]) -> None:
        if not quiet:
            progress.write(f"epoch {e['epoch']:4d}  iter {e['iter']:6d}  "
                           f"train acc {e['train_acc']:.4f}  test acc {e['test_acc']:.4f}")

    history = fit(net, optimizer, x_train, t_train, x_test, t_test, args.iters, args.batch_size, rs,
                  on_iter=progress.update, on_epoch=on_epoch)
    progress.close()
    losses, epochs, interrupted, elapsed = history.losses, history.epochs, history.interrupted, history.time_s
    if interrupted:
        log(f"interrupted after {len(losses)} iterations: saving what was learnt so far")
    train_acc = net.accuracy(x_train, t_train)
    test_acc = net.accuracy(x_test, t_test)

    model_path = net.save(out / "model.npz")
    metrics = {
        "command": "train",
        "fastlayers_version": fl.__version__,
        "isa": fl.isa,
        "data": args.data,
        "data_description": what,
        "train_size": int(train_size),
        "test_size": int(x_test.shape[0]),
        "input_size": int(x_train.shape[1]),
        "hidden": args.hidden,
        "iters": args.iters,
        "iterations_done": len(losses),
        "batch_size": args.batch_size,
        "lr": args.lr,
        "optimizer": args.optimizer,
        "dtype": str(dtype),
        "seed": args.seed,
        "threads": fl.get_num_threads(),
        "interrupted": interrupted,
        "time_s": elapsed,
        "train_acc": train_acc,
        "test_acc": test_acc,
        "epochs": epochs,
        "loss": losses,
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
    png = out / "learning_curve.png"
    title = f"TwoLayerNet on {args.data}: test accuracy {test_acc:.4f}"
    plotted = plot_learning_curve(png, losses, epochs, title)
    if not quiet:
        print(f"train accuracy {train_acc:.4f}, test accuracy {test_acc:.4f} "
              f"after {len(losses)} iterations in {elapsed:.1f} s")
        print(f"saved {model_path}, {out / 'metrics.json'}" + (f", {png}" if plotted else
              " (no learning-curve PNG: matplotlib is not installed; pip install 'fastlayers[examples]')"))
    return INTERRUPTED if interrupted else 0


def predict(args: argparse.Namespace) -> int:
    import fastlayers as fl

    try:
        net = fl.TwoLayerNet.load(args.model)
    except (FileNotFoundError, ValueError) as e:
        raise CLIError(str(e)) from None
    n_in = net.params["W1"].shape[0]
    if args.input is not None:
        try:
            x = np.load(args.input, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise CLIError(f"--input {args.input}: {e}") from None
        x = np.asarray(x)
        if x.size == n_in:
            x = x.reshape(1, n_in)
        x = x.reshape(x.shape[0], -1) if x.ndim >= 2 else x
        if x.ndim != 2 or x.shape[1] != n_in:
            raise CLIError(f"--input {args.input}: shape {x.shape}; the model expects (N, {n_in}) images")
        scores = net.predict(x.astype(net.dtype, copy=False))
        labels = np.argmax(scores, axis=1)
        if args.json:
            print(json.dumps({"labels": labels.tolist()}))
        else:
            for label in labels:
                print(int(label))
        return 0
    (_, _), (x_test, t_test) = load_data(args.data, args.mnist_dir, args.t10k_split, print)[0]
    if x_test.shape[1] != n_in:
        raise CLIError(f"the model takes {n_in} inputs but --data {args.data} images have {x_test.shape[1]} pixels")
    acc = net.accuracy(x_test.astype(net.dtype, copy=False), t_test)
    if args.json:
        print(json.dumps({"data": args.data, "test_size": len(t_test), "test_acc": acc}))
    else:
        print(f"test accuracy {acc:.4f} on {len(t_test)} {args.data} images")
    return 0


def _add_data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", choices=("digits", "mnist"), default="digits",
                   help="digits: scikit-learn's 8x8 digits, offline (default); mnist: the IDX files in --mnist-dir")
    p.add_argument("--mnist-dir", default=None,
                   help="folder with the MNIST *-idx*-ubyte.gz files (default: $FASTLAYERS_MNIST_DIR)")
    p.add_argument("--t10k-split", type=int, default=None, metavar="N",
                   help="use only the t10k files: the first N images train, the rest test "
                        "(automatic, N=8000, when the train files are absent)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fastlayers", description="Deep Learning from Scratch ch. 5, in C++.")
    parser.add_argument("--version", action="version", version=f"fastlayers {__version__} ({isa} core)")
    sub = parser.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train the book's TwoLayerNet (train_neuralnet.py)",
                       description="Train the book's TwoLayerNet like train_neuralnet.py; writes model.npz, "
                                   "metrics.json and learning_curve.png to --out.")
    _add_data_args(t)
    t.add_argument("--iters", type=int, default=10000, help="iterations (default 10000)")
    t.add_argument("--batch-size", type=int, default=100, help="batch size (default 100)")
    t.add_argument("--lr", type=float, default=0.1, help="learning rate (default 0.1)")
    t.add_argument("--hidden", type=int, default=50, help="hidden units (default 50)")
    t.add_argument("--optimizer", choices=OPTIMIZERS, default="sgd", help="default sgd")
    t.add_argument("--dtype", choices=("float32", "float64"), default="float32",
                   help="float32 (default: twice the speed, the same accuracy) or float64 (the book's)")
    t.add_argument("--seed", type=int, default=0, help="seed of the weights and the batches (default 0)")
    t.add_argument("--threads", type=int, default=1,
                   help="threads of the C++ kernels (default 1: a batch of 100 is too small to gain from more, "
                        "and on a busy machine waking a second thread costs more than the step)")
    t.add_argument("--out", default=None, help="output folder (default runs/<data>-<time>)")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.add_argument("-q", "--quiet", action="store_true", help="print nothing; see metrics.json")
    t.set_defaults(func=train)

    p = sub.add_parser("predict", help="predict with a saved model",
                       description="Print the labels a saved model predicts for --input (an .npy of images), "
                                   "or its accuracy on the test set of --data.")
    p.add_argument("model", help="model.npz written by `fastlayers train` (or net.save)")
    p.add_argument("--input", default=None, help=".npy of images (N, pixels), preprocessed like the training data")
    p.add_argument("--json", action="store_true", help="print JSON")
    _add_data_args(p)
    p.set_defaults(func=predict)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except CLIError as e:
        print(f"fastlayers: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("fastlayers: interrupted", file=sys.stderr)
        return INTERRUPTED
