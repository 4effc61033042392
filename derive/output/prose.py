r"""Prose with formulas in it: words as text, formula fragments as maths.

A rule, a note or a lecture statement reads ``zero means: E(w_i^2) =
Var(w_i)``.  :func:`prose_latex` sets it as LaTeX that reads the same in TeX
and MathJax; :func:`prose_html` makes it HTML (words stay text so they wrap,
each formula is one inline MathML ``<math>``); :func:`prose_tex` makes it
pdflatex input (words in text mode so they break across lines).

>>> has_formula("the bias b_j"), has_formula("the bias")
(True, False)
"""

from __future__ import annotations

import html
import re

from gradproof.derive.output.mathml import Html, latex_to_mathml
from gradproof.derive.output.tex import safe_math, tex_text

_GREEK_WORDS = {"alpha", "beta", "gamma", "delta", "lambda", "sigma", "theta", "mu", "eta", "pi", "epsilon"}


def _word_math(word: str) -> str:
    """A plain-text formula token (``w_i^2``, ``E(x_i)``, ``sigma_0^2``) as LaTeX maths."""

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
    out = re.sub(
        r"([_^])(-[0-9]+|[A-Za-z0-9]+|\\[A-Za-z]+(?:\{[^{}]*\})?)", lambda m: "%s{%s}" % (m.group(1), m.group(2)), out
    )
    out = out.replace("->", r"\to ").replace(">=", r"\ge ").replace("<=", r"\le ").replace("!=", r"\ne ")
    # a star after a name with no operand after it marks the optimum (w*), not a product
    out = re.sub(r"(?<=[A-Za-z])\*(?![A-Za-z0-9(\\])", "^{OPTIMUM}", out)
    out = re.sub(r"\^\{([^{}]*)\}\*(?![A-Za-z0-9(\\])", r"^{\1OPTIMUM}", out)  # sigma^2*: one superscript
    out = out.replace("*", r"\cdot ").replace("~", r"\sim ").replace("OPTIMUM", "*")
    return out  # plain brackets: a long inline formula may break inside them


def has_formula(text: str) -> bool:
    """Whether prose carries formula text (``_``, ``^``, ``=``, a call ``f(x)``...)."""
    return bool(re.search(r"[_^=<>]|\w\(|\bsum\b", text or ""))


