"""The report as one self-contained HTML page with native MathML maths.

Each topic's derivation is rendered by :mod:`gradproof.derive.output.render`
(every formula by the LaTeX printer, converted to MathML Core); this module
assembles the page around it.  The page has no script, no external stylesheet, font or
image: figures are inline SVG, the code highlighting is inline CSS.  The
Jinja2 template (``templates/report.html.j2``) holds the layout only and
autoescapes everything not explicitly marked as markup.
"""

from __future__ import annotations

from functools import cache

from markupsafe import Markup

from gradproof.derive.output.mathml import Html, latex_to_mathml
from gradproof.derive.output.render import derivation_view
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


@cache
def _code_formatter():
    from pygments.formatters import HtmlFormatter

    return HtmlFormatter(cssclass="code", linenos=False)


def highlight_python(source: str) -> Markup:
    """Python source as highlighted HTML (CSS classes; see :func:`code_css`)."""
    from gradproof.reports.highlight import highlight

    return Markup(highlight(source, _code_formatter()))


def code_css() -> str:
    return _code_formatter().get_style_defs(".code")


def section_view(sec) -> dict:
    """What the template shows for one topic: strings and markup only.

    The derivation's part is :func:`gradproof.derive.output.render.derivation_view`;
    this adds the section's verdict, records and highlighted code.
    """
    if sec.views is not None:  # rendered in a worker process
        return sec.views["html"]
    view = {
        "name": sec.name,
        "title": sec.title,
        "category": sec.category,
        "section": sec.section,
        "passed": sec.passed,
        "error": sec.error,
        "failures": sec.failures,
        "records": sec.records,
        "code_path": sec.code_path,
        "code": highlight_python(sec.code) if sec.code is not None else None,
    }
    view.update(derivation_view(sec.derivation, "html", user=sec.category == "user"))
    return view


def prepare() -> None:
    """Load what :func:`render_html` needs (Jinja2, the templates compiled, the code style)
    before the report is complete: the report builder calls it while its workers run."""
    env = _env()
    for name in ("report.html.j2", "records.html.j2"):
        env.get_template(name)
    code_css()
    latex_to_mathml("=")


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
            rel=Html(latex_to_mathml("=")),
        )
    )
    return html
