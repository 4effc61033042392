"""report.tex and companion.tex compile in one pdflatex pass from nothing, to the PDF of the fixed point.

The fixed point is forced here without gradproof's rules: pdflatex reruns
until every auxiliary file it writes is, byte for byte, the one it read.
Under ``SOURCE_DATE_EPOCH`` the one-pass PDF must be those very bytes.
Documents that do not declare :data:`~gradproof.reports.writing.ONE_PASS`,
or that declare it and then read something back (a ``\\ref``, a long table
split into chunks whose late rows are wider), still get their passes.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from texfolders import tex_folder

from gradproof.reports.render_latex import chunk_rows
from gradproof.reports.writing import (
    MAX_PASSES,
    ONE_PASS,
    _fixed,
    _is_aux_name,
    _settled,
    compile_document,
    declares_one_pass,
)

ENV = dict(os.environ, SOURCE_DATE_EPOCH="0", FORCE_SOURCE_DATE="1")


def _run(folder: Path, tex: str) -> dict[str, bytes]:
    subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", tex],
        cwd=folder,
        env=ENV,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        check=True,
    )
    stem = Path(tex).stem
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if _is_aux_name(p.name, stem) and p.is_file()}


def _fixed_point(src: Path, dest: Path, tex: str, edit=None) -> tuple[bytes, bytes, int]:
    """The first pass's PDF, the PDF of the strict fixed point, and the passes it took (pdflatex alone)."""
    folder = tex_folder(src, dest, tex, edit)
    pdf = folder / f"{Path(tex).stem}.pdf"
    read = _run(folder, tex)
    first, passes = pdf.read_bytes(), 1
    while True:
        written = _run(folder, tex)
        passes += 1
        if written == read:
            return first, pdf.read_bytes(), passes
        assert passes < 8, "no fixed point"
        read = written


def _one_pass(src: Path, dest: Path, tex: str, edit=None):
    folder = tex_folder(src, dest, tex, edit)
    return compile_document(folder, tex), (folder / f"{Path(tex).stem}.pdf").read_bytes()


@pytest.fixture(scope="module")
def lecture(lecture_report, need_tools):
    need_tools("pdflatex")
    report, out = lecture_report
    assert (out / "companion.tex").exists(), "the whole lecture has a companion"
    return out


@pytest.mark.parametrize("tex", ["report.tex", "companion.tex"])
def test_the_lecture_compiles_in_one_pass_to_the_fixed_point(lecture, tex, tmp_path):
    assert declares_one_pass((lecture / tex).read_bytes())
    compiled, pdf = _one_pass(lecture, tmp_path / "one", tex)
    assert (compiled.passes, compiled.drafts) == (1, 0)
    first, fixed, passes = _fixed_point(lecture, tmp_path / "fixed", tex)
    assert passes == 2, "pdflatex alone writes its .aux once more and finds it unchanged"
    assert pdf == fixed, "the one-pass PDF is the fixed point's, byte for byte"
    assert first == fixed


def test_the_links_land_on_named_targets(lecture, need_tools, tmp_path):
    """Every link of report.tex names a target the document sets; none is a label read back."""
    need_tools("pdftotext")
    text = (lecture / "report.tex").read_text(encoding="utf-8")
    links = set(re.findall(r"\\hyperlink\{([^}]*)\}", text))
    targets = re.findall(r"\\NextLinkTarget\{([^}]*)\}\\section", text)
    assert len(targets) == len(set(targets)) and links and links <= set(targets)
    assert not re.search(r"\\(?:ref|pageref|label)\{|\\hyperref\[", text)
    compiled, _ = _one_pass(lecture, tmp_path / "one", "report.tex")
    words = subprocess.run(
        ["pdftotext", "-layout", str(compiled.pdf), "-"], capture_output=True, check=True
    ).stdout.decode()
    assert "??" not in words
    assert "sec:errata" in targets, "the lecture has errata"
    # the one section number in the prose is the errata heading's
    heading = re.search(r"^(\d+) +Errata: where the lecture is wrong", words, re.M)
    assert heading and re.search(r"the errata \(Section\s+" + heading.group(1) + r"\)", words)


