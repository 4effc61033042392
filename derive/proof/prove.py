"""Exact proofs: every derived result against SymPy's scalar differentiation.

The symbolic dimensions are instantiated at small *non-square* sizes
(``m=2, n=3, K=4``: a transposition error changes a shape and cannot hide),
every entry becomes its own SymPy symbol, the forward map is expanded into
explicit scalar expressions straight from the declaration, and SymPy's
ordinary ``diff`` of the scalar loss ``L = sum(Delta * forward(Z))`` is the
oracle.  The derived index form and matrix form are each compared entry by
entry; equality is decided by :func:`exact_zero`.
"""

from __future__ import annotations

import functools
import random

import sympy as sp

from gradproof.derive.engine import mexpr as mx
from gradproof.derive.engine.derivation import Proof
from gradproof.derive.lecture import functions as fn

SIZES = {"m": 2, "n": 3, "K": 4}

_PIECEWISE = (sp.Piecewise, sp.Max, sp.Min, sp.DiracDelta) + fn.kinked()


def _exp_to_generators(e: sp.Expr) -> sp.Expr:
    """Replace ``exp(sum c_k x_k)`` by ``prod E_k^{c_k}`` so that an
    expression in exponentials becomes a rational function ``cancel`` decides."""
    gens: dict = {}

    def gen(x):
        if x not in gens:
            gens[x] = sp.Symbol(f"E_{x}", positive=True)
        return gens[x]

    def repl(ex):
        arg = sp.expand(ex.args[0])
        out = sp.Integer(1)
        rest = sp.Integer(0)
        for t in sp.Add.make_args(arg):
            c, x = t.as_coeff_Mul()
            if x.is_Symbol and c.is_Integer:
                out *= gen(x) ** c
            else:
                rest += t
        return out * (sp.exp(rest) if rest != 0 else 1)

    return e.replace(lambda x: isinstance(x, sp.exp), repl)


ZERO, NONZERO, UNDECIDED = True, False, None

# Probing at random rational points, when ``cancel`` cannot decide.
PROBE_POINTS = 6
PROBE_DIGITS = 60  # working precision of each evaluation (decimal digits)
PROBE_ZERO = 40  # |value| below 10^-PROBE_ZERO times the size of its terms counts as 0


def exact_zero(d: sp.Expr, rng: random.Random | None = None) -> bool:
    """Whether ``d`` is identically zero (an undecided case counts as not shown)."""
    return decide_zero(d, rng) is ZERO


def decide_zero(d: sp.Expr, rng: random.Random | None = None):
    """Decide whether ``d`` is identically zero: ``ZERO``, ``NONZERO`` or ``UNDECIDED``.

    Exponentials become rational generators and ``cancel`` decides; a
    piecewise expression (ReLU, sign, |w|) is decided at random non-zero
    rational points instead, each exactly.  When ``cancel`` leaves something
    (square roots of sums, as in a normalisation layer, are beyond it), the
    expression is evaluated at random rational points at high precision: a
    value clearly away from zero at one point is a proof that ``d`` is not
    identically zero; zero (to 40 digits, against the size of its terms) at
    every point is taken as zero; if no point can be evaluated, the answer
    is undecided -- never a failure of a true identity.
    """
    d = fn.explicit(sp.sympify(d, strict=True))
    if d == 0:
        return ZERO
    if d.has(*_PIECEWISE):
        rng = rng or random.Random(0)
        syms = sorted(d.free_symbols, key=str)
        undecided = False
        for _ in range(6):
            point = {x: sp.Rational(rng.choice([-1, 1]) * rng.randint(1, 40), rng.randint(1, 9)) for x in syms}
            v = d.xreplace(point)
            v = v.rewrite(sp.Piecewise) if v.has(fn.step) else v
            verdict = decide_zero(sp.piecewise_fold(v).doit())
            if verdict is NONZERO:
                return NONZERO
            undecided |= verdict is UNDECIDED
        return UNDECIDED if undecided else ZERO
    d0 = d
    d = d.rewrite(sp.exp) if d.has(sp.tanh, sp.sinh, sp.cosh) else d
    d = sp.expand_log(d, force=True)
    d = _exp_to_generators(d)
    d = sp.expand_log(d, force=True)
    try:
        if sp.cancel(sp.together(d)) == 0:
            return ZERO
    except sp.PolynomialError:
        if sp.simplify(d) == 0:
            return ZERO
    if not d.free_symbols and d.is_Rational:
        return NONZERO  # a rational constant: cancel's answer is exact
    if _is_rational_function(d):
        return NONZERO  # cancel decides rational functions exactly
    return _probe_zero(d0, rng or random.Random(0))


