"""The book's numerical gradient (common/gradient.py): central differences, h = 1e-4, x perturbed in place."""

from __future__ import annotations

from typing import Callable, SupportsFloat

import numpy as np
from numpy.typing import NDArray

from .typing import FloatArray

__all__ = ["numerical_gradient"]


def numerical_gradient(
    f: Callable[[FloatArray], SupportsFloat], x: FloatArray, h: float = 1e-4
) -> NDArray[np.float64]:
    """Central-difference gradient of the scalar ``f(x)`` with respect to every element of ``x``.

    Like the book, each element of ``x`` is perturbed in place to ``x + h`` and ``x - h`` (and restored),
    so ``f`` may ignore its argument and read arrays that share ``x``'s memory (a network's weights).
    ``x`` must be a writable float32 or float64 ndarray. The result is float64 and is computed in
    float64: for float32 ``x`` the difference is divided by the step actually stored, not by ``2 h``.

    >>> numerical_gradient(lambda x: float(np.sum(x ** 2)), np.array([3.0, 4.0]))
    array([6., 8.])
    """
    if not isinstance(x, np.ndarray):
        raise TypeError(
            f"numerical_gradient: x must be a float32 or float64 numpy.ndarray (it is perturbed in place), "
            f"got {type(x).__name__}"
        )
    if x.dtype not in (np.float32, np.float64):
        raise TypeError(
            f"numerical_gradient: x must have dtype float32 or float64 (it is perturbed in place by h = {h}), "
            f"got {x.dtype}"
        )
    if not x.flags.writeable:
        raise ValueError("numerical_gradient: x is read-only; it must be writable (it is perturbed in place)")
    if not (np.isfinite(h) and h > 0):
        raise ValueError(f"numerical_gradient: h must be a finite number > 0, got {h!r}")
    grad = np.zeros(x.shape, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index", "refs_ok"], op_flags=["readwrite"])
    while not it.finished:
        idx = it.multi_index
        tmp = x[idx]
        x[idx] = float(tmp) + h
        hi = float(x[idx])
        fxh1 = float(f(x))
        x[idx] = float(tmp) - h
        lo = float(x[idx])
        fxh2 = float(f(x))
        x[idx] = tmp
        # The book's 2 * h in float64; in float32 the step really stored (x + h rounds).
        step = 2 * h if x.dtype == np.float64 else hi - lo
        grad[idx] = (fxh1 - fxh2) / step if step != 0 else np.nan
        it.iternext()
    return grad
