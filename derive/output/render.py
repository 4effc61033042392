"""Whole derivations, rendered: the one renderer every page and display uses.

A :class:`~gradproof.derive.engine.derivation.Derivation` renders as

- plain text (:func:`derivation_text`, ``gradproof derive``), JSON
  (:func:`derivation_json`), display LaTeX (:func:`derivation_latex`,
  Jupyter's ``text/latex``) and an HTML fragment (:func:`derivation_html`,
  Jupyter's ``text/html``);
- a *view* (:func:`derivation_view`): the definition, the steps, the results
  with who states them, the claims, the errata and the notes, each formula
  and each piece of prose already rendered for one target (``"html"``:
  MathML; ``"latex"``: pdflatex-safe TeX).  The report's templates show
  these views (``reports/render_html.py``, ``reports/render_latex.py`` add
  the page around them), and :func:`derivation_html` is built from the same
  view.

Formulas come from :mod:`gradproof.derive.output.printing`; nothing here
imports a template engine.
"""

from __future__ import annotations

import html

from gradproof.derive.output.mathml import Html, display_style, latex_to_mathml, to_mathml
from gradproof.derive.output.printing import relation_latex, relation_text, shape_latex, shape_text
from gradproof.derive.output.prose import prose_html, prose_latex, prose_tex
from gradproof.derive.output.reuse import to_latex, to_text
from gradproof.derive.output.tex import safe_math, tex_text

# ---------------------------------------------------------------------------
# Who states what
# ---------------------------------------------------------------------------


def claim_proved(d, c) -> bool | None:
    """True when every proof of the claim passed, False when one failed,
    None when it was never checked."""
    ps = [p for p in d.proofs if p.key == "claim:" + c.key]
    if not ps:
        return None
    return all(p.passed for p in ps)


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


def proof_mark(p) -> str:
    """PASS, FAIL, or UNDECIDED (neither a proof nor a counterexample was found)."""
    return "PASS" if p.passed else "UNDECIDED" if getattr(p, "undecided", False) else "FAIL"


# ---------------------------------------------------------------------------
# Text, JSON and display LaTeX
# ---------------------------------------------------------------------------


def derivation_text(d) -> str:
    def eq(lhs, rel, rhs):
        return f"{to_text(lhs)} {relation_text(rel)} {to_text(rhs)}"

    lines = [f"{d.title}  [{d.topic}, {d.category}]", "", d.summary, "", "Definition:"]
    for s in d.definition:
        lines.append(f"  {eq(s.lhs, s.relation, s.rhs)}" + (f"    ({s.note})" if s.note else ""))
    lines += ["", "Derivation:"]
    for k, s in enumerate(d.steps, 1):
        lines.append(f"  {k:2d}. [{s.rule}] {eq(s.lhs, s.relation, s.rhs)}")
        if s.note:
            lines.append(f"      {s.note}")
    lines += ["", "Results:"]
    for r, form, lhs, rel, expr in result_rows(d):
        how = result_attribution(d, r, form)
        where = "index form" if form == "index" else shape_text(r.shape)
        lines.append(f"  {eq(lhs, rel, expr)}    ({where}, {how})")
    if d.claims:
        lines += ["", "Claims (proved, not trusted):"]
        for c in d.claims:
            ok = claim_proved(d, c)
            verdict = "proved" if ok else ("REJECTED" if ok is False else "NOT CHECKED")
            tag = f'[lecture, slide "{c.slide}"]' if c.source == "lecture" else "[gradproof]"
            lines.append(f"  {tag} {c.shown}: {verdict}")
    errata = getattr(d, "errata", ())
    if errata:
        lines += ["", "Errata (where the lecture is wrong or imprecise):"]
        for e in errata:
            lines.append(f'  ! [{e.severity}, slide "{e.slide}"] the lecture: {e.lecture}')
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
        how = result_attribution(d, r, form)
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
        "category": d.category,
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
                "statement": c.shown,
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
                "severity": e.severity,
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


# ---------------------------------------------------------------------------
# Views: a derivation rendered for a page (HTML or LaTeX)
# ---------------------------------------------------------------------------


class _HtmlTarget:
    """HTML: formulas as MathML (:class:`Html`), words as plain strings that
    the page's template escapes."""

    @staticmethod
    def math(e) -> Html:
        return display_style(to_mathml(e))

    @staticmethod
    def rel(rel: str) -> Html:
        return Html(latex_to_mathml(relation_latex(rel)))

    @staticmethod
    def shape(shape) -> Html:
        return Html(latex_to_mathml(shape_latex(shape)))

    @staticmethod
    def claim(tex: str) -> Html:
        return display_style(latex_to_mathml(tex))

    prose = staticmethod(prose_html)

    @staticmethod
    def words(text):
        return text


class _LatexTarget:
    """LaTeX for pdflatex: formulas made safe, words escaped."""

    @staticmethod
    def math(e) -> str:
        return safe_math(to_latex(e))

    rel = staticmethod(relation_latex)
    shape = staticmethod(shape_latex)
    claim = staticmethod(safe_math)
    prose = staticmethod(prose_tex)
    words = staticmethod(tex_text)


_TARGETS = {"html": _HtmlTarget, "latex": _LatexTarget}


