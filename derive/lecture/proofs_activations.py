"""The activations' shape, proved exactly: bounded derivatives, linear near zero, the ReLU slide.

>>> from gradproof.derive.lecture.registry import derive
>>> derive("activation_bounds").passed
True
"""

from __future__ import annotations

import sympy as sp

from gradproof.derive.engine import mexpr as mx
from gradproof.derive.lecture.exact import limit_in, math, tanh_limit, taylor_polynomial, zero
from gradproof.derive.lecture.functions import explicit, sigmoid
from gradproof.derive.lecture.stats import Builder, is_zero, symbolic_matrix

s = sp.Symbol("s", real=True)
alpha = sp.Symbol("alpha", positive=True)
m, n, K = sp.symbols("m n K", positive=True, integer=True)


def build_activation_bounds(topic):
    """0 < tanh'(s) <= 1 with equality only at 0; 0 < sigma'(s) <= 1/4."""
    B = Builder(topic)
    dt = sp.diff(sp.tanh(s), s)
    B.step("differentiate tanh", "tanh'(s)", r"\tanh'(s)", 1 - sp.tanh(s) ** 2)
    B.step(
        "the square of tanh(s) is non-negative, so",
        "tanh'(s)",
        r"\tanh'(s)",
        math("1 - tanh(s)^2 <= 1, equality iff s = 0", r"1 - \tanh^2 s \le 1,\ \text{equality iff } s = 0"),
    )
    B.step("in exponentials", "tanh'(s)", r"\tanh'(s)", 4 / (sp.exp(s) + sp.exp(-s)) ** 2, "> 0 for every real s")
    ds = sigmoid(s) * (1 - sigmoid(s))
    B.step(
        "the sigmoid's derivative, completed square",
        "sigma'(s)",
        r"\sigma'(s)",
        sp.Rational(1, 4) - (sigmoid(s) - sp.Rational(1, 2)) ** 2,
        "<= 1/4, equality iff s = 0",
    )
    B.result("tanh_bound", "tanh'(s)", r"\tanh'(s)", index=1 - sp.tanh(s) ** 2)
    B.result(
        "sigmoid_bound", "sigma'(s)", r"\sigma'(s)", index=sp.Rational(1, 4) - (sigmoid(s) - sp.Rational(1, 2)) ** 2
    )
    B.prove(
        "tanh_bound",
        "exact: tanh'(s) = 1 - tanh(s)^2 = 4/(e^s + e^-s)^2",
        "scalar",
        lambda: is_zero(dt - (1 - sp.tanh(s) ** 2)) and is_zero(dt - 4 / (sp.exp(s) + sp.exp(-s)) ** 2),
    )
    B.prove(
        "tanh_bound",
        "exact: 1 - tanh'(s) = tanh(s)^2 is non-negative for real s, zero only at s = 0",
        "scalar",
        # tanh(s) = (e^{2s} - 1)/(e^{2s} + 1) with a positive denominator: zero iff e^{2s} = 1
        lambda: (
            bool((sp.tanh(s) ** 2).is_nonnegative)
            and zero(sp.tanh(s) - (sp.exp(2 * s) - 1) / (sp.exp(2 * s) + 1))
            and bool((sp.exp(2 * s) + 1).is_positive)
            and sp.solve(sp.exp(2 * s) - 1, s) == [0]
        ),
    )
    B.prove(
        "tanh_bound",
        "exact: tanh'(s) > 0 (SymPy assumptions on 4/(e^s + e^-s)^2)",
        "scalar",
        lambda: bool((4 / (sp.exp(s) + sp.exp(-s)) ** 2).is_positive),
    )
    B.prove(
        "sigmoid_bound",
        "exact: sigma'(s) = 1/4 - (sigma(s) - 1/2)^2 <= 1/4",
        "scalar",
        lambda: is_zero(explicit(ds) - explicit(sp.Rational(1, 4) - (sigmoid(s) - sp.Rational(1, 2)) ** 2)),
    )
    B.prove(
        "tanh_bound",
        "exact: tanh'(s) -> 0 as s -> +-oo (saturation)",
        "scalar",
        lambda: tanh_limit(dt, s, 1) == 0 and tanh_limit(dt, s, -1) == 0,
    )
    return B.freeze()


