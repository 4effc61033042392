"""Printers for plain text and LaTeX: one ``_print_X`` method per node.

Scalar (index-form) expressions print through subclasses of SymPy's own
printers; matrix forms (:mod:`gradproof.derive.engine.mexpr`) through the printers below.
Symbol names follow one naming table, :data:`LATEX_NAMES`, so that every
target writes ``Yhat`` as the lecture does.

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

import json

import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.str import StrPrinter

from gradproof.derive.engine import mexpr as mx
from gradproof.derive.output.relabel import lecture_indices

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


def escape_latex_text(text: str) -> str:
    """Escape characters that TeX would otherwise swallow or choke on."""
    out = []
    for ch in text:
        if ch in "#$%&_{}":
            out.append("\\" + ch)
        elif ch == "\\":
            out.append(r"\textbackslash{}")
        elif ch == "^":
            out.append(r"\^{}")
        elif ch == "~":
            out.append(r"\~{}")
        elif ord(ch) > 127:
            out.append(r"\text{\char%d}" % ord(ch) if not ch.isalpha() else ch)
        else:
            out.append(ch)
    return "".join(out)


def _is_scalar(shape) -> bool:
    return tuple(shape) == (1, 1)


# ---------------------------------------------------------------------------
# Scalar printers
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


class ScalarLatexPrinter(LatexPrinter):
    """SymPy's LaTeX printer with the lecture's notation."""

    def _print_Sum(self, expr):
        e = lecture_sum(expr)
        if e == expr:
            return super()._print_Sum(expr)
        return self._print(e)

    def _as_ordered_terms(self, expr, order=None):
        if isinstance(expr, sp.Add):
            return _positive_first(expr)
        return super()._as_ordered_terms(expr, order=order)

    def _print_Symbol(self, expr, style="plain"):
        if expr.name in LATEX_NAMES:
            return LATEX_NAMES[expr.name]
        return super()._print_Symbol(expr, style=style)

    def _print_KroneckerDelta(self, expr, exp=None):
        i, j = expr.args[:2]
        tex = r"[\![ %s = %s ]\!]" % (self._print(i), self._print(j))
        return tex if exp is None else r"%s^{%s}" % (tex, exp)

    def _print_Indexed(self, expr):
        base = self._print(expr.base.label)
        idx = ",".join(self._print(i) for i in expr.indices)
        return "%s_{%s}" % (base, idx)

    def _print_Heaviside(self, expr, exp=None):
        tex = r"[\![ %s > 0 ]\!]" % self._print(expr.args[0])
        return tex if exp is None else r"%s^{%s}" % (tex, exp)


class ScalarStrPrinter(StrPrinter):
    def _as_ordered_terms(self, expr, order=None):
        if isinstance(expr, sp.Add):
            return _positive_first(expr)
        return super()._as_ordered_terms(expr, order=order)

    def _print_Sum(self, expr):
        expr = lecture_sum(expr)
        lims = ", ".join(f"{self._print(i)}={self._print(a)}..{self._print(b)}" for i, a, b in expr.limits)
        return "sum_{%s} (%s)" % (lims, self._print(expr.function))

    def _print_KroneckerDelta(self, expr):
        i, j = expr.args[:2]
        return "[[%s = %s]]" % (self._print(i), self._print(j))

    def _print_Product(self, expr):
        lims = ", ".join(f"{self._print(i)}={self._print(a)}..{self._print(b)}" for i, a, b in expr.limits)
        return "prod_{%s} (%s)" % (lims, self._print(expr.function))

    def _print_Pow(self, expr, rational=False):
        # the lecture's (and the claims') power sign
        return super()._print_Pow(expr, rational=rational).replace("**", "^")

    def _print_Interval(self, expr):
        lo, hi = expr.args[:2]
        return "%s%s, %s%s" % (
            "(" if expr.left_open else "[",
            self._print(lo),
            self._print(hi),
            ")" if expr.right_open else "]",
        )

    def _print_Indexed(self, expr):
        return "%s[%s]" % (self._print(expr.base.label), ", ".join(self._print(i) for i in expr.indices))


# ---------------------------------------------------------------------------
# Matrix-form printers
# ---------------------------------------------------------------------------

HADAMARD_TEXT = " o "  # the one Hadamard symbol of plain text (LaTeX: \odot)


class HadamardStrPrinter(ScalarStrPrinter):
    """Plain text of a scalar body whose placeholders stand for matrices:
    products of matrices are written with the Hadamard symbol ``o`` (as the
    claims write them), quotients ``/`` elementwise, powers ``^`` elementwise."""

    def __init__(self, names: dict, plain: dict | None = None):
        super().__init__()
        self._names = names
        self._plain = plain or {}

    def _print_Symbol(self, expr):
        return self._names.get(expr, expr.name)

    def _print_Function(self, expr):
        # a matrix as the whole argument of a function needs no brackets of its own
        args = [self._plain.get(a, self._print(a)) if a in self._plain else self._print(a) for a in expr.args]
        return "%s(%s)" % (expr.func.__name__, ", ".join(args))

    def _is_matrix(self, e) -> bool:
        return any(x in self._names for x in e.free_symbols)

    def _print_Mul(self, expr):
        coeff, factors = expr.as_coeff_mul()
        num = [
            f
            for f in factors
            if not (
                f.as_base_exp()[1].is_number and f.as_base_exp()[1].is_negative and self._is_matrix(f.as_base_exp()[0])
            )
        ]
        den = [f for f in factors if f not in num]
        mats = [f for f in num if self._is_matrix(f)]
        if not den and len(mats) <= 1:
            return super()._print_Mul(expr)
        scal = sp.Mul(coeff, *[f for f in num if not self._is_matrix(f)])
        parts = [self._wrap(f) for f in mats] or ["1"]
        text = HADAMARD_TEXT.join(parts)
        if den:
            dens = [
                self._wrap(b if ex == -1 else sp.Pow(b, -ex, evaluate=False))
                for b, ex in (dd.as_base_exp() for dd in den)
            ]
            text += " / " + (dens[0] if len(dens) == 1 else "(" + HADAMARD_TEXT.join(dens) + ")")
        if scal == 1:
            return text
        if scal == -1:
            return "-" + (text if len(parts) == 1 and not den else "(" + text + ")")
        return self._print(scal) + " " + ("(" + text + ")" if den or len(parts) > 1 else text)

    def _wrap(self, f):
        t = self._print(f)
        return "(" + t + ")" if isinstance(f, sp.Add) else t

    def _print_Pow(self, expr):
        b, ex = expr.as_base_exp()
        if self._is_matrix(b) and ex.is_Integer and ex > 0:
            return "%s^%s" % (self._names.get(b, "(" + self._print(b) + ")"), self._print(ex))
        return super()._print_Pow(expr)


def _needs_paren_in_product(e) -> bool:
    """A matrix operand that must be bracketed inside a matrix product: sums,
    and elementwise expressions written with an operator (``(Delta o Z) W^T``)."""
    if isinstance(e, mx.Add):
        return True
    if isinstance(e, mx.Map):
        body = sp.sympify(e.expr, strict=True)
        return isinstance(body, (sp.Add, sp.Mul, sp.Pow))
    return False


class _MatrixPrinter:
    """Dispatch on the node class: ``_print_<ClassName>``."""

    def doprint(self, e) -> str:
        if isinstance(e, mx.MExpr):
            return getattr(self, "_print_" + type(e).__name__)(e)
        return self._scalar(e)

    def _paren(self, e) -> str:
        s = self.doprint(e)
        if _needs_paren_in_product(e):
            return self.lparen + s + self.rparen
        return s


def _strict(self, e):
    s = self.doprint(e)
    return s if isinstance(e, (mx.Sym, mx.Transpose)) else self.lparen + s + self.rparen


_MatrixPrinter._strict_paren = _strict


class TextPrinter(_MatrixPrinter):
    lparen, rparen = "(", ")"

    def _scalar(self, e):
        return ScalarStrPrinter().doprint(lecture_indices(e))

    def _print_Sym(self, e):
        return e.name

    def _print_Const(self, e):
        return self._scalar(e.value) if e.value != 1 else "1"

    def _print_Identity(self, e):
        return "I"

    def _print_Transpose(self, e):
        inner = self.doprint(e.arg)
        return (inner if isinstance(e.arg, mx.Sym) else "(" + inner + ")") + "^T"

    def _print_MatMul(self, e):
        return self._paren(e.left) + " " + self._paren(e.right)

    def _print_Scale(self, e):
        c = sp.sympify(e.coeff, strict=True)
        if c == -1:
            return "-" + self._paren(e.arg)
        return (
            "(" + self._scalar(c) + ") " + self._paren(e.arg)
            if isinstance(c, sp.Add)
            else self._scalar(c) + " " + self._paren(e.arg)
        )

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

    def _print_Map(self, e):
        names, plain, sub = {}, {}, {}
        body = sp.sympify(e.expr, strict=True)
        for k, (p, a) in enumerate(e.args):
            dummy = sp.Symbol("MAPARG%d" % k)
            sub[p] = dummy
            names[dummy] = self.doprint(a) if _only_function_argument(body, p) else _text_operand(self, a)
            plain[dummy] = self.doprint(a)
        return HadamardStrPrinter(names, plain).doprint(body.xreplace(sub))

    def _print_RowSum(self, e):
        return "rowsum(" + self.doprint(e.arg) + ")"

    def _print_ColSum(self, e):
        return "colsum(" + self.doprint(e.arg) + ")"

    def _print_Total(self, e):
        return "sum(" + self.doprint(e.arg) + ")"

    def _print_Softmax(self, e):
        return "softmax(" + self.doprint(e.arg) + ")"

    def _print_LogSoftmax(self, e):
        return "log_softmax(" + self.doprint(e.arg) + ")"

    def _print_Solve(self, e):
        return "(" + self.doprint(e.a) + ")^-1 " + self._paren(e.b)

    def _print_Lstsq(self, e):
        return "lstsq(" + self.doprint(e.a) + ", " + self.doprint(e.b) + ")"


def _only_function_argument(body, p) -> bool:
    """Whether placeholder ``p`` occurs only as the whole argument of a
    function (``sigmoid(p)``): its matrix then needs no brackets of its own."""
    marker = sp.Dummy()
    rest = body.replace(lambda x: isinstance(x, sp.Function) and x.args == (p,), lambda x: marker)
    return p not in rest.free_symbols and marker in rest.free_symbols


def _text_operand(printer, a):
    s = printer.doprint(a)
    return "(" + s + ")" if isinstance(a, (mx.Add, mx.MatMul, mx.Scale)) or _needs_paren_in_product(a) else s


class MatrixLatexPrinter(_MatrixPrinter):
    lparen, rparen = r"\left(", r"\right)"

    def _scalar(self, e):
        return ScalarLatexPrinter().doprint(lecture_indices(e))

    def _print_Sym(self, e):
        return e.latex or latex_name(e.name, e.shape)

    def _print_Const(self, e):
        one = r"\mathbf{1}"
        return one if e.value == 1 else self._scalar(e.value) + one

    def _print_Identity(self, e):
        return r"\mathbf{I}"

    def _print_Transpose(self, e):
        inner = self.doprint(e.arg)
        if not isinstance(e.arg, mx.Sym):
            inner = self.lparen + inner + self.rparen
        return inner + r"^{\top}"

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

    def _print_Map(self, e):
        names = {}
        sub = {}
        for k, (p, a) in enumerate(e.args):
            dummy = sp.Symbol("MAPARG%d" % k)
            sub[p] = dummy
            tex = self.doprint(a)
            if not isinstance(a, mx.Sym) and not _only_function_argument(sp.sympify(e.expr, strict=True), p):
                tex = self.lparen + tex + self.rparen
            names[dummy] = tex
        body = sp.sympify(e.expr, strict=True).xreplace(sub)
        return HadamardLatexPrinter(names).doprint(body)

    def _print_RowSum(self, e):
        return self._strict_paren(e.arg) + r" \mathbf{1}"

    def _print_ColSum(self, e):
        return r"\mathbf{1}^{\top} " + self._strict_paren(e.arg)

    def _print_Total(self, e):
        return r"\mathbf{1}^{\top} " + self._strict_paren(e.arg) + r" \mathbf{1}"

    def _print_Softmax(self, e):
        return r"\operatorname{softmax}\left(" + self.doprint(e.arg) + r"\right)"

    def _print_LogSoftmax(self, e):
        return r"\log\operatorname{softmax}\left(" + self.doprint(e.arg) + r"\right)"

    def _print_Solve(self, e):
        return self.lparen + self.doprint(e.a) + self.rparen + "^{-1} " + self._paren(e.b)

    def _print_Lstsq(self, e):
        return r"\operatorname{lstsq}\left(" + self.doprint(e.a) + ", " + self.doprint(e.b) + r"\right)"


class HadamardLatexPrinter(ScalarLatexPrinter):
    """Print a scalar body whose placeholders stand for matrices: products of
    matrices become ``\\odot``, quotients ``\\oslash``, functions apply
    elementwise."""

    def __init__(self, names: dict):
        super().__init__({"mul_symbol": None})
        self._names = names

    def _print_Symbol(self, expr, style="plain"):
        if expr in self._names:
            return self._names[expr]
        return super()._print_Symbol(expr, style=style)

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
        scal = [f for f in num if not self._is_matrix(f)]
        mats = [f for f in num if self._is_matrix(f)]
        if not den and len(mats) <= 1:
            return super()._print_Mul(expr)
        coeff_expr = sp.Mul(coeff, *scal)
        parts = [self._wrap(f) for f in mats] or ["\\mathbf{1}"]
        tex = r" \odot ".join(parts)
        if den:
            dens = [self._wrap(d) for d in den]
            tex += r" \oslash " + (dens[0] if len(dens) == 1 else r"\left(" + r" \odot ".join(dens) + r"\right)")
        if coeff_expr == 1:
            return tex
        if coeff_expr == -1:
            return "-" + tex
        return super()._print(coeff_expr) + " " + self.parenthesize_all(tex)

    def parenthesize_all(self, tex):
        return r"\left(" + tex + r"\right)"

    def _wrap(self, f):
        tex = self._print(f)
        if isinstance(f, sp.Add):
            return r"\left(" + tex + r"\right)"
        return tex

    def _print_Pow(self, expr):
        b, e = expr.as_base_exp()
        if self._is_matrix(b) and e.is_Integer and e > 0:
            return r"%s^{\circ %s}" % (self._wrap_base(b), self._print(e))
        return super()._print_Pow(expr)

    def _wrap_base(self, b):
        tex = self._print(b)
        if isinstance(b, sp.Symbol):
            return tex
        return r"\left(" + tex + r"\right)"


_TEXT = TextPrinter()
_LATEX = MatrixLatexPrinter()


def to_text(e) -> str:
    """Plain text of a matrix or scalar expression (or a :class:`Label`)."""
    from gradproof.derive.engine.derivation import Label

    if isinstance(e, Label):
        return e.text
    return _TEXT.doprint(e)


def to_latex(e) -> str:
    """LaTeX of a matrix or scalar expression (or a :class:`Label`)."""
    from gradproof.derive.engine.derivation import Label

    if isinstance(e, Label):
        return e.latex
    return _LATEX.doprint(e)


def shape_text(shape) -> str:
    return " x ".join(f"({d})" if isinstance(d, sp.Add) else str(d) for d in shape)


def shape_latex(shape) -> str:
    dims = [sp.sympify(d, strict=True) for d in shape]
    return r" \times ".join(
        (r"\left(%s\right)" if isinstance(d, sp.Add) else "%s") % ScalarLatexPrinter().doprint(d) for d in dims
    )


# ---------------------------------------------------------------------------
# Whole derivations
# ---------------------------------------------------------------------------

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


def claim_proved(d, c) -> bool | None:
    """True when every proof of the claim passed, False when one failed,
    None when it was never checked."""
    ps = [p for p in d.proofs if p.key == "claim:" + c.key]
    if not ps:
        return None
    return all(p.passed for p in ps)


def claim_source_text(c) -> str:
    """Who states a claim, in words: the lecture's slide, or gradproof."""
    if c.source == "lecture":
        return 'the lecture, slide "%s"' % c.slide
    return "gradproof's addition (not on the slides)"


