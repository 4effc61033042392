"""Initialisation variances: Xavier (forward), Glorot (forward and backward),
He (ReLU).

``Var(sum_i w_i x_i)`` cannot be taken for a symbolic number of terms, so
the lecture's chain of equalities is done for one pair ``w x`` (every step
checked on distributions with symbolic parameters), and the iid-sum rule is
an explicit step, checked at ``n = 3`` on finite distributions.  Every
expectation is exact, by the moments of independent laws
(:mod:`gradproof.derive.lecture.moments`: the same values as ``sympy.stats``,
without integrating joint distributions).

>>> from gradproof.derive.lecture.registry import derive
>>> derive("xavier").result("var_w").index
1/n_in
"""

from __future__ import annotations

import functools

import sympy as sp

from gradproof.derive.lecture import moments
from gradproof.derive.lecture.stats import Builder, is_zero, prose

n_in, n_out = sp.symbols("n_in n_out", positive=True, integer=True)
Vx, Vw, Vs = sp.symbols("Var(x) Var(w) Var(s)", positive=True)
# Glorot's backward pass: the message from above, delta^{l+1} (slide "Backpropagation: Backward Pass Message")
Vd = sp.Symbol("Var(delta^{l+1})", positive=True)

_a = sp.Symbol("a", positive=True)
_q = sp.Symbol("q", positive=True)
_sw = sp.Symbol("sigma_w", positive=True)


def _finite_pair(tag: str):
    """Zero-mean finite distributions with symbolic parameters (exact, fast)."""
    w = moments.finite(f"w{tag}", {-_a: sp.Rational(1, 2), _a: sp.Rational(1, 2)})
    x = moments.finite(f"x{tag}", {-1: _q / 2, 0: 1 - _q, 1: _q / 2})
    return w, x


@functools.cache
def _chain_check(k: int) -> bool:
    """Step ``k`` of the one-pair chain, checked once per process: Xavier and
    Glorot state the same chain (for ``w x`` and ``w delta``)."""
    w, x = _finite_pair("")
    E = lambda e: moments.expectation(e, [w, x])
    fns = [lambda ws, xs, E: moments.variance(ws * xs, [w, x])] + [fn for *_, fn in _CHAIN]
    return is_zero(fns[k](w.symbol, x.symbol, E) - fns[k + 1](w.symbol, x.symbol, E))


@functools.cache
def _continuous_pair_check() -> bool:
    # two Gaussians of different variances
    wc, xc = moments.normal("w_c", _sw), moments.normal("x_c", _a)
    V = lambda e: moments.variance(e, [wc, xc])
    return is_zero(V(wc.symbol * xc.symbol) - V(wc.symbol) * V(xc.symbol))


# Each step as a function of the pair's symbols and E (the expectation over the pair).
_CHAIN = [
    ("definition of the variance", lambda w, x, E: E((w * x - E(w * x)) ** 2)),
    ("independence: E(w x) = E(w) E(x)", lambda w, x, E: E((w * x - E(w) * E(x)) ** 2)),
    ("zero means", lambda w, x, E: E(w**2 * x**2)),
    ("independence of w^2 and x^2", lambda w, x, E: E(w**2) * E(x**2)),
    ("zero means: E(w^2) = Var(w)", lambda w, x, E: E((w - E(w)) ** 2) * E((x - E(x)) ** 2)),
]


_OPS = {"E": r"\operatorname{E}", "Var": r"\operatorname{Var}"}


def _tex(name: str) -> str:
    """LaTeX of a variable of these derivations (x; delta^{l+1})."""
    return r"\delta^{l+1}" if name == "delta^{l+1}" else name


def _sq(text: str) -> str:
    """Plain text of a square: ``x_i^2``, ``(delta^{l+1}_j)^2``."""
    return f"({text})^2" if "^" in text else f"{text}^2"