def build_linear_near_zero(topic):
    """sigma(s) = 1/2 + s/4 - s^3/48 + O(s^5) and tanh(s) = s - s^3/3 + O(s^5)."""
    B = Builder(topic)
    ser_sig = taylor_polynomial(explicit(sigmoid(s)), s, 5)  # sigma is analytic at 0
    ser_tanh = sp.series(sp.tanh(s), s, 0, 5).removeO()
    B.step(
        "Taylor series of 1/(1 + exp(-s)) at 0",
        "sigma(s)",
        r"\sigma(s)",
        math("1/2 + s/4 - s^3/48 + O(s^5)", r"\frac{1}{2} + \frac{s}{4} - \frac{s^{3}}{48} + O(s^{5})"),
    )
    B.step(
        "Taylor series of tanh at 0",
        "tanh(s)",
        r"\tanh(s)",
        math("s - s^3/3 + O(s^5)", r"s - \frac{s^{3}}{3} + O(s^{5})"),
        "small potentials (small weights): sigmoid and tanh neurons behave like linear neurons",
    )
    B.result("sigmoid", "sigma(s)", r"\sigma(s)", index=sp.Rational(1, 2) + s / 4)
    B.result("tanh", "tanh(s)", r"\tanh(s)", index=s)
    B.prove(
        "sigmoid",
        "exact: series of sigma at 0 to order 5 is 1/2 + s/4 - s^3/48",
        "scalar",
        lambda: sp.expand(ser_sig - (sp.Rational(1, 2) + s / 4 - s**3 / 48)) == 0,
    )
    B.prove(
        "tanh",
        "exact: series of tanh at 0 to order 5 is s - s^3/3",
        "scalar",
        lambda: sp.expand(ser_tanh - (s - s**3 / 3)) == 0,
    )
    B.prove(
        "tanh",
        "exact: tanh(s) = 2 sigma(2s) - 1 carries the one series into the other",
        "scalar",
        lambda: sp.expand(2 * ser_sig.subs(s, 2 * s) - 1 - ser_tanh) == 0,
    )
    # the claimed expansion, order term included, against tanh's own series to that order
    B.prove_claims(lambda claim: _same_expansion(claim.index, sp.tanh(s)), "scalar")
    return B.freeze()