def result_attribution(d, r, form: str | None = None) -> str:
    """How a result (or one of its forms, ``"index"`` or ``"matrix"``) is
    known: derived, or also stated and proved equal to the derived result,
    naming who states it (the lecture's slide, or gradproof).

    A form is attributed to the lecture only through a proved lecture claim
    about that form; a claim about the matrix form does not vouch for the
    index form, nor the other way round.
    """
    if r.origin != "claimed-and-proved":
        return "derived"
    claims = [
        c
        for c in d.claims
        if c.key == r.key and claim_proved(d, c) and (form is None or (c.matrix is not None) == (form == "matrix"))
    ]
    lecture = [c for c in claims if c.source == "lecture"]
    if lecture:
        return 'derived; the lecture\'s statement (slide "%s"), proved' % lecture[0].slide
    if claims:
        return "derived; gradproof's statement, proved"
    return "derived"


def _row_attribution(d, r, form: str) -> str:
    return result_attribution(d, r, form)


def claim_latex(d, c) -> str | None:
    """A claim as a formula, ``lhs = claimed expression`` (None when it has none)."""
    expr = c.matrix if c.matrix is not None else c.index
    res = {r.key: r for r in d.results}.get(c.key)
    if expr is None or res is None:
        return None
    lhs = res.lhs if c.matrix is not None else (res.index_lhs or res.lhs)
    rel = res.relation if c.matrix is None else "="
    return to_latex(lhs) + " " + relation_latex(rel) + " " + to_latex(expr)


