"""Where the losses come from: maximum likelihood and MAP estimation.

Each derivation starts from a distribution (taken from ``sympy.stats`` where
SymPy knows it, so the density is not typed in), forms the likelihood of m
iid samples, takes the negative logarithm step by step, and ends in the
lecture's loss.  The exact proofs instantiate the sums and products at small
explicit sizes (m=3, n=2; K=3) and compare with SymPy's own logarithm and
differentiation of the explicit product.

>>> from gradproof.derive.lecture.registry import derive
>>> d = derive("map_gaussian")
>>> d.result("lambda").index
sigma**2/sigma_0**2
"""

from __future__ import annotations

import functools

import sympy as sp

from gradproof.derive.engine import mexpr as mx
from gradproof.derive.lecture.exact import limit_by_terms, zero
from gradproof.derive.lecture.functions import sigmoid
from gradproof.derive.lecture.stats import Builder, gradient, matrices_equal, prose
from gradproof.derive.proof.prove import written_out

m, n, K = sp.symbols("m n K", positive=True, integer=True)
i, j, c, k = sp.symbols("i j c k", positive=True, integer=True)
Xb, yb, wb = sp.IndexedBase("X"), sp.IndexedBase("y"), sp.IndexedBase("w")
Yhb, Yb, Sb = sp.IndexedBase("yhat"), sp.IndexedBase("y"), sp.IndexedBase("s")
sigma = sp.Symbol("sigma", positive=True)
sigma_0 = sp.Symbol("sigma_0", positive=True)
beta = sp.Symbol("beta", positive=True)
lam = sp.Symbol("lambda", positive=True)
bias = sp.Symbol("b", real=True)
RSS = sp.Symbol("RSS", positive=True)

# matrix-language names
# n features and the column of ones x0 = 1 (slide "Linear Neuron"): X is m x (n + 1),
# w = (w_0 .. w_n); with a separate bias b (the MAP slides) X holds the n features alone
Xs1 = mx.Sym("X", (m, n + 1), "input")
ws1 = mx.Sym("w", (n + 1, 1), "param")
Xs = mx.Sym("X", (m, n), "input")
ys = mx.Sym("y", (m, 1), "target")
ws = mx.Sym("w", (n, 1), "param")
bs = mx.Sym("b", (1, 1), "param")
Ys = mx.Sym("Y", (m, K), "target")
Yhs = mx.Sym("Yhat", (m, K), "output")
Ss = mx.Sym("S", (m, K), "input")

# Explicit sizes of the exact proofs.
M, N, KK = 3, 2, 3
SIZES = f"m={M}, n={N}"
_u, _v = sp.symbols("u v", real=True)


def _inner(row, with_bias=False):
    """<x_i, w> in index form: over x_i0 = 1 and the n features, j = 0..n, unless the bias is separate."""
    if with_bias:
        return bias + sp.Sum(Xb[row, j] * wb[j], (j, 1, n))
    return sp.Sum(Xb[row, j] * wb[j], (j, 0, n))


def _explicit(expr, **sizes):
    """Instantiate the symbolic sizes and expand the sums and products."""
    return _explicit_at(expr, sizes.get("m", M), sizes.get("n", N), sizes.get("K", KK))


@functools.lru_cache(maxsize=64)
def _explicit_at(expr, m_: int, n_: int, k_: int):
    # One expression is instantiated by several proofs of a topic (and topics share
    # likelihoods): SymPy expressions are immutable, so each is computed once.
    # The sizes are free symbols (never summation variables): a structural replacement is the substitution.
    return written_out(expr.xreplace({m: m_, n: n_, K: k_}))


def _explicit_matrices(with_bias=False):
    """X, y, w at the explicit sizes; without a separate bias the columns of X are x_0 .. x_n."""
    first = 1 if with_bias else 0
    cols = N if with_bias else N + 1
    Xe = sp.Matrix(M, cols, lambda r, q: Xb[r + 1, q + first])
    ye = sp.Matrix(M, 1, lambda r, q: yb[r + 1])
    we = sp.Matrix(cols, 1, lambda r, q: wb[r + first])
    return Xe, ye, we


