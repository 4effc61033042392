"""Benchmark ``gradproof grade`` on a generated class.

A class of 200 students, each answering the whole bank in their own variant
(other letters, numbers or option order), is drawn (seeded) from each
exercise's correct forms, planted mistakes and tutor wrong answers, from
hostile input, and from randomly scaled or re-combined answers (so that many
answers are distinct and really need checking); some rows record hints taken
or a viewed solution.  Prints the wall time of grading and of writing the
reports, the number of distinct checks, and the slowest single check.

Then one warm check at a time, as the seminar server checks a submission:
every built-in exercise's declared correct forms and planted mistakes (and a
scaled form of each correct one), each submitted alone to a primed
one-template pool; prints the median, 90th percentile and maximum of the wall
time from submission to verdict.
Run: ``python bench/bench_grade.py [--students 200] [--answers 0] [--skip-class] [--skip-latency]``
(``--answers 0``: the whole bank).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

HOSTILE = [
    "__import__('os').system('id')",
    "10^10^10",
    "((9^9)^9999)^9999",
    "factorial(10^7)",
    "(x+1)^(10^6)",
    "",
    "X^T (",
    "1/m X",
    "=cmd|' /C calc'!A0",
    "<b>bold</b>",
    "ŷ − y ✓",
]


_SAMPLES: dict = {}


def answer_for(ex, rng: random.Random) -> str:
    from gradproof.derive.seminar.answer_types import sample_answers

    if ex.id not in _SAMPLES:
        _SAMPLES[ex.id] = sample_answers(ex)
    accepted, mistakes = _SAMPLES[ex.id]
    roll = rng.random()
    if roll < 0.40 and accepted:
        a = rng.choice(accepted)
    elif roll < 0.65 and mistakes:
        a = rng.choice(mistakes)[0]
    elif roll < 0.72 and ex.wrong:
        a = rng.choice(ex.wrong).answer
    elif roll < 0.78:
        a = rng.choice(HOSTILE)
    elif ex.answer_type != "formula":
        a = rng.choice(accepted + [m[0] for m in mistakes])
    elif roll < 0.90 and accepted:
        # a scaled answer: distinct text, needs probing and a ratio diagnosis
        a = f"{rng.randint(2, 97)}/{rng.randint(2, 97)} * ({rng.choice(accepted)})"
    else:
        # two answers combined: mostly wrong in some new way
        pool = list(accepted) + [m[0] for m in mistakes]
        a = f"({rng.choice(pool)}) {rng.choice(['+', '-'])} ({rng.choice(pool)})"
    # students space things differently
    return a.replace(" ", " " * rng.randint(0, 2)) if rng.random() < 0.3 else a


def generate(students: int, answers: int, seed: int = 0):
    from gradproof.derive.seminar.exercises import exercises
    from gradproof.reports.grading import Row

    rng = random.Random(seed)
    bank = exercises()
    rows = []
    for s in range(students):
        student = f"student{s:03d}"
        # the whole bank by default, else a sample of it (repeats only if it is smaller)
        picks = list(bank) if not answers else rng.sample(bank, min(answers, len(bank)))
        picks += [rng.choice(bank) for _ in range(answers - len(picks))]
        for ex in picks:
            hints = rng.choice((0, 0, 0, 1, 2))
            rows.append(
                Row(len(rows) + 2, student, ex.id, answer_for(ex.variant_for(student), rng), hints, rng.random() < 0.03)
            )
    return rows


def latency(workers: int = 1) -> list:
    """Wall seconds from submission to verdict, one answer at a time, over the built-in bank."""
    from gradproof.derive.seminar.answer_types import sample_answers
    from gradproof.derive.seminar.exercises import exercises
    from gradproof.derive.seminar.workers import Budget, WarmPool

    budget = Budget(cpu_seconds=5, wall_seconds=8.0, symbolic_seconds=2.0)  # the server's
    bank = [ex for ex in exercises() if ex.source == "built-in"]
    answers = []
    for ex in bank:
        accepted, mistakes = sample_answers(ex)
        answers += [(ex.id, a) for a in accepted] + [(ex.id, m[0]) for m in mistakes]
        if ex.answer_type == "formula":
            answers += [(ex.id, f"3/7 * ({a})") for a in accepted[:1]]
    out = []
    with WarmPool(workers=workers, budget=budget) as pool:
        pool.warm([ex.id for ex in bank], primed=True)
        pool.start()
        for k, (ex_id, a) in enumerate(answers):
            t0 = time.perf_counter()
            v = pool.run([(k, ex_id, a)])[k]
            out.append((time.perf_counter() - t0, ex_id, a, v.status))
    return out


def _table(rows_out) -> None:
    width = max(len(k) for k, _ in rows_out)
    print(f"{'measure':<{width}}  value")
    print(f"{'-' * width}  {'-' * 40}")
    for k, v in rows_out:
        print(f"{k:<{width}}  {v}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, default=200)
    ap.add_argument("--answers", type=int, default=0, help="answers per student (0: the whole bank)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--skip-class", action="store_true", help="only the one-at-a-time checks")
    ap.add_argument("--skip-latency", action="store_true", help="only the class")
    args = ap.parse_args()
    if not args.skip_class:
        grade_class(args)
    if not args.skip_latency:
        import statistics

        t0 = time.perf_counter()
        lat = latency()
        secs = sorted(x[0] for x in lat)
        slow = max(lat)
        print()
        _table(
            [
                (
                    "one check at a time",
                    f"{len(lat)} answers, primed one-template pool ({time.perf_counter() - t0:.1f} s)",
                ),
                ("median", f"{statistics.median(secs) * 1e3:.1f} ms (target <= 100 ms)"),
                ("90th percentile", f"{secs[int(0.9 * (len(secs) - 1))] * 1e3:.1f} ms"),
                ("max", f"{slow[0] * 1e3:.1f} ms  [{slow[1]}] {slow[2][:50]!r} ({slow[3]})"),
                ("load average (1 min)", f"{os.getloadavg()[0]:.2f} at the end"),
            ]
        )
    return 0


def grade_class(args) -> None:
    t0 = time.perf_counter()
    from gradproof.reports.grading import grade, write_reports

    t_import = time.perf_counter() - t0
    rows = generate(args.students, args.answers)
    from gradproof.derive.seminar.exercises import get
    from gradproof.derive.seminar.workers import WarmPool

    tw = time.perf_counter()
    # engine derivations, probe points, mutants of every variant in use (from the caches when there)
    WarmPool(workers=args.workers).warm({get(r.exercise).variant_for(r.student).id for r in rows})
    t_warm = time.perf_counter() - tw
    t1 = time.perf_counter()
    result = grade(rows, workers=args.workers, progress=False)
    t_grade = time.perf_counter() - t1
    with tempfile.TemporaryDirectory() as d:
        t2 = time.perf_counter()
        write_reports(result, d)
        t_write = time.perf_counter() - t2
    import resource

    cpu = sum(
        getattr(resource.getrusage(w), f)
        for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
        for f in ("ru_utime", "ru_stime")
    )
    statuses = {}
    for v in result.verdicts:
        statuses[v.status] = statuses.get(v.status, 0) + 1
    ex, ans, secs = result.slowest
    rows_out = [
        (
            "answers",
            f"{len(rows)} ({args.students} students x "
            f"{args.answers or str(len(rows) // args.students) + ' (the whole bank)'})",
        ),
        ("distinct checks", f"{result.unique_checks}"),
        ("workers", f"{args.workers}"),
        ("import", f"{t_import:.2f} s"),
        ("derive references + oracles", f"{t_warm:.2f} s (once, before the templates fork)"),
        (f"grade (wall, {len(rows)} answers; priming included)", f"{t_grade:.2f} s"),
        ("write reports", f"{t_write:.2f} s"),
        ("total", f"{t_import + t_warm + t_grade + t_write:.2f} s (target <= 60 s)"),
        ("CPU time, all processes", f"{cpu:.2f} s"),
        ("load average (1 min)", f"{os.getloadavg()[0]:.2f} at the end (other work on the machine slows every row)"),
        ("slowest check", f"{secs:.3f} s  [{ex}] {ans[:50]!r}"),
        ("verdicts", ", ".join(f"{k} {v}" for k, v in sorted(statuses.items()))),
    ]
    _table(rows_out)


if __name__ == "__main__":
    sys.exit(main())