def result_rows(d):
    """The results as printed rows ``(result, form, lhs, relation, expr)``,
    each index form once: a loss's local derivative and its backward message
    are the same per-sample formula, shown one time."""
    seen, rows = set(), []
    for r in d.results:
        if r.index is not None:
            lhs = r.index_lhs or r.lhs
            key = (to_text(lhs), to_text(r.index))
            if key not in seen:
                seen.add(key)
                rows.append((r, "index", lhs, r.relation, r.index))
        if r.matrix is not None:
            rows.append((r, "matrix", r.lhs, "=", r.matrix))
    return rows


def derivation_text(d) -> str:
    def eq(lhs, rel, rhs):
        return f"{to_text(lhs)} {relation_text(rel)} {to_text(rhs)}"

    lines = [f"{d.title}  [{d.topic}, {d.kind}]", "", d.summary, "", "Definition:"]
    for s in d.definition:
        lines.append(f"  {eq(s.lhs, s.relation, s.rhs)}" + (f"    ({s.note})" if s.note else ""))
    lines += ["", "Derivation:"]
    for k, s in enumerate(d.steps, 1):
        lines.append(f"  {k:2d}. [{s.rule}] {eq(s.lhs, s.relation, s.rhs)}")
        if s.note:
            lines.append(f"      {s.note}")
    lines += ["", "Results:"]
    for r, form, lhs, rel, expr in result_rows(d):
        how = _row_attribution(d, r, form)
        where = "index form" if form == "index" else shape_text(r.shape)
        lines.append(f"  {eq(lhs, rel, expr)}    ({where}, {how})")
    if d.claims:
        lines += ["", "Claims (proved, not trusted):"]
        for c in d.claims:
            ok = claim_proved(d, c)
            verdict = "proved" if ok else ("REJECTED" if ok is False else "NOT CHECKED")
            tag = f'[lecture, slide "{c.slide}"]' if c.source == "lecture" else "[gradproof]"
            lines.append(f"  {tag} {c.statement}: {verdict}")
    errata = getattr(d, "errata", ())
    if errata:
        lines += ["", "Errata (where the lecture is wrong or imprecise):"]
        for e in errata:
            lines.append(f'  ! [{e.kind}, slide "{e.slide}"] the lecture: {e.lecture}')
            lines.append(f"    instead: {e.correction}")
            lines += [f"    {'evidence' if e.passed else 'EVIDENCE FAILED'}: {x}" for x in e.evidence]
    if d.notes:
        lines += ["", "Notes:"] + [f"  - {n}" for n in d.notes]
    lines += ["", "Exact proofs:"]
    for p in d.proofs:
        lines.append(
            f"  {proof_mark(p)}  {p.key}: {p.check} at {p.sizes}"
            + (f" — {p.detail}" if p.detail and not p.passed else "")
        )
    return "\n".join(lines)


