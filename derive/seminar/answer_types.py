"""Checking an answer of each type: one formula, several steps, numbers, a choice.

* **formula** - one expression, decided by :func:`gradproof.derive.seminar.equivalence.decide`
  and, when wrong, explained by :mod:`gradproof.derive.seminar.feedback`.
* **steps** - the steps of a derivation separated by ``;`` (or one per
  line).  Each step is a formula checked against a step or result of the
  reference derivation (:class:`~gradproof.derive.seminar.exercise.Stage`),
  with credit per step; the feedback says which step first goes wrong.
* **numeric** - numbers computed from given small matrices.  The reference
  numbers come from evaluating the derivations' own results exactly
  (:class:`~gradproof.derive.seminar.exercise.Link` chains); answers are read by a strict
  number reader, never ``eval`` (:mod:`gradproof.derive.seminar.numeric_items`).
* **choice** - a conceptual question with options, each with its explanation.

>>> from gradproof.derive.seminar.exercises import get
>>> check(get("symmetry_choice"), "z").status
'invalid'
"""

from __future__ import annotations

import re
import time
from fractions import Fraction

from gradproof.derive.seminar.feedback import _refine
from gradproof.derive.seminar.numeric_items import (
    _check_numeric,
    _fmt_num,
    _numeric_slips,
    numeric_reference,
    numeric_values,
    verdict,
)
from gradproof.derive.seminar.variants import base_exercise, letter_names, rename_text, split_steps, stage_exercise


def check(ex, answer: str, *, symbolic_seconds: float = 3.0):
    """Check one answer to an exercise of any answer type; returns a :class:`gradproof.derive.seminar.equivalence.Verdict`."""
    names = letter_names(ex)
    if names:
        return _check_renamed(ex, answer, names, symbolic_seconds)
    if ex.answer_type == "steps":
        return _check_steps(ex, answer, symbolic_seconds)
    if ex.answer_type == "numeric":
        return _check_numeric(ex, answer)
    if ex.answer_type == "choice":
        return _check_choice(ex, answer)
    from gradproof.derive.seminar.equivalence import decide

    v = decide(ex, answer, symbolic_seconds=symbolic_seconds)
    if v.status == "incorrect":
        v = _refine(ex, answer, v)
    return v


def _check_renamed(ex, answer, names, symbolic_seconds):
    """A letter variant is the declared exercise with other names: an answer that reads in the
    variant's own letters is renamed back and checked against the declared exercise (one oracle
    for all variants), and the verdict is told in the variant's letters."""
    if ex.answer_type == "steps":
        return _check_steps(ex, answer, symbolic_seconds)
    return _renamed(ex, base_exercise(ex), answer, names, symbolic_seconds)


def _renamed(ex, base, answer, names, symbolic_seconds):
    import dataclasses as dc

    from gradproof.derive.seminar.answers import AnswerError, read_answer
    from gradproof.derive.seminar.equivalence import decide

    try:
        read_answer(answer, ex.vocabulary())
    except AnswerError:
        return decide(ex, answer, symbolic_seconds=symbolic_seconds)  # unreadable: no reference needed
    back = {new: old for old, new in names.items()}
    v = check(base, rename_text(answer, back), symbolic_seconds=symbolic_seconds)

    def fwd(t):
        return rename_text(t, names)

    return dc.replace(
        v, exercise=ex.id, answer=answer, reading=fwd(v.reading), feedback=tuple(fwd(f) for f in v.feedback)
    )


_verdict = verdict


def _check_choice(ex, answer):
    t0 = time.perf_counter()
    a = (answer or "").strip().lower()
    m = re.fullmatch(r"(?:option\s*)?\(?\s*([a-z])\s*[).]?", a)
    keys = {o.key.lower(): o for o in ex.options}
    if not m or m.group(1) not in keys:
        return _verdict(
            ex,
            answer,
            status="invalid",
            decided_by="parser",
            mistake="syntax",
            feedback=("answer with one letter: " + ", ".join(o.key for o in ex.options),),
            seconds=time.perf_counter() - t0,
        )
    o = keys[m.group(1)]
    if o.correct:
        return _verdict(
            ex,
            answer,
            status="correct",
            decided_by="choice",
            credit=1.0,
            reading=o.key,
            feedback=("correct", o.explanation),
            seconds=time.perf_counter() - t0,
        )
    return _verdict(
        ex,
        answer,
        status="incorrect",
        decided_by="choice",
        reading=o.key,
        mistake=o.code or f"option:{o.key}",
        feedback=(o.explanation,),
        seconds=time.perf_counter() - t0,
    )


