"""``gradproof report``: the main job, the whole verified lecture as HTML, LaTeX and PDF."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from gradproof.reports.errors import CLIError
from gradproof.reports.writing import FORMATS


def parse_formats(text: str) -> tuple[str, ...]:
    """``"html,pdf"`` -> ``("html", "pdf")``; unknown names are a user error."""
    wanted = tuple(dict.fromkeys(f.strip().lower() for f in text.split(",") if f.strip()))
    bad = [f for f in wanted if f not in FORMATS]
    if bad or not wanted:
        raise CLIError(f"unknown format {', '.join(bad) or repr(text)}; choose from {', '.join(FORMATS)}", 2)
    return wanted


class _Refused(Exception):
    """An --expr was refused and the message printed: exit with ``code``."""

    def __init__(self, code: int):
        super().__init__(code)
        self.code = code


def load_expressions(items, shapes) -> list:
    """Register each ``--expr EXPR --wrt VAR [--hessian]`` as a user topic, read and derived now
    (before the output folder is touched); returns the topics."""
    if not items:
        return []
    from gradproof.derive.specs.expression_topic import (
        MAX_EXPRESSIONS,
        ExpressionDeclaration,
        ExpressionError,
        expression_topic,
        register,
    )
    from gradproof.reports.commands.diff import refuse_expression

    if len(items) > MAX_EXPRESSIONS:
        raise CLIError(f"{len(items)} expressions; the limit is {MAX_EXPRESSIONS}", 2)
    topics = []
    try:
        for k, item in enumerate(items, 1):
            if item["wrt"] is None:
                raise CLIError(f"--expr {item['expr'][:40]!r} needs --wrt VAR after it", 2)
            decl = ExpressionDeclaration(item["expr"], item["wrt"], tuple(shapes), item["hessian"])
            topics.append(expression_topic(decl, f"expression_{k}", "given with --expr"))
        return register(topics)
    except ExpressionError as err:
        raise _Refused(refuse_expression("report", f"--expr {k}: {err}", err.caret)) from None


def cmd_report(args) -> int:
    """Build the report; exit 1 when any check failed (the report says which).

    An unchanged rerun (the same source, options and spec files) publishes
    the stored output folder, once every part it was built from still
    authenticates; otherwise each topic, figure and PDF is read back or
    built (:mod:`gradproof.reports.incremental`).  With ``--timings`` (or
    ``GRADPROOF_TIMINGS=1``) where the time went is printed on stderr.
    """
    from gradproof.reports import incremental
    from gradproof.reports.timings import Span, Timeline, process_start, wanted

    _quick_exit()
    timeline = Timeline()
    started = process_start()
    if started is not None and started < timeline.origin:
        timeline.add(Span("parent", "start-up: the interpreter, the command's imports", started, timeline.origin, 0.0))
        timeline.origin = started
    try:
        formats = parse_formats(args.format)
        start = time.perf_counter()
        specs = list(getattr(args, "spec", []) or [])
        from gradproof.reports.writing import latex_engine

        with timeline.span("output key: the sources hashed, a stored output looked up"):
            # --expr and --shape decide the report as the spec files do
            expressions = [repr(getattr(args, "exprs", None) or []), repr(getattr(args, "shape", None) or [])]
            memo_key = incremental.output_key(list(args.topics) + expressions, formats, specs, latex_engine()[0])
            memo = incremental.load_output(memo_key)
        if memo is not None:
            with timeline.span("stored output published"):
                return _publish_stored(args, memo, start)
        return _build(args, formats, specs, memo_key, start, timeline)
    finally:
        if wanted(getattr(args, "timings", False)):
            print(timeline.text(), file=sys.stderr)


def _quick_exit() -> None:
    """At interpreter exit, keep the collector off what the run built (registered once per process).

    NOTE: the interpreter's last garbage collections at exit traverse every
    object the run made (SymPy's expressions and caches, the registry): a
    tenth of a second or more of the command's wall time, measured, after
    the report is written, for memory the process is about to give back.
    Frozen objects are not traversed; nothing is left to do with them (files
    are written and closed, workers and pdflatex reaped, atexit's own
    clean-ups still run).
    """
    import atexit
    import gc

    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)


def _build(args, formats, specs, memo_key, start, timeline) -> int:
    from gradproof.derive.support.atomic import OutputError, OutputFolder
    from gradproof.reports.commands.topics import load_specs

    with timeline.span("spec files and expressions read"):
        user = [t.name for t in load_specs(specs)]
        try:
            user += [t.name for t in load_expressions(getattr(args, "exprs", []), getattr(args, "shape", []))]
        except _Refused as err:
            return err.code
    names = list(args.topics) + [n for n in user if n not in args.topics]
    try:
        # built beside the folder, swapped in when complete; locked against a second run.  Opened before the
        # registry loads: the PDFs' first pdflatex passes start in it while SymPy is imported
        with OutputFolder(args.output, command="report", follow_symlinks=args.follow_symlinks) as folder:
            return _build_into(folder, args, formats, names, memo_key, start, timeline)
    except OutputError as err:
        raise CLIError(str(err), 2) from None
    except OSError as err:
        # the output folder, not a check, failed: bad input (exit 2)
        raise CLIError(f"cannot write the report into {args.output}: {err.strerror or err}", 2) from None


def _build_into(folder, args, formats, names, memo_key, start, timeline) -> int:
    from gradproof.derive.lecture.registry import UnknownTopic
    from gradproof.reports import incremental
    from gradproof.reports.build import build_report
    from gradproof.reports.console import Bar
    from gradproof.reports.writing import EarlyPasses, PdfError, start_early_passes, write_report

    parts = incremental.Keys()
    early, passes = None, EarlyPasses()
    try:
        from gradproof.reports.build import early_topics, select_topics, start_early, warm_start

        with timeline.span("topics to build guessed (no SymPy, no registry)"):
            predicted = incremental.predict_builds(names)
            guessed = early_topics(predicted or (), incremental.remembered_topics())
        if "pdf" in formats:
            # the companion (whole lecture only) too when nothing is stored; after an edit its text, which
            # shows few topics' results, is mostly unchanged and its PDF read back
            texs = ["report.tex"] + ["companion.tex"] * (not names and predicted is None)
            with timeline.span("pdflatex started on the preambles (it waits for the rest)"):
                start_early_passes(folder.path, texs, passes)
        declared = None
        if guessed:  # what the worker needs and this process needs too: loaded once, before the fork
            with timeline.span("SymPy imported, the guessed topics declared (shared with the worker)"):
                declared = warm_start(guessed)
        if not names or guessed:
            # started while the registry loads: the whole lecture's SymPy-free figures, a few topics to build
            with timeline.span("parts not stored handed to a worker: SymPy-free figures, the topics guessed"):
                early = start_early(parts, guessed, figures=not names, declarations=declared)
        with timeline.span("registry loaded: SymPy imported, every topic declared"):
            n_topics = len(select_topics(names or None))
        if n_topics == 0:
            raise CLIError("no topic is registered yet: nothing to report", 1)
    except BaseException as err:
        passes.close()
        if early is not None:
            early.stop()
        if isinstance(err, UnknownTopic):
            raise CLIError(str(err), 2) from None
        raise
    # one step per topic, the figures (whole lecture only), then each file written
    steps = (
        n_topics
        + (0 if names else 1)
        + ("html" in formats)
        + ("latex" in formats or "pdf" in formats)
        + ("pdf" in formats)
    )
    pdf_error = None
    try:
        with Bar(steps, "report") as bar:
            report = build_report(
                names or None,
                progress=bar,
                parts=parts,
                timeline=timeline,
                prepare=_preparer(formats, not names),
                early=early,
            )
            early = None  # the build took its worker over
            try:
                with timeline.span("files written") as stages:
                    written = write_report(report, folder.path, formats, progress=bar, parts=parts, early=passes)
                    stages.update(written.timings)
            except PdfError as err:
                pdf_error = err  # the HTML, the .tex and pdflatex's log are still published
            if memo_key is not None and pdf_error is None and report.passed and parts.complete:
                _store_output(memo_key, folder.path, written, len(report.sections), parts)
            with timeline.span("output folder committed"):
                folder.commit()
    finally:
        passes.close()  # every early pass ended, its work folder gone (write_report closed those it was given)
        if early is not None:  # the build never started
            early.stop()
        _pdflatex_spans(timeline, passes)
    if pdf_error is not None:
        raise CLIError(str(pdf_error).replace(str(folder.path), str(folder.target)), 1)
    written.files = [folder.final(p) for p in written.files]
    for line in written.skipped:
        print(f"gradproof report: {line}", file=sys.stderr)
    if report.passed:
        _say_passed(len(report.sections), written.files, start)
        return 0
    files = _listed(written.files)
    print(
        f"gradproof report: VERIFICATION FAILED in {len(report.failures)} check(s); the report says which: {files}",
        file=sys.stderr,
    )
    for f in report.failures:
        print(f"  FAIL {f}", file=sys.stderr)
    return 1


def _pdflatex_spans(timeline, passes) -> None:
    """Each early pdflatex pass that was a compile's first pass: from the rest of its document fed to its end
    (before, it read the preamble and waited); its CPU seconds are the whole pass's."""
    from gradproof.reports.timings import PROGRAM, Span

    for k, e in enumerate(sorted((e for e in passes.finished if e.done), key=lambda e: e.started), 1):
        label = f"{e.tex_name}: the rest fed (started on its preamble at {e.started - timeline.origin:.2f} s)"
        timeline.add(Span(f"{PROGRAM}{k}", label, e.fed, e.ended, e.cpu))


def _preparer(formats, whole_lecture: bool):
    """What the renderers of ``formats`` can load before the report is complete (run while the workers run)."""

    def prepare() -> None:
        from gradproof.reports import companion, render_html, render_latex

        if "html" in formats:
            render_html.prepare()
        if "latex" in formats or "pdf" in formats:
            render_latex.prepare()
        if whole_lecture:  # the companion is written for the whole lecture only
            companion.prepare(("html",) * ("html" in formats) + ("latex",) * ("latex" in formats or "pdf" in formats))

    return prepare


def _listed(files) -> str:
    return ", ".join(str(p) for p in files if p.suffix in (".html", ".tex", ".pdf") and not p.name.startswith("fig-"))


def _say_passed(n_sections: int, files, start: float) -> None:
    wall = time.perf_counter() - start
    print(f"{n_sections} topics, every check passed ({wall:.1f} s): {_listed(files)}")


def _store_output(key: str, folder, written, n_sections: int, parts) -> None:
    """Keep the finished folder's files (a passing run only) for an unchanged rerun."""
    from gradproof.derive.support import cache

    files = {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file() and not p.name.startswith(".")}
    cache.store_entry(
        key,
        {
            "files": files,
            "listed": [p.name for p in written.files],
            "skipped": list(written.skipped),
            "sections": n_sections,
            "parts": parts.used,
        },
    )


def _publish_stored(args, memo: dict, start: float) -> int:
    """Write a stored output folder (its files were authenticated, their parts too) and say what it holds."""
    from gradproof.derive.support.atomic import OutputError, OutputFolder, write_atomic

    names = [n for n in memo["files"] if isinstance(n, str) and n == Path(n).name and not n.startswith(".")]
    try:
        with OutputFolder(args.output, command="report", follow_symlinks=args.follow_symlinks) as folder:
            for name in names:
                write_atomic(folder.path / name, memo["files"][name])
            listed = [folder.final(folder.path / n) for n in memo["listed"] if n in names]
            folder.commit()
    except OutputError as err:
        raise CLIError(str(err), 2) from None
    except OSError as err:
        raise CLIError(f"cannot write the report into {args.output}: {err.strerror or err}", 2) from None
    for line in memo["skipped"]:
        print(f"gradproof report: {line}", file=sys.stderr)
    _say_passed(memo["sections"], listed, start)
    return 0