_GREEK_WORDS = {"alpha", "beta", "gamma", "delta", "lambda", "sigma", "theta", "mu", "eta", "pi", "epsilon"}


def _word_math(word: str) -> str:
    """A plain-text formula token (``w_i^2``, ``E(x_i)``, ``sigma_0^2``) as LaTeX maths."""
    import re

    def name(m):
        w = m.group(0)
        if w in _GREEK_WORDS:
            return "\\" + w
        if w in ("Var", "E", "exp", "log"):
            return {"Var": r"\operatorname{Var}", "E": r"\operatorname{E}", "exp": r"\exp", "log": r"\log"}[w]
        if w in ("LANGLE", "RANGLE", "LBRACE", "RBRACE"):
            return w
        if w == "oo":
            return r"\infty"
        if w in ("sum", "prod", "max", "min", "tanh", "argmin", "argmax"):
            return {"sum": r"\sum", "prod": r"\prod"}.get(w, r"\operatorname{%s}" % w)
        if w == "yhat":
            return r"\hat{y}"
        return w

    word = re.sub(r"<(?=[A-Za-z])", "LANGLE", word)
    word = re.sub(r"(?<=[A-Za-z0-9)])>", "RANGLE", word)
    out = re.sub(r"[A-Za-z]+", name, word)
    out = out.replace("LANGLE", r"\langle ").replace("RANGLE", r"\rangle ")
    out = out.replace("LBRACE", r"\{").replace("RBRACE", r"\}")
    out = re.sub(r"\^\(([^()]*)\)", lambda m: "^{%s}" % m.group(1), out)
    # a sub- or superscript is one group: a name, a number, or a command with its argument
    out = re.sub(r"([_^])([A-Za-z0-9]+|\\[A-Za-z]+(?:\{[^{}]*\})?)", lambda m: "%s{%s}" % (m.group(1), m.group(2)), out)
    out = out.replace("->", r"\to ").replace(">=", r"\ge ").replace("<=", r"\le ").replace("!=", r"\ne ")
    out = out.replace("*", r"\cdot ").replace("~", r"\sim ")
    return out  # plain brackets: a long inline formula may break inside them


