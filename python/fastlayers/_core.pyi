"""fastlayers C++ core: the build for this CPU (see fastlayers._core)."""
from __future__ import annotations
import numpy.typing
import numpy
import typing
__all__: list[str] = ['AdaGrad', 'Adam', 'Affine', 'Momentum', 'Optimizer', 'Relu', 'SGD', 'Sigmoid', 'SoftmaxWithLoss', 'cross_entropy_error', 'get_num_threads', 'isa', 'set_num_threads', 'softmax']
class Relu:
    """
    ReLU layer of "Deep Learning from Scratch" 5.5.1.
    
    forward(x):    mask = (x <= 0); returns x with the masked entries set to 0.
    backward(dout): returns dout with the masked entries set to 0 (gradient 0 at x == 0).
    
    Neither call modifies its argument; each returns a new array of x's dtype
    (float32 stays float32; integers and bool compute in float64), or writes into
    the array given as out= and returns that.
    
    >>> relu = Relu()
    >>> relu.forward(np.array([[1.0, -0.5], [-2.0, 3.0]]))
    array([[1., 0.],
           [0., 3.]])
    """
    def __getstate__(self) -> tuple[typing.Any, ...]:
        ...
    def __init__(self) -> None:
        ...
    def __reduce_ex__(self, arg0: typing.SupportsIndex) -> tuple[typing.Any, ...]:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, arg0: tuple[typing.Any, ...]) -> None:
        ...
    def backward(self, dout: numpy.typing.ArrayLike, *, out: numpy.typing.NDArray[numpy.float32 | numpy.float64] | None = None) -> numpy.typing.NDArray[numpy.float32 | numpy.float64]:
        """
        dx = dout with the entries where the forward's x <= 0 set to 0 (gradient 0 at x == 0).
        
        dout: the forward's x shape; dx: the same shape. dout is not modified (unless it is out).
        out=: an array to write dx into and return instead of a new one: C-contiguous, writeable, of dx's
        shape and dtype; it may be dout itself (in place) but not overlap it otherwise.
        
        >>> relu = Relu(); out = relu.forward(np.array([-1.0, 0.0, 2.0]))
        >>> relu.backward(np.array([5.0, 5.0, 5.0]))
        array([0., 0., 5.])
        """
    def forward(self, x: numpy.typing.ArrayLike, *, out: numpy.typing.NDArray[numpy.float32 | numpy.float64] | None = None) -> numpy.typing.NDArray[numpy.float32 | numpy.float64]:
        """
        mask = (x <= 0); out = x with the masked entries set to 0. Returns out.
        
        x: any shape; out: x's shape (float32 for float32 input, else float64). x is not modified
        (unless it is out).
        out=: an array to write the result into and return instead of a new one: C-contiguous, writeable,
        of that shape and dtype; it may be x itself (in place) but not overlap it otherwise.
        
        >>> Relu().forward(np.array([-1.0, 0.0, 2.0]))
        array([0., 0., 2.])
        """
    @property
    def mask(self) -> numpy.typing.NDArray[numpy.bool_] | None:
        """
        Bool ndarray (x <= 0) from the last forward, or None before it.
        """
