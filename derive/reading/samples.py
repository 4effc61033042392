"""``diff``'s reading of the lecture's Σ-notation: ``sum_i`` over samples, ``x_i`` the i-th row of ``X``.

Inside ``sum_i``, ``x_i`` (and ``a_i`` for any matrix ``A`` the expression
names) is the i-th sample, a row of the matrix, unless the sum only reads
with it as a number (``sum_i (x_i - y_i)^2``); any other ``a_i`` is the i-th
entry of the column vector ``a``.  Each sample-dependent part is one matrix
with a row per sample: a scalar per sample is a column (``y_i`` is ``y``,
``x_i^T w`` is ``X w``), a vector per sample a matrix (``c_i x_i`` is
``diag(c) X``).  Summing over i takes the column sums: ``sum_i c_i x_i`` is
``X^T c``, ``sum_i c_i`` is ``sum(c)``.

>>> from gradproof.derive.reading import read
>>> from gradproof.derive.engine.matprint import text
>>> text(read("sum_i x_i (yhat_i - y_i)"))
'X^T (yhat - y)'
>>> text(read("sum_i (w^T x_i - y_i)^2"))
'sum((X w - y)^2)'
"""

from __future__ import annotations

import gradproof.derive.reading.shaped as t
import gradproof.derive.reading.tree as n
from gradproof.derive.reading.errors import ReadError
from gradproof.derive.reading.grammar import FUNC_ALIAS

CONST, COL, ROWS, ROWS_T = "const", "col", "rows", "rowsT"


