"""Writes python/fastlayers/_core.pyi and _cpu.pyi from the built extensions (pybind11-stubgen).

The instruction-set builds bind the same API; the stub is made from the baseline one and
describes ``fastlayers._core``, which re-exports whichever build the CPU runs.

The bindings take any array-like object (``py::handle``) and return plain ndarrays, which
pybind11-stubgen can only write as ``typing.Any`` and ``numpy.ndarray[typing.Any, ...]``. The
table ``TYPES`` below gives those the NumPy types of the API (``numpy.typing.ArrayLike`` in,
``NDArray[float32 | float64]`` out); the step is deterministic, and it fails when a public
signature is left with ``typing.Any`` (a new binding: add it to ``TYPES``) or when an entry of
``TYPES`` no longer matches anything.

Usage: .venv/bin/python scripts/gen_stubs.py [--check]   (--check: fail if the file is stale)
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "python" / "fastlayers"

ARRAY_IN = "numpy.typing.ArrayLike"
FLOAT_ARRAY = "numpy.typing.NDArray[numpy.float32 | numpy.float64]"
STATE = f"dict[typing.Any, {FLOAT_ARRAY}] | None"  # an optimizer's per-key state
PARAMS = f"typing.Mapping[typing.Any, {FLOAT_ARRAY}]"
OUT = f"{FLOAT_ARRAY} | None"  # an out= argument

# (class or "" for the module, function or property) -> {parameter or "return": annotation}.
# A property's setter takes its getter's "return" type.
TYPES: dict[tuple[str, str], dict[str, str]] = {
    ("Relu", "forward"): {"x": ARRAY_IN, "out": OUT, "return": FLOAT_ARRAY},
    ("Relu", "backward"): {"dout": ARRAY_IN, "out": OUT, "return": FLOAT_ARRAY},
    ("Relu", "mask"): {"return": "numpy.typing.NDArray[numpy.bool_] | None"},
    ("Sigmoid", "forward"): {"x": ARRAY_IN, "out": OUT, "return": FLOAT_ARRAY},
    ("Sigmoid", "backward"): {"dout": ARRAY_IN, "out": OUT, "return": FLOAT_ARRAY},
    ("Sigmoid", "out"): {"return": f"{FLOAT_ARRAY} | None"},
    ("Affine", "__init__"): {"W": FLOAT_ARRAY, "b": FLOAT_ARRAY},
    ("Affine", "forward"): {"x": ARRAY_IN, "out": OUT, "return": FLOAT_ARRAY},
    ("Affine", "backward"): {"dout": ARRAY_IN, "out": OUT, "return": FLOAT_ARRAY},
    ("Affine", "_backward_params"): {"dout": ARRAY_IN},
    ("Affine", "W"): {"return": FLOAT_ARRAY},
    ("Affine", "b"): {"return": FLOAT_ARRAY},
    ("Affine", "x"): {"return": f"{FLOAT_ARRAY} | None"},
    ("Affine", "dW"): {"return": f"{FLOAT_ARRAY} | None"},
    ("Affine", "db"): {"return": f"{FLOAT_ARRAY} | None"},
    ("Affine", "original_x_shape"): {"return": "tuple[int, ...] | None"},
    ("SoftmaxWithLoss", "forward"): {"x": ARRAY_IN, "t": ARRAY_IN},
    ("SoftmaxWithLoss", "backward"): {"dout": "float", "out": OUT, "return": FLOAT_ARRAY},
    ("SoftmaxWithLoss", "loss"): {"return": "float | None"},
    ("SoftmaxWithLoss", "y"): {"return": f"{FLOAT_ARRAY} | None"},
    ("SoftmaxWithLoss", "t"): {"return": "numpy.typing.NDArray[typing.Any] | None"},
    ("Optimizer", "update"): {"params": PARAMS, "grads": PARAMS},
    ("Momentum", "v"): {"return": STATE},
    ("AdaGrad", "h"): {"return": STATE},
    ("Adam", "m"): {"return": STATE},
    ("Adam", "v"): {"return": STATE},
    ("", "softmax"): {"x": ARRAY_IN, "out": OUT, "return": FLOAT_ARRAY},
    ("", "cross_entropy_error"): {"y": ARRAY_IN, "t": ARRAY_IN},
    ("", "_build_info"): {"return": "dict[str, typing.Any]"},
    ("", "_predict"): {"return": FLOAT_ARRAY},
    ("_NetWorkspace", "grads"): {"return": f"list[{FLOAT_ARRAY}]"},
    ("", "cpu_features"): {"return": "dict[str, bool]"},
    ("", "build_info"): {"return": "dict[str, typing.Any]"},
    # pickling, in every class that has it ("*")
    ("*", "__getstate__"): {"return": "tuple[typing.Any, ...]"},
    ("*", "__setstate__"): {"arg0": "tuple[typing.Any, ...]"},
    ("*", "__reduce_ex__"): {"arg0": "typing.SupportsIndex", "return": "tuple[typing.Any, ...]"},
}

_CLASS = re.compile(r"^class (\w+)")
_DEF = re.compile(r"^(\s*)def (\w+)\((.*)\) -> (.*):$")
_SETTER = re.compile(r"^\s*@(\w+)\.setter$")


def _split_params(params: str) -> list[str]:
    """Splits "a: X[b, c], d: Y = 1" at the top-level commas."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(params):
        depth += ch in "[("
        depth -= ch in "])"
        if ch == "," and depth == 0:
            out.append(params[start:i].strip())
            start = i + 1
    if params.strip():
        out.append(params[start:].strip())
    return out


