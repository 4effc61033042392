"""The lecture's Σ-index notation in answers: ``sum_i x_i (yhat_i - y_i)`` read as ``X^T (yhat - y)``.

Inside ``sum_i``, a name with the subscript ``i`` is the i-th sample: the
i-th entry of a column vector (``y_i``, ``yhat_i``) or the i-th row of a
matrix, written with its lower-case letter as the lecture does (``x_i`` is
row i of ``X``, a vector).  Every sample-dependent part is kept as one
matrix with a row per sample: a scalar per sample is an ``m x 1`` column, a
vector per sample an ``m x k`` matrix (oriented as a column or a row).
Elementwise operations broadcast over the samples, ``w^T x_i`` is ``X w``,
and the sum over i is the column sum: ``sum_i c_i x_i = X^T c``.

>>> from gradproof.derive.seminar.answers import SymbolDecl, Vocabulary, read_answer
>>> v = Vocabulary(dims={"m": 5, "n": 3}, symbols=(
...     SymbolDecl("X", ("m", "n")), SymbolDecl("w", ("n", 1)), SymbolDecl("y", ("m", 1))))
>>> reading = read_answer("sum_i x_i (sigma(w^T x_i) - y_i)", v)
>>> str(reading.expr), reading.shape
('(colsum(X o (sigmoid(X (w^T)^T) - y)))^T', (n, 1))
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import sympy as sp

import gradproof.derive.reading.tree as t
from gradproof.derive.engine import mexpr as mx
from gradproof.derive.lecture.functions import spelled


class SumError(Exception):
    """The body of a sum cannot be read as a per-sample expression (code ``shape`` or ``unsupported``)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Per:
    """A per-sample value: ``expr`` has one row per sample; ``row`` marks row vectors (``x_i^T``)."""

    expr: mx.MExpr
    row: bool = False

    @property
    def width(self):
        return self.expr.shape[1]

    @property
    def scalar(self) -> bool:
        return self.width == 1


