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
one-template pool, 0.05 s after the previous verdict (``--pause``; a lane
of the server waits for its students); prints the median, 90th percentile
and maximum of the wall time from submission to verdict.
With ``--compare`` the class is graded a second time in the same process
the way every answer used to be checked, each in a fresh process of its own
(``batch=1``), and every row's verdict is compared (``seconds`` aside):
the two tables side by side, and the rows that differ, if any.
``--save FILE`` writes the verdicts as JSON and ``--against FILE`` compares
with such a file (another revision's, say).
Run: ``python bench/bench_grade.py [--students 200] [--answers 0] [--batch 16] [--compare]
[--save FILE] [--against FILE] [--skip-class] [--skip-latency]`` (``--answers 0``: the whole bank).
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


def latency(workers: int = 1, pause: float = 0.05) -> list:
    """Wall seconds from submission to verdict, one answer at a time, over the built-in bank.

    Each answer is submitted ``pause`` seconds after the previous verdict, as
    a lane of the server mostly waits for its next student: the template uses
    that time to reap the last check process and fork the next (0: back to back,
    and those two are on the way).  Also returns each check's own time (in the
    check process, from the answer's arrival to its verdict)."""
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
            time.sleep(pause)
            t0 = time.perf_counter()
            v = pool.run([(k, ex_id, a)])[k]
            out.append((time.perf_counter() - t0, ex_id, a, v.status, v.seconds))
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
    ap.add_argument("--batch", type=int, default=None, help="answers per check process (default: grade's own)")
    ap.add_argument("--compare", action="store_true", help="also grade one answer per process; compare verdicts")
    ap.add_argument("--save", metavar="FILE", help="write every row's verdict as JSON")
    ap.add_argument("--against", metavar="FILE", help="compare every row's verdict with a --save file")
    ap.add_argument("--json", metavar="FILE", help="write the one-at-a-time figures as JSON")
    ap.add_argument("--skip-class", action="store_true", help="only the one-at-a-time checks")
    ap.add_argument(
        "--pause", type=float, default=0.05, help="seconds between a verdict and the next submission (0: back to back)"
    )
    ap.add_argument("--skip-latency", action="store_true", help="only the class")
    args = ap.parse_args()
    if not args.skip_class:
        grade_class(args)
    if not args.skip_latency:
        import statistics

        t0 = time.perf_counter()
        lat = latency(pause=args.pause)
        secs = sorted(x[0] for x in lat)
        own = sorted(x[4] for x in lat)
        slow = max(lat)
        if args.json:
            import json

            stats = {
                "answers": len(lat),
                "pause_s": args.pause,
                "median_s": statistics.median(secs),
                "p90_s": secs[int(0.9 * (len(secs) - 1))],
                "max_s": secs[-1],
                "own_median_s": statistics.median(own),
                "load_end": os.getloadavg()[0],
            }
            with open(args.json, "w", encoding="utf-8") as fh:
                json.dump(stats, fh)
        print()
        _table(
            [
                (
                    "one check at a time",
                    f"{len(lat)} answers, primed one-template pool, each {args.pause:g} s after the last "
                    f"verdict ({time.perf_counter() - t0:.1f} s)",
                ),
                ("median", f"{statistics.median(secs) * 1e3:.1f} ms (target <= 100 ms)"),
                ("median of the checks' own time", f"{statistics.median(own) * 1e3:.1f} ms (in the check process)"),
                ("90th percentile", f"{secs[int(0.9 * (len(secs) - 1))] * 1e3:.1f} ms"),
                ("max", f"{slow[0] * 1e3:.1f} ms  [{slow[1]}] {slow[2][:50]!r} ({slow[3]})"),
                ("load average (1 min)", f"{os.getloadavg()[0]:.2f} at the end"),
            ]
        )
    return 0


def _cpu(who) -> float:
    import resource

    ru = resource.getrusage(who)
    return ru.ru_utime + ru.ru_stime


def run_class(rows, workers: int, batch: int | None) -> dict:
    """Grade ``rows`` once; wall and CPU time (this process, the check processes) of each stage."""
    import resource

    from gradproof.reports.grading import BATCH, grade, write_reports

    batch = BATCH if batch is None else batch
    c0 = (_cpu(resource.RUSAGE_SELF), _cpu(resource.RUSAGE_CHILDREN))
    t1 = time.perf_counter()
    result = grade(rows, workers=workers, progress=False, batch=batch)
    t_grade = time.perf_counter() - t1
    c1 = (_cpu(resource.RUSAGE_SELF), _cpu(resource.RUSAGE_CHILDREN))
    with tempfile.TemporaryDirectory() as d:
        t2 = time.perf_counter()
        write_reports(result, d)
        t_write = time.perf_counter() - t2
    c2 = _cpu(resource.RUSAGE_SELF)
    return {
        "batch": batch,
        "result": result,
        "grade_s": t_grade,
        "write_s": t_write,
        "cpu_parent_s": c1[0] - c0[0],
        "cpu_checks_s": c1[1] - c0[1],
        "cpu_write_s": c2 - c1[0],
    }


def verdict_rows(result) -> list[dict]:
    """Every row's verdict as JSON, ``seconds`` aside (the one field that is a measurement)."""
    out = []
    for r, v in zip(result.rows, result.verdicts):
        d = v.to_json()
        d.pop("seconds", None)
        out.append({"line": r.line, "student": r.student, "exercise": r.exercise, "answer": r.answer, "verdict": d})
    return out


def compare(a: list[dict], b: list[dict]) -> list[tuple]:
    """``(row, field, one, other)`` for every verdict field that differs, row by row."""
    if len(a) != len(b):
        return [(None, "rows", len(a), len(b))]
    diffs = []
    for i, (x, y) in enumerate(zip(a, b)):
        line = x.get("line", i + 2)
        if (x["student"], x["exercise"], x["answer"]) != (y["student"], y["exercise"], y["answer"]):
            return [(line, "row", x["answer"], y["answer"])]
        for k in sorted(set(x["verdict"]) | set(y["verdict"])):
            if x["verdict"].get(k) != y["verdict"].get(k):
                diffs.append((line, k, x["verdict"].get(k), y["verdict"].get(k)))
    return diffs


def _report_diffs(title: str, diffs: list, rows: int) -> None:
    rows_differ = len({d[0] for d in diffs})
    print(f"{title}: {rows - rows_differ} of {rows} rows' verdicts identical, {rows_differ} differ")
    for line, field, one, other in diffs[:10]:
        print(f"  line {line}: {field}: {str(one)[:70]!r} vs {str(other)[:70]!r}")


def grade_class(args) -> None:
    import json

    t0 = time.perf_counter()
    from gradproof.reports.grading import grade  # noqa: F401 (the import is timed)

    t_import = time.perf_counter() - t0
    rows = generate(args.students, args.answers)
    from gradproof.derive.seminar.exercises import get
    from gradproof.derive.seminar.workers import WarmPool

    tw = time.perf_counter()
    # engine derivations, probe points, mutants of every variant in use (from the caches when there)
    WarmPool(workers=args.workers).warm({get(r.exercise).variant_for(r.student).id for r in rows})
    t_warm = time.perf_counter() - tw
    runs = [run_class(rows, args.workers, args.batch)]
    if args.compare:
        runs.append(run_class(rows, args.workers, 1))
    heads = [f"batch {r['batch']}" + (" (one answer per process)" if r["batch"] == 1 else "") for r in runs]
    print(
        f"{len(rows)} answers ({args.students} students x {len(rows) // max(1, args.students)}), "
        f"{runs[0]['result'].unique_checks} distinct checks, {args.workers} lanes; import {t_import:.2f} s, "
        f"references + oracles {t_warm:.2f} s (once, before the templates fork)"
    )
    table = [
        ("grade (wall; priming included)", [f"{r['grade_s']:.2f} s" for r in runs]),
        ("write reports (wall)", [f"{r['write_s']:.2f} s" for r in runs]),
        ("total (wall)", [f"{t_import + t_warm + r['grade_s'] + r['write_s']:.2f} s" for r in runs]),
        ("CPU: this process (oracles in, priming, results)", [f"{r['cpu_parent_s']:.2f} s" for r in runs]),
        ("CPU: templates and check processes", [f"{r['cpu_checks_s']:.2f} s" for r in runs]),
        ("CPU: writing the reports", [f"{r['cpu_write_s']:.2f} s" for r in runs]),
        ("CPU: all", [f"{r['cpu_parent_s'] + r['cpu_checks_s'] + r['cpu_write_s']:.2f} s" for r in runs]),
        ("slowest check", [f"{r['result'].slowest[2]:.3f} s [{r['result'].slowest[0]}]" for r in runs]),
        ("verdicts", [_statuses(r["result"]) for r in runs]),
        ("load average (1 min)", [f"{os.getloadavg()[0]:.2f} at the end"] + [""] * (len(runs) - 1)),
    ]
    width = max(len(k) for k, _ in table)
    print(f"{'measure':<{width}}  " + "  ".join(f"{h:<34}" for h in heads))
    for k, vals in table:
        print(f"{k:<{width}}  " + "  ".join(f"{v:<34}" for v in vals))
    mine = verdict_rows(runs[0]["result"])
    if args.compare:
        _report_diffs("batched vs one answer per process", compare(mine, verdict_rows(runs[1]["result"])), len(rows))
    if args.against:
        with open(args.against, encoding="utf-8") as fh:
            _report_diffs(f"this run vs {args.against}", compare(json.load(fh), mine), len(rows))
    if args.save:
        with open(args.save, "w", encoding="utf-8") as fh:
            json.dump(mine, fh)


def _statuses(result) -> str:
    counts: dict = {}
    for v in result.verdicts:
        counts[v.status] = counts.get(v.status, 0) + 1
    return ", ".join(f"{k} {n}" for k, n in sorted(counts.items()))


if __name__ == "__main__":
    sys.exit(main())
