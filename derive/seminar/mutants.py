"""Single mutations of a reference answer (sign, factor, transpose, order, dropped part), to name mistakes."""

from __future__ import annotations

import itertools

import sympy as sp

from gradproof.derive.engine import mexpr as mx

# ---------------------------------------------------------------------------
# Single mutations of the reference
# ---------------------------------------------------------------------------


def _mutants(e, oracle, places=None):
    """Yield ``(code, message, mutated expression)`` for single mutations of ``e``.

    ``places``: the placeholders of the elementwise map ``e`` sits in, so that a
    message names the matrix a placeholder stands for, never the placeholder
    (whose internal name depends on what the process built before).
    """
    yield from _local_mutants(e, oracle, places)
    if isinstance(e, mx.MExpr):
        for name, child, rebuild in _mexpr_slots(e):
            inner = dict(e.args) if isinstance(e, mx.Map) and name == "expr" else places
            for code, msg, new in _mutants(child, oracle, inner):
                try:
                    yield code, msg, rebuild(new)
                except (ValueError, TypeError):
                    continue
    elif isinstance(e, sp.Basic) and e.args and not isinstance(e, (sp.Indexed, sp.KroneckerDelta)):
        for i, child in enumerate(e.args):
            for code, msg, new in _mutants(child, oracle, places):
                args = list(e.args)
                args[i] = new
                try:
                    yield code, msg, e.func(*args)
                except (TypeError, ValueError):
                    continue


def _mexpr_slots(e):
    import dataclasses

    for f in dataclasses.fields(e):
        v = getattr(e, f.name)
        if isinstance(v, (mx.MExpr, sp.Basic)) and f.name not in ("shape", "size", "value"):
            yield f.name, v, (lambda new, _f=f.name: dataclasses.replace(e, **{_f: new}))
        elif f.name == "terms":
            for i, t in enumerate(v):
                yield (
                    f"terms[{i}]",
                    t,
                    (lambda new, _i=i, _v=v: dataclasses.replace(e, terms=_v[:_i] + (new,) + _v[_i + 1 :])),
                )
        elif f.name == "args" and isinstance(e, mx.Map):
            for i, (p, a) in enumerate(v):
                yield (
                    f"args[{i}]",
                    a,
                    (lambda new, _i=i, _p=p, _v=v: dataclasses.replace(e, args=_v[:_i] + ((_p, new),) + _v[_i + 1 :])),
                )


def _describe(expr, oracle) -> str:
    from gradproof.derive.output.printing import to_text

    try:
        text = to_text(expr, lecture=False)  # the exercise's letters
    except Exception:
        text = str(expr)
    if not oracle.refnames:
        return text
    import re

    # the exercise's names for the engine's, whole names only and all at once
    # (z -> yhat must not touch the z in "size", nor be renamed twice)
    names = sorted(oracle.refnames, key=len, reverse=True)
    pattern = r"(?<![A-Za-z0-9_])(%s)(?![A-Za-z0-9_])" % "|".join(re.escape(n) for n in names)
    return re.sub(pattern, lambda m: oracle.refnames[m.group(1)], text)


