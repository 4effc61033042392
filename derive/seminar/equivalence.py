"""Deciding whether an answer equals the reference, and naming the mistake.

Four stages, cheapest first; the verdict records which one decided:

1. **shape** - the answer's shape at non-square sizes (``m=5, n=3, K=4``):
   a missing transpose is a shape error, reported as such;
2. **numeric** - seeded probing at >= 8 points drawn from each symbol's
   domain (redrawn where the reference is undefined), relative tolerance with
   an absolute floor.  An answer undefined (complex, infinite, NaN) at a
   point where the reference is defined is wrong;
3. **exact** - an answer that agrees in float64 is evaluated again at the
   same (exactly representable) points with mpmath at ``EXACT_DPS`` digits,
   or more where a part of it could hide below them (:class:`_Range`): a
   difference of 1e-12, exp(-40) or exp(-300 (s^2 + 1)) is wrong, not "close
   enough";
4. **symbolic** - SymPy confirmation at small explicit sizes, after
   rewriting to ``exp``, under a time limit.  A timeout leaves the exact
   verdict standing; only a check that no stage could finish is undecided.

A wrong answer is compared with the exercise's tutor-written wrong answers and
with single mutations of the reference (sign, factor 2, 1/2, m, 1/m,
transpose, operand order, dropped factor or term) so that feedback names the
mistake.  No student text is evaluated: numbers come from the typed tree via
:mod:`gradproof.derive.seminar.answers`, and this module evaluates SymPy / matrix expressions
with NumPy by walking them.

>>> from gradproof.derive.seminar.exercises import get
>>> decide(get("linear_grad_W"), "Z^T Delta").status
'correct'
"""

from __future__ import annotations

import gc
import itertools
import math
import signal
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import sympy as sp

from gradproof.derive.engine import mexpr as mx
from gradproof.derive.lecture.functions import FUNCTIONS, logcosh, probes, sech2, sigmoid, softplus

RTOL = 1e-7
ATOL = 1e-10
PROBES = 8
# Exact probes: digits of the mpmath evaluation, and the relative difference
# above which an answer that agrees in float64 is still a different formula.
# Constants are at least 1e-50 in size (gradproof.derive.seminar.answers.limits), far above it.
EXACT_DPS = 110
EXACT_RTOL = 1e-90
# Digits a hidden part may need (see _Range): above this the answer is judged
# to contain a part too small or too large to be a formula of the lecture.
MAX_EXTRA_DIGITS = 1500
EXACT_SECONDS = 3.0  # wall time for the exact probes (milliseconds for any honest answer)


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


class Undefined(Exception):
    """The expression is not defined at this point (log of a negative, singular solve...)."""


class Unsupported(Exception):
    """The expression uses a node the numeric evaluator does not know."""


class SymbolicTimeout(BaseException):
    """Raised by the interval timer; a BaseException so SymPy's ``except Exception`` cannot swallow it."""


# ---------------------------------------------------------------------------
# Numeric evaluation of SymPy and matrix expressions (a tree walk, no lambdify)
# ---------------------------------------------------------------------------

# the function table (gradproof.derive.lecture.functions): SymPy class -> NumPy float function; SymPy rewrites
# hyperbolic functions of imaginary arguments (cosh(I s) is cos(s)), so the circular ones too
_FUNCS = {**probes(), sp.sin: np.sin, sp.cos: np.cos, sp.tan: np.tan}


def num_eval(expr, env: dict, local: dict | None = None):
    """Evaluate a SymPy scalar or :mod:`gradproof.derive.engine.mexpr` expression with NumPy.

    ``env`` maps names to floats or arrays (matrices 2-D, indexed vectors 1-D,
    index symbols integer arrays); ``local`` binds Map placeholders.
    """
    with np.errstate(all="ignore"):
        return _Num(env, local or {})(expr)