def _check_steps(ex, answer, symbolic_seconds):
    t0 = time.perf_counter()
    parts = split_steps(answer)
    n = len(ex.stages)
    if not parts:
        return _verdict(
            ex,
            answer,
            status="invalid",
            decided_by="parser",
            mistake="empty",
            feedback=(f"the answer is empty: give {n} steps separated by ';'",),
        )
    if len(parts) > n:
        return _verdict(
            ex,
            answer,
            status="invalid",
            decided_by="parser",
            mistake="too-many-steps",
            feedback=(f"{len(parts)} steps given, but the exercise has {n}: " + "; ".join(st.lhs for st in ex.stages),),
        )
    verdicts = _step_verdicts(ex, parts, symbolic_seconds)
    credit = sum(v.credit for v in verdicts) / n
    statuses = [v.status for v in verdicts]
    partlist = tuple(
        {
            "step": k + 1,
            "lhs": ex.stages[k].lhs,
            "status": v.status,
            "mistake": v.mistake,
            "credit": v.credit,
            "feedback": list(v.feedback),
        }
        for k, v in enumerate(verdicts)
    )
    status, mistake, fb = _steps_outcome(ex, verdicts)
    by = "steps"
    return _verdict(
        ex,
        answer,
        status=status,
        decided_by=by,
        credit=credit if status != "correct" else 1.0,
        reading=" ; ".join(v.reading for v in verdicts),
        feedback=tuple(fb),
        mistake=mistake,
        parts=partlist,
        detail=f"{statuses.count('correct')} of {n} steps correct",
        seconds=time.perf_counter() - t0,
    )


def _step_verdicts(ex, parts: list, symbolic_seconds: float) -> list:
    """One verdict per declared step (a missing step is invalid)."""
    n = len(ex.stages)
    verdicts = []
    # the steps share the symbolic budget, but each keeps at least a second: a timeout leaves a
    # step's numeric verdict standing, and very short timers fire mid-SymPy far more often
    per_step = min(symbolic_seconds, max(symbolic_seconds / n, 1.0))
    for k in range(n):
        sub = stage_exercise(ex, k)
        names = letter_names(ex)
        if k < len(parts) and parts[k] and names:
            verdicts.append(_renamed(sub, stage_exercise(base_exercise(ex), k), parts[k], names, per_step))
        elif k < len(parts) and parts[k]:
            verdicts.append(check(sub, parts[k], symbolic_seconds=per_step))
        else:
            verdicts.append(
                _verdict(
                    sub,
                    "",
                    status="invalid",
                    decided_by="parser",
                    mistake="missing",
                    feedback=("this step is missing",),
                )
            )
    return verdicts


def _steps_outcome(ex, verdicts: list) -> tuple:
    """The whole answer's status, mistake code and feedback: the first step that goes wrong leads."""
    statuses = [v.status for v in verdicts]
    fb = []
    first_bad = next((k for k, v in enumerate(verdicts) if v.status != "correct"), None)
    for k, v in enumerate(verdicts):
        label = f"step {k + 1} ({ex.stages[k].lhs})"
        if v.status == "correct":
            fb.append(f"{label}: correct")
        else:
            lead = "first goes wrong" if k == first_bad else v.status
            fb.append(f"{label}: {lead}: " + "; ".join(v.feedback))
    if all(s == "correct" for s in statuses):
        status, mistake = "correct", ""
    elif any(s == "incorrect" for s in statuses) or any(v.mistake == "missing" for v in verdicts):
        status = "incorrect"
        mistake = f"step{first_bad + 1}:{verdicts[first_bad].mistake or 'wrong'}"
    elif any(s == "invalid" for s in statuses):
        status, mistake = "invalid", f"step{first_bad + 1}:{verdicts[first_bad].mistake}"
    else:
        status, mistake = "undecided", ""
    return status, mistake, tuple(fb)


def sample_answers(ex) -> tuple[list[str], list[tuple[str, str]]]:
    """Correct answers and (wrong answer, mistake code) pairs for an exercise of any answer type.

    Formula and step exercises declare theirs; numeric items derive them from
    the reference numbers (three spellings; sign, transpose, factors and the
    declared slips); choice items from the options.
    """
    if ex.answer_type == "choice":
        key = next(o.key for o in ex.options if o.correct)
        return [key, key.upper(), f"({key})"], [
            (o.key, o.code or f"option:{o.key}") for o in ex.options if not o.correct
        ]
    if ex.answer_type == "numeric":
        import numpy as np

        ref = numeric_reference(ex)
        vals = numeric_values(ex)[ex.numeric.chain[-1].name]

        def brackets(a, d=4):
            return "[" + ", ".join("[" + ", ".join(_fmt_num(x, d) for x in row) + "]" for row in a) + "]"

        rows = "; ".join(" ".join(_fmt_num(x, 6) for x in row) for row in ref)
        if all(x.is_Rational for x in vals):
            exact = "; ".join(", ".join(str(x) for x in vals.row(i)) for i in range(vals.rows))
        else:  # one row per line, commas between entries
            exact = "\n".join(", ".join(_fmt_num(x, 5) for x in row) for row in ref)
        ok = [brackets(ref, 3), rows, exact]
        slips = {
            f"slip:{k}": val for k, (_, _, val) in enumerate(list(_numeric_slips(ex, ref))[: len(ex.numeric.slips)])
        }
        bad = []
        for mistake, code in ex.mistakes:
            if mistake == "sign":
                val = -ref
            elif mistake == "transposed":
                val = ref.T
            elif mistake.startswith("factor:"):
                val = float(Fraction(mistake.split(":")[1])) * ref
            else:
                val = slips[mistake]
            bad.append((brackets(np.asarray(val), 6), code))
        return ok, bad
    return list(ex.accepted), list(ex.mistakes)
