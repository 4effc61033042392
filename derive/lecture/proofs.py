"""Derivations of the lecture's remaining statements, each proved exactly.

These are the statements that are not a single module or loss: empirical
risk minimisation, the gradient-descent step, randomised inputs as weight
decay, the bias trick, the two forms of the sigmoid and the softmax
classifier; the networks composed from modules (the MLP, BPTT, module reuse,
vanishing messages) are in :mod:`gradproof.derive.lecture.proofs_networks`, the
activations' shape in :mod:`gradproof.derive.lecture.proofs_activations`; this
module gathers them all.

>>> from gradproof.derive.lecture.registry import derive
>>> derive("bias_trick").passed
True
"""

from __future__ import annotations

import sympy as sp

from gradproof.derive.lecture.exact import derivative_positive, math
from gradproof.derive.lecture.exact import same as _same  # noqa: F401 -- the comparison, for callers
from gradproof.derive.lecture.functions import explicit
from gradproof.derive.lecture.proofs_activations import (
    build_activation_bounds,
    build_linear_near_zero,
    build_relu_properties,
)
from gradproof.derive.lecture.proofs_networks import (
    build_dag_reuse,
    build_mlp_backprop,
    build_rnn_bptt,
    build_vanishing_gradient,
)
from gradproof.derive.lecture.stats import Builder, is_zero, matrices_equal, symbolic_matrix

__all__ = [
    "BIAS_CLAIM",
    "ERM_RISK",
    "build_activation_bounds",
    "build_bias_trick",
    "build_dag_reuse",
    "build_erm",
    "build_gradient_descent",
    "build_linear_near_zero",
    "build_mlp_backprop",
    "build_randomised_inputs",
    "build_relu_properties",
    "build_rnn_bptt",
    "build_sigmoid_forms",
    "build_softmax_argmax",
    "build_vanishing_gradient",
    "math",
    "s",
]

s = sp.Symbol("s", real=True)
alpha = sp.Symbol("alpha", positive=True)
m, n, K = sp.symbols("m n K", positive=True, integer=True)


def _grad(L, M: sp.Matrix) -> sp.Matrix:
    """SymPy's derivative of the scalar ``L`` by every entry of ``M``."""
    return M.applyfunc(lambda v: sp.diff(L, v))


# ---------------------------------------------------------------------------
# Neural networks overview: empirical risk minimisation
# ---------------------------------------------------------------------------

_i = sp.Symbol("i", positive=True, integer=True)
_ell, _h = sp.Function("ell"), sp.Function("h_theta")
_xb, _yb, _wb = sp.IndexedBase("x"), sp.IndexedBase("y"), sp.IndexedBase("w")
# The lecture's empirical risk, and its perceptron with the bias as input x0 = 1
ERM_RISK = sp.Sum(_ell(_yb[_i], _h(_xb[_i])), (_i, 1, m)) / m
BIAS_CLAIM = sp.Sum(_wb[_i] * _xb[_i], (_i, 0, n))