def _is_rational_function(d) -> bool:
    """A rational function of its symbols with rational coefficients (what ``cancel`` decides)."""
    for a in sp.preorder_traversal(d):
        if isinstance(a, sp.Pow) and not a.exp.is_Integer:
            return False
        if isinstance(a, (sp.Function, sp.NumberSymbol)) or (a.is_Number and not a.is_Rational):
            return False
    return True


def _probe_zero(d, rng):
    """Evaluate ``d`` at random rational points, each at ``PROBE_DIGITS`` digits."""
    syms = sorted(d.free_symbols, key=str)
    terms = sp.Add.make_args(sp.expand(d, deep=False)) if d.is_Add else (d,)
    evaluated = 0
    for _ in range(PROBE_POINTS * 3):
        if evaluated >= PROBE_POINTS:
            break
        point = {}
        for x in syms:
            v = sp.Rational(rng.randint(1, 97), rng.randint(1, 13) + 17)
            point[x] = v if x.is_positive or x.is_nonnegative or rng.random() < 0.5 else -v
        try:
            vals = [sp.N(t.xreplace(point), PROBE_DIGITS, maxn=4 * PROBE_DIGITS) for t in terms]
            total = sp.N(d.xreplace(point), PROBE_DIGITS, maxn=4 * PROBE_DIGITS)
        except (ValueError, TypeError, ZeroDivisionError, ArithmeticError):
            continue
        if not all(v.is_number for v in vals + [total]) or total.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
            continue
        try:
            tot = complex(total)
            scale = max([1.0] + [abs(complex(v)) for v in vals])
        except (TypeError, ValueError, OverflowError):
            continue
        if any(abs(complex(v).imag) > 0 for v in vals):
            continue  # outside the real domain at this point (a root of a negative number): try another
        if not (abs(tot) < float("inf")):
            continue
        evaluated += 1
        if abs(tot) > 10.0 ** (-PROBE_ZERO) * scale:
            return NONZERO
    return ZERO if evaluated >= PROBE_POINTS else UNDECIDED


# ---------------------------------------------------------------------------
# Explicit instances
# ---------------------------------------------------------------------------


def _dims(sizes):
    from gradproof.derive.engine.modules import K, m, n

    return {m: sizes["m"], n: sizes["n"], K: sizes["K"]}


def _explicit_arg(arg, dims, rows=None):
    """An explicit matrix of fresh symbols (or one-hot integers) for ``arg``."""
    shape = [int(sp.sympify(d, strict=True).subs(dims)) for d in arg.batched_shape()]
    r, c = shape
    if arg.domain == "onehot":
        M = sp.zeros(r, c)
        for s in range(r):
            M[s, (2 * s + 1) % c] = 1
        return M
    assumptions = {"real": True}  # binary targets too: the identities hold for every real y
    if arg.domain in ("positive", "probability"):
        assumptions = {"positive": True}
    return sp.Matrix(r, c, lambda a, b: sp.Symbol(f"{arg.matrix}_{a}{b}", **assumptions))


def _per_sample_subs(spec, env, s, dims):
    """Substitution of per-sample index objects by explicit entries of row s."""
    sub = {}
    for arg in spec.args:
        M = env[arg.matrix]
        if arg.batched:
            if arg.dims:
                base = arg.base()
                for col in range(M.cols):
                    sub[base[col]] = M[s, col]
            else:
                sub[sp.Symbol(arg.name, real=True)] = M[s, 0]
        else:
            base = arg.base()
            if len(arg.dims) == 2:
                for a in range(M.rows):
                    for b in range(M.cols):
                        sub[base[a, b]] = M[a, b]
            else:
                vec = list(M) if (M.rows == 1 or M.cols == 1) else None
                for b, val in enumerate(vec):
                    sub[base[b]] = val
    return sub


