"""A small matrix-expression language: the *matrix form* of every result.

SymPy's own matrix calculus is silently wrong for several lecture cases (see
DESIGN.md), so gradproof keeps matrix forms in a language of its own whose
every node has an obvious meaning, an explicit evaluator (for the exact
proofs) and one printer method per node in each target (NumPy, LaTeX, text,
MathML).  Nodes are frozen dataclasses; shapes are pairs of SymPy
expressions in the symbolic dimensions (``m``, ``n``, ``K``), ``1`` for a
row or column that broadcasts.

Elementwise algebra lives in SymPy scalar land: ``Map(expr, {u: A, v: B})``
is the matrix whose entry ``(r, c)`` is ``expr`` with ``u = A[r, c]`` and
``v = B[r, c]`` (NumPy broadcasting for ``(m, 1)`` and ``(1, K)`` operands).

>>> import sympy as sp
>>> m, n, K = sp.symbols("m n K", positive=True, integer=True)
>>> Z, W = Sym("Z", (m, n)), Sym("W", (n, K))
>>> MatMul(Z, W).shape
(m, K)
>>> from gradproof.derive.output import printing  # registers the plain-text printer
>>> str(MatMul(Z, W))
'Z W'
>>> str(transform(MatMul(Z, W), lambda x: Transpose(x)))
'Z^T W^T'
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields, replace

import sympy as sp

Shape = tuple  # (rows, cols), SymPy expressions


class MExpr:
    """Base class of matrix-expression nodes."""

    shape: Shape

    def children(self) -> tuple[MExpr, ...]:
        return ()

    def walk(self) -> Iterator[MExpr]:
        yield self
        for c in self.children():
            yield from c.walk()

    def symbols(self) -> list[Sym]:
        seen: dict[str, Sym] = {}
        for node in self.walk():
            if isinstance(node, Sym):
                seen.setdefault(node.name, node)
        return list(seen.values())

    def __str__(self) -> str:
        # The plain-text printer lives in gradproof.derive.output.printing, which
        # depends on this module; it registers itself here when imported.
        printer = _TEXT_PRINTER.get("text")
        return printer(self) if printer is not None else repr(self)


# Printers that register themselves (``{"text": to_text}``); this module imports none.
_TEXT_PRINTER: dict[str, Callable[[MExpr], str]] = {}


def register_text_printer(printer: Callable[[MExpr], str]) -> None:
    """Make ``str(node)`` print through ``printer`` (called by the printing module on import)."""
    _TEXT_PRINTER["text"] = printer


@dataclass(frozen=True)
class Sym(MExpr):
    """A named matrix (``Z``, ``W``, ``Delta``), column or row vector, or scalar.

    ``role`` says what the name is in the lecture: ``input``, ``param``,
    ``target``, ``upstream`` (the incoming message) or ``output``
    (the module's own forward output, reused by its backward message).
    """

    name: str
    shape: Shape
    role: str = "input"
    latex: str = ""

    def __repr__(self) -> str:
        return f"Sym({self.name!r})"


@dataclass(frozen=True)
class Const(MExpr):
    """A matrix of ones (``value`` times), used where a constant broadcasts."""

    value: sp.Expr
    shape: Shape = (sp.Integer(1), sp.Integer(1))


@dataclass(frozen=True)
class Transpose(MExpr):
    arg: MExpr

    @property
    def shape(self) -> Shape:
        r, c = self.arg.shape
        return (c, r)

    def children(self):
        return (self.arg,)


@dataclass(frozen=True)
class MatMul(MExpr):
    left: MExpr
    right: MExpr

    @property
    def shape(self) -> Shape:
        # NOTE: checked here, not at construction, so that a wrongly shaped
        # *claim* can be built, shown, and then rejected by its proof.
        if sp.simplify(self.left.shape[1] - self.right.shape[0]) != 0:
            raise ValueError(f"shape mismatch in matrix product: {self.left.shape} @ {self.right.shape}")
        return (self.left.shape[0], self.right.shape[1])

    def children(self):
        return (self.left, self.right)


@dataclass(frozen=True)
class Scale(MExpr):
    """A scalar SymPy coefficient times a matrix: ``coeff * arg``."""

    coeff: sp.Expr
    arg: MExpr

    @property
    def shape(self) -> Shape:
        return self.arg.shape

    def children(self):
        return (self.arg,)


@dataclass(frozen=True)
class Add(MExpr):
    terms: tuple[MExpr, ...]

    @property
    def shape(self) -> Shape:
        return broadcast_shape([t.shape for t in self.terms])

    def children(self):
        return self.terms


@dataclass(frozen=True)
class Map(MExpr):
    """Elementwise ``expr`` over placeholders bound to matrices (broadcasting).

    ``args`` is a tuple of ``(placeholder, matrix)`` pairs, kept in order so
    that printing is deterministic.
    """

    expr: sp.Expr
    args: tuple[tuple[sp.Symbol, MExpr], ...]

    @property
    def shape(self) -> Shape:
        return broadcast_shape([a.shape for _, a in self.args])

    def children(self):
        return tuple(a for _, a in self.args)


@dataclass(frozen=True)
class RowSum(MExpr):
    """Sum over columns: ``(m, K) -> (m, 1)``, i.e. ``A 1``."""

    arg: MExpr

    @property
    def shape(self) -> Shape:
        return (self.arg.shape[0], sp.Integer(1))

    def children(self):
        return (self.arg,)


@dataclass(frozen=True)
class ColSum(MExpr):
    """Sum over rows (over samples): ``(m, K) -> (1, K)``, i.e. ``1^T A``."""

    arg: MExpr

    @property
    def shape(self) -> Shape:
        return (sp.Integer(1), self.arg.shape[1])

    def children(self):
        return (self.arg,)


@dataclass(frozen=True)
class Total(MExpr):
    """Sum of every entry: a scalar, ``1^T A 1``."""

    arg: MExpr

    @property
    def shape(self) -> Shape:
        return (sp.Integer(1), sp.Integer(1))

    def children(self):
        return (self.arg,)


@dataclass(frozen=True)
class Softmax(MExpr):
    """Row-wise softmax ``exp(S) ⊘ (exp(S) 1)``: named by the stability rewrite."""

    arg: MExpr

    @property
    def shape(self) -> Shape:
        return self.arg.shape

    def children(self):
        return (self.arg,)


@dataclass(frozen=True)
class LogSoftmax(MExpr):
    """Row-wise ``log softmax(S) = S - logsumexp(S) 1^T``: stability rewrite."""

    arg: MExpr

    @property
    def shape(self) -> Shape:
        return self.arg.shape

    def children(self):
        return (self.arg,)


@dataclass(frozen=True)
class Solve(MExpr):
    """``A^{-1} B`` computed by solving ``A X = B`` (never an explicit inverse)."""

    a: MExpr
    b: MExpr

    @property
    def shape(self) -> Shape:
        return (self.a.shape[1], self.b.shape[1])

    def children(self):
        return (self.a, self.b)


@dataclass(frozen=True)
class Lstsq(MExpr):
    """The least-squares solution of ``a w = b``: ``(a^T a)^{-1} a^T b`` without
    forming ``a^T a`` (whose condition number is the square of ``a``'s)."""

    a: MExpr
    b: MExpr

    @property
    def shape(self) -> Shape:
        return (self.a.shape[1], self.b.shape[1])

    def children(self):
        return (self.a, self.b)


@dataclass(frozen=True)
class Identity(MExpr):
    size: sp.Expr

    @property
    def shape(self) -> Shape:
        return (self.size, self.size)


def transform(expr: MExpr, f: Callable[[MExpr], MExpr]) -> MExpr:
    """``expr`` with each direct child ``c`` replaced by ``f(c)``: the one tree map.

    Children are the node's matrix-valued fields (a :class:`Map`'s bound
    matrices, an :class:`Add`'s terms included); scalar fields (``coeff``,
    ``expr``, ``size``) are kept.  Recursion is the caller's: ``f`` decides
    whether to descend (see :func:`substitute`).
    """
    changes = {}
    for fl in fields(expr) if hasattr(expr, "__dataclass_fields__") else ():
        value = getattr(expr, fl.name)
        if isinstance(value, MExpr):
            changes[fl.name] = f(value)
        elif fl.name == "args" and isinstance(expr, Map):
            changes[fl.name] = tuple((p, f(a)) for p, a in value)
        elif isinstance(value, tuple) and value and all(isinstance(t, MExpr) for t in value):
            changes[fl.name] = tuple(f(t) for t in value)
    return replace(expr, **changes) if changes else expr


def substitute(expr: MExpr, mapping: dict) -> MExpr:
    """Replace symbols by name: ``substitute(e, {"Z": MatMul(X, W)})``."""
    if isinstance(expr, Sym):
        return mapping.get(expr.name, expr)
    return transform(expr, lambda child: substitute(child, mapping))


def broadcast_shape(shapes: list[Shape]) -> Shape:
    """NumPy broadcasting of 2-D shapes; a dimension of 1 stretches."""
    rows, cols = sp.Integer(1), sp.Integer(1)
    for r, c in shapes:
        rows = _bdim(rows, r)
        cols = _bdim(cols, c)
    return (rows, cols)


def _bdim(a, b):
    if a == 1:
        return b
    if b == 1 or sp.simplify(a - b) == 0:
        return a
    raise ValueError(f"shapes do not broadcast: {a} vs {b}")


# ---------------------------------------------------------------------------
# Explicit evaluation: the bridge to the exact proofs.
# ---------------------------------------------------------------------------


def evaluate(expr: MExpr, env: dict[str, sp.Matrix], dims: dict | None = None) -> sp.Matrix:
    """Evaluate ``expr`` to an explicit SymPy matrix.

    ``env`` maps symbol names to explicit matrices; ``dims`` maps the symbolic
    dimensions (and scalar parameters) to values substituted into
    coefficients.
    """
    dims = dims or {}
    ev = _Evaluator(env, dims)
    return ev(expr)


@dataclass
class _Evaluator:
    env: dict
    dims: dict
    cache: dict = field(default_factory=dict)

    def __call__(self, e: MExpr) -> sp.Matrix:
        method = getattr(self, "_eval_" + type(e).__name__)
        return method(e)

    def _eval_Sym(self, e):
        try:
            val = self.env[e.name]
        except KeyError:
            raise KeyError(f"no value for symbol {e.name!r}") from None
        return val if isinstance(val, sp.MatrixBase) else sp.Matrix([[val]])

    def _eval_Const(self, e):
        r, c = (int(sp.sympify(d, strict=True).subs(self.dims)) for d in e.shape)
        return sp.ones(r, c) * sp.sympify(e.value, strict=True).subs(self.dims)

    def _eval_Identity(self, e):
        return sp.eye(int(sp.sympify(e.size, strict=True).subs(self.dims)))

    def _eval_Transpose(self, e):
        return self(e.arg).T

    def _eval_MatMul(self, e):
        return self(e.left) * self(e.right)

    def _eval_Scale(self, e):
        return self(e.arg) * sp.sympify(e.coeff, strict=True).subs(self.dims)

    def _eval_Add(self, e):
        parts = [self(t) for t in e.terms]
        return _broadcast_apply(lambda *xs: sp.Add(*xs), parts)

    def _eval_Map(self, e):
        placeholders = [p for p, _ in e.args]
        parts = [self(a) for _, a in e.args]
        body = sp.sympify(e.expr, strict=True).subs(self.dims)
        return _broadcast_apply(lambda *xs: body.xreplace(dict(zip(placeholders, xs))), parts)

    def _eval_RowSum(self, e):
        a = self(e.arg)
        return sp.Matrix([[sum(a.row(r))] for r in range(a.rows)])

    def _eval_ColSum(self, e):
        a = self(e.arg)
        return sp.Matrix([[sum(a.col(c)) for c in range(a.cols)]])

    def _eval_Total(self, e):
        return sp.Matrix([[sum(self(e.arg))]])

    def _eval_Softmax(self, e):
        a = self(e.arg)
        out = sp.zeros(a.rows, a.cols)
        for r in range(a.rows):
            den = sum(sp.exp(x) for x in a.row(r))
            for c in range(a.cols):
                out[r, c] = sp.exp(a[r, c]) / den
        return out

    def _eval_LogSoftmax(self, e):
        a = self(e.arg)
        out = sp.zeros(a.rows, a.cols)
        for r in range(a.rows):
            lse = sp.log(sum(sp.exp(x) for x in a.row(r)))
            for c in range(a.cols):
                out[r, c] = a[r, c] - lse
        return out

    def _eval_Solve(self, e):
        return self(e.a).LUsolve(self(e.b))

    def _eval_Lstsq(self, e):
        a = self(e.a)
        return (a.T * a).LUsolve(a.T * self(e.b))


def _broadcast_apply(fn, mats: list[sp.Matrix]) -> sp.Matrix:
    rows = max(m.rows for m in mats)
    cols = max(m.cols for m in mats)
    for m in mats:
        if m.rows not in (1, rows) or m.cols not in (1, cols):
            raise ValueError(f"explicit shapes do not broadcast: {[x.shape for x in mats]}")
    out = sp.zeros(rows, cols)
    for r in range(rows):
        for c in range(cols):
            out[r, c] = fn(*(m[r if m.rows > 1 else 0, c if m.cols > 1 else 0] for m in mats))
    return out