@dataclass
class _Num:
    env: dict
    local: dict

    def __call__(self, e):
        if isinstance(e, mx.MExpr):
            return getattr(self, "_m_" + type(e).__name__)(e)
        return self.scalar(e)

    def _array(self, v):
        return np.asarray(v, dtype=float)

    def _child(self, env, local):
        return type(self)(env, local)

    def _number(self, e):
        return float(e)

    # matrix nodes
    def _m_Sym(self, e):
        try:
            return self._array(self.env[e.name])
        except KeyError:
            raise Unsupported(f"no value for {e.name}") from None

    def _m_Const(self, e):
        return np.full((int(self.scalar(e.shape[0])), int(self.scalar(e.shape[1]))), self.scalar(e.value), dtype=float)

    def _m_Identity(self, e):
        return np.eye(int(self.scalar(e.size)))

    def _m_Transpose(self, e):
        return self(e.arg).T

    def _m_MatMul(self, e):
        return self(e.left) @ self(e.right)

    def _m_Scale(self, e):
        return self.scalar(e.coeff) * self(e.arg)

    def _m_Add(self, e):
        out = self(e.terms[0])
        for t in e.terms[1:]:
            out = out + self(t)
        return out

    def _m_Map(self, e):
        local = dict(self.local)
        for p, a in e.args:
            local[p] = self(a)
        return self._array(self._child(self.env, local).scalar(e.expr))

    def _m_RowSum(self, e):
        return self(e.arg).sum(axis=1, keepdims=True)

    def _m_ColSum(self, e):
        return self(e.arg).sum(axis=0, keepdims=True)

    def _m_Total(self, e):
        return np.array([[self(e.arg).sum()]])

    def _m_Softmax(self, e):
        a = self(e.arg)
        z = np.exp(a - a.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)

    def _m_LogSoftmax(self, e):
        a = self(e.arg)
        sh = a - a.max(axis=1, keepdims=True)
        return sh - np.log(np.exp(sh).sum(axis=1, keepdims=True))

    def _m_Solve(self, e):
        a, b = self(e.a), self(e.b)
        try:
            if np.linalg.cond(a) > 1e12:
                raise Undefined("singular matrix")
            return np.linalg.solve(a, b)
        except np.linalg.LinAlgError:
            raise Undefined("singular matrix") from None

    # scalar nodes
    def scalar(self, e):
        if isinstance(e, (int, float)):
            return float(e)
        if isinstance(e, mx.MExpr):
            return self(e)
        if e in self.local:
            return self.local[e]
        if e in _NOT_REAL:
            raise Undefined(_NOT_REAL[e])
        if e.is_Number or e in (sp.E, sp.pi):
            return self._number(e)
        if isinstance(e, sp.Symbol):
            try:
                return self.env[e.name]
            except KeyError:
                raise Unsupported(f"no value for {e.name}") from None
        if isinstance(e, sp.Add):
            out = 0.0
            for a in e.args:
                out = out + self.scalar(a)
            return out
        if isinstance(e, sp.Mul):
            out = 1.0
            for a in e.args:
                out = out * self.scalar(a)
            return out
        if isinstance(e, sp.Pow):
            return self._pow(self.scalar(e.args[0]), self.scalar(e.args[1]))
        if isinstance(e, sp.Indexed):
            arr = self.env.get(e.base.label.name)
            if arr is None:
                raise Unsupported(f"no value for {e.base.label.name}")
            idx = tuple(np.asarray(self.scalar(i)).astype(int) for i in e.indices)
            return np.asarray(arr)[idx]
        if isinstance(e, sp.KroneckerDelta):
            return (np.asarray(self.scalar(e.args[0])) == np.asarray(self.scalar(e.args[1]))).astype(float)
        if isinstance(e, sp.Sum):
            return self._sum(e)
        if isinstance(e, sp.Function) and type(e) in _FUNCS:
            return self._func(type(e), [self.scalar(a) for a in e.args])
        if e.has(sp.I):
            raise Undefined(_NOT_REAL[sp.I])
        raise Unsupported(f"cannot evaluate {type(e).__name__}")

    def _pow(self, base, ex):
        return np.power(base, ex) if not isinstance(base, float) or base >= 0 or float(ex).is_integer() else math.nan

    def _func(self, f, args):
        return _FUNCS[f](*args)

    def _sum(self, e):
        body, limits = e.args[0], e.args[1:]
        ranges = []
        for var, lo, hi in limits:
            lo_v, hi_v = int(self.scalar(lo)), int(self.scalar(hi))
            ranges.append((var, range(lo_v, hi_v + 1)))
        total = 0.0
        for values in itertools.product(*[r for _, r in ranges]):
            env = dict(self.env)
            for (var, _), v in zip(ranges, values):
                env[var.name] = v
            total = total + self._child(env, self.local).scalar(body)
        return total


_EXPONENTIAL_LIKE = {sp.exp, sp.sinh, sp.cosh, sp.tanh, sigmoid, softplus, sech2, logcosh}


class _Range(_Num):
    """A float64 walk that also bounds how small a part of the expression can get.

    Every exponential-like function of x can be as small as e^-|x| (or hide
    1 - tanh(x) ~ e^-2|x|), every power b^k as small as |b|^-|k|, every
    constant c as small as |c|, and every solve loses log10(cond) digits.
    ``tally`` sums these over the nodes met: a part of the answer that
    vanishes in float64 is still visible at ``EXACT_DPS + 2 * digits``.
    """

    def __init__(self, env, local, tally=None):
        super().__init__(env, local)
        self.tally = tally if tally is not None else [0.0]

    def _note(self, value) -> None:
        with np.errstate(all="ignore"):
            v = np.asarray(value, dtype=float)
        v = v[np.isfinite(v)] if v.size else v
        if v.size:
            self.tally[0] += float(np.max(np.abs(v)))

    def _number(self, e):
        v = float(e)
        if v != 0 and math.isfinite(v):
            self.tally[0] += abs(math.log10(abs(v)))
        return v

    def _func(self, f, args):
        if f in _EXPONENTIAL_LIKE:
            for a in args:
                self._note(np.asarray(a, dtype=float) * (2 / math.log(10)))
        return super()._func(f, args)

    def _pow(self, base, ex):
        with np.errstate(all="ignore"):
            self._note(np.asarray(ex, dtype=float) * np.log10(np.abs(np.asarray(base, dtype=float))))
        return super()._pow(base, ex)

    def _m_Softmax(self, e):
        self._note(np.asarray(self(e.arg), dtype=float) * (2 / math.log(10)))
        return super()._m_Softmax(e)

    def _m_LogSoftmax(self, e):
        self._note(np.asarray(self(e.arg), dtype=float) * (2 / math.log(10)))
        return super()._m_LogSoftmax(e)

    def _m_Solve(self, e):
        a = self(e.a)
        with np.errstate(all="ignore"):
            self.tally[0] += float(np.log10(max(np.linalg.cond(a), 1.0))) if np.all(np.isfinite(a)) else 0.0
        return super()._m_Solve(e)

    def _child(self, env, local):
        return _Range(env, local, self.tally)


def extra_digits(expr, env: dict) -> float:
    """The digits beyond float64's that a hidden part of ``expr`` may need at this point (see :class:`_Range`)."""
    tally = [0.0]
    walker = _Range(env, {}, tally)
    with np.errstate(all="ignore"):
        walker(expr)
    return tally[0]


