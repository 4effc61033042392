"""pdflatex started early on a document's preamble, fed the rest later: the same PDF and log, or the regular way.

The early pass (:class:`gradproof.reports.pdf_stream.EarlyPass`) reads the
document through a named pipe.  Under ``SOURCE_DATE_EPOCH`` its PDF and log
must be the bytes of a regular compile; a document that does not start with
the bytes fed, a pass that ends before the document is whole, or a PDF read
back from the cache end it, and the result is still the regular one.  No
pdflatex and no work folder outlives a run, however it ends.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import time
from pathlib import Path

import pytest
from faultlib import cli, reap_group, start, survivors_after
from texfolders import tex_folder

from gradproof.reports.render_latex import latex_preamble
from gradproof.reports.writing import (
    EarlyPasses,
    PdfError,
    _tex_env,
    compile_document,
    compile_pdfs,
    latex_engine,
    start_early_passes,
)

TEXS = ["report.tex", "companion.tex"]


@pytest.fixture(scope="module")
def lecture(lecture_report, need_tools):
    need_tools("pdflatex")
    _, out = lecture_report
    for tex in TEXS:
        assert (out / tex).read_text(encoding="utf-8").startswith(latex_preamble(tex))
    return out


def _running_in(folder: Path) -> list[int]:
    """Live processes working in a compile's work folder under ``folder`` (pdflatex and its launcher)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cwd = os.readlink(f"/proc/{entry}/cwd")
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                state = fh.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state not in ("Z", "X") and cwd.startswith(str(folder) + "/") and "/.gradproof-pdf-" in cwd:
            found.append(int(entry))
    return found


def _outputs(folder: Path, stem: str) -> tuple[bytes, bytes]:
    return (folder / f"{stem}.pdf").read_bytes(), (folder / f"{stem}.log").read_bytes()


