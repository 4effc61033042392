r"""The report as a LaTeX document that compiles with plain pdflatex.

The Jinja2 environment uses ``\BLOCK{...}`` / ``\VAR{...}`` / ``\#{...}``
delimiters (no clash with TeX braces) and :class:`jinja2.StrictUndefined`.
Formulas come from :mod:`gradproof.derive.output.printing`; prose goes through
:func:`tex_text`, which escapes TeX's special characters and maps the
non-ASCII characters the lecture uses to TeX commands, so that pdflatex
never drops a character silently.

>>> tex_text("50% of x_1 & σ ≤ 1")
'50\\% of x\\_1 \\& \\ensuremath{\\sigma} \\ensuremath{\\leq} 1'
"""

from __future__ import annotations

from functools import cache

from gradproof.derive.output.printing import claim_latex
from gradproof.reports.paths import template_dir

TEMPLATES = template_dir()

# Non-ASCII characters of the lecture's prose, as pdflatex (T1, utf8) input.
_UNICODE_TEX = {
    "α": r"\alpha",
    "β": r"\beta",
    "γ": r"\gamma",
    "δ": r"\delta",
    "ε": r"\varepsilon",
    "η": r"\eta",
    "θ": r"\theta",
    "λ": r"\lambda",
    "μ": r"\mu",
    "π": r"\pi",
    "σ": r"\sigma",
    "τ": r"\tau",
    "φ": r"\varphi",
    "ω": r"\omega",
    "Δ": r"\Delta",
    "Σ": r"\Sigma",
    "Θ": r"\Theta",
    "∂": r"\partial",
    "∑": r"\sum",
    "∏": r"\prod",
    "≤": r"\leq",
    "≥": r"\geq",
    "≠": r"\neq",
    "≈": r"\approx",
    "≜": r"\triangleq",
    "∈": r"\in",
    "→": r"\to",
    "←": r"\leftarrow",
    "⇒": r"\Rightarrow",
    "×": r"\times",
    "·": r"\cdot",
    "−": "-",
    "∞": r"\infty",
    "√": r"\surd",
    "⊙": r"\odot",
    "⊘": r"\oslash",
    "⟨": r"\langle",
    "⟩": r"\rangle",
    "ℓ": r"\ell",
    "∼": r"\sim",
    "ŷ": r"\hat{y}",
    "⊤": r"\top",
    "∇": r"\nabla",
    "±": r"\pm",
    "∀": r"\forall",
    "⟦": "[\\![",
    "⟧": "]\\!]",
    "ℝ": r"\mathbb{R}",
    "𝔼": r"\mathbb{E}",
}
_TEXT_UNICODE = {"—": "---", "–": "--", "“": "``", "”": "''", "‘": "`", "’": "'", "…": r"\dots{}", "\u00a0": "~"}
_SPECIAL = {
    "#": r"\#",
    "$": r"\$",
    "%": r"\%",
    "&": r"\&",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "\\": r"\textbackslash{}",
    "^": r"\^{}",
    "~": r"\~{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
}


def tex_text(text) -> str:
    """Escape prose for LaTeX; every character stays visible in the PDF."""
    out = []
    for ch in str(text):
        if ch in _SPECIAL:
            out.append(_SPECIAL[ch])
        elif ord(ch) < 128:
            out.append(ch)
        elif ch in _TEXT_UNICODE:
            out.append(_TEXT_UNICODE[ch])
        elif ch in _UNICODE_TEX:
            out.append(r"\ensuremath{%s}" % _UNICODE_TEX[ch])
        elif 0xA0 <= ord(ch) <= 0x17F:
            out.append(ch)  # Latin-1 and Latin Extended-A: covered by T1 + utf8
        else:
            # Unknown to pdflatex's fonts: show the code point rather than lose it.
            out.append(r"\texttt{[U+%04X]}" % ord(ch))
    return "".join(out)


def tex_identifier(name) -> str:
    r"""A name in typewriter type that may break after its underscores.

    >>> print(tex_identifier("a_b_c"))
    \texttt{a\_\allowbreak{}b\_\allowbreak{}c}
    """
    return r"\texttt{%s}" % tex_text(name).replace(r"\_", r"\_\allowbreak{}")


@cache
def _env():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        block_start_string=r"\BLOCK{",
        block_end_string="}",
        variable_start_string=r"\VAR{",
        variable_end_string="}",
        comment_start_string=r"\#{",
        comment_end_string="}",
        line_statement_prefix="%%",
        line_comment_prefix="%#",
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["t"] = tex_text
    env.filters["tt"] = tex_identifier
    return env


def _math(e) -> str:
    from gradproof.derive.output.printing import to_latex

    return _safe_math(to_latex(e))