class Sigmoid:
    """
    Sigmoid layer of "Deep Learning from Scratch" 5.5.2.
    
    forward(x):     out = 1 / (1 + exp(-x)), computed so that it never overflows
                    (x = -1000 gives 0, x = +1000 gives exactly 1); keeps out.
    backward(dout): dx = dout * (1 - out) * out.
    
    >>> Sigmoid().forward(np.array([0.0, 1000.0, -1000.0]))
    array([0.5, 1. , 0. ])
    """
    def __getstate__(self) -> tuple[typing.Any, ...]:
        ...
    def __init__(self) -> None:
        ...
    def __reduce_ex__(self, arg0: typing.SupportsIndex) -> tuple[typing.Any, ...]:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, arg0: tuple[typing.Any, ...]) -> None:
        ...
    def backward(self, dout: numpy.typing.ArrayLike, *, out: numpy.typing.NDArray[numpy.float32 | numpy.float64] | None = None) -> numpy.typing.NDArray[numpy.float32 | numpy.float64]:
        """
        dx = dout * (1 - out) * out, with out from the last forward.
        
        dout: out's shape; dx: the same shape.
        out=: an array to write dx into and return instead of a new one: C-contiguous, writeable, of dx's
        shape and dtype; it may be dout itself (in place) but not overlap it otherwise.
        
        >>> sig = Sigmoid(); out = sig.forward(np.array([0.0]))
        >>> sig.backward(np.array([1.0]))
        array([0.25])
        """
    def forward(self, x: numpy.typing.ArrayLike, *, out: numpy.typing.NDArray[numpy.float32 | numpy.float64] | None = None) -> numpy.typing.NDArray[numpy.float32 | numpy.float64]:
        """
        out = 1 / (1 + exp(-x)), computed without overflow. Keeps and returns out.
        
        x: any shape; out: x's shape (float32 for float32 input, else float64).
        out=: an array to write the result into (and keep and return) instead of a new one: C-contiguous,
        writeable, of that shape and dtype; it may be x itself (in place) but not overlap it otherwise.
        
        >>> Sigmoid().forward(np.array([[0.0, 2.0]]))
        array([[0.5       , 0.88079708]])
        """
    @property
    def out(self) -> numpy.typing.NDArray[numpy.float32 | numpy.float64] | None:
        """
        The array the last forward returned, or None before it.
        """
