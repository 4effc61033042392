"""The report as one self-contained HTML page with native MathML maths.

Every formula is printed by :mod:`gradproof.derive.output.printing` (LaTeX printer, converted
to MathML Core); the page has no script, no external stylesheet, font or
image: figures are inline SVG, the code highlighting is inline CSS.  The
Jinja2 template (``templates/report.html.j2``) holds the layout only and
autoescapes everything not explicitly marked as markup.
"""

from __future__ import annotations

from functools import cache

from markupsafe import Markup

from gradproof.derive.output.printing import claim_latex
from gradproof.reports.paths import template_dir

TEMPLATES = template_dir()


@cache
def _env():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _math(e) -> Markup:
    """A formula for a table cell: inline, but with display-style sums and fractions."""
    from gradproof.derive.output.printing import to_mathml

    return Markup(to_mathml(e).replace("<math ", '<math displaystyle="true" ', 1))


def _tex(tex: str, display: bool = False) -> Markup:
    from gradproof.derive.output.printing import latex_to_mathml

    return Markup(latex_to_mathml(tex, display=display))


@cache
def _code_formatter():
    from pygments.formatters import HtmlFormatter

    return HtmlFormatter(cssclass="code", linenos=False)


def highlight_python(source: str) -> Markup:
    """Python source as highlighted HTML (CSS classes; see :func:`code_css`)."""
    from pygments import highlight
    from pygments.lexers import PythonLexer

    return Markup(highlight(source, PythonLexer(), _code_formatter()))


def code_css() -> str:
    return _code_formatter().get_style_defs(".code")


def _prose(text: str):
    """A rule or note: plain words stay text; words with formulas in them are
    typeset as mathematics (no raw ``w_i^2`` on the page)."""
    import html
    import re

    from gradproof.derive.output.printing import has_formula, prose_latex

    if not text or not has_formula(text) or re.search(r"[\\%&#$]", text):
        return text  # escaped by the template
    # words stay HTML text (they wrap), each formula is one inline <math>
    parts = re.split(r"\\text\{([^{}]*)\}", prose_latex(text))
    out = []
    for k, part in enumerate(parts):
        if k % 2:
            words = re.sub(r"\\([&%#$])", r"\1", part).replace(r"\sim ", "~").replace(r"\backslash ", "\\")
            out.append(html.escape(words, quote=False))
        elif part.strip():
            try:
                out.append(str(_tex(part)))
            except Exception:
                return text
    return Markup("".join(out))


def _rel(rel: str):
    from gradproof.derive.output.printing import relation_latex

    return _tex(relation_latex(rel))


def _step_rows(steps, note_attr: str):
    return [
        {
            "lhs": _math(s.lhs),
            "rel": _rel(s.relation),
            "rhs": _math(s.rhs),
            "rule": _prose(getattr(s, note_attr)),
            "note": _prose(s.note) if note_attr != "note" else "",
        }
        for s in steps
    ]


def erratum_view(e) -> dict:
    return {
        "slide": e.slide,
        "kind": e.kind,
        "lecture": _prose(e.lecture),
        "correction": _prose(e.correction),
        "evidence": [_prose(x) for x in e.evidence],
        "passed": e.passed,
    }


def section_view(sec) -> dict:
    """What the template shows for one topic: strings and markup only."""
    if sec.views is not None:  # rendered in a worker process
        return sec.views["html"]
    from gradproof.derive.output.printing import shape_latex

    view = {
        "name": sec.name,
        "title": sec.title,
        "kind": sec.kind,
        "section": sec.section,
        "passed": sec.passed,
        "error": sec.error,
        "failures": sec.failures,
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
    prose = _prose if sec.kind != "user" else (lambda t: t)
    view["summary"] = prose(d.summary)
    view["n_results"] = len(d.results)
    view["definition"] = _step_rows(d.definition, "note")
    view["steps"] = _step_rows(d.steps, "rule")
    from gradproof.derive.output.printing import result_attribution, result_rows

    for r, form, lhs, rel, expr in result_rows(d):
        how = result_attribution(d, r, form)
        source = "lecture" if "the lecture's" in how else ("gradproof" if "gradproof" in how else "derived")
        view["results"].append(
            {
                "key": r.key,
                "forms": [
                    {
                        "form": form,
                        "lhs": _math(lhs),
                        "rel": _rel(rel),
                        "rhs": _math(expr),
                        "origin": how,
                        "source": source,
                        "shape": _tex(shape_latex(r.shape)) if form == "matrix" and r.shape else None,
                    }
                ],
            }
        )
    for c in d.claims:
        checks = [p for p in d.proofs if p.key == "claim:" + c.key]
        tex = claim_latex(d, c)
        view["claims"].append(
            {
                "statement": c.statement,
                "key": c.key,
                "source": c.source,
                "slide": c.slide,
                "math": Markup(str(_tex(tex)).replace("<math ", '<math displaystyle="true" ', 1)) if tex else None,
                "proved": bool(checks) and all(p.passed for p in checks),
                "checked": bool(checks),
            }
        )
    view["errata"] = [erratum_view(e) for e in getattr(d, "errata", ())]
    view["notes"] = [prose(x) for x in d.notes]
    if d.code is not None:
        view["kinks"] = list(d.code.kinks)
    return view


def render_html(report) -> str:
    """The whole report as one HTML document (a string)."""
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    sections = [section_view(s) for s in report.sections]
    errata = [dict(e, topic=s["name"], topic_title=s["title"]) for s in sections for e in s.get("errata", [])]
    html = (
        _env()
        .get_template("report.html.j2")
        .render(
            errata=errata,
            report=report,
            sections=sections,
            css=Markup(css + "\n" + code_css()),
            figures=[
                {"name": f.name, "title": f.title, "caption": f.caption, "svg": Markup(f.svg)} for f in report.figures
            ],
            unavailable=report.unavailable,
            closed_form_records=report.closed_form_records(),
            experiment_records=report.experiment_records,
            failures=report.failures,
            rel=_tex("="),
        )
    )
    return html
