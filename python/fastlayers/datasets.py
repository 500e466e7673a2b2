"""Data sets for the book's networks: MNIST from its IDX files (like the book's dataset/mnist.py, without
the download) and scikit-learn's bundled 8x8 digits as the offline default."""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path
from typing import Any, Union

import numpy as np

__all__ = ["DatasetError", "load_digits", "load_mnist", "read_idx"]

PathLike = Union[str, "os.PathLike[str]"]
Split = tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]

MNIST_FILES = {
    "train_img": "train-images-idx3-ubyte.gz",
    "train_label": "train-labels-idx1-ubyte.gz",
    "test_img": "t10k-images-idx3-ubyte.gz",
    "test_label": "t10k-labels-idx1-ubyte.gz",
}
IMAGES_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions (N, rows, cols)
LABELS_MAGIC = 0x00000801  # unsigned bytes, 1 dimension (N,)

DIGITS_TEST_SIZE = 360  # of 1,797 images; the split is a fixed permutation (seed 0)


class DatasetError(ValueError):
    """A data file is corrupt, truncated or not what its name says; the message names the file."""


def _open_bytes(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: file not found") from None
    if raw[:2] == b"\x1f\x8b":  # gzip
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise DatasetError(f"{path}: corrupt or truncated gzip data ({e})") from None
    if path.suffix == ".gz":
        raise DatasetError(f"{path}: not a gzip file (it starts with {raw[:4]!r})")
    return raw


def read_idx(path: PathLike, expect_magic: int | None = None) -> np.ndarray:
    """An IDX file of unsigned bytes (gzip or plain) as a uint8 array of the shape its header gives.

    Checks the magic number (0x0801 labels, 0x0803 images; ``expect_magic`` when given) and that the
    data is exactly as long as the header says; a DatasetError names the file otherwise.
    """
    path = Path(path)
    data = _open_bytes(path)
    if len(data) < 4:
        raise DatasetError(f"{path}: {len(data)} bytes, too short for an IDX header")
    magic = int.from_bytes(data[:4], "big")
    if magic >> 16 != 0 or (magic >> 8) & 0xFF != 0x08 or not 1 <= magic & 0xFF <= 4:
        raise DatasetError(
            f"{path}: bad IDX magic number 0x{magic:08x}; expected 0x00000801 (labels) or 0x00000803 (images)"
        )
    if expect_magic is not None and magic != expect_magic:
        raise DatasetError(f"{path}: IDX magic number 0x{magic:08x}, expected 0x{expect_magic:08x}")
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DatasetError(f"{path}: truncated IDX header ({len(data)} bytes, need {header})")
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    size = math.prod(dims)  # exact: np.prod in int64 could wrap on a forged header
    if len(data) - header != size:
        what = "truncated" if len(data) - header < size else "has trailing bytes"
        raise DatasetError(
            f"{path}: {what}: the header says {dims} = {size} bytes of data, the file has {len(data) - header}"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims).copy()


def _find(directory: Path, name: str) -> Path | None:
    for candidate in (directory / name, directory / name[: -len(".gz")]):
        if candidate.is_file():
            return candidate
    return None


def _load_pair(directory: Path, img: str, lab: str) -> tuple[np.ndarray, np.ndarray]:
    paths = []
    for name in (img, lab):
        p = _find(directory, name)
        if p is None:
            raise FileNotFoundError(f"MNIST file {name} not found in {directory}")
        paths.append(p)
    images = read_idx(paths[0], IMAGES_MAGIC)
    labels = read_idx(paths[1], LABELS_MAGIC)
    if images.shape[1:] != (28, 28):
        raise DatasetError(f"{paths[0]}: images of {images.shape[1]}x{images.shape[2]} pixels, expected 28x28")
    if images.shape[0] != labels.shape[0]:
        raise DatasetError(
            f"{paths[0]} has {images.shape[0]} images but {paths[1]} has {labels.shape[0]} labels"
        )
    if labels.size and labels.max() > 9:
        raise DatasetError(f"{paths[1]}: label {int(labels.max())} is not a digit 0-9")
    return images, labels


def _one_hot(t: np.ndarray, classes: int = 10) -> np.ndarray:
    out = np.zeros((t.size, classes))
    out[np.arange(t.size), t] = 1
    return out


def _finish(images: np.ndarray, labels: np.ndarray, normalize: bool, flatten: bool, one_hot_label: bool,
            side: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    x: np.ndarray = images
    if normalize:
        x = x.astype(np.float32)
        x /= scale
    x = x.reshape(-1, side * side) if flatten else x.reshape(-1, 1, side, side)
    t = _one_hot(labels) if one_hot_label else labels
    return x, t


def load_mnist(
    path: PathLike,
    normalize: bool = True,
    flatten: bool = True,
    one_hot_label: bool = False,
    t10k_split: int | None = None,
) -> Split:
    """``((x_train, t_train), (x_test, t_test))`` from the four MNIST IDX files in the folder ``path``.

    As the book's loader: normalize -> float32 in [0, 1] (else uint8 0-255); flatten -> (N, 784)
    (else (N, 1, 28, 28)); one_hot_label -> float64 (N, 10) (else uint8 labels).
    Files may be gzipped (``train-images-idx3-ubyte.gz``) or not (``train-images-idx3-ubyte``).

    When only the t10k pair is present (or always, with ``t10k_split``), pass ``t10k_split=k`` to train on
    its first k images and test on the rest: ``load_mnist(path, t10k_split=8000)``.
    """
    directory = Path(path)
    if not directory.is_dir():
        raise FileNotFoundError(f"MNIST folder {directory} not found")
    if t10k_split is None:
        missing = [n for n in (MNIST_FILES["train_img"], MNIST_FILES["train_label"]) if _find(directory, n) is None]
        if missing:
            has_test = all(_find(directory, MNIST_FILES[k]) is not None for k in ("test_img", "test_label"))
            hint = (
                "; only the t10k pair is present: load_mnist(path, t10k_split=8000) splits its 10,000 images "
                "into 8,000 train / 2,000 test"
                if has_test
                else ""
            )
            raise FileNotFoundError(f"MNIST file {missing[0]} not found in {directory}{hint}")
        train = _load_pair(directory, MNIST_FILES["train_img"], MNIST_FILES["train_label"])
        test = _load_pair(directory, MNIST_FILES["test_img"], MNIST_FILES["test_label"])
    else:
        images, labels = _load_pair(directory, MNIST_FILES["test_img"], MNIST_FILES["test_label"])
        valid = isinstance(t10k_split, (int, np.integer)) and not isinstance(t10k_split, bool)
        if not valid or not 0 < t10k_split < len(images):
            raise ValueError(f"load_mnist: t10k_split must be an integer in [1, {len(images) - 1}], got {t10k_split!r}")
        train = images[:t10k_split], labels[:t10k_split]
        test = images[t10k_split:], labels[t10k_split:]
    return (
        _finish(*train, normalize, flatten, one_hot_label, 28, 255.0),
        _finish(*test, normalize, flatten, one_hot_label, 28, 255.0),
    )


def mnist_has_train(path: PathLike) -> bool:
    """Whether the folder has the training pair (else only t10k can be used, split)."""
    d = Path(path)
    return all(_find(d, MNIST_FILES[k]) is not None for k in ("train_img", "train_label"))


def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """images (1797, 8, 8) uint8 0-16 and labels (1797,) uint8. Reads the CSV scikit-learn ships without
    importing scikit-learn (whose import takes seconds); falls back to sklearn.datasets.load_digits."""
    import importlib.util

    spec = importlib.util.find_spec("sklearn")
    if spec is None:
        raise ImportError(
            "load_digits needs scikit-learn: pip install 'fastlayers[examples]' (or pip install scikit-learn)"
        )
    for folder in spec.submodule_search_locations or []:
        csv = Path(folder) / "datasets" / "data" / "digits.csv.gz"
        if csv.is_file():
            data = np.loadtxt(csv, delimiter=",", dtype=np.float64)
            if data.shape == (1797, 65):
                return data[:, :64].round().astype(np.uint8).reshape(-1, 8, 8), data[:, 64].astype(np.uint8)
    from sklearn.datasets import load_digits as _sk_load_digits  # type: ignore[import-untyped]

    bunch: Any = _sk_load_digits()
    return (np.asarray(bunch.images).round().astype(np.uint8), np.asarray(bunch.target, dtype=np.uint8))


def load_digits(normalize: bool = True, flatten: bool = True, one_hot_label: bool = False) -> Split:
    """scikit-learn's bundled 8x8 digits (1,797 images, offline) with a fixed split: 1,437 train / 360 test.

    Like load_mnist: normalize -> float32 in [0, 1] (pixel values 0-16 divided by 16), flatten -> (N, 64)
    (else (N, 1, 8, 8)), one_hot_label -> float64 (N, 10). Needs scikit-learn (``pip install
    fastlayers[examples]``).
    """
    images, labels = _digits_arrays()
    order = np.random.RandomState(0).permutation(len(labels))
    train_idx, test_idx = order[: len(order) - DIGITS_TEST_SIZE], order[len(order) - DIGITS_TEST_SIZE :]
    return (
        _finish(images[train_idx], labels[train_idx], normalize, flatten, one_hot_label, 8, 16.0),
        _finish(images[test_idx], labels[test_idx], normalize, flatten, one_hot_label, 8, 16.0),
    )
