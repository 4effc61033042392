"""Expression printers for plain text and LaTeX: one ``_print_X`` method per node.

This module is the one home of how a formula is written:

- index form (SymPy scalar expressions): :class:`ScalarStrPrinter` and
  :class:`ScalarLatexPrinter`, subclasses of SymPy's own printers sharing
  :class:`LectureNotation` (subtracted terms last, sums from 1, Iverson
  brackets);
- elementwise bodies of matrix maps: :class:`HadamardStrPrinter` and
  :class:`HadamardLatexPrinter`, sharing :class:`ElementwiseNotation`
  (Hadamard products, elementwise quotients and powers);
- matrix form (:mod:`gradproof.derive.engine.mexpr` nodes):
  :class:`MatrixTextPrinter` and :class:`MatrixLatexPrinter`, subclasses of
  :class:`MatrixFormPrinter`, which dispatches ``_print_<ClassName>`` up the
  node's class hierarchy as SymPy's printers do and holds every method the
  targets share;
- :func:`to_text` and :func:`to_latex`, the entry points.

Symbol names follow one table, :data:`LATEX_NAMES`.  Derivations render in
:mod:`~gradproof.derive.output.render`, MathML in :mod:`~gradproof.derive.output.mathml`.

>>> import sympy as sp
>>> from gradproof.derive.engine.mexpr import Sym, MatMul, Transpose
>>> m, n, K = sp.symbols("m n K", positive=True, integer=True)
>>> X, D = Sym("X", (m, n)), Sym("Delta", (m, K))
>>> to_text(MatMul(Transpose(X), D))
'X^T Delta'
>>> to_latex(MatMul(Transpose(X), D))
'\\\\mathbf{X}^{\\\\top} \\\\boldsymbol{\\\\Delta}'
"""

from __future__ import annotations

import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.str import StrPrinter

from gradproof.derive.engine import mexpr as mx
from gradproof.derive.output.relabel import lecture_indices, lecture_messages
from gradproof.derive.output.tex import escape_latex_text

# One naming table for LaTeX: Python-side name -> LaTeX.
LATEX_NAMES = {
    "yhat": r"\hat{y}",
    "Yhat": r"\hat{\mathbf{Y}}",
    "Delta": r"\boldsymbol{\Delta}",
    "Delta_in": r"\boldsymbol{\Delta}^{l}",
    "delta": r"\delta",
    "lambda_": r"\lambda",
    "lam": r"\lambda",
    "alpha": r"\alpha",
    "sigma": r"\sigma",
    "sigma_0": r"\sigma_0",
    "sigma0": r"\sigma_0",
    "n_in": r"n_{\mathrm{in}}",
    "n_out": r"n_{\mathrm{out}}",
    "P": r"\mathbf{P}",
    "Var(x)": r"\operatorname{Var}(x)",
    "Var(w)": r"\operatorname{Var}(w)",
    "Var(s)": r"\operatorname{Var}(s)",
    "Var(s')": r"\operatorname{Var}(s')",
    "Var(delta)": r"\operatorname{Var}(\delta)",
    "Var(delta^{l+1})": r"\operatorname{Var}(\delta^{l+1})",
}

# names of vectors (bold lower case) and scalars (italic) among matrix symbols
_GREEK = {"alpha", "beta", "gamma", "delta", "lambda", "sigma", "theta", "mu", "eta", "Delta"}


class Shown(sp.Symbol):
    """A symbol that stands for a written quantity (``f'(s)``, ``dl/dyhat_1``)
    and prints as it is written, in plain text and in LaTeX.

    The LaTeX form is kept in a table by name (symbols are cached and pickled
    by name), so that ``Shown("f'(s)", "f'(s)")`` survives both.
    """

    _TEX: dict = {}

    def __new__(cls, name, latex=None, **assumptions):
        obj = super().__new__(cls, name, **assumptions)
        if latex is not None:
            cls._TEX[name] = latex
        return obj

    def __getnewargs_ex__(self):
        return ((self.name, Shown._TEX.get(self.name)), self.assumptions0)

    def _latex(self, printer):
        return Shown._TEX.get(self.name, self.name)

    def _sympystr(self, printer):
        return self.name


