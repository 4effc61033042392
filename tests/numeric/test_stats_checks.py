"""Numeric checks of the statistical topics: they pass, and they can fail."""

import subprocess
import sys

import numpy as np
import pytest

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
