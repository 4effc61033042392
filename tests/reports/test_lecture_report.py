"""The report as a lecture companion: attribution shown per claim and result,
the errata section and marks, the measured initialisation erratum, and
formulas that typeset as mathematics (no raw markup in the PDF text)."""

from __future__ import annotations

import re
import subprocess

import pytest

from gradproof.reports.errata import LARGE, SMALL, caption_sentence, erratum_from

TOPICS = ["linear", "softmax_simplex", "xavier", "glorot", "he", "map_gaussian"]


@pytest.fixture(scope="module")
def companion(tmp_path_factory):
    from gradproof.reports.build import build_report
    from gradproof.reports.writing import write_report

    report = build_report(TOPICS, figures=False, jobs=1)
    out = tmp_path_factory.mktemp("companion")
    write_report(report, out, formats=("html", "latex"))
    return report, out


def test_the_html_report_says_who_states_each_claim(companion):
    _, out = companion
    html = (out / "index.html").read_text(encoding="utf-8")
    assert "the lecture, slide “Example: Linear Layer”" in html
    assert "the lecture, slide “Softmax Layer”" in html
    assert "gradproof’s addition (not on the slides)" in html
    assert "(the lecture: " not in html
    assert "are the lecture's statements" not in html


def test_the_html_report_has_an_errata_section_and_marks(companion):
    _, out = companion
    html = (out / "index.html").read_text(encoding="utf-8")
    section = html.split('<section id="errata">')[1].split("</section>")[0]
    for slide in ("Vanishing Gradient", "Example: L2 Regularization for Linear Regression", "Xavier Initialization"):
        assert f"Slide “{slide}”" in section
    assert re.search(r"x3\.4\d+ per layer towards the input", section)
    assert 'href="#errata-xavier"' in html and 'href="#errata-map_gaussian"' in html
    assert 'href="#errata-linear"' not in html
    assert "could not be confirmed" not in html


def _section(tex: str, title_start: str) -> str:
    body = tex.split(r"\section{" + title_start, 1)[1]
    return body.split(r"\subsection*{Verification}", 1)[0]


def test_the_latex_report_sets_derivations_as_mathematics(companion):
    _, out = companion
    tex = (out / "report.tex").read_text(encoding="utf-8")
    assert r"\section{Errata: where the lecture is wrong or imprecise}" in tex
    for title in ("Xavier", "Glorot", "He initialisation"):
        part = _section(tex, title)
        part = re.sub(r"\\texttt\{[^{}]*\}", "", part.split("\n", 1)[1])  # identifiers may show _
        assert r"\^{}" not in part, title
        assert r"\_" not in part, title
        assert not re.search(r"\\text\{[^{}]*[_^=][^{}]*\}", part), title


def test_the_pdf_text_shows_no_raw_markup(companion, need_tools):
    need_tools("pdflatex", "latexmk", "pdftotext")
    from gradproof.reports.writing import compile_pdf

    _, out = companion
    path = compile_pdf(out)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True).stdout.decode()
    # the linear layer's generated code is Python source, shown as such: leave it out
    head, _, rest = text.partition("Generated NumPy code")
    maths = head + rest[rest.rindex("Softmax outputs form a probability distribution") :]
    assert "Xavier" in maths and "Errata" in maths
    for raw in (r"\text", r"\_", r"\hat{}", r"\operatorname", "}_{", "^{", r"\frac", r"\sum"):
        assert raw not in maths, raw


def _fake(big, small, layers=4):
    runs = {}
    for label, norms, sigma0 in ((LARGE, big, 1.0), (SMALL, small, 0.01)):
        runs[label] = {
            "delta_norm": norms,
            "std": [0.9] * layers if sigma0 == 1.0 else [0.01] * layers,
            "sigma0": sigma0,
        }
    return {"layers": layers, "units": 50, "samples": 10, "runs": runs}


def test_the_measured_erratum_fails_when_the_measurement_does_not_show_it():
    grows = erratum_from(_fake([1000.0, 100.0, 10.0, 1.0], [1e-3, 1e-2, 1e-1, 1.0]))
    assert grows.passed and "x10.000 per layer" in grows.evidence[0]
    shrinks = erratum_from(_fake([1e-3, 1e-2, 1e-1, 1.0], [1e-3, 1e-2, 1e-1, 1.0]))
    assert not shrinks.passed


def test_the_experiment_shows_growth_for_sigma0_one_and_the_caption_says_so():
    from gradproof.numeric.experiments import initialisation_experiment

    data = initialisation_experiment(layers=6, units=200, samples=60, bins=5)
    e = erratum_from(data)
    assert e.passed
    assert "grows towards the input" in caption_sentence(data)