def latex_name(name: str, shape=None) -> str:
    """The LaTeX form of a symbol name; matrices and vectors in bold."""
    if name in LATEX_NAMES:
        return LATEX_NAMES[name]
    base, _, sub = name.partition("_")
    tex = "\\" + base if base in _GREEK else escape_latex_text(base)
    if shape is not None and not _is_scalar(shape):
        tex = (r"\boldsymbol{%s}" if base in _GREEK else r"\mathbf{%s}") % tex
    if sub:
        tex += "_{%s}" % escape_latex_text(sub)
    return tex


def _is_scalar(shape) -> bool:
    return tuple(shape) == (1, 1)


# ---------------------------------------------------------------------------
# Index form: SymPy scalar expressions
# ---------------------------------------------------------------------------


def _positive_first(expr):
    """The terms of a sum with the subtracted ones last, as the lecture writes
    ``yhat - y`` where SymPy's canonical order gives ``-y + yhat``."""
    terms = list(expr.as_ordered_terms())
    return [t for t in terms if not t.could_extract_minus_sign()] + [t for t in terms if t.could_extract_minus_sign()]


def lecture_sum(expr: sp.Sum) -> sp.Sum:
    """A sum as the lecture writes it: a bound index never printed like a
    free one (its range is relabelled 1-based by
    :func:`gradproof.derive.output.relabel.lecture_indices`).

    A declaration's summation dummy ``i`` may meet the engine's free index ``i``
    (another symbol that prints the same, as in ``sum_i w_ij z_i``
    differentiated by ``z_i``); the bound one is then primed: ``i'``.
    """
    body, limits = expr.function, []
    outer = {x.name for x in expr.free_symbols if isinstance(x, sp.Symbol)}
    for lim in expr.limits:
        d, lo, hi = lim if len(lim) == 3 else (lim[0], None, None)
        if d.name in outer or d.name in {x.name for x in body.free_symbols if x != d and isinstance(x, sp.Symbol)}:
            d2 = sp.Symbol(d.name + "'", integer=True)
            body = body.xreplace({d: d2})
            d = d2
        limits.append((d, lo, hi) if lo is not None else (d,))
    return sp.Sum(body, *limits)


class LectureNotation:
    """What the index-form printers share, mixed into SymPy's printers.

    Subclasses set the target's Iverson bracket (:attr:`iverson`) and how an
    indexed symbol is written (:attr:`indexed`, :attr:`index_sep`).
    """

    iverson = "[[%s]]"
    indexed = "%s[%s]"
    index_sep = ", "

    def _as_ordered_terms(self, expr, order=None):
        if isinstance(expr, sp.Add):
            return _positive_first(expr)
        return super()._as_ordered_terms(expr, order=order)

    def _print_KroneckerDelta(self, expr, exp=None):
        i, j = expr.args[:2]
        out = self.iverson % ("%s = %s" % (self._print(i), self._print(j)))
        return out if exp is None else r"%s^{%s}" % (out, exp)

    def _print_Indexed(self, expr):
        return self.indexed % (self._print(expr.base.label), self.index_sep.join(self._print(i) for i in expr.indices))