class Affine:
    """
    Affine (fully connected) layer of "Deep Learning from Scratch" 5.6.2.
    
    Affine(W, b) keeps references to W (D, M) and b (M,): `layer.W is W`. An in-place update
    such as `W -= lr * layer.dW` is used by the next forward. W and b must therefore be
    float32 or float64 numpy arrays (any strides); anything else raises TypeError.
    
    forward(x):     x of shape (N, ...) is flattened to (N, D); out = x @ W + b, shape (N, M).
    backward(dout): dout (N, M); dW = x.T @ dout, db = dout.sum(axis=0);
                    returns dx = dout @ W.T in x's original shape.
    
    >>> W = np.array([[1.0, 2.0], [3.0, 4.0]]); b = np.array([0.5, -0.5])
    >>> layer = Affine(W, b)
    >>> layer.forward(np.array([[1.0, 1.0]]))
    array([[4.5, 5.5]])
    """
    def __getstate__(self) -> tuple[typing.Any, ...]:
        ...
    def __init__(self, W: numpy.typing.NDArray[numpy.float32 | numpy.float64], b: numpy.typing.NDArray[numpy.float32 | numpy.float64]) -> None:
        ...
    def __reduce_ex__(self, arg0: typing.SupportsIndex) -> tuple[typing.Any, ...]:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, arg0: tuple[typing.Any, ...]) -> None:
        ...
    def _backward_params(self, dout: numpy.typing.ArrayLike) -> None:
        """
        backward(dout) without dx: sets dW and db only and returns None (for a network's first layer, whose dx nobody reads).
        """
    def backward(self, dout: numpy.typing.ArrayLike, *, out: numpy.typing.NDArray[numpy.float32 | numpy.float64] | None = None) -> numpy.typing.NDArray[numpy.float32 | numpy.float64]:
        """
        dx = dout @ W.T (returned, in the forward x's original shape); dW = x.T @ dout; db = dout.sum(axis=0).
        
        dout: (N, M); dx: (N, D) reshaped to the forward x's shape; dW: (D, M); db: (M,).
        out=: an array to write dx into and return instead of a new one: C-contiguous, writeable, of the
        forward x's shape and dx's dtype, sharing no memory with dout, W or the forward's x. dW and db are
        new arrays either way.
        
        >>> layer = Affine(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([0.5, -0.5]))
        >>> out = layer.forward(np.array([[1.0, 1.0]]))
        >>> layer.backward(np.array([[1.0, 0.0]]))
        array([[1., 3.]])
        >>> layer.dW, layer.db
        (array([[1., 0.],
               [1., 0.]]), array([1., 0.]))
        """
    def forward(self, x: numpy.typing.ArrayLike, *, out: numpy.typing.NDArray[numpy.float32 | numpy.float64] | None = None) -> numpy.typing.NDArray[numpy.float32 | numpy.float64]:
        """
        out = x @ W + b, with x (N, ...) flattened to (N, D) like x.reshape(N, -1). Keeps that x.
        
        x: (N, D) or (N, ...) with D elements per row; W: (D, M); b: (M,); out: (N, M), in the dtype
        np.result_type(x, W, b) (float32 or float64).
        out=: an array to write the result into and return instead of a new one: C-contiguous, writeable,
        of that shape and dtype, sharing no memory with x, W or b.
        
        >>> layer = Affine(np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([0.5, -0.5]))
        >>> layer.forward(np.array([[1.0, 0.0], [0.0, 1.0]]))
        array([[1.5, 1.5],
               [3.5, 3.5]])
        """
    @property
    def W(self) -> numpy.typing.NDArray[numpy.float32 | numpy.float64]:
        """
        The caller's weight array (D, M), by reference.
        """
    @W.setter
    def W(self, arg1: numpy.typing.NDArray[numpy.float32 | numpy.float64]) -> None:
        ...
    @property
    def b(self) -> numpy.typing.NDArray[numpy.float32 | numpy.float64]:
        """
        The caller's bias array (M,), by reference.
        """
    @b.setter
    def b(self, arg1: numpy.typing.NDArray[numpy.float32 | numpy.float64]) -> None:
        ...
    @property
    def dW(self) -> numpy.typing.NDArray[numpy.float32 | numpy.float64] | None:
        """
        Gradient of W from the last backward, or None.
        """
    @property
    def db(self) -> numpy.typing.NDArray[numpy.float32 | numpy.float64] | None:
        """
        Gradient of b from the last backward, or None.
        """
    @property
    def original_x_shape(self) -> tuple[int, ...] | None:
        """
        The shape of the last forward's x, or None.
        """
    @property
    def x(self) -> numpy.typing.NDArray[numpy.float32 | numpy.float64] | None:
        """
        The flattened (N, D) input of the last forward, or None.
        """
class SoftmaxWithLoss:
    """
    Softmax-with-Loss layer of "Deep Learning from Scratch" 5.6.3.
    
    forward(x, t): x logits (N, C), or (C,) for one sample; t one-hot/probabilities of x's
                   shape, or integer labels (N,) (a scalar label for one sample).
                   Keeps y = softmax(x) and t; returns the mean cross-entropy as a float,
                   computed from the logits with log-sum-exp (finite for logits of +-1e4).
    backward(dout=1.0): returns dx = (y - t_onehot) * dout / N, of x's shape.
    
    >>> swl = SoftmaxWithLoss()
    >>> swl.forward(np.log(np.array([[0.3, 0.2, 0.5]])), np.array([[0.0, 1.0, 0.0]]))
    1.6094379124341003
    >>> swl.backward()
    array([[ 0.3, -0.8,  0.5]])
    """
    def __getstate__(self) -> tuple[typing.Any, ...]:
        ...
    def __init__(self) -> None:
        ...
    def __reduce_ex__(self, arg0: typing.SupportsIndex) -> tuple[typing.Any, ...]:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, arg0: tuple[typing.Any, ...]) -> None:
        ...
    def backward(self, dout: float = 1.0, *, out: numpy.typing.NDArray[numpy.float32 | numpy.float64] | None = None) -> numpy.typing.NDArray[numpy.float32 | numpy.float64]:
        """
        dx = (y - t_onehot) * dout / N, with y and t from the last forward.
        
        dout: a float (the gradient of the loss, 1.0 by default); dx: the forward x's shape.
        out=: an array to write dx into and return instead of a new one: C-contiguous, writeable, of dx's
        shape and dtype; it may be the layer's y itself (in place) but not overlap it or t otherwise.
        
        >>> swl = SoftmaxWithLoss(); loss = swl.forward(np.array([[0.0, 0.0]]), np.array([1]))
        >>> swl.backward()
        array([[ 0.5, -0.5]])
        """
    def forward(self, x: numpy.typing.ArrayLike, t: numpy.typing.ArrayLike) -> float:
        """
        y = softmax(x); returns loss = -sum(t * log y) / N, the mean cross-entropy (from the logits).
        
        x: logits (N, C) or (C,); t: one-hot or probabilities of x's shape, or integer labels (N,)
        (a scalar for one sample). Returns a float; keeps y (x's shape), t and loss.
        
        >>> swl = SoftmaxWithLoss()
        >>> round(swl.forward(np.array([[0.0, 0.0]]), np.array([1])), 6)   # -log(1/2)
        0.693147
        """
    @property
    def loss(self) -> float | None:
        """
        The loss of the last forward, or None.
        """
    @property
    def t(self) -> numpy.typing.NDArray[typing.Any] | None:
        """
        The targets of the last forward, or None.
        """
    @property
    def y(self) -> numpy.typing.NDArray[numpy.float32 | numpy.float64] | None:
        """
        softmax(x) of the last forward, or None.
        """
