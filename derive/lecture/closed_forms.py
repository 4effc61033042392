"""Closed forms: least squares and ridge solved from ``dL/dw = 0``; logistic
regression shown to have none.

The gradient is taken term by term with SymPy's matrix-symbol calculus (fine
for these polynomial losses, see DESIGN.md), the stationarity equation is
collected into ``A w = b`` by :func:`gradproof.derive.lecture.stats.affine_parts`, and the
solution is the :class:`gradproof.derive.engine.mexpr.Solve` node ``A^{-1} b``.  Every result
is then proved exactly at ``m = 5, n = 3`` against the scalar
differentiation of the explicit loss (SymEngine's for the polynomial losses,
whose every entry ``expand`` decides: :mod:`gradproof.derive.lecture.exact`).

>>> from gradproof.derive.lecture.registry import derive
>>> d = derive("ridge")
>>> str(d.result("solution").matrix)
'(X^T X + lambda I)^-1 X^T y'
>>> d.passed
True
"""

from __future__ import annotations

import functools
import random

import sympy as sp
from sympy.matrices.expressions import MatMul, MatrixExpr, MatrixSymbol, Transpose
from sympy.matrices.expressions.special import Identity

from gradproof.derive.engine import mexpr as mx
from gradproof.derive.lecture.exact import (
    grad,
    hessian,
    same,
    substitute,
    to_symengine,
    to_symengine_matrix,
    to_sympy_matrix,
)
from gradproof.derive.lecture.functions import sigmoid
from gradproof.derive.lecture.stats import (
    Builder,
    affine_parts,
    gradient,
    is_zero,
    matrices_equal,
    prose,
    random_rational_matrix,
    symbolic_matrix,
    to_mexpr,
)
from gradproof.derive.output.printing import to_latex, to_text
from gradproof.derive.proof.zero import EXPAND_ONLY, exact_zero, load_symengine

m, n = sp.symbols("m n", positive=True, integer=True)
lam = sp.Symbol("lambda", positive=True)
# n features and the column of ones x0 = 1 (slide "Linear Neuron"): X is m x (n + 1), w = (w_0 .. w_n)
X = MatrixSymbol("X", m, n + 1)
y = MatrixSymbol("y", m, 1)
w = MatrixSymbol("w", n + 1, 1)
ROLES = {"X": "input", "y": "target", "w": "param"}

# Explicit sizes of the exact proofs: non-square so a transpose error shows.
M, N = 5, 3
N1 = N + 1  # the columns of X: n features and x0 = 1
SIZES = f"m={M}, n={N}"
DIMS = {m: M, n: N}

# Matrix-language symbols, shared with the declarations' claims.
Xs = mx.Sym("X", (m, n + 1), "input")
ys = mx.Sym("y", (m, 1), "target")
ws = mx.Sym("w", (n + 1, 1), "param")


def _lbl(e) -> tuple[str, str]:
    return to_text(e), to_latex(e)


@functools.lru_cache(maxsize=16)
def _term_gradient(term):
    # least squares and ridge share all but one term (a term's gradient is computed once per process)
    # NOTE: SymPy 1.14 leaves d(y^T y)/dw as an unevaluated ArrayDerivative
    # when the term does not contain w; such a term contributes 0.
    if not term.has(w):
        return None
    got = scalar_term_gradient(term, w)
    return got if got is not None else sp.diff(term, w)


def scalar_term_gradient(term, v):
    """``d term / d v`` for a scalar ``c a^T v``, ``c v^T a`` or ``c v^T A v`` (``v`` a column
    vector, ``a``, ``A`` products of matrices free of ``v``): ``c a``, ``c a`` and
    ``c A v + c A^T v`` (``2 c A v`` for a symmetric ``A``); ``None`` for any other term.

    The rules of matrix calculus the lecture states, the same results as
    SymPy's matrix-symbol ``diff`` without its tensor-array machinery.

    >>> scalar_term_gradient(w.T * X.T * X * w, w), scalar_term_gradient(-2 * y.T * X * w, w)
    (2*X.T*X*w, -2*X.T*y)
    """
    if getattr(term, "shape", None) != (1, 1):
        return None
    if isinstance(term, MatMul):
        coeff, mats = term.as_coeff_matrices()
    elif isinstance(term, MatrixExpr):
        coeff, mats = sp.Integer(1), [term]
    else:
        return None
    if coeff.has(v):
        return None
    left, right = mats[0] == v.T, mats[-1] == v
    middle = mats[int(left) : len(mats) - int(right)]
    if any(f.has(v) for f in middle) or not (left or right) or (left and right and len(mats) < 2):
        return None
    if left and right:
        A = MatMul(*middle).doit() if middle else Identity(v.shape[0])
        At = Transpose(A).doit()
        if At == A:
            return (2 * coeff * A * v).doit() if middle else (2 * coeff * v).doit()
        return (coeff * A * v + coeff * At * v).doit()
    if right:  # c a^T v with a^T = middle
        return (coeff * Transpose(MatMul(*middle)).doit()).doit()
    return (coeff * MatMul(*middle)).doit()