class SampleSum:
    """Read the body of ``sum_idx`` with the shape builder ``b``; :meth:`total` is the sum's value."""

    def __init__(self, b, idx: str):
        self.b, self.idx = b, idx
        self.rows_allowed, self.rows_used = True, False

    def total(self, node: n.IndexSum) -> t.E:
        b = self.b
        saved = b.snapshot()
        try:
            x, dependence = self.part(node.body)
        except ReadError:
            if not self.rows_used:
                raise
            # x_i did not fit as a row of X (sum_i (x_i - y_i)^2): read it as entry i of the vector x
            b.restore(saved)
            self.rows_allowed = False
            x, dependence = self.part(node.body)
        if dependence == CONST:
            raise b.error(f"the body of sum_{self.idx} does not depend on {self.idx}")
        if node.upper and node.upper.isalpha():
            # the upper bound names the summed dimension (sum_{i=1}^{m}: length m)
            b.bounds.append((node.upper, x.shape[0]))
        if dependence == COL:
            return t.E("sum", (x,))
        if x.op == "mul" and x.args[0].op == "diagm":  # sum_i c_i x_i = X^T c
            c, rows = x.args[0].args[0], x.args[1]
            out = t.E("mul", (t.transpose(rows), c), (rows.shape[1], ("fixed", 1)))
        else:
            ones = t.E("ones", (), (x.shape[0], ("fixed", 1)))
            out = t.E("mul", (t.transpose(x), ones), (x.shape[1], ("fixed", 1)))
        return t.transpose(out) if dependence == ROWS_T else out

    def part(self, node):
        """``(tree, dependence)`` of a part of the body; ``dependence`` says how it depends on the sample."""
        if not any(isinstance(x, n.Name) and x.sub in (self.idx, self.idx * 2) for x in n.walk(node)):
            return self.b.walk(node), CONST
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise self.b.error(f"{n.source(node)[:40]} cannot be read inside sum_{self.idx}")
        return method(node)

    def _Name(self, node: n.Name):
        b = self.b
        if node.sub == self.idx * 2:  # A_jj: the diagonal of a square matrix, one entry per j
            x = b.variable(node.base)
            b.square(f"{node.full} (a diagonal entry)", node, x)
            return t.E("diagv", (x,), (x.shape[0], ("fixed", 1))), COL
        upper = node.base.upper()
        row = node.base == "x" or (upper != node.base and upper in b.vars and not b.is_one(b.vars[upper].shape[1]))
        if row and self.rows_allowed:
            self.rows_used = True
            x = b.variable(upper)
            if b.is_one(x.shape[1]):
                b.mismatch(f"sum_{self.idx} ({node.full} is a row of the matrix {upper})", [(node, x)])
            return x, ROWS
        x = b.variable(node.base)
        if not b.is_one(x.shape[1]):
            b.mismatch(f"sum_{self.idx} (an indexed name must be a vector)", [(node, x)])
        return x, COL

    def _Group(self, node):
        return self.part(node.arg)

    def _Neg(self, node):
        x, dependence = self.part(node.arg)
        return t.E("neg", (x,), x.shape), dependence

    def _Add(self, node, sub=False):
        (x, kx), (y, ky) = self.part(node.left), self.part(node.right)
        if sub:
            y = t.E("neg", (y,), y.shape)
        if {kx, ky} - {COL, CONST} and kx != ky:
            raise self.b.error(f"sum_{self.idx}: a vector per sample is added to a number per sample")
        out = self.b.elementwise("add", (node.left, x), (node.right, y), "-" if sub else "+")
        return out, kx if kx != CONST else ky

    def _Sub(self, node):
        return self._Add(node, sub=True)

    def _Mul(self, node: n.Mul):
        b = self.b
        (x, kx), (y, ky) = self.part(node.left), self.part(node.right)
        kinds = (kx, ky)
        if kx in (COL, CONST) and ky in (COL, CONST):
            return b.elementwise("had", (node.left, x), (node.right, y), "*"), COL
        if COL in kinds or (CONST in kinds and b.is_scalar(x if kx == CONST else y)):
            c, rows = (x, y) if kx in (COL, CONST) else (y, x)
            dependence = ky if kx in (COL, CONST) else kx
            if b.is_scalar(c):
                return t.E("scale", (c, rows), rows.shape), dependence
            if not b.dims.unify(c.shape[0], rows.shape[0]):
                b.mismatch(f"sum_{self.idx}", [(node.left, x), (node.right, y)])
            return t.E("mul", (t.E("diagm", (c,), (c.shape[0], c.shape[0])), rows), rows.shape), dependence
        return self._inner(node, x, kx, y, ky)

    def _inner(self, node, x, kx, y, ky):
        """``x_i^T w``, ``w^T x_i`` and ``x_i^T z_i``: a number per sample."""
        b = self.b
        if kx == ROWS_T and ky == CONST:
            rows, w = x, y
        elif kx == CONST and ky == ROWS:
            rows, w = y, (x.args[0] if x.op == "T" else t.transpose(x))
        elif kx == ROWS_T and ky == ROWS:
            if not (b.dims.unify(x.shape[0], y.shape[0]) and b.dims.unify(x.shape[1], y.shape[1])):
                b.mismatch(f"sum_{self.idx}", [(node.left, x), (node.right, y)])
            ones = t.E("ones", (), (x.shape[1], ("fixed", 1)))
            return t.E("mul", (t.E("had", (x, y), x.shape), ones), (x.shape[0], ("fixed", 1))), COL
        else:
            raise b.error(f"sum_{self.idx}: {n.source(node)[:40]} is not a number or a vector per sample")
        if not (b.dims.unify(rows.shape[1], w.shape[0]) and b.is_one(w.shape[1])):
            b.mismatch(f"sum_{self.idx} (an inner product with the sample)", [(node.left, x), (node.right, y)])
        if rows.op == "mul" and rows.args[0].op == "diagm":  # (c_i x_i)^T w = c_i (x_i^T w): y .* (X w)
            c, plain = rows.args[0].args[0], rows.args[1]
            return t.E("had", (c, t.E("mul", (plain, w), c.shape)), c.shape), COL
        return t.E("mul", (rows, w), (rows.shape[0], ("fixed", 1))), COL

    def _Transpose(self, node):
        x, dependence = self.part(node.arg)
        return x, {ROWS: ROWS_T, ROWS_T: ROWS}.get(dependence, dependence)

    def _Call(self, node: n.Call):
        fname = FUNC_ALIAS.get(node.func, node.func)
        if fname not in t.ELEMENTWISE or len(node.args) != 1:
            raise self.b.error(f"{fname} is not elementwise; it cannot appear inside sum_{self.idx}")
        x, dependence = self.part(node.args[0])
        return t.E("fn", (x,), x.shape, name=fname), dependence

    def _Pow(self, node: n.Pow):
        x, dependence = self.part(node.base)
        return t.E("pow", (x,), x.shape, value=self.b.exponent(node.exp)), dependence

    def _Div(self, node: n.Div):
        why = n.ambiguous_division(node)
        if why:
            raise self.b.error(why)
        (x, kx), (y, ky) = self.part(node.left), self.part(node.right)
        if ky not in (COL, CONST) or kx not in (COL, CONST):
            raise self.b.error(f"sum_{self.idx}: divide numbers per sample, not vectors")
        return self.b.elementwise("ediv", (node.left, x), (node.right, y), "/"), COL
