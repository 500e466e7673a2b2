"""Fuzzes the fastlayers Python API with atheris: arbitrary arrays (every dtype kind, shapes with zero and
odd sizes, transposed, reversed, strided, zero-strided, unaligned and read-only memory, NaN/inf bit patterns)
fed to every layer, function, optimizer and network in arbitrary call sequences, also as out= arguments
(arbitrary arrays, the call's own input, or a view overlapping it).

A finding is any exception other than TypeError/ValueError, a crash, a caller's array that changed (other
than the params an optimizer updates), or a result that disagrees with NumPy where one is checked.

  .venv/bin/python tests/fuzz/fuzz_api.py -max_total_time=60        # the bounded run of scripts/test.sh
  mkdir -p build/fuzz/corpus && .venv/bin/python tests/fuzz/fuzz_api.py -max_total_time=3600 build/fuzz/corpus
"""

from __future__ import annotations

import copy
import os
import pickle
import sys
import tempfile
import warnings

import atheris
import numpy as np

with atheris.instrument_imports(include=["fastlayers"]):
    import fastlayers as fl
    from fastlayers.datasets import read_idx

warnings.simplefilter("error")  # a warning from fastlayers is a finding too (NumPy's own are silenced below)
np.seterr(all="ignore")

DTYPES = [np.float64, np.float32, np.float16, np.int8, np.int64, np.uint8, np.uint64, np.bool_, np.complex128,
          object, "U3", "S2", [("a", "f8"), ("b", "i4")], "m8[s]", np.longdouble]
ALLOWED = (TypeError, ValueError)
MAX_ELEMENTS = 4096
TMP = tempfile.mkdtemp(prefix="fastlayers-fuzz-")


class Input:
    def __init__(self, data: bytes) -> None:
        self.fdp = atheris.FuzzedDataProvider(data)

    def int(self, lo: int, hi: int) -> int:
        return self.fdp.ConsumeIntInRange(lo, hi)

    def pick(self, seq):
        return seq[self.int(0, len(seq) - 1)]

    def shape(self, ndim=None):
        ndim = self.int(0, 4) if ndim is None else ndim
        dims = []
        for _ in range(ndim):
            dims.append(self.pick([0, 1, 1, 2, 3, 4, 5, 7, 16, 33]))
        while dims and int(np.prod(dims)) > MAX_ELEMENTS:
            dims[dims.index(max(dims))] //= 2
        return tuple(dims)

    def array(self, shape=None, dtype=None, float_only=False):
        """An array of arbitrary dtype, values and memory layout (or occasionally not an array at all)."""
        kind = self.int(0, 19)
        if kind == 0 and not float_only and shape is None:
            return self.pick([None, "x", 1.5, 3, [1.0, 2.0], [[1.0], [1.0, 2.0]], 1 + 2j, (), [[]]])
        shape = self.shape() if shape is None else shape
        if dtype is None:
            dtype = self.pick(DTYPES[:2]) if float_only or self.int(0, 3) else self.pick(DTYPES)
        dtype = np.dtype(dtype)
        layout = self.int(0, 7) if shape else self.pick([0, 5, 6])  # a 0-d array has no axes to transpose
        base_shape = shape[::-1] if layout == 1 else tuple(2 * s if layout == 3 else s for s in shape)
        n = int(np.prod(base_shape)) if base_shape else 1
        raw = self.fdp.ConsumeBytes(n * dtype.itemsize)
        if dtype.kind in "fiubcm":
            buf = np.zeros(n * dtype.itemsize, np.uint8)
            buf[: len(raw)] = np.frombuffer(raw, np.uint8)
            if dtype.kind == "b":  # only 0 and 1 bytes are bools (NumPy compares others unpredictably)
                a = (buf[:n] & 1).astype(bool)
            elif dtype.kind == "f" and self.int(0, 1):  # mostly ordinary numbers, sometimes raw bit patterns
                a = (np.frombuffer(buf.tobytes(), np.int8)[: n] % 7 - 3).astype(dtype) if n else np.zeros(0, dtype)
            else:
                a = buf.view(dtype)[:n].copy()
        elif dtype.kind == "O":
            a = np.array([self.pick([1.0, "s", None, 2]) for _ in range(n)] or [], dtype=object)
        else:
            a = np.zeros(n, dtype)
        a = a.reshape(base_shape)
        if layout == 1:
            a = a.T
        elif layout == 2:
            a = a[tuple(slice(None, None, -1) for _ in shape)]
        elif layout == 3:
            a = a[tuple(slice(None, None, 2) for _ in shape)]
        elif layout == 4 and shape:
            a = np.broadcast_to(a[tuple(slice(0, 1) for _ in shape)], shape)
        elif layout == 5 and dtype.kind in "fiubc":
            buf = np.zeros(a.nbytes + 1, np.uint8)
            u = buf[1:].view(dtype).reshape(a.shape)
            u[...] = a
            a = u
        elif layout == 6:
            a = a.copy()
            a.flags.writeable = False
        assert a.shape == shape, (a.shape, shape)
        return a

    def labels(self, n, c):
        if self.int(0, 3) == 0:
            return self.array()
        hi = c if self.int(0, 5) else c + 2
        values = np.array([self.int(-1 if not self.int(0, 5) else 0, max(hi - 1, 0)) for _ in range(n)], np.int64)
        return values.astype(self.pick([np.int64, np.int32, np.uint8, np.int8]))  # -1 wraps to 255 in uint8