def _safe_math(tex: str) -> str:
    # pdflatex cannot typeset \char above 255 (escape_latex_text's fallback
    # for symbols outside ASCII); map the lecture's characters to commands.
    import re

    def char(m):
        ch = chr(int(m.group(1)))
        return _UNICODE_TEX.get(ch, r"\text{[U+%04X]}" % ord(ch))

    tex = re.sub(r"\\text\{\\char(\d+)\}", char, tex)

    # Prose inside \text{} from a declaration may carry raw _ ^ & % # (fine
    # for the HTML converter, fatal to pdflatex): escape them there.
    def text(m):
        body = re.sub(r"(?<!\\)([_&%#])", r"\\\1", m.group(1))
        body = re.sub(r"(?<!\\)\^", r"\\^{}", body)
        return r"\text{" + body + "}"

    tex = re.sub(r"\\text\{((?:[^{}]|\{[^{}]*\})*)\}", text, tex)
    return "".join(
        r"\ensuremath{%s}" % _UNICODE_TEX[c]
        if c in _UNICODE_TEX
        else (c if ord(c) < 128 else r"\text{[U+%04X]}" % ord(c))
        for c in tex
    )


@cache
def _code_formatter():
    from pygments.formatters import LatexFormatter

    return LatexFormatter(verboptions=r"fontsize=\footnotesize,frame=leftline,framesep=2mm")


def highlight_python(source: str) -> str:
    """Python source as a highlighted fancyvrb ``Verbatim`` block."""
    from pygments import highlight
    from pygments.lexers import PythonLexer

    return highlight(source, PythonLexer(), _code_formatter())


def prose(text) -> str:
    """A rule or note for the PDF: words as text, formulas in it as maths."""
    import re

    from gradproof.derive.output.printing import has_formula, prose_latex

    if not text:
        return ""
    if not has_formula(text) or re.search(r"[\\%&#$]", text):
        return tex_text(text)  # plain prose, or prose with TeX's specials: every character as written
    # words back in text mode (they break across lines), formulas as inline maths
    tex = re.sub(r"\\text\{([^{}]*)\}", lambda m: "$" + m.group(1) + "$", prose_latex(text))
    return _safe_math(("$" + tex + "$").replace("$$", ""))


def _rel(rel: str) -> str:
    from gradproof.derive.output.printing import relation_latex

    return relation_latex(rel)


def erratum_view(e) -> dict:
    return {
        "slide": tex_text(e.slide),
        "kind": tex_text(e.kind),
        "lecture": prose(e.lecture),
        "correction": prose(e.correction),
        "evidence": [prose(x) for x in e.evidence],
        "passed": e.passed,
    }


def section_view(sec) -> dict:
    """What the LaTeX template shows for one topic: TeX strings only."""
    if sec.views is not None:  # rendered in a worker process
        return sec.views["latex"]
    from gradproof.derive.output.printing import shape_latex

    view = {
        "name": sec.name,
        "title": sec.title,
        "kind": sec.kind,
        "section": sec.section,
        "passed": sec.passed,
        "error": sec.error,
        "records": sec.records,
        "code_path": sec.code_path,
        "code": highlight_python(sec.code) if sec.code is not None else None,
        "n_results": 0,
        "summary": "",
        "definition": [],
        "steps": [],
        "results": [],
        "claims": [],
        "notes": [],
        "kinks": [],
        "errata": [],
    }
    d = sec.derivation
    if d is None:
        return view
    # a user's spec text is shown as written; the lecture's prose with its formulas set as maths
    text = prose if sec.kind != "user" else tex_text
    view["summary"] = text(d.summary)
    view["n_results"] = len(d.results)
    from gradproof.derive.output.printing import result_attribution, result_rows

    view["definition"] = [
        {"lhs": _math(s.lhs), "rel": _rel(s.relation), "rhs": _math(s.rhs), "rule": prose(s.note)} for s in d.definition
    ]
    view["steps"] = [
        {
            "lhs": _math(s.lhs),
            "rel": _rel(s.relation),
            "rhs": _math(s.rhs),
            "rule": prose(s.rule),
            "note": prose(s.note),
        }
        for s in d.steps
    ]
    for r, form, lhs, rel, expr in result_rows(d):
        view["results"].append(
            {
                "form": form,
                "origin": tex_text(result_attribution(d, r, form)),
                "lhs": _math(lhs),
                "rel": _rel(rel),
                "rhs": _math(expr),
                "shape": shape_latex(r.shape) if form == "matrix" and r.shape else "",
            }
        )
    for c in d.claims:
        checks = [p for p in d.proofs if p.key == "claim:" + c.key]
        tex = claim_latex(d, c)
        view["claims"].append(
            {
                "statement": c.statement,
                "checked": bool(checks),
                "source": c.source,
                "slide": c.slide,
                "math": _safe_math(tex) if tex else "",
                "proved": bool(checks) and all(p.passed for p in checks),
            }
        )
    view["errata"] = [erratum_view(e) for e in getattr(d, "errata", ())]
    view["notes"] = [text(x) for x in d.notes]
    if d.code is not None:
        view["kinks"] = list(d.code.kinks)
    return view


def render_latex(report) -> str:
    """The whole report as a LaTeX document (a string)."""
    sections = [section_view(s) for s in report.sections]
    errata = [dict(e, topic=s["name"], topic_title=tex_text(s["title"])) for s in sections for e in s.get("errata", [])]
    return (
        _env()
        .get_template("report.tex.j2")
        .render(
            report=report,
            errata=errata,
            sections=sections,
            figures=report.figures,
            unavailable=report.unavailable,
            closed_form_records=report.closed_form_records(),
            experiment_records=report.experiment_records,
            failures=report.failures,
            code_style=_code_formatter().get_style_defs(),
        )
    )
