"""Identities the lecture states, each derived step by step and every step
proved equal to the one before.

SymPy's ``simplify`` does not prove ``tanh(s) = 2 sigma(2s) - 1`` as written
(SymPy 1.14 returns ``tanh(s) + 1 - 2/(1 + exp(-2s))``); rewriting both sides
to ``exp`` first does, so every step here is checked that way
(:func:`gradproof.derive.lecture.stats.is_zero`).

>>> from gradproof.derive.lecture.registry import derive
>>> derive("tanh_sigmoid").passed
True
"""

from __future__ import annotations

import sympy as sp

from gradproof.derive.lecture.functions import explicit, sigmoid
from gradproof.derive.lecture.stats import Builder, is_zero, prose
from gradproof.derive.output.printing import Shown

s = sp.Symbol("s", real=True)
y = sp.Symbol("y", real=True)
j, c, k = sp.symbols("j c k", positive=True, integer=True)
K = sp.Symbol("K", positive=True, integer=True)
Sb, Yb = sp.IndexedBase("s"), sp.IndexedBase("y")


def _chain(B: Builder, key: str, start, steps):
    """Record a chain of equal forms, proving each equal to the previous one."""
    prev = start
    for rule, lhs_text, lhs_latex, expr, note in steps:
        B.step(rule, lhs_text, lhs_latex, expr, note)
        B.prove(
            key,
            f"exact: step '{rule}' equals the previous form",
            "scalar",
            lambda a=prev, b=expr: is_zero(explicit(a) - explicit(b)),
        )
        prev = expr
    return prev


def build_tanh_sigmoid(topic):
    """tanh(s) = 2 sigma(2s) - 1."""
    B = Builder(topic)
    B.define("sigma(s)", r"\sigma(s)", sigmoid(s).rewrite(sp.exp))
    B.define("tanh(s)", r"\tanh(s)", sp.tanh(s))
    e = sp.exp
    last = _chain(
        B,
        "identity",
        sp.tanh(s),
        [
            ("definition of tanh, in exp", "tanh(s)", r"\tanh(s)", sp.tanh(s).rewrite(sp.exp), ""),
            (
                "multiply numerator and denominator by exp(-s)",
                "tanh(s)",
                r"\tanh(s)",
                (1 - e(-2 * s)) / (1 + e(-2 * s)),
                "",
            ),
            ("write the numerator as 2 - (1 + exp(-2s))", "tanh(s)", r"\tanh(s)", 2 / (1 + e(-2 * s)) - 1, ""),
            ("recognise sigma(2s) = 1/(1 + exp(-2s))", "tanh(s)", r"\tanh(s)", 2 * sigmoid(2 * s) - 1, ""),
        ],
    )
    B.result("identity", "tanh(s)", r"\tanh(s)", index=last)
    B.notes.append(
        "Every step is proved after rewriting both sides to exp: SymPy's simplify alone does not reduce "
        "tanh(s) - (2 sigma(2s) - 1) to 0 (tests/derive/test_exact.py keeps that measured)."
    )
    B.prove_claims(lambda claim: is_zero(explicit(claim.index) - explicit(last)), "scalar")
    return B.freeze()


def build_sigmoid_derivative(topic):
    """sigma'(s) = sigma(s)(1 - sigma(s)), from the explicit definition."""
    B = Builder(topic)
    sig = 1 / (1 + sp.exp(-s))
    B.define("sigma(s)", r"\sigma(s)", sig)
    d = sp.diff(sig, s)  # SymPy's own derivative of the explicit form
    B.step("differentiate 1/(1 + exp(-s)) (chain rule)", "sigma'(s)", r"\sigma'(s)", d)
    last = _chain(
        B,
        "derivative",
        d,
        [
            (
                "split the fraction",
                "sigma'(s)",
                r"\sigma'(s)",
                sp.Mul(sig, sp.exp(-s) / (1 + sp.exp(-s)), evaluate=False),
                "",
            ),
            ("exp(-s)/(1 + exp(-s)) = 1 - 1/(1 + exp(-s))", "sigma'(s)", r"\sigma'(s)", sig * (1 - sig), ""),
            ("recognise sigma", "sigma'(s)", r"\sigma'(s)", sigmoid(s) * (1 - sigmoid(s)), ""),
        ],
    )
    B.result("derivative", "sigma'(s)", r"\sigma'(s)", index=last)
    B.prove(
        "derivative",
        "exact: the function library's sigma' agrees with the explicit derivative",
        "scalar",
        lambda: is_zero(explicit(sp.diff(sigmoid(s), s)) - d),
    )
    B.prove_claims(lambda claim: is_zero(explicit(claim.index) - d), "scalar")
    return B.freeze()


