"""The typed tree into SymPy in index form: the target of spec files and index claims.

Claims write entries with subscripts as the lecture does (``w_ij``,
``z_i``, ``x_ij``), Kronecker deltas as ``[[j = k]]`` or ``delta_{jk}``,
sums ``sum_i`` over the extents the declaration gives, and functions of the
declaration's own notation before a bracket (``Var(x)``, ``l(y_i, h(x_i))``,
``O(s^3)``).
"""

from __future__ import annotations

import sympy as sp

import gradproof.derive.reading.tree as t
from gradproof.derive.reading.convert.errors import ConvertError
from gradproof.derive.specs.expressions import Array, Converter, ExprError

_POOL = tuple(sp.Symbol(nm, integer=True) for nm in ("p", "q", "r", "t", "u", "v"))


class ClaimIndex(Converter):
    """The index-form conversion, reading a declaration's names as its claims write them."""

    def __init__(self, symbols):
        arrays = {nm: (entries, Array(nm, tuple(ext))) for nm, (entries, ext) in symbols.arrays.items()}
        super().__init__({"e": sp.E, **symbols.scalars}, arrays, _POOL, fixed_indices=dict(symbols.indices))
        self.functions = dict(symbols.functions)
        self.first = symbols.first

    def conv(self, node: t.Node):
        if isinstance(node, t.Iverson):
            return self._Iverson(node)
        return super().conv(node)

    def _Name(self, node: t.Name):
        if node.full in self.scalars or not node.sub:
            return super()._Name(node)
        letters = node.sub.split(",") if "," in node.sub else list(node.sub)
        if node.base in self.arrays:
            return self._entry(node.base, letters, node)
        if node.base == "delta" and len(letters) == 2:
            return sp.KroneckerDelta(self._index(letters[0], node), self._index(letters[1], node))
        return super()._Name(node)

    def _Indexed(self, node: t.Indexed):
        if node.base not in self.arrays:
            return super()._Indexed(node)
        return self._entry(node.base, list(node.indices), node)

    def _entry(self, nm: str, letters: list, node: t.Node):
        entries, arr = self.arrays[nm]
        if len(letters) != len(arr.dims):
            raise ExprError(f"{nm} has {len(arr.dims)} index(es), not {len(letters)}", self.col(node))
        syms = []
        for letter, dim in zip(letters, arr.dims):
            s = self._index(letter, node)
            prev = self.extents.get(s)
            if prev is not None and sp.simplify(prev[0] - dim) != 0:
                raise ExprError(
                    f"index {letter} runs over {prev[0]} in {prev[1]} but over {dim} in {nm}", self.col(node)
                )
            self.extents.setdefault(s, (dim, f"{nm}_{''.join(letters)}"))
            syms.append(s)
        if isinstance(entries, sp.IndexedBase):
            return entries[tuple(syms)] if len(syms) > 1 else entries[syms[0]]
        return entries(*syms)  # an entry defined by the declaration (the softmax's yhat_j)

    def _Iverson(self, node: t.Iverson):
        left, right = node.left, node.right
        if node.op == "=":
            if not (isinstance(left, t.Name) and isinstance(right, t.Name)):
                raise ExprError("[[a = b]] compares two index letters", self.col(node))
            return sp.KroneckerDelta(self._index(left.full, node), self._index(right.full, node))
        raise ExprError("a comparison [[a > b]] is read in matrix form only", self.col(node))

    def _Mul(self, node: t.Mul):
        if node.op != "juxt":
            return super()._Mul(node)
        factors, out, k = t.juxt_factors(node), [], 0
        while k < len(factors):
            f = factors[k]
            after = factors[k + 1] if k + 1 < len(factors) else None
            if isinstance(f, t.Name) and isinstance(after, (t.Group, t.Tuple)):
                applied = self._applied(f, after)
                if applied is not None:
                    out.append(applied)
                    k += 2
                    continue
                if f.full not in self.scalars and f.full not in self.arrays:
                    raise ExprError(self._unknown_function(f.full), self.col(f))
            out.append(self.conv(f))
            k += 1
        return sp.Mul(*out)

    def _applied(self, name: t.Name, bracket: t.Node):
        """``Var(x)`` (a declared symbol) or ``l(y_i, h(x_i))`` (a declared function), else None."""
        args = bracket.items if isinstance(bracket, t.Tuple) else (bracket.arg,)
        key = name.full + "(" + ", ".join(t.source(a) for a in args) + ")"
        if key in self.scalars:
            return self.scalars[key]
        if name.full in self.functions:
            return self.functions[name.full](*(self.conv(a) for a in args))
        return None

    def _Call(self, node: t.Call):
        if node.func in self.functions:
            return self.functions[node.func](*(self.conv(a) for a in node.args))
        return super()._Call(node)

    def _sum(self, nm: str, body: t.Node, where: t.Node):
        total = super()._sum(nm, body, where)
        if self.first:
            # the sum just formed is the last limit (SymPy merges a sum of a sum into one)
            *inner, (s, lo, hi) = total.limits
            total = sp.Sum(total.function, *inner, (s, lo + self.first, hi + self.first))
        return total


def to_claim_index(parsed, symbols):
    """A claim's formula in index form (or a scalar), its names bound to the declaration's objects.

    >>> import sympy as sp
    >>> from gradproof.derive.reading.claims import Symbols
    >>> from gradproof.derive.reading.parse import parse
    >>> n, K = sp.symbols("n K", positive=True, integer=True)
    >>> i, j = sp.symbols("i j", integer=True)
    >>> table = Symbols(arrays={"w": (sp.IndexedBase("W"), (n, K))}, indices={"i": i, "j": j})
    >>> to_claim_index(parse("w_ij"), table)
    W[i, j]
    """
    try:
        return ClaimIndex(symbols)(parsed)
    except ExprError as err:
        where = f" (column {err.column})" if err.column else ""
        raise ConvertError(f"{err}{where}") from None
