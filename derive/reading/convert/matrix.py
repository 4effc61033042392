"""The typed tree into SymPy scalars and :mod:`gradproof.derive.engine.mexpr` matrices.

The target of seminar answers, of spec files' matrix claims and of the
registry's matrix claims.

Conversion knows the exercise's vocabulary (symbols, their shapes and
domains, index symbols) and builds every object by calling a constructor:
``sp.Symbol``, ``sp.Add``, ``mexpr.MatMul``...  It also decides what each
product means from the shapes (matrix product, scalar times matrix,
elementwise) and records that decision in an explicit *reading* that is shown
to the student.

>>> import sympy as sp
>>> from gradproof.derive.seminar.answers import parse_answer
>>> v = Vocabulary(dims={"m": 5, "n": 3}, symbols=(
...     SymbolDecl("X", ("m", "n")), SymbolDecl("y", ("m", 1)), SymbolDecl("yhat", ("m", 1))))
>>> convert(parse_answer("X^T (yhat - y)"), v).text
'X^T @ (yhat - y)'
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

import gradproof.derive.reading.tree as t
from gradproof.derive.engine import mexpr as mx
from gradproof.derive.lecture.functions import relu_grad, sigmoid, spelled
from gradproof.derive.reading.convert.vocabulary import (  # noqa: F401 (re-exported)
    DOMAINS,
    ONE,
    SymbolDecl,
    Vocabulary,
    dim_symbol,
    scalar_symbol,
)
from gradproof.derive.reading.convert.walk import Walk

# Functions a student may call, by every spelling the grammar lets through.
SCALAR_FUNCTIONS = spelled("answers")  # from the function table (gradproof.derive.lecture.functions)
FUNCTION_NAMES = set(SCALAR_FUNCTIONS) | {"inv", "softmax", "delta", "norm"}


class ConversionError(Exception):
    """The answer is well formed but cannot mean anything here.

    ``code`` is ``unknown-name``, ``shape``, ``ambiguous`` or ``unsupported``;
    ``hint`` carries what feedback can use (e.g. that swapping two operands
    of a failed product would have worked).
    """

    def __init__(self, code: str, message: str, hint: str = ""):
        super().__init__(message)
        self.code = code
        self.hint = hint


@dataclass(frozen=True)
class Value:
    """A converted (sub)answer: the expression, its shape, and how it was read."""

    expr: Any  # sp.Expr (scalar) or mx.MExpr
    shape: tuple
    text: str
    prec: float = 9  # precedence of ``text``: 1 sum, 2.2 quotient, 2.6 product, 3 unary, 4 power, 9 atom

    @property
    def is_scalar(self) -> bool:
        return not isinstance(self.expr, mx.MExpr)

    def paren(self, level: int) -> str:
        return self.text if self.prec >= level else "(" + self.text + ")"


def shape_str(shape) -> str:
    return "{}x{}".format(*shape)


def convert(node: t.Node, vocab: Vocabulary) -> Value:
    """Convert a typed tree into a :class:`Value` (raises :class:`ConversionError`)."""
    return _Converter(vocab)(node)


_NOT_IN_ANSWERS = {
    "Ones": "the ones vector",
    "Indexed": "index brackets W[i, j]",
    "Piecewise": "Piecewise",
    "Rel": "comparisons",
    "And": "conditions",
    "Always": "conditions",
    "Tuple": "several expressions in one bracket",
}


@dataclass
class _Converter(Walk):
    vocab: Vocabulary
    counter: itertools.count = field(default_factory=itertools.count)

    REFUSED = {
        k: f"{v} cannot be used in an answer; write the formula in matrix form" for k, v in _NOT_IN_ANSWERS.items()
    }

    def __call__(self, n: t.Node) -> Value:
        return self.walk(n)

    def refuse(self, node: t.Node, message: str) -> Exception:
        return ConversionError("unsupported", message)

    # -- leaves -----------------------------------------------------------
    def _Num(self, n: t.Num) -> Value:
        v = self.number(n)
        return Value(sp.Rational(v.numerator, v.denominator), (ONE, ONE), n.text)

    def _Name(self, n: t.Name) -> Value:
        vocab = self.vocab
        full = n.full
        decl = vocab.lookup(full) or (vocab.lookup(n.base + "_{" + n.sub + "}") if n.sub else None)
        if decl is not None and not decl.is_indexed_vector:
            return self._symbol(decl)
        if full in vocab.dims:
            return Value(vocab.dim(full), (ONE, ONE), full)
        if n.sub:
            indices = self._indices(n.sub)
            base = vocab.lookup(n.base)
            if indices is not None and base is not None and base.is_indexed_vector:
                if len(indices) != 1:
                    raise ConversionError(
                        "shape", f"{base.name} is a vector: it takes one index, not {len(indices)} ({full})"
                    )
                return Value(sp.Indexed(sp.IndexedBase(base.name), indices[0]), (ONE, ONE), f"{base.name}_{indices[0]}")
            if indices is not None and base is not None and base.is_matrix and len(indices) == 2:
                return Value(
                    sp.Indexed(sp.IndexedBase(base.name), *indices),
                    (ONE, ONE),
                    f"{base.name}_{''.join(map(str, indices))}",
                )
            if indices is not None and n.base == "delta" and len(indices) == 2 and base is None:
                i, j = indices
                return Value(sp.KroneckerDelta(i, j), (ONE, ONE), f"[[{i} = {j}]]")
        if decl is not None and decl.is_indexed_vector:
            raise ConversionError(
                "shape", f"{decl.name} is a vector here: write one entry with an index, e.g. {decl.name}_k"
            )
        if not n.sub:
            if n.base in ("e",) and vocab.lookup("e") is None:
                return Value(sp.E, (ONE, ONE), "e")
            if n.base == "pi" and vocab.lookup("pi") is None:
                return Value(sp.pi, (ONE, ONE), "pi")
            split = self._split(n.base)
            if split is not None:
                value = split[0]
                for part in split[1:]:
                    value = self._product(value, part, "juxt")
                return value
        if n.base in FUNCTION_NAMES:
            raise ConversionError(
                "unknown-name", f"{n.base} is a function: write its argument in parentheses, {n.base}(...)"
            )
        known = ", ".join(vocab.names())
        shown = full if len(full) <= 30 else full[:27] + "..."
        raise ConversionError("unknown-name", f"unknown name {shown!r}; this exercise uses: {known}")

    def _symbol(self, decl: SymbolDecl) -> Value:
        if decl.is_index:
            return Value(self.vocab.scalar(decl), (ONE, ONE), decl.name)
        if decl.is_matrix:
            shape = self.vocab.shape_of(decl)
            if decl.value is not None:
                return Value(decl.value, shape, decl.name)
            if decl.domain == "identity":
                return Value(mx.Identity(shape[0]), shape, decl.name)
            return Value(mx.Sym(decl.name, shape), shape, decl.name)
        return Value(self.vocab.scalar(decl), (ONE, ONE), decl.name)

    def _indices(self, sub: str):
        parts = sub.split(",") if "," in sub else list(sub)
        out = []
        for p in parts:
            d = self.vocab.lookup(p)
            if d is None or not d.is_index:
                return None
            out.append(self.vocab.scalar(d))
        return out

    def _split(self, word: str):
        """``XW`` -> ``X W`` when the word splits into known names in exactly one way."""
        words = self._split_words(word)
        return None if words is None else [self._Name(t.Name(w)) for w in words]

    def _split_words(self, word: str):
        if len(word) > 12:
            return None
        known = {s.name for s in self.vocab.symbols if not s.is_indexed_vector}
        known |= {a for s in self.vocab.symbols if not s.is_indexed_vector for a in s.aliases}
        known |= set(self.vocab.dims)
        ways = []

        def go(rest, acc):
            if len(ways) > 1 or len(acc) > 4:
                return
            if not rest:
                ways.append(list(acc))
                return
            for k in range(1, len(rest) + 1):
                if rest[:k] in known:
                    go(rest[k:], acc + [rest[:k]])

        go(word, [])
        if len(ways) != 1 or len(ways[0]) < 2:
            return None
        return ways[0]

    # -- structure --------------------------------------------------------
    def _Neg(self, n: t.Neg) -> Value:
        v = self.walk(n.arg)
        text = "-" + v.paren(3)
        if v.is_scalar:
            return Value(-v.expr, v.shape, text, 3)
        return Value(mx.Scale(sp.Integer(-1), v.expr), v.shape, text, 3)

    def _Add(self, n: t.Add) -> Value:
        return self._sum(self.walk(n.left), self.walk(n.right), +1)

    def _Sub(self, n: t.Sub) -> Value:
        return self._sum(self.walk(n.left), self.walk(n.right), -1)

    def _sum(self, a: Value, b: Value, sign: int) -> Value:
        op = " + " if sign > 0 else " - "
        text = a.paren(1) + op + b.paren(2)
        if a.is_scalar and b.is_scalar:
            return Value(a.expr + sign * b.expr, a.shape, text, 1)
        if self._broadcasts(a.shape, b.shape):
            return self._elementwise(lambda x, y: x + sign * y, [a, b], text, 1)
        if a.shape != b.shape and (ONE, ONE) not in (a.shape, b.shape):
            hint = "transpose" if a.shape == b.shape[::-1] else ""
            if (_is_identity_term(b) and _has_inverse(a)) or (_is_identity_term(a) and _has_inverse(b)):
                hint = "ridge-outside"
            raise ConversionError(
                "shape",
                f"cannot add {a.text} ({shape_str(a.shape)}) and {b.text} ({shape_str(b.shape)}): the shapes differ",
                hint=hint,
            )
        for mat, sc in ((a, b), (b, a)):
            if sc.shape == (ONE, ONE) and mat.shape != (ONE, ONE) and mat.shape[0] == mat.shape[1]:
                raise ConversionError(
                    "ambiguous",
                    f"adding the scalar {sc.text} to the square matrix {mat.text} is ambiguous: "
                    f"write {sc.text} I for a multiple of the identity",
                )
        ea, eb = self._as_matrix(a), self._as_matrix(b)
        if sign < 0:
            eb = mx.Scale(sp.Integer(-1), eb)
        shape = b.shape if a.shape == (ONE, ONE) else a.shape
        return Value(mx.Add((ea, eb)), shape, text, 1)

    def _as_matrix(self, v: Value) -> mx.MExpr:
        return v.expr if not v.is_scalar else mx.Const(v.expr)

    def _Mul(self, n: t.Mul) -> Value:
        if self.vocab.claim_notation:
            special = self._claim_product(n)
            if special is not None:
                return special
        extra = dict(self.vocab.extra_functions)
        if (
            n.op == "juxt"
            and isinstance(n.left, t.Name)
            and n.left.full in extra
            and isinstance(n.right, t.Group)
            and self.vocab.lookup(n.left.full) is None
        ):
            a = self.walk(n.right.arg)
            return self._elementwise(extra[n.left.full], [a], n.left.full + "(" + a.text + ")", 9)
        if n.op == "juxt" and isinstance(n.left, t.Num) and isinstance(n.right, (t.Num,)):
            raise ConversionError(
                "ambiguous", f"two numbers side by side ({n.left.text} {n.right.text}): write an operator between them"
            )
        try:
            left = self.walk(n.left)
        except ConversionError as err:
            if err.code == "unknown-name" and isinstance(n.left, t.Name) and isinstance(n.right, (t.Group, t.Tuple)):
                raise ConversionError(
                    "unknown-name",
                    f"unknown function {n.left.full[:30]!r}; the functions understood are "
                    + ", ".join(sorted(FUNCTION_NAMES)),
                ) from None
            raise
        # ``sigma_k(s)``: the declared argument after an indexed name is just notation
        if n.op == "juxt" and isinstance(n.left, t.Name) and isinstance(n.right, t.Group):
            decl = self.vocab.lookup(n.left.base)
            arg = n.right.arg
            if decl is not None and decl.call_args and isinstance(arg, t.Name) and arg.full in decl.call_args:
                return left
        right = self.walk(n.right)
        return self._product(left, right, n.op)

    def _product(self, a: Value, b: Value, op: str) -> Value:
        if a.is_scalar and b.is_scalar:
            return Value(a.expr * b.expr, a.shape, a.paren(2.5) + " * " + b.paren(3), 2.6)
        if op == ".*":
            return self._elementwise(lambda x, y: x * y, [a, b], a.paren(2.5) + " ⊙ " + b.paren(3), 2.6)
        if a.shape == (ONE, ONE) or b.shape == (ONE, ONE):
            sc, mat = (a, b) if a.shape == (ONE, ONE) else (b, a)
            text = a.paren(2.5) + " * " + b.paren(3)
            if sc.is_scalar:
                return Value(mx.Scale(sc.expr, mat.expr), mat.shape, text, 2.6)
            return self._elementwise(lambda x, y: x * y, [a, b], text, 2.6)
        can_mm = a.shape[1] == b.shape[0]
        same = a.shape == b.shape
        if op == "*" and same and can_mm:
            raise ConversionError(
                "ambiguous",
                f"{a.text} * {b.text}: both are {shape_str(a.shape)}, so * could be the matrix product (write @) "
                "or the elementwise product (write .*)",
            )
        if can_mm and (op in ("@", "juxt") or not same):
            return Value(mx.MatMul(a.expr, b.expr), (a.shape[0], b.shape[1]), a.paren(2.5) + " @ " + b.paren(3), 2.6)
        if same and op != "@":
            return self._elementwise(lambda x, y: x * y, [a, b], a.paren(2.5) + " ⊙ " + b.paren(3), 2.6)
        swap_fits = b.shape[1] == a.shape[0]
        transpose_fits = a.shape[0] == b.shape[0] or a.shape[1] == b.shape[1]
        hint = (
            "transpose-or-order"
            if swap_fits and transpose_fits
            else "order"
            if swap_fits
            else "transpose"
            if transpose_fits
            else ""
        )
        raise ConversionError(
            "shape",
            f"cannot multiply {a.text} ({shape_str(a.shape)}) by {b.text} ({shape_str(b.shape)}): "
            f"the inner dimensions {a.shape[1]} and {b.shape[0]} differ",
            hint=hint,
        )

    def _broadcasts(self, a: tuple, b: tuple) -> bool:
        """A column beside a matrix with as many rows (claims only: ``Delta - rowsum(Delta ⊙ P)``)."""
        if not self.vocab.claim_notation or a == b or (ONE, ONE) in (a, b):
            return False
        return a[0] == b[0] and ONE in (a[1], b[1])

    def _claim_product(self, n: t.Mul) -> Value | None:
        """The ones row ``1^T A`` (the column sums) and ``rowsum(A)`` of a declaration's claims."""
        left = n.left
        if isinstance(left, t.Transpose) and isinstance(left.arg, t.Num) and self.number(left.arg) == 1:
            a = self.walk(n.right)
            if not a.is_scalar:
                return Value(mx.ColSum(a.expr), (ONE, a.shape[1]), "1^T " + a.paren(3), 2.6)
        if n.op == "juxt" and isinstance(left, t.Name) and left.full == "rowsum" and isinstance(n.right, t.Group):
            a = self.walk(n.right.arg)
            if not a.is_scalar:
                return Value(mx.RowSum(a.expr), (a.shape[0], ONE), "rowsum(" + a.text + ")", 9)
        return None

    def _elementwise(self, fn, values: list[Value], text: str, prec: int) -> Value:
        """Entrywise ``fn`` over matrices (1x1 operands broadcast; in claims, columns too)."""
        shapes = {v.shape for v in values if v.shape != (ONE, ONE)}
        if len(shapes) == 2 and self._broadcasts(*shapes):
            shapes = {max(shapes, key=lambda sh: sh[1] != ONE)}
        if len(shapes) > 1:
            raise ConversionError(
                "shape",
                "entrywise operation on different shapes: "
                + ", ".join(f"{v.text} ({shape_str(v.shape)})" for v in values),
            )
        if all(v.is_scalar for v in values):
            return Value(fn(*[v.expr for v in values]), (ONE, ONE), text, prec)
        args, scal = [], []
        for v in values:
            if v.is_scalar:
                scal.append(v.expr)
            else:
                u = sp.Symbol("u%d" % next(self.counter), real=True)
                args.append((u, v.expr))
                scal.append(u)
        shape = shapes.pop() if shapes else (ONE, ONE)
        return Value(mx.Map(fn(*scal), tuple(args)), shape, text, prec)

    def _Div(self, n: t.Div) -> Value:
        why = t.ambiguous_division(n)
        if why:
            raise ConversionError("ambiguous", why)
        a, b = self.walk(n.left), self.walk(n.right)
        if n.elementwise:
            return self._elementwise(lambda x, y: x / y, [a, b], a.paren(2.5) + " ./ " + b.paren(3), 2.2)
        if b.shape != (ONE, ONE):
            raise ConversionError(
                "shape", f"cannot divide by the {shape_str(b.shape)} matrix {b.text}: use inv(...) or ^-1"
            )
        text = a.paren(2.5) + " / " + b.paren(3)
        if a.is_scalar and b.is_scalar:
            return Value(a.expr / b.expr, a.shape, text, 2.2)
        if b.is_scalar:
            return Value(mx.Scale(1 / b.expr, a.expr), a.shape, text, 2.2)
        return self._elementwise(lambda x, y: x / y, [a, b], text, 2.2)

    def _glued(self, node: t.Node):
        """``DeltaW`` under ``^T`` or ``^2``: the known names it splits into, else None.

        As in LaTeX, a superscript belongs to the last token only: ``DeltaW^T``
        is ``Delta W^T``, not ``(Delta W)^T``.
        """
        if not isinstance(node, t.Name) or node.sub or self.vocab.lookup(node.full) is not None:
            return None
        if node.full in self.vocab.dims:
            return None
        return self._split_words(node.base)

    def _apply_to_last(self, words: list, last: t.Node) -> Value:
        value = self._Name(t.Name(words[0]))
        for w in words[1:-1]:
            value = self._product(value, self._Name(t.Name(w)), "juxt")
        return self._product(value, self.walk(last), "juxt")

    def _Pow(self, n: t.Pow) -> Value:
        words = self._glued(n.base)
        if words is not None:
            return self._apply_to_last(words, t.Pow(t.Name(words[-1]), n.exp))
        base, ex = self.walk(n.base), self.walk(n.exp)
        if not ex.is_scalar or ex.expr.has(sp.Indexed):
            raise ConversionError("unsupported", f"the exponent {ex.text} must be a scalar")
        text = base.paren(5) + "^" + ex.paren(5)
        if base.is_scalar:
            return Value(sp.Pow(base.expr, ex.expr), base.shape, text, 4)
        if base.shape == (ONE, ONE):
            return self._elementwise(lambda x: x**ex.expr, [base], text, 4)
        if base.shape[0] != base.shape[1]:
            if ex.expr.is_number and (ex.expr.is_positive or (self.vocab.entrywise_powers and ex.expr.is_real)):
                # a non-square matrix has no matrix power: the only meaning is entrywise
                return self._elementwise(lambda x: x**ex.expr, [base], base.paren(5) + "^∘" + ex.paren(5), 4)
            raise ConversionError(
                "shape", f"{base.text} is {shape_str(base.shape)}, not square: it has no inverse or negative power"
            )
        e = ex.expr
        if e == -1:
            return Value(mx.Solve(base.expr, mx.Identity(base.shape[0])), base.shape, "inv(" + base.text + ")", 9)
        if e.is_Integer and 1 <= e <= 4:
            out = base.expr
            for _ in range(int(e) - 1):
                out = mx.MatMul(out, base.expr)
            return Value(out, base.shape, text, 4)
        raise ConversionError("unsupported", f"matrix power {text}: only ^-1 and small whole powers are understood")

    def _Transpose(self, n: t.Transpose) -> Value:
        words = self._glued(n.arg)
        if words is not None:
            return self._apply_to_last(words, t.Transpose(t.Name(words[-1])))
        arg_decl = self.vocab.lookup(n.arg.full) if isinstance(n.arg, t.Name) else None
        if (
            isinstance(n.arg, t.Name)
            and n.arg.base in FUNCTION_NAMES
            and not n.arg.sub
            and not (arg_decl and arg_decl.is_matrix)
        ):
            raise ConversionError(
                "unsupported",
                f"{n.arg.base}' (a derivative) is what is asked for: write it out in terms of {n.arg.base}",
            )
        v = self.walk(n.arg)
        if v.is_scalar:
            return Value(v.expr, v.shape, v.paren(5) + "^T", 5)
        return Value(mx.Transpose(v.expr), (v.shape[1], v.shape[0]), v.paren(5) + "^T", 5)

    def _Call(self, n: t.Call) -> Value:
        f = n.func
        extra = dict(self.vocab.extra_functions)
        if f not in FUNCTION_NAMES and len(n.args) == 1:
            if f in extra and self.vocab.lookup(f) is None:
                a = self.walk(n.args[0])
                return self._elementwise(extra[f], [a], f + "(" + a.text + ")", 9)
            # a name the grammar knows as a function but this reader does not:
            # read as typed, a name next to a bracket (a symbol, or an unknown function)
            return self._Mul(t.Mul("juxt", t.Name(f), t.Group(n.args[0])))
        if f not in FUNCTION_NAMES:
            raise ConversionError(
                "unknown-name",
                f"unknown function {f[:30]!r}; the functions understood are " + ", ".join(sorted(FUNCTION_NAMES)),
            )
        args = [self.walk(a) for a in n.args]
        text = f + "(" + ", ".join(a.text for a in args) + ")"
        if f == "delta":
            if len(args) != 2:
                raise ConversionError("unsupported", "delta(j, k) takes two indices")
            return self._kronecker(args, text)
        if len(args) != 1:
            raise ConversionError("unsupported", f"{f}(...) takes one argument, not {len(args)}")
        (a,) = args
        if f in SCALAR_FUNCTIONS:
            fn = SCALAR_FUNCTIONS[f]
            name = "sigma" if fn is sigmoid else ("log" if f == "ln" else f)
            return self._elementwise(fn, [a], name + "(" + a.text + ")", 9)
        if f == "inv":
            if a.is_scalar:
                return Value(1 / a.expr, a.shape, "1 / " + a.paren(3), 2.2)
            if a.shape[0] != a.shape[1]:
                raise ConversionError("shape", f"inv({a.text}): {a.text} is {shape_str(a.shape)}, not square")
            return Value(mx.Solve(a.expr, mx.Identity(a.shape[0])), a.shape, text, 9)
        if f == "softmax":
            if a.is_scalar:
                raise ConversionError("unsupported", "softmax needs a vector or matrix of logits")
            return Value(mx.Softmax(a.expr), a.shape, text, 9)
        if f == "norm":
            return self._norm(a)
        raise ConversionError("unsupported", f"unknown function {f}")  # grammar lets only known names through

    def _kronecker(self, args, text):
        i, j = args
        if not (isinstance(i.expr, sp.Symbol) and isinstance(j.expr, sp.Symbol)):
            raise ConversionError("unsupported", f"{text}: both arguments must be index symbols")
        return Value(sp.KroneckerDelta(i.expr, j.expr), (ONE, ONE), f"[[{i.text} = {j.text}]]")

    def _Iverson(self, n: t.Iverson) -> Value:
        if n.op == "=":
            for side in (n.left, n.right):
                self._index_known(side, t.source(n))
            return self._kronecker([self.walk(n.left), self.walk(n.right)], "[[...]]")
        if not self.vocab.claim_notation:
            raise ConversionError("unsupported", "comparisons cannot be used in an answer; write the formula")
        a, b = self.walk(n.left), self.walk(n.right)
        # [[a > b]] away from a = b (a declared kink): the derivative of max(0, a - b)
        fn = (lambda x, y: relu_grad(x - y)) if n.op.startswith(">") else (lambda x, y: relu_grad(y - x))
        return self._elementwise(fn, [a, b], f"[[{a.text} {n.op} {b.text}]]", 9)

    def _Kronecker(self, n: t.Kronecker) -> Value:
        decl = self.vocab.lookup("delta")
        if (decl is not None and not decl.is_index) or self.vocab.lookup("delta_" + n.sub) is not None:
            return self._Name(t.Name("delta", n.sub))  # the exercise's own delta: an entry, not an indicator
        text = t.source(n)
        for i in n.indices:
            self._index_known(t.Name(i), text)
        return self._kronecker([self.walk(t.Name(i)) for i in n.indices], text)

    def _index_known(self, side: t.Node, text: str) -> None:
        """An index of a delta or indicator must be one of the exercise's index symbols."""
        while isinstance(side, t.Group):
            side = side.arg
        if not isinstance(side, t.Name) or side.sub:
            return  # a number or an expression: refused by _kronecker with its own message
        decl = self.vocab.lookup(side.base)
        if decl is None or not decl.is_index:
            known = ", ".join(s.name for s in self.vocab.symbols if s.is_index) or "none"
            raise ConversionError(
                "unknown-name", f"{text}: {side.base!r} is not an index of this exercise (its indices: {known})"
            )

    def _Norm(self, n: t.Norm) -> Value:
        if n.subscript not in ("", "2"):
            raise ConversionError("unsupported", f"the {n.subscript}-norm is not understood here; write norm(...)")
        return self._norm(self.walk(n.arg))

    def _IndexSum(self, n: t.IndexSum) -> Value:
        from gradproof.derive.reading.convert.sums import IndexSum, SumError

        try:
            expr = IndexSum(self, n.index).total(n)
        except SumError as err:
            raise ConversionError(err.code, str(err)) from None
        return Value(expr, expr.shape, t.source(n), 1)

    def _norm(self, a: Value) -> Value:
        if a.is_scalar:
            return Value(sp.Abs(a.expr), a.shape, "|" + a.text + "|")
        if a.shape[1] == ONE:
            inner = mx.MatMul(mx.Transpose(a.expr), a.expr)
        elif a.shape[0] == ONE:
            inner = mx.MatMul(a.expr, mx.Transpose(a.expr))
        else:
            raise ConversionError(
                "unsupported", f"norm of the {shape_str(a.shape)} matrix {a.text}: only vector norms are understood"
            )
        u = sp.Symbol("u%d" % next(self.counter), real=True)
        return Value(mx.Map(sp.sqrt(u), ((u, inner),)), (ONE, ONE), "norm(" + a.text + ")")


def _is_identity_term(v: Value) -> bool:
    e = v.expr
    return isinstance(e, mx.Identity) or (isinstance(e, mx.Scale) and isinstance(e.arg, mx.Identity))


def _has_inverse(v: Value) -> bool:
    return not v.is_scalar and any(isinstance(n, mx.Solve) for n in v.expr.walk())