class Optimizer:
    """
    Base class of the optimizers: update(params, grads) updates params in place.
    """
    def update(self, params: typing.Mapping[typing.Any, numpy.typing.NDArray[numpy.float32 | numpy.float64]], grads: typing.Mapping[typing.Any, numpy.typing.NDArray[numpy.float32 | numpy.float64]]) -> None:
        """
        Updates every params[key] in place from grads[key], in C++ (the GIL is released).
        
        params: dict of writable float32/float64 ndarrays; grads: a dict with the same keys, each of
        the same shape and dtype as its parameter. Errors name the key; nothing is updated on error.
        The rule is the subclass's (SGD: params[key] -= lr * grads[key]).
        
        >>> params = {"W": np.array([1.0, 2.0])}
        >>> SGD(lr=0.5).update(params, {"W": np.array([1.0, 1.0])}); params["W"]
        array([0.5, 1.5])
        """
class SGD(Optimizer):
    """
    Stochastic gradient descent (the book's common/optimizer.py): params[key] -= lr * grads[key].
    
    >>> opt = SGD(lr=0.1); params = {"W": np.ones(2)}; opt.update(params, {"W": np.ones(2)}); params["W"]
    array([0.9, 0.9])
    """
    def __getstate__(self) -> tuple[typing.Any, ...]:
        ...
    def __init__(self, lr: typing.SupportsFloat | typing.SupportsIndex = 0.01) -> None:
        ...
    def __reduce_ex__(self, arg0: typing.SupportsIndex) -> tuple[typing.Any, ...]:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, arg0: tuple[typing.Any, ...]) -> None:
        ...
    @property
    def lr(self) -> float:
        """
        Learning rate (may be changed between updates).
        """
    @lr.setter
    def lr(self, arg1: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class Momentum(Optimizer):
    """
    Momentum SGD (the book): v = momentum * v - lr * grads[key]; params[key] += v.
    `v` is None before the first update, then a dict of arrays like params.
    
    >>> opt = Momentum(lr=0.1, momentum=0.9); params = {"W": np.zeros(2)}
    >>> opt.update(params, {"W": np.ones(2)}); opt.update(params, {"W": np.ones(2)}); params["W"]
    array([-0.29, -0.29])
    """
    def __getstate__(self) -> tuple[typing.Any, ...]:
        ...
    def __init__(self, lr: typing.SupportsFloat | typing.SupportsIndex = 0.01, momentum: typing.SupportsFloat | typing.SupportsIndex = 0.9) -> None:
        ...
    def __reduce_ex__(self, arg0: typing.SupportsIndex) -> tuple[typing.Any, ...]:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, arg0: tuple[typing.Any, ...]) -> None:
        ...
    @property
    def lr(self) -> float:
        """
        Learning rate (may be changed between updates).
        """
    @lr.setter
    def lr(self, arg1: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def momentum(self) -> float:
        """
        Momentum factor in [0, 1) (may be changed between updates).
        """
    @momentum.setter
    def momentum(self, arg1: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def v(self) -> dict[typing.Any, numpy.typing.NDArray[numpy.float32 | numpy.float64]] | None:
        """
        Velocity per key (dict), or None before the first update.
        """
    @v.setter
    def v(self, arg1: dict[typing.Any, numpy.typing.NDArray[numpy.float32 | numpy.float64]] | None) -> None:
        ...
class AdaGrad(Optimizer):
    """
    AdaGrad (the book): h += grads[key]**2; params[key] -= lr * grads[key] / (sqrt(h) + 1e-7).
    `h` is None before the first update, then a dict of arrays like params.
    
    >>> opt = AdaGrad(lr=0.1); params = {"W": np.zeros(2)}
    >>> opt.update(params, {"W": np.array([2.0, -2.0])}); params["W"]
    array([-0.1,  0.1])
    """
    def __getstate__(self) -> tuple[typing.Any, ...]:
        ...
    def __init__(self, lr: typing.SupportsFloat | typing.SupportsIndex = 0.01) -> None:
        ...
    def __reduce_ex__(self, arg0: typing.SupportsIndex) -> tuple[typing.Any, ...]:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, arg0: tuple[typing.Any, ...]) -> None:
        ...
    @property
    def h(self) -> dict[typing.Any, numpy.typing.NDArray[numpy.float32 | numpy.float64]] | None:
        """
        Sum of squared gradients per key (dict), or None before the first update.
        """
    @h.setter
    def h(self, arg1: dict[typing.Any, numpy.typing.NDArray[numpy.float32 | numpy.float64]] | None) -> None:
        ...
    @property
    def lr(self) -> float:
        """
        Learning rate (may be changed between updates).
        """
    @lr.setter
    def lr(self, arg1: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
class Adam(Optimizer):
    """
    Adam in the book's form: iter += 1; lr_t = lr * sqrt(1 - beta2**iter) / (1 - beta1**iter);
    m += (1 - beta1) * (g - m); v += (1 - beta2) * (g**2 - v); params[key] -= lr_t * m / (sqrt(v) + 1e-7).
    `m` and `v` are None before the first update, then dicts of arrays like params.
    
    >>> opt = Adam(lr=0.1); params = {"W": np.zeros(2)}
    >>> opt.update(params, {"W": np.array([3.0, -3.0])}); params["W"].round(6), opt.iter
    (array([-0.1,  0.1]), 1)
    """
    def __getstate__(self) -> tuple[typing.Any, ...]:
        ...
    def __init__(self, lr: typing.SupportsFloat | typing.SupportsIndex = 0.001, beta1: typing.SupportsFloat | typing.SupportsIndex = 0.9, beta2: typing.SupportsFloat | typing.SupportsIndex = 0.999) -> None:
        ...
    def __reduce_ex__(self, arg0: typing.SupportsIndex) -> tuple[typing.Any, ...]:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, arg0: tuple[typing.Any, ...]) -> None:
        ...
    @property
    def beta1(self) -> float:
        """
        Decay rate of the first moment m, in [0, 1).
        """
    @beta1.setter
    def beta1(self, arg1: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def beta2(self) -> float:
        """
        Decay rate of the second moment v, in [0, 1).
        """
    @beta2.setter
    def beta2(self, arg1: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def iter(self) -> int:
        """
        Number of updates so far.
        """
    @iter.setter
    def iter(self, arg1: typing.SupportsInt | typing.SupportsIndex) -> None:
        ...
    @property
    def lr(self) -> float:
        """
        Learning rate (may be changed between updates).
        """
    @lr.setter
    def lr(self, arg1: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def m(self) -> dict[typing.Any, numpy.typing.NDArray[numpy.float32 | numpy.float64]] | None:
        """
        First moment per key (dict), or None before the first update.
        """
    @m.setter
    def m(self, arg1: dict[typing.Any, numpy.typing.NDArray[numpy.float32 | numpy.float64]] | None) -> None:
        ...
    @property
    def v(self) -> dict[typing.Any, numpy.typing.NDArray[numpy.float32 | numpy.float64]] | None:
        """
        Second moment per key (dict), or None before the first update.
        """
    @v.setter
    def v(self, arg1: dict[typing.Any, numpy.typing.NDArray[numpy.float32 | numpy.float64]] | None) -> None:
        ...
class _NetWorkspace:
    """
    Buffers of one network's fused calls (activations, masks, gradients), reused.
    """
    def __init__(self) -> None:
        ...
    def __reduce_ex__(self, arg0: typing.SupportsIndex) -> tuple[typing.Any, ...]:
        ...
    @property
    def grads(self) -> list[numpy.typing.NDArray[numpy.float32 | numpy.float64]]:
        """
        The gradients [dW1, db1, ...] of the last train_step (overwritten by the next).
        """
def _build_info() -> dict[str, typing.Any]:
    """
    {'isa', 'eigen_version', 'openmp'} of this build (see fastlayers.show_config).
    """
def _predict(layers: typing.Any, x: typing.Any, workspace: _NetWorkspace) -> numpy.typing.NDArray[numpy.float32 | numpy.float64]:
    """
    Fused forward pass of a layer list; returns the scores (N, C).
    """
def _train_step(layers: typing.Any, x: typing.Any, t: typing.Any, optimizer: Optimizer, workspace: _NetWorkspace) -> float:
    """
    Fused forward, SoftmaxWithLoss, backward and optimizer update of a layer list; returns the loss.
    """
def cross_entropy_error(y: numpy.typing.ArrayLike, t: numpy.typing.ArrayLike) -> float:
    """
    The book's cross_entropy_error: y probabilities (N, C) or (C,); t one-hot of y's shape (its
    argmax is the label) or integer labels (N,) (a scalar for one sample).
    Returns -sum(log(y[i, t_i] + 1e-7)) / N as a float.
    
    >>> cross_entropy_error(np.array([0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0]), 2)
    0.510825457099338
    """
def get_num_threads() -> int:
    """
    The threads fastlayers kernels may use (>= 1): the set_num_threads count, else OpenMP's default.
    
    >>> get_num_threads() >= 1
    True
    """
def set_num_threads(n: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    Sets the threads fastlayers kernels may use (at most 1024); n <= 0 restores the default (OpenMP's:
    OMP_NUM_THREADS, the core count, or what threadpoolctl.threadpool_limits sets). A count set here is not
    changed by threadpoolctl. Results do not depend on the count.
    
    >>> set_num_threads(1); get_num_threads()
    1
    >>> set_num_threads(0)   # back to OpenMP's default
    """
def softmax(x: numpy.typing.ArrayLike, *, out: numpy.typing.NDArray[numpy.float32 | numpy.float64] | None = None) -> numpy.typing.NDArray[numpy.float32 | numpy.float64]:
    """
    y = exp(x - max(x)) / sum(exp(x - max(x))) along the last axis, so it never overflows.
    
    x: any shape with at least one axis (N, C), (C,), (..., C); y: x's shape.
    out=: an array to write y into and return instead of a new one: C-contiguous, writeable, of y's
    shape and dtype; it may be x itself (in place) but not overlap it otherwise.
    
    >>> softmax(np.array([0.3, 2.9, 4.0]))
    array([0.01821127, 0.24519181, 0.73659691])
    """
isa: str
