"""The instruction-set builds: the baseline one holds no AVX code, the AVX2 one no AVX-512, and all
give the same results."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fastlayers as fl
from fastlayers import _cpu, _isa

PKG = Path(fl.__file__).parent
# AVX and later instructions are VEX/EVEX encoded: their mnemonics start with "v" in objdump's
# AT&T output (vmovaps, vfmadd231ps, vzeroupper ...); SSE2 has none.
VEX = re.compile(r"^\s*[0-9a-f]+:\s+v[a-z0-9]+\s", re.MULTILINE)


def _module_file(isa: str) -> Path:
    files = sorted(PKG.glob(f"_core_{isa}.*"))
    if not files:
        pytest.skip(f"no _core_{isa} build in {PKG}")
    return files[0]


def _disassemble(path: Path) -> str:
    objdump = shutil.which("objdump")
    if objdump is None:
        pytest.skip("objdump (binutils) is not installed")
    return subprocess.run([objdump, "-d", "--no-show-raw-insn", str(path)], check=True, capture_output=True, text=True).stdout


@pytest.mark.skipif(os.uname().machine not in ("x86_64", "AMD64"), reason="x86-64 only")
def test_baseline_build_holds_no_avx_instructions() -> None:
    text = _disassemble(_module_file("baseline"))
    found = VEX.findall(text)
    assert found == [], f"{len(found)} VEX-encoded instructions in the baseline build, e.g. {found[:3]}"


@pytest.mark.skipif(os.uname().machine not in ("x86_64", "AMD64"), reason="x86-64 only")
def test_avx2_build_holds_avx2_code_and_no_avx512() -> None:
    text = _disassemble(_module_file("avx2"))
    assert "%ymm" in text
    assert re.search(r"\svfmadd", text), "no FMA instruction in the AVX2 build"
    # AVX-512 code names zmm or mask registers; the AVX2 build must run on CPUs without them
    found = re.findall(r"^.*%(?:zmm\d+|k[1-7])\b.*$", text, re.MULTILINE)
    assert found == [], f"{len(found)} AVX-512 instructions in the AVX2 build, e.g. {found[:3]}"


@pytest.mark.skipif(os.uname().machine not in ("x86_64", "AMD64"), reason="x86-64 only")
def test_avx512_build_holds_avx512_code() -> None:
    text = _disassemble(_module_file("avx512"))
    assert "%zmm" in text
    assert re.search(r"\svfmadd\w+\s+%zmm", text), "no 512-bit FMA in the AVX-512 build"


def test_this_cpu_gets_the_fastest_build() -> None:
    forced = os.environ.get("FASTLAYERS_ISA")
    fastest = "avx512" if _cpu.has_avx512() else "avx2" if _cpu.has_avx2_fma() else "baseline"
    assert fl.isa == (forced or fastest)


def test_runnable_builds_follow_the_cpu_fastest_first() -> None:
    assert _isa.runnable() == [isa for isa in ("avx512", "avx2", "baseline") if _isa.cpu_runs(isa)]
    assert _isa.runnable()[-1] == "baseline" and _isa.cpu_runs("baseline")
    assert _isa.cpu_runs("avx2") == _cpu.has_avx2_fma() and _isa.cpu_runs("avx512") == _cpu.has_avx512()
    # only the builds asked about (a wheel may lack some), still fastest first
    assert _isa.runnable(["baseline", "avx2"]) == (["avx2", "baseline"] if _cpu.has_avx2_fma() else ["baseline"])
    assert _isa.runnable([]) == []
    with pytest.raises(ValueError, match="isa must be one of .* got 'sse9'"):
        _isa.cpu_runs("sse9")


_PROBE = """
import numpy as np, fastlayers as fl
rng = np.random.default_rng(7)
x = rng.standard_normal((37, 300)); W = rng.standard_normal((300, 21)); b = rng.standard_normal(21)
aff, sig, swl = fl.Affine(W, b), fl.Sigmoid(), fl.SoftmaxWithLoss()
loss = swl.forward(sig.forward(aff.forward(x)), rng.integers(0, 21, 37))
dx = aff.backward(sig.backward(swl.backward()))
np.savez(OUT, isa=fl.isa, loss=loss, dx=dx, dW=aff.dW, y=swl.y)
"""


def _run_probe(probe: str, isa: str, tmp_path: Path) -> dict[str, np.ndarray]:
    """Runs probe in a fresh interpreter on the core build isa; returns the arrays it saved to OUT."""
    out = tmp_path / f"{isa}.npz"
    env = dict(os.environ, FASTLAYERS_ISA=isa)
    subprocess.run([sys.executable, "-c", f"OUT = {str(out)!r}\n" + probe], check=True, env=env)
    with np.load(out) as saved:
        return dict(saved)


@pytest.mark.parametrize("isa", ["avx2", "avx512"])
def test_builds_agree(isa: str, tmp_path: Path) -> None:
    if isa == "avx2" and not _cpu.has_avx2_fma():
        pytest.skip("this CPU has no AVX2/FMA")
    if isa == "avx512" and not _cpu.has_avx512():
        pytest.skip("this CPU has no AVX-512 (F, CD, VL, DQ, BW)")
    base, other = _run_probe(_PROBE, "baseline", tmp_path), _run_probe(_PROBE, isa, tmp_path)
    assert str(base["isa"]) == "baseline" and str(other["isa"]) == isa
    for key in ("loss", "dx", "dW", "y"):
        np.testing.assert_allclose(other[key], base[key], rtol=1e-12, atol=1e-15, err_msg=key)


_SIGMOID_PROBE = """
import numpy as np, fastlayers as fl
rng = np.random.default_rng(11)
out = {"isa": fl.isa}
for dtype in ("float32", "float64"):
    x = rng.uniform(-40, 40, 70001).astype(dtype)
    x[:9] = [0.0, -0.0, 1000.0, -1000.0, -100.0, np.inf, -np.inf, np.nan, 1e-30]
    for n in (1, 7, 33, 5000, 70000):  # tails of every length, vector and unaligned starts
        out[f"{dtype}_{n}"] = fl.Sigmoid().forward(x[1 : n + 1])
    out[f"{dtype}_big"] = fl.Sigmoid().forward(x.reshape(1, -1).repeat(40, axis=0))  # streaming stores