def _residual(with_bias=False) -> mx.MExpr:
    terms = [ys, mx.Scale(-1, mx.MatMul(Xs, ws) if with_bias else mx.MatMul(Xs1, ws1))]
    if with_bias:
        terms.append(mx.Scale(-1, bs))
    return mx.Add(tuple(terms))


def _gaussian_nll_steps(B: Builder, with_bias=False):
    """The likelihood of Gaussian noise and its negative log, as steps.

    Returns ``(nll_index, per_sample_nll)``.
    """
    from sympy.stats import Normal, density  # here: importing sympy.stats costs every command start-up time

    t, mu = sp.symbols("t mu", real=True)
    pdf = density(Normal("Y", mu, sigma))(t)  # SymPy's Normal density
    s_i = _inner(i, with_bias)
    p_i = pdf.subs({t: yb[i], mu: s_i})
    B.define(
        "model",
        r"\text{model}",
        prose(
            "y_i ~ N(<x_i, w>, sigma^2), iid",
            r"y_i \sim \mathcal{N}(\langle \mathbf{x}_i, \mathbf{w}\rangle, \sigma^2)\ \text{iid}",
        ),
        "Gaussian noise around the linear neuron's output",
    )
    B.step(
        "density of N(mu, sigma^2) (sympy.stats)",
        "p(y_i | w, x_i, sigma)",
        r"p(y_i \mid \mathbf{w}, \mathbf{x}_i, \sigma)",
        p_i,
    )
    lik = sp.Product(p_i, (i, 1, m))
    B.step(
        "independence: the likelihood is a product",
        "p(y | w, X, sigma)",
        r"p(\mathbf{y} \mid \mathbf{w}, \mathbf{X}, \sigma)",
        lik,
    )
    log_i = sp.expand_log(sp.log(p_i), force=True)
    B.step(
        "log of a product is the sum of logs",
        "log p(y | w, X, sigma)",
        r"\log p(\mathbf{y} \mid \mathbf{w}, \mathbf{X}, \sigma)",
        sp.Sum(log_i, (i, 1, m)),
    )
    nll_i = -log_i
    const = sum((a for a in sp.Add.make_args(nll_i) if not a.has(yb)), sp.Integer(0))
    varying = sp.factor_terms(nll_i - const)
    const_tidy = sp.Rational(1, 2) * sp.log(2 * sp.pi * sigma**2)
    nll = m * const_tidy + sp.factor_terms(sp.Sum(varying, (i, 1, m)))
    B.step(
        "negate; the i-independent terms sum to m times themselves",
        "L(w)",
        r"L(\mathbf{w})",
        nll,
        "log sigma + log(2 pi)/2 = log(2 pi sigma^2)/2",
    )
    B.prove(
        "nll",
        "exact: m (log sigma + log(2 pi)/2) = m/2 log(2 pi sigma^2)",
        "symbolic m",
        lambda: zero(sp.expand_log(m * const - m * const_tidy, force=True)),
    )
    return nll, lik


def build_mle_gaussian(topic):
    """Gaussian noise -> negative log-likelihood -> least squares."""
    B = Builder(topic)
    nll, lik = _gaussian_nll_steps(B)
    resid = _residual()
    se = mx.MatMul(mx.Transpose(resid), resid)
    nll_m = mx.Add((mx.Const(m / 2 * sp.log(2 * sp.pi * sigma**2)), mx.Scale(1 / (2 * sigma**2), se)))
    B.step(
        "sum of squares as an inner product",
        "L(w)",
        r"L(\mathbf{w})",
        nll_m,
        "sum_i (y_i - <w, x_i>)^2 = (y - Xw)^T (y - Xw)",
    )
    B.step(
        "drop what does not depend on w; 1/(2 sigma^2) > 0 does not move the minimum",
        "argmin_w L(w)",
        r"\operatorname*{argmin}_{\mathbf{w}} L(\mathbf{w})",
        prose(
            "argmin_w (y - Xw)^T (y - Xw): least squares",
            r"\operatorname*{argmin}_{\mathbf{w}} (\mathbf{y} - \mathbf{X}\mathbf{w})^{\top}(\mathbf{y} - \mathbf{X}\mathbf{w})",
        ),
    )
    B.result("nll", "L(w)", r"L(\mathbf{w})", index=nll, matrix=nll_m, shape=(1, 1))
    B.result("loss", "l(y_i, yhat_i)", r"\ell(y_i, \hat{y}_i)", index=(yb[i] - _inner(i)) ** 2)

    Xe, ye, we = _explicit_matrices()
    env = {"X": Xe, "y": ye, "w": we}

    def nll_is_minus_log_likelihood():
        return zero(sp.expand_log(-sp.log(_explicit(lik)), force=True) - _explicit(nll))

    B.prove("nll", "exact: -log of the explicit product", SIZES, nll_is_minus_log_likelihood)
    B.prove(
        "nll",
        "exact: matrix form vs index form",
        SIZES,
        lambda: zero(mx.evaluate(nll_m, env, {m: M, n: N})[0] - _explicit(nll)),
    )

    def gradient_is_scaled_least_squares():
        r = ye - Xe * we
        se_e = (r.T * r)[0]
        return matrices_equal(gradient(_explicit(nll), we), gradient(se_e, we) / (2 * sigma**2))

    B.prove(
        "nll",
        "exact: dL/dw = dSE/dw / (2 sigma^2), so both have the same minimiser",
        SIZES,
        gradient_is_scaled_least_squares,
    )

    def compare(claim):
        return zero(_explicit(claim.index) - _explicit(nll))

    B.prove_claims(compare, SIZES)
    return B.freeze()