def has_formula(text: str) -> bool:
    """Whether prose carries formula text (``_``, ``^``, ``=``, a call ``f(x)``...)."""
    import re

    return bool(re.search(r"[_^=<>]|\w\(|\bsum\b", text or ""))


def prose_latex(text: str) -> str:
    r"""Prose with formulas in it, as LaTeX that reads the same in TeX and
    MathJax: words in ``\text{}``, every formula fragment (anything with
    ``_``, ``^``, ``=``, brackets or operators) set as maths, so no escaped
    ``\_`` or ``\hat{}`` ever appears.

    >>> prose_latex("zero means: E(w_i^2) = Var(w_i)")
    '\\text{zero means: }\\operatorname{E}(w_{i}^{2}) = \\operatorname{Var}(w_{i})'
    """
    import re

    if not text:
        return ""
    if re.search(r"[\\%&#$]", text) or re.search(r"\w_\w+_\w", text):
        # TeX's specials in the prose (a user's spec, say): every character set
        # as written, specials in maths between pieces of text
        special = {
            "_": r"\_",
            "&": r"\&",
            "%": r"\%",
            "#": r"\#",
            "$": r"\$",
            "{": r"\{",
            "}": r"\}",
            "\\": r"\backslash ",
            "^": r"\hat{}",
            "~": r"\sim ",
        }
        return r"\text{%s}" % "".join("}%s\\text{" % special[c] if c in special else c for c in text)

    # identifiers (topic names such as softmax_cross_entropy) are words, not subscripts
    def ident(m):
        head = m.group(0).split("_")[0]
        return m.group(0) if head in _GREEK_WORDS else m.group(0).replace("_", " ")

    text = re.sub(r"\b[a-z]{3,}(?:_[a-z0-9]+)*_[a-z]{3,}[a-z0-9]*\b", ident, text)
    # literal braces (a set such as {0, 1}) versus grouping braces (z^{l+1})
    marked, stack = [], []
    for k, ch in enumerate(text):
        if ch == "{":
            literal = k == 0 or text[k - 1] not in "_^"
            stack.append(literal)
            marked.append(" LBRACE" if literal else ch)
        elif ch == "}" and stack:
            marked.append("RBRACE" if stack.pop() else ch)
        else:
            marked.append(ch)
    text = "".join(marked)
    specials = {"&": r"\&", "%": r"\%", "#": r"\#", "$": r"\$", "~": r"\sim ", "\\": r"\backslash "}

    def text_piece(body):
        if not body:
            return ""
        body = body.replace(" LBRACE", " (").replace("LBRACE", "(").replace("RBRACE", ")")
        parts = re.split(r"([A-Za-z0-9()']*[_^][A-Za-z0-9{}()+\-/']+)", body)
        pieces = []
        for k, part in enumerate(parts):
            if k % 2:
                pieces.append(_word_math(part) if part[0] not in "_^" else "{}" + _word_math(part))
            elif part:
                part = "".join(specials.get(ch, ch) for ch in part).replace("{", "").replace("}", "")
                pieces.append(r"\text{%s}" % part)
        return "".join(pieces)

    greek = "|".join(sorted(_GREEK_WORDS))
    mathy = re.compile(
        r"[_^=<>+*/|~]|[A-Za-z]\(|^\(?[A-Za-z]'?[,;:.)]*$|^\(?[0-9]+|^-$|^sum|LBRACE|RBRACE"
        r"|^\(?(%s)'?[,;:.)]*$" % greek
    )
    word = re.compile(r"^\(?(?!(%s)'?[,;:.)]*$)[A-Za-z][a-z]+[,;:.)]*$" % greek)
    toks = re.split(r"(\s+)", text)
    out, buf, k = [], "", 0
    while k < len(toks):
        tok = toks[k]
        if tok.strip() and mathy.search(tok.strip(",;:.")) and not word.match(tok):
            # a formula: extend while tokens are formula-like or a bracket is open
            span, depth, j = [], 0, k
            while j < len(toks):
                t = toks[j]
                if t.strip():
                    is_m = mathy.search(t.strip(",;:.")) and not word.match(t)
                    if not is_m and depth <= 0:
                        break
                    depth += (
                        t.count("(")
                        + t.count("[")
                        + len(re.findall(r"<(?=[A-Za-z])", t))
                        + t.count("LBRACE")
                        - t.count(")")
                        - t.count("]")
                        - len(re.findall(r"(?<=[A-Za-z0-9)])>", t))
                        - t.count("RBRACE")
                    )
                span.append(t)
                j += 1
                if t.strip() and t.rstrip().endswith((",", ";", ":")) and depth <= 0:
                    break
            while span and not span[-1].strip():
                span.pop()
                j -= 1
            formula = "".join(span)
            tail = formula[len(formula.rstrip(",;:.")) :]
            formula = formula[: len(formula) - len(tail)] if tail else formula
            if depth != 0 or formula.count("(") != formula.count(")"):
                # unbalanced: leave it as words
                buf += "".join(span).replace(" LBRACE", "(").replace("LBRACE", "(").replace("RBRACE", ")")
            else:
                out.append(text_piece(buf))
                buf = tail
                out.append(_word_math(formula))
            k = j
            continue
        buf += tok
        k += 1
    out.append(text_piece(buf))
    return "".join(p for p in out if p)