class IndexSum:
    """Read ``sum_idx body`` with ``convert`` (the answer converter) for the parts free of ``idx``."""

    def __init__(self, convert, idx: str):
        self.convert, self.idx = convert, idx
        self.rows = None  # the summed dimension, fixed by the first indexed name
        self.counter = itertools.count()

    def __call__(self, node: t.Node):
        if not self.depends(node):
            return self.convert(node)
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:
            raise SumError("unsupported", f"{t.source(node)[:40]} cannot be read inside sum_{self.idx}")
        return method(node)

    def depends(self, node: t.Node) -> bool:
        return any(isinstance(n, t.Name) and n.sub == self.idx for n in t.walk(node))

    def total(self, node: t.IndexSum):
        """The value of the whole sum: a scalar, or a column (row) vector."""
        body = self(node.body)
        if not isinstance(body, Per):
            raise SumError("unsupported", f"the body of sum_{self.idx} does not depend on {self.idx}")
        vocab = self.convert.vocab
        if node.upper in vocab.dims and sp.simplify(vocab.dim(node.upper) - self.rows) != 0:
            raise SumError("shape", f"sum_{self.idx} runs over {self.rows}, not up to {node.upper}")
        summed = mx.ColSum(body.expr)
        return summed if body.row or body.scalar else mx.Transpose(summed)

    # -- leaves ---------------------------------------------------------------
    def _Name(self, node: t.Name) -> Per:
        vocab = self.convert.vocab
        decl = vocab.lookup(node.base)
        if decl is None or not decl.is_matrix:
            decl = vocab.lookup(node.base.upper())  # x_i: the i-th row of X
        if decl is None or not decl.is_matrix:
            raise SumError("unknown-name", f"{node.full}: no vector or matrix {node.base} has entries or rows")
        expr = self.convert._Name(t.Name(decl.name)).expr
        rows = expr.shape[0]
        if self.rows is None:
            self.rows = rows
        elif sp.simplify(rows - self.rows) != 0:
            raise SumError("shape", f"{node.full} runs over {rows}, but sum_{self.idx} over {self.rows}")
        return Per(expr)

    def _Group(self, node):
        return self(node.arg)

    def _Neg(self, node):
        return self.scale(sp.Integer(-1), self(node.arg))

    # -- structure --------------------------------------------------------------
    def scale(self, c, p: Per) -> Per:
        return Per(mx.Scale(c, p.expr), p.row)

    def _Add(self, node, sign=1):
        a, b = self(node.left), self(node.right)
        return self.map(lambda u, v: u + sign * v, a, b, "add")

    def _Sub(self, node):
        return self._Add(node, sign=-1)

    def map(self, fn, a, b, what) -> Per:
        """``fn`` entry by entry; a scalar per sample broadcasts over a vector per sample."""
        args, scal, row = [], [], False
        for p in (a, b):
            if isinstance(p, Per) or (not p.is_scalar and p.shape == (1, 1)):
                u = sp.Symbol(f"s{next(self.counter)}", real=True)
                args.append((u, p.expr))
                scal.append(u)
                row = row or (isinstance(p, Per) and p.row and not p.scalar)
            elif p.is_scalar:
                scal.append(p.expr)
            else:
                raise SumError("shape", f"cannot {what} {p.text} ({_shape(p)}) and a value of sample {self.idx}")
        pers = [x for _, x in args if x.shape[0] != 1]
        if what == "add" and len(pers) == 2 and pers[0].shape != pers[1].shape:
            raise SumError("shape", f"the two sides of this sum inside sum_{self.idx} differ in shape")
        if len({x.shape[1] for x in pers if x.shape[1] != 1}) > 1:
            raise SumError("shape", f"the factors inside sum_{self.idx} differ in length")
        return Per(mx.Map(fn(*scal), tuple(args)), row)

    def _Mul(self, node: t.Mul):
        a, b = self(node.left), self(node.right)
        if node.op == ".*" or _is_scalar(a) or _is_scalar(b):
            return self.map(lambda u, v: u * v, a, b, "multiply")
        if isinstance(a, Per) and isinstance(b, Per):
            if a.row and not b.row:  # x_i^T y_i: an inner product per sample
                return Per(mx.RowSum(mx.Map(_u * _v, ((_u, a.expr), (_v, b.expr)))))
            raise SumError("unsupported", f"the outer product {t.source(node)[:40]} cannot be summed here")
        if isinstance(b, Per) and not b.row:  # A x_i: the row x_i^T A^T
            return Per(mx.MatMul(b.expr, mx.Transpose(a.expr)), row=False)
        if isinstance(a, Per) and a.row:  # x_i^T B
            return Per(mx.MatMul(a.expr, b.expr), row=True)
        raise SumError("shape", f"{t.source(node)[:40]}: the factors do not fit as vectors per sample")

    def _Div(self, node: t.Div):
        why = t.ambiguous_division(node)
        if why:
            raise SumError("ambiguous", why)
        a, b = self(node.left), self(node.right)
        if isinstance(b, Per) and not b.scalar:
            raise SumError("shape", f"cannot divide by the vector {t.source(node.right)[:30]}")
        return self.map(lambda u, v: u / v, a, b, "divide")

    def _Pow(self, node: t.Pow):
        a, k = self(node.base), self.convert(node.exp)
        if not isinstance(a, Per) or not k.is_scalar:
            raise SumError("unsupported", f"the exponent of {t.source(node)[:30]} must be a number")
        u = sp.Symbol(f"s{next(self.counter)}", real=True)
        return Per(mx.Map(u**k.expr, ((u, a.expr),)), a.row)

    def _Transpose(self, node):
        p = self(node.arg)
        return Per(p.expr, not p.row) if isinstance(p, Per) else p

    def _Call(self, node: t.Call):
        fn = spelled("answers").get(node.func)
        if fn is None or len(node.args) != 1:
            raise SumError("unsupported", f"{node.func}(...) cannot be read inside sum_{self.idx}")
        p = self(node.args[0])
        u = sp.Symbol(f"s{next(self.counter)}", real=True)
        return Per(mx.Map(fn(u), ((u, p.expr),)), p.row)


_u, _v = sp.symbols("u v", real=True)


def _is_scalar(p) -> bool:
    return p.scalar if isinstance(p, Per) else (p.is_scalar or p.shape == (1, 1))


def _shape(p) -> str:
    return "{}x{}".format(*p.shape)
