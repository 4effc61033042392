"""Writing a built report: index.html, report.tex and its figures, the companion, the PDFs.

:func:`write_report` renders a :class:`~gradproof.reports.document.Report`
(from :func:`gradproof.reports.build.build_report`) into an output folder,
every file atomically; :func:`compile_pdfs` compiles the ``.tex`` files, or
reads back a PDF compiled before from the same input.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from gradproof.derive.support.atomic import write_atomic
from gradproof.reports.document import Report
from gradproof.reports.pdf_stream import EarlyPass, EarlyPasses, Unusable

FORMATS = ("html", "latex", "pdf")


class PdfError(Exception):
    """pdflatex failed on report.tex: the message is the first error line."""


# pdflatex reruns until the files it reads back (.aux, .out, .toc) come out unchanged; as latexmk, at most this often
MAX_PASSES = 5
# a pass that runs longer than this (seconds) is killed
PASS_TIMEOUT = 300
# pdfTeX's option for a pass whose PDF nobody reads: it typesets (and writes the .aux) as usual,
# but neither reads the figures nor embeds the fonts nor writes the PDF
DRAFT = "-draftmode"
# A line of its own in a preamble (report.tex, companion.tex): the document reads nothing back from its .aux
# but what a reference there would put (\newlabel ...); its links go to named targets, every long table is
# set in one chunk, and nothing uses the page total. See :func:`_settled`.
ONE_PASS = "% gradproof: one pass"


def latex_engine() -> tuple[list[str] | None, str]:
    """The command that compiles a .tex file to PDF (one pass), or ``None`` and why not.

    pdflatex itself: :func:`compile_pdf` reruns it to the fixed point, as
    latexmk would, without latexmk's own start-up.  ``-no-parse-first-line``:
    web2c TeX otherwise opens the main file once before the pass to look for
    a ``%&format`` first line, which would eat the first bytes of an early
    pass's pipe (:class:`EarlyPass`); every pass runs the same command, so
    that the PDF's key and the log are one thing however it was compiled.
    """
    if shutil.which("pdflatex") is None:
        return None, "pdflatex not found (install TeX Live, e.g. Debian's texlive-latex-base texlive-latex-recommended)"
    return ["pdflatex", "-no-parse-first-line", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error"], ""


def _tex_env() -> dict:
    """pdflatex's environment: a fixed date makes pdfTeX's output reproducible too."""
    return dict(os.environ, SOURCE_DATE_EPOCH="0", FORCE_SOURCE_DATE="1")


def start_early_passes(outdir, tex_names, passes: EarlyPasses | None = None) -> EarlyPasses:
    """pdflatex started now on each of ``tex_names`` (``report.tex``, ``companion.tex``) in a work folder in
    ``outdir``, fed its preamble (:func:`gradproof.reports.render_latex.latex_preamble`) while the report is
    still being derived; :func:`write_report` (``early=``) feeds each the rest.  They are held in
    ``passes`` (made here when not given), which is returned.

    None is started where the early pass cannot be had (no ``os.mkfifo``,
    no pdflatex) or would not be a compile's first pass (a preamble that
    does not declare :data:`ONE_PASS`, whose first pass may read a seed or
    run in draft mode).  Close ``passes`` when the run ends, however it ends.
    """
    from gradproof.reports.render_latex import latex_preamble

    passes = EarlyPasses() if passes is None else passes
    cmd, _ = latex_engine()
    if cmd is None or not all(hasattr(os, f) for f in ("mkfifo", "waitid", "wait4")):
        return passes
    prefixes = {name: latex_preamble(name).encode("utf-8") for name in tex_names}
    prefixes = {name: data for name, data in prefixes.items() if declares_one_pass(data)}
    passes.start(Path(outdir).resolve(), prefixes, cmd, _tex_env())
    return passes


@dataclass
class Compiled:
    """One compiled document: the PDF, the log of its last pass, and the files that pass wrote for the next."""

    pdf: Path
    aux: dict[str, bytes]
    passes: int
    drafts: int = 0  # of the passes, those run in draft mode (no PDF written)


def compile_pdf(outdir: Path, tex_name: str = "report.tex", seed: dict[str, bytes] | None = None) -> Path:
    """Compile ``outdir/tex_name`` in a scratch folder; move the PDF in on success.

    Figures referenced by the .tex are beside it in ``outdir``.  On failure
    the log is kept as ``report.log`` and :class:`PdfError` raised.  ``seed``
    (optional) is the auxiliary files of an earlier compile of the document
    (:func:`compile_document`); the result is the same PDF either way.
    """
    return compile_document(outdir, tex_name, seed).pdf


def compile_document(
    outdir: Path,
    tex_name: str = "report.tex",
    seed: dict[str, bytes] | None = None,
    figures: list[str] | None = None,
    early: EarlyPass | None = None,
) -> Compiled:
    """:func:`compile_pdf`, with the auxiliary files and the number of pdflatex passes.

    ``figures`` names the figures beside the .tex that it includes (default:
    every ``fig-*.pdf`` there).

    pdflatex runs until the files a pass writes for the next (``.aux``,
    ``.out``, ``.toc``, ...) are the ones it read, at most :data:`MAX_PASSES`
    times; so the PDF is typeset from a fixed point of its own cross
    references.  Starting from ``seed``, an earlier version's files, an edit
    that moves no reference costs one pass; starting from nothing, two, the
    first in draft mode (:data:`DRAFT`: a pass that reads no auxiliary file
    is never the last, so its PDF is not written).  The fixed point, and so
    the PDF, is the same.

    A document that declares :data:`ONE_PASS` (report.tex, companion.tex)
    is compiled from nothing, ``seed`` or not, and its first pass is a full
    one: it is the last when it wrote nothing the next pass would act on
    (:func:`_settled`), else the passes go on as for any document.

    ``early`` (optional, see :func:`start_early_passes`) is a pass started
    on the document's first bytes in a work folder of its own: when the
    ``.tex`` starts with them, it is fed the rest and is the first pass,
    in its folder; else (or when it ended early) it is killed and the
    compile runs as without it.  Either way the PDF and the log are the
    same bytes.
    """
    cmd, why = latex_engine()
    if cmd is None:
        if early is not None:
            early.close()
        raise FileNotFoundError(why)
    outdir = Path(outdir).resolve()
    source = (outdir / tex_name).read_bytes()
    if early is not None:
        with early:  # pdflatex ended and the work folder removed, whatever happens
            # (a document that declares one pass has a full first pass from nothing: the one started early)
            if early.fits(source, cmd) and declares_one_pass(source):
                try:
                    return _compile_in(early.work, outdir, tex_name, source, seed, figures, cmd, early)
                except Unusable:
                    pass  # the regular way below, from nothing
    with tempfile.TemporaryDirectory(prefix=".gradproof-pdf-", dir=outdir) as work:
        shutil.copy2(outdir / tex_name, Path(work) / tex_name)
        return _compile_in(Path(work), outdir, tex_name, source, seed, figures, cmd)


def _compile_in(work: Path, outdir: Path, tex_name: str, source: bytes, seed, figures, cmd, early=None) -> Compiled:
    """:func:`compile_document` in ``work``, which holds ``tex_name`` (``early``: its first pass's pipe)."""
    stem = Path(tex_name).stem
    names = _figure_names(outdir, figures)
    for fig in names:
        shutil.copy2(outdir / fig, work / fig)
    # named, not listed: an early pass has written its .aux's start already, which is no input
    inputs = {tex_name, *names}
    # a one-pass document starts from nothing, seed or not: so its log reads the same however it was reached
    one_pass = declares_one_pass(source)
    for name, data in ({} if one_pass else seed or {}).items():
        if _is_aux_name(name, stem) and name not in inputs:
            (work / name).write_bytes(data)
    env = _tex_env()
    aux, passes, drafts = _aux_files(work, inputs, stem), 0, 0
    while passes < MAX_PASSES:
        # a first pass that reads no auxiliary file is not the last (a LaTeX pass writes an .aux) unless
        # the document declares that what it writes there changes nothing: else it runs in draft mode,
        # typesetting without reading the figures or writing the PDF
        draft = [DRAFT] if not aux and not passes and not one_pass else []
        if early is not None and not passes and not draft:
            code, out = early.finish(source, timeout=PASS_TIMEOUT)  # the same pass, its input streamed
            _check_pass(code, out, work, outdir, stem, tex_name)
        else:
            _pass(cmd[:1] + draft + cmd[1:] + [tex_name], work, env, outdir, stem, tex_name)
        passes, drafts = passes + 1, drafts + bool(draft)
        written = _aux_files(work, inputs, stem)
        if _settled(written, aux, one_pass) and not draft:
            aux = written
            break  # the fixed point: another pass would read what this one read
        aux = written
    pdf = outdir / f"{stem}.pdf"
    write_atomic(pdf, (work / f"{stem}.pdf").read_bytes())
    write_atomic(outdir / f"{stem}.log", (work / f"{stem}.log").read_bytes())
    return Compiled(pdf, aux, passes, drafts)


def _figure_names(outdir: Path, figures: list[str] | None) -> list[str]:
    """``figures``, or every ``fig-*.pdf`` in ``outdir``, sorted."""
    if figures is None:
        return sorted(p.name for p in outdir.glob("fig-*.pdf"))
    return sorted(figures)


def _is_aux_name(name: str, stem: str) -> bool:
    """A file a pass writes for the next: ``stem.ext``, nothing that is a path, the PDF or the log."""
    ext = name[len(stem) + 1 :] if name.startswith(stem + ".") else ""
    return ext.isalnum() and ext not in ("pdf", "log", "tex", "fls", "synctex")


_WRITEFILE = re.compile(r"\\@writefile\{(\w+)\}")


def _read_back(files: dict[str, bytes]) -> dict[str, bytes]:
    """What the next pass reads of ``files``: the ``.aux`` without the lines that cannot change that pass.

    Two kinds of line hold a section's title and are inert: an
    ``\\@writefile{toc}{...}`` fills a ``.toc`` file, and does nothing when
    the document opened none (no ``\\tableofcontents``); a
    ``\\BKM@entry{...}{...}`` (the bookmark package) is turned into the PDF's
    outline when the run that wrote it reads the ``.aux`` back at its end,
    and is ignored by the next run.  So a retitled section needs no second
    pass.  Anything else counts.
    """
    opened = {name.rsplit(".", 1)[1] for name in files}
    out = dict(files)
    for name, data in files.items():
        if name.endswith(".aux"):
            out[name] = b"\n".join(ln for ln in data.split(b"\n") if not _inert(ln, opened))
    return out


def _inert(line: bytes, opened: set[str]) -> bool:
    """A whole one-line entry that the next pass does not act on (see :func:`_read_back`)."""
    text = line.decode("latin-1")
    if text.count("{") != text.count("}"):
        return False  # not a whole entry on this line: it counts
    if text.startswith("\\BKM@entry{"):
        return True
    found = _WRITEFILE.match(text)
    return bool(found) and found.group(1) not in opened


def declares_one_pass(tex: bytes) -> bool:
    """Whether the preamble of ``tex`` holds the line :data:`ONE_PASS`."""
    head = tex.split(b"\\begin{document}", 1)[0]
    return any(line.rstrip() == ONE_PASS.encode() for line in head.splitlines())


def _settled(written: dict[str, bytes], read: dict[str, bytes], one_pass: bool = False) -> bool:
    """Whether a pass that read ``read`` and wrote ``written`` typeset what the next pass would: its PDF is final.

    Any document: when :func:`_read_back` of both is the same.  A document
    that declares :data:`ONE_PASS` also leaves out of both the ``.aux``
    entries that :func:`_fixed` finds inert for it (an ``.aux`` left empty
    is as good as none); so its first pass from nothing is final when it
    wrote no label (:func:`_fixed` argues the rest).
    """
    if not one_pass:
        return _read_back(written) == _read_back(read)

    def effect(files: dict[str, bytes]) -> dict[str, bytes]:  # an .aux left empty reads as no .aux at all
        return {n: d for n, d in _read_back(_unfixed(files, read)).items() if d.strip() or not n.endswith(".aux")}

    return effect(written) == effect(read)


def _unfixed(files: dict[str, bytes], read: dict[str, bytes]) -> dict[str, bytes]:
    """``files`` without the ``.aux`` entries that are inert for a one-pass document that read ``read``."""
    out = dict(files)
    for name, data in files.items():
        if name.endswith(".aux"):
            tables = {m.group(1) for e in _entries(read.get(name, b"")) if (m := _LT_WIDTHS.fullmatch(e))}
            out[name] = b"\n".join(e for e in _entries(data) if not _fixed(e, tables))
    return out


def _entries(data: bytes) -> list[bytes]:
    """An ``.aux`` as whole entries: lines joined until their braces balance."""
    out, lines, depth = [], [], 0
    for line in data.split(b"\n"):
        lines.append(line)
        depth += line.count(b"{") - line.count(b"}")
        if depth <= 0:
            out.append(b"\n".join(lines))
            lines, depth = [], 0
    if lines:
        out.append(b"\n".join(lines))
    return out


# a long table's column widths: \LT@entry{chunk}{width} per column, chunk the one that set the width
_LT_WIDTHS = re.compile(rb"\\gdef \\(LT@[ivxlcdm]+) \{(?:\\LT@entry\s*\{\d+\}\{-?[\d.]+pt\})+\}")
_LT_ONE_CHUNK = re.compile(rb"\\LT@entry\s*\{1\}")
# what hyperref and bookmark write first in every .aux: no-op definitions of commands they define themselves
# before the .aux is read, and code for a run without hyperref; and the page total, which nothing here uses
_HEADER = re.compile(
    rb"\\relax ?|\\providecommand\\[A-Za-z@]+(?:\[\d\])?\{(?:\\AtBeginDocument)?\}"
    rb"|\\global\\let\\hyper@last\\relax ?|\\gdef\\HyperFirstAtBeginDocument#1\{#1\}"
    rb"|\\HyperFirstAtBeginDocument\{\\ifx\\hyper@anchor\\@undefined\n"
    rb"\\global\\let\\oldnewlabel\\newlabel\n"
    rb"\\gdef\\newlabel#1#2\{\\newlabelxx\{#1\}#2\}\n"
    rb"\\gdef\\newlabelxx#1#2#3#4#5#6\{\\oldnewlabel\{#1\}\{\{#2\}\{#3\}\}\}\n"
    rb"\\AtEndDocument\{\\ifx\\hyper@anchor\\@undefined\n"
    rb"\\let\\newlabel\\oldnewlabel\n"
    rb"\\fi\}\n"
    rb"\\fi\}"
    rb"|\\gdef \\@abspage@last\{\d+\}"
)


def _fixed(entry: bytes, tables: set[bytes]) -> bool:
    """An ``.aux`` entry of a one-pass document that the next pass reads to no effect, the pass having read
    the long tables ``tables``.

    hyperref's and bookmark's opening lines (:data:`_HEADER`) define what
    those packages, loaded, have defined already, and the page total is
    unused.  A long table's widths: longtable sets each chunk of rows (its
    head is a chunk of its own, the first) at least as wide as the widths
    known when the chunk starts (read from the ``.aux``, widened by the
    chunks before), except for the widths that chunk itself set, and
    writes the widest of each column with the number of the chunk it came
    from.  A table the pass read no widths for, whose widths all came from
    its first chunk, had that chunk at its natural widths and every later
    one at those widths; the next pass reads them and sets each chunk the
    same way: nothing moves.  Any later chunk's width moves what came
    before it, so it counts, as do widths the pass read (compared as any
    entry).  A label is never inert.
    """
    if _HEADER.fullmatch(entry):
        return True
    table = _LT_WIDTHS.fullmatch(entry)
    if table is None or table.group(1) in tables:
        return False
    return len(_LT_ONE_CHUNK.findall(entry)) == entry.count(b"\\LT@entry")


def _aux_files(work, inputs: set[str], stem: str) -> dict[str, bytes]:
    return {
        n: (Path(work) / n).read_bytes()
        for n in sorted(os.listdir(work))
        if n not in inputs and _is_aux_name(n, stem) and (Path(work) / n).is_file()
    }


def _pass(cmd: list[str], work, env: dict, outdir: Path, stem: str, tex_name: str) -> None:
    """One pdflatex run; on failure the log is kept beside the .tex and :class:`PdfError` raised."""
    from gradproof.derive.support.lifetime import run_guarded

    # guarded: pdflatex dies with this process, never left running alone
    proc = run_guarded(
        cmd,
        cwd=work,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=PASS_TIMEOUT,
    )
    _check_pass(proc.returncode, proc.stdout, work, outdir, stem, tex_name)


def _check_pass(code: int, stdout: bytes, work, outdir: Path, stem: str, tex_name: str) -> None:
    """A pass that exited with ``code``: on failure the log is kept beside the .tex and :class:`PdfError` raised."""
    if code != 0:
        log = Path(work) / f"{stem}.log"
        text = log.read_text(encoding="latin-1") if log.exists() else stdout.decode("latin-1")
        if log.exists():
            shutil.copy2(log, outdir / f"{stem}.log")
        first = next(
            (ln for ln in text.splitlines() if ln.startswith("!") or ":error:" in ln or ".tex:" in ln),
            "see the log",
        )
        raise PdfError(f"pdflatex failed on {tex_name}: {first.strip()} (log: {outdir / (stem + '.log')})")


@dataclass
class WriteResult:
    """What :func:`write_report` wrote, and what it skipped and why."""

    files: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def write_report(report: Report, outdir, formats=FORMATS, progress=None, parts=None, early=None) -> WriteResult:
    """Render ``report`` into ``outdir``: index.html, report.tex (+ figures), report.pdf.

    ``parts`` (a :class:`gradproof.reports.incremental.Keys`, optional) reads
    back the activation plot and any PDF whose ``.tex`` and figures were
    compiled before, and stores new ones.  The ``.tex`` files are written
    first, so that pdflatex runs while the HTML is rendered; report.tex's
    compile starts as soon as it and its figures are written, the
    companion's when it is.  ``early`` (optional, from
    :func:`start_early_passes` on ``outdir``) holds pdflatex passes already
    started on the documents' preambles: each compile takes its own as its
    first pass (:func:`compile_document`); when this returns, every one has
    ended and its work folder is gone.
    """
    try:
        return _write_report(report, Path(outdir), formats, progress, parts, early)
    finally:
        if early is not None:
            early.close()  # those not taken: a document not compiled, or read back


def _write_report(report: Report, outdir: Path, formats, progress, parts, early) -> WriteResult:
    outdir.mkdir(parents=True, exist_ok=True)
    result, tex = WriteResult(), WriteResult()
    if "latex" in formats or "pdf" in formats:
        _write_latex(report, outdir, tex, progress)
    pdfs: list[_Compiling] = []
    if "pdf" in formats:
        cmd, why = latex_engine()
        if cmd is None:
            result.skipped.append(f"PDF skipped: {why}; report.tex is ready to compile")
        else:
            if progress:
                progress.note("report.pdf (pdflatex)")
            figures = [f"{fig.name}.pdf" for fig in report.figures]
            first = early.get("report.tex") if early is not None else None
            pdfs.append(_Compiling(outdir, ["report.tex"], parts, figures, early))
            pdfs[0].wait_feeding(first)
    try:
        if _write_companion(report, outdir, formats, tex, progress, parts) and pdfs:
            pdfs.append(_Compiling(outdir, ["companion.tex"], parts, early=early))
        if "html" in formats:
            _write_html(report, outdir, result, progress)
    except Exception:
        for compiling in pdfs:  # every pdflatex has ended before the folder is dropped
            compiling.join()
        raise
    result.files += tex.files  # in the order they are listed: index.html, the .tex files, the PDFs
    result.timings.update(tex.timings)
    for compiling in pdfs:  # the first failure, once every compile has ended
        result.files += compiling.wait()
    if pdfs:  # from the first compile's start to the last one's end
        result.timings["pdf"] = max(c.ended for c in pdfs) - pdfs[0].started
    if "pdf" in formats and progress:
        progress.advance("report.pdf")
    return result


def _write_html(report: Report, outdir: Path, result: WriteResult, progress=None) -> None:
    from gradproof.reports.render_html import render_html

    t0 = time.perf_counter()
    if progress:
        progress.note("index.html")
    path = outdir / "index.html"
    write_atomic(path, render_html(report))
    result.files.append(path)
    result.timings["html"] = time.perf_counter() - t0
    if progress:
        progress.advance("index.html")


def _write_latex(report: Report, outdir: Path, result: WriteResult, progress=None) -> None:
    """report.tex and the figures beside it."""
    from gradproof.reports.render_latex import render_latex

    t0 = time.perf_counter()
    if progress:
        progress.note("report.tex")
    for fig in report.figures:
        write_atomic(outdir / f"{fig.name}.pdf", fig.pdf)
        result.files.append(outdir / f"{fig.name}.pdf")
    path = outdir / "report.tex"
    write_atomic(path, render_latex(report))
    result.files.append(path)
    result.timings["latex"] = time.perf_counter() - t0
    if progress:
        progress.advance("report.tex")


class _Compiling:
    """:func:`compile_pdfs` in a thread of its own, started now; :meth:`wait` gives its PDFs or raises its error.

    NOTE: a daemon thread, so that a stopped run does not wait for pdflatex
    (the guarded launcher kills pdflatex when this process ends).
    """

    def __init__(self, outdir: Path, texs: list[str], parts=None, figures: list[str] | None = None, early=None):
        import threading

        self.outcome: list | BaseException = []
        self.started = self.ended = time.perf_counter()
        args = (outdir, texs, parts, figures, early)
        self._thread = threading.Thread(target=self._run, args=args, daemon=True)
        self._thread.start()

    def _run(self, outdir, texs, parts, figures, early) -> None:
        try:
            self.outcome = compile_pdfs(outdir, texs, parts, figures, early)
        except BaseException as err:  # re-raised by wait(), in the caller's thread
            self.outcome = err
        self.ended = time.perf_counter()

    def wait_feeding(self, early: EarlyPass | None, timeout: float = 0.5) -> None:
        """Wait (at most ``timeout`` seconds) until the compile feeds ``early``, its early pass, the rest of the
        document (or ends it): the few steps before (the PDF's key, the figures copied) then need not share the
        interpreter with what this thread renders next, and pdflatex starts on the body sooner."""
        deadline = time.monotonic() + timeout
        while early is not None and self._thread.is_alive() and time.monotonic() < deadline:
            if early.feeding.wait(0.005):
                return

    def join(self) -> None:
        self._thread.join()

    def wait(self) -> list[Path]:
        self._thread.join()
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome


def _is_compiled(obj) -> bool:
    return isinstance(obj.get("pdf"), bytes) and isinstance(obj.get("log"), bytes)


def _is_seed(obj) -> bool:
    return all(isinstance(k, str) and isinstance(v, bytes) for k, v in obj.items())


def compile_pdfs(
    outdir: Path, texs: list[str], parts=None, figures: list[str] | None = None, early: EarlyPasses | None = None
) -> list[Path]:
    """Each ``.tex`` of ``outdir`` as a PDF beside it: read back when the same input was compiled before,
    else compiled, the documents side by side (one pdflatex per core).

    A PDF is stored with its log under a key of its ``.tex``, the figures
    beside it and the TeX engine; the auxiliary files of its last pass are
    stored too, under a key of the output folder and the file's name, and
    seed the next compile of that document there (:func:`compile_document`).
    ``figures`` names the figures the documents include (default: every
    ``fig-*.pdf`` beside them).  The first failure raises :class:`PdfError`
    once every compile has ended.  ``early`` (optional) holds passes started
    on the documents' preambles (:func:`start_early_passes`): a compile takes
    its document's, a PDF read back ends it.
    """
    from gradproof.reports import incremental

    cmd, _ = latex_engine()
    names = _figure_names(outdir, figures)
    figs = {name: (outdir / name).read_bytes() for name in names}
    keys, seeds, todo = {}, {}, []
    for tex in texs:
        stem = Path(tex).stem
        keys[tex] = incremental.pdf_key((outdir / tex).read_bytes(), figs, cmd) if parts is not None else None
        hit = parts.load(keys[tex], dict, _is_compiled) if parts is not None else None
        if hit is None:
            todo.append(tex)
            seeds[tex] = incremental.aux_key(tex, cmd) if parts is not None else None
        else:
            if early is not None:
                early.drop(tex)  # read back: no pdflatex runs for it
            write_atomic(outdir / f"{stem}.pdf", hit["pdf"])
            write_atomic(outdir / f"{stem}.log", hit["log"])
    # NOTE: a seed is read without being recorded as a part: it decides no byte of the output
    found = {tex: incremental.load_seed(seeds[tex], _is_seed) for tex in todo}
    outcomes = _compile_side_by_side(outdir, todo, found, names, early)
    for tex in todo:
        if isinstance(outcomes[tex], BaseException):
            raise outcomes[tex]
    for tex in todo:
        if parts is not None:
            stem = Path(tex).stem
            pdf, log = (outdir / f"{stem}.pdf").read_bytes(), (outdir / f"{stem}.log").read_bytes()
            parts.save(keys[tex], {"pdf": pdf, "log": log})
            incremental.store_seed(seeds[tex], outcomes[tex].aux)
    return [outdir / f"{Path(tex).stem}.pdf" for tex in texs]


def _compile_side_by_side(outdir: Path, texs: list[str], seeds: dict | None = None, figures=None, early=None) -> dict:
    """:func:`compile_document` on each file, the first here and the others in threads; outcome or exception
    per file.

    NOTE: daemon threads, so that a stopped run does not wait for pdflatex;
    the guarded launcher (:func:`gradproof.derive.support.lifetime.run_guarded`)
    kills each pdflatex when this process ends.
    """
    import threading

    outcomes: dict = {}
    seeds = seeds or {}

    def run(tex: str) -> None:
        try:
            started = early.take(tex) if early is not None else None
            outcomes[tex] = compile_document(outdir, tex, seeds.get(tex), figures, started)
        except Exception as err:  # re-raised by the caller, in the order of the files
            outcomes[tex] = err

    threads = [threading.Thread(target=run, args=(tex,), daemon=True) for tex in texs[1:]]
    for t in threads:
        t.start()
    if texs:
        run(texs[0])
    for t in threads:
        t.join()
    return outcomes


def _write_companion(report: Report, outdir: Path, formats, result: WriteResult, progress=None, parts=None) -> bool:
    """The slide-ordered companion beside the report (whole lecture only); True when companion.tex was written."""
    from gradproof.reports import companion
    from gradproof.reports.document import Figure

    if not companion.covers_lecture(report):
        return False
    t0 = time.perf_counter()
    if progress:
        progress.note("companion")
    key = parts.source("activations") if parts is not None else None
    figure = report.companion_figure or (parts.load(key, Figure) if parts is not None else None)
    if figure is None:
        from gradproof.reports.plots import activation_figure

        figure = activation_figure()
        if parts is not None:
            parts.save(key, figure)
    if "html" in formats:
        path = outdir / "companion.html"
        write_atomic(path, companion.render_html(report, figure))
        result.files.append(path)
    wrote_tex = False
    if "latex" in formats or "pdf" in formats:
        write_atomic(outdir / f"{figure.name}.pdf", figure.pdf)
        result.files.append(outdir / f"{figure.name}.pdf")
        path = outdir / "companion.tex"
        write_atomic(path, companion.render_latex(report, figure))
        result.files.append(path)
        wrote_tex = True
    result.timings["companion"] = time.perf_counter() - t0
    return wrote_tex
