"""Where the lecture is wrong or imprecise, each place with its evidence.

An erratum names the slide (its title verbatim), says what the slide states
and what holds instead, and carries the evidence computed here: an exact
SymPy proof, or the topic's own proofs when the slide states a result
without deriving it ("see seminar").  Evidence that cannot be obtained is
reported as failed, never as passed.  The one erratum that needs a numeric
measurement (the initialisation experiment) is measured in
:mod:`gradproof.reports.errata`, since ``derive`` never imports ``numeric``.

>>> e = map_prior_exponent()
>>> e.passed, e.slide
(True, 'Example: L2 Regularization for Linear Regression')
"""

from __future__ import annotations

import functools
from dataclasses import replace

import sympy as sp

from gradproof.derive.engine.derivation import Erratum
from gradproof.derive.lecture import slides as sl


def _t(e) -> str:
    return sp.sstr(e).replace("**", "^").replace("*", " ")


def _safe(build):
    """Run an evidence builder; an exception is failed evidence, named."""

    @functools.wraps(build)
    def run():
        try:
            return build()
        except Exception as err:
            doc = (build.__doc__ or build.__name__).strip().splitlines()[0]
            return Erratum(
                slide="",
                lecture=doc,
                correction="(evidence could not be computed)",
                evidence=(f"{type(err).__name__}: {err}",),
                passed=False,
            )

    return run


@functools.cache
@_safe
def map_prior_exponent() -> Erratum:
    """The Gaussian prior of w in R^n has the exponent -n/2, not -1/2."""
    s0 = sp.Symbol("sigma_0", positive=True)
    nn = 2
    w = sp.symbols(f"w1:{nn + 1}", real=True)
    wtw = sum(x**2 for x in w)
    c_slide, c_right = (2 * sp.pi * s0**2) ** sp.Rational(-1, 2), (2 * sp.pi * s0**2) ** sp.Rational(-nn, 2)
    right = c_right * sp.exp(-wtw / (2 * s0**2))
    prod = sp.Mul(*[sp.exp(-(x**2) / (2 * s0**2)) / sp.sqrt(2 * sp.pi * s0**2) for x in w])
    ok_prod = sp.simplify(prod - right) == 0
    # exp(-w^T w / (2 sigma_0^2)) is the product of its one-axis factors (what ok_prod proves) and it is
    # positive, so its integral over R^n is the product of one-dimensional integrals (Tonelli): SymPy
    # integrates one axis at a time, a fraction of the cost of its n-dimensional integral, same value.
    # manual=True: SymPy's rule-based integrator gives the same sqrt(2) sqrt(pi) sigma_0 as its default
    # Meijer-G route, without building the Meijer-G lookup table (a fifth of a second per process)
    axes = sp.Mul(*[sp.integrate(sp.exp(-(x**2) / (2 * s0**2)), (x, -sp.oo, sp.oo), manual=True) for x in w])
    mass_slide = sp.simplify(c_slide * axes)
    mass_right = sp.simplify(c_right * axes)
    ok = ok_prod and sp.simplify(mass_right - 1) == 0 and sp.simplify(mass_slide - 1) != 0
    return Erratum(
        slide=sl.L2_EXAMPLE,
        severity="wrong",
        lecture="p(w) = (2 pi sigma_0^2)^(-1/2) exp(-w^T w / (2 sigma_0^2)) for the weight vector w in R^n",
        correction="p(w) = (2 pi sigma_0^2)^(-n/2) exp(-w^T w / (2 sigma_0^2)): the product of n independent "
        "N(0, sigma_0^2) densities (the MAP estimate is unchanged: the factor does not depend on w)",
        evidence=(
            f"exact (SymPy), n = {nn}: prod_j N(w_j; 0, sigma_0^2) - (2 pi sigma_0^2)^(-n/2) exp(-w^T w/(2 sigma_0^2)) "
            f"= {0 if ok_prod else 'nonzero'}",
            f"exact (SymPy), n = {nn}: the slide's density integrates over R^n to {_t(mass_slide)}, "
            f"the corrected one to {_t(mass_right)}",
        ),
        passed=bool(ok),
    )


@functools.cache
@_safe
def ridge_penalises_bias() -> Erratum:
    """The closed form (X^T X + lambda I)^-1 X^T y also penalises the bias w0."""
    # x0 = 1 in the first column, one feature; small rational data
    X = sp.Matrix([[1, 0], [1, 1], [1, 3]])
    y = sp.Matrix([1, 2, 2])
    lam = sp.Rational(1, 2)
    w0, w1 = sp.symbols("w0 w1", real=True)
    w = sp.Matrix([w0, w1])
    r = y - X * w
    loss_no_bias = (r.T * r)[0] + lam * w1**2  # the MAP slide: "we omit bias in lambda w^T w"
    sol = sp.solve([sp.diff(loss_no_bias, v) for v in (w0, w1)], (w0, w1), dict=True)[0]
    w_min = sp.Matrix([sol[w0], sol[w1]])
    w_slide = (X.T * X + lam * sp.eye(2)).solve(X.T * y)
    D = sp.diag(0, 1)
    w_fixed = (X.T * X + lam * D).solve(X.T * y)
    ok = w_min == w_fixed and w_slide != w_min
    return Erratum(
        slide=sl.L2_STABILITY,
        severity="imprecise",
        lecture="w* = (X^T X + lambda I)^-1 X^T y minimises (y - Xw)^T (y - Xw) + lambda w^T w, "
        "where the slide 'MAP Estimate' omits the bias from lambda w^T w",
        correction="with x_0 = 1 in X, lambda I also penalises the bias w_0; the minimiser of the bias-free "
        "penalty is (X^T X + lambda D)^-1 X^T y with D = diag(0, 1, ..., 1)",
        evidence=(
            f"exact (SymPy) at X = [[1, 0], [1, 1], [1, 3]], y = (1, 2, 2), lambda = 1/2: "
            f"argmin of the bias-free loss = {list(w_min)}, (X^T X + lambda D)^-1 X^T y = {list(w_fixed)}, "
            f"the slide's (X^T X + lambda I)^-1 X^T y = {list(w_slide)}",
        ),
        passed=bool(ok),
    )


