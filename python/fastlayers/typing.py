"""Type aliases for code that uses fastlayers; the stubs of the layers use the same types.

``FloatArray`` is what every layer returns, ``numpy.typing.NDArray[np.float32 | np.float64]``;
inputs are ``numpy.typing.ArrayLike`` (ndarrays, PyTorch CPU tensors, memoryviews, lists, ...).

>>> import numpy as np
>>> from fastlayers.typing import FloatArray
>>> def double(x: FloatArray) -> FloatArray:
...     return 2 * x
>>> double(np.ones(2))
array([2., 2.])
"""

from __future__ import annotations

from typing import Union

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["ArrayLike", "BoolArray", "FloatArray"]

#: An ndarray of float32 or float64: what the layers return and what Affine's W and b must be.
FloatArray = NDArray[Union[np.float32, np.float64]]
#: Relu's mask.
BoolArray = NDArray[np.bool_]