def build_relu_properties(topic):
    """ReLU: gradient 1 for s > 0, 0 for s < 0 (dead units), unbounded output."""
    B = Builder(topic)
    sp_, sn = sp.Symbol("s", positive=True), sp.Symbol("s", negative=True)
    f = lambda x: sp.Max(0, x)
    B.define("f(s)", "f(s)", f(s))
    B.step("s > 0", "f'(s)", "f'(s)", sp.diff(f(sp_), sp_), "constant: no factor below 1 multiplies delta")
    B.step(
        "sigmoid-like activations saturate",
        "lim sigma'(s)",
        r"\lim_{s\to\infty}\sigma'(s)",
        limit_in(sp.diff(sigmoid(s), s), sigmoid, s, 1),
    )
    B.step(
        "s < 0",
        "f'(s)",
        "f'(s)",
        sp.diff(f(sn), sn),
        "the unit is off and blocks the message; a unit with s < 0 on every sample never learns (dead unit)",
    )
    a = sp.Symbol("a", positive=True)
    B.step(
        "Leaky ReLU max(a s, s) with 0 < a < 1 is a s for s < 0",
        "f'(s)",
        "f'(s)",
        sp.diff(a * sn, sn),
        "the message passes, scaled by a",
    )
    B.step(
        "unbounded above",
        "lim f(s)",
        r"\lim_{s\to\infty} f(s)",
        sp.limit(sp.Max(0, s), s, sp.oo),
        "unlike sigma and tanh: regularisation keeps the potentials (and numbers) in range",
    )
    B.result("positive", "f'(s), s > 0", r"f'(s),\ s>0", index=sp.Integer(1))
    B.result("dead", "f'(s), s < 0", r"f'(s),\ s<0", index=sp.Integer(0))
    B.result("unbounded", "lim f(s)", r"\lim_{s\to\infty} f(s)", index=sp.oo)
    B.prove("positive", "exact: d/ds max(0, s) = 1 for s > 0", "scalar", lambda: sp.diff(f(sp_), sp_) == 1)
    B.prove(
        "positive",
        "exact: sigma'(s) -> 0 and tanh'(s) -> 0 as s -> oo",
        "scalar",
        lambda: limit_in(sp.diff(sigmoid(s), s), sigmoid, s, 1) == 0 and tanh_limit(sp.diff(sp.tanh(s), s), s, 1) == 0,
    )
    B.prove("dead", "exact: d/ds max(0, s) = 0 for s < 0", "scalar", lambda: sp.diff(f(sn), sn) == 0)
    _prove_relu_modules(B)
    B.prove_claims(lambda claim: sp.diff(f(sp_), sp_) == claim.index, "scalar")
    B.prove(
        "unbounded",
        "exact: max(0, s) -> oo as s -> oo, while sigma(s) -> 1 and tanh(s) -> 1",
        "scalar",
        lambda: (
            sp.limit(sp.Max(0, s), s, sp.oo) == sp.oo
            and limit_in(sigmoid(s), sigmoid, s, 1) == 1
            and tanh_limit(sp.tanh(s), s, 1) == 1
        ),
    )
    return B.freeze()


def _prove_relu_modules(B) -> None:
    """The generated relu and leaky_relu modules' messages on negative inputs."""
    from gradproof.derive.lecture.registry import derive

    relu = derive("relu")

    def dead_unit():
        # the generated relu module's message, with unit 2 negative on every sample
        M, H = 3, 2
        Zm = sp.Matrix(M, H, lambda r, c: sp.Symbol(f"s_{r + 1}_{c + 1}", positive=(c == 0), negative=(c == 1)))
        Dm = symbolic_matrix("d", M, H, real=True)
        out = mx.evaluate(relu.code.backward, {"Delta": Dm, "Z": Zm})
        out = out.applyfunc(lambda e: sp.sympify(e, strict=True).rewrite(sp.Piecewise))
        blocked = all(sp.simplify(out[r, 1]) == 0 for r in range(M))
        passes = all(sp.simplify(out[r, 0] - Dm[r, 0]) == 0 for r in range(M))
        return blocked and passes, "" if blocked and passes else f"message {out}"

    B.prove(
        "dead",
        "exact: the relu module's backward message is 0 on a unit with s < 0 for every sample "
        "(so dL/dW of that unit is 0)",
        "m=3, 2 units",
        dead_unit,
    )
    leaky = derive("leaky_relu")

    def leaky_passes():
        d0, z0 = sp.Symbol("d", real=True), sp.Symbol("s", negative=True)
        out = mx.evaluate(leaky.code.backward, {"Delta": sp.Matrix([[d0]]), "Z": sp.Matrix([[z0]])})[0]
        a_ = leaky.code.hyper[0][0]
        return sp.simplify(sp.sympify(out, strict=True).rewrite(sp.Piecewise) - a_ * d0) == 0, f"message {out}"

    B.prove("dead", "exact: the leaky_relu module passes alpha * delta for s < 0", "scalar", leaky_passes)


def _same_expansion(claimed, f) -> bool:
    """``claimed`` (``s + O(s^3)``) agrees with the series of ``f`` at 0 up to its order term."""
    order = claimed.getO() if isinstance(claimed, sp.Expr) else None
    if order is None:
        return False  # an expansion states its order
    n = sp.Poly(order.expr, s).degree()
    return sp.expand((claimed - sp.series(f, s, 0, n)).removeO()) == 0
