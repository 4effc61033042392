"""Claims in matrix form as the lecture writes them.

The matrix target reads ``A^-1`` as ``solve(A, I)``, ``1 - A`` as a sum with a
broadcast constant, and an entrywise product of entrywise products as nested
maps; a claim states ``(X^T X)^-1 X^T y`` and ``Delta ⊙ A ⊙ (1 - A)``.
:func:`tidy` rewrites the first forms into the second, keeping every value
(the proof evaluates the claim).
"""

from __future__ import annotations

import sympy as sp

from gradproof.derive.engine import mexpr as mx


def tidy(e):
    """The claim as the lecture writes it: ``inv(A) B`` as ``A^{-1} B``, scalar factors gathered.

    The answer converter reads ``A^-1`` as ``solve(A, I)``; a claim states
    ``(X^T X)^-1 X^T y``, printed without the identity.  Both changes keep
    the value (the proof evaluates the claim).
    """
    e = mx.transform(e, tidy)
    if isinstance(e, mx.MatMul) and isinstance(e.left, mx.Solve) and isinstance(e.left.b, mx.Identity):
        return mx.Solve(e.left.a, e.right)
    if isinstance(e, mx.Scale) and isinstance(e.arg, mx.Scale):
        return mx.Scale(e.coeff * e.arg.coeff, e.arg.arg)
    if isinstance(e, mx.Add) and any(isinstance(a, mx.Const) for a in e.terms):
        return _flat_map(_entrywise_sum(e))
    if isinstance(e, mx.Map):
        return _flat_map(e)
    return e


def _entrywise_sum(e):
    """``1 - A`` (a broadcast constant in a sum) as one entrywise map, printed as written."""
    body, args = sp.Integer(0), []
    for term in e.terms:
        coeff, term = (term.coeff, term.arg) if isinstance(term, mx.Scale) else (sp.Integer(1), term)
        if isinstance(term, mx.Const):
            body += coeff * term.value
            continue
        u = sp.Dummy("c", real=True)  # unique: maps are inlined into one another
        body += coeff * u
        args.append((u, term))
    return mx.Map(body, tuple(args))


def _flat_map(e):
    """One entrywise map for ``Delta ⊙ A ⊙ (1 - A)``: inner maps inlined, each matrix bound once."""
    body, args = e.expr, []
    for p, a in e.args:
        if isinstance(a, mx.Map) and a.shape == e.shape:
            body = body.xreplace({p: a.expr})
            args.extend(a.args)
        else:
            args.append((p, a))
    bound, out = {}, []
    for p, a in args:
        if a in bound:
            body = body.xreplace({p: bound[a]})
        else:
            bound[a] = p
            out.append((p, a))
    return mx.Map(body, tuple(out))
