"""The lecture companion: the report read slide by slide.

For every slide of the lecture (titles as the lecture text writes them) the
companion lists the slide's statements (:mod:`gradproof.derive.lecture.statements`),
each with the status its verification earned in *this* report (proved,
checked numerically, remark), the verified formula, any erratum, and a link
to the topic's page of the report.  The activation functions are plotted
with their derivatives under the slide that defines them.

The statuses are computed from the report's own sections: each worker
stores a topic's *facts* (which exact proofs passed, per result key; its
errata; its results' formulas) next to its rendered views, so the companion
needs no second derivation.  ``companion.html`` sits beside ``index.html``;
``companion.tex`` compiles to ``companion.pdf`` beside ``report.pdf``.
"""

from __future__ import annotations

from dataclasses import dataclass

from gradproof.reports import coverage

# Slides under which the activation plots are shown (once, at the first).
PLOT_SLIDES = ("Activation Functions", "Rectified Linear Unit (ReLU)")


def facts(sec) -> dict:
    """Worker side: what the companion needs of one topic, as plain picklable data."""
    from gradproof.derive.output.mathml import latex_to_mathml
    from gradproof.derive.output.reuse import to_latex  # printed once with the views (build.rendered)
    from gradproof.derive.output.tex import safe_math as _safe_math

    d = sec.derivation
    if d is None:
        return {"proofs": [], "errata": [], "formulas": {}}
    formulas = {}
    for r in d.results:
        rhs = r.matrix if r.matrix is not None else r.index
        lhs = r.lhs if r.matrix is not None else (r.index_lhs or r.lhs)
        if rhs is None or r.key in formulas:
            continue
        try:
            tex = to_latex(lhs) + " = " + to_latex(rhs)
            formulas[r.key] = {"latex": _safe_math(tex), "mathml": latex_to_mathml(tex)}
        except Exception:
            continue
    return {
        "proofs": [(p.key, bool(p.passed)) for p in d.proofs],
        "errata": list(getattr(d, "errata", ())),
        "formulas": formulas,
    }


@dataclass(frozen=True)
class _Proof:
    key: str
    passed: bool


@dataclass(frozen=True)
class _Facts:
    proofs: tuple
    errata: tuple


def _section_facts(sec) -> dict:
    if sec.views is not None and "facts" in sec.views:
        return sec.views["facts"]
    return facts(sec)


def covers_lecture(report) -> bool:
    """True when every topic the statements name is a section of ``report``."""
    from gradproof.derive.lecture.statements import STATEMENTS

    names = {s.name for s in report.sections}
    return all(st.topic in names for st in STATEMENTS if st.topic)


def rows(report) -> tuple[list, dict]:
    """The coverage rows of ``report`` and each topic's facts."""
    by_name = {s.name: s for s in report.sections}
    topic_facts = {name: _section_facts(sec) for name, sec in by_name.items()}
    derivations = {}
    for name, sec in by_name.items():
        f = topic_facts[name]
        if sec.error and not f["proofs"]:
            derivations[name] = None
        else:
            derivations[name] = _Facts(tuple(_Proof(k, p) for k, p in f["proofs"]), tuple(f["errata"]))
    numeric = {name: [r for r in sec.records if not r.check.startswith("exact")] for name, sec in by_name.items()}
    return coverage.status_rows(derivations, numeric), topic_facts


def _slides(rows_):
    out = []
    for r in rows_:
        if not out or out[-1]["title"] != r.slide:
            out.append({"title": r.slide, "rows": []})
        out[-1]["rows"].append(r)
    return out


_STATUS_CLASS = {
    coverage.PROVED: "proved",
    coverage.NUMERIC: "numeric",
    coverage.REMARK: "remark",
    coverage.FAILED: "failed",
    coverage.MISSING: "failed",
}


def _view(report):
    from gradproof.derive.lecture.statements import EVERY_RESULT

    rows_, topic_facts = rows(report)
    slides = []
    for k, s in enumerate(_slides(rows_)):
        items = []
        for r in s["rows"]:
            formula = topic_facts.get(r.topic, {}).get("formulas", {}).get(r.key) if r.topic else None
            items.append(
                {
                    "text": r.text,
                    "tex": r.tex,
                    "status": r.status,
                    "cls": _STATUS_CLASS[r.status],
                    "topic": r.topic,
                    "key": r.key,
                    "every": r.key == EVERY_RESULT,
                    "detail": r.detail,
                    "formula": formula,
                    "errata": list(r.errata),
                }
            )
        slides.append(
            {
                "n": k + 1,
                "title": s["title"],
                "items": items,
                "plot": s["title"] == PLOT_SLIDES[0],
                "plot_ref": s["title"] in PLOT_SLIDES[1:],
            }
        )
    summary = coverage.summarize(rows_)
    titles = {s.name: s.title for s in report.sections}
    return slides, summary, titles


