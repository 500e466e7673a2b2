"""Numerical-gradient checks (float64, central differences) of every layer's backward.

For Affine, dW and db are checked by perturbing W and b IN PLACE between forwards, which also proves that
the layer reads the caller's arrays by reference.
"""

from __future__ import annotations

import numpy as np
import pytest

import fastlayers as fl
import reference as ref
from helpers import numerical_gradient

H = 1e-5
RTOL, ATOL = 1e-6, 1e-8


def check(analytic, numeric, rtol=RTOL, atol=ATOL):
    assert analytic.shape == numeric.shape
    np.testing.assert_allclose(analytic, numeric, rtol=rtol, atol=atol)


@pytest.mark.parametrize("shape", [(1, 1), (3, 4), (2, 3, 2), (5,)])
def test_relu_gradient(shape, rng):
    x = rng.standard_normal(shape)
    x[np.abs(x) < 1e-3] = 0.5  # keep away from the kink
    G = rng.standard_normal(shape)

    def loss():
        return float(np.sum(fl.Relu().forward(x) * G))

    num = numerical_gradient(loss, x, H)
    relu = fl.Relu()
    relu.forward(x)
    check(relu.backward(G), num)


@pytest.mark.parametrize("shape", [(1, 1), (3, 4), (2, 3, 2), (5,)])
def test_sigmoid_gradient(shape, rng):
    x = 3 * rng.standard_normal(shape)
    G = rng.standard_normal(shape)

    def loss():
        return float(np.sum(fl.Sigmoid().forward(x) * G))

    num = numerical_gradient(loss, x, H)
    sig = fl.Sigmoid()
    sig.forward(x)
    check(sig.backward(G), num)


@pytest.mark.parametrize("x_shape,m", [((1, 1), 1), ((4, 3), 2), ((2, 2, 3), 4), ((3,), 2), ((1, 5), 3)])
def test_affine_gradients_with_inplace_perturbation(x_shape, m, rng):
    x = rng.standard_normal(x_shape)
    d = 1 if x.ndim == 1 else int(np.prod(x_shape[1:]))
    W = rng.standard_normal((d, m))
    b = rng.standard_normal(m)
    n = x_shape[0]
    G = rng.standard_normal((n, m))
    aff = fl.Affine(W, b)  # the same layer throughout: perturbing W, b in place must be seen

    def loss():
        return float(np.sum(aff.forward(x) * G))

    num_x = numerical_gradient(loss, x, H)
    num_W = numerical_gradient(loss, W, H)
    num_b = numerical_gradient(loss, b, H)

    aff.forward(x)
    dx = aff.backward(G)
    check(dx, num_x)
    check(aff.dW, num_W)
    check(aff.db, num_b)
    assert aff.W is W and aff.b is b


def test_affine_inplace_perturbation_moves_the_output():
    """Guards the check above: were W copied at construction, the numerical dW would be all zeros."""
    W = np.ones((2, 2))
    b = np.zeros(2)
    aff = fl.Affine(W, b)
    x = np.array([[1.0, 2.0]])
    before = aff.forward(x).copy()
    W[1, 0] += H
    after = aff.forward(x)
    assert after[0, 0] - before[0, 0] == pytest.approx(2 * H, rel=1e-6)
    assert after[0, 1] == before[0, 1]


@pytest.mark.parametrize("target", ["labels", "onehot", "soft"])
@pytest.mark.parametrize("n,c", [(1, 1), (1, 3), (4, 5), (6, 2)])
@pytest.mark.parametrize("dout", [1.0, 2.5])
def test_softmax_with_loss_gradient(target, n, c, dout, rng):
    x = 2 * rng.standard_normal((n, c))
    labels = rng.integers(0, c, n)
    if target == "labels":
        t = labels
    elif target == "onehot":
        t = ref.one_hot(labels, c)
    else:
        t = rng.random((n, c)) + 0.1
        t /= t.sum(axis=1, keepdims=True)

    def loss():
        return dout * fl.SoftmaxWithLoss().forward(x, t)

    num = numerical_gradient(loss, x, H)
    swl = fl.SoftmaxWithLoss()
    swl.forward(x, t)
    check(swl.backward(dout), num)


@pytest.mark.parametrize("label", [0, 3])
def test_softmax_with_loss_gradient_one_sample_1d(label, rng):
    x = rng.standard_normal(5)

    def loss():
        return fl.SoftmaxWithLoss().forward(x, label)

    num = numerical_gradient(loss, x, H)
    swl = fl.SoftmaxWithLoss()
    swl.forward(x, label)
    check(swl.backward(), num)


def test_two_layer_net_gradient_check_like_the_book(rng):
    """Ch. 5.7's gradient check: Affine -> Relu -> Affine -> SoftmaxWithLoss, parameters perturbed in place."""
    n, d, hdim, c = 5, 6, 4, 3
    x = rng.standard_normal((n, d))
    t = rng.integers(0, c, n)
    W1, b1 = rng.standard_normal((d, hdim)), 0.1 * rng.standard_normal(hdim)
    W2, b2 = rng.standard_normal((hdim, c)), 0.1 * rng.standard_normal(c)
    a1, relu, a2, last = fl.Affine(W1, b1), fl.Relu(), fl.Affine(W2, b2), fl.SoftmaxWithLoss()

    def loss():
        return last.forward(a2.forward(relu.forward(a1.forward(x))), t)

    # The seeded data keep every hidden pre-activation away from Relu's kink, so differences are smooth.
    assert np.abs(a1.forward(x)).min() > 1e-3

    nums = [numerical_gradient(loss, p, H) for p in (W1, b1, W2, b2)]
    loss()
    a1.backward(relu.backward(a2.backward(last.backward())))
    for analytic, num in zip((a1.dW, a1.db, a2.dW, a2.db), nums):
        check(analytic, num, rtol=1e-5, atol=1e-8)

    # and the same numbers from the reference network
    r1, rr, r2, rl = ref.Affine(W1, b1), ref.Relu(), ref.Affine(W2, b2), ref.SoftmaxWithLoss()
    rl.forward(r2.forward(rr.forward(r1.forward(x))), t)
    r1.backward(rr.backward(r2.backward(rl.backward())))
    for ours, theirs in zip((a1.dW, a1.db, a2.dW, a2.db), (r1.dW, r1.db, r2.dW, r2.db)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)