def build_erm(topic):
    """R(h) = 1/m sum_i l(y_i, h(x_i)); the lecture's losses are instances of it."""
    B = Builder(topic)
    R = ERM_RISK
    B.define("R(h)", r"R_{\mathcal{T}^m}(h_\theta)", R, "the empirical risk on the m training examples")
    B.step(
        "positive factors do not move the minimiser",
        "argmin R",
        r"\operatorname{argmin}_{\theta} R",
        math(
            "argmin_theta R(h_theta) = argmin_theta sum_i l(y_i, h_theta(x_i))",
            r"\operatorname{argmin}_{\theta} \sum_{i=1}^{m} \ell(y_i, h_\theta(x_i))",
        ),
    )
    # Squared loss and a linear neuron: the Gaussian NLL is an affine function of R.
    M, N = 3, 2
    X = symbolic_matrix("x", M, N, real=True)
    y = symbolic_matrix("y", M, 1, real=True)
    w = symbolic_matrix("w", N, 1, real=True)
    sigma = sp.Symbol("sigma", positive=True)
    res = y - X * w
    R_sq = sum(r**2 for r in res) / M
    nll = sp.Rational(M, 2) * sp.log(2 * sp.pi * sigma**2) + (res.T * res)[0] / (2 * sigma**2)
    B.step(
        "squared loss and Gaussian likelihood",
        "L(w)",
        r"L(\mathbf{w})",
        math(
            "m/2 log(2 pi sigma^2) + m/(2 sigma^2) R(h_w)",
            r"\frac{m}{2}\log(2\pi\sigma^2) + \frac{m}{2\sigma^2} R_{\mathcal{T}^m}(h_{\mathbf{w}})",
        ),
        "so maximum likelihood is empirical risk minimisation with the squared loss",
    )
    gradR = sp.Rational(2, M) * X.T * (X * w - y)
    B.step(
        "gradient of the risk: the mean of the per-sample gradients",
        "dR/dw",
        r"\frac{\partial R}{\partial \mathbf{w}}",
        math(
            "1/m sum_i dl_i/dw = 2/m X^T (X w - y)",
            r"\frac{1}{m}\sum_{i=1}^{m} \frac{\partial \ell_i}{\partial \mathbf{w}} = "
            r"\frac{2}{m} \mathbf{X}^{\top} (\mathbf{X}\mathbf{w} - \mathbf{y})",
        ),
    )
    B.result("risk", "R(h)", r"R_{\mathcal{T}^m}(h_\theta)", index=R)
    B.prove(
        "risk",
        "exact: Gaussian NLL = m/2 log(2 pi sigma^2) + m/(2 sigma^2) R",
        f"m={M}, n={N}",
        lambda: is_zero(nll - (sp.Rational(M, 2) * sp.log(2 * sp.pi * sigma**2) + M / (2 * sigma**2) * R_sq)),
    )
    B.prove(
        "risk",
        "exact: dR/dw = 2/m X^T (X w - y) (SymPy differentiation of the explicit risk)",
        f"m={M}, n={N}",
        lambda: matrices_equal(_grad(R_sq, w), gradR),
    )
    B.prove(
        "risk",
        "exact: dR/dw and dL/dw are parallel (same stationary points)",
        f"m={M}, n={N}",
        lambda: matrices_equal(_grad(nll, w) * (2 * sigma**2) / M, _grad(R_sq, w)),
    )
    B.prove_claims(lambda claim: sp.simplify(claim.index - R) == 0, "symbolic m")
    return B.freeze()


# ---------------------------------------------------------------------------
# Gradient descent
# ---------------------------------------------------------------------------


def build_gradient_descent(topic):
    """theta_{k+1} = theta_k - alpha_k grad L(theta_k): a descent step for small alpha."""
    B = Builder(topic)
    t1, t2 = sp.symbols("theta_1 theta_2", real=True)
    L = sp.Function("L")(t1, t2)
    g = [sp.diff(L, t1), sp.diff(L, t2)]
    B.define(
        "theta_{k+1}",
        r"\theta^{k+1}",
        math("theta_k - alpha_k grad L(theta_k)", r"\theta^{k} - \alpha_k \nabla L(\theta^{k})"),
        "the step size (learning rate) is positive",
    )
    phi = L.subs({t1: t1 - alpha * g[0], t2: t2 - alpha * g[1]}, simultaneous=True)
    d0 = sp.diff(phi, alpha).subs(alpha, 0).doit()
    B.step(
        "differentiate L along the step at alpha = 0 (chain rule)",
        "d/dalpha L(theta - alpha grad L)",
        r"\left.\frac{d}{d\alpha} L(\theta - \alpha\nabla L)\right|_{\alpha=0}",
        math("-||grad L(theta)||^2", r"-\lVert \nabla L(\theta) \rVert^2"),
        "negative unless the gradient is zero: a small enough step decreases L",
    )
    # The quadratic case: least squares, exact one-step decrease.
    M, N = 4, 2
    X = sp.Matrix([[1, 2], [-1, 3], [2, 0], [1, -1]])
    y = sp.Matrix([1, -2, 3, 0])
    w = symbolic_matrix("w", N, 1, real=True)
    Lq = ((y - X * w).T * (y - X * w))[0]
    gq = _grad(Lq, w)
    Hq = sp.hessian(Lq, list(w))
    step = Lq.subs(dict(zip(w, w - alpha * gq)), simultaneous=True)
    taylor = Lq - alpha * (gq.T * gq)[0] + alpha**2 / 2 * (gq.T * Hq * gq)[0]
    B.step(
        "least squares: L is quadratic, so the step is exact to second order",
        "L(w - alpha g)",
        r"L(\mathbf{w} - \alpha\mathbf{g})",
        math(
            "L(w) - alpha ||g||^2 + alpha^2/2 g^T H g, H = 2 X^T X",
            r"L(\mathbf{w}) - \alpha\lVert\mathbf{g}\rVert^2 + \frac{\alpha^2}{2}\mathbf{g}^{\top}"
            r"\mathbf{H}\mathbf{g},\ \mathbf{H} = 2\mathbf{X}^{\top}\mathbf{X}",
        ),
        "it decreases for 0 < alpha < 2 ||g||^2 / (g^T H g), in particular for alpha < 2 / lambda_max(H)",
    )
    B.result(
        "decrease",
        "d/dalpha L(theta - alpha grad L)|0",
        r"\left.\frac{d}{d\alpha}L\right|_{\alpha=0}",
        index=-(g[0] ** 2 + g[1] ** 2),
    )
    B.prove(
        "decrease",
        "exact: d/dalpha L(theta - alpha grad L) at 0 = -||grad L||^2 for any smooth L",
        "two parameters",
        lambda: sp.simplify(d0 + g[0] ** 2 + g[1] ** 2) == 0,
    )
    B.prove(
        "decrease",
        "exact: one step on the least-squares loss equals its second-order expansion",
        f"m={M}, n={N}",
        lambda: sp.expand(step - taylor) == 0,
    )
    B.prove("decrease", "exact: H = 2 X^T X is the Hessian", f"m={M}, n={N}", lambda: matrices_equal(Hq, 2 * X.T * X))
    return B.freeze()