def _least_squares_like(topic, with_ridge: bool):
    B = Builder(topic)
    grad_m, sol, hess = _ls_derivation(B, with_ridge)
    _ls_proofs(B, with_ridge, grad_m, sol, hess)
    return B.freeze()


def _ls_derivation(B: Builder, with_ridge: bool):
    """Definitions, steps and results: the gradient, ``w*`` and the Hessian (matrix language)."""
    loss = (y - X * w).T * (y - X * w)
    if with_ridge:
        loss = loss + lam * w.T * w
    B.define(
        "yhat",
        r"\hat{\mathbf{y}}",
        to_mexpr(X * w, ROLES),
        "n features and the column of ones x0 = 1: X is m x (n + 1)",
    )
    resid = mx.Add((ys, mx.Scale(-1, mx.MatMul(Xs, ws))))
    loss_m = mx.MatMul(mx.Transpose(resid), resid)
    if with_ridge:
        loss_m = mx.Add((loss_m, mx.Scale(lam, mx.MatMul(mx.Transpose(ws), ws))))
    B.define(
        "L(w)",
        r"L(\mathbf{w})",
        loss_m,
        "the ridge loss of MAP with a Gaussian prior"
        if with_ridge
        else "the negative log-likelihood of Gaussian noise, up to a positive factor and a constant",
    )
    if with_ridge:
        B.define("lambda", r"\lambda", prose("lambda > 0", r"\lambda > 0"))
    expanded = sp.expand(loss)
    B.step(
        "expand the product",
        "L(w)",
        r"L(\mathbf{w})",
        to_mexpr(expanded, ROLES),
        "y^T X w is a scalar, so it equals its transpose w^T X^T y",
    )
    pieces = [g for g in (_term_gradient(t) for t in expanded.args) if g is not None]
    grad = sp.expand(sum(pieces[1:], pieces[0]))
    grad_m = to_mexpr(grad, ROLES)
    B.step(
        "differentiate term by term",
        "dL/dw",
        r"\frac{\partial L}{\partial \mathbf{w}}",
        grad_m,
        "d(w^T A w)/dw = 2 A w for symmetric A; d(c^T w)/dw = c; terms without w vanish",
    )
    factor, A, b = affine_parts(grad, w)
    A_m, b_m = to_mexpr(A, ROLES), to_mexpr(b, ROLES)
    B.step(
        "collect as A w = b (dL/dw = 0)",
        *_lbl(mx.MatMul(A_m, ws)),
        b_m,
        f"the gradient is {to_text(mx.Scale(factor, mx.Sym('(A w - b)', (n + 1, 1))))}; the common factor cancels",
    )
    sol = mx.Solve(A_m, b_m)
    B.step(
        "solve the linear equation",
        "w*",
        r"\mathbf{w}^{*}",
        sol,
        "A is positive definite for lambda > 0, so always invertible"
        if with_ridge
        else "A = X^T X is invertible exactly when X has full column rank n + 1 <= m",
    )
    hess = mx.Scale(factor, A_m)
    B.step(
        "differentiate the gradient again (Hessian)",
        "d2L/dw dw^T",
        r"\frac{\partial^2 L}{\partial \mathbf{w}\,\partial \mathbf{w}^{\top}}",
        hess,
        _HESSIAN_NOTE[with_ridge],
    )
    _ls_results(B, with_ridge, grad_m, sol, hess)
    return grad_m, sol, hess


_HESSIAN_NOTE = {
    True: "v^T (X^T X + lambda I) v = |Xv|^2 + lambda |v|^2 > 0 for v != 0: positive definite, "
    "so L is strictly convex and w* is its unique minimiser",
    False: "v^T X^T X v = |Xv|^2 >= 0: positive semidefinite, so L is convex and every stationary point is a minimiser",
}


