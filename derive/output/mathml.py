"""HTML maths: MathML Core, rendered natively by browsers (no script, no CDN).

The LaTeX printers (:mod:`gradproof.derive.output.printing`) are the one
source of every formula; the HTML target converts their output to MathML
with the maintained ``latex2mathml`` converter and then normalises the few
constructs that converter emits in a form MathML Core does not render (see
docs/report.md for the choice).

HTML fragments are :class:`Html` strings: a template's autoescaping leaves
them as they are (they carry ``__html__``), plain strings it escapes.

>>> to_mathml_cell(r"\frac{a}{b}").startswith('<math displaystyle="true" ')
True
"""

from __future__ import annotations

import functools
import html
import re

from gradproof.derive.output.reuse import to_latex


class Html(str):
    """A string of HTML markup, safe to insert as it is (Jinja2 and
    markupsafe honour ``__html__``)."""

    __slots__ = ()

    def __html__(self) -> str:
        return self


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

_TEXT_ESCAPES = re.compile(r"\\([#$%&_])")
_CHAR = re.compile(r"\\char(\d+)\s?")
_VARIANT_TOKEN = re.compile(r'<(mi|mn) mathvariant="(bold|bold-italic)">([^<]*)</\1>')
_WORD_MO = re.compile(r"<mo>([A-Za-z]{2,})</mo>")


def _text_body(body: str) -> str:
    body = re.sub(r"(?<!\\)[{}]", "", body)
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
    tex = re.sub(r"\\(sum|prod)(?!\\limits)(\s*[_^])", r"\\\1\\limits\2", tex)
    tex = tex.replace(r"\textbackslash{}", "\\backslash ")
    # Inside \text{}: undo TeX escapes, and drop grouping braces (invisible in
    # TeX; the converter would end the text at the first closing one).
    tex = re.sub(
        r"\\text\{((?:[^{}\\]|\\.|\{(?:[^{}\\]|\\.)*\})*)\}", lambda m: r"\text{" + _text_body(m.group(1)) + "}", tex
    )
    return tex


def _normalise_mathml(mathml: str) -> str:
    def variant(m):
        tag, variant, body = m.groups()
        chars = html.unescape(body)
        return "<%s>%s</%s>" % (tag, html.escape("".join(_MATHVARIANTS[variant](c) for c in chars), quote=False), tag)

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


@functools.lru_cache(maxsize=4096)  # a report converts the same formulas many times (relations, shapes, results)
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
        '<math xmlns="http://www.w3.org/1998/Math/MathML" alttext="%s"' % html.escape(tex, quote=True),
        1,
    )
    return _normalise_mathml(mathml)


def to_mathml(e, display: bool = False) -> str:
    """MathML of a matrix or scalar expression (or a ``Label``)."""
    return latex_to_mathml(to_latex(e), display=display)


def display_style(mathml: str) -> Html:
    """An inline formula with display-style sums and fractions (a table cell)."""
    return Html(mathml.replace("<math ", '<math displaystyle="true" ', 1))


def to_mathml_cell(tex: str) -> Html:
    """LaTeX as an inline formula for a table cell, in display style."""
    return display_style(latex_to_mathml(tex))