def unbounded_at_both_ends(nll) -> bool:
    """``L(sigma) -> +oo`` as ``sigma -> 0+`` and as ``sigma -> oo``.

    ``L`` is expanded first (``log(2 pi sigma^2) = log 2 + log pi + 2 log sigma``,
    valid for ``sigma > 0`` without forcing).  At ``0+`` its terms tend to
    ``+oo`` and ``-oo``: SymPy takes the limit of the sum; at ``oo`` each
    term's limit is taken and added by the limit laws where they apply
    (:func:`gradproof.derive.lecture.exact.limit_by_terms`).
    """
    split = sp.expand(nll)
    return sp.limit(split, sigma, 0, "+") == sp.oo and limit_by_terms(split, sigma, sp.oo) == sp.oo


def build_mle_sigma2(topic):
    """The MLE of the noise variance: sigma^2 = RSS / m, with sigma > 0."""
    B = Builder(topic)
    B.define("RSS", "RSS", sp.Sum((yb[i] - _inner(i)) ** 2, (i, 1, m)), "at the least-squares w*; RSS > 0")
    B.define("sigma", r"\sigma", prose("sigma > 0", r"\sigma > 0"))
    nll = m / 2 * sp.log(2 * sp.pi * sigma**2) + RSS / (2 * sigma**2)
    B.step("the Gaussian negative log-likelihood as a function of sigma", "L(sigma)", r"L(\sigma)", nll)
    d1 = sp.simplify(sp.diff(nll, sigma))
    B.step("differentiate in sigma", "dL/dsigma", r"\frac{\partial L}{\partial \sigma}", d1)
    roots = sp.solve(d1, sigma)
    sigma_r = sp.Symbol("sigma", real=True)
    all_roots = sp.solve(sp.diff(nll.subs(sigma, sigma_r), sigma_r), sigma_r)
    B.step(
        "solve dL/dsigma = 0 with sigma > 0",
        "sigma*",
        r"\sigma^{*}",
        roots[0] if len(roots) == 1 else sp.FiniteSet(*roots),
        f"for real sigma SymPy finds {sorted(all_roots, key=sp.default_sort_key)}; the positivity of sigma "
        "keeps only the positive root",
    )
    s2 = sp.simplify(roots[0] ** 2)
    B.step("square", "sigma^2*", r"\sigma^{2*}", s2)
    d2 = sp.simplify(sp.diff(nll, sigma, 2).subs(sigma, roots[0]))
    B.step(
        "second derivative at sigma*",
        "d2L/dsigma2",
        r"\frac{\partial^2 L}{\partial \sigma^2}",
        d2,
        "positive, and L -> +oo as sigma -> 0+ and as sigma -> oo: the only stationary point is the global minimum",
    )
    B.result("sigma2", "sigma^2", r"\hat{\sigma}^2", index=s2)
    B.extra["roots_real_sigma"] = [str(r) for r in all_roots]

    B.prove(
        "sigma2",
        "exact: one positive stationary point",
        "symbolic m, RSS > 0",
        lambda: (len(roots) == 1 and bool(roots[0].is_positive), f"roots {roots}"),
    )
    B.prove(
        "sigma2", "exact: second derivative positive at sigma*", "symbolic m, RSS > 0", lambda: bool(d2.is_positive)
    )
    B.prove(
        "sigma2",
        "exact: L -> oo at both ends of (0, oo)",
        "symbolic m, RSS > 0",
        lambda: unbounded_at_both_ends(nll),
    )

    def in_variance():
        # Invariance: maximising over v = sigma^2 gives the same estimate.
        v = sp.Symbol("v", positive=True)
        got = sp.solve(sp.diff(nll.subs(sigma, sp.sqrt(v)), v), v)
        return got == [s2], f"solve in v = sigma^2 gave {got}"

    B.prove("sigma2", "exact: maximising over sigma^2 directly gives the same value", "symbolic m", in_variance)

    def explicit_sample():
        r = sp.symbols(f"r1:{M + 1}", real=True)
        nll_e = sp.Rational(M, 2) * sp.log(2 * sp.pi * sigma**2) + sum(x**2 for x in r) / (2 * sigma**2)
        sol = sp.solve(sp.diff(nll_e, sigma), sigma)
        want = s2.subs({RSS: sum(x**2 for x in r), m: M})
        return len(sol) == 1 and zero(sol[0] ** 2 - want), f"explicit solutions {sol}"

    B.prove(
        "sigma2", "exact: explicit residuals r_1..r_m, the likelihood maximised directly", f"m={M}", explicit_sample
    )

    B.prove_claims(lambda claim: zero(claim.index - s2), "symbolic m, RSS")
    return B.freeze()