def _pieces(tex: str) -> list[tuple[bool, str]]:
    """``words $formula$ words`` as ``(is_formula, piece)`` pairs; an unpaired
    dollar sign is refused (a statement is data written once, checked here)."""
    parts = tex.split("$")
    if len(parts) % 2 == 0:
        raise ValueError(f"unpaired $ in statement {tex!r}")
    return [(bool(k % 2), p) for k, p in enumerate(parts) if p]


def statement_html(tex: str):
    """A statement's words as HTML text, each formula as inline MathML.

    >>> str(statement_html("for $s > 0$")).startswith("for <math")
    True
    """
    import html

    from markupsafe import Markup

    from gradproof.derive.output.mathml import latex_to_mathml

    return Markup(
        "".join(latex_to_mathml(p) if is_formula else html.escape(p, quote=False) for is_formula, p in _pieces(tex))
    )


def statement_latex(tex: str, text: str = "") -> str:
    """A statement for the PDF: words escaped, formulas as inline maths (``text``,
    escaped, when the statement is words only)."""
    from gradproof.derive.output.tex import safe_math as _safe_math
    from gradproof.derive.output.tex import tex_text

    if not tex:
        return tex_text(text)
    return "".join(_safe_math("$" + p + "$") if is_formula else tex_text(p) for is_formula, p in _pieces(tex))


def prepare(formats=("html", "latex")) -> None:
    """Load what the companion's renderers need for ``formats`` (the templates compiled, every
    statement's formulas converted to MathML once) before the report is complete: the
    report builder calls it while its workers run."""
    from gradproof.derive.lecture.statements import STATEMENTS

    if "html" in formats:
        from gradproof.derive.output import prose  # noqa: F401  (imported by render_html)
        from gradproof.reports.render_html import _env

        _env().get_template("companion.html.j2")
        for st in STATEMENTS:
            if st.tex:
                statement_html(st.tex)  # the MathML conversions are kept (latex_to_mathml's cache)
    if "latex" in formats:
        from gradproof.reports.render_latex import _env as _tex_env

        _tex_env().get_template("companion.tex.j2")


def render_html(report, figure) -> str:
    """companion.html: self-contained, MathML maths, inline SVG plot, links into index.html."""
    from markupsafe import Markup

    from gradproof.derive.output.prose import prose_html as _prose
    from gradproof.reports.render_html import TEMPLATES, _env

    slides, summary, titles = _view(report)
    for s in slides:
        for it in s["items"]:
            it["text"] = statement_html(it["tex"]) if it["tex"] else it["text"]
            it["errata"] = [
                {
                    "severity": e.severity,
                    "lecture": _prose(e.lecture),
                    "correction": _prose(e.correction),
                    "evidence": [_prose(x) for x in e.evidence],
                    "passed": e.passed,
                }
                for e in it["errata"]
            ]
            if it["formula"]:
                it["formula"] = Markup(it["formula"]["mathml"].replace("<math ", '<math displaystyle="true" ', 1))
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    return (
        _env()
        .get_template("companion.html.j2")
        .render(
            slides=slides,
            summary=summary,
            titles=titles,
            css=Markup(css),
            report=report,
            figure={"name": figure.name, "title": figure.title, "caption": figure.caption, "svg": Markup(figure.svg)}
            if figure is not None
            else None,
            statuses=coverage,
        )
    )


def render_latex(report, figure) -> str:
    """companion.tex: compiles with pdflatex; the plot is ``fig-activations.pdf`` beside it.

    Its preamble is :func:`gradproof.reports.render_latex.latex_preamble`
    (``"companion.tex"``), the same for every report; the body follows.

    It compiles in one pass from nothing (no label read back from the
    ``.aux``): the figures are numbered here, in the order LaTeX numbers
    them, and the other slides link to the first by its named target.
    """
    from gradproof.derive.output.render import erratum_view
    from gradproof.reports.render_latex import _env, latex_preamble

    slides, summary, titles = _view(report)
    figures = 0
    for s in slides:
        if s["plot"] and figure is not None:
            figures += 1
            s["plot"] = figures  # the figure's number: the slides' only figure environments
        for it in s["items"]:
            it["text"] = statement_latex(it["tex"] or "", it["text"])
            it["errata"] = [erratum_view(e, "latex") for e in it["errata"]]  # formulas as maths, as in the report
            if it["formula"]:
                it["formula"] = it["formula"]["latex"]
    return latex_preamble("companion.tex") + (
        _env()
        .get_template("companion.tex.j2")
        .render(
            slides=slides,
            summary=summary,
            titles=titles,
            report=report,
            figure=figure,
            statuses=coverage,
            plotted=1 if figures else 0,
        )
    )
