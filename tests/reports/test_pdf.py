"""report.tex compiled by pdflatex, checked through pdftotext and the log; seeded compiles equal cold ones.

Under GRADPROOF_REQUIRE_TOOLS=1 (CI) a missing TeX or poppler tool fails the
test; otherwise it skips with the reason.
"""

from __future__ import annotations

import re
import subprocess

import pytest
from texfolders import tex_folder

from gradproof.reports.writing import MAX_PASSES, ONE_PASS, PdfError, compile_document, compile_pdf


@pytest.fixture(scope="module")
def pdf(lecture_report, need_tools):
    need_tools("pdflatex", "pdftotext", "pdftoppm")
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


# -- Seeded compiles: the auxiliary files of an earlier compile, and the fixed point --------------------


def _retitle(text: str) -> str:
    """A topic's title edited, as a lecturer would: in its section, the summary table and the bookmarks."""
    title = "Glorot initialisation: Var(w) = 2/(n\\_in + n\\_out)"
    assert text.count(title) >= 2, "the section and the summary table name the topic"
    return text.replace(title, title + " (edited)")


def _outputs(folder, stem="report"):
    return {ext: (folder / f"{stem}.{ext}").read_bytes() for ext in ("pdf", "log")}


@pytest.fixture(scope="module")
def compiled(pdf, tmp_path_factory):
    """report.tex cold; the retitled report.tex cold, and seeded with the first compile's files."""
    base = tmp_path_factory.mktemp("seeded")
    first = compile_document(tex_folder(pdf["out"], base / "first", "report.tex"), "report.tex")
    cold = compile_document(tex_folder(pdf["out"], base / "cold", "report.tex", _retitle), "report.tex")
    seeded = compile_document(tex_folder(pdf["out"], base / "seeded", "report.tex", _retitle), "report.tex", first.aux)
    return {"base": base, "first": first, "cold": cold, "seeded": seeded}


def test_a_cold_compile_stops_at_the_fixed_point(compiled, pdf):
    first = compiled["first"]
    # from nothing: report.tex reads nothing back that its first pass wrote (test_pdf_one_pass.py)
    assert (first.passes, first.drafts) == (1, 0)
    assert _outputs(compiled["base"] / "first") == _outputs(pdf["out"]), "the same .tex gives the same bytes"
    again = compile_document(compiled["base"] / "first", "report.tex", first.aux)
    assert again.passes == 1 and again.drafts == 0 and again.aux == first.aux
    assert _outputs(compiled["base"] / "first") == _outputs(pdf["out"])


def test_a_seeded_compile_of_an_edited_report_equals_a_cold_one(compiled):
    assert _outputs(compiled["base"] / "seeded") == _outputs(compiled["base"] / "cold"), "PDF or log differ"
    assert compiled["seeded"].passes == 1, "a retitled topic moves no cross reference"
    assert compiled["seeded"].aux == compiled["cold"].aux
    text = subprocess.run(
        ["pdftotext", str(compiled["base"] / "seeded" / "report.pdf"), "-"], capture_output=True, check=True
    ).stdout.decode()
    assert "(edited)" in text


def test_the_bookmarks_follow_the_edit_in_one_pass(compiled, need_tools):
    need_tools("pdftohtml")
    xml = subprocess.run(
        ["pdftohtml", "-xml", "-stdout", "-i", "-q", str(compiled["base"] / "seeded" / "report.pdf")],
        capture_output=True,
        check=True,
    ).stdout.decode()
    outline = xml[xml.index("<outline>") :]
    assert re.search(r"<item[^>]*>Glorot initialisation: Var\(w\) = 2/\(n_in \+ n_out\) \(edited\)</item>", outline)


def _undeclared(text: str) -> str:
    """report.tex as any other document: without the line that lets it settle in one pass."""
    assert ONE_PASS + "\n" in text
    return _retitle(text.replace(ONE_PASS + "\n", ""))


def test_a_seed_that_moves_references_costs_passes_never_bytes(compiled, pdf):
    """A seed from another document (its labels, table widths and pages all wrong) still ends at the cold result."""
    base = compiled["base"]
    wrong = {"report.aux": compiled["first"].aux["report.aux"].replace(b"pt}", b"9pt}").replace(b"}{1", b"}{7")}
    wrong["report.aux"] += b"\\newlabel{topic:glorot}{{7}{77}{}{section.7}{}}\n"
    wrong["../escape.aux"] = b"never written outside the scratch folder"
    cold = compile_document(tex_folder(pdf["out"], base / "undeclared-cold", "report.tex", _undeclared), "report.tex")
    assert (cold.passes, cold.drafts) == (2, 1)
    folder = tex_folder(pdf["out"], base / "wrong-seed", "report.tex", _undeclared)
    result = compile_document(folder, "report.tex", wrong)
    assert 2 <= result.passes <= MAX_PASSES and result.drafts == 0
    assert _outputs(folder) == _outputs(base / "undeclared-cold")
    assert not (base / "escape.aux").exists() and not (folder / "escape.aux").exists()
    # a one-pass document starts from nothing, whatever it is seeded with
    folder = tex_folder(pdf["out"], base / "wrong-seed-declared", "report.tex", _retitle)
    assert compile_document(folder, "report.tex", wrong).passes == 1
    assert _outputs(folder) == _outputs(base / "cold")


def test_a_document_that_writes_no_auxiliary_file_still_ends_with_a_pdf(need_tools, tmp_path):
    """``\\nofiles``: the draft pass writes nothing to read back, so a full pass follows it and writes the PDF."""
    need_tools("pdflatex", "pdftotext")
    (tmp_path / "plain.tex").write_text(
        "\\documentclass{article}\\nofiles\\begin{document}Nothing to read back.\\end{document}\n", encoding="utf-8"
    )
    result = compile_document(tmp_path, "plain.tex")
    assert (result.passes, result.drafts, result.aux) == (2, 1, {})
    text = subprocess.run(["pdftotext", str(result.pdf), "-"], capture_output=True, check=True).stdout.decode()
    assert "Nothing to read back." in text


def test_a_compile_copies_the_figures_it_is_told_of(pdf, tmp_path):
    """report.tex compiles before the companion's figure exists: it is given its own figures, and needs each."""
    names = [f"{fig.name}.pdf" for fig in pdf["report"].figures]
    assert len(names) >= 2
    folder = tex_folder(pdf["out"], tmp_path / "named", "report.tex")
    with pytest.raises(PdfError, match=re.escape(names[0])):
        compile_document(folder, "report.tex", figures=names[1:])
    assert compile_document(folder, "report.tex", figures=names).passes == 1
    assert _outputs(folder) == _outputs(pdf["out"])


def test_a_failure_after_the_compile_started_waits_for_pdflatex(toy, need_tools, tmp_path, monkeypatch):
    """report.tex compiles while the rest is written: when that fails, pdflatex has ended before the error leaves."""
    need_tools("pdflatex")
    from gradproof.reports import writing

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(writing, "_write_html", broken)
    with pytest.raises(OSError, match="disk full"):
        writing.write_report(toy, tmp_path, ("html", "latex", "pdf"))
    left = sorted(p.name for p in tmp_path.iterdir())
    assert "report.pdf" in left, "the compile that had started ran to its end"
    assert not [n for n in left if n.startswith(".")], "no scratch folder is left behind"
