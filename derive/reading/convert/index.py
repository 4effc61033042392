"""The typed tree into SymPy in index form: the target of spec files and index claims.

Spec files write entries in brackets (``W[i, j]``), ``sum(body, i)`` and the
lecture's ``sum_i body``, ``Piecewise((value, condition), ...)``
(:class:`Converter`).  The registry's claims (:class:`ClaimIndex`) write
entries with subscripts as the lecture does (``w_ij``, ``z_i``, ``x_ij``),
Kronecker deltas as ``[[j = k]]`` or ``delta_{jk}``, sums ``sum_i`` over the
extents the declaration gives, and functions of the declaration's own
notation before a bracket (``Var(x)``, ``l(y_i, h(x_i))``, ``O(s^3)``).

>>> from gradproof.derive.reading.parse import parse
>>> s = sp.Symbol("s", real=True)
>>> Converter({"s": s}, {}, ())(parse("log(1 + exp(s))"))
softplus(s)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import sympy as sp

import gradproof.derive.reading.tree as t
from gradproof.derive.lecture.functions import softplus, spelled
from gradproof.derive.reading.convert.walk import Walk
from gradproof.derive.reading.limits import SPECS
from gradproof.derive.reading.parse import Parsed

MAX_EXPONENT = SPECS.max_exponent
MAX_CONSTANT_LOG10 = 300  # a constant sub-expression lies within 10^-300 .. 10^300
MAX_DEGREE = SPECS.max_degree  # estimated degree of a power tower such as ((1 + s)^8)^8


class ExprError(Exception):
    """A problem inside one expression; ``column`` is 1-based within it, if known."""

    def __init__(self, message: str, column: int | None = None):
        super().__init__(message)
        self.column = column


@dataclass(frozen=True)
class Array:
    """A name with per-sample index extents (``z`` of extent ``n``)."""

    name: str
    dims: tuple  # of SymPy dimension symbols


_NOT_IN_INDEX_FORM = {
    "Transpose": "a transpose has no meaning in index notation",
    "Norm": "norms are not part of index notation; write sqrt(sum(x[i]^2, i))",
    "Ones": "the ones vector is not part of index notation",
    "Iverson": "[[j = k]] is not part of a spec expression",
    "Rel": "a comparison is only read inside Piecewise",
    "And": "a condition is only read inside Piecewise",
    "Always": "a condition is only read inside Piecewise",
    "Tuple": "unexpected character ',' (a bracket holds one expression)",
}


class Converter(Walk):
    """Typed conversion of the typed tree into SymPy, by constructors only.

    ``scalars``: name -> Symbol; ``arrays``: name -> (IndexedBase, Array).
    Index names are bound to integer symbols as they are met; ``extents``
    records the extent each index runs over (for shape checks and sums).
    """

    FUNCS = spelled("specs")  # the function table (gradproof.derive.lecture.functions), one home per function
    CONSTANTS = {"pi": sp.pi}

    def __init__(self, scalars: dict, arrays: dict, index_pool, fixed_indices=None, extents=None):
        # the extents in use (n, K, ...) may appear as numbers in an expression: a mean over features
        self.scalars = {**self.CONSTANTS, **(extents or {}), **scalars}
        self.arrays = arrays
        self.pool = list(index_pool)
        self.indices: dict[str, sp.Symbol] = dict(fixed_indices or {})
        self.extents: dict[sp.Symbol, tuple] = {}
        self.bound: list[str] = []  # summation indices in scope
        self.parsed: Parsed | None = None

    def known(self) -> str:
        return ", ".join(sorted(set(self.scalars) | set(self.arrays)))

    def col(self, node: t.Node):
        return self.parsed.column(node) if self.parsed is not None else None

    REFUSED = _NOT_IN_INDEX_FORM

    def __call__(self, parsed: Parsed):
        self.parsed = parsed
        return self.walk(parsed.node)

    def refuse(self, node: t.Node, message: str) -> Exception:
        return ExprError(message, self.col(node))

    def _Num(self, node: t.Num):
        v = self.number(node)
        return sp.Rational(v.numerator, v.denominator)

    def _Kronecker(self, node: t.Kronecker):
        if "delta_" + node.sub in self.scalars:  # a name of the spec's own, spelled like a delta
            return self._Name(t.Name("delta", node.sub))
        raise ExprError(f"delta_{{{node.sub}}} (a Kronecker delta) is not part of a spec expression", self.col(node))

    def _Name(self, node: t.Name):
        nm = node.full
        if nm in self.scalars:
            return self.scalars[nm]
        if nm in self.arrays:
            _, arr = self.arrays[nm]
            raise ExprError(f"shape mismatch: {nm} has {len(arr.dims)} index(es); write {nm}[...]", self.col(node))
        if nm in self.FUNCS or nm == "sum":
            raise ExprError(f"{nm} is a function: write {nm}(...)", self.col(node))
        raise ExprError(f"unknown symbol {nm!r} (known here: {self.known()})", self.col(node))

    def _index(self, nm: str, node: t.Node):
        if nm not in self.indices:
            if nm in self.scalars or nm in self.arrays:
                raise ExprError(f"{nm} is not an index (indices are names like i, j, k)", self.col(node))
            if not self.pool:
                raise ExprError("too many different indices", self.col(node))
            self.indices[nm] = self.pool.pop(0)
        return self.indices[nm]

    def _Indexed(self, node: t.Indexed):
        nm, idx = node.base, node.indices
        if nm not in self.arrays:
            if nm in self.scalars:
                raise ExprError(f"shape mismatch: {nm} is a scalar here and takes no index", self.col(node))
            raise ExprError(f"unknown symbol {nm!r} (known here: {self.known()})", self.col(node))
        base, arr = self.arrays[nm]
        if len(idx) != len(arr.dims):
            raise ExprError(f"shape mismatch: {nm} has {len(arr.dims)} index(es), not {len(idx)}", self.col(node))
        syms = []
        for tk, dim in zip(idx, arr.dims):
            s = self._index(tk, node)
            prev = self.extents.get(s)
            if prev is not None and prev[0] != dim:
                raise ExprError(
                    f"shape mismatch: index {tk} runs over {prev[0]} in {prev[1]} but over {dim} "
                    f"in {nm}[{', '.join(idx)}]",
                    self.col(node),
                )
            self.extents.setdefault(s, (dim, f"{nm}[{', '.join(idx)}]"))
            syms.append(s)
        return base[tuple(syms)] if len(syms) > 1 else base[syms[0]]

    def _Add(self, node):
        return sp.Add(self.walk(node.left), self.walk(node.right))

    def _Sub(self, node):
        return sp.Add(self.walk(node.left), sp.Mul(-1, self.walk(node.right)))

    def _Mul(self, node: t.Mul):
        left = node.left
        if node.op == "juxt" and isinstance(left, t.Name) and isinstance(node.right, (t.Group, t.Tuple)):
            nm = left.full
            if nm not in self.scalars and nm not in self.arrays:
                # a name directly before a bracket reads as a function call
                raise ExprError(self._unknown_function(nm), self.col(left))
        return sp.Mul(self.walk(node.left), self.walk(node.right))

    def _unknown_function(self, nm: str) -> str:
        return f"unknown function {nm!r}; the functions understood are " + ", ".join(
            sorted(set(self.FUNCS) | {"sum", "Piecewise"})
        )

    def _Div(self, node):
        why = t.ambiguous_division(node)
        if why:
            raise ExprError(why, self.col(node))
        num = self.walk(node.left)  # left to right: an error points at the first occurrence
        den = self.walk(node.right)
        if den == 0:
            raise ExprError("division by zero", self.col(node.right))
        return sp.Mul(num, sp.Pow(den, -1))

    def _Neg(self, node):
        return sp.Mul(-1, self.walk(node.arg))

    def _Pow(self, node: t.Pow):
        base, ex = self.walk(node.base), self.walk(node.exp)
        col = self.col(node.exp)
        if ex.is_number and (not ex.is_finite or not ex.is_real or abs(ex) > MAX_EXPONENT):
            raise ExprError(f"the exponent {short(ex)} is larger than {MAX_EXPONENT}", col)
        if not ex.is_number and not (ex.free_symbols <= set(self.scalars.values())):
            raise ExprError("an exponent must be a number or a hyperparameter", col)
        if ex.is_number and base.is_Rational:
            # a constant power: bound its size from logarithms, before forming it
            size = abs(float(ex)) * _log10_abs(base)
            if size > MAX_CONSTANT_LOG10:
                raise ExprError(
                    f"the constant {short(base)}^{short(ex)} has about 10^{size:.3g} as its size; "
                    f"the limit is 10^{MAX_CONSTANT_LOG10}",
                    col,
                )
        out = sp.Pow(base, ex)
        if _degree(out) > MAX_DEGREE:
            raise ExprError(
                f"the power would expand to a polynomial of degree about {_degree(out):.3g}; the limit is {MAX_DEGREE}",
                col,
            )
        return out

    def _Call(self, node: t.Call):
        nm, args = node.func, node.args
        if nm == "sum":
            if len(args) != 2 or not isinstance(args[1], t.Name):
                raise ExprError("sum takes a body and an index: sum(W[i, j] * z[i], i)", self.col(node))
            return self._sum(args[1].full, args[0], args[1])
        if nm not in self.FUNCS:
            if len(args) == 1 and (nm in self.scalars or nm in self.arrays):
                return self._Mul(t.Mul("juxt", t.Name(nm), t.Group(args[0])))
            raise ExprError(self._unknown_function(nm), self.col(node))
        if len(args) != 1:
            raise ExprError(f"{nm}(...) takes one argument, not {len(args)}", self.col(node))
        x = self.walk(args[0])
        if nm == "log":
            # log(1 + exp(u)) is softplus(u): generated as logaddexp(0, u), no overflow
            rest = sp.expand(x - 1)
            if isinstance(rest, sp.exp):
                return softplus(rest.args[0])
        return self.FUNCS[nm](x)

    def _IndexSum(self, node: t.IndexSum):
        """The lecture's ``sum_i body``: the same finite sum as ``sum(body, i)``."""
        return self._sum(node.index, node.body, node)

    def _sum(self, nm: str, body: t.Node, where: t.Node):
        if nm in self.bound:
            raise ExprError(f"the index {nm} is already summed over here", self.col(where))
        if nm in self.indices and self.indices[nm] in self.extents:
            raise ExprError(f"the index {nm} is used outside this sum too", self.col(where))
        s = self._index(nm, where)
        self.bound.append(nm)
        value = self.walk(body)
        self.bound.pop()
        if s not in self.extents:
            raise ExprError(
                f"the summation index {nm} indexes nothing in the body, so its range is unknown", self.col(where)
            )
        dim = self.extents.pop(s)[0]
        # a name may be reused for a later, separate sum
        self.indices.pop(nm)
        self.pool.insert(0, s)
        return sp.Sum(value, (s, 0, dim - 1))

    def _Piecewise(self, node: t.Piecewise):
        pieces = []
        for value, cond in zip(node.parts[0::2], node.parts[1::2]):
            pieces.append((self.walk(value), self._cond(cond)))
        if pieces[-1][1] is not sp.true:
            raise ExprError("the last branch of Piecewise must be the default: (value, True)", self.col(node))
        if any(c is sp.true for _, c in pieces[:-1]):
            raise ExprError("only the last branch of Piecewise may have the condition True", self.col(node))
        return sp.Piecewise(*pieces)

    def _cond(self, node: t.Node):
        if isinstance(node, t.Always):
            return sp.true
        if isinstance(node, t.And):
            return sp.And(self._cond(node.left), self._cond(node.right))
        if not isinstance(node, t.Rel):
            raise ExprError("a Piecewise condition is a comparison such as s > 0, or True", self.col(node))
        lhs, rhs = self.walk(node.left), self.walk(node.right)
        rel = {"<": sp.StrictLessThan, "<=": sp.LessThan, ">": sp.StrictGreaterThan, ">=": sp.GreaterThan}
        return rel[node.op](lhs, rhs)


