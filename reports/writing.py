"""Writing a built report: index.html, report.tex and its figures, the companion, the PDFs.

:func:`write_report` renders a :class:`~gradproof.reports.document.Report`
(from :func:`gradproof.reports.build.build_report`) into an output folder,
every file atomically; :func:`compile_pdfs` compiles the ``.tex`` files, or
reads back a PDF compiled before from the same input.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from gradproof.derive.support.atomic import write_atomic
from gradproof.reports.document import Report

FORMATS = ("html", "latex", "pdf")


class PdfError(Exception):
    """pdflatex failed on report.tex: the message is the first error line."""


def latex_engine() -> tuple[list[str] | None, str]:
    """The command that compiles a .tex file to PDF, or ``None`` and why not."""
    if shutil.which("pdflatex") is None:
        return None, (
            "pdflatex not found (install TeX Live, e.g. Debian's texlive-latex-base texlive-latex-recommended latexmk)"
        )
    if shutil.which("latexmk"):
        return ["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error", "-quiet"], ""
    return ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error"], ""


def compile_pdf(outdir: Path, tex_name: str = "report.tex") -> Path:
    """Compile ``outdir/tex_name`` in a scratch folder; move the PDF in on success.

    Figures referenced by the .tex are beside it in ``outdir``.  On failure
    the log is kept as ``report.log`` and :class:`PdfError` raised.
    """
    from gradproof.derive.support.lifetime import run_guarded

    cmd, why = latex_engine()
    if cmd is None:
        raise FileNotFoundError(why)
    outdir = Path(outdir).resolve()
    stem = Path(tex_name).stem
    with tempfile.TemporaryDirectory(prefix=".gradproof-pdf-", dir=outdir) as work:
        shutil.copy2(outdir / tex_name, Path(work) / tex_name)
        for fig in outdir.glob("fig-*.pdf"):
            shutil.copy2(fig, Path(work) / fig.name)
        # A fixed date makes pdfTeX's output reproducible too.
        env = dict(os.environ, SOURCE_DATE_EPOCH="0", FORCE_SOURCE_DATE="1")
        runs = [cmd + [tex_name]] if cmd[0] == "latexmk" else [cmd + [tex_name]] * 2
        for run in runs:
            # guarded: pdflatex dies with this process, never left running alone
            proc = run_guarded(
                run,
                cwd=work,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                timeout=300,
            )
            if proc.returncode != 0:
                log = Path(work) / f"{stem}.log"
                text = log.read_text(encoding="latin-1") if log.exists() else proc.stdout.decode("latin-1")
                if log.exists():
                    shutil.copy2(log, outdir / f"{stem}.log")
                first = next(
                    (ln for ln in text.splitlines() if ln.startswith("!") or ":error:" in ln or ".tex:" in ln),
                    "see the log",
                )
                raise PdfError(f"pdflatex failed on {tex_name}: {first.strip()} (log: {outdir / (stem + '.log')})")
        pdf = outdir / f"{stem}.pdf"
        write_atomic(pdf, (Path(work) / f"{stem}.pdf").read_bytes())
        write_atomic(outdir / f"{stem}.log", (Path(work) / f"{stem}.log").read_bytes())
    return pdf


@dataclass
class WriteResult:
    """What :func:`write_report` wrote, and what it skipped and why."""

    files: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


def write_report(report: Report, outdir, formats=FORMATS, progress=None, parts=None) -> WriteResult:
    """Render ``report`` into ``outdir``: index.html, report.tex (+ figures), report.pdf.

    ``parts`` (a :class:`gradproof.reports.incremental.Keys`, optional) reads
    back the activation plot and any PDF whose ``.tex`` and figures were
    compiled before, and stores new ones.
    """
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    result = WriteResult()
    if "html" in formats:
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
    if "latex" in formats or "pdf" in formats:
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
    companion = _write_companion(report, outdir, formats, result, progress, parts)
    if "pdf" in formats:
        cmd, why = latex_engine()
        if cmd is None:
            result.skipped.append(f"PDF skipped: {why}; report.tex is ready to compile")
        else:
            t0 = time.perf_counter()
            if progress:
                progress.note("report.pdf (pdflatex)")
            texs = ["report.tex"] + (["companion.tex"] if companion else [])
            result.files += compile_pdfs(outdir, texs, parts)
            result.timings["pdf"] = time.perf_counter() - t0
        if progress:
            progress.advance("report.pdf")
    return result


def _is_compiled(obj) -> bool:
    return isinstance(obj.get("pdf"), bytes) and isinstance(obj.get("log"), bytes)


def compile_pdfs(outdir: Path, texs: list[str], parts=None) -> list[Path]:
    """Each ``.tex`` of ``outdir`` as a PDF beside it: read back when the same input was compiled before,
    else compiled, the documents side by side (one pdflatex per core).

    A PDF is stored with its log under a key of its ``.tex``, the figures
    beside it and the TeX engine; the first failure raises :class:`PdfError`
    once every compile has ended.
    """
    from gradproof.reports import incremental

    cmd, _ = latex_engine()
    figures = {p.name: p.read_bytes() for p in sorted(outdir.glob("fig-*.pdf"))}
    keys, todo = {}, []
    for tex in texs:
        stem = Path(tex).stem
        keys[tex] = incremental.pdf_key((outdir / tex).read_bytes(), figures, cmd) if parts is not None else None
        hit = parts.load(keys[tex], dict, _is_compiled) if parts is not None else None
        if hit is None:
            todo.append(tex)
        else:
            write_atomic(outdir / f"{stem}.pdf", hit["pdf"])
            write_atomic(outdir / f"{stem}.log", hit["log"])
    outcomes = _compile_side_by_side(outdir, todo)
    for tex in todo:
        if isinstance(outcomes[tex], BaseException):
            raise outcomes[tex]
    for tex in todo:
        if parts is not None:
            stem = Path(tex).stem
            pdf, log = (outdir / f"{stem}.pdf").read_bytes(), (outdir / f"{stem}.log").read_bytes()
            parts.save(keys[tex], {"pdf": pdf, "log": log})
    return [outdir / f"{Path(tex).stem}.pdf" for tex in texs]


def _compile_side_by_side(outdir: Path, texs: list[str]) -> dict:
    """:func:`compile_pdf` on each file, the first here and the others in threads; outcome or exception per file.

    NOTE: daemon threads, so that a stopped run does not wait for pdflatex;
    the guarded launcher (:func:`gradproof.derive.support.lifetime.run_guarded`)
    kills each pdflatex when this process ends.
    """
    import threading

    outcomes: dict = {}

    def run(tex: str) -> None:
        try:
            outcomes[tex] = compile_pdf(outdir, tex)
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
