"""Printers for plain text and LaTeX: one ``_print_X`` method per node.

Scalar (index-form) expressions print through subclasses of SymPy's own
printers; matrix forms (:mod:`derive.mexpr`) through the printers below.
Symbol names follow one naming table, :data:`LATEX_NAMES`, so that every
target writes ``Yhat`` as the lecture does.

>>> import sympy as sp
>>> from derive.mexpr import Sym, MatMul, Transpose
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

from derive import mexpr as mx

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
}

# names of vectors (bold lower case) and scalars (italic) among matrix symbols
_GREEK = {"alpha", "beta", "gamma", "delta", "lambda", "sigma", "theta", "mu", "eta", "Delta"}


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


class ScalarLatexPrinter(LatexPrinter):
    """SymPy's LaTeX printer with the lecture's notation."""

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
        lims = ", ".join(f"{self._print(i)}={self._print(a)}..{self._print(b)}" for i, a, b in expr.limits)
        return "sum_{%s} (%s)" % (lims, self._print(expr.function))

    def _print_KroneckerDelta(self, expr):
        i, j = expr.args[:2]
        return "[[%s = %s]]" % (self._print(i), self._print(j))

    def _print_Indexed(self, expr):
        return "%s[%s]" % (self._print(expr.base.label), ", ".join(self._print(i) for i in expr.indices))


# ---------------------------------------------------------------------------
# Matrix-form printers
# ---------------------------------------------------------------------------

class _MatrixPrinter:
    """Dispatch on the node class: ``_print_<ClassName>``."""

    def doprint(self, e) -> str:
        if isinstance(e, mx.MExpr):
            return getattr(self, "_print_" + type(e).__name__)(e)
        return self._scalar(e)

    def _paren(self, e) -> str:
        s = self.doprint(e)
        if isinstance(e, (mx.Add,)) or (isinstance(e, mx.Map) and isinstance(e.expr, sp.Add)):
            return self.lparen + s + self.rparen
        return s


def _strict(self, e):
    s = self.doprint(e)
    return s if isinstance(e, (mx.Sym, mx.Transpose)) else self.lparen + s + self.rparen


_MatrixPrinter._strict_paren = _strict


class TextPrinter(_MatrixPrinter):
    lparen, rparen = "(", ")"

    def _scalar(self, e):
        return ScalarStrPrinter().doprint(e)

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
        c = sp.sympify(e.coeff)
        if c == -1:
            return "-" + self._paren(e.arg)
        return "(" + self._scalar(c) + ") " + self._paren(e.arg) if isinstance(c, sp.Add) else self._scalar(c) + " " + self._paren(e.arg)

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
        sub = {p: sp.Symbol(_text_operand(self, a)) for p, a in e.args}
        return ScalarStrPrinter().doprint(sp.sympify(e.expr).xreplace(sub))

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


def _text_operand(printer, a):
    s = printer.doprint(a)
    return s if isinstance(a, mx.Sym) else "(" + s + ")"


class MatrixLatexPrinter(_MatrixPrinter):
    lparen, rparen = r"\left(", r"\right)"

    def _scalar(self, e):
        return ScalarLatexPrinter().doprint(e)

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
        c = sp.sympify(e.coeff)
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
            if not isinstance(a, mx.Sym):
                tex = self.lparen + tex + self.rparen
            names[dummy] = tex
        body = sp.sympify(e.expr).xreplace(sub)
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
        for d in den:
            tex += r" \oslash " + self._wrap(d)
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
    from derive.model import Label

    if isinstance(e, Label):
        return e.text
    return _TEXT.doprint(e)


def to_latex(e) -> str:
    """LaTeX of a matrix or scalar expression (or a :class:`Label`)."""
    from derive.model import Label

    if isinstance(e, Label):
        return e.latex
    return _LATEX.doprint(e)


def shape_text(shape) -> str:
    return " x ".join(str(d) for d in shape)


def shape_latex(shape) -> str:
    return r" \times ".join(ScalarLatexPrinter().doprint(sp.sympify(d)) for d in shape)


# ---------------------------------------------------------------------------
# Whole derivations
# ---------------------------------------------------------------------------

def claim_latex(d, c) -> str | None:
    """A claim as a formula, ``lhs = claimed expression`` (None when it has none)."""
    expr = c.matrix if c.matrix is not None else c.index
    res = {r.key: r for r in d.results}.get(c.key)
    if expr is None or res is None:
        return None
    lhs = res.lhs if c.matrix is not None else (res.index_lhs or res.lhs)
    return to_latex(lhs) + " = " + to_latex(expr)


def derivation_text(d) -> str:
    lines = [f"{d.title}  [{d.topic}, {d.kind}]", "", d.summary, "", "Definition:"]
    for s in d.definition:
        lines.append(f"  {to_text(s.lhs)} = {to_text(s.rhs)}" + (f"    ({s.note})" if s.note else ""))
    lines += ["", "Derivation:"]
    for k, s in enumerate(d.steps, 1):
        lines.append(f"  {k:2d}. [{s.rule}] {to_text(s.lhs)} = {to_text(s.rhs)}")
        if s.note:
            lines.append(f"      {s.note}")
    lines += ["", "Results:"]
    for r in d.results:
        if r.index is not None:
            lhs = r.index_lhs or r.lhs
            lines.append(f"  {to_text(lhs)} = {to_text(r.index)}    (index form, {r.origin})")
        if r.matrix is not None:
            lines.append(f"  {to_text(r.lhs)} = {to_text(r.matrix)}    ({shape_text(r.shape)}, {r.origin})")
    if d.claims:
        lines += ["", "Claims (proved, not trusted):"]
        for c in d.claims:
            ok = all(p.passed for p in d.proofs if p.key == "claim:" + c.key)
            lines.append(f"  {c.statement}: {'proved' if ok else 'REJECTED'}")
    if d.notes:
        lines += ["", "Notes:"] + [f"  - {n}" for n in d.notes]
    lines += ["", "Exact proofs:"]
    for p in d.proofs:
        lines.append(f"  {proof_mark(p)}  {p.key}: {p.check} at {p.sizes}" + (f" — {p.detail}" if p.detail and not p.passed else ""))
    return "\n".join(lines)


def _split_text(tex: str) -> str:
    r"""Make ``\text{...}`` bodies safe for both LaTeX and MathJax.

    Declarations sometimes write prose such as ``\text{w_i x_i}``: LaTeX
    rejects the raw ``_``, and MathJax would show an escaped ``\_``
    literally.  Specials are therefore set in maths between text pieces, and
    grouping braces inside the prose are dropped.

    >>> _split_text(r"s = \text{sum_{i} w_i}")
    's = \\text{sum}\\_\\text{i w}\\_\\text{i}'
    """
    import re

    def fix(m):
        body = re.sub(r"(?<!\\)[{}]", "", m.group(1))
        body = re.sub(r"(?<!\\)([_&%#^])", lambda c: "}\\%s\\text{" % c.group(1) if c.group(1) != "^"
                      else "}\\hat{}\\text{", body)
        return r"\text{" + body + "}"

    return re.sub(r"\\text\{((?:[^{}]|\{[^{}]*\})*)\}", fix, tex)


def derivation_latex(d) -> str:
    """A derivation as one display-maths block (Jupyter's ``text/latex``).

    The definition, each step with its rule, then the results with their
    shapes and origin, aligned at the equals sign.
    """
    def tex(e):
        return _split_text(to_latex(e))

    def note(text):
        # TeX's special characters are set in maths between pieces of \text:
        # that reads the same in MathJax (which takes \text literally) and in LaTeX.
        special = {"_": r"\_", "&": r"\&", "%": r"\%", "#": r"\#", "$": r"\$", "{": r"\{", "}": r"\}",
                   "\\": r"\backslash ", "^": r"\hat{}", "~": r"\sim "}
        out = "".join("}%s\\text{" % special[c] if c in special else c for c in text)
        return r"\text{%s}" % out if text else ""

    rows = [r"%s &= %s && %s" % (tex(s.lhs), tex(s.rhs), note(s.note)) for s in d.definition]
    rows += [r"%s &= %s && %s" % (tex(s.lhs), tex(s.rhs), note(s.rule)) for s in d.steps]
    for r in d.results:
        if r.index is not None:
            rows.append(r"%s &= %s && %s" % (tex(r.index_lhs or r.lhs), tex(r.index),
                                             note("index form, " + r.origin)))
        if r.matrix is not None:
            shape = r"\in \mathbb{R}^{%s}" % shape_latex(r.shape) if r.shape else ""
            rows.append(r"%s &= %s %s && %s" % (tex(r.lhs), tex(r.matrix), shape,
                                                note("matrix form, " + r.origin)))
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
        "definition": [
            {"lhs": _expr_json(s.lhs), "rhs": _expr_json(s.rhs), "note": s.note} for s in d.definition
        ],
        "steps": [
            {"rule": s.rule, "lhs": _expr_json(s.lhs), "rhs": _expr_json(s.rhs), "note": s.note}
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
            }
            for r in d.results
        ],
        "claims": [{"key": c.key, "statement": c.statement} for c in d.claims],
        "proofs": [
            {"key": p.key, "check": p.check, "sizes": p.sizes, "passed": p.passed, "detail": p.detail}
            for p in d.proofs
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


def _math_alphabet(base_upper: int, base_lower: int, greek_upper: int | None, greek_lower: int | None, digits: int | None):
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
    tex = _re.sub(r"\\text\{((?:[^{}\\]|\\.|\{(?:[^{}\\]|\\.)*\})*)\}",
                  lambda m: r"\text{" + _text_body(m.group(1)) + "}", tex)
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
