"""Report building and rendering: content, escaping, determinism, safety, CLI."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys

import pytest

from gradproof.reports import build, cli, writing
from gradproof.reports.build import records_from_proofs
from gradproof.reports.console import Bar
from gradproof.reports.document import Report, TopicSection
from gradproof.reports.render_html import render_html
from gradproof.reports.render_latex import render_latex, tex_text
from gradproof.reports.writing import write_atomic, write_report


def test_html_has_every_part_of_a_topic(toy):
    html = render_html(toy)
    d = toy.sections[0].derivation
    assert html.count('<tr><td class="n">') == len(d.steps)
    for word in ("Definition", "Derivation", "Results", "claimed-and-proved", "Verification", "Generated NumPy code"):
        assert word in html
    assert "dL/dW = Z^T Delta" in html and "proved equal to the derived result" in html
    # shapes of matrix results, rendered as maths
    assert html.count('class="shape"><math') == sum(r.matrix is not None for r in d.results)
    # pygments highlighting of the generated code
    assert '<div class="code"><pre>' in html and '<span class="k">def</span>' in html
    # both figures inline, no external files
    assert html.count("<svg") >= 2 and "fig-init" in html and "fig-training" in html


def test_html_is_self_contained_and_escaped(toy):
    html = render_html(toy)
    assert "<script" not in html.lower()
    external = re.findall(r'(?:src|href)\s*=\s*"(?!#|data:)([^"]+)"', html)
    assert external == []
    urls = set(re.findall(r"https?://[^\s\"'<>]+", html))
    # only XML namespace names, which are identifiers and never fetched
    assert urls <= {"http://www.w3.org/1998/Math/MathML", "http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}
    # prose from the derivation is escaped, not injected
    assert "&lt;escaping&gt;" in html and "<escaping>" not in html


def test_maths_is_mathml_core(toy):
    html = render_html(toy)
    assert html.count("<math") > 20
    assert 'mathvariant="bold' not in html  # MathML Core ignores it: converted to Unicode bold
    assert "&#x1D416;" in html or "\U0001d416" in html  # bold W
    assert "\u27e6" in html and "\u27e7" in html  # Iverson brackets
    assert ("<mfrac>" in html and "<munderover>" in html) or "<msubsup>" in html
    assert "<mtable>" in html  # the matrix
    assert "merror" not in html


def test_prose_in_text_converts_whole():
    from gradproof.derive.output.mathml import latex_to_mathml

    out = latex_to_mathml(r"s = \text{sum_{i=1..n} w_i, \{c\}, 5\%}")
    assert "<mtext>sum_i=1..n\u00a0w_i,\u00a0</mtext>" in out.replace("&#x000A0;", "\u00a0")
    assert "<mi>}</mi>" not in out and "\\" not in out.split('display="inline">', 1)[1]
    assert "5%" in out


def test_failed_check_is_prominent_everywhere(toy_report):
    report = toy_report(passed=False, figures=False)
    assert not report.passed
    assert report.failures and all(f.startswith("toy_layer: ") for f in report.failures)
    html = render_html(report)
    assert 'class="verdict fail"' in html and "VERIFICATION FAILED" in html
    assert "entry (0, 1): derived z_0 but SymPy gives -z_0" in html
    assert "REJECTED" in html
    tex = render_latex(report)
    assert "VERIFICATION FAILED" in tex and r"\gpfail" in tex
    ok = render_html(toy_report(passed=True, figures=False))
    assert "VERIFICATION FAILED" not in ok and 'class="verdict pass"' in ok


def test_a_topic_that_cannot_be_derived_fails_the_report():
    class Broken:
        name, title, category, section = "broken", "Broken topic", "user", "Tests"

    def build_fn(topic):
        raise RuntimeError("engine exploded")

    Broken.build = staticmethod(build_fn)
    from gradproof.derive.lecture import registry

    topic = registry.Topic("broken_for_report", "Broken topic", "user", "Tests", 999.0, "", build_fn)
    sec = build.build_section(topic)
    assert not sec.passed and "engine exploded" in sec.error
    assert "engine exploded" in render_html(Report(sections=[sec]))


def test_rendering_is_deterministic(toy, toy_report, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    write_report(toy, a, ("html", "latex"))
    write_report(toy_report(passed=True), b, ("html", "latex"))
    for name in ("index.html", "report.tex", "fig-init.pdf", "fig-training.pdf"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_latex_escapes_text_without_losing_characters(toy):
    assert tex_text("a_b #1 50% & {x} ~ ^") == r"a\_b \#1 50\% \& \{x\} \~{} \^{}"
    assert tex_text("σ ≤ ∂ — é") == r"\ensuremath{\sigma} \ensuremath{\leq} \ensuremath{\partial} --- é"
    assert tex_text("\u2603") == r"\texttt{[U+2603]}"  # unknown: visible, never dropped
    tex = render_latex(toy)
    assert r"Toy sigmoid layer \#1: 50\% \& more\_\ensuremath{\sigma}" in tex
    assert "σ" not in tex  # no raw Greek reaches pdflatex
    # delimiters of the template never leak
    assert r"\VAR{" not in tex and r"\BLOCK{" not in tex


def test_latex_maths_survives_declaration_prose():
    from gradproof.derive.output.tex import safe_math as _safe_math

    out = _safe_math(r"\sigma_k = \text{exp(s_k) > 0 \& 5% x^2, σ} + a_{1}")
    assert out == (r"\sigma_k = \text{exp(s\_k) > 0 \& 5\% x\^{}2, \ensuremath{\sigma}} + a_{1}")
    assert _safe_math("\u2603") == r"\text{[U+2603]}"


def test_latex_scales_wide_formulas(toy):
    tex = render_latex(toy)
    d = toy.sections[0].derivation
    assert tex.count(r"\gpdisplay{") == len(d.definition) + len(d.steps) + sum(
        (r.index is not None) + (r.matrix is not None) for r in d.results
    )
    assert r"\resizebox{\linewidth}{!}" in tex


def test_write_is_atomic(tmp_path, monkeypatch):
    target = tmp_path / "index.html"
    target.write_text("old")

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(writing.os, "replace", boom)
    with pytest.raises(OSError):
        write_atomic(target, "new")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.html"]
    monkeypatch.undo()
    write_atomic(target, "new")
    assert target.read_text() == "new"
    assert oct(target.stat().st_mode & 0o044) != "0o0"  # readable by others, not mkstemp's 0600


def test_pdf_is_skipped_with_a_reason_without_pdflatex(toy, tmp_path, monkeypatch):
    monkeypatch.setattr(writing.shutil, "which", lambda name: None)
    result = write_report(toy, tmp_path, ("latex", "pdf"))
    assert len(result.skipped) == 1 and "pdflatex not found" in result.skipped[0]
    assert (tmp_path / "report.tex").exists() and not (tmp_path / "report.pdf").exists()


def test_failed_pdf_compile_leaves_no_pdf_and_no_scratch(toy, tmp_path, monkeypatch):
    monkeypatch.setattr(writing, "latex_engine", lambda: (["false"], ""))
    with pytest.raises(writing.PdfError, match=r"pdflatex failed on report\.tex"):
        write_report(toy, tmp_path, ("latex", "pdf"))
    left = sorted(p.name for p in tmp_path.iterdir())
    assert "report.pdf" not in left and "report.tex" in left
    assert not [n for n in left if n.startswith(".")]  # no scratch folder, no temporary file


def _register(toy_derivation, passed: bool):
    from gradproof.derive.lecture import registry

    name = "toy_layer"
    registry.add_user_topic(
        registry.Topic(name, "Toy layer", "user", "Tests", 999.0, "", lambda t: toy_derivation(passed))
    )
    return name


@pytest.fixture
def forget_toy():
    """The toy topic leaves the registry after the test, so later tests see the lecture's topics only."""
    from gradproof.derive.lecture import registry

    yield
    registry.remove_user_topic("toy_layer")