def _instantiate(e, dims, sub, extra=None):
    e = sp.sympify(e, strict=True).subs(dims).doit()
    e = e.xreplace(sub)
    if extra:
        e = e.xreplace(extra)
    return e


def _compare(expected: sp.Matrix, got, key, check, sizes_text, proofs, store=None):
    if isinstance(got, _Failure):
        proofs.append(Proof(key, check, sizes_text, False, got.message))
        return False
    if not isinstance(got, sp.MatrixBase):
        got = sp.Matrix([[got]])
    if expected.shape != got.shape:
        proofs.append(
            Proof(
                key,
                check,
                sizes_text,
                False,
                f"shape mismatch: derived {got.shape[0]}x{got.shape[1]}, SymPy {expected.shape[0]}x{expected.shape[1]}",
            )
        )
        return False
    undecided = None
    for r in range(expected.rows):
        for c in range(expected.cols):
            verdict = decide_zero(expected[r, c] - got[r, c])
            if verdict is NONZERO:
                proofs.append(
                    Proof(
                        key,
                        check,
                        sizes_text,
                        False,
                        f"entry ({r}, {c}): derived {got[r, c]} but SymPy gives {_shown(expected[r, c])}",
                    )
                )
                return False
            if verdict is UNDECIDED and undecided is None:
                undecided = (r, c)
    if undecided is not None:
        proofs.append(
            Proof(
                key,
                check,
                sizes_text,
                False,
                f"undecided: entry {undecided} could be neither simplified to 0 nor evaluated at "
                f"{PROBE_POINTS} random rational points",
                undecided=True,
            )
        )
        return False
    proofs.append(Proof(key, check, sizes_text, True))
    if store is not None:
        store[key] = got  # proved equal to SymPy's result: claims may compare with it
    return True


def _shown(e):
    """SymPy's result for a failure message (simplified when that is cheap)."""
    if sp.count_ops(e) > 200:
        return e
    return sp.simplify(e)


