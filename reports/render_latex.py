r"""The report as a LaTeX document that compiles with plain pdflatex.

The Jinja2 environment uses ``\BLOCK{...}`` / ``\VAR{...}`` / ``\#{...}``
delimiters (no clash with TeX braces) and :class:`jinja2.StrictUndefined`.
Each topic's derivation is rendered by :mod:`gradproof.derive.output.render`;
prose goes through :func:`gradproof.derive.output.tex.tex_text` (the ``t``
filter), which escapes TeX's special characters and maps the non-ASCII
characters the lecture uses to TeX commands, so that pdflatex never drops a
character silently.

>>> _env().filters["t"]("50% of x_1")
'50\\% of x\\_1'
"""

from __future__ import annotations

from functools import cache

from gradproof.derive.output.tex import tex_identifier, tex_text
from gradproof.reports.paths import template_dir

TEMPLATES = template_dir()
# Each document's preamble, everything up to and including its \begin{document} line: a file of its own,
# the same for every report (nothing in it is computed from one), put before the rendered body
PREAMBLES = {"report.tex": "report_preamble.tex", "companion.tex": "companion_preamble.tex"}


@cache
def latex_preamble(tex_name: str = "report.tex") -> str:
    r"""The text every ``tex_name`` (``report.tex`` or ``companion.tex``) starts with, known before any
    report exists: its preamble up to and including the ``\begin{document}`` line.

    It needs neither a report nor SymPy nor Jinja2, so that pdflatex can be
    started on it while the report is still being derived
    (:class:`gradproof.reports.writing.EarlyPass`).

    >>> latex_preamble().endswith("\\begin{document}\n") and "\\VAR" not in latex_preamble()
    True
    """
    return (TEMPLATES / PREAMBLES[tex_name]).read_text(encoding="utf-8")


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


@cache
def _code_formatter():
    from pygments.formatters import LatexFormatter

    return LatexFormatter(verboptions=r"fontsize=\footnotesize,frame=leftline,framesep=2mm")


def highlight_python(source: str) -> str:
    """Python source as a highlighted fancyvrb ``Verbatim`` block."""
    from gradproof.reports.highlight import highlight

    return highlight(source, _code_formatter())


def section_view(sec) -> dict:
    """What the LaTeX template shows for one topic: TeX strings only.

    The derivation's part is :func:`gradproof.derive.output.render.derivation_view`;
    this adds the section's verdict, records and highlighted code.
    """
    if sec.views is not None:  # rendered in a worker process
        return sec.views["latex"]
    from gradproof.derive.output.render import derivation_view  # SymPy: not needed for latex_preamble

    view = {
        "name": sec.name,
        "title": sec.title,
        "category": sec.category,
        "section": sec.section,
        "passed": sec.passed,
        "error": sec.error,
        "records": sec.records,
        "code_path": sec.code_path,
        "code": highlight_python(sec.code) if sec.code is not None else None,
    }
    view.update(derivation_view(sec.derivation, "latex", user=sec.category == "user"))
    return view


def prepare() -> None:
    """Load what :func:`render_latex` needs (Jinja2, the templates compiled, the code style)
    before the report is complete: the report builder calls it while its workers run."""
    env = _env()
    for name in ("report.tex.j2", "records.tex.j2"):
        env.get_template(name)
    _code_formatter().get_style_defs()


def chunk_rows(tables: list[int]) -> int:
    r"""The longtable chunk size that typesets each of ``tables`` (their body row counts) in one chunk.

    longtable counts the rows (``\\``) since the head (``\endhead``) and
    closes a chunk when the count reaches the chunk size, so one more than
    the longest table's rows holds each whole (never less than 20, the
    size older longtables default to).
    """
    return max([20, *(n + 1 for n in tables)])


def render_latex(report) -> str:
    """The whole report as a LaTeX document (a string): :func:`latex_preamble`, then the body.

    It compiles in one pdflatex pass from nothing (see
    :data:`gradproof.reports.writing.ONE_PASS`): its links go to named
    targets, the one section number in its text is counted here, and the
    long tables' chunk size is :func:`chunk_rows` of the tables it holds
    (set at the top of the body: the preamble holds nothing computed from
    the report).
    """
    sections = [section_view(s) for s in report.sections]
    errata = [dict(e, topic=s["name"], topic_title=tex_text(s["title"])) for s in sections for e in s.get("errata", [])]
    closed_form_records = report.closed_form_records()
    tables = [len(sections), len(closed_form_records), len(report.experiment_records)]
    tables += [len(s["records"]) for s in sections]
    return latex_preamble("report.tex") + (
        _env()
        .get_template("report.tex.j2")
        .render(
            report=report,
            errata=errata,
            sections=sections,
            figures=report.figures,
            unavailable=report.unavailable,
            closed_form_records=closed_form_records,
            chunk_rows=chunk_rows(tables),
            # the errata are the first numbered section of the report, when there are any
            errata_number=1,
            experiment_records=report.experiment_records,
            failures=report.failures,
            code_style=_code_formatter().get_style_defs(),
        )
    )