def snapshot(args):
    out = []
    for a in args:
        if isinstance(a, np.ndarray) and a.dtype.kind != "O":
            out.append((a, a.copy()))
    return out


def check_unchanged(saved):
    for a, before in saved:
        # The bytes: np.array_equal calls an untouched array holding a NaT modified (NaT != NaT).
        if a.tobytes() != before.tobytes():
            raise AssertionError(f"a caller's {a.dtype} array of shape {a.shape} was modified")


def finite_float(a):
    return isinstance(a, np.ndarray) and a.dtype.kind == "f" and a.dtype.itemsize >= 4 and np.isfinite(a).all()


def one_step(inp: Input, state: dict) -> None:
    op = inp.int(0, 22)
    layers = state["layers"]
    if op == 22:
        out_step(inp, layers)
        return
    if op == 0:
        x = inp.array()
        args = [x]
        call = lambda: layers["relu"].forward(x)  # noqa: E731
    elif op == 1:
        d = inp.array()
        args, call = [d], lambda: layers["relu"].backward(d)
    elif op == 2:
        x = inp.array()
        args, call = [x], lambda: layers["sigmoid"].forward(x)
    elif op == 3:
        d = inp.array()
        args, call = [d], lambda: layers["sigmoid"].backward(d)
    elif op == 4:
        W, b = inp.array(float_only=inp.int(0, 1) == 1), inp.array(float_only=inp.int(0, 1) == 1)
        args = [W, b]

        def call():
            layers["affine"] = fl.Affine(W, b)
    elif op == 5:
        x = inp.array()
        args, call = [x], lambda: layers["affine"].forward(x)
    elif op == 6:
        d = inp.array()
        args, call = [d], lambda: layers["affine"].backward(d)
    elif op == 7:
        v = inp.array()
        attr = inp.pick(["W", "b"])
        args, call = [v], lambda: setattr(layers["affine"], attr, v)
    elif op == 8:
        x = inp.array()
        n = x.shape[0] if isinstance(x, np.ndarray) and x.ndim else 1
        c = x.shape[-1] if isinstance(x, np.ndarray) and x.ndim else 1
        t = inp.labels(n, c) if inp.int(0, 2) else inp.array()
        args, call = [x, t], lambda: layers["swl"].forward(x, t)
    elif op == 9:
        d = inp.pick([1.0, 0.5, -2.0, float("nan"), np.float32(2), np.array(3.0), None, "1", 1j, np.ones(2), True])
        args, call = [], lambda: layers["swl"].backward(d)
    elif op == 10:
        x = inp.array()
        args, call = [x], lambda: fl.softmax(x)
    elif op == 11:
        y = inp.array()
        n = y.shape[0] if isinstance(y, np.ndarray) and y.ndim else 1
        c = y.shape[-1] if isinstance(y, np.ndarray) and y.ndim else 1
        t = inp.labels(n, c) if inp.int(0, 1) else inp.array()
        args, call = [y, t], lambda: fl.cross_entropy_error(y, t)
    elif op == 12:
        p, g = inp.array(), inp.array()
        opt = state["opt"]
        args = [g]  # p is the one argument the optimizer may write

        def call():
            opt.update({"p": p}, {"p": g})
    elif op == 13:
        state["opt"] = inp.pick([fl.SGD, fl.Momentum, fl.AdaGrad, fl.Adam])(lr=inp.pick([0.1, 0.0, 1e30]))
        return
    elif op in (14, 15, 16):
        net = state["net"]
        x = inp.array(shape=(inp.pick([0, 1, 3]), *inp.pick([(4,), (2, 2), (5,), ()])))
        t = inp.labels(x.shape[0], 3) if inp.int(0, 2) else inp.array()
        args = [x, t]
        method = {14: "loss", 15: "gradient", 16: "accuracy"}[op]
        call = lambda: getattr(net, method)(x, t)  # noqa: E731
    elif op == 17:
        net, opt = state["net"], state["opt"]
        x = inp.array(shape=(inp.pick([0, 1, 3]), 4))
        t = inp.labels(x.shape[0], 3) if inp.int(0, 2) else inp.array()
        args, call = [x, t], lambda: net.train_step(x, t, opt)
    elif op == 18:
        name = inp.pick(list(layers))
        how = inp.int(0, 2)
        if how == 0:
            layers[name] = pickle.loads(pickle.dumps(layers[name], protocol=inp.int(2, 5)))
        elif how == 1:
            layers[name] = copy.deepcopy(layers[name])
        else:
            state["net"] = pickle.loads(pickle.dumps(state["net"]))
        return
    elif op == 19:
        fl.set_num_threads(inp.int(-2, 4))
        return
    elif op == 20:
        path = os.path.join(TMP, "idx")
        with open(path, "wb") as f:
            f.write(inp.fdp.ConsumeBytes(inp.int(0, 64)))
        args, call = [], lambda: read_idx(path)
    else:
        x = inp.array(shape=inp.shape(inp.int(0, 2)))
        args = [x]  # perturbed in place, and restored
        call = lambda: fl.numerical_gradient(lambda v: float(np.sum(np.asarray(v, dtype=np.float64))), x)  # noqa: E731

    saved = snapshot(args)
    try:
        result = call()
    except ALLOWED:
        check_unchanged(saved)  # a failed call changes nothing
        return
    check_unchanged(saved)
    # A few results checked against NumPy (exact for Relu; the others within float tolerance).
    if op == 0 and finite_float(args[0]):
        x = args[0]
        np.testing.assert_array_equal(result, np.where(x <= 0, 0, x).astype(result.dtype))
    elif op == 5 and finite_float(args[0]) and layers["affine"].x is not None:
        aff = layers["affine"]
        x2 = np.asarray(args[0], np.float64).reshape(args[0].shape[0], int(np.prod(args[0].shape[1:])))
        expected = x2 @ np.asarray(aff.W, np.float64) + np.asarray(aff.b, np.float64)
        if np.isfinite(expected).all() and np.abs(expected).max(initial=0) < 1e30:
            scale = np.abs(x2) @ np.abs(np.asarray(aff.W, np.float64)) + np.abs(np.asarray(aff.b, np.float64))
            assert (np.abs(result - expected) <= 1e-5 * scale + 1e-30).all()
    elif op == 10 and finite_float(args[0]) and args[0].ndim and args[0].shape[-1]:
        assert np.allclose(result.sum(axis=-1), 1.0, rtol=1e-3)