def _ls_results(B: Builder, with_ridge: bool, grad_m, sol, hess) -> None:
    from gradproof.derive.engine.derivation import ModuleCode

    B.result("gradient", "dL/dw", r"\frac{\partial L}{\partial \mathbf{w}}", matrix=grad_m, shape=(n + 1, 1))
    B.code = ModuleCode(
        kind="solver",
        input=Xs,
        target=mx.Sym("y", (m, 1), role="target"),
        params=(ws,),
        hyper=((lam, 0.01),) if with_ridge else (),
        forward=sol,
        grads=(("w", grad_m),),
    )
    B.result("solution", "w*", r"\mathbf{w}^{*}", matrix=sol, shape=(n + 1, 1))
    B.result("hessian", "d2L/dw dw^T", r"\nabla^2 L", matrix=hess, shape=(n + 1, n + 1))


# A rational lambda keeps the solve fast: with a symbolic lambda the entries
# of w* are large rational functions (minutes to cancel).
LAM_R = sp.Rational(3, 7)


def _explicit_ls_loss(Xv, yv, wv, with_ridge: bool, lam_value=lam):
    """The explicit loss, built on SymEngine (the oracle differentiates it there)."""
    X_, y_, w_ = (to_symengine_matrix(a) for a in (Xv, yv, wv))
    r = y_ - X_ * w_
    out = (r.T * r)[0, 0]
    return out + to_symengine(lam_value) * (w_.T * w_)[0, 0] if with_ridge else out


def _ls_proofs(B: Builder, with_ridge: bool, grad_m, sol, hess) -> None:
    """Exact proofs at m=5, n=3.  Every entry is a polynomial in the symbols, so
    ``expand`` decides each equality (on SymEngine, see :mod:`.exact`)."""
    rng = random.Random(1234 + with_ridge)
    Xe, ye, we = symbolic_matrix("X", M, N1), symbolic_matrix("y", M, 1), symbolic_matrix("w", N1, 1)
    L = _explicit_ls_loss(Xe, ye, we, with_ridge)
    env = {"X": Xe, "y": ye, "w": we}
    B.prove(
        "gradient",
        "exact: matrix form vs scalar differentiation",
        SIZES,
        lambda: same(mx.evaluate(grad_m, env, DIMS), grad(L, we)),
    )
    B.prove(
        "hessian",
        "exact: matrix form vs scalar second derivatives",
        SIZES,
        lambda: same(mx.evaluate(hess, env, DIMS), hessian(L, we)),
    )
    Xr = random_rational_matrix(rng, M, N1)

    def stationary(Xv):
        w_star = mx.evaluate(sol, {"X": Xv, "y": ye}, {**DIMS, lam: LAM_R})
        g = substitute(grad(_explicit_ls_loss(Xv, ye, we, with_ridge, LAM_R), we), we, w_star)
        return same(g, sp.zeros(N1, 1))

    B.prove(
        "solution",
        "exact: gradient of the explicit loss is 0 at w* (random rational X, symbolic y"
        + (", lambda = 3/7)" if with_ridge else ")"),
        SIZES,
        lambda: stationary(Xr),
    )
    if with_ridge:
        _ridge_proofs(B, hess, Xr, stationary, env)
    else:
        B.prove(
            "hessian",
            "exact: X^T X positive definite for a full-rank random rational X",
            SIZES,
            lambda: bool((Xr.T * Xr).is_positive_definite),
        )
        B.notes.append(
            "If X has fewer than n + 1 independent columns, X^T X is singular and the minimiser is not "
            "unique; ridge regression (topic ridge) removes the problem."
        )

    def compare(claim):
        env_r, dims = {"X": Xr, "y": ye}, {**DIMS, lam: LAM_R}
        return same(mx.evaluate(claim.matrix, env_r, dims), mx.evaluate(sol, env_r, dims))

    B.prove_claims(compare, SIZES + " (random rational X, symbolic y" + (", lambda = 3/7)" if with_ridge else ")"))


def quadratic_form_identity(hess, env) -> tuple[bool, str]:
    """``v^T H v = 2(|Xv|^2 + lambda |v|^2)`` for the Hessian ``hess`` at the explicit ``X`` of ``env``.

    Both sides are polynomials in the entries of ``X``, ``v`` and ``lambda``:
    the products are taken and expanded on SymEngine, where a difference that
    expands to 0 is an identity and any other is not (:data:`EXPAND_ONLY`).
    """
    Hv = to_symengine_matrix(mx.evaluate(hess, env, DIMS))
    v = to_symengine_matrix(symbolic_matrix("v", N1, 1, real=True))
    Xv = to_symengine_matrix(env["X"]) * v
    quad = (v.T * Hv * v)[0, 0]
    ok = exact_zero(quad - 2 * ((Xv.T * Xv)[0, 0] + to_symengine(lam) * (v.T * v)[0, 0]), strategy=EXPAND_ONLY)
    return ok, "" if ok else "v^T H v is not 2(|Xv|^2 + lambda |v|^2)"