_NOT_REAL = {
    sp.I: "it contains the square root or the log of a negative number, which is not a real number",
    sp.zoo: "it divides by zero or takes log(0)",
    sp.oo: "it is infinite",
    -sp.oo: "it is infinite",
    sp.nan: "it is not a number (0/0 or infinity minus infinity)",
}


class _MpNum(_Num):
    """The same walk in mpmath at the current ``mp.dps``: object arrays of ``mpf``.

    Used to settle answers that agree with the reference in float64 but that
    SymPy cannot prove equal: a difference of 1e-12 or exp(-40) is far below
    float64's resolution on the answer's scale, but not at 110 digits.
    """

    def _array(self, v):
        return _to_mp(v)

    def _number(self, e):
        mp = _mp()
        if e is sp.E:
            return mp.e
        if e is sp.pi:
            return mp.pi
        if isinstance(e, sp.Rational):
            return mp.mpf(int(e.p)) / int(e.q)
        return mp.mpf(sp.Float(e, mp.dps + 10)._mpf_)

    def scalar(self, e):
        v = super().scalar(e)
        if isinstance(v, float):
            return _mp().mpf(v)
        return v

    def _m_Const(self, e):
        shape = (int(self.scalar(e.shape[0])), int(self.scalar(e.shape[1])))
        out = np.empty(shape, dtype=object)
        out[...] = self.scalar(e.value)
        return out

    def _m_Identity(self, e):
        k = int(self.scalar(e.size))
        mp = _mp()
        out = np.empty((k, k), dtype=object)
        out[...] = mp.mpf(0)
        for i in range(k):
            out[i, i] = mp.mpf(1)
        return out

    def _m_Softmax(self, e):
        a = self(e.arg)
        z = _mp_vec(_mp().exp)(a)
        return z / z.sum(axis=1, keepdims=True)

    def _m_LogSoftmax(self, e):
        a = self(e.arg)
        lse = _mp_vec(_mp().log)(_mp_vec(_mp().exp)(a).sum(axis=1, keepdims=True))
        return a - lse

    def _m_Solve(self, e):
        mp = _mp()
        a, b = self(e.a), self(e.b)
        b = b.reshape(b.shape[0], -1) if b.ndim == 2 else b.reshape(-1, 1)
        out = np.empty(b.shape, dtype=object)
        am = mp.matrix(a.tolist())
        for c in range(b.shape[1]):  # mpmath solves one right-hand side at a time
            try:
                x = mp.lu_solve(am, mp.matrix(list(b[:, c])))
            except ZeroDivisionError:
                raise Undefined("it inverts a singular matrix") from None
            out[:, c] = [x[i] for i in range(b.shape[0])]
        return out

    def _pow(self, base, ex):
        def power(b, x):
            mp = _mp()
            if b and abs(x) * abs(mp.log(abs(b))) > 1e6:
                raise TooLarge("too large to evaluate exactly")
            return b**x

        return _mp_vec(power)(base, ex)

    def _func(self, f, args):
        fn = _MP_FUNCS.get(f) or _mp_from_table(f)
        if fn is None:
            raise Unsupported(f"cannot evaluate {f.__name__} exactly")
        return _mp_vec(fn)(*args)


def _to_mp(v):
    """Floats (exact binary values) to ``mpf``, entrywise; integer index grids stay integers."""
    mp = _mp()
    if isinstance(v, (int, np.integer)) or (isinstance(v, np.ndarray) and v.dtype.kind in "iub"):
        return v
    if isinstance(v, float):
        return mp.mpf(v)
    v = np.asarray(v)
    if v.dtype == object:
        return v
    out = np.empty(v.shape, dtype=object)
    for idx, x in np.ndenumerate(v):
        out[idx] = mp.mpf(float(x))
    return out


def _mp_rel_diff(a, b):
    """max |a - b| / max(|a|, |b|) over the entries (mpf), or None where an entry is not a finite real."""
    mp = _mp()
    a, b = np.broadcast_arrays(np.asarray(a, dtype=object), np.asarray(b, dtype=object))
    num = scale = mp.mpf(0)
    for x, y in zip(a.reshape(-1), b.reshape(-1)):
        x, y = mp.mpmathify(x), mp.mpmathify(y)
        if not isinstance(x, mp.mpf) or not mp.isfinite(x):
            return None
        num = max(num, abs(x - y))
        scale = max(scale, abs(x), abs(y))
    return num / scale if scale else num


def _mp():
    import mpmath

    return mpmath.mp


def _mp_vec(fn):
    """Apply a scalar mpmath function entrywise (object arrays; scalars stay scalars)."""

    def apply(*args):
        if not any(isinstance(a, np.ndarray) and a.ndim for a in args):
            return fn(*[a.item() if isinstance(a, np.ndarray) else a for a in args])
        return np.frompyfunc(fn, len(args), 1)(*args)

    return apply


class TooLarge(OverflowError):
    """An intermediate value of the exact evaluation is beyond e^(10^6)."""


def _guarded(fn, bound=1e6):
    # NOTE: exp(1e9) has a ten-digit exponent that mpmath computes happily, but
    # exp(exp(1e9)) would need a billion digits; a float evaluation that
    # overflowed has already been judged, so refuse the rest here.
    def g(x):
        if abs(x) > bound:
            raise TooLarge("too large to evaluate exactly")
        return fn(x)

    return g


def _mp_from_table(f):
    """A table function without its own mpmath form: evaluate its explicit SymPy form (one argument)."""
    entry = next((g for g in FUNCTIONS if g.node is f and g.explicit is not None and g.nargs == 1), None)
    if entry is None:
        return None
    x = sp.Dummy("x", real=True)
    body = entry.explicit(x)
    return _guarded(lambda v: _MpNum({}, {x: v}).scalar(body))


def _mp_sigmoid(x):
    mp = _mp()
    return 1 / (1 + mp.exp(-x))


