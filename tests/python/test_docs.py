"""Every public class, method and function has a docstring (what help() shows) with an example, the
examples run as doctests, and docs/api.md is generated from them (scripts/gen_api_docs.py)."""

from __future__ import annotations

import doctest
import inspect
import subprocess
import sys
from pathlib import Path

import fastlayers as fl
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


def public_objects():
    """(qualified name, object) of everything fastlayers exports, with the methods and properties of its
    classes (those fastlayers defines) and the public functions of its submodules."""
    for name in [*fl.__all__, "typing"]:  # typing: a public submodule, not in __all__
        obj = getattr(fl, name)
        if isinstance(obj, str):
            continue
        yield f"fastlayers.{name}", obj
        if inspect.ismodule(obj):
            for sub in obj.__all__:
                member = getattr(obj, sub)
                if callable(member) and getattr(member, "__module__", "").startswith("fastlayers"):
                    yield f"fastlayers.{name}.{sub}", member
        elif inspect.isclass(obj):
            for mname, member in vars(obj).items():
                if mname.startswith("_"):
                    continue
                yield f"fastlayers.{name}.{mname}", member


PUBLIC = list(public_objects())
# The classes and functions fastlayers exports each show a short example; methods and properties
# that state a formula may lean on their class's example. Not: the optimizers' abstract base (its
# update method has one) and the datasets module (its loaders read files).
NO_EXAMPLE = {"fastlayers.Optimizer", "fastlayers.datasets"}
NEEDS_EXAMPLE = [(q, o) for q, o in PUBLIC if q.count(".") == 1 and q not in NO_EXAMPLE]


def test_the_api_is_what_is_documented():
    names = {q for q, _ in PUBLIC}
    for expected in ("fastlayers.Affine.forward", "fastlayers.Affine.dW", "fastlayers.SGD", "fastlayers.show_config",
                     "fastlayers.Sequential.train_step", "fastlayers.datasets.load_mnist"):
        assert expected in names


@pytest.mark.parametrize("qualname,obj", PUBLIC, ids=[q for q, _ in PUBLIC])
def test_public_object_has_a_docstring(qualname, obj):
    doc = inspect.getdoc(obj)
    assert doc and len(doc.strip()) > 20, f"{qualname} has no docstring"


@pytest.mark.parametrize("qualname,obj", NEEDS_EXAMPLE, ids=[q for q, _ in NEEDS_EXAMPLE])
def test_class_and_function_docstrings_show_an_example(qualname, obj):
    assert ">>> " in (inspect.getdoc(obj) or ""), f"{qualname}: no example in its docstring"


def docstring_examples():
    parser = doctest.DocTestParser()
    globs = {"np": np, "fl": fl, **{n: getattr(fl, n) for n in fl.__all__}}
    seen = set()
    for qualname, obj in [("fastlayers", fl), *PUBLIC]:
        doc = inspect.getdoc(obj) if not isinstance(obj, property) else obj.__doc__
        if not doc or ">>>" not in doc or id(doc) in seen:
            continue
        seen.add(id(doc))
        yield parser.get_doctest(doc, dict(globs), qualname, None, 0)


EXAMPLES = list(docstring_examples())


@pytest.mark.parametrize("test", EXAMPLES, ids=[t.name for t in EXAMPLES])
def test_docstring_examples_run(test, capsys):
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    try:
        runner.run(test, out=sys.stdout.write)
    finally:
        fl.set_num_threads(0)
    result = runner.summarize(verbose=False)
    assert result.attempted > 0
    assert result.failed == 0, capsys.readouterr().out


def test_help_shows_formula_shapes_and_example():
    text = __import__("pydoc").render_doc(fl.Affine, renderer=__import__("pydoc").plaintext)
    for part in ("x @ W + b", "(N, M)", "dW = x.T @ dout", ">>> layer"):
        assert part in text, part


def test_api_reference_is_current():
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_api_docs.py"), "--check"], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    text = (ROOT / "docs" / "api.md").read_text()
    for name in fl.__all__:
        assert f"fl.{name}" in text, name