def prove_module(topic, d, sizes=None) -> list[Proof]:
    """Prove every result of a module/loss/penalty derivation exactly."""
    from gradproof.derive.engine.modules import a_, c_, j_

    spec = topic.spec
    sizes = dict(SIZES, **(sizes or {}), **topic.extra.get("sizes", {}))
    dims = _dims(sizes)
    sizes_text = ", ".join(f"{k}={v}" for k, v in sizes.items())
    env = {arg.matrix: _explicit_arg(arg, dims) for arg in spec.args}
    hyper_vals = {h: sp.Rational(1, 7) + k for k, (h, _) in enumerate(spec.hyper)}
    dims_h = {**dims, **hyper_vals}
    proofs: list[Proof] = []
    derived: dict = {}  # key -> evaluated matrix form, once proved
    res = {r.key: r for r in d.results}
    mrows = sizes["m"]

    def ev(expr, extra_env=None):
        return mx.evaluate(expr, dict(env, **(extra_env or {})), dims_h)

    if spec.kind == "module":
        z = spec.arg("input")[0]
        Z = env[z.matrix]
        out_dim = int(sp.sympify(spec.out_dim, strict=True).subs(dims))
        F = sp.zeros(mrows, out_dim)
        for s in range(mrows):
            sub = _per_sample_subs(spec, env, s, dims)
            for j in range(out_dim):
                F[s, j] = _instantiate(spec.forward(_bases(spec), j), dims_h, sub)
        D = sp.Matrix(mrows, out_dim, lambda a, b: sp.Symbol(f"Delta_{a}{b}", real=True))
        L = sum(D[a, b] * F[a, b] for a in range(mrows) for b in range(out_dim))
        extra_env = {"Delta": D}
        if spec.output is not None:
            extra_env[spec.output.matrix] = F
        # forward
        _compare(
            F,
            _safe(lambda: ev(res["forward"].matrix, extra_env)),
            "forward",
            "exact: matrix form",
            sizes_text,
            proofs,
            store=derived,
        )
        # Jacobian (index form), per sample
        J = res["jacobian"].index
        exp_J, got_J = [], []
        out_base = sp.IndexedBase(spec.output.name) if spec.output else None
        for s in range(mrows):
            sub = _per_sample_subs(spec, env, s, dims)
            if out_base is not None:
                sub.update({out_base[j]: F[s, j] for j in range(out_dim)})
            for j in range(out_dim):
                for a in range(Z.cols):
                    exp_J.append(sp.diff(F[s, j], Z[s, a]))
                    got_J.append(_instantiate(J.xreplace({j_: j, a_: a}), dims_h, sub))
        _compare(sp.Matrix(exp_J), sp.Matrix(got_J), "jacobian", "exact: index form", sizes_text, proofs)
        # backward: index and matrix form
        expected = Z.applyfunc(lambda x: sp.diff(L, x))
        back = res["backward"]
        got_i = sp.zeros(*Z.shape)
        dn = sp.IndexedBase("delta")
        for s in range(mrows):
            sub = _per_sample_subs(spec, env, s, dims)
            sub.update({dn[j]: D[s, j] for j in range(out_dim)})
            if out_base is not None:
                sub.update({out_base[j]: F[s, j] for j in range(out_dim)})
            for a in range(Z.cols):
                got_i[s, a] = _instantiate(back.index.xreplace({a_: a}), dims_h, sub)
        _compare(expected, got_i, "backward", "exact: index form", sizes_text, proofs)
        _compare(
            expected,
            _safe(lambda: ev(back.matrix, extra_env)),
            "backward",
            "exact: matrix form",
            sizes_text,
            proofs,
            store=derived,
        )
        for p in spec.arg("param"):
            P = env[p.matrix]
            expected = P.applyfunc(lambda x: sp.diff(L, x))
            r = res[f"grad:{p.name}"]
            got_i = sp.zeros(*P.shape)
            for s in range(mrows):
                sub = _per_sample_subs(spec, env, s, dims)
                sub.update({dn[j]: D[s, j] for j in range(out_dim)})
                if out_base is not None:
                    sub.update({out_base[j]: F[s, j] for j in range(out_dim)})
                for a in range(P.rows):
                    for c in range(P.cols):
                        idx = {a_: a, c_: c} if len(p.dims) == 2 else {c_: max(a, c)}
                        got_i[a, c] += _instantiate(r.index.xreplace(idx), dims_h, sub)
            _compare(expected, got_i, f"grad:{p.name}", "exact: index form", sizes_text, proofs)
            _compare(
                expected,
                _safe(functools.partial(ev, r.matrix, extra_env)),
                f"grad:{p.name}",
                "exact: matrix form",
                sizes_text,
                proofs,
                store=derived,
            )
        oracle = {"forward": F, "backward": Z.applyfunc(lambda x: sp.diff(L, x))}
        for p in spec.arg("param"):
            oracle[f"grad:{p.name}"] = env[p.matrix].applyfunc(lambda x: sp.diff(L, x))
    elif spec.kind == "loss":
        z = spec.arg("input")[0]
        Z = env[z.matrix]
        red = sp.Rational(1, mrows) if spec.reduction == "mean" else sp.Integer(1)
        ells = []
        outs = {}
        out_base = sp.IndexedBase(spec.output.name) if spec.output else None
        for s in range(mrows):
            sub = _per_sample_subs(spec, env, s, dims)
            ells.append(_instantiate(spec.forward(_bases(spec), None), dims_h, sub))
            if spec.output is not None:
                cols = Z.cols
                for j in range(cols):
                    outs[(s, j)] = _instantiate(spec.output.value(_bases(spec), j if z.dims else None), dims_h, sub)
        L = red * sum(ells)
        extra_env = {}
        if spec.output is not None:
            extra_env[spec.output.matrix] = sp.Matrix(Z.rows, Z.cols, lambda a, b: outs[(a, b)])
        _compare(
            sp.Matrix([[L]]),
            _safe(lambda: ev(res["loss"].matrix, extra_env)),
            "loss",
            "exact: matrix form",
            sizes_text,
            proofs,
            store=derived,
        )
        expected = Z.applyfunc(lambda x: sp.diff(L, x))
        # the one-hot constraint is exact here: the targets are explicit one-hot rows
        back = res["backward"]
        got_i = sp.zeros(*Z.shape)
        for s in range(mrows):
            sub = _per_sample_subs(spec, env, s, dims)
            if out_base is not None:
                if z.dims:
                    sub.update({out_base[j]: outs[(s, j)] for j in range(Z.cols)})
                else:
                    sub[sp.Symbol(spec.output.name, real=True)] = outs[(s, 0)]
            for a in range(Z.cols):
                got_i[s, a] = red * _instantiate(back.index.xreplace({a_: a}), dims_h, sub)
        _compare(expected, got_i, "backward", "exact: index form", sizes_text, proofs)
        _compare(
            expected,
            _safe(lambda: ev(back.matrix, extra_env)),
            "backward",
            "exact: matrix form",
            sizes_text,
            proofs,
            store=derived,
        )
        oracle = {"loss": sp.Matrix([[L]]), "backward": expected}
    elif spec.kind == "penalty":
        w = spec.arg("param")[0]
        Wm = env[w.matrix]
        sub = _per_sample_subs(spec, env, 0, dims)
        Pv = _instantiate(spec.forward(_bases(spec), None), dims_h, sub)
        _compare(
            sp.Matrix([[Pv]]),
            _safe(lambda: ev(res["penalty"].matrix)),
            "penalty",
            "exact: matrix form",
            sizes_text,
            proofs,
            store=derived,
        )
        expected = Wm.applyfunc(lambda x: sp.diff(Pv, x))
        r = res[f"grad:{w.name}"]
        got_i = sp.zeros(*Wm.shape)
        for a in range(Wm.rows):
            for c in range(Wm.cols):
                got_i[a, c] = _instantiate(r.index.xreplace({a_: a, c_: c}), dims_h, sub)
        _compare(expected, got_i, f"grad:{w.name}", "exact: index form", sizes_text, proofs)
        _compare(
            expected,
            _safe(lambda: ev(r.matrix)),
            f"grad:{w.name}",
            "exact: matrix form",
            sizes_text,
            proofs,
            store=derived,
        )
        oracle = {"penalty": sp.Matrix([[Pv]]), f"grad:{w.name}": expected}
        extra_env = {}
    else:
        raise ValueError(spec.kind)

    for claim in d.claims:
        prove_claim(claim, oracle, lambda e: ev(e, extra_env), sizes_text, proofs, derived)
    return proofs


