"""Networks of the book's layers: Sequential (any Affine/Relu/Sigmoid stack ending in SoftmaxWithLoss)
and TwoLayerNet (chapter 5.7.2), with the book's predict/loss/accuracy/numerical_gradient/gradient, a
fused C++ train_step, and save/load as .npz."""

from __future__ import annotations

import json
import math
import os
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any, Union

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from . import _core
from .gradient import numerical_gradient as _numerical_gradient
from .typing import FloatArray

__all__ = ["Sequential", "TwoLayerNet"]

_KINDS = {"Affine": "affine", "Relu": "relu", "Sigmoid": "sigmoid"}
_FORMAT = "fastlayers-network-1"

#: A layer a Sequential chains.
Layer = Union[_core.Affine, _core.Relu, _core.Sigmoid]


def _kind_of(layer: object) -> str | None:
    if isinstance(layer, _core.Affine):
        return "Affine"
    if isinstance(layer, _core.Relu):
        return "Relu"
    if isinstance(layer, _core.Sigmoid):
        return "Sigmoid"
    return None


def _as_batch(x_in: ArrayLike, where: str) -> np.ndarray[Any, np.dtype[Any]]:
    x = np.asarray(x_in)
    if x.ndim < 2:
        raise ValueError(f"{where}: x must have shape (N, ...) with the batch axis first, got shape {x.shape}")
    if x.ndim == 2:
        return x
    # Not reshape(N, -1): NumPy cannot infer the -1 when N is 0. math.prod, not np.prod: 0.1 us against 3 us,
    # which was most of a one-sample predict.
    return x.reshape(x.shape[0], math.prod(x.shape[1:]))


