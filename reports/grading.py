"""Grading a class: answers CSV in, per-student HTML and class CSV/HTML out.

Every answer is checked in a fresh, limited process forked from a warm
template (:mod:`gradproof.derive.seminar.workers`), in parallel over the cores;
identical answers to the same exercise are checked once.  Everything a student typed
is escaped in HTML (Jinja2 autoescape) and neutralised in CSV: a cell that
begins, after any blank or invisible characters, with ``= + - @ | %``, a
tab or a carriage return (or a full-width form of them) gets a leading
``'``, so no spreadsheet reads it as a formula; a cell holding a line
break, a quote or a comma is quoted (:func:`csv_text`).  Files are written
through :mod:`gradproof.derive.support.atomic`, so an interrupted run never leaves half a
report.

>>> csv_safe("=HYPERLINK(\\"http://x\\")")
'\\'=HYPERLINK("http://x")'
>>> csv_safe(" \\u3000＝1+1")
"' \\u3000＝1+1"
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import os
import re
import stat
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

REQUIRED = ("student", "exercise", "answer")
OPTIONAL = ("hints", "solution")
MAX_ROWS = 100_000
MAX_BYTES = 64 * 1024 * 1024
# An exercise with this many distinct answers to check is primed first (see workers.prime):
# priming costs about two checks and saves part of every later one.
PRIME_FROM = 4
# Answers to one exercise checked in one process (see workers.WarmPool: a batch that does not
# run clean is checked again one answer per process); a fork costs more CPU than most checks.
BATCH = 16


class GradingError(Exception):
    """A problem with the input file as a whole (one line for the user)."""


@dataclass(frozen=True)
class Row:
    line: int
    student: str
    exercise: str
    answer: str
    hints: int = 0  # hints the student took (optional column ``hints``)
    solution: bool = False  # the student viewed the solution (optional column ``solution``)


@dataclass
class ClassResult:
    rows: list
    verdicts: list  # one Verdict per row, same order
    unique_checks: int = 0
    slowest: tuple = ("", "", 0.0)  # (exercise, answer, seconds)
    exercises: list = field(default_factory=list)


# What makes a spreadsheet (Excel, LibreOffice, Google Sheets) read a cell as a
# formula or a command: the ASCII triggers, and the full-width and small forms
# that some of them fold to ASCII.
FORMULA_TRIGGERS = frozenset("=+-@|%\t\r\n\uff1d\uff0b\uff0d\uff20\uff5c\uff05\ufe66\ufe62\ufe63\ufe6b\ufe6a")


def _blank(ch: str) -> bool:
    """Characters a reader does not see before a trigger: spaces of any kind,
    controls and format characters (zero-width spaces, BOM, bidi marks)."""
    import unicodedata

    return ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Zs", "Zl", "Zp")


def formula_risk(text: str) -> bool:
    """Whether a spreadsheet could read ``text`` as a formula (after blanks)."""
    for ch in text:
        if ch in FORMULA_TRIGGERS:
            return True
        if not _blank(ch):
            return False
    return False


def csv_safe(cell) -> str:
    """Neutralise spreadsheet formula injection: prefix risky cells with a quote."""
    text = "" if cell is None else str(cell)
    return "'" + text if formula_risk(text) else text


def csv_text(rows) -> str:
    """CSV text (RFC 4180: CRLF between rows) with every cell made safe.

    A cell holding CR, LF, a quote or a comma is quoted, so no program
    splits it into two rows; every cell passes through :func:`csv_safe`.
    """
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    for row in rows:
        w.writerow([csv_safe(x) for x in row])
    return buf.getvalue()


def _cell(cells: list, idx: dict, column: str) -> str:
    """A row's cell in ``column`` ("" when the column is absent or the row is short)."""
    return cells[idx[column]] if column in idx and idx[column] < len(cells) else ""