def prove_claim(claim, oracle: dict, evaluate, sizes_text, proofs, derived=None):
    """A claim is proved equal to the derived result it names, which was itself
    proved equal to SymPy's; when they differ, the claim is compared with
    SymPy's result directly, so that the failure names the entry."""
    key = "claim:" + claim.key
    if claim.key not in oracle:
        proofs.append(Proof(key, "claim", sizes_text, False, f"no derived result {claim.key!r} to compare with"))
        return
    got = _safe(lambda: evaluate(claim.matrix))
    if isinstance(got, _Failure):
        proofs.append(Proof(key, "claim", sizes_text, False, f"{claim.statement}: {got.message}"))
        return
    before = len(proofs)
    mine = (derived or {}).get(claim.key)
    if (
        mine is not None
        and isinstance(got, sp.MatrixBase)
        and got.shape == mine.shape
        and all(decide_zero(a - b) is ZERO for a, b in zip(got, mine))
    ):
        proofs.append(Proof(key, "claim", sizes_text, True))
        return
    _compare(oracle[claim.key], got, key, "claim", sizes_text, proofs)
    p = proofs[-1]
    if not p.passed:
        proofs[-1] = Proof(p.key, p.check, p.sizes, False, f"{claim.statement}: {p.detail}", undecided=p.undecided)
    assert len(proofs) == before + 1


class _Failure:
    def __init__(self, message):
        self.message = message


def _safe(thunk):
    try:
        return thunk()
    except (ValueError, KeyError, TypeError, sp.ShapeError) as err:
        return _Failure(f"cannot evaluate: {err}")


def _bases(spec):
    return {a.name: a.base() for a in spec.args}
