"""fastlayers: the backprop layers of "Deep Learning from Scratch" (chapter 5), in C++.

>>> import numpy as np, fastlayers as fl
>>> swl = fl.SoftmaxWithLoss()
>>> round(swl.forward(np.log(np.array([[0.3, 0.2, 0.5]])), np.array([[0, 1, 0]])), 6)
1.609438
"""

from __future__ import annotations

from . import datasets
from . import typing as typing  # public submodule, kept out of __all__
from ._config import show_config
from ._core import (
    SGD,
    AdaGrad,
    Adam,
    Affine,
    Momentum,
    Optimizer,
    Relu,
    Sigmoid,
    SoftmaxWithLoss,
    cross_entropy_error,
    get_num_threads,
    isa,
    set_num_threads,
    softmax,
)
from .gradient import numerical_gradient
from .network import Sequential, TwoLayerNet

__version__ = "0.1.0"

__all__ = [
    "SGD",
    "AdaGrad",
    "Adam",
    "Affine",
    "Momentum",
    "Optimizer",
    "Relu",
    "Sequential",
    "Sigmoid",
    "SoftmaxWithLoss",
    "TwoLayerNet",
    "__version__",
    "cross_entropy_error",
    "datasets",
    "get_num_threads",
    "isa",
    "numerical_gradient",
    "set_num_threads",
    "show_config",
    "softmax",
]
# fastlayers.typing is imported but not in __all__: `from fastlayers import *` must not shadow typing.