def derivation_latex(d) -> str:
    """A derivation as one display-maths block (Jupyter's ``text/latex``).

    The definition, each step with its rule, then the results with their
    shapes and who states them, aligned at the relation sign.
    """
    tex = to_latex

    def note(text):
        return prose_latex(text)

    rows = [
        r"%s &%s %s && %s" % (tex(s.lhs), relation_latex(s.relation), tex(s.rhs), note(s.note)) for s in d.definition
    ]
    rows += [r"%s &%s %s && %s" % (tex(s.lhs), relation_latex(s.relation), tex(s.rhs), note(s.rule)) for s in d.steps]
    for r, form, lhs, rel, expr in result_rows(d):
        how = _row_attribution(d, r, form)
        shape = r" \in \mathbb{R}^{%s}" % shape_latex(r.shape) if form == "matrix" and r.shape else ""
        rows.append(
            r"%s &%s %s%s && %s" % (tex(lhs), relation_latex(rel), tex(expr), shape, note(form + " form, " + how))
        )
    return "$$\\begin{aligned}\n" + "\\\\\n".join(rows) + "\n\\end{aligned}$$"


def _expr_json(e):
    if e is None:
        return None
    return {"text": to_text(e), "latex": to_latex(e)}


def derivation_json(d) -> dict:
    return {
        "topic": d.topic,
        "title": d.title,
        "kind": d.kind,
        "section": d.section,
        "summary": d.summary,
        "definition": [{"lhs": _expr_json(s.lhs), "rhs": _expr_json(s.rhs), "note": s.note} for s in d.definition],
        "steps": [
            {"rule": s.rule, "lhs": _expr_json(s.lhs), "relation": s.relation, "rhs": _expr_json(s.rhs), "note": s.note}
            for s in d.steps
        ],
        "results": [
            {
                "key": r.key,
                "lhs": _expr_json(r.lhs),
                "index": _expr_json(r.index),
                "index_lhs": _expr_json(r.index_lhs),
                "matrix": _expr_json(r.matrix),
                "shape": [str(x) for x in r.shape],
                "origin": r.origin,
                "relation": r.relation,
                "attribution": result_attribution(d, r),
            }
            for r in d.results
        ],
        "claims": [
            {
                "key": c.key,
                "statement": c.statement,
                "source": c.source,
                **({"slide": c.slide} if c.source == "lecture" else {}),
                "latex": claim_latex(d, c),
                "proved": claim_proved(d, c),
            }
            for c in d.claims
        ],
        "errata": [
            {
                "slide": e.slide,
                "kind": e.kind,
                "lecture": e.lecture,
                "correction": e.correction,
                "evidence": list(e.evidence),
                "passed": e.passed,
            }
            for e in getattr(d, "errata", ())
        ],
        "proofs": [
            {"key": p.key, "check": p.check, "sizes": p.sizes, "passed": p.passed, "detail": p.detail} for p in d.proofs
        ],
        "notes": list(d.notes),
        "passed": d.passed,
    }