def short(x) -> str:
    """A SymPy value in at most 24 characters, for messages."""
    text = str(x)
    return text if len(text) <= 24 else text[:21] + "..."


def _log10_abs(r) -> float:
    """log10 |r| of a rational, from bit lengths (never forms a float of a huge number)."""
    if r == 0:
        return 0.0
    p, q = abs(int(r.p)), int(r.q)
    return abs((p.bit_length() - q.bit_length()) * math.log10(2)) + 1


def _degree(e) -> float:
    """An upper estimate of the polynomial degree ``e`` would expand to (1 per symbol)."""
    if e.is_Number or e.is_NumberSymbol:
        return 0
    if e.is_Symbol or isinstance(e, sp.Indexed):
        return 1
    if e.is_Pow and e.exp.is_number:
        return _degree(e.base) * abs(float(e.exp))
    if e.is_Mul:
        return sum(_degree(a) for a in e.args)
    return max((_degree(a) for a in e.args), default=0)


_POOL = tuple(sp.Symbol(nm, integer=True) for nm in ("p", "q", "r", "t", "u", "v"))


class ClaimIndex(Converter):
    """The index-form conversion, reading a declaration's names as its claims write them."""

    def __init__(self, symbols):
        arrays = {nm: (entries, Array(nm, tuple(ext))) for nm, (entries, ext) in symbols.arrays.items()}
        super().__init__({"e": sp.E, **symbols.scalars}, arrays, _POOL, fixed_indices=dict(symbols.indices))
        self.functions = dict(symbols.functions)
        self.first, self.starts = symbols.first, dict(symbols.starts)

    # claims write Kronecker deltas and functions of several arguments
    REFUSED = {k: v for k, v in _NOT_IN_INDEX_FORM.items() if k not in ("Iverson", "Tuple")}

    def _Name(self, node: t.Name):
        if node.full in self.scalars or not node.sub:
            return super()._Name(node)
        letters = node.sub.split(",") if "," in node.sub else list(node.sub)
        if node.base in self.arrays:
            return self._entry(node.base, letters, node)
        if node.base == "delta" and len(letters) == 2:
            return sp.KroneckerDelta(self._index(letters[0], node), self._index(letters[1], node))
        return super()._Name(node)

    def _Kronecker(self, node: t.Kronecker):
        a, b = node.indices
        return sp.KroneckerDelta(self._index(a, node), self._index(b, node))

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
            out.append(self.walk(f))
            k += 1
        return sp.Mul(*out)

    def _applied(self, name: t.Name, bracket: t.Node):
        """``Var(x)`` (a declared symbol) or ``l(y_i, h(x_i))`` (a declared function), else None."""
        args = bracket.items if isinstance(bracket, t.Tuple) else (bracket.arg,)
        key = name.full + "(" + ", ".join(t.source(a) for a in args) + ")"
        if key in self.scalars:
            return self.scalars[key]
        if name.full in self.functions:
            return self.functions[name.full](*(self.walk(a) for a in args))
        return None

    def _Call(self, node: t.Call):
        if node.func in self.functions:
            return self.functions[node.func](*(self.walk(a) for a in node.args))
        return super()._Call(node)

    def _sum(self, nm: str, body: t.Node, where: t.Node):
        total = super()._sum(nm, body, where)
        # the sum just formed is the last limit (SymPy merges a sum of a sum into one); the
        # extents are constants, so it may be listed first, as the lecture writes sum_i sum_c
        *inner, (s, lo, hi) = total.limits
        start = self.starts.get(nm, self.first)
        return sp.Sum(total.function, (s, lo + start, hi + start), *inner)