# TeX's specials where prose is set character by character
_VERBATIM = {
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
# TeX's specials among the words between formulas
_WORD_SPECIALS = {"&": r"\&", "%": r"\%", "#": r"\#", "$": r"\$", "~": r"\sim ", "\\": r"\backslash "}
_GREEK_RE = "|".join(sorted(_GREEK_WORDS))
# a token that belongs to a formula, and one that is a word although it looks like one
_MATHY = re.compile(
    r"[_^=<>+*/|~]|[A-Za-z]\(|^\(?[A-Za-z]'?[,;:.)]*$|^\(?[0-9]+|^-$|^sum|LBRACE|RBRACE"
    r"|^\(?(%s)'?[,;:.)]*$" % _GREEK_RE
)
_WORD = re.compile(r"^\(?(?!(%s)'?[,;:.)]*$)[A-Za-z][a-z]+[,;:.)]*$" % _GREEK_RE)


def _identifier_words(text: str) -> str:
    """Identifiers (topic names such as softmax_cross_entropy) are words, not subscripts."""

    def ident(m):
        head = m.group(0).split("_")[0]
        return m.group(0) if head in _GREEK_WORDS else m.group(0).replace("_", " ")

    return re.sub(r"\b[a-z]{3,}(?:_[a-z0-9]+)*_[a-z]{3,}[a-z0-9]*\b", ident, text)


def _mark_braces(text: str) -> str:
    """Literal braces (a set such as {0, 1}) become ``LBRACE``/``RBRACE``;
    grouping braces (z^{l+1}) stay."""
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
    return "".join(marked)


def _text_piece(body: str) -> str:
    """Words between formulas: ``\\text{}``, with sub- and superscripted words as maths."""
    if not body:
        return ""
    body = body.replace(" LBRACE", " (").replace("LBRACE", "(").replace("RBRACE", ")")
    parts = re.split(r"([A-Za-z0-9()']*[_^][A-Za-z0-9{}()+\-/']+)", body)
    pieces = []
    for k, part in enumerate(parts):
        if k % 2:
            pieces.append(_word_math(part) if part[0] not in "_^" else "{}" + _word_math(part))
        elif part:
            part = "".join(_WORD_SPECIALS.get(ch, ch) for ch in part).replace("{", "").replace("}", "")
            pieces.append(r"\text{%s}" % part)
    return "".join(pieces)


def _is_formula_token(tok: str) -> bool:
    return bool(_MATHY.search(tok.strip(",;:."))) and not _WORD.match(tok)


def _bracket_depth(t: str) -> int:
    """How many brackets a token opens (negative: closes)."""
    return (
        t.count("(")
        + t.count("[")
        + len(re.findall(r"<(?=[A-Za-z])", t))
        + t.count("LBRACE")
        - t.count(")")
        - t.count("]")
        - len(re.findall(r"(?<=[A-Za-z0-9)])>", t))
        - t.count("RBRACE")
    )


def _formula_span(toks: list[str], k: int) -> tuple[list[str], int, int]:
    """The tokens of the formula starting at ``toks[k]``: extended while tokens
    are formula-like or a bracket is open.  Returns (span, next index, depth)."""
    span, depth, j = [], 0, k
    while j < len(toks):
        t = toks[j]
        if t.strip():
            if not _is_formula_token(t) and depth <= 0:
                break
            depth += _bracket_depth(t)
        span.append(t)
        j += 1
        if t.strip() and t.rstrip().endswith((",", ";", ":")) and depth <= 0:
            break
    while span and not span[-1].strip():
        span.pop()
        j -= 1
    return span, j, depth


def prose_latex(text: str) -> str:
    r"""Prose with formulas in it, as LaTeX that reads the same in TeX and
    MathJax: words in ``\text{}``, every formula fragment (anything with
    ``_``, ``^``, ``=``, brackets or operators) set as maths, so no escaped
    ``\_`` or ``\hat{}`` ever appears.

    >>> prose_latex("zero means: E(w_i^2) = Var(w_i)")
    '\\text{zero means: }\\operatorname{E}(w_{i}^{2}) = \\operatorname{Var}(w_{i})'
    >>> prose_latex("gives w* = (X^T X)^-1 X^T y")
    '\\text{gives }w^{*} = (X^{T} X)^{-1} X^{T} y'
    """
    if not text:
        return ""
    if re.search(r"[\\%&#$]", text) or re.search(r"\w_\w+_\w", text):
        # TeX's specials in the prose (a user's spec, say): every character set
        # as written, specials in maths between pieces of text
        return r"\text{%s}" % "".join("}%s\\text{" % _VERBATIM[c] if c in _VERBATIM else c for c in text)
    toks = re.split(r"(\s+)", _mark_braces(_identifier_words(text)))
    out, buf, k = [], "", 0
    while k < len(toks):
        tok = toks[k]
        if not (tok.strip() and _is_formula_token(tok)):
            buf += tok
            k += 1
            continue
        span, k, depth = _formula_span(toks, k)
        formula = "".join(span)
        tail = formula[len(formula.rstrip(",;:.")) :]
        formula = formula[: len(formula) - len(tail)] if tail else formula
        if depth != 0 or formula.count("(") != formula.count(")"):
            # unbalanced: leave it as words
            buf += "".join(span).replace(" LBRACE", "(").replace("LBRACE", "(").replace("RBRACE", ")")
        else:
            out.append(_text_piece(buf))
            buf = tail
            out.append(_word_math(formula))
    out.append(_text_piece(buf))
    return "".join(p for p in out if p)


def prose_html(text: str):
    """A rule or note for HTML: plain words stay text (a plain ``str``, for the
    template to escape); words with formulas in them come back as :class:`Html`,
    words escaped and each formula one inline MathML ``<math>``.

    >>> prose_html("the bias"), prose_html("the bias b_j")[:17]
    ('the bias', 'the bias <math xm')
    """
    if not text or not has_formula(text) or re.search(r"[\\%&#$]", text):
        return text  # escaped by the template
    parts = re.split(r"\\text\{([^{}]*)\}", prose_latex(text))
    out = []
    for k, part in enumerate(parts):
        if k % 2:
            words = re.sub(r"\\([&%#$])", r"\1", part).replace(r"\sim ", "~").replace(r"\backslash ", "\\")
            out.append(html.escape(words, quote=False))
        elif part.strip():
            try:
                out.append(latex_to_mathml(part))
            except Exception:  # a fragment the converter cannot read: the words as written
                return text
    return Html("".join(out))


def prose_tex(text) -> str:
    """A rule or note for the PDF: words as text, formulas in it as maths."""
    if not text:
        return ""
    if not has_formula(text) or re.search(r"[\\%&#$]", text):
        return tex_text(text)  # plain prose, or prose with TeX's specials: every character as written
    # words back in text mode (they break across lines), formulas as inline maths
    tex = re.sub(r"\\text\{([^{}]*)\}", lambda m: "$" + m.group(1) + "$", prose_latex(text))
    return safe_math(("$" + tex + "$").replace("$$", ""))
