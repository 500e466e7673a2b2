"""Writes python/fastlayers/_core.pyi from the built extension (pybind11-stubgen).

Both instruction-set builds bind the same API; the stub is made from the baseline one and
describes ``fastlayers._core``, which re-exports whichever build the CPU runs.
Usage: .venv/bin/python scripts/gen_stubs.py [--check]   (--check: fail if the file is stale)
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

TARGET = Path(__file__).resolve().parent.parent / "python" / "fastlayers" / "_core.pyi"


def generate() -> str:
    with tempfile.TemporaryDirectory() as out:
        # Only the baseline build loaded, with its own names (see fastlayers/_core.py).
        env = dict(os.environ, FASTLAYERS_ISA="baseline", FASTLAYERS_STUBGEN="1")
        subprocess.run(
            [sys.executable, "-m", "pybind11_stubgen", "fastlayers._core_baseline", "-o", out, "--numpy-array-use-type-var"],
            check=True,
            capture_output=True,
            env=env,
        )
        text = (Path(out) / "fastlayers" / "_core_baseline.pyi").read_text()
    text = text.replace('"""\nfastlayers C++ core (baseline build)\n"""', '"""fastlayers C++ core: the build for this CPU (see fastlayers._core)."""')
    return text.replace("isa: str = 'baseline'", "isa: str")


def main() -> int:
    text = generate()
    if "--check" in sys.argv[1:]:
        if TARGET.read_text() != text:
            print(f"{TARGET} is stale: run scripts/gen_stubs.py", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text)
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