def test_cli_exit_codes_and_messages(toy_derivation, tmp_path, capsys, monkeypatch, forget_toy):
    # the toy topic has no generated module: verify it by its exact layer only
    monkeypatch.setattr(build, "_verifier", lambda: None)
    name = _register(toy_derivation, passed=True)
    assert cli.main(["report", name, "-o", str(tmp_path / "ok"), "--format", "html"]) == 0
    out = capsys.readouterr()
    assert "every check passed" in out.out and out.err == ""
    assert (tmp_path / "ok" / "index.html").exists() and not (tmp_path / "ok" / "report.tex").exists()

    name = _register(toy_derivation, passed=False)
    assert cli.main(["report", name, "-o", str(tmp_path / "bad"), "--format", "html,latex"]) == 1
    err = capsys.readouterr().err
    assert "VERIFICATION FAILED" in err and "toy_layer" in err
    assert "VERIFICATION FAILED" in (tmp_path / "bad" / "report.tex").read_text()

    monkeypatch.setattr(writing.shutil, "which", lambda name: None)
    _register(toy_derivation, passed=True)
    assert cli.main(["report", name, "-o", str(tmp_path / "nopdf"), "--format", "latex,pdf"]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("gradproof report: PDF skipped: pdflatex not found")

    assert cli.main(["report", "no_such_topic", "-o", str(tmp_path / "x")]) == 2
    assert "unknown topic 'no_such_topic'" in capsys.readouterr().err
    assert cli.main(["report", name, "-o", str(tmp_path / "x"), "--format", "docx"]) == 2
    assert "unknown format docx" in capsys.readouterr().err


def test_timings_are_printed_on_request_only(toy_derivation, tmp_path, capsys, monkeypatch, forget_toy):
    monkeypatch.setattr(build, "_verifier", lambda: None)
    monkeypatch.delenv("GRADPROOF_TIMINGS", raising=False)
    name = _register(toy_derivation, passed=True)
    assert cli.main(["report", name, "-o", str(tmp_path / "quiet"), "--format", "html"]) == 0
    assert "timings" not in capsys.readouterr().err
    assert cli.main(["report", name, "-o", str(tmp_path / "flag"), "--format", "html", "--timings"]) == 0
    err = capsys.readouterr().err
    spans = {line.split(None, 5)[-1].split(" (")[0] for line in err.splitlines() if line.startswith("parent ")}
    assert {"registry: the selected topics", f"topic {name}", "files written"} <= spans, err
    assert "timeline, one column = " in err and "load average" in err and "CPU of the command" in err
    monkeypatch.setenv("GRADPROOF_TIMINGS", "1")
    assert cli.main(["report", name, "-o", str(tmp_path / "env"), "--format", "html"]) == 0
    assert f"topic {name}" in capsys.readouterr().err


def test_progress_bar_draws_only_on_a_terminal():
    quiet = io.StringIO()
    with Bar(3, "report", stream=quiet) as bar:
        bar.advance("a")
    assert quiet.getvalue() == ""

    class TTY(io.StringIO):
        def isatty(self):
            return True

    loud = TTY()
    with Bar(2, "report", stream=loud) as bar:
        bar.advance("relu")
        assert "1/2" in loud.getvalue() and "relu" in loud.getvalue() and "\r" in loud.getvalue()
    assert loud.getvalue().endswith("\r")  # the line is cleared on close


def test_notebook_display_is_rendered_maths(toy_derivation):
    d = toy_derivation()
    html = d.to_html()
    assert "<math" in html and "<pre" not in html
    assert html.count("<tr>") == len(d.definition) + len(d.steps) + sum(
        (r.index is not None) + (r.matrix is not None) for r in d.results
    )
    bundle = d._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/latex", "text/html"}
    latex = d._repr_latex_()
    assert latex.startswith("$$") and latex.endswith("$$") and r"\begin{aligned}" in latex


def test_help_is_fast_to_import():
    code = (
        "import sys; from reports import cli\n"
        "try:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
        "bad = [m for m in ('sympy', 'numpy', 'matplotlib', 'jinja2') if m in sys.modules]\n"
        "assert not bad, bad"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ, PYTHONWARNINGS="error")
    )
    assert proc.returncode == 0, proc.stderr
    assert "report" in proc.stdout


