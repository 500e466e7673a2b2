"""SGD, Momentum, AdaGrad and Adam against an independent NumPy transcription of the book's
common/optimizer.py, over several steps, in place; and one test per bad input."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fastlayers as fl
from helpers import check_message


# --- the book's common/optimizer.py, transcribed ----------------------------------------------------------


class BookSGD:
    def __init__(self, lr=0.01):
        self.lr = lr

    def update(self, params, grads):
        for key in params.keys():
            params[key] -= self.lr * grads[key]


class BookMomentum:
    def __init__(self, lr=0.01, momentum=0.9):
        self.lr = lr
        self.momentum = momentum
        self.v = None

    def update(self, params, grads):
        if self.v is None:
            self.v = {}
            for key, val in params.items():
                self.v[key] = np.zeros_like(val)
        for key in params.keys():
            self.v[key] = self.momentum * self.v[key] - self.lr * grads[key]
            params[key] += self.v[key]


class BookAdaGrad:
    def __init__(self, lr=0.01):
        self.lr = lr
        self.h = None

    def update(self, params, grads):
        if self.h is None:
            self.h = {}
            for key, val in params.items():
                self.h[key] = np.zeros_like(val)
        for key in params.keys():
            self.h[key] += grads[key] * grads[key]
            params[key] -= self.lr * grads[key] / (np.sqrt(self.h[key]) + 1e-7)


class BookAdam:
    def __init__(self, lr=0.001, beta1=0.9, beta2=0.999):
        self.lr = lr
        self.beta1 = beta1
        self.beta2 = beta2
        self.iter = 0
        self.m = None
        self.v = None

    def update(self, params, grads):
        if self.m is None:
            self.m, self.v = {}, {}
            for key, val in params.items():
                self.m[key] = np.zeros_like(val)
                self.v[key] = np.zeros_like(val)
        self.iter += 1
        lr_t = self.lr * np.sqrt(1.0 - self.beta2**self.iter) / (1.0 - self.beta1**self.iter)
        for key in params.keys():
            self.m[key] += (1 - self.beta1) * (grads[key] - self.m[key])
            self.v[key] += (1 - self.beta2) * (grads[key] ** 2 - self.v[key])
            params[key] -= lr_t * self.m[key] / (np.sqrt(self.v[key]) + 1e-7)


PAIRS = {
    "SGD": (lambda: fl.SGD(lr=0.1), lambda: BookSGD(lr=0.1)),
    "Momentum": (lambda: fl.Momentum(lr=0.05, momentum=0.8), lambda: BookMomentum(lr=0.05, momentum=0.8)),
    "AdaGrad": (lambda: fl.AdaGrad(lr=0.1), lambda: BookAdaGrad(lr=0.1)),
    "Adam": (lambda: fl.Adam(lr=0.01, beta1=0.8, beta2=0.99), lambda: BookAdam(lr=0.01, beta1=0.8, beta2=0.99)),
}
STATE = {"SGD": (), "Momentum": ("v",), "AdaGrad": ("h",), "Adam": ("m", "v")}
RTOL = {np.float64: 1e-12, np.float32: 2e-5}


def make_params(rng, dtype, shapes=(("W1", (7, 5)), ("b1", (5,)), ("W2", (5, 3)), ("b2", (3,)))):
    return OrderedDict((k, rng.standard_normal(s).astype(dtype)) for k, s in shapes)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", list(PAIRS))
def test_matches_book_over_several_steps(name, dtype, rng):
    ours_opt, book_opt = PAIRS[name][0](), PAIRS[name][1]()
    ours = make_params(rng, dtype)
    book = OrderedDict((k, v.copy()) for k, v in ours.items())
    ids = {k: id(v) for k, v in ours.items()}
    for _ in range(6):
        grads = {k: rng.standard_normal(v.shape).astype(dtype) for k, v in ours.items()}
        ours_opt.update(ours, grads)
        book_opt.update(book, grads)
        for k in ours:
            assert id(ours[k]) == ids[k]  # in place
            assert ours[k].dtype == dtype
            np.testing.assert_allclose(ours[k], book[k], rtol=RTOL[dtype], atol=RTOL[dtype] * 1e-2)
        for s in STATE[name]:
            for k in ours:
                np.testing.assert_allclose(getattr(ours_opt, s)[k], getattr(book_opt, s)[k], rtol=RTOL[dtype],
                                           atol=RTOL[dtype] * 1e-2)
    if name == "Adam":
        assert ours_opt.iter == book_opt.iter == 6


@pytest.mark.parametrize("name", list(PAIRS))
def test_large_arrays_use_the_threaded_path(name, rng):
    ours_opt, book_opt = PAIRS[name][0](), PAIRS[name][1]()
    ours = {"W": rng.standard_normal((400, 300))}
    book = {"W": ours["W"].copy()}
    for _ in range(3):
        g = {"W": rng.standard_normal((400, 300))}
        ours_opt.update(ours, g)
        book_opt.update(book, g)
    np.testing.assert_allclose(ours["W"], book["W"], rtol=1e-12, atol=1e-14)


@given(
    shape=st.lists(st.integers(0, 6), min_size=0, max_size=3).map(tuple),
    seed=st.integers(0, 2**32 - 1),
    name=st.sampled_from(list(PAIRS)),
)
def test_any_shape_matches_book(shape, seed, name):
    rng = np.random.default_rng(seed)
    ours_opt, book_opt = PAIRS[name][0](), PAIRS[name][1]()
    ours = {"p": np.array(rng.standard_normal(shape) * 3)}  # 0-d too
    book = {"p": np.array(ours["p"], copy=True)}
    for _ in range(3):
        g = {"p": np.array(rng.standard_normal(shape) * 3)}
        ours_opt.update(ours, g)
        book_opt.update(book, g)
    np.testing.assert_allclose(ours["p"], book["p"], rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("name", list(PAIRS))
def test_non_contiguous_params_are_updated_in_place(name, rng):
    ours_opt, book_opt = PAIRS[name][0](), PAIRS[name][1]()
    base = rng.standard_normal((8, 6))
    view = base.T[::2]  # (3, 8), neither C- nor F-contiguous
    ours = {"W": view, "b": np.asfortranarray(rng.standard_normal((4, 3)))}
    book = {k: v.copy() for k, v in ours.items()}
    for _ in range(3):
        g = {"W": rng.standard_normal((3, 8)), "b": rng.standard_normal((4, 3)).T.copy().T}
        ours_opt.update(ours, g)
        book_opt.update(book, g)
    assert ours["W"].base is base or np.shares_memory(ours["W"], base)
    np.testing.assert_allclose(base.T[::2], book["W"], rtol=1e-12)
    np.testing.assert_allclose(ours["b"], book["b"], rtol=1e-12)


def test_state_is_none_before_the_first_update_then_a_dict():
    m, a, h = fl.Momentum(), fl.Adam(), fl.AdaGrad()
    assert m.v is None and a.m is None and a.v is None and h.h is None and a.iter == 0
    params = {"W": np.ones(3)}
    for opt in (m, a, h):
        opt.update(params, {"W": np.ones(3)})
    assert set(m.v) == {"W"} and set(a.m) == {"W"} and set(h.h) == {"W"} and a.iter == 1
    np.testing.assert_allclose(m.v["W"], -0.01 * np.ones(3))


def test_defaults_are_the_books():
    assert fl.SGD().lr == 0.01
    assert (fl.Momentum().lr, fl.Momentum().momentum) == (0.01, 0.9)
    assert fl.AdaGrad().lr == 0.01
    a = fl.Adam()
    assert (a.lr, a.beta1, a.beta2) == (0.001, 0.9, 0.999)


def test_lr_can_change_between_updates():
    opt = fl.SGD(lr=1.0)
    p = {"W": np.ones(2)}
    opt.update(p, {"W": np.ones(2)})
    opt.lr = 0.5
    opt.update(p, {"W": np.ones(2)})
    np.testing.assert_array_equal(p["W"], [-0.5, -0.5])


# --- bad input -------------------------------------------------------------------------------------------


def test_read_only_param_is_a_value_error_naming_the_key():
    w = np.ones(3)
    w.flags.writeable = False
    with pytest.raises(ValueError, match="read-only") as e:
        fl.SGD().update({"W1": w}, {"W1": np.ones(3)})
    check_message(e, "W1")


@pytest.mark.parametrize("bad", [np.arange(3), np.ones(3, dtype=np.float16), [1.0, 2.0, 3.0]])
def test_param_of_wrong_type_is_a_type_error_naming_the_key(bad):
    with pytest.raises(TypeError) as e:
        fl.Momentum().update({"W1": bad}, {"W1": np.ones(3)})
    check_message(e, "W1", frozenset({"float32", "float64"}))


def test_grad_shape_mismatch_is_a_value_error_naming_the_key():
    with pytest.raises(ValueError) as e:
        fl.Adam().update({"b2": np.ones(3)}, {"b2": np.ones(4)})
    check_message(e, "b2", "(4,)", "(3,)")


def test_grad_dtype_mismatch_is_a_type_error_naming_the_key():
    with pytest.raises(TypeError) as e:
        fl.AdaGrad().update({"W": np.ones(3, np.float32)}, {"W": np.ones(3)})
    check_message(e, "W", "float32", "float64")


def test_missing_grad_is_a_value_error_naming_the_key():
    with pytest.raises(ValueError) as e:
        fl.SGD().update({"W": np.ones(3), "b": np.ones(1)}, {"W": np.ones(3)})
    check_message(e, "b")


@pytest.mark.parametrize("params", [[np.ones(3)], np.ones(3), None])
def test_params_not_a_dict_is_a_type_error(params):
    with pytest.raises(TypeError) as e:
        fl.SGD().update(params, {"W": np.ones(3)})
    check_message(e, "params")


def test_failed_update_changes_nothing():
    p = {"W": np.ones(3), "b": np.ones(2)}
    opt = fl.Adam()
    with pytest.raises(ValueError):
        opt.update(p, {"W": np.ones(3), "b": np.ones(5)})
    np.testing.assert_array_equal(p["W"], np.ones(3))
    assert opt.iter == 0


def test_state_shape_change_is_reported():
    opt = fl.Momentum()
    opt.update({"W": np.ones(3)}, {"W": np.ones(3)})
    with pytest.raises(ValueError) as e:
        opt.update({"W": np.ones(4)}, {"W": np.ones(4)})
    check_message(e, "W", "(3,)", "(4,)")


@pytest.mark.parametrize(
    "make, arg",
    [
        (lambda: fl.SGD(lr=-1.0), "lr"),
        (lambda: fl.SGD(lr=float("nan")), "lr"),
        (lambda: fl.Momentum(momentum=1.5), "momentum"),
        (lambda: fl.Adam(beta1=1.0), "beta1"),
        (lambda: fl.Adam(beta2=-0.1), "beta2"),
    ],
)
def test_bad_hyperparameters_are_value_errors(make, arg):
    with pytest.raises(ValueError) as e:
        make()
    check_message(e, arg)