# ---------------------------------------------------------------------------
# Regularisation: randomised inputs
# ---------------------------------------------------------------------------


def _expect_noise(expr, eps, var):
    """E over independent zero-mean noise with E(eps_i^2) = var (moments up to order 2)."""
    poly = sp.Poly(sp.expand(expr), *eps)
    out = 0
    for monom, coeff in poly.terms():
        deg = sum(monom)
        if deg == 0:
            out += coeff
        elif deg == 2 and max(monom) == 2:
            out += coeff * var
        elif deg in (1, 2):
            continue  # a lone zero-mean factor: E = 0
        else:
            raise ValueError("moments above order 2 are not needed here")
    return out


def build_randomised_inputs(topic):
    """E_eps[(y - w^T (x + eps))^2] = (y - w^T x)^2 + sigma_eps^2 ||w||^2."""
    B = Builder(topic)
    se = sp.Symbol("sigma_epsilon", positive=True)
    B.define(
        "eps",
        r"\boldsymbol{\epsilon}",
        math(
            "E(eps) = 0, E(eps eps^T) = sigma_eps^2 I",
            r"\operatorname{E}(\boldsymbol{\epsilon}) = \mathbf{0},\ "
            r"\operatorname{E}(\boldsymbol{\epsilon}\boldsymbol{\epsilon}^{\top})"
            r" = \sigma_\epsilon^2\mathbf{I}",
        ),
    )
    B.step(
        "expand the square",
        "E[(y - w^T(x + eps))^2]",
        r"\operatorname{E}_{\boldsymbol{\epsilon}}[(y - \mathbf{w}^{\top}(\mathbf{x} + \boldsymbol{\epsilon}))^2]",
        math(
            "(y - w^T x)^2 - 2 (y - w^T x) w^T E(eps) + w^T E(eps eps^T) w",
            r"(y - \mathbf{w}^{\top}\mathbf{x})^2 - 2(y - \mathbf{w}^{\top}\mathbf{x})\mathbf{w}^{\top}"
            r"\operatorname{E}(\boldsymbol{\epsilon}) + \mathbf{w}^{\top}\operatorname{E}"
            r"(\boldsymbol{\epsilon}\boldsymbol{\epsilon}^{\top})\mathbf{w}",
        ),
    )
    B.step(
        "zero mean, covariance proportional to the identity",
        "E[(y - w^T(x + eps))^2]",
        r"\operatorname{E}_{\boldsymbol{\epsilon}}[(y - \mathbf{w}^{\top}(\mathbf{x} + \boldsymbol{\epsilon}))^2]",
        math(
            "(y - w^T x)^2 + sigma_eps^2 ||w||^2",
            r"(y - \mathbf{w}^{\top}\mathbf{x})^2 + \sigma_\epsilon^2\lVert\mathbf{w}\rVert^2",
        ),
    )
    B.step(
        "sum over the m samples",
        "E[L]",
        r"\operatorname{E}[L]",
        math(
            "(y - X w)^T (y - X w) + m sigma_eps^2 w^T w",
            r"(\mathbf{y} - \mathbf{X}\mathbf{w})^{\top}(\mathbf{y} - \mathbf{X}\mathbf{w}) + "
            r"m\sigma_\epsilon^2\mathbf{w}^{\top}\mathbf{w}",
        ),
        "the ridge loss with lambda = m sigma_eps^2: noisy inputs act as weight decay",
    )
    _prove_randomised_inputs(B, se)
    return B.freeze()


