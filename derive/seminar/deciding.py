"""Deciding one answer: the stages, cheapest first, and the verdict that names the mistake.

See :mod:`gradproof.derive.seminar.equivalence` for the stages; this module
runs them for one read answer against the exercise's oracle.

>>> from gradproof.derive.seminar.exercises import get
>>> decide(get("linear_grad_W"), "Delta^T Z").mistake
'transposed'
"""

from __future__ import annotations

import gc
import math
import signal
import threading
import time
from dataclasses import asdict, dataclass

import numpy as np

from gradproof.derive.seminar.probes import (
    EXACT_DPS,
    EXACT_RTOL,
    EXACT_SECONDS,
    TooLarge,
    Undefined,
    Unsupported,
    _mp,
    close,
    max_rel_error,
)


@dataclass(frozen=True)
class Verdict:
    """The outcome of checking one answer.

    ``status``: ``correct``, ``incorrect``, ``undecided`` (a time or memory
    limit was hit; never counted wrong, listed for the tutor) or ``invalid`` (the answer could not be read).
    ``decided_by``: ``parser``, ``limits``, ``shape``, ``numeric``, ``exact``,
    ``symbolic``, ``timeout`` or ``error``.  ``mistake`` is a short code
    (``sign``, ``factor:2``, ``transposed``, ``order``, ``missing-sigma-prime``,
    ``tutor:1``, ``undefined``, ``near-miss``...), ``credit`` in [0, 1].
    """

    exercise: str
    answer: str
    status: str
    decided_by: str
    reading: str = ""
    reading_latex: str = ""
    feedback: tuple = ()
    mistake: str = ""
    credit: float = 0.0
    detail: str = ""
    seconds: float = 0.0
    parts: tuple = ()  # per-step outcomes of a multi-step exercise (dicts)

    def to_json(self) -> dict:
        d = asdict(self)
        d["feedback"] = list(self.feedback)
        d["parts"] = list(self.parts)
        return d

    @staticmethod
    def from_json(d: dict) -> Verdict:
        d = dict(d)
        d["feedback"] = tuple(d.get("feedback", ()))
        d["parts"] = tuple(d.get("parts", ()))
        return Verdict(**d)


class SymbolicTimeout(BaseException):
    """Raised by the interval timer; a BaseException so SymPy's ``except Exception`` cannot swallow it."""


# ---------------------------------------------------------------------------
# Time limits for the symbolic stage
# ---------------------------------------------------------------------------


class time_limit:
    """``with time_limit(2.0):`` raises :class:`SymbolicTimeout` after 2 s of this process's CPU time.

    CPU time, not wall time, so that a verdict does not depend on what else
    the machine runs (grading the same class twice gives the same verdicts);
    the worker's wall-clock limit still bounds the whole check.
    Uses an interval timer, so it works only in the main thread; elsewhere
    the block runs with no limit and relies on the worker's CPU limit.
    NOTE: a signal that lands while a finalizer runs is swallowed by Python
    (the block then runs on, under the worker's CPU limit); the cyclic garbage
    collector, the usual caller of finalizers, is paused inside the block.
    ``time_limit.fired`` counts the limits that ran out in this process (a
    batch of checks is trusted only when none did: an interrupted computation
    may leave a cache half-updated).
    """

    fired = 0

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.active = threading.current_thread() is threading.main_thread() and seconds > 0

    def _fire(self, signum, frame):
        time_limit.fired += 1
        raise SymbolicTimeout()

    def __enter__(self):
        if self.active:
            self.gc_was_enabled = gc.isenabled()
            gc.disable()
            self.old = signal.signal(signal.SIGPROF, self._fire)
            signal.setitimer(signal.ITIMER_PROF, self.seconds)
        return self

    def __exit__(self, *exc):
        if self.active:
            signal.setitimer(signal.ITIMER_PROF, 0)
            signal.signal(signal.SIGPROF, self.old)
            if self.gc_was_enabled:
                gc.enable()
        return False


# ---------------------------------------------------------------------------
# Deciding
# ---------------------------------------------------------------------------