np.savez(OUT, **out)
"""


@pytest.mark.skipif(not _cpu.has_avx512(), reason="this CPU has no AVX-512 (F, CD, VL, DQ, BW)")
def test_avx512_sigmoid_is_the_avx2_one_bit_for_bit(tmp_path: Path) -> None:
    # The avx512 build runs Sigmoid's exp on 512-bit vectors with the operations the avx2 build does on
    # 256-bit ones: the same bits in every lane, wherever an element sits.
    a, b = _run_probe(_SIGMOID_PROBE, "avx2", tmp_path), _run_probe(_SIGMOID_PROBE, "avx512", tmp_path)
    assert str(a["isa"]) == "avx2" and str(b["isa"]) == "avx512"
    for key in a:
        if key != "isa":
            assert a[key].tobytes() == b[key].tobytes(), key


def test_unknown_isa_is_a_clear_import_error() -> None:
    env = dict(os.environ, FASTLAYERS_ISA="avx1024")
    run = subprocess.run([sys.executable, "-c", "import fastlayers"], env=env, capture_output=True, text=True)
    assert run.returncode != 0
    assert "FASTLAYERS_ISA must be one of" in run.stderr


@pytest.mark.skipif(os.uname().machine not in ("x86_64", "AMD64"), reason="x86-64 only")
def test_forcing_a_build_this_cpu_lacks_is_a_clear_import_error() -> None:
    lacking = "avx512" if not _cpu.has_avx512() else None
    if lacking is None:
        pytest.skip("this CPU runs every build")
    env = dict(os.environ, FASTLAYERS_ISA=lacking)
    run = subprocess.run([sys.executable, "-c", "import fastlayers"], env=env, capture_output=True, text=True)
    assert run.returncode != 0
    assert f"FASTLAYERS_ISA={lacking} but this CPU supports only" in run.stderr