def test_every_long_table_fits_in_one_chunk(lecture):
    text = (lecture / "report.tex").read_text(encoding="utf-8")
    size = int(re.search(r"\\setcounter\{LTchunksize\}\{(\d+)\}", text).group(1))
    tables = re.findall(r"\\endhead\n(.*?)\\end\{longtable\}", text, re.S)
    rows = [body.count("\\\\") for body in tables]
    assert len(tables) == text.count("\\begin{longtable}") and rows
    assert max(rows) < size == chunk_rows(rows)


# -- a long table whose late rows are wider ----------------------------------------------------------------


def _wide_table(rows: int, head: bool = False) -> str:
    """A long table of natural-width columns whose rows after the first 30 are wider (than its head too)."""
    body = "".join(
        f"row {k} & {k}\\\\\n" if k < 30 else f"row {k}, a longer one & {k * 10**6}\\\\\n" for k in range(rows)
    )
    return "\\begin{longtable}{lr}\n" + ("Check & Value\\\\\n\\endhead\n" if head else "") + body + "\\end{longtable}\n"


def _chunks_of(size: int):
    def edit(text: str) -> str:
        return re.sub(r"\\setcounter\{LTchunksize\}\{\d+\}", f"\\\\setcounter{{LTchunksize}}{{{size}}}", text)

    return edit


def _with_table(table: str, size: int | None = None):
    def edit(text: str) -> str:
        text = text.replace("\\section*{Summary}", table + "\\section*{Summary}", 1)
        return _chunks_of(size)(text) if size else text

    return edit


@pytest.fixture(scope="module")
def long_table(toy_report, need_tools, tmp_path_factory):
    """report.tex of a report whose one topic has 60 checks."""
    need_tools("pdflatex")
    from gradproof.reports.document import Record, Report
    from gradproof.reports.writing import write_report

    toy = toy_report(passed=True, figures=False)
    name = toy.sections[0].name
    records = [Record(name, f"exact check {k}", None, None, True) for k in range(40)]
    records += [Record(name, f"numeric check {k}", 1.234e-300, 1e-300, True) for k in range(20)]
    report = Report(sections=[replace(toy.sections[0], records=tuple(records))])
    out = tmp_path_factory.mktemp("long-table")
    write_report(report, out, ("latex",))
    text = (out / "report.tex").read_text(encoding="utf-8")
    assert "\\setcounter{LTchunksize}{61}" in text, "one more than the 60 rows of the longest table"
    return out


def test_a_report_with_long_tables_settles_in_one_pass(long_table, tmp_path):
    compiled, pdf = _one_pass(long_table, tmp_path / "one", "report.tex")
    assert (compiled.passes, compiled.drafts) == (1, 0)
    _, fixed, passes = _fixed_point(long_table, tmp_path / "fixed", "report.tex")
    assert pdf == fixed and passes == 2


def test_a_long_table_with_wider_late_rows_settles_in_one_pass(long_table, tmp_path):
    """45 rows, the last 15 wider, in one chunk (the size the writer computes for these tables)."""
    edit = _with_table(_wide_table(45), chunk_rows([1, 60, 45]))
    compiled, pdf = _one_pass(long_table, tmp_path / "one", "report.tex", edit)
    assert (compiled.passes, compiled.drafts) == (1, 0)
    _, fixed, passes = _fixed_point(long_table, tmp_path / "fixed", "report.tex", edit)
    assert pdf == fixed and passes == 2