class Sequential:
    """A stack of fastlayers Affine, Relu and Sigmoid layers ending in a SoftmaxWithLoss.

    ``layers`` is an ordered mapping name -> layer, or a list of layers (named Affine1, Relu1, ...);
    ``loss`` a SoftmaxWithLoss (default: a new one, or the list's last element when that is one).
    ``params`` holds the Affine layers' own W and b arrays as W1, b1, W2, b2, ... (the same objects:
    updating ``params["W1"]`` in place updates the layer; assigning a new array re-points the layer).

    predict/loss/gradient go layer by layer like the book; ``accuracy`` and ``train_step`` run the whole
    network in one C++ call.

    >>> rng = np.random.default_rng(0)
    >>> net = Sequential([Affine(rng.standard_normal((4, 8)), np.zeros(8)), Relu(),
    ...                   Affine(rng.standard_normal((8, 3)), np.zeros(3))])
    >>> sorted(net.params), net.predict(np.ones((2, 4))).shape
    (['W1', 'W2', 'b1', 'b2'], (2, 3))
    >>> loss = net.train_step(np.ones((2, 4)), np.array([0, 2]), SGD(lr=0.1))
    """

    def __init__(
        self,
        layers: Mapping[str, Layer] | Sequence[Layer | _core.SoftmaxWithLoss],
        loss: _core.SoftmaxWithLoss | None = None,
    ) -> None:
        if isinstance(layers, Mapping):
            items = list(layers.items())
        elif isinstance(layers, (list, tuple)):
            seq = list(layers)
            if loss is None and seq and isinstance(seq[-1], _core.SoftmaxWithLoss):
                loss = seq.pop()
            counts: dict[str, int] = {}
            items = []
            for i, layer in enumerate(seq):
                kind = _kind_of(layer)
                if kind is None:
                    raise TypeError(
                        f"Sequential: layers[{i}] must be a fastlayers Affine, Relu or Sigmoid, "
                        f"got {type(layer).__name__}"
                    )
                counts[kind] = counts.get(kind, 0) + 1
                items.append((f"{kind}{counts[kind]}", layer))
        else:
            raise TypeError(
                f"Sequential: layers must be a list or an ordered dict of layers, got {type(layers).__name__}"
            )
        for name, layer in items:
            if _kind_of(layer) is None:
                raise TypeError(
                    f"Sequential: layers[{name!r}] must be a fastlayers Affine, Relu or Sigmoid, "
                    f"got {type(layer).__name__}"
                )
        if not any(_kind_of(layer) == "Affine" for _, layer in items):
            raise ValueError("Sequential: layers must contain at least one Affine layer")
        if loss is None:
            loss = _core.SoftmaxWithLoss()
        if not isinstance(loss, _core.SoftmaxWithLoss):
            raise TypeError(f"Sequential: loss must be a fastlayers SoftmaxWithLoss, got {type(loss).__name__}")
        width: int | None = None
        for name, layer in items:
            if isinstance(layer, _core.Affine):
                if width is not None and layer.W.shape[0] != width:
                    raise ValueError(
                        f"Sequential: layers[{name!r}] has W of shape {layer.W.shape}, expected ({width}, M) to take "
                        f"the {width} outputs of the Affine layer before it"
                    )
                width = layer.W.shape[1]
        self.layers: OrderedDict[str, Layer] = OrderedDict(items)
        self.lastLayer = loss
        self._affine_keys: list[tuple[_core.Affine, str, str]] = []  # (layer, W key, b key)
        self.params: dict[str, FloatArray] = {}
        k = 0
        for layer in self.layers.values():
            if isinstance(layer, _core.Affine):
                k += 1
                self._affine_keys.append((layer, f"W{k}", f"b{k}"))
                self.params[f"W{k}"] = layer.W
                self.params[f"b{k}"] = layer.b
        self._workspace = _core._NetWorkspace()

    # -- the book's methods --------------------------------------------------------------------------------

    def predict(self, x: ArrayLike) -> FloatArray:
        """Scores (N, C) for x (N, ...), layer by layer (no softmax)."""
        self._sync()
        out: FloatArray = _as_batch(x, f"{type(self).__name__}.predict")
        for layer in self.layers.values():
            out = layer.forward(out)
        return out

    def loss(self, x: ArrayLike, t: ArrayLike) -> float:
        """Mean SoftmaxWithLoss of predict(x) against t (labels (N,) or one-hot (N, C))."""
        return self.lastLayer.forward(self.predict(x), t)

    def accuracy(self, x: ArrayLike, t: ArrayLike, batch_size: int = 10000) -> float:
        """Fraction of rows whose highest score is the label (t labels or one-hot), the fused C++ forward."""
        where = f"{type(self).__name__}.accuracy"
        self._sync()
        xb = _as_batch(x, where)
        tb = np.asarray(t)
        if tb.ndim != 1:
            tb = np.argmax(tb, axis=1)
        if tb.shape[0] != xb.shape[0]:
            raise ValueError(f"{where}: t has {tb.shape[0]} targets but x has {xb.shape[0]} rows")
        if xb.shape[0] == 0:
            raise ValueError(f"{where}: x is an empty batch; need N >= 1")
        correct = 0
        for start in range(0, xb.shape[0], batch_size):
            scores = _core._predict(self._specs(), xb[start : start + batch_size], self._workspace)
            correct += int(np.sum(np.argmax(scores, axis=1) == tb[start : start + batch_size]))
        return correct / float(xb.shape[0])

    def numerical_gradient(self, x: ArrayLike, t: ArrayLike) -> dict[str, FloatArray]:
        """Central-difference gradients of loss(x, t) for every parameter (the book's way: each parameter is
        perturbed in place by h = 1e-4). Float64 arrays."""
        self._sync()

        def loss_w(_: FloatArray) -> float:
            return self.loss(x, t)

        return {key: _numerical_gradient(loss_w, self.params[key]) for key in self.params}

    def gradient(self, x: ArrayLike, t: ArrayLike) -> dict[str, FloatArray]:
        """Backprop gradients of loss(x, t): a dict of fresh arrays keyed like params."""
        self.loss(x, t)
        dout = self.lastLayer.backward(1.0)
        layers = list(self.layers.values())
        # The first layer's dx is thrown away: an Affine there (not a subclass with its own backward) skips
        # computing it, the largest product of the book's backward pass (dout @ W1.T, 100x50x784).
        first = layers[0] if layers and type(layers[0]).backward is _core.Affine.backward else None
        for layer in reversed(layers[1:] if first is not None else layers):
            dout = layer.backward(dout)
        if first is not None:
            assert isinstance(first, _core.Affine)
            first._backward_params(dout)
        grads: dict[str, FloatArray] = {}
        for layer, wk, bk in self._affine_keys:
            assert layer.dW is not None and layer.db is not None  # set by the backward above
            grads[wk] = layer.dW
            grads[bk] = layer.db
        return grads

    # -- fused training ------------------------------------------------------------------------------------

    def train_step(self, x: ArrayLike, t: ArrayLike, optimizer: Any) -> float:
        """Forward, loss, backward and ``optimizer``'s update of every parameter, in one C++ call.

        Returns the loss (before the update). The layers' own state (x, mask, dW, ...) is not touched.
        ``optimizer`` is a fastlayers SGD/Momentum/AdaGrad/Adam; any other object with the book's
        ``update(params, grads)`` works too, through the layer-by-layer path.
        """
        if isinstance(optimizer, _core.Optimizer):
            self._sync()
            return _core._train_step(self._specs(), x, t, optimizer, self._workspace)
        if callable(getattr(optimizer, "update", None)):
            grads = self.gradient(x, t)
            loss = self.lastLayer.loss
            assert loss is not None  # set by gradient()
            optimizer.update(self.params, grads)
            return float(loss)
        raise TypeError(
            f"{type(self).__name__}.train_step: optimizer must be a fastlayers SGD, Momentum, AdaGrad or Adam "
            f"(or an object with update(params, grads)), got {type(optimizer).__name__}"
        )

    # -- save / load ---------------------------------------------------------------------------------------

    def _arch(self) -> dict[str, Any]:
        return {"format": _FORMAT, "class": "Sequential", "layers": [_kind_of(v) for v in self.layers.values()],
                "names": list(self.layers.keys())}

    def save(self, path: str | os.PathLike[str]) -> str:
        """Writes the parameters and the architecture to an .npz file; returns its path."""
        self._sync()
        path = os.fspath(path)
        if not path.endswith(".npz"):
            path += ".npz"
        arrays = {key: np.asarray(value) for key, value in self.params.items()}
        np.savez(path, __arch__=np.array(json.dumps(self._arch())), **arrays)  # type: ignore[arg-type]
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Sequential:
        """A network saved by ``save`` (the class it was saved from, or a Sequential of its layers)."""
        arch, params = _read_npz(path)
        if cls is TwoLayerNet or (cls is Sequential and arch.get("class") == "TwoLayerNet"):
            return TwoLayerNet._from_params(arch, params, path)
        return cls._from_layers(arch, params, path)

    @classmethod
    def _from_layers(cls, arch: dict[str, Any], params: dict[str, FloatArray], path: Any) -> Sequential:
        layers: OrderedDict[str, Layer] = OrderedDict()
        k = 0
        for name, kind in zip(arch["names"], arch["layers"]):
            if kind == "Affine":
                k += 1
                try:
                    layers[name] = _core.Affine(params[f"W{k}"], params[f"b{k}"])
                except KeyError as e:
                    raise ValueError(f"{os.fspath(path)}: no parameter {e.args[0]!r} in the file") from None
                except ValueError as e:
                    raise ValueError(f"{os.fspath(path)}: parameters W{k}, b{k} do not fit: {e}") from None
            elif kind == "Relu":
                layers[name] = _core.Relu()
            elif kind == "Sigmoid":
                layers[name] = _core.Sigmoid()
            else:
                raise ValueError(f"{os.fspath(path)}: unknown layer kind {kind!r}")
        net = Sequential.__new__(Sequential)
        try:
            Sequential.__init__(net, layers)
        except ValueError as e:
            raise ValueError(f"{os.fspath(path)}: {e}") from None
        return net

    # -- pickle / copy.deepcopy: everything but the fused calls' scratch buffers, which are made anew -------

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_workspace"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._workspace = _core._NetWorkspace()

    # -- internals -----------------------------------------------------------------------------------------

    def _sync(self) -> None:
        """Re-points each Affine at params[...] when a new array was assigned there."""
        for layer, wk, bk in self._affine_keys:
            for attr, key in (("W", wk), ("b", bk)):
                if key not in self.params:
                    raise KeyError(f"{type(self).__name__}: params has no {key!r}; it holds the network's parameters")
                if getattr(layer, attr) is not self.params[key]:
                    setattr(layer, attr, self.params[key])

    def _specs(self) -> list[tuple[Any, ...]]:
        specs: list[tuple[Any, ...]] = []
        affine = iter(self._affine_keys)
        for layer in self.layers.values():
            kind = _kind_of(layer)
            if kind == "Affine":
                _, wk, bk = next(affine)
                specs.append(("affine", self.params[wk], self.params[bk], wk, bk))
            else:
                specs.append((_KINDS[kind or ""],))
        return specs

    @property
    def dtype(self) -> np.dtype[Any]:
        """The parameters' dtype."""
        return np.result_type(*self.params.values())

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={layer!r}" for name, layer in self.layers.items())
        return f"{type(self).__name__}({inner})"


