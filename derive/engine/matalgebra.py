"""Builders of the shaped matrix tree that simplify as they build.

Every derivative rule of :mod:`gradproof.derive.engine.matcalc` builds its
result through these, so ``0 + X`` is ``X``, ``1 X`` is ``X``, ``(A B)^T`` is
``B^T A^T`` and scalars gather in front: the matrix form is read off while it
is derived.

>>> from gradproof.derive.reading.shaped import var
>>> from gradproof.derive.engine.matprint import text
>>> text(T(mul(var("A", ("m", "n")), var("B", ("n", "p")))))
'B^T A^T'
"""

from __future__ import annotations

from fractions import Fraction

import gradproof.derive.reading.shaped as t
from gradproof.derive.reading.shaped import SCALAR, E


def zero(shape):
    return E("num", (), shape, value=Fraction(0))


def is_zero(e):
    return e.op == "num" and e.value == 0


def is_num(e, v):
    return e.op == "num" and e.value == v and e.is_scalar()


def eye(n):
    return E("eye", (), (n, n))


def ones(n):
    return E("ones", (), (n, 1))


def neg(a):
    if is_zero(a):
        return a
    if a.op == "neg":
        return a.args[0]
    if a.op == "num":
        return E("num", (), a.shape, value=-a.value)
    if a.op == "scale" and a.args[0].op == "num":
        return scale(E("num", value=-a.args[0].value), a.args[1])
    if a.op == "ediv" and a.args[1].is_scalar():
        inside = _into_diag(a.args[0], neg)
        if inside is not None:
            return ediv(inside, a.args[1])
    inside = _into_diag(a, neg)  # -(L diag(u) R) = L diag(-u) R: the sign joins the elementwise part
    if inside is not None:
        return inside
    return E("neg", (a,), a.shape)


def _into_diag(a, f):
    """The product ``a`` with ``f`` applied to the argument of its diagonal factor (None if it has none)."""
    if a.op != "mul":
        return None
    x, y = a.args
    if x.op == "diagm":
        return mul(diagm(f(x.args[0])), y)
    if y.op == "diagm":
        return mul(x, diagm(f(y.args[0])))
    if y.op == "mul" and y.args[0].op == "diagm":
        return mul(x, mul(diagm(f(y.args[0].args[0])), y.args[1]))
    return None


def _coeff(a):
    """Split ``c * rest`` with a number c."""
    if a.op == "neg":
        c, r = _coeff(a.args[0])
        return -c, r
    if a.op == "scale" and a.args[0].op == "num":
        return a.args[0].value, a.args[1]
    if a.op == "num" and a.is_scalar():
        return a.value, None
    return Fraction(1), a


def _terms(e):
    if e.op == "add":
        return _terms(e.args[0]) + _terms(e.args[1])
    return [e]


def add(a, b):
    """Sum with like terms collected (``lambda w + lambda w`` -> ``2 lambda w``)
    and diagonal matrices merged (``diag(u) - diag(v)`` -> ``diag(u - v)``)."""
    terms = [x for x in _terms(a) + _terms(b) if not is_zero(x)]
    diags = [x for x in terms if _diag_arg(x) is not None]
    if len(diags) >= 2:
        u = _diag_arg(diags[0])
        for x in diags[1:]:
            u = add(u, _diag_arg(x))
        rest = [x for x in terms if _diag_arg(x) is None] + [diagm(u)]
        out = rest[0]
        for x in rest[1:]:
            out = add(out, x)
        return out
    if len(terms) > 2:
        merged = []
        for x in terms:
            cx, rx = _coeff(x)
            for k, (cy, ry) in enumerate(merged):
                if ry == rx:
                    merged[k] = (cy + cx, ry)
                    break
            else:
                merged.append((cx, rx))
        out = None
        for c, r in merged:
            term = E("num", value=c) if r is None else scale(E("num", value=c), r)
            if is_zero(term):
                continue
            out = term if out is None else _add2(out, term)
        return out if out is not None else zero(a.shape if not a.is_scalar() else b.shape)
    return _add2(a, b)