class ScalarStrPrinter(LectureNotation, StrPrinter):
    """Plain text of the index form: ``sum_{i=1..n} (w_i x_i)``, ``[[i = j]]``, ``^`` for powers."""

    def _print_Sum(self, expr):
        expr = lecture_sum(expr)
        return "sum_{%s} (%s)" % (self._limits(expr), self._print(expr.function))

    def _print_Symbol(self, expr):
        return "lambda" if expr.name == "lam" else super()._print_Symbol(expr)  # the code's lam is the lecture's

    def _print_Product(self, expr):
        return "prod_{%s} (%s)" % (self._limits(expr), self._print(expr.function))

    def _limits(self, expr) -> str:
        return ", ".join(f"{self._print(i)}={self._print(a)}..{self._print(b)}" for i, a, b in expr.limits)

    def _print_Pow(self, expr, rational=False):
        # the lecture's (and the claims') power sign
        return super()._print_Pow(expr, rational=rational).replace("**", "^")

    def _print_Interval(self, expr):
        lo, hi = (self._print(x) for x in expr.args[:2])
        return "[("[bool(expr.left_open)] + f"{lo}, {hi}" + "])"[bool(expr.right_open)]

    def _print_Abs(self, expr):
        return "|%s|" % self._print(expr.args[0])

    def _print_Derivative(self, expr):  # (dL/dtheta_1) as the lecture writes it, never Derivative(...)
        f = expr.expr
        f = f.func.__name__ if isinstance(f, sp.core.function.AppliedUndef) else "(%s)" % self._print(f)
        n = sum(c for _, c in expr.variable_count)
        by = " ".join("d" + self._print(v) + (f"^{c}" if c > 1 else "") for v, c in expr.variable_count)
        return f"(d{f'^{n} ' if n > 1 else ''}{f}/{by})"


class ScalarLatexPrinter(LectureNotation, LatexPrinter):
    """SymPy's LaTeX printer with the lecture's notation and names."""

    iverson = r"[\![ %s ]\!]"
    indexed = "%s_{%s}"
    index_sep = ","

    def _print_Sum(self, expr):
        e = lecture_sum(expr)
        if e == expr:
            return super()._print_Sum(expr)
        return self._print(e)

    def _print_Symbol(self, expr, style="plain"):
        if expr.name in LATEX_NAMES:
            return LATEX_NAMES[expr.name]
        return super()._print_Symbol(expr, style=style)

    def _print_Indexed(self, expr):
        # an entry of a matrix is its lower-case letter, as the lecture writes w_ij of W and x_ik of X
        name, idx = str(expr.base.label), [self._print(i) for i in expr.indices]
        entry = {"Yhat": r"\hat{y}"}.get(name, name.lower() if len(name) == 1 and "A" <= name <= "Z" else None)
        if len(idx) == 2 and entry:
            return "%s_{%s}" % (entry, ("" if all(len(i) == 1 and i.isalpha() for i in idx) else ",").join(idx))
        return super()._print_Indexed(expr)

    def _print_Heaviside(self, expr, exp=None):
        tex = self.iverson % ("%s > 0" % self._print(expr.args[0]))
        return tex if exp is None else r"%s^{%s}" % (tex, exp)


# ---------------------------------------------------------------------------
# Elementwise bodies: a scalar body whose placeholders stand for matrices
# ---------------------------------------------------------------------------

HADAMARD_TEXT = " o "  # the one Hadamard symbol of plain text (LaTeX: \odot)


class ElementwiseNotation:
    """What the elementwise printers share: products of matrices are Hadamard
    products, quotients elementwise, positive integer powers elementwise.

    ``names`` maps each placeholder symbol to its matrix, already printed.
    Subclasses give the target's tokens and how a scaled product reads
    (:meth:`_scaled`).
    """

    hadamard = HADAMARD_TEXT
    oslash = " / "
    one = "1"
    lgroup, rgroup = "(", ")"
    power = "%s^%s"

    def _group(self, s: str) -> str:
        return self.lgroup + s + self.rgroup

    def _print_Symbol(self, expr, *args, **kwargs):
        if expr in self._names:
            return self._names[expr]
        return super()._print_Symbol(expr, *args, **kwargs)

    def _is_matrix(self, e) -> bool:
        return any(s in self._names for s in e.free_symbols)

    def _print_Mul(self, expr):
        coeff, factors = expr.as_coeff_mul()
        num, den = [], []
        for f in factors:
            b, ex = f.as_base_exp()
            if ex.is_number and ex.is_negative and self._is_matrix(b):
                den.append(b if ex == -1 else sp.Pow(b, -ex, evaluate=False))
            else:
                num.append(f)
        mats = [f for f in num if self._is_matrix(f)]
        if not den and len(mats) <= 1:
            return super()._print_Mul(expr)
        scalar = sp.Mul(coeff, *[f for f in num if not self._is_matrix(f)])
        parts = [self._wrap(f) for f in mats] or [self.one]
        out = self.hadamard.join(parts)
        if den:
            dens = [self._wrap(d) for d in den]
            out += self.oslash + (dens[0] if len(dens) == 1 else self._group(self.hadamard.join(dens)))
        return self._scaled(scalar, out, single=len(parts) == 1 and not den)

    def _wrap(self, f) -> str:
        s = self._print(f)
        return self._group(s) if isinstance(f, sp.Add) else s

    def _print_Pow(self, expr, *args, **kwargs):
        b, ex = expr.as_base_exp()
        if self._is_matrix(b) and ex.is_Integer and ex > 0:
            base = self._print(b)
            base = base if isinstance(b, sp.Symbol) and not _superscripted(base) else self._group(base)
            return self.power % (base, self._print(ex))
        return super()._print_Pow(expr, *args, **kwargs)


