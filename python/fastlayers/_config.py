"""fastlayers.show_config(): how this fastlayers was built and what it runs on."""

from __future__ import annotations

import platform
import sys
from typing import Any, TextIO

import numpy as np

from . import _core, _cpu, _isa

# _OPENMP (yyyymm of the specification) -> OpenMP version.
_OPENMP_VERSIONS = {
    200203: "2.0",  # MSVC
    200505: "2.5",
    200805: "3.0",
    201107: "3.1",
    201307: "4.0",
    201511: "4.5",
    201811: "5.0",
    202011: "5.1",
    202111: "5.2",
    202411: "6.0",
}


def config() -> dict[str, Any]:
    """The facts show_config() prints, as a dict."""
    from . import __version__

    core = _core._build_info()
    build = _cpu.build_info()
    openmp = core["openmp"]
    return {
        "fastlayers": __version__,
        "compiler": build["compiler"],
        "build_type": build["build_type"],
        "build_flags": dict(build["flags"]),
        "cpu": platform.machine(),
        "cpu_features": [name for name, ok in _cpu.cpu_features().items() if ok],
        "isas_available": _isa.runnable(build["flags"]),
        "isa": _core.isa,
        "eigen": core["eigen_version"],
        "openmp": None if openmp is None else f"{_OPENMP_VERSIONS.get(openmp, '?')} (_OPENMP {openmp})",
        "threads": _core.get_num_threads(),
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def show_config(file: TextIO | None = None) -> None:
    """Prints how fastlayers was built and what it runs on (to stdout, or to ``file``).

    The compiler and its flags for each core build (one per instruction set), the instruction
    sets this CPU has and the core in use, the Eigen and OpenMP versions, the threads the kernels
    may use, and the NumPy, Python and fastlayers versions. Paste it into bug reports.

    >>> show_config()  # doctest: +ELLIPSIS
    fastlayers ...
      compiler:        ...
    """
    c = config()
    out = file if file is not None else sys.stdout
    lines = [
        f"fastlayers {c['fastlayers']}",
        f"  compiler:        {c['compiler']} ({c['build_type'] or 'no build type'})",
        "  core builds:",
        *(f"    {isa + ':':<13} {flags}" for isa, flags in c["build_flags"].items()),
        f"  CPU:             {c['cpu']}, {' '.join(c['cpu_features']) or 'no extensions detected'}",
        f"  runnable cores:  {', '.join(c['isas_available'])}",
        f"  core in use:     {c['isa']} (FASTLAYERS_ISA=baseline forces the baseline)",
        f"  Eigen:           {c['eigen']}",
        f"  OpenMP:          {c['openmp'] or 'not used'}",
        f"  threads:         {c['threads']} (fastlayers.set_num_threads, OMP_NUM_THREADS, threadpoolctl)",
        f"  NumPy:           {c['numpy']}",
        f"  Python:          {c['python']}",
    ]
    print("\n".join(lines), file=out)