def _pair_steps(B: Builder, other: str = "x", index: str = "i", w_label: tuple = ()):
    """The lecture's chain for one term ``w_i x_i``, each step checked exactly
    on one pair of zero-mean variables."""
    o, ot = f"{other}_{index}", ("{%s_%s}" if "^" in _tex(other) else "%s_%s") % (_tex(other), index)
    w, wt = w_label or (f"w_{index}", f"w_{index}")
    E_, V_ = _OPS["E"], _OPS["Var"]
    chain = [
        (
            "definition of the variance",
            f"Var({w} {o})",
            f"E([{w} {o} - E({w} {o})]^2)",
            r"%s\left(\left[%s %s - %s(%s %s)\right]^2\right)" % (E_, wt, ot, E_, wt, ot),
        ),
        (
            f"independence of {w} and {o}: E({w} {o}) = E({w}) E({o})",
            f"Var({w} {o})",
            f"E([{w} {o} - E({w}) E({o})]^2)",
            r"%s\left(\left[%s %s - %s(%s) %s(%s)\right]^2\right)" % (E_, wt, ot, E_, wt, E_, ot),
        ),
        (f"zero means: E({w}) = E({o}) = 0", f"Var({w} {o})", f"E({w}^2 {_sq(o)})", r"%s(%s^2 %s^2)" % (E_, wt, ot)),
        (
            f"independence of {w}^2 and {_sq(o)}",
            f"Var({w} {o})",
            f"E({w}^2) E({_sq(o)})",
            r"%s(%s^2)\, %s(%s^2)" % (E_, wt, E_, ot),
        ),
        (
            f"zero means: E({w}^2) = E([{w} - E({w})]^2) = Var({w}), likewise for {o}",
            f"Var({w} {o})",
            f"Var({o}) Var({w})",
            r"%s(%s)\, %s(%s)" % (V_, ot, V_, wt),
        ),
    ]
    assert len(chain) == len(_CHAIN)
    for k, (rule, lhs, rhs, rhs_tex) in enumerate(chain):
        B.step(rule, lhs, r"%s(%s %s)" % (V_, wt, ot), prose(rhs, rhs_tex))
        B.prove(
            "var_s",
            f"exact (moments): step '{rule}' on finite zero-mean w, {other}",
            "one pair",
            lambda k=k: _chain_check(k),
        )
    B.prove(
        "var_s",
        "exact (moments): Var(w x) = Var(w) Var(x) for w ~ N(0, sigma_w^2), x ~ N(0, a^2)",
        "one pair",
        _continuous_pair_check,
    )


def _sum_rule(B: Builder, count, count_tex, other="x"):
    o, ot = f"{other}_i", "%s_i" % _tex(other)
    V_ = _OPS["Var"]
    B.step(
        "independent terms: the variance of the sum is the sum of the variances",
        "Var(s)",
        r"\operatorname{Var}(s)",
        prose(f"sum_i Var(w_i {o})", r"\sum_i %s(w_i %s)" % (V_, ot)),
    )

    def rule_at_three():
        pairs = [_finite_pair(str(t)) for t in range(3)]
        rvs = [rv for pair in pairs for rv in pair]
        total = sum(w.symbol * x.symbol for w, x in pairs)
        w0, x0 = pairs[0]
        V = lambda e: moments.variance(e, rvs)
        return is_zero(V(total) - 3 * V(w0.symbol) * V(x0.symbol))

    B.prove("var_s", f"exact (moments): Var(sum_i w_i {o}) = 3 Var(w) Var({other})", "n=3", rule_at_three)


def _identically(B: Builder, count, count_tex, other="x"):
    ot = _tex(other)
    B.step(
        f"sum the equal terms: w_i and {other}_i identically distributed, Var(w_i) = Var(w), Var({other}_i) = Var({other})",
        "Var(s)",
        r"\operatorname{Var}(s)",
        prose(
            f"sum_i Var({other}_i) Var(w_i) = {count} Var({other}) Var(w)",
            r"\sum_i \operatorname{Var}(%s_i) \operatorname{Var}(w_i) = %s \operatorname{Var}(%s) \operatorname{Var}(w)"
            % (ot, count_tex, ot),
        ),
    )