def _prove_randomised_inputs(B, se) -> None:
    N = 3
    x = symbolic_matrix("x", N, 1, real=True)
    w = symbolic_matrix("w", N, 1, real=True)
    eps = symbolic_matrix("epsilon", N, 1, real=True)
    yy = sp.Symbol("y", real=True)
    lhs = _expect_noise((yy - (w.T * (x + eps))[0]) ** 2, list(eps), se**2)
    rhs = (yy - (w.T * x)[0]) ** 2 + se**2 * (w.T * w)[0]
    B.result(
        "expectation",
        "E[(y - w^T(x + eps))^2]",
        r"\operatorname{E}_{\boldsymbol{\epsilon}}[(y - \mathbf{w}^{\top}(\mathbf{x} + \boldsymbol{\epsilon}))^2]",
        index=math(
            "(y - w^T x)^2 + sigma_eps^2 ||w||^2",
            r"(y - \mathbf{w}^{\top}\mathbf{x})^2 + \sigma_\epsilon^2\lVert\mathbf{w}\rVert^2",
        ),
    )
    B.prove(
        "expectation",
        "exact: noise moments substituted into the expanded square",
        f"n={N}",
        lambda: sp.expand(lhs - rhs) == 0,
    )
    M = 2
    X = symbolic_matrix("x", M, N, real=True)
    ys = symbolic_matrix("y", M, 1, real=True)
    E = symbolic_matrix("e", M, N, real=True)
    tot = _expect_noise(sum(r**2 for r in ys - (X + E) * w), list(E), se**2)
    B.prove(
        "expectation",
        "exact: summed over samples, E[L] = ||y - X w||^2 + m sigma_eps^2 ||w||^2",
        f"m={M}, n={N}",
        lambda: sp.expand(tot - (sum(r**2 for r in ys - X * w) + M * se**2 * (w.T * w)[0])) == 0,
    )
    B.prove(
        "expectation",
        "exact: without the sigma_eps^2 ||w||^2 term the equality fails (the proof can fail)",
        f"n={N}",
        lambda: sp.expand(lhs - (yy - (w.T * x)[0]) ** 2) != 0,
    )


# ---------------------------------------------------------------------------
# Treating the bias, and the two forms of the sigmoid
# ---------------------------------------------------------------------------


