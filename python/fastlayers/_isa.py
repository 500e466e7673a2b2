"""The core builds (one per instruction set), fastest first, and which of them this CPU runs.

One place for the order and the CPU checks, used by `_core` (which build to load) and by
`show_config()` (which builds are runnable).
"""

from __future__ import annotations

from collections.abc import Collection

from . import _cpu

# Fastest first: the order `_core` tries them in.
ORDER = ("avx512", "avx2", "baseline")


def cpu_runs(isa: str) -> bool:
    """True when this CPU and its OS support every instruction the build ``isa`` may use."""
    if isa == "avx512":
        return _cpu.has_avx512()
    if isa == "avx2":
        return _cpu.has_avx2_fma()
    if isa == "baseline":
        return True
    raise ValueError(f"isa must be one of {ORDER}, got {isa!r}")


def runnable(builds: Collection[str] = ORDER) -> list[str]:
    """The builds among ``builds`` this CPU runs, fastest first."""
    return [isa for isa in ORDER if isa in builds and cpu_runs(isa)]