def build_softmax_simplex(topic):
    """Softmax outputs lie in (0, 1) and sum to 1."""
    B = Builder(topic)
    den = sp.Sum(sp.exp(Sb[c]), (c, 1, K))
    sk = sp.exp(Sb[k]) / den
    B.define("sigma_k(s)", r"\sigma_k(\mathbf{s})", sk)
    total = sp.Sum(sk, (k, 1, K))
    B.step("sum over k", "sum_k sigma_k", r"\sum_k \sigma_k", total)
    pulled = sp.Sum(sp.exp(Sb[k]), (k, 1, K)) / den
    B.step("the denominator does not depend on k", "sum_k sigma_k", r"\sum_k \sigma_k", pulled)
    renamed = pulled.xreplace({k: c})  # rename the summation index: the same sum
    B.step("rename the summation index k -> c", "sum_k sigma_k", r"\sum_k \sigma_k", renamed)
    B.step("a quotient of positive terms: every e^{s_c} > 0", "sigma_k", r"\sigma_k", sp.Integer(0), relation=">")
    B.step(
        "1 - sigma_k is the other classes' share of the denominator",
        "1 - sigma_k",
        r"1 - \sigma_k",
        sp.Sum(sp.exp(Sb[c]) * (1 - sp.KroneckerDelta(c, k)), (c, 1, K)) / den,
        "positive when K >= 2, so sigma_k < 1",
    )
    B.step("both bounds", "sigma_k", r"\sigma_k", sp.Interval.open(0, 1), relation="in")
    B.result("sum", "sum_k sigma_k", r"\sum_k \sigma_k", index=renamed)
    B.result("range", "sigma_k", r"\sigma_k", index=sp.Interval.open(0, 1), relation="in")

    B.prove(
        "sum", "exact: after renaming, numerator and denominator are the same sum", "symbolic K", lambda: renamed == 1
    )
    KK = 4
    sv = sp.symbols(f"s1:{KK + 1}", real=True)
    den_e = sum(sp.exp(x) for x in sv)
    sig_e = [sp.exp(x) / den_e for x in sv]
    B.prove("sum", "exact: explicit softmax sums to 1", f"K={KK}", lambda: is_zero(sum(sig_e) - 1))

    def in_unit_interval():
        for q in range(KK):
            others = sum(sp.exp(sv[r]) for r in range(KK) if r != q) / den_e
            if not (sig_e[q].is_positive and others.is_positive and is_zero(1 - sig_e[q] - others)):
                return False, f"class {q + 1}"
        return True

    B.prove(
        "range",
        "exact: sigma_k > 0 and 1 - sigma_k = (other classes) / sum > 0 (SymPy assumptions, real s)",
        f"K={KK}",
        in_unit_interval,
    )
    range_proved = all(p.passed for p in B.proofs if p.key == "range")

    def compare(claim):
        if claim.key == "range":  # the derived range, itself proved above
            return claim.index == sp.Interval.open(0, 1) and range_proved
        # the claimed value of sum_k sigma_k against the explicit softmax's sum
        return is_zero(sum(sig_e) - sp.sympify(claim.index, strict=True))

    B.prove_claims(compare, f"K={KK}")
    return B.freeze()


