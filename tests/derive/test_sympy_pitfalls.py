"""SymPy's matrix calculus is silently wrong for the lecture's central cases
(measured on SymPy 1.14); the engine's results are right anyway.

Each test computes SymPy's matrix-symbol derivative and the engine's result,
and checks the engine's against explicit scalar differentiation.  Where SymPy
gives the (wrong) answer it gave when measured, the test says so; should a
future SymPy get it right, the test demands agreement instead.
"""

import numpy as np
import sympy as sp
from sympy import MatrixSymbol, OneMatrix, Trace
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction as EAF

from gradproof.derive.engine import mexpr as mx
from gradproof.derive.lecture.registry import derive

m, n, K = sp.symbols("m n K", positive=True, integer=True)


def _is_zero(g) -> bool:
    return isinstance(g, sp.ZeroMatrix) or (not getattr(g, "is_Matrix", False) and g == 0)


def _numeric(expr, env, dims):
    return np.array(mx.evaluate(expr, env, dims).evalf(), dtype=float)


def test_cross_entropy_via_log_sum_exp():
    X, W, Y = MatrixSymbol("X", m, n), MatrixSymbol("W", n, K), MatrixSymbol("Y", m, K)
    S = X * W
    ce = -Trace(Y.T * S) + Trace(OneMatrix(1, m) * EAF(sp.log, EAF(sp.exp, S) * OneMatrix(K, 1)))
    sympy_grad = sp.diff(ce, W)
    # the engine: X^T (P - Y) (times 1/m for the mean), proved exactly
    d = derive("multinomial_logistic_regression")
    assert d.passed
    rng = np.random.default_rng(0)
    Xv, Wv = rng.normal(size=(2, 3)), rng.normal(size=(3, 4))
    Yv = np.eye(4)[[1, 3]]
    Sv = Xv @ Wv
    Pv = np.exp(Sv) / np.exp(Sv).sum(axis=1, keepdims=True)
    ours = _numeric(
        d.result("grad:W").matrix, {"X": sp.Matrix(Xv), "P": sp.Matrix(Pv), "Y": sp.Matrix(Yv)}, {m: 2, n: 3, K: 4}
    )
    truth = Xv.T @ (Pv - Yv) / 2
    assert np.allclose(ours, truth)
    assert np.abs(truth).max() > 1e-3
    if _is_zero(sympy_grad):
        pass  # the known pitfall: log-sum-exp differentiates to 0 in SymPy
    else:  # pragma: no cover - a future SymPy
        got = np.array(
            sympy_grad.subs({X: sp.Matrix(Xv), W: sp.Matrix(Wv), Y: sp.Matrix(Yv)}).doit().evalf(), dtype=float
        )
        assert np.allclose(got, truth * 2)


def test_sum_of_traces():
    X, W, Y = MatrixSymbol("X", m, n), MatrixSymbol("W", n, K), MatrixSymbol("Y", m, K)
    expr = Trace(W.T * W) + Trace(Y.T * X * W)
    sympy_grad = sp.diff(expr, W)
    rng = np.random.default_rng(1)
    Xv, Wv, Yv = rng.normal(size=(2, 3)), rng.normal(size=(3, 4)), rng.normal(size=(2, 4))
    truth = 2 * Wv + Xv.T @ Yv
    # explicit scalar differentiation as the oracle
    We = sp.Matrix(3, 4, lambda a, b: sp.Symbol(f"w{a}{b}"))
    f = (We.T * We).trace() + (sp.Matrix(Yv).T * sp.Matrix(Xv) * We).trace()
    grad = np.array(
        [[float(sp.diff(f, We[a, b]).subs(dict(zip(We, Wv.flatten())))) for b in range(4)] for a in range(3)]
    )
    assert np.allclose(grad, truth)
    if _is_zero(sympy_grad):
        pass  # the known pitfall
    else:  # pragma: no cover
        got = np.array(
            sympy_grad.subs({X: sp.Matrix(Xv), W: sp.Matrix(Wv), Y: sp.Matrix(Yv)}).doit().evalf(), dtype=float
        )
        assert np.allclose(got, truth)


def test_logistic_regression_with_vector_w():
    X, w, y = MatrixSymbol("X", m, n), MatrixSymbol("w", n, 1), MatrixSymbol("y", m, 1)
    u = sp.Symbol("u")
    sig = EAF(sp.Lambda(u, 1 / (1 + sp.exp(-u))), X * w)
    L = -(y.T * EAF(sp.log, sig) + (OneMatrix(m, 1) - y).T * EAF(sp.log, OneMatrix(m, 1) - sig))
    try:
        g = sp.diff(L, w)
    except (IndexError, ValueError):
        g = None  # SymPy 1.14: "index is larger than expression shape"
    d = derive("logistic_regression")
    assert d.passed
    # the engine's gradient has the shape of w whatever SymPy does: n + 1 rows, w_0 .. w_n (x0 = 1 and n features)
    assert tuple(d.result("grad:w").shape) == (n + 1, 1)
    if g is not None and getattr(g, "shape", None) == (n, 1):  # pragma: no cover - a future SymPy
        rng = np.random.default_rng(2)
        Xv, wv, yv = rng.normal(size=(2, 3)), rng.normal(size=(3, 1)), np.array([[1.0], [0.0]])
        got = np.array(g.subs({X: sp.Matrix(Xv), w: sp.Matrix(wv), y: sp.Matrix(yv)}).doit().evalf(), dtype=float)
        yhat = 1 / (1 + np.exp(-Xv @ wv))
        assert np.allclose(got, Xv.T @ (yhat - yv))