def decide(exercise, answer: str, *, symbolic_seconds: float = 3.0) -> Verdict:
    """Check one answer to one exercise (in this process; see :mod:`gradproof.derive.seminar.answers.sandbox`)."""
    from gradproof.derive.seminar.answers import AnswerError, read_answer

    t0 = time.perf_counter()
    ex = exercise
    base = dict(exercise=ex.id, answer=answer)
    try:
        reading = read_answer(answer, ex.vocabulary())
    except AnswerError as err:
        if err.code == "shape":
            mistake, fb = "shape", [str(err)]
            if err.hint == "order":
                mistake, fb = "order", fb + ["the operands of this product look to be in the wrong order"]
            elif err.hint == "transpose":
                mistake, fb = "transposed", fb + ["a transpose looks to be missing or misplaced"]
            elif err.hint == "ridge-outside":
                mistake, fb = (
                    "ridge-outside",
                    fb + ["the ridge term lambda I belongs inside the inverse, added to X^T X"],
                )
            elif err.hint == "transpose-or-order":
                mistake, fb = (
                    "transposed",
                    fb + ["a transpose looks to be missing, or the operands are in the wrong order"],
                )
            return Verdict(
                **base,
                status="incorrect",
                decided_by="shape",
                feedback=tuple(fb),
                mistake=mistake,
                seconds=time.perf_counter() - t0,
            )
        by = "limits" if err.code.startswith("too-") else "parser"
        return Verdict(
            **base,
            status="invalid",
            decided_by=by,
            feedback=(str(err),),
            mistake=err.code,
            seconds=time.perf_counter() - t0,
        )
    base.update(reading=reading.text, reading_latex=reading.latex)
    # Different spellings read as the same expression get the same verdict:
    # decide once per process (a class types a handful of forms per exercise).
    key = (ex, repr(reading.expr), reading.functions & frozenset(ex.forbid), symbolic_seconds)
    hit = _DECIDED.get(key)
    if hit is not None:
        return Verdict(**{**hit.to_json(), **base, "feedback": hit.feedback, "seconds": time.perf_counter() - t0})
    verdict = _decide_read(ex, reading, base, t0, symbolic_seconds)
    if verdict.decided_by != "timeout":
        _DECIDED[key] = verdict
    return verdict


_DECIDED: dict = {}


def _decide_read(ex, reading, base, t0, symbolic_seconds) -> Verdict:
    used = reading.functions & set(ex.forbid)
    if used:
        return Verdict(
            **base,
            status="invalid",
            decided_by="parser",
            mistake="forbidden",
            feedback=(f"{ex.lhs} must be written without {', '.join(sorted(used))}",),
            seconds=time.perf_counter() - t0,
        )
    oracle = ex.oracle()
    want = oracle.shape
    got = ex.shape_at_probe(reading.shape)
    if got != want:
        fb = [
            f"your answer has shape {got[0]}x{got[1]} at the probe sizes ({ex.sizes_text()}), "
            f"but {ex.lhs} is "
            + ("a scalar (one entry)" if want == (1, 1) else f"{want[0]}x{want[1]} ({ex.shape_text()})")
        ]
        mistake = "shape"
        if got == want[::-1]:
            mistake = "transposed"
            fb.append("your answer is transposed (or a transpose is missing)")
        return Verdict(
            **base,
            status="incorrect",
            decided_by="shape",
            feedback=tuple(fb),
            mistake=mistake,
            seconds=time.perf_counter() - t0,
        )
    points = oracle.evaluate_points(reading.expr)
    if isinstance(points, str):
        return Verdict(
            **base, status="undecided", decided_by="error", feedback=(points,), seconds=time.perf_counter() - t0
        )
    values, why = points
    undefined = [i for i, v in enumerate(values) if v is None]
    if undefined:
        return _undefined_verdict(ex, oracle, values, undefined, why, base, t0)
    errs = [max_rel_error(v, r) for v, r in zip(values, oracle.ref_values)]
    if all(close(v, r) for v, r in zip(values, oracle.ref_values)):
        return _agreeing_verdict(oracle, reading, values, errs, base, t0, symbolic_seconds)
    mistake, message, credit = diagnose(ex, oracle, values)
    fb = [message] if message else ["not equal to the right answer"]
    return Verdict(
        **base,
        status="incorrect",
        decided_by="numeric",
        feedback=tuple(fb),
        mistake=mistake,
        credit=credit,
        detail=f"differs at the probe points (relative error up to {max(errs):.2g})",
        seconds=time.perf_counter() - t0,
    )


