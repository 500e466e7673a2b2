"""fastlayers C++ core: the build for this CPU (see fastlayers._core)."""
from __future__ import annotations
import numpy
import typing
__all__: list[str] = ['AdaGrad', 'Adam', 'Affine', 'Momentum', 'Optimizer', 'Relu', 'SGD', 'Sigmoid', 'SoftmaxWithLoss', 'cross_entropy_error', 'get_num_threads', 'isa', 'set_num_threads', 'softmax']
class Relu:
    """
    ReLU layer of "Deep Learning from Scratch" 5.5.1.
    
    forward(x):    mask = (x <= 0); returns x with the masked entries set to 0.
    backward(dout): returns dout with the masked entries set to 0 (gradient 0 at x == 0).
    
    Neither call modifies its argument; each returns a new array of x's dtype
    (float32 stays float32; integers and bool compute in float64).
    
    >>> relu = Relu()
    >>> relu.forward(np.array([[1.0, -0.5], [-2.0, 3.0]]))
    array([[1., 0.],
           [0., 3.]])
    """
    def __getstate__(self) -> tuple:
        ...
    def __init__(self) -> None:
        ...
    def __reduce_ex__(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> tuple[..., tuple[typing.Any], typing.Any]:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, arg0: tuple) -> None:
        ...
    def backward(self, dout: typing.Any) -> numpy.ndarray[typing.Any, numpy.dtype[typing.Any]]:
        """
        dx = dout with the entries where x <= 0 set to 0. dout must have x's shape.
        """
    def forward(self, x: typing.Any) -> numpy.ndarray[typing.Any, numpy.dtype[typing.Any]]:
        """
        mask = (x <= 0); out = x with masked entries 0. Returns out.
        """
    @property
    def mask(self) -> typing.Any:
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
    def __getstate__(self) -> tuple[typing.Any]:
        ...
    def __init__(self) -> None:
        ...
    def __reduce_ex__(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> tuple[..., tuple[typing.Any], typing.Any]:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, arg0: tuple) -> None:
        ...
    def backward(self, dout: typing.Any) -> numpy.ndarray[typing.Any, numpy.dtype[typing.Any]]:
        """
        dx = dout * (1 - out) * out. dout must have out's shape.
        """
    def forward(self, x: typing.Any) -> numpy.ndarray[typing.Any, numpy.dtype[typing.Any]]:
        """
        out = 1 / (1 + exp(-x)), overflow-free. Returns out.
        """
    @property
    def out(self) -> typing.Any:
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
    def __getstate__(self) -> tuple:
        ...
    def __init__(self, W: typing.Any, b: typing.Any) -> None:
        ...
    def __reduce_ex__(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> tuple[..., tuple[typing.Any], typing.Any]:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, arg0: tuple) -> None:
        ...
    def backward(self, dout: typing.Any) -> numpy.ndarray[typing.Any, numpy.dtype[typing.Any]]:
        """
        dout (N, M); sets dW = x.T @ dout and db = dout.sum(0); returns dx = dout @ W.T in x's shape.
        """
    def forward(self, x: typing.Any) -> numpy.ndarray[typing.Any, numpy.dtype[typing.Any]]:
        """
        x (N, ...) flattened to (N, D); returns x @ W + b of shape (N, M).
        """
    @property
    def W(self) -> numpy.ndarray[typing.Any, numpy.dtype[typing.Any]]:
        """
        The caller's weight array (D, M), by reference.
        """
    @W.setter
    def W(self, arg1: typing.Any) -> None:
        ...
    @property
    def b(self) -> numpy.ndarray[typing.Any, numpy.dtype[typing.Any]]:
        """
        The caller's bias array (M,), by reference.
        """
    @b.setter
    def b(self, arg1: typing.Any) -> None:
        ...
    @property
    def dW(self) -> typing.Any:
        """
        Gradient of W from the last backward, or None.
        """
    @property
    def db(self) -> typing.Any:
        """
        Gradient of b from the last backward, or None.
        """
    @property
    def original_x_shape(self) -> typing.Any:
        """
        The shape of the last forward's x, or None.
        """
    @property
    def x(self) -> typing.Any:
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
    def __getstate__(self) -> tuple:
        ...
    def __init__(self) -> None:
        ...
    def __reduce_ex__(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> tuple[..., tuple[typing.Any], typing.Any]:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, arg0: tuple) -> None:
        ...
    def backward(self, dout: typing.Any = 1.0) -> numpy.ndarray[typing.Any, numpy.dtype[typing.Any]]:
        """
        Returns dx = (y - t_onehot) * dout / N.
        """
    def forward(self, x: typing.Any, t: typing.Any) -> float:
        """
        y = softmax(x); returns the mean cross-entropy of y against t (one-hot or labels).
        """
    @property
    def loss(self) -> typing.Any:
        """
        The loss of the last forward, or None.
        """
    @property
    def t(self) -> typing.Any:
        """
        The targets of the last forward, or None.
        """
    @property
    def y(self) -> typing.Any:
        """
        softmax(x) of the last forward, or None.
        """
class Optimizer:
    """
    Base class of the optimizers: update(params, grads) updates params in place.
    """
    def update(self, params: typing.Any, grads: typing.Any) -> None:
        """
        Updates every params[key] in place from grads[key], in C++ (the GIL is released).
        
        params: dict of writable float32/float64 ndarrays; grads: a dict with the same keys, each of
        the same shape and dtype as its parameter. Errors name the key; nothing is updated on error.
        """
