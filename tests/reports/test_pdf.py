"""report.tex compiled by pdflatex (latexmk), checked through pdftotext and the log.

Under GRADPROOF_REQUIRE_TOOLS=1 (CI) a missing TeX or poppler tool fails the
test; otherwise it skips with the reason.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from gradproof.reports.writing import compile_pdf


@pytest.fixture(scope="module")
def pdf(lecture_report, need_tools):
    need_tools("pdflatex", "latexmk", "pdftotext", "pdftoppm")
    report, out = lecture_report
    path = compile_pdf(out)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True).stdout
    return {
        "path": path,
        "text": text.decode("utf-8"),
        "log": (out / "report.log").read_text("latin-1"),
        "report": report,
        "out": out,
    }


def _words(s: str) -> str:
    # TeX sets ' as a right single quote; pdftotext gives it back as such
    return re.sub(r"\s+", " ", s).replace("\u2019", "'").strip()


def test_every_topic_title_is_in_the_pdf(pdf):
    text = _words(pdf["text"])
    for sec in pdf["report"].sections:
        assert _words(sec.title) in text, sec.title
    assert "??" not in pdf["text"]  # no unresolved reference


def test_no_text_is_lost(pdf):
    # the toy title carries #, %, &, _ and a Greek letter
    assert "Toy sigmoid layer #1: 50% & more_σ" in _words(pdf["text"])
    assert "Missing character" not in pdf["log"]
    assert "Unicode character" not in pdf["log"]


def test_nothing_runs_off_the_page(pdf):
    overfull = [float(x) for x in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", pdf["log"])]
    assert [x for x in overfull if x > 1.0] == []


def test_pages_render(pdf, tmp_path):
    subprocess.run(
        ["pdftoppm", "-r", "50", "-png", "-f", "1", "-l", "2", str(pdf["path"]), str(tmp_path / "page")], check=True
    )
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) == 2 and all(p.stat().st_size > 5_000 for p in pages)
    info = subprocess.run(["pdfinfo", str(pdf["path"])], capture_output=True, text=True, check=True).stdout
    assert int(re.search(r"Pages:\s+(\d+)", info).group(1)) >= len(pdf["report"].sections)


def test_notebook_latex_of_every_topic_compiles(need_tools, tmp_path):
    """``Derivation._repr_latex_`` is also what nbconvert hands to LaTeX."""
    need_tools("pdflatex")
    from gradproof.derive.lecture.registry import derive, topics

    blocks = [derive(t)._repr_latex_() for t in topics()]
    assert all(b.startswith("$$\\begin{aligned}") and b.endswith("\\end{aligned}$$") for b in blocks)
    body = "\n\n".join(b.replace("$$", "\n$$\n") for b in blocks)
    (tmp_path / "nb.tex").write_text(
        "\\documentclass{article}\\usepackage[T1]{fontenc}\\usepackage{amsmath,amssymb}\n"
        "\\begin{document}\n" + body + "\n\\end{document}\n",
        encoding="utf-8",
    )
    proc = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "nb.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    errors = [ln for ln in proc.stdout.splitlines() if ln.startswith("!")]
    assert proc.returncode == 0 and errors == [], errors