def dumps(obj) -> str:
    return json.dumps(obj, indent=2, sort_keys=False)


# ---------------------------------------------------------------------------
# HTML maths: MathML Core, rendered natively by browsers (no script, no CDN)
# ---------------------------------------------------------------------------
#
# The LaTeX printers above are the one source of every formula; the HTML
# target converts their output to MathML with the maintained ``latex2mathml``
# converter and then normalises the few constructs that converter emits in a
# form MathML Core does not render (see docs/report.md for the choice).

import html as _html
import re as _re


def _math_alphabet(
    base_upper: int, base_lower: int, greek_upper: int | None, greek_lower: int | None, digits: int | None
):
    def convert(ch: str) -> str:
        o = ord(ch)
        if 65 <= o <= 90:
            return chr(base_upper + o - 65)
        if 97 <= o <= 122:
            return chr(base_lower + o - 97)
        if greek_upper is not None and 0x391 <= o <= 0x3A9:
            return chr(greek_upper + o - 0x391)
        if greek_lower is not None and 0x3B1 <= o <= 0x3C9:
            return chr(greek_lower + o - 0x3B1)
        if digits is not None and 48 <= o <= 57:
            return chr(digits + o - 48)
        return ch

    return convert


# MathML Core honours only mathvariant="normal"; other variants must become
# the Unicode mathematical alphanumerics (bold matrices, bold Greek).
_MATHVARIANTS = {
    "bold": _math_alphabet(0x1D400, 0x1D41A, 0x1D6A8, 0x1D6C2, 0x1D7CE),
    "bold-italic": _math_alphabet(0x1D468, 0x1D482, 0x1D71C, 0x1D736, 0x1D7CE),
}

_TEXT_ESCAPES = _re.compile(r"\\([#$%&_])")
_CHAR = _re.compile(r"\\char(\d+)\s?")
_VARIANT_TOKEN = _re.compile(r'<(mi|mn) mathvariant="(bold|bold-italic)">([^<]*)</\1>')
_WORD_MO = _re.compile(r"<mo>([A-Za-z]{2,})</mo>")


def _text_body(body: str) -> str:
    body = _re.sub(r"(?<!\\)[{}]", "", body)
    # literal braces leave the text for maths mode, where the converter knows them
    body = body.replace(r"\{", r"}\{\text{").replace(r"\}", r"}\}\text{")
    return _TEXT_ESCAPES.sub(r"\1", body)


def _normalise_latex(tex: str) -> str:
    # Iverson brackets are written [\![ ... ]\!] for pdflatex (no stmaryrd);
    # the converter has no negative thin space, so use the Unicode brackets.
    tex = tex.replace(r"[\![", r"\llbracket ").replace(r"]\!]", r"\rrbracket ")
    tex = _CHAR.sub(lambda m: chr(int(m.group(1))), tex)
    # Big operators as under/over scripts, so display style puts the limits
    # above and below as TeX does (the converter emits msubsup otherwise).
    tex = _re.sub(r"\\(sum|prod)(?!\\limits)(\s*[_^])", r"\\\1\\limits\2", tex)
    tex = tex.replace(r"\textbackslash{}", "\\backslash ")
    # Inside \text{}: undo TeX escapes, and drop grouping braces (invisible in
    # TeX; the converter would end the text at the first closing one).
    tex = _re.sub(
        r"\\text\{((?:[^{}\\]|\\.|\{(?:[^{}\\]|\\.)*\})*)\}", lambda m: r"\text{" + _text_body(m.group(1)) + "}", tex
    )
    return tex