def _undefined_verdict(ex, oracle, values, undefined, why, base, t0) -> Verdict:
    """An answer undefined where the reference is defined is wrong; name the slip if the rest shows one."""
    where = oracle.describe_point(undefined[0])
    more = f" (and at {len(undefined) - 1} more of the {len(values)} probe points)" if len(undefined) > 1 else ""
    if len(undefined) == len(values):
        where, more = "every probe point", ""
    undef_msg = f"your answer is undefined at {where}{more}, where the right answer is defined: {why}"
    defined = [i for i, v in enumerate(values) if v is not None]
    mistake, message, credit = "", "", 0.0
    if defined:
        mistake, message, credit = diagnose(ex, oracle, values, defined)
    fb = [message, undef_msg] if mistake else [undef_msg]
    return Verdict(
        **base,
        status="incorrect",
        decided_by="numeric",
        feedback=tuple(fb),
        mistake=mistake or "undefined",
        credit=credit if mistake else 0.0,
        detail=f"undefined at {len(undefined)} of {len(values)} probe points",
        seconds=time.perf_counter() - t0,
    )


def _agreeing_verdict(oracle, reading, values, errs, base, t0, symbolic_seconds) -> Verdict:
    """Float64 agrees: settle it exactly (mpmath, EXACT_DPS digits or more), then let SymPy confirm."""
    detail = f"{len(values)} probe points agree in float64 (max relative error {max(errs):.1e})"
    exact = _exact_stage(oracle, reading, base, t0, symbolic_seconds, detail)
    if isinstance(exact, Verdict):
        return exact
    diff, point, dps, rtol = exact
    if diff is None:
        return Verdict(
            **base,
            status="incorrect",
            decided_by="exact",
            mistake="undefined",
            feedback=(
                f"your answer is undefined at {oracle.describe_point(point)}, where the right "
                "answer is defined: it is not a finite real number there",
            ),
            detail=detail,
            seconds=time.perf_counter() - t0,
        )
    if diff != "failed" and diff > rtol:
        rel = _mp().nstr(diff, 2, min_fixed=1, max_fixed=0)
        return Verdict(
            **base,
            status="incorrect",
            decided_by="exact",
            mistake="near-miss",
            feedback=(
                f"your answer is close to the right one but not equal: evaluated exactly "
                f"({dps} digits) at {oracle.describe_point(point)} it differs by a "
                f"relative {rel}",
            ),
            detail=detail + f"; exact evaluation differs (relative {rel})",
            seconds=time.perf_counter() - t0,
        )
    exact_note = (
        "; exact evaluation could not run (" + point + ")"
        if diff == "failed"
        else f"; agree to {dps} digits (relative difference below {_mp().nstr(rtol, 1, min_fixed=1, max_fixed=0)})"
    )
    return _symbolic_stage(oracle, reading, base, t0, symbolic_seconds, detail + exact_note, diff == "failed")


def _exact_stage(oracle, reading, base, t0, symbolic_seconds, detail):
    """``(difference, point, digits, tolerance)`` of the exact evaluation, or the verdict it already settles."""
    exact_seconds = max(symbolic_seconds, EXACT_SECONDS)
    dps, rtol = EXACT_DPS, EXACT_RTOL
    try:
        with time_limit(exact_seconds):
            dps, rtol = oracle.exact_plan(reading.expr)
            diff, point = oracle.exact_difference(reading.expr, dps)
    except TooLarge:
        return Verdict(
            **base,
            status="incorrect",
            decided_by="exact",
            mistake="too-large",
            feedback=(
                "your answer agrees in floating point only because a part of it is astronomically "
                "small or large at the probe points (beyond 10^-1500 or e^1000000); the right answer "
                "has no such part",
            ),
            detail=detail,
            seconds=time.perf_counter() - t0,
        )
    except SymbolicTimeout:
        return Verdict(
            **base,
            status="undecided",
            decided_by="timeout",
            feedback=(
                f"the exact evaluation took more than {exact_seconds:g} s of CPU time; a tutor should look at this answer",
            ),
            detail=detail,
            seconds=time.perf_counter() - t0,
        )
    except (
        Unsupported,
        Undefined,
        OverflowError,
        ValueError,
        TypeError,
        IndexError,
        ZeroDivisionError,
        MemoryError,
        RecursionError,
    ) as err:
        diff, point = "failed", f"{type(err).__name__}: {err}"
    return diff, point, dps, rtol


