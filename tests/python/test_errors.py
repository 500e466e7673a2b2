"""C++ exceptions reach Python as the right Python exception, never as RuntimeError or an abort.

Audit of the bindings (cpp/bindings): bad input raises TypeError/ValueError (py::type_error,
py::value_error); the only exception the core throws is std::bad_alloc (its buffers, Eigen's
GEMM blocks), which pybind11 turns into MemoryError, also when a worker thread of an OpenMP region
throws it (parallel_for_chunks rethrows in the caller; tests/cpp/test_threading.cpp); an exception
raised by Python code the bindings call (__array__, a mapping's __contains__) goes through as it
is; a failed pybind11 cast is a TypeError (module.cpp), not pybind11's RuntimeError.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import fastlayers as fl
import numpy as np
import pytest
from fastlayers import _core

# More than any address space: 2**45 float64 is 256 TiB.
HUGE = 2**45


def test_numpy_allocation_failure_is_memory_error():
    # x has N = 2**25 rows of 0 features (no memory), so out is (2**25, 2**20): 256 TiB.
    aff = fl.Affine(np.zeros((0, 2**20)), np.zeros(2**20))
    with pytest.raises(MemoryError):
        aff.forward(np.zeros((2**25, 0)))
    assert aff.x is None  # the layer is left as it was


@pytest.mark.skipif(
    bool(os.environ.get("FASTLAYERS_ASAN")),
    reason="ASan's operator new ends the process on an impossible size instead of throwing std::bad_alloc",
)
def test_cpp_bad_alloc_is_memory_error():
    # The fused forward keeps its activations in C++ buffers: a hidden layer of
    # N x H = 2**24 x 2**21 float64 cannot be allocated, and std::bad_alloc becomes MemoryError.
    # (the call behind Sequential.accuracy, which cannot take an x of 0 features)
    H, N = 2**21, 2**24
    W1, b1 = np.zeros((0, H)), np.zeros(H)
    W2, b2 = np.zeros((H, 2)), np.zeros(2)
    layers = [("affine", W1, b1, "W1", "b1"), ("relu",), ("affine", W2, b2, "W2", "b2")]
    workspace = _core._NetWorkspace()
    assert N * H >= HUGE
    with pytest.raises(MemoryError):
        _core._predict(layers, np.zeros((N, 0)), workspace)
    # the workspace still works afterwards
    np.testing.assert_array_equal(_core._predict(layers, np.zeros((3, 0)), workspace), np.zeros((3, 2)))


class Boom(Exception):
    pass


class RaisingArray:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def __array__(self, dtype=None, copy=None):
        raise self.exc


@pytest.mark.parametrize("exc", [MemoryError("no memory"), KeyboardInterrupt(), Boom("mine")], ids=repr)
def test_exceptions_raised_while_reading_an_input_go_through(exc):
    for call in (fl.Relu().forward, fl.Sigmoid().forward, fl.softmax):
        with pytest.raises(type(exc)):
            call(RaisingArray(exc))


def test_an_input_numpy_cannot_read_is_a_type_error_naming_it():
    class NotAnArray:
        def __array__(self, dtype=None, copy=None):
            raise TypeError("cannot")

    with pytest.raises(TypeError, match=r"^x must be an array of real numbers, got NotAnArray"):
        fl.Relu().forward(NotAnArray())


class Grads(Mapping):
    """A mapping whose `in` answers with an int (truthy), not a bool."""

    def __init__(self, d, contains_raises=False):
        self.d, self.contains_raises = d, contains_raises

    def __getitem__(self, k):
        return self.d[k]

    def __iter__(self):
        return iter(self.d)

    def __len__(self):
        return len(self.d)

    def __contains__(self, k):
        if self.contains_raises:
            raise Boom("contains")
        return int(k in self.d)


def test_mapping_membership_is_python_truthiness_not_a_cast():
    # was RuntimeError: Unable to cast Python instance of type int to C++ type bool
    params = {"W": np.ones(2)}
    fl.SGD(lr=0.5).update(params, Grads({"W": np.ones(2)}))
    np.testing.assert_array_equal(params["W"], [0.5, 0.5])
    with pytest.raises(ValueError, match="grads has no entry 'W'"):
        fl.SGD().update(params, Grads({}))
    with pytest.raises(Boom):
        fl.SGD().update(params, Grads({"W": np.ones(2)}, contains_raises=True))


@pytest.mark.parametrize("layers", [[1], [()], [("affine", np.zeros((2, 2)))]], ids=["int", "empty", "short"])
def test_fused_calls_check_their_layer_list(layers):
    # private, but reachable from Python: a malformed list is an error, not a crash
    with pytest.raises((TypeError, ValueError), match="predict"):
        _core._predict(layers, np.zeros((1, 2)), _core._NetWorkspace())
