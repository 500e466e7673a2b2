"""The shipped type stubs describe the built module (regenerate: scripts/gen_stubs.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_core_stubs_are_in_sync_with_the_module() -> None:
    pytest.importorskip("pybind11_stubgen")
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_stubs.py"), "--check"], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr


def test_package_ships_stubs_and_py_typed() -> None:
    import fastlayers

    pkg = Path(fastlayers.__file__).parent
    assert (pkg / "py.typed").exists()
    assert (pkg / "_core.pyi").read_text().count("class Affine") == 1
    assert "def cpu_features() -> dict[str, bool]" in (pkg / "_cpu.pyi").read_text()


def test_public_stub_signatures_have_numpy_types() -> None:
    text = (ROOT / "python" / "fastlayers" / "_core.pyi").read_text()
    floats = "numpy.typing.NDArray[numpy.float32 | numpy.float64]"
    assert f"def forward(self, x: numpy.typing.ArrayLike, *, out: {floats} | None = None) -> {floats}" in text
    assert "numpy.ndarray[" not in text  # stubgen's untyped arrays are all replaced