@pytest.mark.parametrize(
    "edit",
    [
        # chunks of 20 rows, the wider rows in the second and third: the first pass set the first too narrow
        _with_table(_wide_table(45), 20),
        # one chunk, but longtable sets a head as a chunk of its own, at the widths it read (none)
        _with_table(_wide_table(45, head=True)),
    ],
    ids=["a table split into chunks", "a head narrower than its rows"],
)
def test_a_table_whose_widths_move_still_gets_its_passes(edit, long_table, tmp_path):
    """Planted: a long table the first pass sets too narrow somewhere; the shortcut must not apply."""
    first, fixed, _ = _fixed_point(long_table, tmp_path / "fixed", "report.tex", edit)
    assert first != fixed, "the planted table does move between passes"
    compiled, pdf = _one_pass(long_table, tmp_path / "one", "report.tex", edit)
    assert 2 <= compiled.passes <= MAX_PASSES and compiled.drafts == 0
    assert pdf == fixed


def test_a_document_without_the_declaration_gets_a_draft_pass_first(long_table, tmp_path):
    def edit(text: str) -> str:
        assert ONE_PASS + "\n" in text
        return text.replace(ONE_PASS + "\n", "")

    compiled, pdf = _one_pass(long_table, tmp_path / "one", "report.tex", edit)
    assert (compiled.passes, compiled.drafts) == (2, 1)
    _, fixed, _ = _fixed_point(long_table, tmp_path / "fixed", "report.tex", edit)
    assert pdf == fixed


def test_a_declared_document_with_a_reference_gets_its_passes(long_table, tmp_path):
    """Planted: the declaration kept, a \\label and a \\pageref added; the number is ?? until the second pass."""
    edit = _with_table("\\label{sum}See page~\\pageref{sum}.")
    first, fixed, _ = _fixed_point(long_table, tmp_path / "fixed", "report.tex", edit)
    assert first != fixed
    compiled, pdf = _one_pass(long_table, tmp_path / "one", "report.tex", edit)
    assert 2 <= compiled.passes <= MAX_PASSES and compiled.drafts == 0
    assert pdf == fixed


# -- the rules, entry by entry ------------------------------------------------------------------------------

WIDTHS = b"\\gdef \\LT@ii {\\LT@entry \n    {1}{118.4139pt}\\LT@entry \n    {%d}{68.61653pt}}"


def test_long_table_widths_are_inert_only_from_one_chunk_and_unread():
    assert _fixed(WIDTHS % 1, set())
    assert not _fixed(WIDTHS % 2, set()), "a width set by a later chunk moved the earlier rows"
    assert not _fixed(WIDTHS % 1, {b"LT@ii"}), "widths read back are compared as any entry"
    assert not _fixed(b"\\newlabel{sum}{{}{1}{}{section*.1}{}}", set())
    assert _fixed(b"\\gdef \\@abspage@last{121}", set()) and _fixed(b"\\providecommand\\BKM@entry[2]{}", set())
    assert not _fixed(b"\\gdef \\@abspage@last{121}\\newlabel{x}{{1}{1}}", set())


def test_the_shortcut_needs_the_declaration():
    aux = {"r.aux": b"\\relax \n" + WIDTHS % 1 + b"\n\\gdef \\@abspage@last{3}\n"}
    assert _settled(aux, {}, one_pass=True)
    assert not _settled(aux, {}, one_pass=False)
    assert not _settled({"r.aux": aux["r.aux"] + b"\\newlabel{x}{{1}{1}}\n"}, {}, one_pass=True)
    assert not _settled(aux, {"r.aux": aux["r.aux"].replace(b"68.61653pt", b"70pt")}, one_pass=True)
    assert _settled(aux, aux, one_pass=True) and _settled(aux, aux, one_pass=False)


def test_the_declaration_is_a_line_of_the_preamble():
    assert declares_one_pass(f"\\documentclass{{article}}\n{ONE_PASS}\n\\begin{{document}}x".encode())
    assert not declares_one_pass(f"\\documentclass{{article}}\n\\begin{{document}}\n{ONE_PASS}\n".encode())
    assert not declares_one_pass(f"\\documentclass{{article}}\n\\relax{ONE_PASS}\n\\begin{{document}}".encode())