_MP_FUNCS = {
    sp.exp: _guarded(lambda x: _mp().exp(x)),
    sp.log: lambda x: _mp().log(x),
    sp.tanh: lambda x: _mp().tanh(x),
    sp.sinh: _guarded(lambda x: _mp().sinh(x)),
    sp.cosh: _guarded(lambda x: _mp().cosh(x)),
    sp.sin: lambda x: _mp().sin(x),
    sp.cos: lambda x: _mp().cos(x),
    sp.tan: lambda x: _mp().tan(x),
    sp.Abs: lambda x: abs(x),
    sigmoid: _guarded(_mp_sigmoid),
    softplus: _guarded(lambda x: _mp().log(1 + _mp().exp(x))),
}


def mp_eval(expr, env: dict, dps: int):
    """Evaluate like :func:`num_eval`, in mpmath at ``dps`` decimal digits (object arrays)."""
    mp = _mp()
    with mp.workdps(dps):
        return _MpNum(env, {})(expr)


def close(a, b, rtol: float = RTOL, atol: float = ATOL) -> bool:
    """Relative closeness with an absolute floor, over whole arrays."""
    a, b = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return False
    scale = max(float(np.max(np.abs(b))) if b.size else 0.0, float(np.max(np.abs(a))) if a.size else 0.0)
    return bool(np.max(np.abs(a - b)) <= rtol * scale + atol) if a.size else True


def max_rel_error(a, b) -> float:
    a, b = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
    scale = max(float(np.max(np.abs(b))), 1e-300)
    return float(np.max(np.abs(a - b)) / scale)


# ---------------------------------------------------------------------------
# Time limits for the symbolic stage
# ---------------------------------------------------------------------------


