"""Indices as the lecture writes them: the one place where the engine's
labels become the lecture's.

The engine counts from 0 (an index over a dimension ``d`` runs ``0..d-1``),
the lecture from 1 (``sum_{i=1}^{n}``, ``y_1 .. y_m``), except where it gives
the bias its own input: the linear layer's inputs are ``z_0 = 1`` and the
``n`` features, ``i = 0..n`` ("Example: Linear Layer").  Indices are labels,
so the printers show an engine range ``0..d-1`` as ``1..d`` and a concrete
entry ``delta[0]`` as ``delta_1``; a range over a dimension ``n + 1`` (the
bias input and ``n`` features) keeps its ``0..n``.

:func:`lecture_indices` is applied to every scalar expression just before
it is printed (text, LaTeX, MathML and JSON alike); the expression it returns
is for printing only.

>>> import sympy as sp
>>> i = sp.Symbol("i", integer=True)
>>> n = sp.Symbol("n", integer=True, positive=True)
>>> w = sp.IndexedBase("w")
>>> lecture_indices(sp.Sum(w[i], (i, 0, n - 1)))
Sum(w[i], (i, 1, n))
>>> lecture_indices(sp.Sum(w[i], (i, 0, n)))
Sum(w[i], (i, 0, n))
>>> lecture_indices(w[0] * w[i])
w[1]*w[i]
>>> print(lecture_indices(sp.IndexedBase("delta")[0] * w[i]))
delta^{l+1}[1]*w[i]

In the matrix forms the batched message from above, ``Delta``, is the
lecture's Delta^{l+1} (the module's own is Delta^l), as the index forms'
delta^{l+1}; :func:`lecture_messages` names it so before printing:

>>> from gradproof.derive.engine.mexpr import MatMul, Sym, Transpose
>>> m, K = sp.symbols("m K", positive=True, integer=True)
>>> e = MatMul(Sym("Delta", (m, K), role="upstream"), Transpose(Sym("W", (n, K), role="param")))
>>> lecture_messages(e).left.name
'Delta^{l+1}'
"""

from __future__ import annotations

import dataclasses

import sympy as sp

from gradproof.derive.engine import mexpr as mx


def _bias_range(hi) -> bool:
    """``0..n`` with ``n`` a bare dimension symbol: the bias input and n features."""
    return isinstance(hi, sp.Symbol) and hi.is_integer is True and hi.is_positive is True


def _limits(lim):
    if len(lim) != 3:
        return lim
    d, lo, hi = lim
    if lo == 0 and not _bias_range(hi):
        return (d, sp.Integer(1), hi + 1)
    return lim


class _Upstream(sp.Symbol):
    """The message from the layer above, as the lecture writes it: delta^{l+1}."""

    def _latex(self, printer):
        return r"\delta^{l+1}"

    def _sympystr(self, printer):
        return "delta^{l+1}"


class _UpstreamBatch(sp.Symbol):
    """The batched message from the layer above: Delta^{l+1}."""

    def _latex(self, printer):
        return r"\Delta^{l+1}"

    def _sympystr(self, printer):
        return "Delta^{l+1}"


# In a module's index forms ``delta`` is the message from above, delta^{l+1}
# (the left-hand side delta^l_i is the module's own), and ``Delta`` its batch
# Delta^{l+1}: printed apart, as on the slide "Backpropagation: Backward Pass Message".
_UPSTREAM = {
    "delta": sp.IndexedBase(_Upstream("delta_upstream")),
    "Delta": sp.IndexedBase(_UpstreamBatch("Delta_upstream")),
}


def _entry(x: sp.Indexed) -> sp.Indexed:
    idx = [k + 1 if isinstance(k, sp.Integer) and k >= 0 else k for k in x.indices]
    base = _UPSTREAM.get(str(x.base.label), x.base)
    return base[tuple(idx)] if len(idx) > 1 else base[idx[0]]


def lecture_messages(e):
    """A matrix form with its incoming batch message ``Delta`` (an upstream
    symbol the declaration names no other way) as the lecture's Delta^{l+1};
    anything else is returned unchanged.  For printing only."""
    if isinstance(e, mx.Sym):
        if e.role == "upstream" and e.name == "Delta" and not e.latex:
            return dataclasses.replace(e, name="Delta^{l+1}", latex=r"{\boldsymbol{\Delta}^{l+1}}")
        return e
    return mx.transform(e, lecture_messages) if isinstance(e, mx.MExpr) else e


def lecture_indices(e):
    """``e`` with the engine's 0-based ranges and entries relabelled 1-based
    (bias ranges ``0..n`` kept); anything that is not a SymPy expression is
    returned unchanged."""
    if not isinstance(e, sp.Basic) or not e.has(sp.Indexed, sp.Sum, sp.Product):
        return e

    def walk(x):
        if isinstance(x, sp.Indexed):
            return _entry(x)
        if not x.args or x.is_Atom:
            return x
        args = [walk(a) for a in x.args]
        if isinstance(x, (sp.Sum, sp.Product)):
            return x.func(args[0], *[_limits(tuple(lim.args)) for lim in x.args[1:]])
        if isinstance(x, sp.KroneckerDelta):
            return x
        return x.func(*args, evaluate=False) if isinstance(x, (sp.Add, sp.Mul, sp.Pow)) else x.func(*args)

    return walk(e)