def _source(attribution: str) -> str:
    """Who states a result, from its attribution: lecture, gradproof or derived."""
    if "the lecture's" in attribution:
        return "lecture"
    return "gradproof" if "gradproof" in attribution else "derived"


def _rows(t, steps, with_rule: bool) -> list[dict]:
    """Definition rows (the note is the rule column) or step rows (rule, then note)."""
    return [
        {
            "lhs": t.math(s.lhs),
            "rel": t.rel(s.relation),
            "rhs": t.math(s.rhs),
            "rule": t.prose(s.rule if with_rule else s.note),
            "note": t.prose(s.note) if with_rule else "",
        }
        for s in steps
    ]


def erratum_view(e, target: str) -> dict:
    """One erratum for a page: the slide, what it states, what holds instead, the evidence."""
    t = _TARGETS[target]
    return {
        "slide": t.words(e.slide),
        "severity": t.words(e.severity),
        "lecture": t.prose(e.lecture),
        "correction": t.prose(e.correction),
        "evidence": [t.prose(x) for x in e.evidence],
        "passed": e.passed,
    }


def derivation_view(d, target: str, user: bool = False) -> dict:
    """What a page shows of derivation ``d`` (or of none: ``d=None``), rendered for
    ``target`` (``"html"`` or ``"latex"``).

    The summary and the notes of a user's spec (``user=True``) are shown as
    written; the lecture's prose has its formulas set as maths.  Results are
    :func:`result_rows`, each with its attribution and who states it
    (``source``: lecture, gradproof or derived).
    """
    view = {"n_results": 0, "summary": "", "definition": [], "steps": [], "results": [], "claims": []}
    view.update(notes=[], kinks=[], errata=[])
    if d is None:
        return view
    t = _TARGETS[target]
    text = t.words if user else t.prose
    view["summary"] = text(d.summary)
    view["n_results"] = len(d.results)
    view["definition"] = _rows(t, d.definition, with_rule=False)
    view["steps"] = _rows(t, d.steps, with_rule=True)
    for r, form, lhs, rel, expr in result_rows(d):
        how = result_attribution(d, r, form)
        view["results"].append(
            {
                "key": r.key,
                "form": form,
                "lhs": t.math(lhs),
                "rel": t.rel(rel),
                "rhs": t.math(expr),
                "origin": t.words(how),
                "source": _source(how),
                "shape": t.shape(r.shape) if form == "matrix" and r.shape else None,
            }
        )
    for c in d.claims:
        checked = claim_proved(d, c)
        tex = claim_latex(d, c)
        view["claims"].append(
            {
                "statement": c.shown,
                "key": c.key,
                "source": c.source,
                "slide": c.slide,
                "math": t.claim(tex) if tex else None,
                "proved": bool(checked),
                "checked": checked is not None,
            }
        )
    view["errata"] = [erratum_view(e, target) for e in getattr(d, "errata", ())]
    view["notes"] = [text(x) for x in d.notes]
    if d.code is not None:
        view["kinks"] = list(d.code.kinks)
    return view


_DERIVATION_CSS = (
    "math{font-family:'Latin Modern Math','STIX Two Math','Cambria Math',math}"
    ".gp-steps{border-collapse:collapse}"
    ".gp-steps td{padding:.25em .5em;vertical-align:middle}"
    ".gp-rule{color:#555;font-size:.9em}"
)


def _fragment(x) -> str:
    """A view's string as HTML: markup as it is, plain words escaped."""
    if x is None:
        return ""
    return x if isinstance(x, Html) else html.escape(x)


def derivation_html(d) -> str:
    """A derivation as an HTML fragment with native MathML maths.

    Used by ``Derivation.to_html()`` and Jupyter's ``_repr_mimebundle_``: the
    view the report shows (:func:`derivation_view`), as one self-contained
    fragment: the definition, each step (the expression after it, then its
    rule) and the results with their shapes and who states them.
    """
    v = derivation_view(d, "html")

    def row(cells, note) -> str:
        tds = "".join("<td>%s</td>" % _fragment(c) for c in cells)
        return "<tr>%s<td class='gp-rule'>%s</td></tr>" % (tds, _fragment(note))

    parts = ["<div class='gradproof-derivation'><style>%s</style>" % _DERIVATION_CSS]
    parts.append("<h3>%s</h3><p>%s</p>" % (html.escape(d.title), _fragment(v["summary"])))
    for title, rows in (("Definition", v["definition"]), ("Derivation", v["steps"])):
        if rows:
            parts.append("<h4>%s</h4><table class='gp-steps'>" % title)
            parts += [row((s["lhs"], s["rel"], s["rhs"]), s["rule"]) for s in rows]
            parts.append("</table>")
    parts.append("<h4>Results</h4><table class='gp-steps'>")
    for r in v["results"]:
        parts.append(row((r["lhs"], r["rel"], r["rhs"], r["shape"]), r["form"] + " form, " + r["origin"]))
    parts.append("</table>")
    verdict = "all exact proofs pass" if d.passed else "A PROOF FAILED"
    parts.append("<p><strong>%s</strong> (%d checks)</p></div>" % (html.escape(verdict), len(d.proofs)))
    return "".join(parts)