def _add2(a, b):
    if is_zero(a):
        return b
    if is_zero(b):
        return a
    if a.op == "num" and b.op == "num" and a.shape == b.shape:
        return E("num", (), a.shape, value=a.value + b.value)
    ca, ra = _coeff(a)
    cb, rb = _coeff(b)
    if ra is not None and ra == rb:
        return scale(E("num", value=ca + cb), ra)
    shape = a.shape if not a.is_scalar() else b.shape
    return E("add", (a, b), shape)


def diagm(u):
    """The diagonal matrix with the column ``u`` on its diagonal (``diag(1)`` is ``I``)."""
    if u.op == "ones":
        return eye(u.shape[0])
    if is_zero(u):
        return zero((u.shape[0], u.shape[0]))
    return E("diagm", (u,), (u.shape[0], u.shape[0]))


def _diag_arg(x):
    """``u`` for ``diag(u)``, ``-u`` for ``-diag(u)``, ``c u`` for ``c diag(u)`` (a scalar c); else None."""
    if x.op == "diagm":
        return x.args[0]
    if x.op == "neg" and x.args[0].op == "diagm":
        return neg(x.args[0].args[0])
    if x.op == "scale" and x.args[1].op == "diagm":
        return scale(x.args[0], x.args[1].args[0])
    return None


def sub(a, b):
    return add(a, neg(b))


def scale(s, m):
    """Scalar s times m."""
    if is_zero(s) or is_zero(m):
        return zero(m.shape)
    if is_num(s, 1):
        return m
    if m.op == "ediv" and m.args[1] == s:
        return m.args[0]
    if m.op == "ediv" and m.args[1].is_scalar() and s.op == "scale" and s.is_scalar():
        # (a d) (x / d) = a x: the divisor cancels against a factor of the scalar
        rest = _without(s, m.args[1])
        if rest is not None:
            return scale(rest, m.args[0])
    if s.op == "ediv" and s.is_scalar() and s.args[0].op == "num" and s.args[1].is_scalar():
        # (c / d) M -> c M / d
        return ediv(scale(s.args[0], m), s.args[1])
    if s.op == "num" and m.op == "ediv" and m.args[1].is_scalar():
        return ediv(scale(s, m.args[0]), m.args[1])
    if s.op == "scale" and s.args[0].op == "num" and s.is_scalar():
        return scale(s.args[0], scale(s.args[1], m))
    if s.op == "pow" and s.value == -1:
        if m.op == "scale" and m.args[0] == s.args[0]:
            return m.args[1]
        return ediv(m, s.args[0])
    if m.is_scalar() and m.op == "num" and s.op == "num":
        return E("num", value=s.value * m.value)
    if is_num(s, -1):
        return neg(m)
    if m.is_scalar() and m.op == "num":
        s, m = m, s
    if s.op == "neg":
        return neg(scale(s.args[0], m))
    if m.op == "neg":
        return neg(scale(s, m.args[0]))
    if s.op == "num" and m.op == "scale" and m.args[0].op == "num":
        return scale(E("num", value=s.value * m.args[0].value), m.args[1])
    if s.op == "num" and m.op == "diagm":
        return diagm(scale(s, m.args[0]))
    if s.op == "num" and m.op == "mul":  # 4 X^T diag(u) X = X^T diag(4 u) X
        inside = _into_diag(m, lambda u: scale(s, u))
        if inside is not None:
            return inside
    if m.op == "scale" and m.args[0].op == "num" and s.op != "num":
        return scale(m.args[0], scale(s, m.args[1]))
    return E("scale", (s, m), m.shape)


def _without(s, d):
    """The scalar product ``s`` with one factor ``d`` removed, or None when ``d`` is not a factor."""
    if s == d:
        return E("num", value=Fraction(1))
    if s.op == "scale":
        x, y = s.args
        for k, part in enumerate((x, y)):
            rest = _without(part, d)
            if rest is not None:
                return scale(rest, y) if k == 0 else scale(x, rest)
    return None