def build_mle_bernoulli(topic):
    """Bernoulli outputs of a sigmoid -> the binary cross-entropy."""
    B = Builder(topic)
    yhat, yv = sp.Symbol("yhat", positive=True), sp.Symbol("y", nonnegative=True)
    ber = yhat**yv * (1 - yhat) ** (1 - yv)
    B.define("yhat_i", r"\hat{y}_i", sigmoid(_inner(i)), "in (0, 1): the probability of class 1")
    B.define("p(y | yhat)", r"p(y \mid \hat{y})", ber, "Ber(y | yhat), y in {0, 1}")
    p_i = ber.subs({yhat: Yhb[i], yv: yb[i]})
    lik = sp.Product(p_i, (i, 1, m))
    B.step(
        "independence: the likelihood is a product", "p(y | w, X)", r"p(\mathbf{y} \mid \mathbf{w}, \mathbf{X})", lik
    )
    log_i = sp.expand_log(sp.log(p_i), force=True)
    B.step(
        "log of a product is the sum of logs; log(a^b) = b log a",
        "log p(y | w, X)",
        r"\log p(\mathbf{y} \mid \mathbf{w}, \mathbf{X})",
        sp.Sum(log_i, (i, 1, m)),
    )
    nll = sp.Sum(-log_i, (i, 1, m))
    B.step("negate (switch to minimisation)", "L(w)", r"L(\mathbf{w})", nll, "the cross-entropy")
    ell = -(yv * sp.log(yhat) + (1 - yv) * sp.log(1 - yhat))
    loss_m = mx.Total(
        mx.Map(-(_v * sp.log(_u) + (1 - _v) * sp.log(1 - _u)), ((_u, mx.Sym("yhat", (m, 1), "output")), (_v, ys)))
    )
    B.step("as matrices", "L(w)", r"L(\mathbf{w})", loss_m)
    B.step(
        "per sample, with yhat = sigma(s)",
        "l(y, s)",
        r"\ell(y, s)",
        ell.subs(yhat, sigmoid(sp.Symbol("s"))),
        "the loss table's version divides by m; the minimiser is the same",
    )
    B.result("nll", "L(w)", r"L(\mathbf{w})", index=nll, matrix=loss_m, shape=(1, 1))
    B.result("loss", "l(y, yhat)", r"\ell(y, \hat{y})", index=ell)

    B.prove(
        "loss",
        "exact: Ber(1 | yhat) = yhat and Ber(0 | yhat) = 1 - yhat",
        "y in {0, 1}",
        lambda: ber.subs(yv, 1) == yhat and ber.subs(yv, 0) == 1 - yhat,
    )
    B.prove(
        "nll",
        "exact: -log of the explicit product",
        f"m={M}",
        lambda: zero(sp.expand_log(-sp.log(_explicit(lik)), force=True) - _explicit(nll)),
    )
    yh_e = sp.Matrix(M, 1, lambda r, q: Yhb[r + 1])
    y_e = sp.Matrix(M, 1, lambda r, q: yb[r + 1])
    B.prove(
        "nll",
        "exact: matrix form vs index form",
        f"m={M}",
        lambda: zero(mx.evaluate(loss_m, {"yhat": yh_e, "y": y_e}, {m: M})[0] - _explicit(nll)),
    )
    B.prove_claims(lambda claim: zero(_explicit(claim.index) - _explicit(nll)), f"m={M}")
    return B.freeze()


