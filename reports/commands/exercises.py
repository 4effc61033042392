"""``gradproof exercises``, ``gradproof check`` and ``gradproof grade``."""
from __future__ import annotations

import json
import os
import sys

from reports.cli import CLIError


def _bank():
    from derive.exercises import exercises

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
    width = max((len(ex.id) for ex in bank), default=10)
    for ex in bank:
        print(f"{ex.id:<{width}}  {ex.lhs:<18} {ex.title}")
        print(f"{'':<{width}}  {ex.prompt}")
        syms = ", ".join(f"{s['name']} ({s['shape']})" for s in ex.symbol_table())
        print(f"{'':<{width}}  symbols: {syms}")
        if ex.accepted:
            print(f"{'':<{width}}  e.g.: gradproof check {ex.id} \"{ex.accepted[0]}\"")
    return 0


def cmd_check(args) -> int:
    from derive.answers.sandbox import CheckPool
    from derive.exercises import UnknownExercise, get

    _bank()
    try:
        ex = get(args.exercise)
    except UnknownExercise as err:
        raise CLIError(str(err), 2) from None
    with CheckPool(workers=1) as pool:
        verdict = pool.run([("answer", ex.id, args.answer)])["answer"]
    if args.json:
        d = verdict.to_json()
        d["lhs"] = ex.lhs
        json.dump(d, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    print(f"{ex.id}: {ex.lhs}")
    if verdict.reading:
        print(f"read as:    {verdict.reading}")
    print(f"verdict:    {verdict.status} (decided by {verdict.decided_by})")
    for f in verdict.feedback:
        print(f"feedback:   {f}")
    if verdict.credit and verdict.status != "correct":
        print(f"credit:     {verdict.credit:g}")
    if verdict.detail:
        print(f"detail:     {verdict.detail}")
    return 0


def cmd_grade(args) -> int:
    from reports.grading import GradingError, grade, read_answers, write_reports

    _bank()
    try:
        rows = read_answers(args.answers)
        if not rows:
            raise CLIError(f"{args.answers} has a header but no answers", 2)
        result = grade(rows, workers=min(2, os.cpu_count() or 1))
        write_reports(result, args.output)
    except GradingError as err:
        raise CLIError(str(err), 2) from None
    except OSError as err:
        raise CLIError(f"cannot write to {args.output}: {err.strerror}", 2) from None
    from reports.grading import summary

    right = sum(v.status == "correct" for v in result.verdicts)
    undecided = sum(v.status == "undecided" for v in result.verdicts)
    print(f"graded {len(rows)} answers ({result.unique_checks} distinct) from "
          f"{len({r.student for r in rows})} students: {right} right, {undecided} undecided")
    for s in summary(result):
        print(f"  {s['exercise']:<26} {s['correct']:>4}/{s['answers']:<4} right")
    from reports.grading import undecided as undecided_rows

    for u in undecided_rows(result):
        print(f"  undecided: {u['student'][:30]!r} {u['exercise']}: {u['answer'][:60]!r} ({u['reason'][:80]})")
    print(f"reports in {args.output}/ (class.html, class.csv, summary.csv, one page per student)")
    return 0