class HadamardStrPrinter(ElementwiseNotation, ScalarStrPrinter):
    """Plain text of an elementwise body, written as the claims write it
    (``o`` for the Hadamard product, ``/`` and ``^`` elementwise).

    ``plain`` maps a placeholder to its matrix without brackets, for a
    placeholder that is the whole argument of a function (``sigmoid(Z W)``).
    """

    def __init__(self, names: dict, plain: dict | None = None):
        super().__init__()
        self._names = names
        self._plain = plain or {}

    def _print_Function(self, expr):
        args = [self._plain[a] if a in self._plain else self._print(a) for a in expr.args]
        return "%s(%s)" % (expr.func.__name__, ", ".join(args))

    def _scaled(self, scalar, out: str, single: bool) -> str:
        if scalar == 1:
            return out
        if scalar == -1:
            return "-" + (out if single else self._group(out))
        return self._print(scalar) + " " + (out if single else self._group(out))


class HadamardLatexPrinter(ElementwiseNotation, ScalarLatexPrinter):
    """LaTeX of an elementwise body: ``\\odot``, ``\\oslash``, ``A^{\\circ 2}``."""

    hadamard = r" \odot "
    oslash = r" \oslash "
    one = r"\mathbf{1}"
    lgroup, rgroup = r"\left(", r"\right)"
    power = r"%s^{\circ %s}"

    def __init__(self, names: dict):
        super().__init__({"mul_symbol": None})
        self._names = names

    def _scaled(self, scalar, out: str, single: bool) -> str:
        if scalar == 1:
            return out
        if scalar == -1:
            return "-" + out
        return self._print(scalar) + " " + self._group(out)


# ---------------------------------------------------------------------------
# Matrix form: mexpr nodes
# ---------------------------------------------------------------------------


def _superscripted(name: str) -> bool:
    """A printed name with a bare superscript (``W^3``): another superscript needs brackets, ``(W^3)^T``."""
    return "^" in name and not name.startswith("{")


def _needs_paren_in_product(e) -> bool:
    """A matrix operand that must be bracketed inside a matrix product: sums,
    and elementwise expressions written with an operator (``(Delta o Z) W^T``)."""
    if isinstance(e, mx.Add):
        return True
    if isinstance(e, mx.Map):
        body = sp.sympify(e.expr, strict=True)
        return isinstance(body, (sp.Add, sp.Mul, sp.Pow))
    return False


def _only_function_argument(body, p) -> bool:
    """Whether placeholder ``p`` occurs only as the whole argument of a
    function (``sigmoid(p)``): its matrix then needs no brackets of its own."""
    marker = sp.Dummy()
    rest = body.replace(lambda x: isinstance(x, sp.Function) and x.args == (p,), lambda x: marker)
    return p not in rest.free_symbols and marker in rest.free_symbols


def _placeholders(e: mx.Map):
    """The body of a map and its placeholders, each with a fresh symbol and its matrix."""
    body = sp.sympify(e.expr, strict=True)
    return body, [(p, sp.Symbol("MAPARG%d" % k), a) for k, (p, a) in enumerate(e.args)]


