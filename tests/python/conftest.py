"""Shared pytest setup for the Python tests: hypothesis profiles, warnings as errors, data fixtures."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]

# reference.py and helpers.py sit beside the tests; make them importable whatever --import-mode is in use.
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

settings.register_profile(
    "default",
    deadline=None,
    max_examples=60,
    database=None,  # leave no .hypothesis/ folder in the work tree
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("ci", parent=settings.get_profile("default"), derandomize=True)
settings.register_profile("thorough", parent=settings.get_profile("default"), max_examples=1000)
# HYPOTHESIS_PROFILE=thorough for a long local run; CI (env CI set) is derandomized.
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "default"))


def pytest_configure(config):
    # The project config is expected to say filterwarnings = ["error"]; hold the tests to it even if it doesn't.
    if not config.getini("filterwarnings"):
        config.addinivalue_line("filterwarnings", "error")


@pytest.fixture
def rng():
    return np.random.default_rng(20240501)


@pytest.fixture(scope="session")
def mnist_dir():
    """Folder with the MNIST idx files ($FASTLAYERS_MNIST_DIR, else ../shared/data/mnist beside the repo);
    skips when absent."""
    env = os.environ.get("FASTLAYERS_MNIST_DIR")
    path = Path(env).resolve() if env else (REPO_ROOT.parent / "shared" / "data" / "mnist").resolve()
    if not path.is_dir() or not any(path.glob("t10k-images-idx3-ubyte*")):
        where = "$FASTLAYERS_MNIST_DIR" if env else "../shared/data/mnist relative to the repo root"
        pytest.skip(f"MNIST data not found at {path} (expected the t10k IDX files in {where})")
    return path