def build_xavier(topic):
    """The lecture's chain, term by term: Var(s) = n_in Var(x) Var(w);
    Var(s) = Var(x) gives Var(w) = 1/n_in."""
    B = Builder(topic)
    B.define("s", "s", prose("sum_{i=1..n_in} w_i x_i", r"\sum_{i=1}^{n_{\mathrm{in}}} w_i x_i"), "the linear neuron")
    B.define(
        "assumptions",
        r"\text{assumptions}",
        prose(
            "w_i, x_i independent; w_i iid; x_i iid; E(w_i) = E(x_i) = 0",
            r"w_i, x_i \text{ independent};\ w_i \text{ iid};\ x_i \text{ iid};\ "
            r"\operatorname{E}(w_i) = \operatorname{E}(x_i) = 0",
        ),
    )
    _sum_rule(B, "n_in", r"n_{\mathrm{in}}")
    _pair_steps(B)
    _identically(B, "n_in", r"n_{\mathrm{in}}")
    var_s = n_in * Vx * Vw
    B.step("collect", "Var(s)", r"\operatorname{Var}(s)", var_s)
    sol = sp.solve(sp.Eq(var_s, Vx), Vw)
    B.step(
        "require Var(s) = Var(x) and solve for Var(w)",
        "Var(w)",
        r"\operatorname{Var}(w)",
        sol[0],
        "tanh is linear near 0, so the variance passes through it; standardise the inputs",
    )
    B.result("var_s", "Var(s)", r"\operatorname{Var}(s)", index=var_s)
    B.result("var_w", "Var(w)", r"\operatorname{Var}(w)", index=sol[0])
    B.prove(
        "var_w",
        "exact: the unique solution of n_in Var(x) Var(w) = Var(x)",
        "symbolic n_in",
        lambda: len(sol) == 1 and is_zero(var_s.subs(Vw, sol[0]) - Vx),
    )
    derived = {"var_s": var_s, "var_w": sol[0]}
    B.prove_claims(lambda claim: is_zero(claim.index - derived[claim.key]), "symbolic n_in, n_out")
    return B.freeze()


def build_glorot(topic):
    """Forward needs n_in Var(w) = 1, backward n_out Var(w) = 1: compromise 2/(n_in + n_out)."""
    B = Builder(topic)
    B.define(
        "s_j",
        "s_j",
        prose("sum_{i=1..n_in} w_ij x_i", r"\sum_{i=1}^{n_{\mathrm{in}}} w_{ij} x_i"),
        "forward: the potentials of the layer",
    )
    B.define(
        "delta^l_i",
        r"\delta^{l}_i",
        prose("sum_{j=1..n_out} w_ij delta^{l+1}_j", r"\sum_{j=1}^{n_{\mathrm{out}}} w_{ij} \delta^{l+1}_j"),
        "backward message in the linear region (f' = 1), from the messages delta^{l+1} of the layer above",
    )
    fwd = n_in * Vx * Vw
    bwd = n_out * Vd * Vw
    B.step("forward pass: Xavier's chain term by term", "Var(s_j)", r"\operatorname{Var}(s_j)", fwd)
    B.step(
        "backward pass: independent terms, the variance of the sum is the sum of the variances",
        "Var(delta^l_i)",
        r"\operatorname{Var}(\delta^{l}_i)",
        prose("sum_j Var(w_ij delta^{l+1}_j)", r"\sum_j \operatorname{Var}(w_{ij} \delta^{l+1}_j)"),
    )
    _pair_steps(B, other="delta^{l+1}", index="j", w_label=("w_ij", "w_{ij}"))
    B.step("sum the n_out equal terms", "Var(delta^l_i)", r"\operatorname{Var}(\delta^{l}_i)", bwd)
    f_sol = sp.solve(sp.Eq(fwd, Vx), Vw)[0]
    b_sol = sp.solve(sp.Eq(bwd, Vd), Vw)[0]
    B.step("keep the forward variance", "Var(w)", r"\operatorname{Var}(w)", f_sol)
    B.step("keep the backward variance", "Var(w)", r"\operatorname{Var}(w)", b_sol, "both only when n_in = n_out")
    h = sp.Symbol("h", positive=True)
    compromise = sp.solve(sp.Eq(1 / h, (1 / f_sol + 1 / b_sol) / 2), h)[0]
    B.step("compromise: 1/Var(w) the mean of n_in and n_out", "Var(w)", r"\operatorname{Var}(w)", compromise)
    U = moments.uniform("w_u", _a)
    a_u = sp.solve(sp.Eq(moments.variance(U.symbol, [U]), compromise), _a)[0]
    B.step("uniform U(-a, a) with this variance (its second moment: a^2/3)", "a", "a", a_u)
    B.result("var_w", "Var(w)", r"\operatorname{Var}(w)", index=compromise)
    B.result("uniform_limit", "a", "a", index=a_u)
    B.prove(
        "var_w",
        "exact: equals 1/n_in and 1/n_out when n_in = n_out",
        "symbolic",
        lambda: is_zero(compromise.subs(n_out, n_in) - f_sol) and is_zero(compromise.subs(n_in, n_out) - b_sol),
    )
    B.prove(
        "uniform_limit",
        "exact (moments): Var(U(-a, a)) at this a",
        "symbolic",
        lambda: is_zero(moments.variance(sp.Symbol("w_v", real=True), [moments.uniform("w_v", a_u)]) - compromise),
    )
    B.prove_claims(lambda claim: is_zero(claim.index - compromise), "symbolic n_in, n_out")
    return B.freeze()