class MatrixFormPrinter:
    """The base of the matrix-form printers: dispatch and the shared methods.

    :meth:`doprint` calls ``_print_<ClassName>`` for the node's class, or the
    nearest base class that has one (as SymPy's printers do); a scalar goes
    to :attr:`scalar_printer`.  Subclasses set the target's brackets, marks
    and function names and add the methods where the targets differ.
    """

    scalar_printer: type = ScalarStrPrinter
    lparen, rparen = "(", ")"
    transposed = "^T"
    inverse = "^-1"
    functions = {"softmax": "softmax", "log_softmax": "log_softmax", "lstsq": "lstsq"}

    def doprint(self, e) -> str:
        if not isinstance(e, mx.MExpr):
            return self._scalar(e)
        for cls in type(e).__mro__:
            method = getattr(self, "_print_" + cls.__name__, None)
            if method is not None:
                return method(e)
        raise TypeError(f"{type(self).__name__} cannot print a {type(e).__name__}")

    def _scalar(self, e) -> str:
        return self.scalar_printer().doprint(lecture_indices(e))

    def _paren(self, e) -> str:
        """``e`` as an operand of a matrix product, bracketed where needed."""
        s = self.doprint(e)
        return self.lparen + s + self.rparen if _needs_paren_in_product(e) else s

    def _strict_paren(self, e) -> str:
        """``e`` bracketed unless it is a symbol or a transpose."""
        s = self.doprint(e)
        return s if isinstance(e, (mx.Sym, mx.Transpose)) else self.lparen + s + self.rparen

    def _call(self, name: str, *args) -> str:
        return self.functions[name] + self.lparen + ", ".join(self.doprint(a) for a in args) + self.rparen

    def _print_Transpose(self, e):
        inner = self.doprint(e.arg)
        if not isinstance(e.arg, mx.Sym) or _superscripted(inner):
            inner = self.lparen + inner + self.rparen
        return inner + self.transposed

    def _print_MatMul(self, e):
        return self._paren(e.left) + " " + self._paren(e.right)

    def _print_Scale(self, e):
        c = sp.sympify(e.coeff, strict=True)
        if c == -1:
            return "-" + self._paren(e.arg)
        cs = self._scalar(c)
        if isinstance(c, sp.Add):
            cs = self.lparen + cs + self.rparen
        return cs + " " + self._paren(e.arg)

    def _print_Add(self, e):
        out = ""
        for k, t in enumerate(e.terms):
            s = self.doprint(t)
            if k == 0:
                out = s
            elif s.startswith("-"):
                out += " - " + s[1:]
            else:
                out += " + " + s
        return out

    def _print_Softmax(self, e):
        return self._call("softmax", e.arg)

    def _print_LogSoftmax(self, e):
        return self._call("log_softmax", e.arg)

    def _print_Lstsq(self, e):
        return self._call("lstsq", e.a, e.b)

    def _print_Solve(self, e):
        return self.lparen + self.doprint(e.a) + self.rparen + self.inverse + " " + self._paren(e.b)


class MatrixTextPrinter(MatrixFormPrinter):
    """Plain text of the matrix form: ``X^T (P - Y)``, ``rowsum(Z)``, ``Delta o Z``."""

    functions = {**MatrixFormPrinter.functions, "rowsum": "rowsum", "colsum": "colsum", "sum": "sum"}

    def _print_Sym(self, e):
        return e.name

    def _print_Const(self, e):
        return self._scalar(e.value) if e.value != 1 else "1"

    def _print_Identity(self, e):
        return "I"

    def _print_RowSum(self, e):
        return self._call("rowsum", e.arg)

    def _print_ColSum(self, e):
        return self._call("colsum", e.arg)

    def _print_Total(self, e):
        return self._call("sum", e.arg)

    def _print_Map(self, e):
        body, places = _placeholders(e)
        names, plain = {}, {}
        for p, dummy, a in places:
            s = plain[dummy] = self.doprint(a)
            bracket = isinstance(a, (mx.Add, mx.MatMul, mx.Scale)) or _needs_paren_in_product(a)
            names[dummy] = s if _only_function_argument(body, p) or not bracket else "(" + s + ")"
        return HadamardStrPrinter(names, plain).doprint(body.xreplace({p: d for p, d, _ in places}))