class TwoLayerNet(Sequential):
    """The book's TwoLayerNet (5.7.2): Affine1 -> Relu1 -> Affine2, then SoftmaxWithLoss.

    ``params``: W1 (input, hidden), b1, W2 (hidden, output), b2; W = weight_init_std * randn, b = 0.
    With ``seed`` the weights are those of ``np.random.seed(seed)`` followed by the book's constructor;
    without it they come from NumPy's global random state, as in the book. ``seed`` may also be a
    ``np.random.RandomState`` to draw from. ``dtype`` is float64 (the book's) or float32.

    >>> net = TwoLayerNet(784, 50, 10, seed=0)
    >>> sorted(net.params), net.params["W1"].shape
    (['W1', 'W2', 'b1', 'b2'], (784, 50))
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        output_size: int,
        weight_init_std: float = 0.01,
        seed: int | np.random.RandomState | None = None,
        dtype: DTypeLike = np.float64,
    ) -> None:
        for name, v in (("input_size", input_size), ("hidden_size", hidden_size), ("output_size", output_size)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"TwoLayerNet: {name} must be an integer >= 1, got {v!r}")
        try:
            std = float(weight_init_std)
        except (TypeError, ValueError):
            raise TypeError(
                f"TwoLayerNet: weight_init_std must be a real number, got {type(weight_init_std).__name__}"
            ) from None
        if not np.isfinite(std):
            raise ValueError(f"TwoLayerNet: weight_init_std must be finite, got {weight_init_std!r}")
        dt = np.dtype(dtype)
        if dt not in (np.float32, np.float64):
            raise TypeError(f"TwoLayerNet: dtype must be float32 or float64, got {dt}")
        if seed is None:
            rs: Any = np.random
        elif isinstance(seed, np.random.RandomState):
            rs = seed
        elif isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
            rs = np.random.RandomState(seed)
        else:
            raise TypeError(f"TwoLayerNet: seed must be an int, a numpy RandomState or None, got {type(seed).__name__}")
        W1 = (std * rs.randn(input_size, hidden_size)).astype(dt, copy=False)
        b1 = np.zeros(hidden_size, dtype=dt)
        W2 = (std * rs.randn(hidden_size, output_size)).astype(dt, copy=False)
        b2 = np.zeros(output_size, dtype=dt)
        self._init_from(W1, b1, W2, b2)

    def _init_from(self, W1: FloatArray, b1: FloatArray, W2: FloatArray, b2: FloatArray) -> None:
        layers: OrderedDict[str, Layer] = OrderedDict()
        layers["Affine1"] = _core.Affine(W1, b1)
        layers["Relu1"] = _core.Relu()
        layers["Affine2"] = _core.Affine(W2, b2)
        Sequential.__init__(self, layers, _core.SoftmaxWithLoss())

    def _arch(self) -> dict[str, Any]:
        arch = super()._arch()
        arch["class"] = "TwoLayerNet"
        return arch

    @classmethod
    def _from_params(cls, arch: dict[str, Any], params: dict[str, FloatArray], path: Any) -> TwoLayerNet:
        if arch.get("layers") != ["Affine", "Relu", "Affine"]:
            raise ValueError(f"{os.fspath(path)}: not a TwoLayerNet (layers {arch.get('layers')})")
        missing = [k for k in ("W1", "b1", "W2", "b2") if k not in params]
        if missing:
            raise ValueError(f"{os.fspath(path)}: no parameter {missing[0]!r} in the file")
        net = cls.__new__(cls)
        try:
            net._init_from(params["W1"], params["b1"], params["W2"], params["b2"])
        except ValueError as e:
            raise ValueError(f"{os.fspath(path)}: the saved parameters do not fit a TwoLayerNet: {e}") from None
        return net


def _read_npz(path: Any) -> tuple[dict[str, Any], dict[str, FloatArray]]:
    name = os.fspath(path)
    if not os.path.exists(name):
        raise FileNotFoundError(f"no saved network at {name}")
    try:
        with np.load(name, allow_pickle=False) as f:
            data = {k: f[k] for k in f.files}
    except Exception as e:  # zip or npy format errors
        raise ValueError(f"{name}: not a network saved by fastlayers ({type(e).__name__}: {e})") from None
    if "__arch__" not in data:
        raise ValueError(f"{name}: not a network saved by fastlayers (no __arch__ entry)")
    try:
        arch = json.loads(str(data.pop("__arch__")))
    except ValueError as e:
        raise ValueError(f"{name}: corrupt __arch__ entry ({e})") from None
    if not isinstance(arch, dict) or arch.get("format") != _FORMAT:
        raise ValueError(f"{name}: unsupported format {arch.get('format') if isinstance(arch, dict) else arch!r}")
    params = {}
    for k, v in data.items():
        if v.dtype not in (np.float32, np.float64):
            raise ValueError(f"{name}: parameter {k!r} has dtype {v.dtype}, expected float32 or float64")
        params[k] = np.array(v)  # writable, owned
    return arch, params