class time_limit:
    """``with time_limit(2.0):`` raises :class:`SymbolicTimeout` after 2 s of wall time.

    Uses an interval timer, so it works only in the main thread; elsewhere
    the block runs with no limit and relies on the worker's CPU limit.
    NOTE: a signal that lands while a finalizer runs is swallowed by Python
    (the block then runs on, under the worker's CPU limit); the cyclic garbage
    collector, the usual caller of finalizers, is paused inside the block.
    """

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.active = threading.current_thread() is threading.main_thread() and seconds > 0

    def _fire(self, signum, frame):
        raise SymbolicTimeout()

    def __enter__(self):
        if self.active:
            self.gc_was_enabled = gc.isenabled()
            gc.disable()
            self.old = signal.signal(signal.SIGALRM, self._fire)
            signal.setitimer(signal.ITIMER_REAL, self.seconds)
        return self

    def __exit__(self, *exc):
        if self.active:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.old)
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
                f"the exact evaluation took longer than {exact_seconds:g} s; a tutor should look at this answer",
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
    sym_note = ""
    try:
        with time_limit(symbolic_seconds):
            proved = oracle.symbolic_equal(reading.expr)
    except SymbolicTimeout:
        proved, sym_note = False, f"; symbolic confirmation timed out after {symbolic_seconds:g} s"
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
            detail=detail + exact_note,
            seconds=time.perf_counter() - t0,
        )
    if diff == "failed":
        return Verdict(
            **base,
            status="undecided",
            decided_by="error",
            feedback=(
                "the answer agrees with the right one in floating point, but neither exact "
                "evaluation nor a symbolic proof could confirm it; a tutor should look at it",
            ),
            detail=detail + exact_note + sym_note,
            seconds=time.perf_counter() - t0,
        )
    return Verdict(
        **base,
        status="correct",
        decided_by="exact",
        credit=1.0,
        feedback=("correct",),
        detail=detail + exact_note + (sym_note or "; symbolic confirmation inconclusive"),
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


# ---------------------------------------------------------------------------
# The oracle: an exercise's probe points, reference values and mutants
# ---------------------------------------------------------------------------


class Oracle:
    """Everything about an exercise's reference that does not depend on the answer.

    Built once per exercise per process (the grading workers inherit it when
    they fork); deterministic, seeded by the exercise.
    """

    def __init__(self, ex, probes: int = PROBES):
        from gradproof.derive.seminar.answers import read_answer

        self.ex = ex
        self.vocab = ex.vocabulary()
        self.ref_expr, self.ref_shape = ex.reference()
        self.shape = ex.shape_at_probe(self.ref_shape)
        self.refnames = dict(ex.reference_names)
        self.definitions = []
        for decl in ex.symbols:
            if decl.definition:
                self.definitions.append((decl, read_answer(decl.definition, self.vocab).expr))
        self.envs: list[dict] = []
        self.ref_values: list = []
        rng = np.random.default_rng(ex.seed)
        attempts = 0
        while len(self.envs) < probes:
            attempts += 1
            if attempts > 30 * probes:
                raise RuntimeError(f"exercise {ex.id}: the reference is undefined at almost every probe point")
            env = self._draw(rng)
            try:
                val = num_eval(self.ref_expr, self._ref_env(env))
            except Undefined:
                continue  # NOTE: redraw where the reference itself is undefined
            val = np.asarray(val, dtype=float)
            if not np.all(np.isfinite(val)):
                continue
            self.envs.append(env)
            self.ref_values.append(val)
        self._wrong = None
        self._mutants = None
        self._mp_cache: dict = {}
        self._ref_digits = None

    # -- probe points -----------------------------------------------------
    def _draw(self, rng) -> dict:
        env: dict[str, Any] = {}
        dims = dict(self.ex.dims)
        env.update(dims)
        index_syms = [d for d in self.ex.symbols if d.is_index]
        if index_syms:
            grids = np.meshgrid(*[np.arange(dims[d.index_range]) for d in index_syms], indexing="ij")
            for d, g in zip(index_syms, grids):
                env[d.name] = g
        for d in self.ex.symbols:
            if d.is_index or d.definition or d.domain == "identity":
                continue
            if d.is_matrix:
                shape = tuple(1 if s in (1, "1") else dims[s] for s in d.shape)
            elif d.is_indexed_vector:
                shape = (dims[d.shape[0]],)
            else:
                shape = ()
            env[d.name] = _sample(rng, d.domain, shape)
        for d, expr in self.definitions:
            val = np.asarray(num_eval(expr, env), dtype=float)
            env[d.name] = (
                val.reshape(-1) if d.is_indexed_vector else (float(val.reshape(-1)[0]) if d.shape == () else val)
            )
        return env

    def _ref_env(self, env: dict) -> dict:
        out = dict(env)
        for engine_name, ex_name in self.refnames.items():
            if ex_name in env:
                out[engine_name] = env[ex_name]
        return out

    def evaluate(self, expr):
        """The answer's values at every probe point; None if undefined; a message if unsupported."""
        out = []
        for env in self.envs:
            try:
                v = np.asarray(num_eval(expr, env), dtype=float)
            except Undefined:
                return None
            except Unsupported as err:
                return f"cannot evaluate the answer numerically: {err}"
            except (ValueError, TypeError, IndexError, OverflowError) as err:
                return f"cannot evaluate the answer numerically ({type(err).__name__})"
            if not np.all(np.isfinite(v)):
                return None
            out.append(v)
        return out

    def evaluate_points(self, expr):
        """The answer's values at each probe point (None where undefined) and why; a message if unsupported."""
        out, why = [], ""
        for env in self.envs:
            try:
                v = np.asarray(num_eval(expr, env), dtype=float)
            except Undefined as err:
                out.append(None)
                why = why or str(err)
                continue
            except Unsupported as err:
                return f"cannot evaluate the answer numerically: {err}"
            except (ValueError, TypeError, IndexError, OverflowError) as err:
                return f"cannot evaluate the answer numerically ({type(err).__name__})"
            if not np.all(np.isfinite(v)):
                out.append(None)
                why = why or (
                    "it is infinite or not a number there (a division by zero, the log of zero "
                    "or of a negative number, an overflow...)"
                )
                continue
            out.append(v)
        return out, why

    def describe_point(self, i: int) -> str:
        """Probe point ``i`` in words: scalar values exactly, matrices by name."""
        env = self.envs[i]
        scalars, arrays = [], []
        for d in self.ex.symbols:
            if d.is_index or d.definition or d.domain == "identity" or d.name not in env:
                continue
            v = env[d.name]
            if np.ndim(v) == 0:
                scalars.append(f"{d.name} = {float(v):.6g}")
            else:
                arrays.append(d.name)
        parts = scalars + ([f"the random {', '.join(arrays)} of probe point {i + 1}"] if arrays else [])
        return ", ".join(parts) if parts else f"probe point {i + 1}"

    # -- exact probes -------------------------------------------------------
    def _mp_env(self, env: dict, dps: int) -> dict:
        """A probe point in mpmath: the same (exact binary) values, definitions recomputed at ``dps`` digits."""
        out = {k: _to_mp(v) for k, v in env.items()}
        for d, expr in self.definitions:
            val = np.asarray(mp_eval(expr, out, dps), dtype=object)
            out[d.name] = val.reshape(-1) if d.is_indexed_vector else (val.reshape(-1)[0] if d.shape == () else val)
        return out

    def exact_points(self, dps: int = EXACT_DPS):
        """The probe points and reference values in mpmath at ``dps`` digits (computed once per dps)."""
        hit = self._mp_cache.get(dps)
        if hit is None:
            envs, refs = [], []
            for env in self.envs:
                menv = self._mp_env(env, dps)
                envs.append(menv)
                refs.append(mp_eval(self.ref_expr, self._ref_env(menv), dps))
            if len(self._mp_cache) > 4:  # precisions beyond the usual one are rare: keep a few
                self._mp_cache.pop(next(k for k in self._mp_cache if k != EXACT_DPS))
            hit = self._mp_cache[dps] = (envs, refs)
        return hit

    def reference_digits(self) -> float:
        """:func:`extra_digits` of the reference, at its worst probe point (computed once)."""
        if self._ref_digits is None:
            self._ref_digits = max(extra_digits(self.ref_expr, self._ref_env(env)) for env in self.envs)
        return self._ref_digits

    def exact_plan(self, expr) -> tuple[int, float]:
        """Precision and threshold for comparing ``expr`` exactly: ``(dps, rtol)``.

        A part of the answer may be as small as 10^-extra relative to the
        rest (an exp(-300 s^2) term, a 1e-40 coefficient, (s^2/(s^2 + 10^6))^64);
        evaluating at ``EXACT_DPS + 2 extra`` digits leaves it far above the
        rounding noise, which cancellation can raise by at most 10^extra.
        Raises :class:`TooLarge` when the part would need more than
        ``MAX_EXTRA_DIGITS``.
        """
        extra = max(extra_digits(expr, env) for env in self.envs) + self.reference_digits()
        if not math.isfinite(extra) or extra > MAX_EXTRA_DIGITS:
            raise TooLarge(f"a part of the answer needs about {extra:.3g} digits")
        if extra <= (EXACT_DPS - 20 - 90) / 2 + 10:
            return EXACT_DPS, EXACT_RTOL
        dps = int(math.ceil((EXACT_DPS + 2 * extra) / 50.0) * 50)
        return dps, _mp().mpf(10) ** -int(math.ceil(90 + extra))

    def exact_difference(self, expr, dps: int = EXACT_DPS):
        """Largest relative difference from the reference at the probe points, at ``dps`` digits.

        Returns ``(difference, point)`` (an mpf and the probe index), with
        ``difference`` None where the answer is not a finite real number.
        """
        envs, refs = self.exact_points(dps)
        worst, where = _mp().mpf(0), 0
        for i, (menv, ref) in enumerate(zip(envs, refs)):
            with _mp().workdps(dps):
                d = _mp_rel_diff(mp_eval(expr, menv, dps), ref)
                if d is None:
                    return None, i
                if d > worst:
                    worst, where = d, i
        return worst, where

    # -- wrong answers and mutants ----------------------------------------
    def wrong_values(self):
        """Tutor-written wrong answers with their values (parsed once)."""
        from gradproof.derive.seminar.answers import AnswerError, read_answer

        if self._wrong is None:
            self._wrong = []
            for w in self.ex.wrong:
                try:
                    r = read_answer(w.answer, self.vocab)
                    vals = self.evaluate(r.expr) if self.ex.shape_at_probe(r.shape) == self.shape else None
                except AnswerError:
                    vals = None
                self._wrong.append((vals if isinstance(vals, list) else None, w))
        return self._wrong

    def mutant_values(self):
        """Single mutations of the reference, with values, named; computed once."""
        if self._mutants is None:
            self._mutants = []
            seen = [self.ref_values]
            for code, message, expr in itertools.islice(
                itertools.chain(self._index_swaps(), self._global_mutants(), _mutants(self.ref_expr, self)), 400
            ):
                vals = []
                try:
                    for env in self.envs:
                        try:
                            v = np.asarray(num_eval(expr, self._ref_env(env)), dtype=float)
                        except Undefined:
                            v = None  # e.g. a sign slip 1/(a - b) where a = b: judged at the other points
                        if v is not None and not np.all(np.isfinite(v)):
                            v = None
                        if v is not None and v.shape != np.asarray(self.ref_values[0]).shape and v.size != 1:
                            raise Undefined("")
                        vals.append(v)
                except (Undefined, Unsupported, ValueError):
                    continue
                if sum(v is not None for v in vals) * 2 < len(vals):
                    continue
                if any(_agree(vals, s, RTOL, ATOL) for s in seen):
                    continue
                seen.append(vals)
                self._mutants.append((code, message, vals))
        return self._mutants

    def _global_mutants(self):
        """Mutations of the whole reference at once: every square halved (sigma vs sigma^2)."""
        e = self.ref_expr
        if isinstance(e, sp.Basic) and e.has(sp.Pow):
            halved = e.replace(
                lambda x: isinstance(x, sp.Pow) and x.exp.is_Integer and x.exp % 2 == 0,
                lambda x: sp.Pow(x.base, x.exp / 2),
            )
            yield "missing-square", "squares are missing (a standard deviation where a variance belongs?)", halved

    def _index_swaps(self):
        """Index form: the reference with two index symbols exchanged (``d sigma_j / d s_k``)."""
        if not isinstance(self.ref_expr, sp.Basic):
            return
        names = {ex: eng for eng, ex in self.refnames.items()}
        idx = [d.name for d in self.ex.symbols if d.is_index]
        by_name = {s.name: s for s in self.ref_expr.free_symbols if isinstance(s, sp.Symbol)}
        for a, b in itertools.combinations(idx, 2):
            sa, sb = by_name.get(names.get(a, a)), by_name.get(names.get(b, b))
            if sa is not None and sb is not None:
                yield ("indices", f"the indices {a} and {b} are exchanged", self.ref_expr.xreplace({sa: sb, sb: sa}))

    # -- symbolic confirmation --------------------------------------------
    def symbolic_equal(self, expr) -> bool:
        """True if SymPy proves ``expr`` equal to the reference at small explicit sizes."""
        env, dims = self._symbolic_env()
        index_syms = [d for d in self.ex.symbols if d.is_index]
        if index_syms:
            ranges = [range(dims_int(self.ex.symbolic_dims, d.index_range)) for d in index_syms]
            for values in itertools.product(*ranges):
                local = {d.name: sp.Integer(v) for d, v in zip(index_syms, values)}
                a = _sym_scalar(expr, env, local)
                b = _sym_scalar(self.ref_expr, self._ref_env(env), self._ref_env_local(local))
                if not _zero(a - b):
                    return False
            return True
        a = _sym_value(expr, env, dims)
        b = _sym_value(self.ref_expr, self._ref_env(env), dims)
        if a.shape != b.shape:
            return False
        return all(_zero(x) for x in (a - b))

    def _ref_env_local(self, local):
        out = dict(local)
        for engine_name, ex_name in self.refnames.items():
            if ex_name in local:
                out[engine_name] = local[ex_name]
        return out

    def _symbolic_env(self):
        from gradproof.derive.seminar.answers.convert import scalar_symbol

        sdims = dict(self.ex.symbolic_dims)
        env: dict[str, Any] = {k: sp.Integer(v) for k, v in sdims.items()}
        for d in self.ex.symbols:
            if d.is_index or d.definition or d.domain == "identity":
                continue
            if d.is_matrix:
                r, c = (1 if s in (1, "1") else sdims[s] for s in d.shape)
                env[d.name] = sp.Matrix(
                    r, c, [scalar_symbol(f"{d.name}_{i}_{j}", d.domain) for i in range(r) for j in range(c)]
                )
            elif d.is_indexed_vector:
                env[d.name] = [scalar_symbol(f"{d.name}_{i}", d.domain) for i in range(sdims[d.shape[0]])]
            else:
                env[d.name] = scalar_symbol(d.name, d.domain)
        for d, expr in self.definitions:
            val = _sym_value(expr, env, None)
            if d.is_indexed_vector:
                env[d.name] = list(val)
            elif d.shape == ():
                env[d.name] = val[0, 0]
            else:
                env[d.name] = val
        return env, None


def dims_int(dims, name) -> int:
    return dict(dims)[name]


def _sample(rng, domain: str, shape: tuple):
    if domain == "positive":
        v = rng.uniform(0.5, 2.0, shape)
    elif domain == "prob":
        v = rng.uniform(0.05, 0.95, shape)
    elif domain == "binary":
        v = rng.integers(0, 2, shape).astype(float)
    elif domain == "onehot":
        v = np.zeros(shape)
        if len(shape) == 2:
            v[np.arange(shape[0]), rng.integers(0, shape[1], shape[0])] = 1.0
    elif domain == "count":
        v = rng.integers(2, 10, shape).astype(float)
    elif domain == "spd":
        if len(shape) == 2 and shape[0] == shape[1]:
            a = rng.normal(size=shape)
            v = a @ a.T + shape[0] * np.eye(shape[0])
        else:
            v = rng.uniform(0.5, 2.0, shape)
    else:
        v = rng.normal(0.0, 1.0, shape)
    return float(v) if shape == () else v


def _scalar_symbols(expr):
    """Every SymPy Symbol inside a scalar or matrix expression (Map bodies, coefficients...)."""
    out = set()
    if isinstance(expr, mx.MExpr):
        for node in expr.walk():
            for f in ("coeff", "expr", "value", "size"):
                v = getattr(node, f, None)
                if isinstance(v, sp.Basic):
                    out |= v.free_symbols
            for d in getattr(node, "shape", ()):
                if isinstance(d, sp.Basic):
                    out |= d.free_symbols
    elif isinstance(expr, sp.Basic):
        out |= expr.free_symbols
    return out


def _sym_value(expr, env: dict, _dims) -> sp.Matrix:
    """Explicit SymPy value of an expression, symbols bound by name."""
    subs = {}
    for s in _scalar_symbols(expr):
        if s.name in env and not isinstance(env[s.name], (sp.MatrixBase, list)):
            subs[s] = env[s.name]
    if isinstance(expr, mx.MExpr):
        return mx.evaluate(expr, env, subs)
    return sp.Matrix([[_sym_scalar(expr, env, {})]])


def _sym_scalar(expr, env: dict, local: dict):
    """Explicit SymPy value of a scalar / index expression at concrete indices."""

    def bind(s):
        if s.name in local:
            return local[s.name]
        v = env.get(s.name)
        if v is None or isinstance(v, (sp.MatrixBase, list)):
            return s
        return v

    e = expr.xreplace({s: bind(s) for s in expr.free_symbols if isinstance(s, sp.Symbol)})
    if e.has(sp.Sum):
        e = e.doit()

    def entry(ix):
        v = env.get(ix.base.label.name)
        idx = [int(i) for i in ix.indices]
        if isinstance(v, list):
            return v[idx[0]]
        if isinstance(v, sp.MatrixBase):
            return v[idx[0], idx[1]] if len(idx) == 2 else v[idx[0]]
        raise Unsupported(f"no value for {ix.base.label.name}")

    return e.replace(lambda x: isinstance(x, sp.Indexed), entry)


def _zero(x) -> bool:
    from gradproof.derive.lecture.functions import explicit

    x = explicit(x if isinstance(x, sp.Basic) else sp.Float(x)).rewrite(sp.exp)
    if x == 0:
        return True
    if sp.cancel(sp.together(x)) == 0:
        return True
    return sp.simplify(x) == 0


# ---------------------------------------------------------------------------
# Single mutations of the reference
# ---------------------------------------------------------------------------


def _mutants(e, oracle):
    """Yield ``(code, message, mutated expression)`` for single mutations of ``e``."""
    yield from _local_mutants(e, oracle)
    if isinstance(e, mx.MExpr):
        for _name, child, rebuild in _mexpr_slots(e):
            for code, msg, new in _mutants(child, oracle):
                try:
                    yield code, msg, rebuild(new)
                except (ValueError, TypeError):
                    continue
    elif isinstance(e, sp.Basic) and e.args and not isinstance(e, (sp.Indexed, sp.KroneckerDelta)):
        for i, child in enumerate(e.args):
            for code, msg, new in _mutants(child, oracle):
                args = list(e.args)
                args[i] = new
                try:
                    yield code, msg, e.func(*args)
                except (TypeError, ValueError):
                    continue


def _mexpr_slots(e):
    import dataclasses

    for f in dataclasses.fields(e):
        v = getattr(e, f.name)
        if isinstance(v, (mx.MExpr, sp.Basic)) and f.name not in ("shape", "size", "value"):
            yield f.name, v, (lambda new, _f=f.name: dataclasses.replace(e, **{_f: new}))
        elif f.name == "terms":
            for i, t in enumerate(v):
                yield (
                    f"terms[{i}]",
                    t,
                    (lambda new, _i=i, _v=v: dataclasses.replace(e, terms=_v[:_i] + (new,) + _v[_i + 1 :])),
                )
        elif f.name == "args" and isinstance(e, mx.Map):
            for i, (p, a) in enumerate(v):
                yield (
                    f"args[{i}]",
                    a,
                    (lambda new, _i=i, _p=p, _v=v: dataclasses.replace(e, args=_v[:_i] + ((_p, new),) + _v[_i + 1 :])),
                )


def _describe(expr, oracle) -> str:
    from gradproof.derive.output.printing import to_text

    try:
        text = to_text(expr)
    except Exception:
        text = str(expr)
    if not oracle.refnames:
        return text
    import re

    # the exercise's names for the engine's, whole names only and all at once
    # (z -> yhat must not touch the z in "size", nor be renamed twice)
    names = sorted(oracle.refnames, key=len, reverse=True)
    pattern = r"(?<![A-Za-z0-9_])(%s)(?![A-Za-z0-9_])" % "|".join(re.escape(n) for n in names)
    return re.sub(pattern, lambda m: oracle.refnames[m.group(1)], text)


def _local_mutants(e, oracle):
    if isinstance(e, mx.MatMul):
        l, r = e.left, e.right
        yield "order", "the operands of a product are in the wrong order", _try(lambda: mx.MatMul(r, l))
        yield "transposed", "a transpose is missing or misplaced", _try(lambda: mx.MatMul(mx.Transpose(l), r))
        yield "transposed", "a transpose is missing or misplaced", _try(lambda: mx.MatMul(l, mx.Transpose(r)))
        yield (
            "order",
            "the operands of a product are in the wrong order",
            _try(lambda: mx.MatMul(mx.Transpose(r), mx.Transpose(l))),
        )
    if isinstance(e, mx.Add):
        for i, t in enumerate(e.terms):
            yield (
                "sign",
                "sign error in one term",
                mx.Add(e.terms[:i] + (mx.Scale(sp.Integer(-1), t),) + e.terms[i + 1 :]),
            )
            rest = e.terms[:i] + e.terms[i + 1 :]
            if rest:
                yield (
                    "missing-term",
                    f"a term is missing ({_describe(t, oracle)})",
                    rest[0] if len(rest) == 1 else mx.Add(rest),
                )
    if isinstance(e, mx.Solve) and isinstance(e.a, mx.Add):
        # ridge: A = X^T X + lambda I; the term must sit inside the inverse
        for i, t in enumerate(e.a.terms):
            rest = e.a.terms[:i] + e.a.terms[i + 1 :]
            if not rest:
                continue
            inner = rest[0] if len(rest) == 1 else mx.Add(rest)
            yield (
                "ridge-outside",
                "the ridge term belongs inside the inverse, added to X^T X, not outside it",
                _try(lambda inner=inner, t=t: mx.MatMul(mx.Add((mx.Solve(inner, mx.Identity(e.a.shape[0])), t)), e.b)),
            )
            yield (
                "ridge-outside",
                "the ridge term belongs inside the inverse, added to X^T X, not outside it",
                _try(lambda inner=inner, t=t: mx.Add((mx.Solve(inner, e.b), mx.MatMul(t, mx.Solve(inner, e.b))))),
            )
            yield (
                "missing-ridge",
                "the ridge term lambda I is missing: this is the least-squares solution",
                mx.Solve(inner, e.b),
            )
    if isinstance(e, mx.Map):
        places = dict(e.args)
        for code, msg, body in _sympy_local(e.expr, places, oracle):
            yield code, msg, mx.Map(body, e.args)
    if isinstance(e, sp.Basic) and not isinstance(e, mx.MExpr):
        yield from _sympy_local(e, {}, oracle)


def _try(fn):
    try:
        return fn()
    except (ValueError, TypeError):
        return mx.Const(sp.nan)


def _sympy_local(e, places, oracle):
    if isinstance(e, sp.Mul):
        factors = [f for f in e.args if not f.is_Number]
        for k in (1, 2):
            for drop in itertools.combinations(range(len(factors)), k):
                if len(factors) - k < 1 and not any(f.is_Number for f in e.args):
                    continue
                dropped = [factors[i] for i in drop]
                kept = [f for i, f in enumerate(factors) if i not in drop] + [f for f in e.args if f.is_Number]
                code, msg = _name_dropped(dropped, places, oracle)
                yield code, msg, sp.Mul(*kept)
    if isinstance(e, sp.Add):
        terms = list(e.args)
        for i, t in enumerate(terms):
            yield "sign", "sign error in one term", sp.Add(*(terms[:i] + [-t] + terms[i + 1 :]))
            if len(terms) > 1:
                yield "missing-term", "a term is missing", sp.Add(*(terms[:i] + terms[i + 1 :]))
    if isinstance(e, sp.KroneckerDelta):
        yield "missing-delta", "the indicator [[j = k]] is missing or misplaced", sp.Integer(1)
    if isinstance(e, sp.Pow) and e.exp == 2:
        yield "missing-square", "a square is missing", e.base


def _name_dropped(dropped, places, oracle):
    def is_one_minus(f):
        return isinstance(f, sp.Add) and len(f.args) == 2 and sp.Integer(1) in f.args

    def base_of(f):
        return (f - 1) * -1 if is_one_minus(f) else None

    if len(dropped) == 2:
        a, b = dropped
        for x, y in ((a, b), (b, a)):
            if is_one_minus(y) and sp.simplify(base_of(y) - x) == 0:
                return (
                    "missing-sigma-prime",
                    "the factor sigma'(s) = sigma(s)(1 - sigma(s)) is missing (chain rule through the sigmoid)",
                )
    if len(dropped) == 1:
        (f,) = dropped
        if is_one_minus(f):
            inner = base_of(f)
            if isinstance(inner, sp.Pow) and inner.exp == 2:
                return "missing-tanh-prime", "the factor 1 - tanh^2 (the derivative of tanh) is missing"
            return "missing-one-minus", "the factor (1 - sigma) is missing: sigma'(s) = sigma(s)(1 - sigma(s))"
        if isinstance(f, sp.KroneckerDelta):
            return "missing-delta", "the indicator [[j = k]] is missing"
    text = " * ".join(
        _describe(d.xreplace({p: sp.Symbol(_describe(a, oracle)) for p, a in places.items()}), oracle) for d in dropped
    )
    return "missing-factor", f"a factor is missing ({text})"