def annotate(text: str, used: set[tuple[str, str]]) -> str:
    """Gives the stub's signatures the NumPy types of TYPES (see the module docstring); adds the
    entries it applied to ``used``."""
    unmapped: list[str] = []
    lines = text.split("\n")
    owner, setter_of = "", None
    for i, line in enumerate(lines):
        if m := _CLASS.match(line):
            owner = m.group(1)
            continue
        if m := _SETTER.match(line):
            setter_of = m.group(1)
            continue
        m = _DEF.match(line)
        if not m:
            continue
        indent, name, params, ret = m.groups()
        cls = owner if indent else ""
        key = (cls, setter_of or name)
        if key not in TYPES and cls and ("*", key[1]) in TYPES:
            key = ("*", key[1])
        table = TYPES.get(key, {})
        if table:
            used.add(key)
        new_params = []
        for p in _split_params(params):
            pname, _, rest = p.partition(":")
            ann, eq, default = rest.partition("=")
            pname, ann = pname.strip(), ann.strip()
            want = table.get("return" if setter_of and pname != "self" else pname)
            if want and pname != "self":
                ann = want
            new_params.append(f"{pname}: {ann}" + (f" = {default.strip()}" if eq else "") if ann else pname)
        if not setter_of and "return" in table:
            ret = table["return"]
        setter_of = None
        lines[i] = f"{indent}def {name}({', '.join(new_params)}) -> {ret}:"
        public = not cls.startswith("_") and (not name.startswith("_") or name == "__init__")
        # typing.Any is fine as a dict key or an array's dtype, nowhere else in the public API.
        rest = re.sub(r"(NDArray\[|dict\[|Mapping\[|dict\[str, )typing\.Any", "", lines[i])
        if public and ("typing.Any" in rest or "numpy.ndarray[" in rest):
            unmapped.append(f"{cls + '.' if cls else ''}{name}: {lines[i].strip()}")
    if unmapped:
        listing = "\n  ".join(unmapped)
        raise SystemExit(f"gen_stubs: public signatures without NumPy types; add them to TYPES:\n  {listing}")
    text = "\n".join(lines)
    # the imports the new annotations need, after stubgen's own
    head, sep, body = text.partition("from __future__ import annotations\n")
    imports = [m for m in ("numpy", "numpy.typing", "typing") if f"{m}." in body and f"import {m}\n" not in body]
    return head + sep + "".join(f"import {m}\n" for m in imports) + body


def stubgen(module: str) -> str:
    with tempfile.TemporaryDirectory() as out:
        # Only the baseline build loaded, with its own names (see fastlayers/_core.py).
        env = dict(os.environ, FASTLAYERS_ISA="baseline", FASTLAYERS_STUBGEN="1")
        subprocess.run(
            [sys.executable, "-m", "pybind11_stubgen", f"fastlayers.{module}", "-o", out, "--numpy-array-use-type-var"],
            check=True,
            capture_output=True,
            env=env,
        )
        return (Path(out) / "fastlayers" / f"{module}.pyi").read_text()


def generate() -> dict[str, str]:
    """{stub file name: its text}."""
    used: set[tuple[str, str]] = set()
    core = stubgen("_core_baseline")
    core = core.replace(
        '"""\nfastlayers C++ core (baseline build)\n"""',
        '"""fastlayers C++ core: the build for this CPU (see fastlayers._core)."""',
    )
    stubs = {
        "_core.pyi": annotate(core.replace("isa: str = 'baseline'", "isa: str"), used),
        "_cpu.pyi": annotate(stubgen("_cpu"), used),
    }
    if stale := set(TYPES) - used:
        raise SystemExit(f"gen_stubs: TYPES entries that match no signature: {sorted(stale)}")
    return stubs


def main() -> int:
    stubs = generate()
    if "--check" in sys.argv[1:]:
        stale = [name for name, text in stubs.items() if (PACKAGE / name).read_text() != text]
        if stale:
            print(f"{', '.join(stale)} in {PACKAGE} stale: run scripts/gen_stubs.py", file=sys.stderr)
            return 1
        return 0
    for name, text in stubs.items():
        (PACKAGE / name).write_text(text)
        print(f"wrote {PACKAGE / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
