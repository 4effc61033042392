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
    return E("neg", (a,), a.shape)


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
    """Sum with like terms collected (``lambda w + lambda w`` -> ``2 lambda w``)."""
    terms = [x for x in _terms(a) + _terms(b) if not is_zero(x)]
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
    if m.op == "scale" and m.args[0].op == "num" and s.op != "num":
        return scale(m.args[0], scale(s, m.args[1]))
    return E("scale", (s, m), m.shape)


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
    if k == 0:
        return E("num", (), a.shape, value=Fraction(1)) if a.is_scalar() else ones_like(a)
    return E("pow", (a,), a.shape, value=k)


def ones_like(a):
    if a.shape[1] == 1:
        return ones(a.shape[0])
    return mul(ones(a.shape[0]), T(ones(a.shape[1])))


def ediv(a, b):
    if is_num(b, 1):
        return a
    return E("ediv", (a, b), a.shape if not a.is_scalar() else b.shape)


def inv(a):
    return E("inv", (a,), a.shape)
