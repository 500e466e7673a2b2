"""Loads the fastest build of the C++ core this CPU can run.

The wheel carries the core three times on x86-64: ``_core_avx512`` (AVX-512 F/CD/VL/DQ/BW, with
AVX2 + FMA), ``_core_avx2`` (AVX2 + FMA) and ``_core_baseline`` (the compiler's default for the
architecture, SSE2 on x86-64). The environment variable ``FASTLAYERS_ISA`` (``baseline``, ``avx2``
or ``avx512``) forces one.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

from . import _isa


def _load() -> ModuleType:
    forced = os.environ.get("FASTLAYERS_ISA", "").strip().lower()
    if forced and forced not in _isa.ORDER:
        raise ImportError(f"FASTLAYERS_ISA must be one of {_isa.ORDER}, got {forced!r}")
    available = _isa.runnable()
    if forced and forced not in available:
        raise ImportError(f"FASTLAYERS_ISA={forced} but this CPU supports only {available}")
    for isa in [forced] if forced else available:
        try:
            return importlib.import_module(f"fastlayers._core_{isa}")
        except ImportError:
            if forced or isa == "baseline":
                raise
    raise ImportError("no fastlayers core could be loaded")  # pragma: no cover


_impl = _load()

isa: str = _impl.isa
Relu = _impl.Relu
Sigmoid = _impl.Sigmoid
Affine = _impl.Affine
SoftmaxWithLoss = _impl.SoftmaxWithLoss
softmax = _impl.softmax
cross_entropy_error = _impl.cross_entropy_error
set_num_threads = _impl.set_num_threads
get_num_threads = _impl.get_num_threads
Optimizer = _impl.Optimizer
SGD = _impl.SGD
Momentum = _impl.Momentum
AdaGrad = _impl.AdaGrad
Adam = _impl.Adam
_NetWorkspace = _impl._NetWorkspace
_train_step = _impl._train_step
_predict = _impl._predict
_build_info = _impl._build_info

# The public names live in `fastlayers` (repr, pickling), whichever build is loaded. Not while
# scripts/gen_stubs.py runs pybind11-stubgen, which must see the extension's own names.
if not os.environ.get("FASTLAYERS_STUBGEN"):
    for _cls in (Relu, Sigmoid, Affine, SoftmaxWithLoss, Optimizer, SGD, Momentum, AdaGrad, Adam):
        _cls.__module__ = "fastlayers"
    for _fn in (softmax, cross_entropy_error, set_num_threads, get_num_threads):
        try:
            _fn.__module__ = "fastlayers"
        except (AttributeError, TypeError):  # pragma: no cover - builtins may refuse
            pass