def _result_shape(call, x, layers):
    """The shape call's result would have (so that a fuzzed out= often passes the shape check), or None."""
    if call in ("relu.forward", "relu.backward", "sigmoid.forward", "sigmoid.backward", "softmax"):
        return x.shape if isinstance(x, np.ndarray) else None
    aff = layers["affine"]
    if call == "affine.forward":
        ok = isinstance(x, np.ndarray) and x.ndim and isinstance(aff.W, np.ndarray) and aff.W.ndim == 2
        return (x.shape[0], aff.W.shape[1]) if ok else None
    if call == "affine.backward":
        return aff.original_x_shape
    y = layers["swl"].y
    return y.shape if y is not None else None


def out_step(inp: Input, layers: dict) -> None:
    """A call with out=: any array, the call's own input, or a view of the input's buffer one element on.
    Beyond one_step's findings: a success that does not return out, or that changed an array out does not
    share memory with."""
    call = inp.pick(["relu.forward", "relu.backward", "sigmoid.forward", "sigmoid.backward", "softmax",
                     "affine.forward", "affine.backward", "swl.backward"])
    x = inp.array() if call != "swl.backward" else None
    how = inp.int(0, 3)
    if how == 0 and isinstance(x, np.ndarray):
        out = x
    elif how == 1 and isinstance(x, np.ndarray) and x.dtype.kind in "fiub" and x.size:
        base = np.zeros(x.size + 1, x.dtype)
        base[:-1] = x.ravel()
        x, out = base[:-1].reshape(x.shape), base[1:].reshape(x.shape)
    else:
        shape = _result_shape(call, x, layers)
        out = inp.array(shape=shape) if shape is not None and inp.int(0, 3) else inp.array()
    if call == "softmax":
        fn = fl.softmax
    else:
        target, method = call.split(".")
        fn = getattr(layers[target], method)
    args = [] if x is None else [x]
    others = [a for a in args if not (isinstance(a, np.ndarray) and isinstance(out, np.ndarray)
                                      and np.shares_memory(a, out))]
    saved = snapshot(others + [out])
    try:
        result = fn(out=out) if x is None else fn(x, out=out)
    except ALLOWED:
        check_unchanged(saved)
        return
    check_unchanged([(a, b) for a, b in saved if a is not out])
    if out is not None and result is not out:  # out=None: a new array, as without out=
        raise AssertionError(f"{call}(out=...) returned another array than out")


def new_state():
    return {
        "layers": {"relu": fl.Relu(), "sigmoid": fl.Sigmoid(), "affine": fl.Affine(np.ones((4, 3)), np.zeros(3)),
                   "swl": fl.SoftmaxWithLoss()},
        "opt": fl.SGD(),
        "net": fl.TwoLayerNet(4, 5, 3, seed=0),
    }


def test_one_input(data: bytes) -> None:
    inp = Input(data)
    state = new_state()
    try:
        for _ in range(inp.int(1, 8)):
            one_step(inp, state)
    finally:
        fl.set_num_threads(0)


def main() -> None:
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
