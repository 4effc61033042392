"""Directional derivatives on the shaped tree: a Hessian column by column.

When the Jacobian of a gradient cannot be read off in matrix form (it runs
through a matrix that depends on the variable, as in ``log(det(A + x x^T))``
or ``x^T diag(x) x``), the Hessian is still found one column at a time:
``H e_k`` is the derivative of the gradient in the direction of the k-th unit
vector, and every intermediate of a directional derivative has the shape of
the node it differentiates, so no rule needs a higher-order tensor.  Each
entry ``H[j,k] = e_j^T (H e_k)`` is proved like any other.

>>> from gradproof.derive.reading import read
>>> from gradproof.derive.reading.shaped import var
>>> from gradproof.derive.engine.matprint import text
>>> from gradproof.derive.engine.matcalc import fprime
>>> text(directional(read("x^T A x"), "x", var("d", ("m", 1)), fprime))
'd^T A x + x^T A d'
"""

from __future__ import annotations

from fractions import Fraction

from gradproof.derive.engine.matalgebra import T, add, ediv, had, inv, mul, neg, power, scale, sub, zero
from gradproof.derive.engine.matresult import DiffError
from gradproof.derive.reading.shaped import E

DIRECTION = "e_k"  # a name no expression can use (an indexed name is read only inside a sum)


def directional(e: E, v: str, d: E, fprime) -> E:
    """The derivative of ``e`` at ``v`` in the direction ``d`` (shaped like ``e``);
    ``fprime(name, u)`` is an elementwise function's derivative (matcalc's table)."""
    if v not in e.free():
        return zero(e.shape)
    op, a = e.op, e.args
    if op == "var":
        return d
    da = [directional(x, v, d, fprime) for x in a]
    if op == "neg":
        return neg(da[0])
    if op == "add":
        return add(*da)
    if op == "T":
        return T(da[0])
    if op in ("scale", "mul"):
        return add(mul(da[0], a[1]), mul(a[0], da[1]))
    if op == "had":
        return add(had(da[0], a[1]), had(a[0], da[1]))
    if op == "ediv":
        x, y = a
        return sub(ediv(da[0], y), ediv(_times(x, da[1]), power(y, 2)))
    if op == "fn":
        return _times(fprime(e.name, a[0]), da[0])
    if op == "pow":
        return _times(scale(E("num", value=e.value), power(a[0], e.value - Fraction(1))), da[0])
    return _matrix_rule(e, a, da)


def _times(f, u):
    """``f`` times ``u`` entry by entry (a scalar ``f`` scales)."""
    return scale(f, u) if f.is_scalar() else had(f, u)


def _matrix_rule(e: E, a, da) -> E:
    op = e.op
    if op == "tr":
        return E("tr", (da[0],))
    if op == "logdet":
        return E("tr", (mul(inv(a[0]), da[0]),))
    if op == "det":
        return scale(e, E("tr", (mul(inv(a[0]), da[0]),)))
    if op == "inv":
        return neg(mul(mul(e, da[0]), e))
    if op == "sum":
        return E("sum", (da[0],))
    if op == "norm2":
        return ediv(mul(T(a[0]), da[0]), e)
    if op == "normF":
        return ediv(E("sum", (had(a[0], da[0]),)), e)
    if op == "norm1":
        return mul(T(E("fn", (a[0],), a[0].shape, name="sign")), da[0])
    if op == "diagm":
        return E("diagm", (da[0],), e.shape)
    if op == "diagv":
        return E("diagv", (da[0],), e.shape)
    raise DiffError(f"no directional derivative rule for {op}")