def _local_mutants(e, oracle, places=None):
    if isinstance(e, mx.MatMul):
        l, r = e.left, e.right
        yield "order", "the operands of a product are in the wrong order", _try(lambda: mx.MatMul(r, l))
        yield "transposed", "a transpose is missing or misplaced", _try(lambda: mx.MatMul(mx.Transpose(l), r))
        yield "transposed", "a transpose is missing or misplaced", _try(lambda: mx.MatMul(l, mx.Transpose(r)))
        yield (
            "order",
            "the operands of a product are in the wrong order",
            _try(lambda: mx.MatMul(mx.Transpose(r), mx.Transpose(l))),
        )
    if isinstance(e, mx.Add):
        for i, t in enumerate(e.terms):
            yield (
                "sign",
                "sign error in one term",
                mx.Add(e.terms[:i] + (mx.Scale(sp.Integer(-1), t),) + e.terms[i + 1 :]),
            )
            rest = e.terms[:i] + e.terms[i + 1 :]
            if rest:
                yield (
                    "missing-term",
                    f"a term is missing ({_describe(t, oracle)})",
                    rest[0] if len(rest) == 1 else mx.Add(rest),
                )
    if isinstance(e, mx.Solve) and isinstance(e.a, mx.Add):
        # ridge: A = X^T X + lambda I; the term must sit inside the inverse
        for i, t in enumerate(e.a.terms):
            rest = e.a.terms[:i] + e.a.terms[i + 1 :]
            if not rest:
                continue
            inner = rest[0] if len(rest) == 1 else mx.Add(rest)
            yield (
                "ridge-outside",
                "the ridge term belongs inside the inverse, added to X^T X, not outside it",
                _try(lambda inner=inner, t=t: mx.MatMul(mx.Add((mx.Solve(inner, mx.Identity(e.a.shape[0])), t)), e.b)),
            )
            yield (
                "ridge-outside",
                "the ridge term belongs inside the inverse, added to X^T X, not outside it",
                _try(lambda inner=inner, t=t: mx.Add((mx.Solve(inner, e.b), mx.MatMul(t, mx.Solve(inner, e.b))))),
            )
            yield (
                "missing-ridge",
                "the ridge term lambda I is missing: this is the least-squares solution",
                mx.Solve(inner, e.b),
            )
    if isinstance(e, mx.Map):
        places = dict(e.args)
        for code, msg, body in _sympy_local(e.expr, places, oracle):
            yield code, msg, mx.Map(body, e.args)
    if isinstance(e, sp.Basic) and not isinstance(e, mx.MExpr):
        yield from _sympy_local(e, places or {}, oracle)


def _try(fn):
    try:
        return fn()
    except (ValueError, TypeError):
        return mx.Const(sp.nan)


def _sympy_local(e, places, oracle):
    if isinstance(e, sp.Mul):
        factors = [f for f in e.args if not f.is_Number]
        for k in (1, 2):
            for drop in itertools.combinations(range(len(factors)), k):
                if len(factors) - k < 1 and not any(f.is_Number for f in e.args):
                    continue
                dropped = [factors[i] for i in drop]
                kept = [f for i, f in enumerate(factors) if i not in drop] + [f for f in e.args if f.is_Number]
                code, msg = _name_dropped(dropped, places, oracle)
                yield code, msg, sp.Mul(*kept)
    if isinstance(e, sp.Add):
        terms = list(e.args)
        for i, t in enumerate(terms):
            yield "sign", "sign error in one term", sp.Add(*(terms[:i] + [-t] + terms[i + 1 :]))
            if len(terms) > 1:
                yield "missing-term", "a term is missing", sp.Add(*(terms[:i] + terms[i + 1 :]))
    if isinstance(e, sp.KroneckerDelta):
        yield "missing-delta", "the indicator [[j = k]] is missing or misplaced", sp.Integer(1)
    if isinstance(e, sp.Pow) and e.exp == 2:
        yield "missing-square", "a square is missing", e.base


def _name_dropped(dropped, places, oracle):
    def is_one_minus(f):
        return isinstance(f, sp.Add) and len(f.args) == 2 and sp.Integer(1) in f.args

    def base_of(f):
        return (f - 1) * -1 if is_one_minus(f) else None

    if len(dropped) == 2:
        a, b = dropped
        for x, y in ((a, b), (b, a)):
            if is_one_minus(y) and sp.simplify(base_of(y) - x) == 0:
                return (
                    "missing-sigma-prime",
                    "the factor sigma'(s) = sigma(s)(1 - sigma(s)) is missing (chain rule through the sigmoid)",
                )
    if len(dropped) == 1:
        (f,) = dropped
        if is_one_minus(f):
            inner = base_of(f)
            if isinstance(inner, sp.Pow) and inner.exp == 2:
                return "missing-tanh-prime", "the factor 1 - tanh^2 (the derivative of tanh) is missing"
            return "missing-one-minus", "the factor (1 - sigma) is missing: sigma'(s) = sigma(s)(1 - sigma(s))"
        if isinstance(f, sp.KroneckerDelta):
            return "missing-delta", "the indicator [[j = k]] is missing"
    text = " * ".join(
        _describe(d.xreplace({p: sp.Symbol(_describe(a, oracle)) for p, a in places.items()}), oracle) for d in dropped
    )
    return "missing-factor", f"a factor is missing ({text})"
