"""Network.check: the gradient at unchanged arguments is computed once, and a wrong gradient is still caught."""

from __future__ import annotations

import types

import numpy as np
import pytest

from gradproof.numeric.network import MLP, load


def _data(rng, m=6, n=4, K=3):
    return rng.normal(size=(m, n)), np.eye(K)[rng.integers(0, K, m)]


def _counting(net):
    calls = []
    real = net.gradient

    def gradient(*a, **kw):
        calls.append(net.theta.copy())
        return real(*a, **kw)

    net.gradient = gradient
    return calls


def test_directional_check_computes_the_gradient_once():
    rng = np.random.default_rng(0)
    X, Y = _data(rng)
    net = MLP((4, 5, 3), seed=0)
    before = net.theta.copy()
    calls = _counting(net)
    recs = net.check(X, Y, methods=("directional",), seeds=5)
    assert all(r.passed for r in recs) and len(recs) == len(net.keys)
    # one gradient for the unperturbed parameters, at the unperturbed parameters
    assert len(calls) == 1
    np.testing.assert_array_equal(calls[0], before)
    np.testing.assert_array_equal(net.theta, before)


def test_check_evaluates_the_loss_at_the_perturbed_parameters():
    # every loss evaluation must see exactly the parameters the checker asked for
    rng = np.random.default_rng(1)
    X, Y = _data(rng)
    net = MLP((4, 3, 3), seed=1)
    seen = []
    real = net.loss

    def loss(*a):
        seen.append(net.theta.copy())
        return real(*a)

    net.loss = loss
    recs = net.check(X, Y, methods=("central",), wrt=["b2"])
    assert all(r.passed for r in recs)
    moved = [np.flatnonzero(t != seen[0]) for t in seen[1:]]
    b2 = slice(net.n_params - 3, net.n_params)
    assert all(len(i) == 1 and b2.start <= i[0] < b2.stop for i in moved)
    assert len({int(i[0]) for i in moved}) == 3


@pytest.mark.parametrize("method", ["central", "directional"])
def test_a_wrong_bias_gradient_is_still_caught(method):
    affine = load("affine")
    wrong = types.ModuleType("affine_wrong")
    wrong.__dict__.update({k: v for k, v in vars(affine).items() if not k.startswith("__")})

    def backward(delta, z, W, b):
        delta_in, g = affine.backward(delta, z, W, b)
        return delta_in, {"W": g["W"], "b": 0.5 * g["b"]}  # a dropped factor 2 on the bias only

    wrong.backward = backward
    rng = np.random.default_rng(2)
    X, Y = _data(rng)
    net = MLP((4, 5, 3), seed=2, modules={"affine": wrong})
    net.params["b1"][...] = rng.normal(size=5)
    net.params["b2"][...] = rng.normal(size=3)
    recs = {r.check.split(": ")[-1]: r for r in net.check(X, Y, methods=(method,))}
    assert not recs["dL/db2"].passed and not recs["dL/db1"].passed
    assert recs["dL/dW2"].passed