def read_answers(path: str) -> list[Row]:
    """Read ``student, exercise, answer`` rows (header required, any column order)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            st = os.fstat(fh.fileno())
            if stat.S_ISREG(st.st_mode) and st.st_size > MAX_BYTES:
                raise GradingError(f"{path} is larger than 64 MB")
            text = fh.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise GradingError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise GradingError(f"{path} is a folder, not a CSV file") from None
    except UnicodeDecodeError as err:
        raise GradingError(f"{path} is not UTF-8 text (byte {err.start})") from None
    except OSError as err:
        raise GradingError(f"cannot read {path}: {err.strerror}") from None
    if len(text) > MAX_BYTES:
        raise GradingError(f"{path} is larger than 64 MB")
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise GradingError(f"{path}, line {line}: a NUL character (binary data, not a CSV text file)")
    # strict: an unbalanced quote is an error, not a field that swallows the rest of the file
    reader = csv.reader(io.StringIO(text), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise GradingError(f"{path} is empty: expected a header row 'student,exercise,answer'") from None
    except csv.Error as err:
        raise GradingError(f"{path}: {err}") from None
    cols = [h.strip().lower() for h in header]
    missing = [c for c in REQUIRED if c not in cols]
    if missing:
        raise GradingError(
            f"{path}: missing column(s) {', '.join(missing)}; the header must name student, exercise, answer"
        )
    idx = {c: cols.index(c) for c in REQUIRED + OPTIONAL if c in cols}
    rows = []
    try:
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            get = functools.partial(_cell, cells, idx)
            hints_text = get("hints").strip()
            if hints_text and not (hints_text.isdigit() and len(hints_text) < 4):
                raise GradingError(
                    f"{path}, line {reader.line_num}: hints must be a whole number, not {hints_text[:20]!r}"
                )
            solution_text = get("solution").strip().lower()
            if solution_text not in ("", "0", "1", "yes", "no", "true", "false", "y", "n"):
                raise GradingError(
                    f"{path}, line {reader.line_num}: solution must be yes or no, not {solution_text[:20]!r}"
                )
            rows.append(
                Row(
                    reader.line_num,
                    get("student").strip(),
                    get("exercise").strip(),
                    get("answer"),
                    int(hints_text or 0),
                    solution_text in ("1", "yes", "true", "y"),
                )
            )
            if len(rows) > MAX_ROWS:
                raise GradingError(f"{path} has more than {MAX_ROWS} answers")
    except csv.Error as err:
        raise GradingError(f"{path}, line {reader.line_num}: {err}") from None
    return rows


def grade(
    rows: list[Row], workers: int = 2, progress: bool | None = None, budget=None, batch: int = BATCH
) -> ClassResult:
    """Check every row; identical (exercise, answer) pairs are checked once, ``batch`` answers to
    one exercise per process (1: each answer in a fresh process)."""
    from gradproof.derive.seminar.equivalence import Verdict
    from gradproof.derive.seminar.exercises import UnknownExercise, exercises, get
    from gradproof.derive.seminar.workers import Budget, WarmPool
    from gradproof.reports.console import Bar

    bank = {ex.id: ex for ex in exercises()}
    known = set(bank)
    # each student is checked against their own variant of the exercise
    variant = {}
    for r in rows:
        if r.exercise in known and (r.student, r.exercise) not in variant:
            variant[(r.student, r.exercise)] = bank[r.exercise].variant_for(r.student).id
    tasks, key_of = [], {}
    for r in rows:
        if r.exercise not in known:
            continue
        key = (variant[(r.student, r.exercise)], " ".join(r.answer.split()))
        if key not in key_of:
            key_of[key] = len(tasks)
            tasks.append((len(tasks), key[0], r.answer))
    bar = Bar(len(tasks), "grading", enabled=progress)
    with WarmPool(workers=workers, budget=budget or Budget(symbolic_seconds=2.0), batch=batch) as pool:
        # oracles first (from the cache, else built in parallel), then the bank's own answers
        # checked once here for the exercises with several answers to check, so that each
        # check process starts warm
        per = Counter(t[1].partition("@")[0] for t in tasks)
        pool.warm({t[1] for t in tasks})
        pool.warm({t[1] for t in tasks if per[t[1].partition("@")[0]] >= PRIME_FROM}, primed=True)
        done = pool.run(tasks, on_result=lambda key, v: bar.advance(v.exercise))
    bar.close()
    verdicts = []
    for r in rows:
        if r.exercise not in known:
            try:
                get(r.exercise)
                msg = f"unknown exercise {r.exercise!r}"
            except UnknownExercise as err:
                msg = str(err)
            verdicts.append(
                Verdict(
                    exercise=r.exercise,
                    answer=r.answer,
                    status="invalid",
                    decided_by="parser",
                    feedback=(msg,),
                    mistake="unknown-exercise",
                )
            )
            continue
        v = done[key_of[(variant[(r.student, r.exercise)], " ".join(r.answer.split()))]]
        if v.answer != r.answer:
            v = Verdict(**{**v.to_json(), "answer": r.answer, "feedback": v.feedback, "parts": v.parts})
        if r.hints or r.solution:
            from gradproof.derive.seminar.hints import credit_after_help

            note = f"credit after help: {r.hints} hint(s)" + (", solution viewed" if r.solution else "")
            v = Verdict(
                **{
                    **v.to_json(),
                    "credit": credit_after_help(v.credit, r.hints, r.solution),
                    "feedback": v.feedback + (note,),
                    "parts": v.parts,
                }
            )
        verdicts.append(v)
    slow = max(done.values(), key=lambda v: v.seconds, default=None)
    used = sorted({r.exercise for r in rows if r.exercise in known})
    return ClassResult(
        rows,
        verdicts,
        len(tasks),
        (slow.exercise, slow.answer, slow.seconds) if slow else ("", "", 0.0),
        [get(e) for e in used],
    )


# ---------------------------------------------------------------------------
# Summaries and output
# ---------------------------------------------------------------------------


def summary(result: ClassResult) -> list[dict]:
    """Per exercise: counts by status, mean credit, the most common mistakes."""
    by_ex = defaultdict(list)
    help_taken = defaultdict(lambda: [0, 0])
    for r, v in zip(result.rows, result.verdicts):
        by_ex[r.exercise].append(v)
        help_taken[r.exercise][0] += r.hints
        help_taken[r.exercise][1] += int(r.solution)
    titles = {ex.id: ex.title for ex in result.exercises}
    out = []
    for ex_id in sorted(by_ex):
        vs = by_ex[ex_id]
        counts = Counter(v.status for v in vs)
        mistakes = Counter(
            (v.mistake, v.feedback[0] if v.feedback else "")
            for v in vs
            if v.status in ("incorrect", "invalid") and v.mistake
        )
        out.append(
            {
                "exercise": ex_id,
                "title": titles.get(ex_id, "(unknown exercise)"),
                "answers": len(vs),
                "correct": counts["correct"],
                "incorrect": counts["incorrect"],
                "undecided": counts["undecided"],
                "invalid": counts["invalid"],
                "mean_credit": sum(v.credit for v in vs) / len(vs),
                "hints": help_taken[ex_id][0],
                "solutions": help_taken[ex_id][1],
                "mistakes": [{"mistake": k[0], "message": k[1], "count": n} for k, n in mistakes.most_common(3)],
            }
        )
    return out


def undecided(result: ClassResult) -> list[dict]:
    """The answers no check could settle (a time or memory limit was hit): for the tutor to look at."""
    return [
        {
            "student": r.student,
            "exercise": r.exercise,
            "answer": r.answer,
            "reason": v.feedback[0] if v.feedback else v.decided_by,
        }
        for r, v in zip(result.rows, result.verdicts)
        if v.status == "undecided"
    ]


def students(result: ClassResult) -> dict[str, list]:
    out = defaultdict(list)
    for r, v in zip(result.rows, result.verdicts):
        out[r.student].append((r, v))
    return dict(out)


def student_filename(student: str) -> str:
    """A safe, unique file name for a student id (whatever characters it holds)."""
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", student).strip("-")[:40] or "student"
    digest = hashlib.sha1(student.encode("utf-8")).hexdigest()[:8]
    return f"student-{slug}-{digest}.html"


def _env():
    import jinja2

    from gradproof.reports.paths import template_dir

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir())),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _link(ex) -> str:
    from gradproof.derive.seminar.hints import derivation_link

    return derivation_link(ex) if ex is not None else ""


def write_reports(result: ClassResult, outdir: str) -> list[Path]:
    """Write one HTML page per student, ``class.html``, ``class.csv`` and ``summary.csv``."""
    from gradproof.derive.support.atomic import write_atomic

    out = Path(outdir)
    if out.exists() and not out.is_dir():
        raise GradingError(f"{outdir} exists and is not a folder")
    env = _env()
    summ = summary(result)
    per_student = students(result)
    written = []
    exercises = {ex.id: ex for ex in result.exercises}
    student_rows = []
    for name in sorted(per_student):
        items = per_student[name]
        credit = sum(v.credit for _, v in items)
        fname = student_filename(name)
        html = env.get_template("grade_student.html").render(
            student=name,
            items=[
                {"row": r, "v": v, "ex": exercises.get(r.exercise), "link": _link(exercises.get(r.exercise))}
                for r, v in items
            ],
            credit=credit,
            total=len(items),
        )
        write_atomic(out / fname, html)
        written.append(out / fname)
        student_rows.append(
            {
                "student": name,
                "file": fname,
                "credit": credit,
                "answers": len(items),
                "correct": sum(v.status == "correct" for _, v in items),
            }
        )
    html = env.get_template("grade_class.html").render(
        summary=summ,
        students=student_rows,
        unique=result.unique_checks,
        total=len(result.rows),
        undecided=undecided(result),
    )
    write_atomic(out / "class.html", html)
    written.append(out / "class.html")

    rows = [
        [
            "student",
            "exercise",
            "answer",
            "status",
            "decided_by",
            "mistake",
            "credit",
            "feedback",
            "read_as",
            "variant",
            "steps",
            "hints",
            "solution_viewed",
        ]
    ]
    for r, v in zip(result.rows, result.verdicts):
        steps = " ".join(f"{p['step']}:{p['status']}" for p in v.parts)
        rows.append(
            [
                r.student,
                r.exercise,
                r.answer,
                v.status,
                v.decided_by,
                v.mistake,
                f"{v.credit:g}",
                " | ".join(v.feedback),
                v.reading,
                v.exercise.partition("@")[2] or "0",
                steps,
                r.hints,
                "yes" if r.solution else "no",
            ]
        )
    write_atomic(out / "class.csv", csv_text(rows))
    written.append(out / "class.csv")

    rows = [["exercise", "answers", "correct", "incorrect", "undecided", "invalid", "mean_credit", "top_mistake"]]
    for s in summ:
        top = s["mistakes"][0]["message"] if s["mistakes"] else ""
        rows.append(
            [
                s["exercise"],
                s["answers"],
                s["correct"],
                s["incorrect"],
                s["undecided"],
                s["invalid"],
                f"{s['mean_credit']:.3f}",
                top,
            ]
        )
    write_atomic(out / "summary.csv", csv_text(rows))
    written.append(out / "summary.csv")
    return written