def test_lecture_report_lists_every_registry_topic(lecture_report):
    from gradproof.derive.lecture.registry import topics

    report, out = lecture_report
    names = [s.name for s in report.sections]
    expected = [t.name for t in topics() if t.name != "toy_layer"]
    assert names[: len(expected)] == expected
    html = (out / "index.html").read_text()
    for t in topics():
        assert f'id="topic-{t.name}"' in html


def test_records_from_proofs_mirror_the_exact_layer(toy_derivation):
    d = toy_derivation(passed=False)
    recs = records_from_proofs(d)
    assert [r.passed for r in recs] == [p.passed for p in d.proofs]
    assert all(r.max_rel_error is None and r.error_text == "exact" for r in recs)
    sec = TopicSection(d.topic, d.title, d.category, d.section, derivation=d, records=())
    assert not sec.passed and "exact proof failed" in sec.failures[0]


def test_pages_and_the_notebook_show_one_rendering_of_a_derivation(toy):
    from gradproof.derive.output.render import derivation_view
    from gradproof.reports import render_html as page_html
    from gradproof.reports import render_latex as page_latex

    sec = toy.sections[0]
    d = sec.derivation
    for target, page in (("html", page_html.section_view(sec)), ("latex", page_latex.section_view(sec))):
        view = derivation_view(d, target)
        for key in ("summary", "definition", "steps", "results", "claims", "errata", "notes", "kinks"):
            assert page[key] == view[key], (target, key)
        assert view["results"] and view["steps"]
    notebook = d.to_html()
    html_view = derivation_view(d, "html")
    for row in html_view["steps"] + html_view["results"]:
        assert row["rhs"] in notebook and row["lhs"] in notebook