def _normalise_mathml(mathml: str) -> str:
    def variant(m):
        tag, kind, body = m.groups()
        chars = _html.unescape(body)
        return "<%s>%s</%s>" % (tag, _html.escape("".join(_MATHVARIANTS[kind](c) for c in chars), quote=False), tag)

    out = _VARIANT_TOKEN.sub(variant, mathml)
    # \operatorname{softmax} comes out as an operator; it is an identifier.
    out = _WORD_MO.sub(r"<mi>\1</mi>", out)
    out = out.replace("<mi>&#x027E6;</mi>", '<mo stretchy="false">\u27e6</mo>')
    out = out.replace("<mi>&#x027E7;</mi>", '<mo stretchy="false">\u27e7</mo>')
    out = out.replace("<mi>&#x0007E;</mi>", "<mo>\u223c</mo>")  # \sim
    out = out.replace('<mspace width="negativethinmathspace" />', "")
    # Fences carry no operator spacing in TeX; MathML's defaults pad them.
    out = out.replace('fence="true" form="prefix">', 'fence="true" form="prefix" lspace="0" rspace="0">')
    out = out.replace('fence="true" form="postfix">', 'fence="true" form="postfix" lspace="0" rspace="0">')
    return out


def latex_to_mathml(tex: str, display: bool = False) -> str:
    """Convert LaTeX from the printers above to MathML Core markup.

    >>> "<mfrac>" in latex_to_mathml(r"\\frac{a}{b}")
    True
    """
    from latex2mathml.converter import convert

    mathml = convert(_normalise_latex(tex), display="block" if display else "inline")
    # The LaTeX source rides along as an annotation-free attribute so that
    # copying a formula, and the browser tests, can find what it came from.
    mathml = mathml.replace(
        '<math xmlns="http://www.w3.org/1998/Math/MathML"',
        '<math xmlns="http://www.w3.org/1998/Math/MathML" alttext="%s"' % _html.escape(tex, quote=True),
        1,
    )
    return _normalise_mathml(mathml)


def to_mathml(e, display: bool = False) -> str:
    """MathML of a matrix or scalar expression (or a :class:`Label`)."""
    return latex_to_mathml(to_latex(e), display=display)


_DERIVATION_CSS = (
    "math{font-family:'Latin Modern Math','STIX Two Math','Cambria Math',math}"
    ".gp-steps{border-collapse:collapse}"
    ".gp-steps td{padding:.25em .5em;vertical-align:middle}"
    ".gp-rule{color:#555;font-size:.9em}"
)


def derivation_html(d) -> str:
    """A derivation as an HTML fragment with native MathML maths.

    Used by ``Derivation.to_html()`` and Jupyter's ``_repr_mimebundle_``:
    the definition, each step (rule, then the expression after it) and the
    results with their shapes and origin.
    """
    esc = _html.escape

    def cell(mathml):
        # display style: full-size fractions and sums with limits above and below
        return "<td>%s</td>" % mathml.replace("<math ", '<math displaystyle="true" ', 1)

    def row(lhs, rhs, note, shape=None, results=False):
        cells = [cell(to_mathml(lhs)), cell(latex_to_mathml("=")), cell(to_mathml(rhs))]
        if results:
            cells.append(cell(latex_to_mathml(shape_latex(shape))) if shape else "<td></td>")
        return "<tr>%s<td class='gp-rule'>%s</td></tr>" % ("".join(cells), esc(note))

    parts = ["<div class='gradproof-derivation'><style>%s</style>" % _DERIVATION_CSS]
    parts.append("<h3>%s</h3><p>%s</p>" % (esc(d.title), esc(d.summary)))
    if d.definition:
        parts.append("<h4>Definition</h4><table class='gp-steps'>")
        parts += [row(s.lhs, s.rhs, s.note) for s in d.definition]
        parts.append("</table>")
    if d.steps:
        parts.append("<h4>Derivation</h4><table class='gp-steps'>")
        parts += [row(s.lhs, s.rhs, s.rule) for s in d.steps]
        parts.append("</table>")
    parts.append("<h4>Results</h4><table class='gp-steps'>")
    for r in d.results:
        if r.index is not None:
            parts.append(row(r.index_lhs or r.lhs, r.index, "index form, " + r.origin, None, True))
        if r.matrix is not None:
            parts.append(row(r.lhs, r.matrix, "matrix form, " + r.origin, r.shape, True))
    parts.append("</table>")
    verdict = "all exact proofs pass" if d.passed else "A PROOF FAILED"
    parts.append("<p><strong>%s</strong> (%d checks)</p></div>" % (esc(verdict), len(d.proofs)))
    return "".join(parts)


def proof_mark(p) -> str:
    """PASS, FAIL, or UNDECIDED (neither a proof nor a counterexample was found)."""
    return "PASS" if p.passed else "UNDECIDED" if getattr(p, "undecided", False) else "FAIL"