class SGD(Optimizer):
    """
    Stochastic gradient descent (the book's common/optimizer.py): params[key] -= lr * grads[key].
    
    >>> opt = SGD(lr=0.1); params = {"W": np.ones(2)}; opt.update(params, {"W": np.ones(2)}); params["W"]
    array([0.9, 0.9])
    """
    def __getstate__(self) -> tuple[float, float, float, float, int, typing.Any, typing.Any]:
        ...
    def __init__(self, lr: typing.SupportsFloat | typing.SupportsIndex = 0.01) -> None:
        ...
    def __reduce_ex__(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> tuple[..., tuple[typing.Any], typing.Any]:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, arg0: tuple) -> None:
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
    """
    def __getstate__(self) -> tuple[float, float, float, float, int, typing.Any, typing.Any]:
        ...
    def __init__(self, lr: typing.SupportsFloat | typing.SupportsIndex = 0.01, momentum: typing.SupportsFloat | typing.SupportsIndex = 0.9) -> None:
        ...
    def __reduce_ex__(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> tuple[..., tuple[typing.Any], typing.Any]:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, arg0: tuple) -> None:
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
        ...
    @momentum.setter
    def momentum(self, arg1: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def v(self) -> typing.Any:
        """
        Velocity per key (dict), or None before the first update.
        """
    @v.setter
    def v(self, arg1: typing.Any) -> None:
        ...
class AdaGrad(Optimizer):
    """
    AdaGrad (the book): h += grads[key]**2; params[key] -= lr * grads[key] / (sqrt(h) + 1e-7).
    `h` is None before the first update, then a dict of arrays like params.
    """
    def __getstate__(self) -> tuple[float, float, float, float, int, typing.Any, typing.Any]:
        ...
    def __init__(self, lr: typing.SupportsFloat | typing.SupportsIndex = 0.01) -> None:
        ...
    def __reduce_ex__(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> tuple[..., tuple[typing.Any], typing.Any]:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, arg0: tuple) -> None:
        ...
    @property
    def h(self) -> typing.Any:
        """
        Sum of squared gradients per key (dict), or None before the first update.
        """
    @h.setter
    def h(self, arg1: typing.Any) -> None:
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
    """
    def __getstate__(self) -> tuple[float, float, float, float, int, typing.Any, typing.Any]:
        ...
    def __init__(self, lr: typing.SupportsFloat | typing.SupportsIndex = 0.001, beta1: typing.SupportsFloat | typing.SupportsIndex = 0.9, beta2: typing.SupportsFloat | typing.SupportsIndex = 0.999) -> None:
        ...
    def __reduce_ex__(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> tuple[..., tuple[typing.Any], typing.Any]:
        ...
    def __repr__(self) -> str:
        ...
    def __setstate__(self, arg0: tuple) -> None:
        ...
    @property
    def beta1(self) -> float:
        ...
    @beta1.setter
    def beta1(self, arg1: typing.SupportsFloat | typing.SupportsIndex) -> None:
        ...
    @property
    def beta2(self) -> float:
        ...
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
    def m(self) -> typing.Any:
        """
        First moment per key (dict), or None before the first update.
        """
    @m.setter
    def m(self, arg1: typing.Any) -> None:
        ...
    @property
    def v(self) -> typing.Any:
        """
        Second moment per key (dict), or None before the first update.
        """
    @v.setter
    def v(self, arg1: typing.Any) -> None:
        ...
class _NetWorkspace:
    """
    Buffers of one network's fused calls (activations, masks, gradients), reused.
    """
    def __init__(self) -> None:
        ...
    def __reduce_ex__(self, arg0: typing.SupportsInt | typing.SupportsIndex) -> typing.Any:
        ...
    @property
    def grads(self) -> list:
        """
        The gradients [dW1, db1, ...] of the last train_step (overwritten by the next).
        """
def _predict(layers: typing.Any, x: typing.Any, workspace: _NetWorkspace) -> numpy.ndarray[typing.Any, numpy.dtype[typing.Any]]:
    """
    Fused forward pass of a layer list; returns the scores (N, C).
    """
def _train_step(layers: typing.Any, x: typing.Any, t: typing.Any, optimizer: Optimizer, workspace: _NetWorkspace) -> float:
    """
    Fused forward, SoftmaxWithLoss, backward and optimizer update of a layer list; returns the loss.
    """
def cross_entropy_error(y: typing.Any, t: typing.Any) -> float:
    """
    The book's cross_entropy_error: y probabilities (N, C) or (C,); t one-hot of y's shape (its
    argmax is the label) or integer labels. Returns -sum(log(y[i, t_i] + 1e-7)) / N as a float.
    
    >>> cross_entropy_error(np.array([0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0]), 2)
    0.510825457099338
    """
def get_num_threads() -> int:
    """
    Threads fastlayers kernels may use.
    """
def set_num_threads(n: typing.SupportsInt | typing.SupportsIndex) -> None:
    """
    Threads fastlayers kernels may use, at most 1024; n <= 0 restores the default (OMP_NUM_THREADS or the core count).
    """
def softmax(x: typing.Any) -> numpy.ndarray[typing.Any, numpy.dtype[typing.Any]]:
    """
    softmax along the last axis of x (1-D, 2-D or N-D), max-subtracted so it never overflows.
    
    >>> softmax(np.array([0.3, 2.9, 4.0]))
    array([0.01821127, 0.24519181, 0.73659691])
    """
isa: str