def build_mle_categorical(topic):
    """Categorical outputs of a softmax -> the multinomial cross-entropy."""
    B = Builder(topic)
    B.define(
        "yhat_ik", r"\hat{y}_{ik}", sp.exp(Sb[i, k]) / sp.Sum(sp.exp(Sb[i, c]), (c, 1, K)), "softmax of the logits"
    )
    B.define("y_ik", r"y_{ik}", prose("[[y_i = k]] (one-hot)", r"[\![ y_i = k ]\!]"))
    p_i = sp.Product(Yhb[i, c] ** Yb[i, c], (c, 1, K))
    B.step(
        "categorical distribution: p(y_i | yhat_i)",
        "p(y_i | yhat_i)",
        r"p(y_i \mid \hat{\mathbf{y}}_i)",
        p_i,
        "of the K factors only the true class's has exponent 1",
    )
    lik = sp.Product(p_i, (i, 1, m))
    B.step(
        "independence: the likelihood is a product", "p(y | w, X)", r"p(\mathbf{y} \mid \mathbf{w}, \mathbf{X})", lik
    )
    nll = -sp.Sum(Yb[i, c] * sp.log(Yhb[i, c]), (i, 1, m), (c, 1, K))
    B.step(
        "negative log: products become sums, exponents factors",
        "L(w)",
        r"L(\mathbf{w})",
        nll,
        "again the cross-entropy",
    )
    lse = sp.log(sp.Sum(sp.exp(Sb[i, k]), (k, 1, K)))
    per = -sp.Sum(Yb[i, c] * Sb[i, c], (c, 1, K)) + lse
    B.step(
        "insert the softmax and use sum_c y_ic = 1",
        "l_i",
        r"\ell_i",
        per,
        "log yhat_ic = s_ic - log sum_k exp(s_ik): the log-sum-exp form the stable code uses",
    )
    loss_m = mx.Scale(-1, mx.Total(mx.Map(_v * _u, ((_u, mx.LogSoftmax(Ss)), (_v, Ys)))))
    B.step("as matrices", "L(W)", r"L(\mathbf{W})", loss_m)
    B.result("nll", "L(w)", r"L(\mathbf{w})", index=nll, matrix=loss_m, shape=(1, 1))
    B.result("loss", "l_i", r"\ell_i", index=per)

    def one_hot():
        yh = sp.symbols(f"yhat1:{KK + 1}", positive=True)
        for true in range(KK):
            val = sp.Mul(*[yh[q] ** (1 if q == true else 0) for q in range(KK)])
            if val != yh[true]:
                return False, f"class {true + 1}: {val}"
        return True

    B.prove("nll", "exact: with one-hot y the product picks the true class's probability", f"K={KK}", one_hot)
    B.prove(
        "nll",
        "exact: -log of the explicit product",
        f"m=2, K={KK}",
        lambda: zero(sp.expand_log(-sp.log(_explicit(lik, m=2)), force=True) - _explicit(nll, m=2)),
    )

    def softmax_form():
        # yhat = softmax(s), y on the simplex: the two forms agree.
        S_e = sp.Matrix(2, KK, lambda r, q: sp.Symbol(f"s_{r + 1}_{q + 1}", real=True))
        Y_e = sp.Matrix(2, KK, lambda r, q: sp.Symbol(f"y_{r + 1}_{q + 1}", real=True))
        Yh_e = mx.evaluate(mx.Softmax(Ss), {"S": S_e})
        simplex = {Y_e[r, KK - 1]: 1 - sum(Y_e[r, q] for q in range(KK - 1)) for r in range(2)}
        ce = -sum(Y_e[r, q] * sp.log(Yh_e[r, q]) for r in range(2) for q in range(KK))
        idx = _explicit(sp.Sum(per, (i, 1, m)), m=2).subs(
            {Sb[r + 1, q + 1]: S_e[r, q] for r in range(2) for q in range(KK)}
        )
        idx = idx.subs({Yb[r + 1, q + 1]: Y_e[r, q] for r in range(2) for q in range(KK)})
        mat = mx.evaluate(loss_m, {"S": S_e, "Y": Y_e})[0]
        ce, idx, mat = (sp.expand_log(e.subs(simplex), force=True) for e in (ce, idx, mat))
        ok1, ok2 = zero(ce - idx), zero(ce - mat)
        return ok1 and ok2, f"index form {'ok' if ok1 else 'differs'}, matrix form {'ok' if ok2 else 'differs'}"

    B.prove(
        "loss", "exact: cross-entropy of the softmax = log-sum-exp form = matrix form", f"m=2, K={KK}", softmax_form
    )
    B.prove_claims(lambda claim: zero(_explicit(claim.index, m=2) - _explicit(nll, m=2)), f"m=2, K={KK}")
    return B.freeze()


