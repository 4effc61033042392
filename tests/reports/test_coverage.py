"""docs/lecture-coverage.md and the companion: statuses computed from the verification, never typed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gradproof.derive.engine.derivation import Erratum, Proof
from gradproof.derive.lecture.statements import STATEMENTS, slides
from gradproof.reports import companion, coverage

# the lecture text lives beside the checkout (../shared/seed/lecture.txt), wherever that is checked out
LECTURE = next(
    (
        p / "shared" / "seed" / "lecture.txt"
        for p in Path(__file__).resolve().parents
        if (p / "shared" / "seed" / "lecture.txt").is_file()
    ),
    Path("../shared/seed/lecture.txt"),
)


class _D:
    def __init__(self, proofs, errata=()):
        self.proofs = proofs
        self.errata = errata


class _R:
    def __init__(self, passed):
        self.passed = passed


def test_statement_list_is_complete_data():
    assert len(STATEMENTS) >= 80
    for s in STATEMENTS:
        assert s.evidence in ("exact", "numeric")
        assert bool(s.topic) != bool(s.reason), s  # a topic, or a remark with its reason
        if s.evidence == "exact" and s.topic:
            assert s.key, s


def test_slide_titles_are_the_lectures():
    if not LECTURE.is_file():
        pytest.skip(f"the lecture text is not beside the repository ({LECTURE})")
    lines = [ln.strip() for ln in LECTURE.read_text(encoding="utf-8").splitlines()]
    positions = []
    for title in slides():
        assert title in lines, title
        positions.append(lines.index(title))
    assert positions == sorted(positions), "slides out of the lecture's order"


def test_status_is_computed_from_proofs_and_checks():
    st = [s for s in STATEMENTS if s.topic == "xavier" and s.key == "var_w"][:1]
    ok = coverage.status_rows(
        {"xavier": _D([Proof("claim:var_w", "c", "s", True), Proof("var_w", "c", "s", True)])}, {}, st
    )
    assert ok[0].status == coverage.PROVED and "2 exact proofs" in ok[0].detail
    one = coverage.status_rows({"xavier": _D([Proof("var_w", "c", "s", True)])}, {}, st)
    assert one[0].detail == "1 exact proof of var_w passed"
    bad = coverage.status_rows({"xavier": _D([Proof("var_w", "c", "s", False)])}, {}, st)
    assert bad[0].status == coverage.FAILED
    none = coverage.status_rows({"xavier": _D([Proof("var_s", "c", "s", True)])}, {}, st)
    assert none[0].status == coverage.MISSING
    gone = coverage.status_rows({"xavier": None}, {}, st)
    assert gone[0].status == coverage.FAILED
    num = [s for s in STATEMENTS if s.evidence == "numeric"][:1]
    assert coverage.status_rows({num[0].topic: _D([])}, {num[0].topic: [_R(True)]}, num)[0].status == coverage.NUMERIC
    assert (
        coverage.status_rows({num[0].topic: _D([])}, {num[0].topic: [_R(True), _R(False)]}, num)[0].status
        == coverage.FAILED
    )
    assert coverage.status_rows({num[0].topic: _D([])}, {}, num)[0].status == coverage.MISSING


def test_each_erratum_is_placed_once_on_the_statement_it_quotes():
    e = Erratum("Vanishing Gradient", "In both cases: delta -> 0 as the number of layers increases", "y", ("z",))
    st = [s for s in STATEMENTS if s.slide in ("Vanishing Gradient", "Xavier Initialization")]
    # recorded by another topic (as the report records the measured one), and twice
    derivations = {
        "xavier": _D([Proof("var_s", "c", "s", True)], (e,)),
        "vanishing_gradient": _D([Proof("gain_saturated", "c", "s", True)], (e,)),
    }
    rows = coverage.status_rows(derivations, {}, st)
    carrying = [r for r in rows if r.errata]
    assert len(carrying) == 1 and carrying[0].text.startswith("In both cases")
    assert coverage.status_rows({"xavier": _D([], (Erratum("No Such Slide", "a", "b"),))}, {}, st)[0].errata == ()


def test_lecture_companion_and_coverage_doc(lecture_report):
    report, out = lecture_report
    rows, _ = companion.rows(report)
    summary = coverage.summarize(rows)
    assert summary.verified >= 75, summary.counts
    assert set(summary.counts) <= {coverage.PROVED, coverage.NUMERIC, coverage.REMARK}, summary.counts
    assert all(r.detail for r in rows if r.status == coverage.REMARK)
    # the committed document is what the registry and its verification give today
    assert coverage.DOC.read_text(encoding="utf-8") == coverage.render_markdown(rows), (
        "docs/lecture-coverage.md is stale: run python -m gradproof.reports.coverage --write"
    )
    html = (out / "companion.html").read_text(encoding="utf-8")
    titles = re.findall(r'<section class="slide" id="slide-\d+">\n<h2>(.*?)</h2>', html)
    import html as h

    assert [h.unescape(t) for t in titles] == slides()
    for s in STATEMENTS:
        if s.topic:
            assert f'href="index.html#topic-{s.topic}"' in html
    assert html.count('class="status proved"') == summary.counts[coverage.PROVED] + 1  # + the legend
    assert "Erratum (wrong)" in html and 'id="fig-activations"' in html
    # each statement's formulas are MathML among its words, never raw ASCII maths
    items = re.findall(r'<li>\n<span class="status [a-z]+">[^<]*</span>(.*)', html)
    assert len(items) == len(STATEMENTS)
    assert sum("<math" in it for it in items) == sum(bool(s.tex) for s in STATEMENTS)
    for it in items:
        words = re.sub(r"<math.*?</math>", "", it)
        assert not re.search(r"yhat|sum_|&lt;\w|\^|\w_\w|\$", words), it
    tex = (out / "companion.tex").read_text(encoding="utf-8")
    assert tex.count(r"\section*{") == len(slides()) and "fig-activations.pdf" in tex
    for it in re.findall(r"\\item .*", tex):
        assert not re.search(r"yhat|sum\\_|\\textless|\\textasciicircum", it), it
    assert "$\\hat{y} = f(\\langle" in tex
    assert (out / "fig-activations.pdf").is_file()


def test_companion_shows_a_failed_statement(lecture_report):
    from dataclasses import replace

    report, _ = lecture_report
    broken = []
    for sec in report.sections:
        if sec.name == "xavier":
            facts = dict(sec.views["facts"])
            facts["proofs"] = [(k, False) for k, _ in facts["proofs"]]
            sec = replace(sec, views={**sec.views, "facts": facts})
        broken.append(sec)
    from gradproof.reports.document import Report
    from gradproof.reports.plots import activation_figure

    fake = Report(sections=broken)
    html = companion.render_html(fake, activation_figure())
    assert 'class="status failed"' in html and "FAILED" in html
    assert 'class="verdict fail"' in html


def test_every_statement_with_a_formula_is_written_as_mathematics():
    from gradproof.derive.output.mathml import latex_to_mathml
    from gradproof.derive.output.prose import has_formula

    for s in STATEMENTS:
        if has_formula(s.text) or re.search(r"\byhat\b|<\w|\b\w+_\w", s.text):
            assert s.tex, s.text
        if not s.tex:
            continue
        pieces = companion._pieces(s.tex)
        assert any(f for f, _ in pieces), s.tex
        for is_formula, p in pieces:
            if is_formula:
                assert "<merror" not in latex_to_mathml(p), p
            else:  # the words carry no formula text of their own
                assert not re.search(r"[_^=<>\\]|\byhat\b|\bsigma\b|\bsum_", p), (s.tex, p)


def test_a_statement_renders_as_mathml_and_as_inline_tex():
    html = str(companion.statement_html(r"$\hat{y} = f(\langle \mathbf{w}, \mathbf{x} \rangle + b)$ if <b> & $s < 0$"))
    assert html.count("<math") == 2 and "&lt;b&gt; &amp;" in html and "yhat" not in html
    tex = companion.statement_latex(r"if $s < 0$ & 50% off")
    assert tex.startswith(r"if $s < 0$") and r"\&" in tex and r"\%" in tex
    assert companion.statement_latex("", "a_b & c") == r"a\_b \& c"
    with pytest.raises(ValueError):
        companion._pieces("an unpaired $ sign")


def test_the_composition_statement_rests_on_every_proof_of_the_composed_mlp():
    from gradproof.derive.lecture.statements import EVERY_RESULT

    (st,) = [s for s in STATEMENTS if s.text.startswith("A neural network is a composition")]
    assert (st.topic, st.key) == ("mlp_backprop", EVERY_RESULT)
    proofs = [Proof(f"delta^{k}", "c", "s", True) for k in range(1, 7)] + [Proof("grad:W^1", "c", "s", True)]
    (row,) = coverage.status_rows({"mlp_backprop": _D(proofs)}, {}, [st])
    assert row.status == coverage.PROVED and row.detail == "7 exact proofs of every result passed"
    # one failing layer anywhere in the network fails the statement
    proofs[3] = Proof("delta^4", "c", "s", False)
    (row,) = coverage.status_rows({"mlp_backprop": _D(proofs)}, {}, [st])
    assert row.status == coverage.FAILED
    assert "(every result)" in coverage.render_markdown([row])
