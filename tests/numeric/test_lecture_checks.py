"""Numerical checks of the lecture topics, the experiments behind them, and that each can fail."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradproof.numeric import experiments, lecture_checks


@pytest.mark.parametrize("topic", lecture_checks.TOPICS_WITH_CHECKS)
def test_checks_pass(topic):
    recs = lecture_checks.run_checks(topic)
    assert recs and all(r.passed for r in recs), [r.detail for r in recs if not r.passed]


def test_unknown_topic_has_no_checks():
    assert lecture_checks.run_checks("linear") == []


def test_vanishing_check_fails_on_a_wrong_gain(monkeypatch):
    real = experiments.init_experiment

    def doubled(**kw):
        r = real(**kw)
        r["predicted"] = [2 * p for p in r["predicted"]]
        return r

    monkeypatch.setattr(experiments, "init_experiment", doubled)
    recs = lecture_checks.check_vanishing_gradient(layers=3, width=80, samples=60)
    assert not all(r.passed for r in recs if "vs sqrt" in r.check)


def test_sigma0_one_grows_and_small_sigma0_vanishes():
    big = experiments.init_experiment(layers=4, width=200, samples=80, sigma0=1.0)
    small = experiments.init_experiment(layers=4, width=200, samples=80, sigma0=0.01)
    assert min(big["ratio"]) > 1.5 and max(small["ratio"]) < 0.5
    assert big["delta_norm"][0] > big["delta_norm"][-1] > small["delta_norm"][0]
    for r in (big, small):
        assert np.allclose(r["ratio"], r["predicted"], rtol=0.15)


def test_xavier_keeps_the_message_near_one():
    r = experiments.init_experiment(layers=5, width=200, samples=80, init="xavier")
    assert 0.5 < float(np.exp(np.mean(np.log(r["ratio"])))) < 1.2


@pytest.mark.parametrize(
    "kw", [dict(layers=0), dict(activation="softmax"), dict(init="gaussian", sigma0=None), dict(sigma0=-1.0)]
)
def test_init_experiment_rejects_bad_settings(kw):
    base = dict(layers=2, width=10, samples=5, sigma0=1.0)
    base.update(kw)
    with pytest.raises(ValueError):
        experiments.init_experiment(**base)


def test_linear_near_zero_check_catches_a_wrong_sigmoid(monkeypatch):
    monkeypatch.setattr(lecture_checks, "_sigmoid", lambda s: 0.5 + s / 4)
    recs = lecture_checks.check_linear_near_zero()
    assert not recs[0].passed


def test_relu_check_catches_a_leaky_module(monkeypatch):
    import gradproof.numeric.network as network

    real = network.load

    def load(name):
        return real("leaky_relu") if name == "relu" else real(name)

    monkeypatch.setattr(network, "load", load)
    recs = lecture_checks.check_relu_properties()
    assert not all(r.passed for r in recs)


def test_regularisation_demo_overfits_without_l2_and_the_path_is_monotone():
    d = experiments.regularisation_demo()
    free, l2 = d["fits"].values()
    assert free["train_mse"] < l2["train_mse"] and free["test_mse"] > 10 * l2["test_mse"]
    assert free["w_norm"] > l2["w_norm"]
    p = d["path"]
    assert np.all(np.diff(p["train_mse"]) >= -1e-12) and np.all(np.diff(p["w_norm"]) <= 1e-12)
    assert p["lambda"][0] < d["best_lambda"] < p["lambda"][-1]


def test_early_stopping_restores_the_best_parameters():
    run = experiments.train_digits_with(
        epochs=300, alpha=3.0, validation=0.3, patience=2, train_size=100, hidden=32, check=False
    )
    c = run.curve
    assert c["stopped_at"] is not None and c["stopped_at"] < 300
    best = int(np.argmin(c["validation_loss"]))
    assert c["best_iteration"] == c["iterations"][best]
    assert c["iterations"][-1] == c["stopped_at"]


@pytest.mark.parametrize(
    "kw",
    [
        dict(l1=0.1, l2=0.1),
        dict(patience=3),
        dict(init="bogus"),
        dict(validation=1.0),
        dict(activation="softmax"),
        dict(alpha=0.0),
    ],
)
def test_training_rejects_bad_settings(kw):
    with pytest.raises(ValueError):
        experiments.train_digits_with(epochs=1, check=False, **kw)


def test_lecture_checks_import_no_sympy():
    import subprocess
    import sys

    code = "import sys, gradproof.numeric.lecture_checks, gradproof.numeric.experiments; print('sympy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=-50, max_value=50, allow_nan=False))
def test_generated_activation_derivatives_obey_the_proved_bounds(s):
    from gradproof.numeric.network import load

    z = np.array([[s]])
    one = np.ones_like(z)
    dt = load("tanh").backward(one, z)[0][0, 0]
    ds = load("sigmoid").backward(one, z)[0][0, 0]
    ulp = 4 * np.finfo(float).eps  # the bounds are exact; the float evaluation may round past them by an ulp or so
    assert 0.0 <= dt <= 1.0 + ulp and 0.0 <= ds <= 0.25 + ulp
    if s != 0.0:
        assert load("relu").backward(one, z)[0][0, 0] == (1.0 if s > 0 else 0.0)