def _map_common(B: Builder, prior: str):
    """Likelihood x prior -> negative log posterior -> penalised loss.

    The bias ``b`` has no prior (a flat one): it is not penalised.
    """
    from sympy.stats import Laplace, Normal, density  # here: see _gaussian_nll_steps

    t = sp.Symbol("t", real=True)
    if prior == "gaussian":
        pdf = density(Normal("W", 0, sigma_0))(t)
        B.define(
            "prior",
            r"\text{prior}",
            prose(
                "w_j ~ N(0, sigma_0^2) iid, j = 1..n; no prior on the bias b",
                r"w_j \sim \mathcal{N}(0, \sigma_0^2)\ \text{iid}",
            ),
        )
    else:
        pdf = density(Laplace("W", 0, beta))(t)
        B.define(
            "prior",
            r"\text{prior}",
            prose(
                "w_j ~ Laplace(0, beta) iid, j = 1..n; no prior on the bias b",
                r"w_j \sim \operatorname{Laplace}(0, \beta)\ \text{iid}",
            ),
        )
    B.define("s_i", r"s_i", _inner(i, with_bias=True), "the bias is a separate parameter here")
    prior_j = pdf.subs(t, wb[j])
    B.step("prior density (sympy.stats)", "p(w_j)", r"p(w_j)", prior_j)
    B.step(
        "Bayes: the evidence p(y | X) does not depend on w",
        "p(w | y, X)",
        r"p(\mathbf{w} \mid \mathbf{y}, \mathbf{X})",
        prose("p(y | w, X) prod_j p(w_j)", r"p(\mathbf{y} \mid \mathbf{w}, \mathbf{X}) \prod_j p(w_j)"),
        "p(w | y, X) = p(y | w, X) p(w) / p(y | X)",
        relation="propto",
    )
    nll, lik = _gaussian_nll_steps(B, with_bias=True)
    neg_log_prior_j = -sp.expand_log(sp.log(prior_j), force=True)
    pen_j = sum((a for a in sp.Add.make_args(neg_log_prior_j) if a.has(wb)), sp.Integer(0))
    B.step(
        "negative log prior; keep the terms with w",
        "-log p(w)",
        r"-\log p(\mathbf{w})",
        sp.Sum(pen_j, (j, 1, n)) + sp.Symbol("C"),
    )
    neg_log_post = nll + sp.Sum(pen_j, (j, 1, n))
    B.step(
        "negative log posterior, constants dropped",
        "-log p(w | y, X)",
        r"-\log p(\mathbf{w} \mid \mathbf{y}, \mathbf{X})",
        neg_log_post,
    )
    # Scale so that the squared error has coefficient 1; the factor is positive.
    factor = 2 * sigma**2
    se_i = (yb[i] - _inner(i, True)) ** 2
    lam_val = sp.simplify(pen_j * factor / (sp.Abs(wb[j]) if prior == "laplace" else wb[j] ** 2))
    return nll, lik, prior_j, pen_j, factor, se_i, lam_val