def ridge_regularises(Xd: sp.Matrix) -> tuple[bool, str]:
    """``det(X^T X) = 0`` and ``det(X^T X + lambda I) > 0`` for every ``lambda > 0``, ``X = Xd`` rational.

    ``det(lambda I + G) = det(lambda I - (-G))`` is the characteristic
    polynomial of ``-G`` in ``lambda`` (computed over the rationals): with
    non-negative coefficients and a positive leading one it is positive for
    ``lambda > 0``.
    """
    G = Xd.T * Xd
    if G.det() != 0:
        return False, "X^T X of the rank-deficient X is not singular"
    poly = (-G).charpoly(lam)
    coeffs = poly.all_coeffs()
    if not all(c >= 0 for c in coeffs) or coeffs[0] <= 0:
        return False, f"det(X^T X + lambda I) = {poly.as_expr()} may vanish for lambda > 0"
    return True, ""


def _ridge_proofs(B: Builder, hess, Xr, stationary, env) -> None:
    B.prove(
        "hessian",
        "exact: v^T H v = 2(|Xv|^2 + lambda |v|^2), positive for v != 0",
        SIZES,
        lambda: quadratic_form_identity(hess, env),
    )
    # The lecture's "L2 improves numerical stability": X with a repeated
    # column has a singular X^T X, yet the ridge system stays solvable.
    Xd = Xr.copy()
    Xd[:, N1 - 1] = Xd[:, 1]

    def rank_deficient():
        ok, detail = ridge_regularises(Xd)
        return stationary(Xd) if ok else (False, detail)

    B.prove(
        "solution",
        "exact: rank-deficient X (repeated column): det(X^T X) = 0, "
        "det(X^T X + lambda I) > 0 for lambda > 0 and w* is stationary",
        SIZES,
        rank_deficient,
    )
    B.notes.append(
        "The bias is penalised here as on the lecture's stability slide; "
        "the MAP derivation (map_gaussian) excludes it from the prior."
    )


def build_least_squares(topic):
    """Least squares: ``w* = (X^T X)^{-1} X^T y`` from ``dL/dw = 0``."""
    return _least_squares_like(topic, with_ridge=False)


def build_ridge(topic):
    """Ridge: ``w* = (X^T X + lambda I)^{-1} X^T y``, and that it is the minimiser."""
    return _least_squares_like(topic, with_ridge=True)


# ---------------------------------------------------------------------------
# Logistic regression: no closed form
# ---------------------------------------------------------------------------


def build_logistic_no_closed_form(topic):
    """Why ``X^T (sigma(Xw) - y) = 0`` cannot be solved like the normal equations."""
    B = Builder(topic)
    s, yy = sp.symbols("s y", real=True)
    B.define("yhat_i", r"\hat{y}_i", sigmoid(sp.Symbol("s_i")), "s_i = <x_i, w>")
    ell = -(yy * sp.log(sigmoid(s)) + (1 - yy) * sp.log(1 - sigmoid(s)))
    B.define("l(y, s)", r"\ell(y, s)", ell, "the cross-entropy of one sample; L(w) = sum_i l(y_i, s_i)")

    dl = sp.simplify(sp.diff(ell, s))
    B.step("chain rule through sigma, sigma' = sigma (1 - sigma)", "dl/ds", r"\frac{\partial \ell}{\partial s}", dl)
    # the same letters throughout: s_i = <x_i, w> is the potential, s = X w for the batch
    grad_m = mx.MatMul(mx.Transpose(Xs), mx.Map(sigmoid(s) - yy, ((s, mx.MatMul(Xs, ws)), (yy, ys))))
    B.step("ds_i/dw = x_i, summed over samples", "dL/dw", r"\frac{\partial L}{\partial \mathbf{w}}", grad_m)
    B.step(
        "stationarity",
        *_lbl(mx.MatMul(mx.Transpose(Xs), mx.Map(sigmoid(s), ((s, mx.MatMul(Xs, ws)),)))),
        mx.MatMul(mx.Transpose(Xs), ys),
        "w sits inside sigma(s) = 1/(1 + exp(-s)): each equation mixes exp(-<x_i, w>) for every sample i",
    )
    B.step(
        "differentiate again: the Jacobian of the gradient",
        "d2L/dw dw^T",
        r"\nabla^2 L",
        prose(
            "X^T diag(sigma'(X w)) X, with sigma'(s) = sigma(s) (1 - sigma(s))",
            r"\mathbf{X}^{\top} \operatorname{diag}\left(\sigma'(\mathbf{X}\mathbf{w})\right) \mathbf{X}",
        ),
        "it depends on w, so the gradient is not of the form A w - b and no normal equation exists",
    )
    B.step(
        "substitute t_i = exp(-<x_i, w>)",
        "yhat_i",
        r"\hat{y}_i",
        1 / (1 + sp.Symbol("t_i")),
        "the equation becomes rational in t_i, but t_i are exponentials of different linear forms of w; for "
        "real-valued features they are not powers of one common variable, so the system is transcendental "
        "in w (an exponential polynomial), not algebraic",
    )
    B.step(
        "separable data",
        "sigma(<x, w>)",
        r"\sigma(\langle \mathbf{x}, \mathbf{w}\rangle)",
        sp.Integer(1),
        "one sample with y = 1 and x = 1 needs sigma(w) = 1, which no finite w attains: "
        "the stationarity equation may have no solution at all",
    )
    B.result("gradient", "dL/dw", r"\frac{\partial L}{\partial \mathbf{w}}", matrix=grad_m, shape=(n + 1, 1))
    B.result("per_sample", "dl/ds", r"\frac{\partial \ell}{\partial s}", index=dl)
    B.notes.append("Hence iterative numerical methods (gradient descent, Newton) are used.")
    _prove_no_closed_form(B, grad_m, dl, s, yy)
    return B.freeze()


