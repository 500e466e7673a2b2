"""examples/train_book.py, the typed user-style training loop (mypy --strict checks it), runs and learns."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "train_book.py"


def test_train_book_example_learns_the_digits(capsys):
    pytest.importorskip("sklearn", reason="the digits data needs scikit-learn (the examples extra)")
    spec = importlib.util.spec_from_file_location("train_book", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    accuracy = module.main(["--iters", "300"])
    assert accuracy > 0.5  # ten classes: chance is 0.1
    assert "test accuracy" in capsys.readouterr().out