def mul(a, b):
    """The matrix product (scalars fall through to :func:`scale`)."""
    if a.is_scalar():
        return scale(a, b)
    if b.is_scalar():
        return scale(b, a)
    shape = (a.shape[0], b.shape[1])
    if is_zero(a) or is_zero(b):
        return zero(shape)
    if a.op == "eye":
        return b
    if b.op == "eye":
        return a
    if a.op == "neg":
        return neg(mul(a.args[0], b))
    if b.op == "neg":
        return neg(mul(a, b.args[0]))
    if a.op == "scale":
        return scale(a.args[0], mul(a.args[1], b))
    if b.op == "scale":
        return scale(b.args[0], mul(a, b.args[1]))
    if a.shape == SCALAR and b.shape == SCALAR:
        return scale(a, b)
    if a.op == b.op == "ediv" and a.args[1].is_scalar() and b.args[1].is_scalar():  # (u / s) (v / t) = u v / (s t)
        return ediv(mul(a.args[0], b.args[0]), _times(a.args[1], b.args[1]))
    for x, y, first in ((a, b, True), (b, a, False)):  # a division by a scalar is taken out: A (B / s) = A B / s
        if x.op == "ediv" and x.args[1].is_scalar():
            return ediv(mul(x.args[0], y) if first else mul(y, x.args[0]), x.args[1])
    # diagonal matrices side by side are one: diag(u) diag(v) = diag(u .* v)
    if a.op == "diagm" and b.op == "diagm":
        return diagm(had(a.args[0], b.args[0]))
    if a.op == "diagm" and b.op == "mul" and b.args[0].op == "diagm":
        return mul(diagm(had(a.args[0], b.args[0].args[0])), b.args[1])
    if b.op == "diagm" and a.op == "mul" and a.args[1].op == "diagm":
        return mul(a.args[0], diagm(had(a.args[1].args[0], b.args[0])))
    return E("mul", (a, b), shape)


def T(a):
    if a.is_scalar():
        return a
    if a.op == "T":
        return a.args[0]
    if a.op in ("eye", "diagm") or (a.op == "num"):
        return a if a.op != "num" else E("num", (), (a.shape[1], a.shape[0]), value=a.value)
    if a.op == "neg":
        return neg(T(a.args[0]))
    if a.op == "scale":
        return scale(a.args[0], T(a.args[1]))
    if a.op == "add":
        return add(T(a.args[0]), T(a.args[1]))
    if a.op == "mul":
        return mul(T(a.args[1]), T(a.args[0]))
    if a.op == "ediv" and a.args[1].is_scalar():
        return ediv(T(a.args[0]), a.args[1])
    return t.transpose(a)


def had(a, b):
    if a.is_scalar() or b.is_scalar():
        return scale(a, b) if a.is_scalar() else scale(b, a)
    if is_zero(a) or is_zero(b):
        return zero(a.shape)
    if a.op == "ones":
        return b
    if b.op == "ones":
        return a
    if a.op == "scale" and a.args[1].op == "ones":
        return scale(a.args[0], b)
    if b.op == "scale" and b.args[1].op == "ones":
        return scale(b.args[0], a)
    return E("had", (a, b), a.shape)


def fn(name, a):
    return E("fn", (a,), a.shape, name=name)


def power(a, k):
    k = Fraction(k)
    if k == 1:
        return a
    if a.op == "pow" and k.denominator == 1:  # (u^p)^k = u^(p k) for a whole k
        return power(a.args[0], a.value * k)
    if k == 0:
        return E("num", (), a.shape, value=Fraction(1)) if a.is_scalar() else ones_like(a)
    return E("pow", (a,), a.shape, value=k)


def ones_like(a):
    if a.shape[1] == 1:
        return ones(a.shape[0])
    return mul(ones(a.shape[0]), T(ones(a.shape[1])))


def ediv(a, b):
    if is_num(b, 1) or is_zero(a):
        return a if not is_zero(a) or not a.is_scalar() else zero(b.shape)
    if a.op == "num" and b.op == "num" and a.is_scalar() and b.is_scalar() and b.value != 0:
        return E("num", value=a.value / b.value)
    if b.is_scalar() and a.op == "ediv" and a.args[1].is_scalar():  # (x / s) / t = x / (s t)
        return ediv(a.args[0], _times(a.args[1], b))
    return E("ediv", (a, b), a.shape if not a.is_scalar() else b.shape)


def _times(s, t_):
    """The product of two scalars, powers of one base added: ``n n^2`` is ``n^3``."""
    (bs, ks), (bt, kt) = ((x.args[0], x.value) if x.op == "pow" else (x, Fraction(1)) for x in (s, t_))
    if bs == bt:
        return power(bs, ks + kt)
    return scale(s, t_)


def inv(a):
    return E("inv", (a,), a.shape)
