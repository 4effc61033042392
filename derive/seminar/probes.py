"""Evaluating SymPy and matrix expressions at probe points: float64, then exact.

Numbers come from a tree walk (no ``lambdify``, nothing evaluated as text):
:func:`num_eval` in float64, :func:`mp_eval` with mpmath at many digits,
:func:`extra_digits` bounding how many more digits a hidden part could need.

>>> import sympy as sp
>>> s = sp.Symbol("s")
>>> float(num_eval(sp.exp(s) - 1, {"s": 0.5}))
0.6487212707001282
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import sympy as sp

from gradproof.derive.engine import mexpr as mx
from gradproof.derive.lecture.functions import FUNCTIONS, logcosh, probes, sech2, sigmoid, softplus

RTOL = 1e-7
ATOL = 1e-10
PROBES = 8
# Exact probes: digits of the mpmath evaluation, and the relative difference
# above which an answer that agrees in float64 is still a different formula.
# Constants are at least 1e-50 in size (gradproof.derive.reading.limits), far above it.
EXACT_DPS = 110
EXACT_RTOL = 1e-90
# Digits a hidden part may need (see _Range): above this the answer is judged
# to contain a part too small or too large to be a formula of the lecture.
MAX_EXTRA_DIGITS = 1500
EXACT_SECONDS = 3.0  # wall time for the exact probes (milliseconds for any honest answer)


class Undefined(Exception):
    """The expression is not defined at this point (log of a negative, singular solve...)."""


class Unsupported(Exception):
    """The expression uses a node the numeric evaluator does not know."""


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
