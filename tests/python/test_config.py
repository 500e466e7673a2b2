"""fastlayers.show_config() describes the build and the machine truthfully."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import fastlayers as fl
import numpy as np
from fastlayers import _config, _cpu


def shown() -> str:
    buf = io.StringIO()
    fl.show_config(file=buf)
    return buf.getvalue()


def field(text: str, name: str) -> str:
    m = re.search(rf"^  {re.escape(name)}:\s+(.*)$", text, re.M)
    assert m, f"no {name!r} line in:\n{text}"
    return m.group(1)


def test_show_config_prints_every_field():
    text = shown()
    assert text.startswith(f"fastlayers {fl.__version__}\n")
    assert re.match(r"(GNU|Clang|AppleClang|MSVC|IntelLLVM) \d+\.\d+", field(text, "compiler")), text
    assert field(text, "core in use").split()[0] == fl.isa
    assert re.fullmatch(r"3\.\d+\.\d+", field(text, "Eigen")), text
    assert field(text, "NumPy") == np.__version__
    assert field(text, "threads").split()[0] == str(fl.get_num_threads())
    assert re.match(r"\d\.\d \(_OPENMP 20\d{4}\)", field(text, "OpenMP")), text
    # one flags line per core build, the AVX2 one with its -m flags
    flags = _cpu.build_info()["flags"]
    assert "baseline" in flags
    for isa, f in flags.items():
        assert re.search(rf"^    {isa}:\s+{re.escape(f)}$", text, re.M), text
    if "avx2" in flags:
        assert "-mavx2" in flags["avx2"] and "-mfma" in flags["avx2"]
        assert "-mavx2" not in flags["baseline"] and "-mavx512f" not in flags["avx2"]
    if "avx512" in flags:
        for flag in ("-mavx2", "-mfma", "-mavx512f", "-mavx512cd", "-mavx512vl", "-mavx512dq", "-mavx512bw"):
            assert flag in flags["avx512"].split(), flag


def test_show_config_follows_the_core_in_use_and_the_cpu():
    c = _config.config()
    # the best core this CPU runs is the one loaded, unless FASTLAYERS_ISA forces one
    assert c["isa"] == fl.isa == (os.environ.get("FASTLAYERS_ISA") or c["isas_available"][0])
    if sys.platform.startswith("linux") and os.path.exists("/proc/cpuinfo"):
        cpuinfo = Path("/proc/cpuinfo").read_text().split()
        for name in ("avx2", "fma", "sse4_2", "avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw"):
            assert (name.replace("_", ".") in c["cpu_features"]) == (name in cpuinfo), name
    assert ("avx2" in c["isas_available"]) == ("avx2" in c["cpu_features"] and "fma" in c["cpu_features"])
    avx512 = ("avx2", "fma", "avx512f", "avx512cd", "avx512vl", "avx512dq", "avx512bw")
    assert ("avx512" in c["isas_available"]) == all(name in c["cpu_features"] for name in avx512)
    # fastest first: the order the loader tries them in
    order = ["avx512", "avx2", "baseline"]
    assert c["isas_available"] == sorted(c["isas_available"], key=order.index)


def test_show_config_under_forced_baseline_and_thread_settings():
    run = subprocess.run(
        [sys.executable, "-c", "import fastlayers; fastlayers.show_config()"],
        capture_output=True,
        text=True,
        env={**os.environ, "FASTLAYERS_ISA": "baseline", "OMP_NUM_THREADS": "3"},
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert field(run.stdout, "core in use").startswith("baseline")
    assert field(run.stdout, "threads").startswith("3 ")