def hessian_varies(explicit_loss, Xr, yr, w) -> tuple[bool, str]:
    """Whether the Hessian of ``explicit_loss(X, y, w)`` (built with ``lib=`` SymEngine) differs
    between ``w = 0`` and ``w = 1``: an affine gradient has a constant Jacobian."""
    se = load_symengine()
    H = hessian(explicit_loss(*map(to_symengine_matrix, (Xr, yr, w)), lib=se), w)
    at = [to_sympy_matrix(substitute(H, w, sp.Matrix([k] * w.rows)), ()) for k in (0, 1)]
    # Proving two numbers unequal needs no simplification: evaluate the
    # difference to 30 digits, far above its rounding error.
    gap = max(abs(sp.N(a - b, 30)) for a, b in zip(*at))
    differs = bool(gap > sp.Float("1e-10"))
    return differs, "" if differs else "Hessian did not change with w"


def _prove_no_closed_form(B: Builder, grad_m, dl, s, yy) -> None:
    B.prove(
        "per_sample",
        "exact: dl/ds = sigma(s) - y after rewriting to exp",
        "scalar",
        lambda: is_zero((dl - (sigmoid(s) - yy)).rewrite(sp.exp)),
    )

    # Smaller than the polynomial topics: a common denominator over one
    # exponential per sample grows exponentially with m.
    ML, NL = 2, 2
    sizes_l = f"m={ML}, n={NL}"
    dims_l = {m: ML, n: NL}
    Xe, ye, we = (
        symbolic_matrix("X", ML, NL + 1),
        symbolic_matrix("y", ML, 1),
        symbolic_matrix("w", NL + 1, 1, real=True),
    )

    def explicit_loss(Xv, yv, wv, lib=sp):
        # lib: SymPy, or SymEngine (which differentiates logs and exponentials itself)
        sv = Xv * wv
        return sum(
            (
                -(
                    yv[i, 0] * lib.log(1 / (1 + lib.exp(-sv[i, 0])))
                    + (1 - yv[i, 0]) * lib.log(1 - 1 / (1 + lib.exp(-sv[i, 0])))
                )
                for i in range(Xv.rows)
            ),
            lib.Integer(0),
        )

    def gradient_exact():
        got = mx.evaluate(grad_m, {"X": Xe, "y": ye, "w": we}, dims_l)
        return matrices_equal(got, gradient(explicit_loss(Xe, ye, we), we))

    B.prove("gradient", "exact: matrix form vs scalar differentiation", sizes_l, gradient_exact)

    def not_affine():
        rng = random.Random(7)
        Xr = random_rational_matrix(rng, ML, NL + 1)
        yr = sp.Matrix([rng.randint(0, 1) for _ in range(ML)])
        return hessian_varies(explicit_loss, Xr, yr, we)

    B.prove(
        "gradient",
        "exact: the Hessian changes with w (random rational X, y), so dL/dw = 0 is not linear",
        sizes_l,
        not_affine,
    )

    def separable():
        wv = sp.Symbol("w", real=True)
        sols = sp.solve(sp.Eq(1 / (1 + sp.exp(-wv)), 1), wv)
        return sols == [], f"solutions found: {sols}"

    B.prove("gradient", "exact: sigma(w) = 1 has no real solution (sympy.solve)", "m=1, n=0 (w = w_0)", separable)
