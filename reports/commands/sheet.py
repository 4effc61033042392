"""``gradproof sheet``: a printable exercise sheet and a separate solution sheet.

Both are written as HTML and LaTeX (and PDF when pdflatex is installed):
``exercises.*`` has the prompts and room to answer, never a solution;
``solutions.*`` has the hint ladder and the worked solution generated from
each topic's derivation.
"""

from __future__ import annotations

import sys
from pathlib import Path

from gradproof.reports.errors import CLIError

FORMATS = ("html", "latex", "pdf")


def _items(exs, solutions: bool) -> list[dict]:
    from gradproof.derive.output.tex import safe_math
    from gradproof.derive.seminar.hints import derivation_link, hint_ladder, typing_example, worked_solution
    from gradproof.derive.seminar.numeric_items import given_text

    out = []
    for ex in exs:
        it = {
            "id": ex.id,
            "title": ex.title,
            "section": ex.section,
            "answer_type": ex.answer_type,
            "prompt": ex.prompt,
            "symbols": ex.symbol_table(),
            "given": given_text(ex),
            "options": ex.options,
            "steps": ex.stages,
            "example": typing_example(ex),
            "link": derivation_link(ex),
        }
        if solutions:
            it["hints"] = hint_ladder(ex)
            it["solution"] = [
                dict(ln, latex=safe_math(ln["latex"]) if ln["latex"] else "") for ln in worked_solution(ex)
            ]
        out.append(it)
    return out


def cmd_sheet(args) -> int:
    from gradproof.derive.seminar.exercises import UnknownExercise, get
    from gradproof.reports.commands.exercises import _bank
    from gradproof.reports.grading import _env as html_env
    from gradproof.reports.render_latex import _env as tex_env
    from gradproof.reports.writing import PdfError, compile_pdf, latex_engine, write_atomic

    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise CLIError(f"unknown format {', '.join(bad) or '(none)'}; choose from {', '.join(FORMATS)}", 2)
    bank = _bank()
    try:
        exs = [get(e) for e in args.exercises] if args.exercises else bank
    except UnknownExercise as err:
        raise CLIError(str(err), 2) from None
    if args.variant_for is not None:
        exs = [ex.variant_for(args.variant_for) for ex in exs]
    out = Path(args.output)
    if out.exists() and not out.is_dir():
        raise CLIError(f"{args.output} exists and is not a folder", 2)
    written = []
    try:
        for solutions, stem, title in (
            (False, "exercises", "Seminar exercises"),
            (True, "solutions", "Seminar exercises: hints and worked solutions"),
        ):
            ctx = dict(
                title=title,
                student=args.variant_for or "",
                solutions=solutions,
                items=_items(exs, solutions),
                intro=(
                    "Worked solutions are generated from the derivations (gradproof derive TOPIC)."
                    if solutions
                    else 'Check an answer with: gradproof check EXERCISE "ANSWER".'
                ),
            )
            if "html" in formats:
                write_atomic(out / f"{stem}.html", html_env().get_template("sheet.html.j2").render(**ctx))
                written.append(out / f"{stem}.html")
            if "latex" in formats or "pdf" in formats:
                write_atomic(out / f"{stem}.tex", tex_env().get_template("sheet.tex.j2").render(**ctx))
                written.append(out / f"{stem}.tex")
    except OSError as err:
        raise CLIError(f"cannot write to {args.output}: {err.strerror}", 2) from None
    if "pdf" in formats:
        cmd, why = latex_engine()
        if cmd is None:
            print(f"gradproof sheet: PDF skipped: {why}", file=sys.stderr)
        else:
            for stem in ("exercises", "solutions"):
                try:
                    written.append(compile_pdf(out, f"{stem}.tex"))
                except PdfError as err:
                    raise CLIError(str(err), 1) from None
    print(f"{len(exs)} exercises; wrote " + ", ".join(str(p) for p in written))
    return 0