@functools.cache
@_safe
def xavier_bias_input() -> Erratum:
    """Xavier's E(x_i) = 0 fails for the bias input x0 = 1."""
    from sympy.stats import FiniteRV, variance

    a, q = sp.symbols("a q", positive=True)
    ws = [FiniteRV(f"wb{t}", {-a: sp.Rational(1, 2), a: sp.Rational(1, 2)}) for t in range(3)]
    xs = [FiniteRV(f"xb{t}", {-1: q / 2, 0: 1 - q, 1: q / 2}) for t in range(2)]
    s_bias = ws[0] * 1 + ws[1] * xs[0] + ws[2] * xs[1]
    # The variances are polynomials in a and q: factor gives their canonical factored form and
    # expand decides each comparison (a polynomial is 0 exactly when it expands to 0)
    got = sp.factor(variance(s_bias))
    vw, vx = sp.factor(variance(ws[0])), sp.factor(variance(xs[0]))
    slide = 3 * vx * vw  # n_in = 3 inputs, x0 included
    right = vw * (1 + 2 * vx)
    ok = sp.expand(got - right) == 0 and sp.expand(got - slide) != 0
    return Erratum(
        slide=sl.XAVIER,
        severity="imprecise",
        lecture="Var(s) = n_in Var(x) Var(w) for s = sum_i w_i x_i with E(x_i) = 0, while the lecture "
        "treats the bias as the extra input x_0 = 1 (slide 'McCulloch-Pitts Perceptron: Treating Bias')",
        correction="the bias input has E(x_0) = 1 and Var(x_0) = 0, so it does not meet the assumption: "
        "Var(s) = Var(w) (1 + n Var(x)) for n features plus x_0 = 1; the rule holds for the n features "
        "(or with the bias initialised to zero)",
        evidence=(
            f"exact (sympy.stats), n = 2 features plus x_0 = 1, Var(w) = {_t(vw)}, Var(x) = {_t(vx)}: "
            f"Var(s) = {_t(sp.factor(got))}; the slide's n_in Var(x) Var(w) with n_in = 3 gives "
            f"{_t(sp.factor(slide))}",
        ),
        passed=bool(ok),
    )


@functools.cache
@_safe
def squared_error_index() -> Erratum:
    """The squared-error slide names an index i that its formula does not use."""
    z, y = sp.symbols("z y", real=True)
    d = sp.diff((y - z) ** 2, z)
    ok = sp.expand(d - 2 * (z - y)) == 0
    return Erratum(
        slide=sl.EXAMPLE_SE,
        severity="imprecise",
        lecture="backward: dz^{l+1}/dz^l = 2(z^l - y), i in {1, ..., n}",
        correction="the formula is per sample and has no index i: dl/dz = 2(z - y) for one sample; over the m "
        "samples (summed loss) dL/d yhat_i = 2(yhat_i - y_i), i = 1..m (the index runs over samples, "
        "not over n features)",
        evidence=(f"exact (SymPy): d/dz (y - z)^2 = {_t(sp.factor(d))} = 2(z - y): {'proved' if ok else 'FAILED'}",),
        passed=bool(ok),
    )


def _see_seminar(d, slide, statement, where) -> Erratum:
    """A result the slide states without derivation, derived and proved by the topic ``d``."""
    keys = [p for p in d.proofs if p.key.startswith(where)]
    ok = bool(keys) and all(p.passed for p in keys)
    return Erratum(
        slide=slide,
        severity="not derived",
        lecture=statement + " (see seminar)",
        correction="stated on the slide without its derivation; derived here step by step",
        evidence=tuple(f"{'PASS' if p.passed else 'FAIL'} {p.key}: {p.check} at {p.sizes}" for p in keys)
        or ("no proof of this result was found",),
        passed=ok,
    )


def errata_for(d) -> tuple[Erratum, ...]:
    """The derive-side errata of a derived topic (the measured one is added by the report)."""
    t = d.topic
    if t == "map_gaussian":
        return (map_prior_exponent(),)
    if t == "ridge":
        return (
            ridge_penalises_bias(),
            _see_seminar(
                d, sl.L2_STABILITY, "the regularised loss is minimised by (X^T X + lambda I)^-1 X^T y", "solution"
            ),
        )
    if t == "xavier":
        return (xavier_bias_input(),)
    if t == "squared_error":
        return (squared_error_index(),)
    if t == "least_squares":
        return (_see_seminar(d, sl.LINEAR_MLE_CONTD, "solving dL/dw = 0 gives w* = (X^T X)^-1 X^T y", "solution"),)
    if t == "fused_gradients":
        return (
            _see_seminar(d, sl.MLE, "dL/ds_i = yhat_i - y_i", "sigmoid_bce"),
            _see_seminar(d, sl.SOFTMAX_MLE, "the gradient of the multinomial cross-entropy", "softmax_cross_entropy"),
        )
    return ()


def with_errata(d, extra=()):
    """The derivation with its errata attached (derive-side ones, plus ``extra``)."""
    found = tuple(errata_for(d)) + tuple(extra)
    return replace(d, errata=found) if found else d
