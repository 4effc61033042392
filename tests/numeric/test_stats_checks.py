"""Numeric checks of the statistical topics: they pass, and they can fail."""

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradproof.numeric import stats_checks as sc


@pytest.mark.parametrize("name", sc.TOPICS_WITH_CHECKS, ids=list(sc.TOPICS_WITH_CHECKS))
def test_checks_pass(name):
    recs = sc.run_checks(name, seed=0)
    assert recs
    bad = [(r.check, r.max_rel_error, r.tolerance) for r in recs if not r.passed]
    assert not bad
    assert all(r.topic == name for r in recs)


def test_wrong_ridge_formula_caught():
    def wrong(X, y, lam):  # lambda added outside the inverse
        return np.linalg.solve(X.T @ X + 1e-12 * np.eye(X.shape[1]), X.T @ y) + lam

    assert not all(r.passed for r in sc.check_ridge(0, solver=wrong))


def test_wrong_least_squares_caught():
    def transposed(X, y):
        return np.linalg.solve(X.T @ X, X.T @ y)[::-1]

    assert not all(r.passed for r in sc.check_least_squares(0, solver=transposed))


def test_wrong_lambda_caught():
    recs = sc.check_map_gaussian(0, lam_rule=lambda s, s0: s0**2 / s**2)
    assert not recs[0].passed


def test_wrong_xavier_rule_caught():
    recs = sc.check_xavier(0, var_rule=lambda n_in, n_out: 1 / n_out)
    assert not recs[0].passed


def test_unknown_topic():
    with pytest.raises(KeyError):
        sc.run_checks("no_such_topic")


def test_no_sympy_import():
    code = "import sys, gradproof.numeric.stats_checks; print('sympy' in sys.modules or 'derive' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- iterations read off their cycle -----------------------------------------


def _loop(step, x, iters):
    for _ in range(iters):
        x = step(x)
    return x


@settings(max_examples=60, deadline=None)
@given(
    a=st.integers(1, 40),
    c=st.integers(0, 40),
    modulus=st.integers(1, 50),
    start=st.integers(0, 60),
    iters=st.integers(0, 300),
)
def test_iterate_equals_the_plain_loop_through_fixed_points_and_cycles(a, c, modulus, start, iters):
    def step(v):  # an affine map modulo m: every orbit ends in a cycle, of any length up to m
        return (a * v + c) % modulus

    x0 = np.array([float(start), float(start + 1)])
    assert np.array_equal(sc.iterate(step, x0, iters), _loop(step, x0, iters))


def test_iterate_keeps_memory_layout_apart():
    # the same bits in another layout are another state: no cycle may be read off them
    def step(v):
        return np.ascontiguousarray(v.T).T if v.flags.c_contiguous else np.ascontiguousarray(v) + 1

    x0 = np.zeros((2, 3))
    assert np.array_equal(sc.iterate(step, x0, 9), _loop(step, x0, 9))


def test_the_solvers_stopped_at_their_cycle_give_the_plain_loops_result():
    rng = np.random.default_rng(3)
    X = np.hstack([np.ones((500, 1)), rng.standard_normal((500, 2))])
    y = (rng.random(500) < 1 / (1 + np.exp(-X @ np.array([0.3, -1.0, 2.0])))).astype(float)

    def newton(w):
        p = 1 / (1 + np.exp(-X @ w))
        return w - np.linalg.solve(X.T @ (X * (p * (1 - p))[:, None]), X.T @ (p - y))

    assert np.array_equal(sc._newton_logistic(X, y), _loop(newton, np.zeros(3), 30))


# --- Monte Carlo sample sizes: enough for the tolerance, not more ---------------


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_monte_carlo_checks_pass_with_margin_on_other_seeds(seed):
    for rec in sc.check_xavier(seed) + sc.check_glorot(seed):
        assert rec.max_rel_error <= rec.tolerance / 2, (rec.check, rec.max_rel_error)


@pytest.mark.parametrize("seed", range(8))
def test_he_check_passes_on_every_seed_and_catches_a_rule_off_by_a_tenth(seed):
    (rec,) = sc.check_he(seed)
    assert rec.passed and rec.max_rel_error <= 0.3, rec.check
    assert not sc.check_he(seed, var_rule=lambda n_in: 2.2 / n_in)[0].passed
    assert not sc.check_he(seed, var_rule=lambda n_in: 1.8 / n_in)[0].passed


def test_xavier_catches_a_rule_off_by_a_quarter():
    assert not sc.check_xavier(0, var_rule=lambda n_in, n_out: 1.25 / n_in)[0].passed