def _symbolic_stage(oracle, reading, base, t0, symbolic_seconds, detail, exact_failed) -> Verdict:
    """The exact stage found no difference: SymPy confirms under a time limit, or the exact verdict stands."""
    sym_note = ""
    try:
        with time_limit(symbolic_seconds):
            proved = oracle.symbolic_equal(reading.expr)
    except SymbolicTimeout:
        proved, sym_note = False, f"; symbolic confirmation timed out after {symbolic_seconds:g} s of CPU time"
    except (MemoryError, RecursionError):
        proved, sym_note = False, "; symbolic confirmation ran out of resources"
    except Exception as err:  # SymPy can fail on exotic input; the exact verdict stands
        proved, sym_note = False, f"; symbolic confirmation failed ({type(err).__name__})"
    if proved:
        return Verdict(
            **base,
            status="correct",
            decided_by="symbolic",
            credit=1.0,
            feedback=("correct",),
            detail=detail,
            seconds=time.perf_counter() - t0,
        )
    if exact_failed:
        return Verdict(
            **base,
            status="undecided",
            decided_by="error",
            feedback=(
                "the answer agrees with the right one in floating point, but neither exact "
                "evaluation nor a symbolic proof could confirm it; a tutor should look at it",
            ),
            detail=detail + sym_note,
            seconds=time.perf_counter() - t0,
        )
    return Verdict(
        **base,
        status="correct",
        decided_by="exact",
        credit=1.0,
        feedback=("correct",),
        detail=detail + (sym_note or "; symbolic confirmation inconclusive"),
        seconds=time.perf_counter() - t0,
    )


def diagnose(ex, oracle, values, points=None) -> tuple[str, str, float]:
    """Name the mistake in a numerically wrong answer: (code, message, credit).

    ``points``: compare only at these probe points (where the answer is defined).
    """

    def at(vals):
        return vals if points is None else [vals[i] for i in points]

    values = at(values)
    for k, (vals, w) in enumerate(oracle.wrong_values()):
        if vals is not None and all(close(v, r, 1e-6, 1e-9) for v, r in zip(values, at(vals))):
            return f"tutor:{k + 1}", w.message, w.credit
    ratio = _constant_ratio(values, at(oracle.ref_values))
    if ratio is not None:
        named = _name_factor(ratio, ex)
        if named:
            return named
        return "factor", f"your answer is {ratio:.4g} times the right one: a constant factor is off", ex.auto_credit
    for code, message, vals in oracle.mutant_values():
        if _agree(values, at(vals), 1e-6, 1e-9):
            return code, message, ex.auto_credit
    return "", "", 0.0


def _agree(values, others, rtol, atol) -> bool:
    """Close at every point where both are defined (None marks an undefined point), and at most of them."""
    pairs = [(v, r) for v, r in zip(values, others) if v is not None and r is not None]
    return len(pairs) * 2 >= len(values) and all(close(v, r, rtol, atol) for v, r in pairs)


def _constant_ratio(values, refs) -> float | None:
    num = den = 0.0
    for v, r in zip(values, refs):
        v, r = np.broadcast_arrays(np.asarray(v, float), np.asarray(r, float))
        num += float(np.sum(v * r))
        den += float(np.sum(r * r))
    if den == 0 or not math.isfinite(num):
        return None
    c = num / den
    if abs(c) < 1e-12:
        return None
    if all(close(v, c * np.asarray(r), 1e-6, 1e-9) for v, r in zip(values, refs)):
        return c
    return None


def _name_factor(c: float, ex) -> tuple[str, str, float] | None:
    """Match a constant ratio against the usual slips (sign, 2, 1/2, m, 1/m...)."""
    cands = [(-1.0, "sign", "sign error: your answer is the negative of the right one")]
    for f, label in ((2.0, "2"), (0.5, "1/2")):
        cands.append((f, f"factor:{label}", f"off by a factor of {label}: your answer is {label} times the right one"))
        cands.append((-f, f"factor:-{label}", f"sign error and a factor of {label}"))
    for name, size in ex.dims:
        cands.append(
            (float(size), f"factor:{name}", f"off by a factor of {name}: your answer is {name} times the right one")
        )
        cands.append(
            (
                1.0 / size,
                f"factor:1/{name}",
                f"off by a factor of 1/{name}: your answer is the right one divided by {name}",
            )
        )
        cands.append((2.0 * size, f"factor:2{name}", f"off by a factor of 2{name}"))
        cands.append((0.5 / size, f"factor:1/(2{name})", f"off by a factor of 1/(2{name})"))
    for f, code, msg in cands:
        if abs(c - f) <= 1e-6 * abs(f):
            return code, msg, ex.auto_credit
    return None
