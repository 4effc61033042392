"""Closed forms are solved stably: ridge and least squares against a 60-digit solution."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

from gradproof.numeric.generated import least_squares, ridge
from gradproof.numeric.stats_checks import ill_conditioned

TOL = 1e-10  # measured worst case: 7.9e-12 at cond(X) = 1e10, lambda = 1e-8


def _reference(X, y, lam):
    """(X^T X + lambda I)^{-1} X^T y in 60-digit arithmetic (the inputs are exact binary floats)."""
    mpmath.mp.dps = 60
    A, Y = mpmath.matrix(X.tolist()), mpmath.matrix(y.tolist())
    G = A.T * A + mpmath.mpf(lam) * mpmath.eye(X.shape[1])
    return np.array(mpmath.lu_solve(G, A.T * Y).tolist(), dtype=float)


def _rel(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


@pytest.mark.parametrize("cond", [1e2, 1e6, 1e10])
@pytest.mark.parametrize("lam", [1e-8, 1e-4, 1e-2, 1.0])
def test_ridge_against_high_precision(cond, lam):
    rng = np.random.default_rng(int(np.log10(cond)) * 10 + int(-np.log10(lam)))
    X = ill_conditioned(rng, 40, 6, cond)
    y = rng.standard_normal((40, 1))
    assert _rel(ridge.solve(X, y, lam=lam), _reference(X, y, lam)) <= TOL


def test_ridge_where_the_normal_equations_lose_digits():
    """Singular values 1e5 .. 1e-5, lambda = 0.01: the normal equations lose 5-6 digits more than lstsq."""
    rng = np.random.default_rng(0)
    X = 1e5 * ill_conditioned(rng, 40, 6, 1e10)
    y = rng.standard_normal((40, 1))
    ref = _reference(X, y, 0.01)
    normal = np.linalg.solve(X.T @ X + 0.01 * np.eye(6), X.T @ y)
    assert _rel(normal, ref) > 1e-6  # measured 8.1e-06: the check can fail
    assert _rel(ridge.solve(X, y, lam=0.01), ref) <= TOL  # measured 1.1e-11
    import inspect

    assert "np.linalg.solve" not in inspect.getsource(ridge.solve)


@pytest.mark.parametrize("cond", [1e2, 1e6, 1e10])
def test_least_squares_against_high_precision(cond):
    """Consistent data, error within 1e-15 cond(X) (lstsq: eps cond; the normal equations: eps cond^2)."""
    rng = np.random.default_rng(int(np.log10(cond)))
    X = ill_conditioned(rng, 40, 6, cond)
    y = X @ rng.standard_normal((6, 1))
    ref = _reference(X, y, 0)
    tol = 1e-15 * cond
    assert _rel(least_squares.solve(X, y), ref) <= tol
    if cond >= 1e6:
        assert _rel(np.linalg.solve(X.T @ X, X.T @ y), ref) > tol  # the normal equations miss it