class MatrixLatexPrinter(MatrixFormPrinter):
    """LaTeX of the matrix form: bold matrices, ``\\top``, ``\\mathbf{1}`` sums, ``\\odot``."""

    scalar_printer = ScalarLatexPrinter
    lparen, rparen = r"\left(", r"\right)"
    transposed = r"^{\top}"
    inverse = "^{-1}"
    functions = {
        "softmax": r"\operatorname{softmax}",
        "log_softmax": r"\log\operatorname{softmax}",
        "lstsq": r"\operatorname{lstsq}",
    }

    def _print_Sym(self, e):
        return e.latex or latex_name(e.name, e.shape)

    def _print_Const(self, e):
        one = r"\mathbf{1}"
        return one if e.value == 1 else self._scalar(e.value) + one

    def _print_Identity(self, e):
        return r"\mathbf{I}"

    def _print_RowSum(self, e):
        return self._strict_paren(e.arg) + r" \mathbf{1}"

    def _print_ColSum(self, e):
        return r"\mathbf{1}^{\top} " + self._strict_paren(e.arg)

    def _print_Total(self, e):
        return r"\mathbf{1}^{\top} " + self._strict_paren(e.arg) + r" \mathbf{1}"

    def _print_Map(self, e):
        body, places = _placeholders(e)
        names = {}
        for p, dummy, a in places:
            tex = self.doprint(a)
            if not isinstance(a, mx.Sym) and not _only_function_argument(body, p):
                tex = self.lparen + tex + self.rparen
            names[dummy] = tex
        return HadamardLatexPrinter(names).doprint(body.xreplace({p: d for p, d, _ in places}))


# ---------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------

_TEXT = MatrixTextPrinter()
_LATEX = MatrixLatexPrinter()


def _label(e) -> bool:
    """Whether ``e`` is already written out (a derivation's ``Label``: ``text``
    and ``latex``) rather than an expression to print."""
    return not isinstance(e, (mx.MExpr, sp.Basic)) and hasattr(e, "text") and hasattr(e, "latex")


def to_text(e, lecture: bool = True) -> str:
    """Plain text of a matrix or scalar expression (or of a ``Label``); ``lecture=False``
    keeps the engine's ``Delta`` (an exercise's letter) instead of the lecture's Delta^{l+1}."""
    return e.text if _label(e) else _TEXT.doprint(lecture_messages(e) if lecture else e)


mx.register_text_printer(lambda e: to_text(e, lecture=False))  # str(): the engine's own names


def to_latex(e, lecture: bool = True) -> str:
    """LaTeX of a matrix or scalar expression (or of a ``Label``); ``lecture`` as for :func:`to_text`."""
    return e.latex if _label(e) else _LATEX.doprint(lecture_messages(e) if lecture else e)


def shape_text(shape) -> str:
    return " x ".join(f"({d})" if isinstance(d, sp.Add) else str(d) for d in shape)


def shape_latex(shape) -> str:
    dims = [sp.sympify(d, strict=True) for d in shape]
    return r" \times ".join(
        (r"\left(%s\right)" if isinstance(d, sp.Add) else "%s") % ScalarLatexPrinter().doprint(d) for d in dims
    )


RELATION_TEXT = {":": ":", "=": "=", "in": "in", "propto": "∝", "<": "<", ">": ">", "<=": "<=", ">=": ">="}
RELATION_LATEX = {
    ":": ":",
    "=": "=",
    "in": r"\in",
    "propto": r"\propto",
    "<": "<",
    ">": ">",
    "<=": r"\le",
    ">=": r"\ge",
}


def relation_text(rel: str) -> str:
    return RELATION_TEXT.get(rel, rel)


def relation_latex(rel: str) -> str:
    return RELATION_LATEX.get(rel, rel)
