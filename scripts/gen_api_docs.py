"""Writes docs/api.md, the API reference, from fastlayers' docstrings and type stubs.

Signatures of the C++ classes and functions come from python/fastlayers/_core.pyi (their NumPy
types), those of the Python ones from the code. tests/python/test_docs.py checks the file is current.
Usage: .venv/bin/python scripts/gen_api_docs.py [--check]
"""

from __future__ import annotations

import ast
import inspect
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "docs" / "api.md"
STUB = ROOT / "python" / "fastlayers" / "_core.pyi"


def stub_signatures() -> dict[str, str]:
    """{"Affine.forward": "(self, x: ArrayLike) -> ...", "softmax": ...} from the stub."""
    out: dict[str, str] = {}

    def sig(fn: ast.FunctionDef) -> str:
        text = f"({ast.unparse(fn.args)})"
        if fn.returns is not None:
            text += f" -> {ast.unparse(fn.returns)}"
        return text.replace("numpy.typing.", "").replace("numpy.", "np.").replace("typing.", "")

    for node in ast.parse(STUB.read_text()).body:
        if isinstance(node, ast.FunctionDef):
            out[node.name] = sig(node)
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    is_setter = any(isinstance(d, ast.Attribute) and d.attr == "setter" for d in item.decorator_list)
                    if not is_setter:
                        out[f"{node.name}.{item.name}"] = sig(item)
    return out


def signature(qualname: str, obj: Any, stubs: dict[str, str]) -> str:
    if qualname in stubs:
        return stubs[qualname]
    if isinstance(obj, property):
        obj = obj.fget
    if isinstance(obj, (classmethod, staticmethod)):
        obj = obj.__func__
    try:
        text = str(inspect.signature(obj))
    except (TypeError, ValueError):
        return "(...)"
    # the Python modules' annotations are strings (from __future__ import annotations): unquote them
    text = re.sub(r"<class '([\w.]+)'>", r"\1", text)
    return re.sub(r"(: |-> )'([^']*)'", r"\1\2", text)


def section(level: str, title: str, doc: str | None) -> list[str]:
    lines = [f"{level} {title}", ""]
    if doc:
        doc = inspect.cleandoc(doc)
        first, _, rest = doc.partition("\n")
        # pybind11 starts a function's docstring with its own signature line: the stub's is shown instead
        if re.match(r"^\w+\(.*\) -> \S.*$", first):
            doc = rest.strip()
        if doc:
            lines += ["```text", doc, "```", ""]
    return lines


def members(cls: type) -> list[tuple[str, Any]]:
    """The public methods and properties cls defines (inherited ones are under their base's heading)."""
    out = []
    for name, value in vars(cls).items():
        if name.startswith("_") and name != "__init__":
            continue
        if callable(value) or isinstance(value, (property, classmethod, staticmethod)):
            out.append((name, value))
    return out


# The order of the reference: layers, functions, networks, optimizers, settings; then the rest of __all__.
ORDER = [
    "Relu",
    "Sigmoid",
    "Affine",
    "SoftmaxWithLoss",
    "softmax",
    "cross_entropy_error",
    "Sequential",
    "TwoLayerNet",
    "numerical_gradient",
    "Optimizer",
    "SGD",
    "Momentum",
    "AdaGrad",
    "Adam",
    "set_num_threads",
    "get_num_threads",
    "isa",
    "show_config",
    "__version__",
    "datasets",
    "typing",
]


def render() -> str:
    import fastlayers as fl

    stubs = stub_signatures()
    lines = [
        "# fastlayers API reference",
        "",
        "Generated from the docstrings (what `help()` shows) and the type stubs by",
        "`python scripts/gen_api_docs.py`; `tests/python/test_docs.py` keeps it current and runs every",
        "example below as a doctest. Types: `ArrayLike` is `numpy.typing.ArrayLike` (ndarrays, PyTorch CPU",
        "tensors, memoryviews, anything with `__array__`); `NDArray[np.float32 | np.float64]` is",
        "`fastlayers.typing.FloatArray`.",
        "",
    ]
    for name in [n for n in ORDER if hasattr(fl, n)] + [n for n in fl.__all__ if n not in ORDER]:
        obj = getattr(fl, name)
        if name == "__version__":
            lines += ["## `fl.__version__`", "", f"The version string, `{fl.__version__!r}` in this build.", ""]
            continue
        if inspect.ismodule(obj):
            lines += section("##", f"module `fl.{name}`", obj.__doc__)
            for sub in getattr(obj, "__all__", []):
                member = getattr(obj, sub)
                if callable(member) and not inspect.isclass(member):
                    lines += section("###", f"`fl.{name}.{sub}{signature(sub, member, {})}`", member.__doc__)
                elif inspect.isclass(member):
                    lines += section("###", f"class `fl.{name}.{sub}`", member.__doc__)
            continue
        if isinstance(obj, str):
            isa = "the instruction set of the core in use: 'avx512', 'avx2' or 'baseline'"
            what = isa if name == "isa" else "a string"
            lines += [f"## `fl.{name}`", "", f"`str`: {what}", ""]
            continue
        if inspect.isclass(obj):
            bases = [b.__name__ for b in obj.__bases__ if b.__module__.split(".")[0] == "fastlayers"]
            title = f"class `fl.{name}`" + (f" ({', '.join(bases)})" if bases else "")
            lines += section("##", title, obj.__doc__)
            for mname, member in members(obj):
                qual = f"{name}.{mname}"
                if mname == "__init__":
                    args = signature(qual, member, stubs).replace("(self, ", "(").replace("(self)", "()")
                    if "*args" not in args:  # a C++ base class that Python does not construct
                        lines += [f"### `fl.{name}{args.removesuffix(' -> None')}`", ""]
                    continue
                kind = "property " if isinstance(member, property) or type(member).__name__ == "property" else ""
                doc = member.__doc__ if not kind else (member.__doc__ or "")
                prefix = "classmethod " if isinstance(member, classmethod) else kind
                lines += section("###", f"{prefix}`{qual}{signature(qual, member, stubs)}`", doc)
            continue
        lines += section("##", f"`fl.{name}{signature(name, obj, stubs)}`", obj.__doc__)
    return "\n".join(lines).rstrip() + "\n"


def main() -> int:
    text = render()
    if "--check" in sys.argv[1:]:
        if not TARGET.exists() or TARGET.read_text() != text:
            print(f"{TARGET} is stale: run scripts/gen_api_docs.py", file=sys.stderr)
            return 1
        return 0
    TARGET.parent.mkdir(exist_ok=True)
    TARGET.write_text(text)
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