def build_bias_trick(topic):
    """affine(Z; W, b) = linear([1 Z]; [b; W]), and <w, x> + b = <w', x'>."""
    B = Builder(topic)
    B.define(
        "affine(Z; W, b)",
        r"\operatorname{affine}(\mathbf{Z}; \mathbf{W}, \mathbf{b})",
        math("Z W + 1 b", r"\mathbf{Z}\mathbf{W} + \mathbf{1}\mathbf{b}"),
    )
    B.step(
        "block product",
        "[1 Z] [b; W]",
        r"\begin{bmatrix}\mathbf{1} & \mathbf{Z}\end{bmatrix}"
        r"\begin{bmatrix}\mathbf{b}\\ \mathbf{W}\end{bmatrix}",
        math("1 b + Z W", r"\mathbf{1}\mathbf{b} + \mathbf{Z}\mathbf{W}"),
    )
    B.step(
        "one neuron: x0 = 1 weighted w0 = b",
        "<w', x'>",
        r"\langle \mathbf{w}', \mathbf{x}' \rangle",
        math(
            "w0 * 1 + sum_{i=1}^n w_i x_i = <w, x> + b",
            r"w_0 \cdot 1 + \sum_{i=1}^{n} w_i x_i = \langle \mathbf{w}, \mathbf{x} \rangle + b",
        ),
    )
    B.step(
        "the linear layer's parameter message on [1 Z]",
        "dL/d[b; W]",
        r"\frac{\partial L}{\partial [\mathbf{b}; \mathbf{W}]}",
        math(
            "[1 Z]^T Delta^{l+1} = [colsum(Delta^{l+1}); Z^T Delta^{l+1}]",
            r"\begin{bmatrix}\mathbf{1} & \mathbf{Z}\end{bmatrix}^{\top}\boldsymbol{\Delta}^{l+1} = "
            r"\begin{bmatrix}\mathbf{1}^{\top}\boldsymbol{\Delta}^{l+1}\\ \mathbf{Z}^{\top}\boldsymbol{\Delta}^{l+1}"
            r"\end{bmatrix}",
        ),
        "the affine layer's two parameter messages, stacked",
    )
    M, N, KK = 2, 3, 4
    Zm = symbolic_matrix("z", M, N, real=True)
    W = symbolic_matrix("w", N, KK, real=True)
    bb = sp.Matrix(1, KK, lambda r, c: sp.Symbol(f"b_{c + 1}", real=True))
    ones = sp.ones(M, 1)
    Z1 = ones.row_join(Zm)
    Wb = bb.col_join(W)
    B.result(
        "affine",
        "affine(Z; W, b)",
        r"\operatorname{affine}(\mathbf{Z}; \mathbf{W}, \mathbf{b})",
        index=math(
            "[1 Z] [b; W]",
            r"\begin{bmatrix}\mathbf{1} & \mathbf{Z}\end{bmatrix}"
            r"\begin{bmatrix}\mathbf{b}\\ \mathbf{W}\end{bmatrix}",
        ),
    )
    _prove_bias_trick(B, (M, N, KK), Zm, W, bb, ones, Z1, Wb)
    return B.freeze()


def _prove_bias_trick(B, sizes, Zm, W, bb, ones, Z1, Wb) -> None:
    M, N, KK = sizes
    D = symbolic_matrix("d", M, KK, real=True)
    label = f"m={M}, n={N}, K={KK}"
    B.prove("affine", "exact: Z W + 1 b = [1 Z] [b; W]", label, lambda: matrices_equal(Zm * W + ones * bb, Z1 * Wb))
    B.prove(
        "affine",
        "exact: [1 Z]^T Delta^{l+1} = [colsum(Delta^{l+1}); Z^T Delta^{l+1}]",
        label,
        lambda: matrices_equal(Z1.T * D, (ones.T * D).col_join(Zm.T * D)),
    )
    x = symbolic_matrix("x", N, 1, real=True)
    w = symbolic_matrix("w", N, 1, real=True)
    b0 = sp.Symbol("b", real=True)
    B.prove(
        "affine",
        "exact: <w', x'> = <w, x> + b with x0 = 1, w0 = b",
        f"n={N}",
        lambda: (
            sp.expand((sp.Matrix([[b0]]).col_join(w).T * sp.Matrix([[1]]).col_join(x))[0] - ((w.T * x)[0] + b0)) == 0
        ),
    )
    B.prove(
        "affine",
        "exact: [Z 1] [b; W] (ones in the wrong column) differs (the proof can fail)",
        label,
        lambda: matrices_equal(Zm * W + ones * bb, Zm.row_join(ones) * Wb)[0] is False,
    )

    def claim_holds(claim):
        # x0 = 1, w0 = b at n = 3: the claimed sum is <w, x> + b
        inst = claim.index.subs(n, N).doit().subs({_xb[0]: 1, _wb[0]: b0})
        inst = inst.subs({_xb[k + 1]: x[k] for k in range(N)}).subs({_wb[k + 1]: w[k] for k in range(N)})
        return sp.expand(inst - ((w.T * x)[0] + b0)) == 0

    B.prove_claims(claim_holds, f"n={N}")


