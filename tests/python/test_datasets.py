"""IDX parsing and the MNIST loader on files made here (good, corrupt, truncated, bad magic), the real
MNIST t10k set when present, and the digits data set."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

import fastlayers as fl
from fastlayers.datasets import DatasetError, load_mnist, read_idx


def idx_bytes(array, magic=None):
    array = np.asarray(array, dtype=np.uint8)
    magic = (0x0800 | array.ndim) if magic is None else magic
    header = magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + array.tobytes()


def write(path, data, compress=True):
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


def make_mnist(folder, n_train=6, n_test=5, which=("train", "t10k"), seed=0):
    rng = np.random.default_rng(seed)
    out = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        if prefix not in which:
            continue
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        write(folder / f"{prefix}-images-idx3-ubyte.gz", idx_bytes(images))
        write(folder / f"{prefix}-labels-idx1-ubyte.gz", idx_bytes(labels))
        out[prefix] = (images, labels)
    return out


def test_load_mnist_like_the_book(tmp_path):
    made = make_mnist(tmp_path)
    (x, t), (xt, tt) = load_mnist(tmp_path)
    assert x.shape == (6, 784) and x.dtype == np.float32 and xt.shape == (5, 784)
    np.testing.assert_allclose(x, made["train"][0].reshape(6, 784) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(t, made["train"][1])
    np.testing.assert_array_equal(tt, made["t10k"][1])
    (x, t), _ = load_mnist(tmp_path, normalize=False, flatten=False, one_hot_label=True)
    assert x.shape == (6, 1, 28, 28) and x.dtype == np.uint8
    assert t.shape == (6, 10) and np.array_equal(t.argmax(axis=1), made["train"][1]) and t.sum() == 6


def test_uncompressed_files_are_read_too(tmp_path):
    images = np.arange(2 * 28 * 28, dtype=np.uint64).astype(np.uint8).reshape(2, 28, 28)
    write(tmp_path / "t10k-images-idx3-ubyte", idx_bytes(images), compress=False)
    write(tmp_path / "t10k-labels-idx1-ubyte", idx_bytes([3, 4]), compress=False)
    (x, t), (xt, tt) = load_mnist(tmp_path, normalize=False, t10k_split=1)
    np.testing.assert_array_equal(x.reshape(1, 28, 28), images[:1])
    np.testing.assert_array_equal(tt, [4])


def test_only_t10k_says_so_and_can_split(tmp_path):
    made = make_mnist(tmp_path, n_test=10, which=("t10k",))
    with pytest.raises(FileNotFoundError) as e:
        load_mnist(tmp_path)
    msg = str(e.value)
    assert "train-images-idx3-ubyte.gz" in msg and "t10k_split" in msg and "only the t10k pair" in msg
    (x, t), (xt, tt) = load_mnist(tmp_path, t10k_split=8)
    assert x.shape == (8, 784) and xt.shape == (2, 784)
    np.testing.assert_array_equal(np.concatenate([t, tt]), made["t10k"][1])
    for bad in (0, 10, 2.5, True):
        with pytest.raises(ValueError, match="t10k_split"):
            load_mnist(tmp_path, t10k_split=bad)


def test_missing_folder_and_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_mnist(tmp_path / "nowhere")
    make_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError, match="t10k-labels-idx1-ubyte.gz"):
        load_mnist(tmp_path)


@pytest.mark.parametrize(
    "name, content, match",
    [
        ("bad_magic", idx_bytes(np.zeros((2, 28, 28)), magic=0x12345678), "magic"),
        ("labels_magic", idx_bytes(np.zeros(3)), "magic"),  # a labels file where images belong
        ("truncated", idx_bytes(np.zeros((2, 28, 28)))[:-10], "truncated"),
        ("trailing", idx_bytes(np.zeros((2, 28, 28))) + b"xx", "trailing"),
        ("short_header", b"\x00\x00\x08\x03\x00\x00", "header"),
        ("tiny", b"\x00", "too short"),
        ("wrong_size", idx_bytes(np.zeros((2, 20, 20))), "28x28"),
    ],
)
def test_corrupt_images_file_names_the_file(tmp_path, name, content, match):
    make_mnist(tmp_path)
    write(tmp_path / "train-images-idx3-ubyte.gz", content)
    with pytest.raises(DatasetError, match=match) as e:
        load_mnist(tmp_path)
    assert "train-images-idx3-ubyte.gz" in str(e.value)
    assert isinstance(e.value, ValueError)


def test_corrupt_gzip_names_the_file(tmp_path):
    make_mnist(tmp_path)
    good = (tmp_path / "t10k-images-idx3-ubyte.gz").read_bytes()
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(good[: len(good) // 2])
    with pytest.raises(DatasetError, match="gzip") as e:
        load_mnist(tmp_path)
    assert "t10k-images-idx3-ubyte.gz" in str(e.value)
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(b"plain text, not gzip")
    with pytest.raises(DatasetError, match="not a gzip file"):
        load_mnist(tmp_path)


def test_count_mismatch_and_bad_labels(tmp_path):
    make_mnist(tmp_path)
    write(tmp_path / "train-labels-idx1-ubyte.gz", idx_bytes([1, 2, 3]))
    with pytest.raises(DatasetError, match="6 images but .* 3 labels"):
        load_mnist(tmp_path)
    write(tmp_path / "train-labels-idx1-ubyte.gz", idx_bytes([1, 2, 3, 4, 5, 12]))
    with pytest.raises(DatasetError, match="label 12") as e:
        load_mnist(tmp_path)
    assert "train-labels-idx1-ubyte.gz" in str(e.value)


def test_read_idx_any_shape(tmp_path):
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    np.testing.assert_array_equal(read_idx(write(tmp_path / "a.gz", idx_bytes(a))), a)


def test_real_mnist_t10k(mnist_dir):
    (x, t), (xt, tt) = load_mnist(mnist_dir, t10k_split=8000)
    assert x.shape == (8000, 784) and xt.shape == (2000, 784)
    assert x.dtype == np.float32 and 0.0 <= x.min() and x.max() <= 1.0
    assert t.dtype == np.uint8 and set(np.unique(t)) == set(range(10))
    assert np.bincount(np.concatenate([t, tt])).tolist()[:3] == [980, 1135, 1032]  # the t10k class counts


def test_digits():
    pytest.importorskip("sklearn")
    (x, t), (xt, tt) = fl.datasets.load_digits()
    assert x.shape == (1437, 64) and xt.shape == (360, 64) and x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() == 1.0
    (x2, t2), _ = fl.datasets.load_digits()
    np.testing.assert_array_equal(t, t2)  # a fixed split
    (x3, _), (_, tt3) = fl.datasets.load_digits(normalize=False, flatten=False, one_hot_label=True)
    assert x3.shape == (1437, 1, 8, 8) and x3.dtype == np.uint8 and tt3.shape == (360, 10)


def test_digits_read_without_sklearn_import_equal_sklearns():
    sk = pytest.importorskip("sklearn.datasets")
    from fastlayers.datasets import _digits_arrays

    images, labels = _digits_arrays()
    bunch = sk.load_digits()
    np.testing.assert_array_equal(images, bunch.images)
    np.testing.assert_array_equal(labels, bunch.target)