def build_fused_gradients(topic):
    """dL/ds = yhat - y for sigmoid + cross-entropy and softmax + cross-entropy."""
    B = Builder(topic)
    ell = -(y * sp.log(sigmoid(s)) + (1 - y) * sp.log(1 - sigmoid(s)))
    B.define("l(y, s)", r"\ell(y, s)", ell, "sigmoid + binary cross-entropy, one sample")
    d = sp.diff(ell, s)
    B.step("chain rule, sigma' = sigma (1 - sigma)", "dl/ds", r"\frac{\partial \ell}{\partial s}", d)
    d1 = sp.expand(d)
    B.step("expand: the y sigma(s) terms cancel", "dl/ds", r"\frac{\partial \ell}{\partial s}", d1)
    B.result("sigmoid_bce", "dl/ds", r"\frac{\partial \ell}{\partial s}", index=d1)

    den = sp.Sum(sp.exp(Sb[k]), (k, 1, K))
    ce = -sp.Sum(Yb[c] * sp.log(sp.exp(Sb[c]) / den), (c, 1, K))
    B.define("l(y, s)", r"\ell(\mathbf{y}, \mathbf{s})", ce, "softmax + cross-entropy, one sample, sum_c y_c = 1")
    lse = -sp.Sum(Yb[c] * Sb[c], (c, 1, K)) + sp.Sum(Yb[c], (c, 1, K)) * sp.log(den)
    B.step("log(exp(s_c)/D) = s_c - log D", "l", r"\ell", lse)
    raw = sp.diff(lse, Sb[j]).doit()
    # Differentiating a sum over k by s_j gives Piecewise((.., j <= K), (0, True)):
    # j is a class index, so 1 <= j <= K holds and the first branch is the value.
    grad = raw.replace(lambda e: isinstance(e, sp.Piecewise), lambda e: e.args[0][0])
    B.step(
        "differentiate in s_j (Kronecker deltas summed out, j in 1..K)",
        "dl/ds_j",
        r"\frac{\partial \ell}{\partial s_j}",
        grad,
    )
    grad1 = grad.subs(sp.Sum(Yb[c], (c, 1, K)), 1)
    B.step("sum_c y_c = 1", "dl/ds_j", r"\frac{\partial \ell}{\partial s_j}", grad1, "= yhat_j - y_j")
    B.result("softmax_cross_entropy", "dl/ds_j", r"\frac{\partial \ell}{\partial s_j}", index=grad1)

    B.prove("sigmoid_bce", "exact: dl/ds = sigma(s) - y", "scalar", lambda: is_zero(d1 - (sigmoid(s) - y)))
    KK = 3
    sv = sp.symbols(f"s1:{KK + 1}", real=True)
    yv = sp.symbols(f"y1:{KK + 1}", real=True)
    den_e = sum(sp.exp(x) for x in sv)
    simplex = {yv[-1]: 1 - sum(yv[:-1])}

    def explicit_softmax_ce():
        ce_e = -sum(yv[q] * sp.log(sp.exp(sv[q]) / den_e) for q in range(KK))
        for q in range(KK):
            got = sp.diff(ce_e, sv[q]).subs(simplex)
            want = (sp.exp(sv[q]) / den_e - yv[q]).subs(simplex)
            if not is_zero(got - want):
                return False, f"class {q + 1}: {got} vs {want}"
        return True

    B.prove(
        "softmax_cross_entropy",
        "exact: explicit cross-entropy of the softmax, differentiated, y on the simplex",
        f"K={KK}",
        explicit_softmax_ce,
    )

    def index_form_explicit():
        for q in range(KK):
            got = grad1.subs(j, q + 1).subs(K, KK).doit().subs({Sb[r + 1]: sv[r] for r in range(KK)})
            got = got.subs({Yb[r + 1]: yv[r] for r in range(KK)})
            if not is_zero(got - (sp.exp(sv[q]) / den_e - yv[q])):
                return False, f"class {q + 1}: {got}"
        return True

    B.prove("softmax_cross_entropy", "exact: the symbolic-K result instantiated", f"K={KK}", index_form_explicit)

    def compare(claim):
        if claim.key == "sigmoid_bce":
            return is_zero(explicit(claim.index) - explicit(d1))
        return is_zero(
            sp.sympify(claim.index, strict=True)
            .subs(j, 2)
            .subs(K, KK)
            .doit()
            .subs({Sb[r + 1]: sv[r] for r in range(KK)})
            .subs({Yb[r + 1]: yv[r] for r in range(KK)})
            - (sp.exp(sv[1]) / den_e - yv[1])
        )

    B.prove_claims(compare, f"scalar; K={KK}, j=2")
    return B.freeze()


def _symmetry_names(s_common, f, g, n_out):
    """Readable names for SymPy's unevaluated derivatives of the arbitrary f
    and loss l: ``f'(s)`` and ``dl/dyhat_k`` (display only; the proofs use the
    raw expressions)."""

    def rename(e):
        def repl(x):
            expr, variables, points = x.args
            if isinstance(expr, sp.Derivative) and expr.expr.func == f:
                return Shown("f'(s)", "f'(s)")
            if isinstance(expr, sp.Derivative) and expr.expr.func == g:
                var = expr.variables[0]
                k = list(expr.expr.args).index(var) + 1
                return Shown(f"dl/dyhat_{k}", r"\frac{\partial \ell}{\partial \hat{y}_{%d}}" % k)
            return x

        e = e.replace(lambda x: isinstance(x, sp.Subs), repl)
        e = e.xreplace({f(s_common): Shown("f(s)", "f(s)")})
        e = e.subs(s_common, Shown("s", "s"))
        return sp.factor_terms(e)

    return rename