def build_sigmoid_forms(topic):
    """sigma(s) = 1/(1 + e^-s) = e^s/(e^s + 1); sigma(s) > 1/2 iff s > 0."""
    B = Builder(topic)
    a = 1 / (1 + sp.exp(-s))
    bform = sp.exp(s) / (sp.exp(s) + 1)
    B.define("sigma(s)", r"\sigma(s)", a)
    B.step("multiply numerator and denominator by exp(s)", "sigma(s)", r"\sigma(s)", bform)
    B.step(
        "subtract 1/2",
        "sigma(s) - 1/2",
        r"\sigma(s) - \frac{1}{2}",
        sp.tanh(s / 2) / 2,
        "tanh is odd and increasing: sigma(s) > 1/2 exactly when s > 0 (the classifier's rule)",
    )
    B.result("form", "sigma(s)", r"\sigma(s)", index=bform)
    B.result("decision", "sigma(s) - 1/2", r"\sigma(s) - \frac{1}{2}", index=sp.tanh(s / 2) / 2)
    B.prove("form", "exact: 1/(1 + e^-s) = e^s/(e^s + 1)", "scalar", lambda: is_zero(a - bform))
    B.prove(
        "decision",
        "exact: sigma(s) - 1/2 = tanh(s/2)/2",
        "scalar",
        lambda: is_zero(a - sp.Rational(1, 2) - sp.tanh(s / 2) / 2),
    )
    B.prove(
        "decision",
        "exact: d/ds tanh(s/2)/2 > 0 and tanh(0) = 0",
        "scalar",
        lambda: derivative_positive(sp.tanh(s / 2) / 2, s) and sp.tanh(0) == 0,
    )
    one_minus = 1 / (sp.exp(s) + 1)
    B.step(
        "1 - sigma(s)",
        "1 - sigma(s)",
        r"1 - \sigma(s)",
        one_minus,
        "both sigma and 1 - sigma are positive: sigma(s) in (0, 1), a Bernoulli parameter",
    )
    B.result("range", "1 - sigma(s)", r"1 - \sigma(s)", index=one_minus)
    B.prove(
        "range",
        "exact: sigma(s) = e^s/(e^s + 1) > 0 and 1 - sigma(s) = 1/(e^s + 1) > 0 (SymPy assumptions)",
        "scalar",
        lambda: bool(bform.is_positive) and bool(one_minus.is_positive) and is_zero(1 - a - one_minus),
    )
    B.prove_claims(lambda claim: is_zero(explicit(claim.index) - bform), "scalar")
    return B.freeze()


def build_softmax_argmax(topic):
    """argmax_k sigma_k(s) = argmax_k s_k: the classifier can skip the softmax."""
    B = Builder(topic)
    sk, sj = sp.symbols("s_k s_j", real=True)
    den = sp.Symbol("D", positive=True)  # sum_c exp(s_c)
    ratio = (sp.exp(sk) / den) / (sp.exp(sj) / den)
    B.define(
        "sigma_k(s)",
        r"\sigma_k(\mathbf{s})",
        math("exp(s_k) / sum_c exp(s_c)", r"\frac{e^{s_k}}{\sum_{c=1}^{K} e^{s_c}}"),
    )
    B.step(
        "the common denominator cancels",
        "sigma_k / sigma_j",
        r"\sigma_k / \sigma_j",
        sp.exp(sk - sj),
        "> 1 exactly when s_k > s_j: softmax keeps the order of the logits",
    )
    B.result("argmax", "sigma_k / sigma_j", r"\sigma_k / \sigma_j", index=sp.exp(sk - sj))
    B.prove(
        "argmax", "exact: sigma_k / sigma_j = exp(s_k - s_j)", "symbolic K", lambda: is_zero(ratio - sp.exp(sk - sj))
    )
    pos = sp.Symbol("d", positive=True)
    B.prove(
        "argmax",
        "exact: s_k = s_j + d with d > 0 gives sigma_k / sigma_j > 1",
        "scalar",
        lambda: (
            ratio.subs(sk, sj + pos).simplify() == sp.exp(pos)
            and bool((pos + pos**2 / 2).is_positive)
            and sp.series(sp.exp(pos), pos, 0, 3).removeO() - 1 == pos + pos**2 / 2
        ),
    )
    B.notes.append("exp(d) - 1 > 0 for d > 0: every term of its power series d + d^2/2 + ... is positive.")
    return B.freeze()