def _build_map(topic, prior: str):
    B = Builder(topic)
    nll, lik, prior_j, pen_j, factor, se_i, lam_val = _map_common(B, prior)
    pen_sym = wb[j] ** 2 if prior == "gaussian" else sp.Abs(wb[j])
    loss = sp.Sum(se_i, (i, 1, m)) + lam * sp.Sum(pen_sym, (j, 1, n))
    B.step(
        "multiply by 2 sigma^2 > 0 (same minimiser), drop m/2 log(2 pi sigma^2)",
        "L(w, b)",
        r"L(\mathbf{w}, b)",
        sp.Sum(se_i, (i, 1, m)) + lam_val * sp.Sum(pen_sym, (j, 1, n)),
    )
    B.step("name the coefficient", "lambda", r"\lambda", lam_val)
    resid = _residual(with_bias=True)
    pen_m = mx.MatMul(mx.Transpose(ws), ws) if prior == "gaussian" else mx.Total(mx.Map(sp.Abs(_u), ((_u, ws),)))
    loss_m = mx.Add((mx.MatMul(mx.Transpose(resid), resid), mx.Scale(lam, pen_m)))
    B.step("as matrices (w without the bias)", "L(w, b)", r"L(\mathbf{w}, b)", loss_m)
    B.result("loss", "L(w, b)", r"L(\mathbf{w}, b)", index=loss, matrix=loss_m, shape=(1, 1))
    B.result("lambda", "lambda", r"\lambda", index=lam_val)

    Xe, ye, we = _explicit_matrices(with_bias=True)
    if prior == "laplace":
        # |w_j| differentiates to sign(w_j) only for real w_j.
        real_w = {wb[q + 1]: sp.Symbol(f"w_{q + 1}", real=True) for q in range(N)}
    else:
        real_w = {}
    params = [real_w.get(x, x) for x in we] + [bias]

    def explicit(e):
        return _explicit(e).xreplace(real_w)

    def posterior_matches():
        neg_log_post = -sp.log(_explicit(lik)) - sum(sp.log(_explicit(prior_j.subs(j, q + 1))) for q in range(N))
        neg_log_post = sp.expand_log(neg_log_post.xreplace(real_w), force=True)
        target = explicit(loss).subs(lam, lam_val)
        # equal up to a constant: the difference has zero gradient in (w, b)
        diff = sp.expand(factor * neg_log_post - target)
        bad = [p for p in params if not zero(sp.diff(diff, p))]
        return not bad, f"difference depends on {bad}"

    B.prove(
        "loss", "exact: 2 sigma^2 (-log likelihood - log prior) - L is constant in (w, b)", SIZES, posterior_matches
    )

    def bias_free():
        d_b = sp.diff(explicit(loss), bias)
        return not d_b.has(lam), f"dL/db = {d_b}"

    B.prove("loss", "exact: dL/db does not involve lambda (the bias is not penalised)", SIZES, bias_free)

    def matrix_form():
        env = {"X": Xe, "y": ye, "w": we.xreplace(real_w), "b": sp.Matrix([[bias]])}
        return zero(mx.evaluate(loss_m, env, {m: M, n: N})[0] - explicit(loss))

    B.prove("loss", "exact: matrix form vs index form", SIZES, matrix_form)
    B.prove_claims(lambda claim: zero(claim.index - lam_val), "symbolic")
    return B.freeze()


def build_map_gaussian(topic):
    """Gaussian prior -> ridge loss with lambda = sigma^2 / sigma_0^2, bias excluded."""
    return _build_map(topic, "gaussian")


def build_map_laplace(topic):
    """Laplace prior -> L1 penalty with lambda = 2 sigma^2 / beta."""
    return _build_map(topic, "laplace")


__all__ = [
    "build_map_gaussian",
    "build_map_laplace",
    "build_mle_bernoulli",
    "build_mle_categorical",
    "build_mle_gaussian",
    "build_mle_sigma2",
]