def build_he(topic):
    """ReLU halves the second moment: Var(w) = 2/n_in."""
    B = Builder(topic)
    B.define(
        "x_i",
        "x_i",
        prose("max(0, s'_i)", r"\max(0, s'_i)"),
        "s'_i: the previous layer's potential, symmetric about 0 with variance Var(s')",
    )
    B.define(
        "assumptions",
        r"\text{assumptions}",
        prose(
            "w_i iid, E(w_i) = 0, independent of x_i",
            r"w_i \text{ iid},\ \operatorname{E}(w_i) = 0,\ w_i \text{ independent of } x_i",
        ),
    )
    B.step(
        "independence and E(w_i) = 0: Var(w_i x_i) = E(w_i^2) E(x_i^2) - (E(w_i) E(x_i))^2",
        "Var(w_i x_i)",
        r"\operatorname{Var}(w_i x_i)",
        prose("Var(w) E(x^2)", r"\operatorname{Var}(w) \operatorname{E}(x^2)"),
        "E(x_i) is not 0 after a ReLU, so only E(w_i) = 0 is used",
    )

    sig = sp.Symbol("sigma_s", positive=True)
    t = sp.Symbol("t", real=True)
    ex2 = _relu_second_moment(sp.exp(-(t**2) / (2 * sig**2)) / (sig * sp.sqrt(2 * sp.pi)), t, sp.oo)
    B.step(
        "E(max(0, s')^2) = integral of t^2 p(t) over t > 0, s' normal with mean 0 and variance sigma_s^2",
        "E(x^2)",
        r"\operatorname{E}(x^2)",
        ex2,
        "half of the symmetric mass is cut off",
    )
    Vsp = sp.Symbol("Var(s')", positive=True)
    ex2_v = ex2.subs(sig, sp.sqrt(Vsp))
    var_s = n_in * Vw * ex2_v
    B.step("iid-sum rule over the n_in inputs", "Var(s)", r"\operatorname{Var}(s)", var_s)
    sol = sp.solve(sp.Eq(var_s, Vsp), Vw)
    B.step("require Var(s) = Var(s') from layer to layer", "Var(w)", r"\operatorname{Var}(w)", sol[0])
    B.result("var_w", "Var(w)", r"\operatorname{Var}(w)", index=sol[0])

    B.prove(
        "var_w",
        "exact (moments): E(max(0, s')^2) = Var(s')/2 for a symmetric uniform s' too",
        "symbolic",
        lambda: is_zero(_uniform_half()),
    )
    B.prove(
        "var_w",
        "exact: the unique solution",
        "symbolic n_in",
        lambda: len(sol) == 1 and is_zero(var_s.subs(Vw, sol[0]) - Vsp),
    )
    B.prove_claims(lambda claim: is_zero(claim.index - sol[0]), "symbolic n_in")
    return B.freeze()


def _relu_second_moment(density, t, upper):
    """``E(max(0, s)^2)``: the ReLU keeps s^2 on s > 0 only, so integrate
    ``t^2`` against the density of s over (0, upper), where its support ends."""
    moment = sp.integrate(t**2 * density, (t, 0, upper))
    return moment if _single_power(moment) else sp.simplify(moment)


def _single_power(e) -> bool:
    """``c x^p`` (rational ``c``, ``p``, one symbol ``x``): nothing for ``simplify`` to shorten."""
    factors = sp.Mul.make_args(e)
    powers = [f for f in factors if not f.is_Rational]
    return len(powers) <= 1 and all(
        f.is_Symbol or (f.is_Pow and f.base.is_Symbol and f.exp.is_Rational) for f in powers
    )


def _uniform_half():
    # The halving does not depend on the Gaussian: any symmetric law gives it.
    t = sp.Symbol("t", real=True)
    U = moments.uniform("s_u", _a)
    return _relu_second_moment(1 / (2 * _a), t, _a) - moments.variance(U.symbol, [U]) / 2  # is_zero decides it