def build_symmetry(topic):
    """Constant initialisation: every hidden neuron gets the same delta."""
    B = Builder(topic)
    n_in, H, n_out = 2, 3, 2
    f = sp.Function("f")  # any activation
    g = sp.Function("ell")  # any loss of the outputs
    x = sp.symbols(f"x1:{n_in + 1}", real=True)
    W = sp.Matrix(n_in, H, lambda r, q: sp.Symbol(f"W_{r + 1}_{q + 1}", real=True))
    bvec = sp.Matrix(1, H, lambda r, q: sp.Symbol(f"b_{q + 1}", real=True))
    V = sp.Matrix(H, n_out, lambda r, q: sp.Symbol(f"V_{r + 1}_{q + 1}", real=True))
    a, b0, v0, alpha = sp.symbols("a b_0 v_0 alpha", real=True)
    S = sp.Matrix([x]) * W + bvec
    Hh = S.applyfunc(f)
    Yh = Hh * V
    L = g(*Yh)
    B.define(
        "s_j",
        r"s_j",
        prose(
            "sum_i W_ij x_i + b_j, h_j = f(s_j), yhat_k = sum_j V_jk h_j, L = l(yhat)", r"s_j = \sum_i W_{ij} x_i + b_j"
        ),
        f"a layer of {H} neurons with {n_in} inputs and {n_out} outputs; f and l arbitrary",
    )
    B.define(
        "init",
        r"\text{init}",
        prose("W_ij = a, b_j = b_0, V_jk = v_0 for all i, j, k", r"W_{ij} = a,\ b_j = b_0,\ V_{jk} = v_0"),
    )
    const = {**dict.fromkeys(W, a), **dict.fromkeys(bvec, b0), **dict.fromkeys(V, v0)}
    # delta_j = dL/ds_j: differentiate through h_j = f(s_j) by the chain rule.
    u = sp.symbols(f"u1:{H + 1}", real=True)
    L_of_s = g(*(sp.Matrix([[f(q) for q in u]]) * V))
    deltas = [sp.diff(L_of_s, u[q]).subs(dict(zip(u, S))) for q in range(H)]
    deltas_c = [dl.xreplace(const).doit() for dl in deltas]
    gW = [[sp.diff(L, W[r, q]).xreplace(const).doit() for q in range(H)] for r in range(n_in)]
    shown = _symmetry_names(S.subs(const)[0], f, g, n_out)
    B.step(
        "the potentials coincide: s_j = a sum_i x_i + b_0 = s for every j, so h_j = f(s)",
        "s_j",
        "s_j",
        Shown("s", "s"),
        relation="=",
    )
    B.step(
        "backward pass: delta_j = f'(s_j) sum_k V_jk dl/dyhat_k with V_jk = v_0",
        "delta_j",
        r"\delta_j",
        shown(deltas_c[0]),
        "the same expression for every hidden neuron j",
    )
    B.step(
        "so all hidden neurons receive the same message",
        "delta_j - delta_1",
        r"\delta_j - \delta_1",
        sp.Integer(0) if all(sp.expand(dl - deltas_c[0]) == 0 for dl in deltas_c) else sp.Symbol("nonzero"),
    )
    B.step(
        "weight gradients dL/dW_ij = x_i delta_j: the same for every j",
        "dL/dW_ij",
        r"\frac{\partial L}{\partial W_{ij}}",
        shown(gW[0][0]).subs(sp.Symbol("x1", real=True), Shown("x_i", "x_i")),
    )
    B.step(
        "one gradient-descent step W_ij - alpha dL/dW_ij keeps the columns equal",
        "W_ij'",
        r"W_{ij}'",
        shown(a - alpha * gW[0][0]).subs(sp.Symbol("x1", real=True), Shown("x_i", "x_i")),
        "by induction the neurons never differ: the symmetry must be broken by random initialisation",
    )
    B.result("delta", "delta_j", r"\delta_j", index=shown(deltas_c[0]))
    _prove_symmetry(B, (n_in, H, n_out), deltas, deltas_c, gW, const, W, a)
    return B.freeze()


def _prove_symmetry(B: Builder, sizes, deltas, deltas_c, gW, const, W, a) -> None:
    n_in, H, n_out = sizes
    B.prove(
        "delta",
        "exact: delta_j - delta_1 = 0 for every hidden neuron j",
        f"n_in={n_in}, H={H}, n_out={n_out}",
        lambda: all(sp.expand(dl - deltas_c[0]) == 0 for dl in deltas_c[1:]),
    )
    B.prove(
        "delta",
        "exact: dL/dW_ij equal across j (the update keeps the symmetry)",
        f"n_in={n_in}, H={H}",
        lambda: all(sp.expand(gW[r][q] - gW[r][0]) == 0 for r in range(n_in) for q in range(H)),
    )

    def distinct_weights_break_it():
        # The check can fail: with distinct first-layer weights the deltas differ.
        other = {**const, W[0, 1]: a + 1}
        d1 = deltas[0].xreplace(other).doit()
        d2 = deltas[1].xreplace(other).doit()
        return sp.expand(d1 - d2) != 0

    B.prove(
        "delta",
        "exact: with W_12 != W_11 the deltas differ (the proof can fail)",
        f"n_in={n_in}, H={H}",
        distinct_weights_break_it,
    )
