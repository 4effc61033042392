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
    tex = (out / "companion.tex").read_text(encoding="utf-8")
    assert tex.count(r"\section*{") == len(slides()) and "fig-activations.pdf" in tex
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