def _scratch(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


def _regular(src: Path, dest: Path, tex: str, edit=None) -> tuple[bytes, bytes]:
    folder = tex_folder(src, dest, tex, edit)
    compile_document(folder, tex)
    return _outputs(folder, Path(tex).stem)


def _started(folder: Path, tex: str, prefix: str | None = None) -> EarlyPasses:
    """An early pass of ``tex`` in ``folder``, fed ``prefix`` (default: the document's own preamble)."""
    passes = EarlyPasses()
    if prefix is None:
        start_early_passes(folder, [tex], passes)
    else:
        passes.start(folder, {tex: prefix.encode()}, latex_engine()[0], _tex_env())
    assert passes._passes, "the pass started"
    early = passes._passes[tex]
    aux = early.work / f"{Path(tex).stem}.aux"
    deadline = time.monotonic() + 60
    while not aux.exists() and time.monotonic() < deadline:  # \begin{document} opens it: the preamble is read
        time.sleep(0.02)
    assert aux.exists(), "pdflatex read the preamble and waits for the rest"
    return passes


@pytest.mark.parametrize("tex", TEXS)
def test_a_streamed_compile_gives_the_regular_bytes(lecture, tex, tmp_path):
    expected = _regular(lecture, tmp_path / "regular", tex)
    folder = tmp_path / "streamed"
    folder.mkdir()
    passes = _started(folder, tex)
    early = passes._passes[tex]
    assert early.proc.poll() is None and _running_in(folder), "pdflatex waits for the rest of the document"
    (folder / tex).write_bytes((lecture / tex).read_bytes())  # the document is written once pdflatex waits
    for fig in lecture.glob("fig-*.pdf"):
        shutil.copy2(fig, folder / fig.name)
    compiled = compile_document(folder, tex, early=passes.take(tex))
    assert early.done and early.proc.returncode == 0, "the early pass was the first pass"
    assert (compiled.passes, compiled.drafts) == (1, 0)
    assert _outputs(folder, Path(tex).stem) == expected
    assert not _scratch(folder) and not _running_in(folder)


def test_a_short_document_written_before_pdflatex_opened_the_pipe(tmp_path, need_tools, monkeypatch):
    """Planted: the whole document fits in the pipe and is written at once, while pdflatex still starts up;
    the pipe is not closed under it (that would drop the document and leave pdflatex waiting)."""
    need_tools("pdflatex")
    from gradproof.reports import writing

    monkeypatch.setattr(writing, "PASS_TIMEOUT", 60)  # a regression fails here instead of hanging
    text = latex_preamble("companion.tex") + "A short document.\n\\end{document}\n"
    regular = tmp_path / "regular"
    regular.mkdir()
    (regular / "short.tex").write_text(text, encoding="utf-8")
    compile_document(regular, "short.tex")
    folder = tmp_path / "streamed"
    folder.mkdir()
    passes = EarlyPasses()
    passes.start(folder, {"short.tex": latex_preamble("companion.tex").encode()}, latex_engine()[0], _tex_env())
    (folder / "short.tex").write_text(text, encoding="utf-8")
    early = passes.take("short.tex")
    assert compile_document(folder, "short.tex", early=early).passes == 1
    assert early.done
    assert _outputs(folder, "short") == _outputs(regular, "short")
    assert not _scratch(folder) and not _running_in(folder)


def test_a_document_that_does_not_start_with_the_prefix_is_compiled_the_regular_way(lecture, tmp_path):
    expected = _regular(lecture, tmp_path / "regular", "report.tex")
    folder = tex_folder(lecture, tmp_path / "other", "report.tex")
    # planted: a preamble one option off the document's; pdflatex took it in and must not be fed the rest
    other = latex_preamble("report.tex").replace("[10pt,a4paper]", "[11pt,a4paper]")
    assert other != latex_preamble("report.tex")
    passes = _started(folder, "report.tex", other)
    early = passes.take("report.tex")
    assert compile_document(folder, "report.tex", early=early).passes == 1
    assert not early.done and early.proc.returncode is not None, "the early pass was killed"
    assert _outputs(folder, "report") == expected
    assert not _scratch(folder) and not _running_in(folder)


def test_a_pass_that_ends_before_the_document_is_whole_is_the_pass(lecture, tmp_path):
    """Planted: text after \\end{document}, more than a pipe holds: pdflatex stops reading and ends first,
    as it does over the regular file."""

    def edit(text: str) -> str:
        return text + "% trailing text pdflatex never reads\n" * 4000

    expected = _regular(lecture, tmp_path / "regular", "report.tex", edit)
    folder = tex_folder(lecture, tmp_path / "streamed", "report.tex", edit)
    early = _started(folder, "report.tex").take("report.tex")
    assert compile_document(folder, "report.tex", early=early).passes == 1
    assert early.done and early.proc.returncode == 0
    assert _outputs(folder, "report") == expected
    assert not _scratch(folder) and not _running_in(folder)


def test_an_early_pass_that_was_killed_is_not_used(lecture, tmp_path):
    expected = _regular(lecture, tmp_path / "regular", "companion.tex")
    folder = tex_folder(lecture, tmp_path / "killed", "companion.tex")
    early = _started(folder, "companion.tex").take("companion.tex")
    os.killpg(early.proc.pid, signal.SIGKILL)  # the launcher leads pdflatex's process group
    deadline = time.monotonic() + 10
    while _running_in(folder) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert compile_document(folder, "companion.tex", early=early).passes == 1
    assert not early.done
    assert _outputs(folder, "companion") == expected
    assert not _scratch(folder) and not _running_in(folder)


def test_a_streamed_document_that_needs_more_passes_gets_them_from_the_whole_file(lecture, tmp_path):
    """Planted: a reference read back from the .aux; the passes after the streamed one read the regular file."""

    def edit(text: str) -> str:
        return text.replace("\\section*{Summary}", "\\label{sum}See page~\\pageref{sum}.\n\\section*{Summary}", 1)

    regular = tex_folder(lecture, tmp_path / "regular", "report.tex", edit)
    passes = compile_document(regular, "report.tex").passes
    assert passes >= 2
    folder = tex_folder(lecture, tmp_path / "streamed", "report.tex", edit)
    early = _started(folder, "report.tex").take("report.tex")
    assert compile_document(folder, "report.tex", early=early).passes == passes
    assert early.done
    assert _outputs(folder, "report") == _outputs(regular, "report")
    assert not _scratch(folder) and not _running_in(folder)


def test_no_early_pass_without_pdflatex(tmp_path, monkeypatch):
    from gradproof.reports import writing

    monkeypatch.setattr(writing.shutil, "which", lambda name: None)
    assert start_early_passes(tmp_path, TEXS)._passes == {} and os.listdir(tmp_path) == []


def test_a_latex_error_in_the_body_is_the_regular_error(lecture, tmp_path):
    def edit(text: str) -> str:
        return text.replace("\\section*{Summary}", "\\undefinedcommandinthebody\n\\section*{Summary}", 1)

    errors = []
    for name, streamed in (("regular", False), ("streamed", True)):
        folder = tex_folder(lecture, tmp_path / name, "report.tex", edit)
        early = _started(folder, "report.tex").take("report.tex") if streamed else None
        with pytest.raises(PdfError) as err:
            compile_document(folder, "report.tex", early=early)
        assert "Undefined control sequence" in str(err.value)
        errors.append((str(err.value).replace(str(folder), "FOLDER"), (folder / "report.log").read_bytes()))
        assert not (folder / "report.pdf").exists() and not _scratch(folder) and not _running_in(folder)
        if streamed:
            assert early.done, "the streamed pass was the failing pass"
    assert errors[0] == errors[1], "the same message and the same kept log"


class _Stored:
    """The part store of one run (:class:`gradproof.reports.incremental.Keys`), in memory."""

    def __init__(self):
        self.parts = {}

    def load(self, key, expected, check):
        obj = self.parts.get(key)
        return obj if isinstance(obj, expected) and check(obj) else None

    def save(self, key, obj):
        self.parts[key] = obj


def test_a_pdf_read_back_kills_the_early_pass(lecture, tmp_path, monkeypatch):
    from gradproof.reports import incremental

    monkeypatch.setattr(incremental, "load_seed", lambda key, check: None)
    monkeypatch.setattr(incremental, "store_seed", lambda key, aux: None)
    stored = _Stored()
    first = tex_folder(lecture, tmp_path / "first", "companion.tex")
    compile_pdfs(first, ["companion.tex"], stored)
    assert len(stored.parts) == 1
    again = tex_folder(lecture, tmp_path / "again", "companion.tex")
    passes = _started(again, "companion.tex")
    early = passes._passes["companion.tex"]
    compile_pdfs(again, ["companion.tex"], stored, early=passes)
    assert early.proc.returncode is not None and not early.done, "read back: the early pass was killed"
    assert _outputs(again, "companion") == _outputs(first, "companion")
    assert not _scratch(again) and not _running_in(again)


def test_an_abandoned_early_start_leaves_no_process_and_no_folder(tmp_path, need_tools):
    need_tools("pdflatex")
    passes = EarlyPasses()
    with pytest.raises(RuntimeError, match="the build failed"):
        try:
            start_early_passes(tmp_path, TEXS, passes)
            assert len(passes._passes) == 2 and len(_running_in(tmp_path)) >= 2
            raise RuntimeError("the build failed")
        finally:
            passes.close()
    assert not _running_in(tmp_path) and os.listdir(tmp_path) == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_run_stopped_before_the_body_leaves_no_pdflatex(sig, tmp_path, need_tools):
    """Stopped while the report is derived: pdflatex has read the preamble and waits; the run ends it (SIGTERM),
    or its launcher does and the folder's watcher removes the work folder (SIGKILL)."""
    need_tools("pdflatex")
    out = tmp_path / "r"
    args = cli("report", "affine", "relu", "-o", str(out), "--format", "html,pdf", "--no-cache")
    p = start(args, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 60
        while not _running_in(tmp_path) and time.monotonic() < deadline and p.poll() is None:
            time.sleep(0.02)
        assert _running_in(tmp_path), "pdflatex started on the preamble in the output's work folder"
        staging = [n for n in os.listdir(tmp_path) if n.startswith(".r.")]
        assert any(re.search(r"\.gradproof-new-", n) for n in staging)
        os.kill(p.pid, sig)
        _, err = p.communicate(timeout=60)
        if sig == signal.SIGTERM:
            assert p.returncode == 143, err
            assert err.count("\n") == 1 and "Traceback" not in err, err
        assert survivors_after(p.pid, 3.0) == []
        assert not _running_in(tmp_path)
        assert os.listdir(tmp_path) == [], "no output, no staging folder, no lock file"
    finally:
        reap_group(p.pid)


def test_a_report_run_compiles_through_its_early_passes(tmp_path, need_tools, monkeypatch, capsys):
    """The command takes the pass it started (fed and finished), the folder keeps no work folder, and
    ``--timings`` shows the pass in a lane of its own."""
    need_tools("pdflatex")
    from gradproof.reports import cli as cli_main
    from gradproof.reports import pdf_stream

    seen = []
    real = pdf_stream.EarlyPass.finish

    def finish(self, source, timeout):
        seen.append(self.tex_name)
        return real(self, source, timeout)

    monkeypatch.setattr(pdf_stream.EarlyPass, "finish", finish)
    out = tmp_path / "r"
    assert cli_main.main(["report", "affine", "-o", str(out), "--format", "latex,pdf", "--no-cache", "--timings"]) == 0
    assert seen == ["report.tex"]
    err = capsys.readouterr().err
    assert re.search(r"^pdflatex1 .* report\.tex: the rest fed \(started on its preamble at [\d.]+ s\)$", err, re.M)
    assert re.search(r"^pdflatex1 [.#]+$", err, re.M) and not re.search(r"^worker \d+ .*report\.tex", err, re.M)
    assert (out / "report.pdf").read_bytes().startswith(b"%PDF")
    assert not [n for n in os.listdir(out) if n.startswith(".gradproof-pdf")]
    assert not _running_in(tmp_path)


def test_no_early_pass_for_a_stored_output_html_alone_or_without_pipes(tmp_path, need_tools, monkeypatch):
    """An unchanged rerun publishes the stored folder and starts no pdflatex; nor does a run without a PDF,
    nor a platform without named pipes (the regular compile then)."""
    need_tools("pdflatex")
    from gradproof.reports import cli as cli_main
    from gradproof.reports import pdf_stream

    monkeypatch.setenv("GRADPROOF_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("GRADPROOF_NO_CACHE", raising=False)
    started = []
    real = pdf_stream.EarlyPass.start.__func__

    def start(cls, parent, tex_name, *args, **kwargs):
        started.append(tex_name)
        return real(cls, parent, tex_name, *args, **kwargs)

    monkeypatch.setattr(pdf_stream.EarlyPass, "start", classmethod(start))
    out = tmp_path / "r"
    run = ["report", "affine", "-o", str(out), "--format", "latex,pdf"]
    assert cli_main.main(run) == 0 and started == ["report.tex"]
    pdf = (out / "report.pdf").read_bytes()
    assert cli_main.main(run) == 0 and started == ["report.tex"], "the rerun started no pdflatex"
    assert (out / "report.pdf").read_bytes() == pdf
    assert cli_main.main(["report", "affine", "-o", str(tmp_path / "h"), "--format", "html", "--no-cache"]) == 0
    assert started == ["report.tex"]
    assert "-no-parse-first-line" in latex_engine()[0], "every pass reads the main file once"
    monkeypatch.delattr(os, "mkfifo")
    assert start_early_passes(tmp_path, TEXS)._passes == {} and started == ["report.tex"]
    assert cli_main.main([*run[:2], "-o", str(tmp_path / "nofifo"), *run[4:], "--no-cache"]) == 0
    assert (tmp_path / "nofifo" / "report.pdf").read_bytes() == pdf and started == ["report.tex"]
