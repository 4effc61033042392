"""``gradproof exercises``, ``gradproof check`` and ``gradproof grade``."""

from __future__ import annotations

import json
import os
import sys

from gradproof.reports.errors import CLIError


def _bank():
    from gradproof.derive.seminar.exercises import exercises

    try:
        return exercises()
    except (OSError, ValueError) as err:  # a broken tutor TOML file
        raise CLIError(f"exercise file: {err}", 2) from None


def cmd_exercises(args) -> int:
    bank = _bank()
    if args.json:
        json.dump([ex.to_json() for ex in bank], sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    from gradproof.derive.seminar.hints import typing_example
    from gradproof.derive.seminar.numeric_items import given_text

    width = max((len(ex.id) for ex in bank), default=10)
    for ex in bank:
        print(f"{ex.id:<{width}}  {ex.lhs:<18} {ex.title}  [{ex.answer_type}]")
        print(f"{'':<{width}}  {ex.prompt}")
        if ex.symbols:
            syms = ", ".join(f"{s['name']} ({s['shape']})" for s in ex.symbol_table())
            print(f"{'':<{width}}  symbols: {syms}")
        for o in ex.options:
            print(f"{'':<{width}}  ({o.key}) {o.text}")
        for g in given_text(ex):
            print(f"{'':<{width}}  given: {g}")
        # how to type an answer, never the answer itself
        print(f"{'':<{width}}  type e.g.: {typing_example(ex)}")
    return 0


def cmd_check(args) -> int:
    from gradproof.derive.seminar.exercises import UnknownExercise, get
    from gradproof.derive.seminar.hints import credit_after_help, derivation_link, hint_ladder, worked_solution
    from gradproof.derive.seminar.numeric_items import given_text
    from gradproof.derive.seminar.workers import WarmPool

    _bank()
    try:
        ex = get(args.exercise)
    except UnknownExercise as err:
        raise CLIError(str(err), 2) from None
    if args.student is not None:
        ex = ex.variant_for(args.student)
    if args.hint < 0:
        raise CLIError("--hint takes a number of hints, 1 or more", 2)
    ladder = hint_ladder(ex)
    hints = ladder[: args.hint]
    solution = worked_solution(ex) if args.solution else []
    verdict = None
    if args.answer is not None:
        with WarmPool(workers=1) as pool:
            verdict = pool.run([("answer", ex.id, args.answer)])["answer"]
    elif not hints and not solution:
        raise CLIError("give an ANSWER (or ask for --hint N or --solution)", 2)
    link = derivation_link(ex)
    if args.json:
        d = verdict.to_json() if verdict else {"exercise": ex.id}
        d.update(
            lhs=ex.lhs,
            hints_shown=len(hints),
            hints=hints,
            solution_shown=bool(solution),
            link=link,
            variant=ex.variant,
        )
        if verdict:
            d["credit_before_help"] = verdict.credit
            d["credit"] = credit_after_help(verdict.credit, len(hints), bool(solution))
        if solution:
            d["solution"] = solution
        json.dump(d, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    print(f"{ex.id}: {ex.lhs}")
    for g in given_text(ex):
        print(f"given:      {g}")
    for o in ex.options:
        print(f"option:     ({o.key}) {o.text}")
    for k, h in enumerate(hints):
        print(f"hint {k + 1}/{len(ladder)}: {h}")
    if hints:
        print(f"(recorded: {len(hints)} hint(s) shown)")
    if verdict is not None:
        if verdict.reading:
            print(f"read as:    {verdict.reading}")
        print(f"verdict:    {verdict.status} (decided by {verdict.decided_by})")
        for f in verdict.feedback:
            print(f"feedback:   {f}")
        credit = credit_after_help(verdict.credit, len(hints), bool(solution))
        if (verdict.status != "correct" and verdict.credit) or credit != verdict.credit:
            print(f"credit:     {credit:g}" + (" (after help)" if credit != verdict.credit else ""))
        if verdict.detail:
            print(f"detail:     {verdict.detail}")
        if link:
            print(f"see:        {link}")
    if solution:
        print("worked solution (recorded: solution shown, credit 0):")
        for ln in solution:
            print(f"  {ln['rule']}")
            print(f"      {ln['text']}")
    return 0


def _printable(text: str) -> str:
    """Text from a CSV as it may reach a terminal: control and invisible characters escaped."""
    import unicodedata

    return "".join(ch if ch.isprintable() and unicodedata.category(ch) != "Cf" else ascii(ch)[1:-1] for ch in text)


def cmd_grade(args) -> int:
    from gradproof.derive.support.atomic import OutputError, OutputFolder
    from gradproof.reports.grading import GradingError, grade, read_answers, write_reports

    _bank()
    try:
        rows = read_answers(args.answers)
        if not rows:
            raise CLIError(f"{args.answers} has a header but no answers", 2)
        # built beside the folder, swapped in when complete; locked against a second run
        with OutputFolder(args.output, command="grade", follow_symlinks=args.follow_symlinks) as folder:
            result = grade(rows, workers=min(2, os.cpu_count() or 1))
            write_reports(result, folder.path)
            folder.commit()
    except (GradingError, OutputError) as err:
        raise CLIError(str(err), 2) from None
    except OSError as err:
        raise CLIError(f"cannot write to {args.output}: {err.strerror or err}", 2) from None
    from gradproof.reports.grading import summary

    right = sum(v.status == "correct" for v in result.verdicts)
    undecided = sum(v.status == "undecided" for v in result.verdicts)
    print(
        f"graded {len(rows)} answers ({result.unique_checks} distinct) from "
        f"{len({r.student for r in rows})} students: {right} right, {undecided} undecided"
    )
    for s in summary(result):
        print(f"  {_printable(s['exercise']):<26} {s['correct']:>4}/{s['answers']:<4} right")
    from gradproof.reports.grading import undecided as undecided_rows

    for u in undecided_rows(result):
        print(
            f"  undecided: {u['student'][:30]!r} {_printable(u['exercise'])}: {u['answer'][:60]!r} ({u['reason'][:80]})"
        )
    print(f"reports in {args.output}/ (class.html, class.csv, summary.csv, one page per student)")
    return 0
