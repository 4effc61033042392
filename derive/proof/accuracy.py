"""High-precision reference values for the accuracy layer.

The accuracy layer (:mod:`gradproof.numeric.accuracy`) runs a generated module at
ordinary and extreme inputs in float64 and float32; this module evaluates the
*derived* expressions (the matrix forms of the derivation, before any
stability rewrite) at exactly the same inputs, to 30 significant digits (a
value that cannot be had to 30 digits with at most 2500 digits of working
precision is left out, never guessed).

All symbolic dimensions are 1 here: every output entry is then a scalar
function of scalar inputs, so a relative error measures the generated
formula, not the conditioning of a sum over random data.

How: the derived matrix forms are instantiated once per topic with a symbol
for every input entry, each entry rewritten into SymPy built-ins and turned
into a small evaluator over mpmath's interval arithmetic (outward rounding,
so the exact value always lies inside the computed interval).  At each point
the inputs (floats, exact binary values) go in as point intervals, starting
at 128 bits; while the interval is wider than 1e-30 of its magnitude, or a
sign, a branch or a domain cannot be decided from it, the precision is
doubled, up to 2500 digits (cancellation between terms of size e^{+-2000},
e.g. ``1 - sigma(s)`` at ``s = 1000``, needs about 900).  The reference is
the interval's midpoint, rounded to a float: within 1e-30 of the exact value.
An entry using a function the evaluator does not know is evaluated by SymPy's
``evalf`` (mpmath with adaptive precision) at the same inputs instead.  Points
that occur twice (the float32 list shares most values with the float64 one)
are evaluated once.

>>> from gradproof.derive.lecture.registry import derive
>>> import numpy as np
>>> ref = reference_values(derive("sigmoid"), [{"z": np.array([[-700.0]]), "delta": np.array([[1.0]])}])
>>> float(ref[0]["forward"][0])
9.85967654375977e-305
"""

from __future__ import annotations

import math

import numpy as np
import sympy as sp
from mpmath.libmp import libmpf as lf
from mpmath.libmp import libmpi as li

from gradproof.derive.engine import mexpr as mx
from gradproof.derive.lecture import functions as fn

DIGITS = 30
MAX_DIGITS = 2500  # enough for cancellation between terms of size e^{+-2000}
START_BITS = 128  # 38 digits: most entries are settled at the first try
MAX_BITS = math.ceil(MAX_DIGITS * math.log2(10))
_RELATIVE_WIDTH = lf.from_rational(1, 10**DIGITS, 64, lf.round_floor)


def argument_names(code) -> dict:
    """Derivation symbol name -> the generated code's argument name."""
    from gradproof.derive.output.codegen_numpy.context import py_name

    syms = [code.input, *code.params]
    for extra in (code.target, code.upstream):
        if extra is not None:
            syms.append(extra)
    out = {s.name: py_name(s) for s in syms}
    if code.kind in ("model", "solver"):
        out[code.input.name] = "X"
    return out


def outputs(code) -> dict:
    """Output key -> matrix expression, matching :func:`gradproof.numeric.accuracy.computed`."""
    if code.kind == "module":
        return {"forward": code.forward, "backward": code.backward, **{f"grad:{p}": g for p, g in code.grads}}
    if code.kind in ("loss", "penalty"):
        return {"forward": code.forward, "backward": code.backward}
    if code.kind == "model":
        return {"forward": code.forward, **{f"grad:{p}": g for p, g in code.grads}}
    return {}


def _value(e):
    """``e`` to ``DIGITS`` digits by SymPy's ``evalf`` as a Python float (``None`` when not a finite real)."""
    e = fn.explicit(sp.sympify(e, strict=True))
    try:
        v = e.evalf(DIGITS, maxn=MAX_DIGITS, strict=True)
    except (sp.core.evalf.PrecisionExhausted, ValueError, TypeError, ZeroDivisionError):
        return None
    if not v.is_number or not v.is_real or not v.is_finite:
        return None
    try:
        return float(v)  # a value beyond float64's range is inf: not a normal number, skipped
    except (TypeError, OverflowError):
        return None


# ---------------------------------------------------------------------------
# Interval evaluation of one scalar entry.  An interval is mpmath's pair of raw
# floats (lower, upper); every operation rounds outwards at the precision given.
# ---------------------------------------------------------------------------


class _Undecided(Exception):
    """The interval is too wide to decide a sign, a branch or a domain: raise the precision."""


class _Undefined(Exception):
    """The entry is not a finite real number at this point (log of a negative number, 0/0, ...)."""


class _Unsupported(Exception):
    """A node the interval evaluator does not know: the entry goes to ``evalf``."""


_ZERO, _ONE = (lf.fzero, lf.fzero), (lf.fone, lf.fone)
_INFINITE = (lf.finf, lf.fninf, lf.fnan)


def _sign(x) -> int:
    """The sign of every point of ``x`` (0 only for the point 0); raises when ``x`` straddles 0."""
    a, b = x
    if a == b == lf.fzero:
        return 0
    if lf.mpf_sign(a) > 0:
        return 1
    if lf.mpf_sign(b) < 0:
        return -1
    raise _Undecided


def _point(v):
    return (v, v)


def _divide(x, y, prec):
    if y == _ZERO:
        raise _Undefined
    _sign(y)  # a denominator that may be 0 is decided at a higher precision
    return li.mpi_div(x, y, prec)


def _power(x, n, prec):
    """``x ** n`` for a SymPy number ``n``."""
    if n.is_Integer:
        return li.mpi_pow_int(x, int(n), prec) if n >= 0 else _divide(_ONE, li.mpi_pow_int(x, -int(n), prec), prec)
    if n == sp.S.Half:
        s = _sign(x)
        if s < 0:
            raise _Undefined
        return li.mpi_sqrt(x, prec)
    return _general_power(x, _constant(n)((), prec), prec)


def _general_power(x, n, prec):
    """``x ** n`` for ``x > 0`` (0 ** n with n > 0 is 0); complex, so undefined, for ``x < 0``."""
    s = _sign(x)
    if s < 0:
        raise _Undefined
    if s == 0:
        if _sign(n) > 0:
            return _ZERO
        raise _Undefined
    return li.mpi_exp(li.mpi_mul(n, li.mpi_log(x, prec + 20), prec + 20), prec)


def _constant(c):
    """An evaluator of a SymPy number (exact where the number is a binary fraction)."""
    if c.is_Integer:
        v = _point(lf.from_int(int(c)))
        return lambda vals, prec: v
    if c.is_Rational:
        p, q = int(c.p), int(c.q)
        return lambda vals, prec: (
            lf.from_rational(p, q, prec, lf.round_floor),
            lf.from_rational(p, q, prec, lf.round_ceiling),
        )
    if c.is_Float:
        v = _point(c._mpf_)
        return lambda vals, prec: v
    if c is sp.pi:
        return lambda vals, prec: li.mpi_pi(prec)
    if c is sp.E:
        return lambda vals, prec: li.mpi_exp(_ONE, prec)
    raise _Unsupported(type(c).__name__)


def _fold(op, parts):
    def ev(vals, prec):
        acc = parts[0](vals, prec)
        for p in parts[1:]:
            acc = op(acc, p(vals, prec), prec)
        return acc

    return ev


def _extremum(pick, parts):
    """Max (``pick`` = max) or Min of intervals: the extremum of lower ends and of upper ends."""

    def op(x, y, prec):
        return (pick(x[0], y[0]), pick(x[1], y[1]))

    return _fold(op, parts)


def _mpf_max(a, b):
    return b if lf.mpf_lt(a, b) else a


def _mpf_min(a, b):
    return a if lf.mpf_lt(a, b) else b


def _log(x, prec):
    s = _sign(x)
    if s <= 0:
        raise _Undefined
    return li.mpi_log(x, prec)


def _tanh(x, prec):
    c, s = li.mpi_cosh_sinh(x, prec + 20)
    return li.mpi_div(s, c, prec)


def _signum(x, prec):
    return _point(lf.from_int(_sign(x)))


def _heaviside(x, at_zero):
    def ev(vals, prec):
        v = x(vals, prec)
        s = _sign(v)
        return _ONE if s > 0 else (_ZERO if s < 0 else at_zero(vals, prec))

    return ev


_UNARY = {
    sp.exp: li.mpi_exp,
    sp.log: _log,
    sp.tanh: _tanh,
    sp.cosh: lambda x, prec: li.mpi_cosh_sinh(x, prec)[0],
    sp.sinh: lambda x, prec: li.mpi_cosh_sinh(x, prec)[1],
    sp.cos: li.mpi_cos,
    sp.sin: li.mpi_sin,
    sp.atan: li.mpi_atan,
    sp.Abs: lambda x, prec: li.mpi_abs(x, prec),
    sp.sign: _signum,
}


def _compile(e, index: dict):
    """An evaluator ``(values, prec) -> interval`` of the scalar SymPy expression ``e``."""
    if e.is_Symbol:
        if e not in index:
            raise _Unsupported(f"free symbol {e}")
        k = index[e]
        return lambda vals, prec: vals[k]
    if e.is_Number or e in (sp.pi, sp.E):
        return _constant(e)
    if e.is_Add:
        return _fold(li.mpi_add, [_compile(a, index) for a in e.args])
    if e.is_Mul:
        return _fold(li.mpi_mul, [_compile(a, index) for a in e.args])
    if e.is_Pow:
        base = _compile(e.base, index)
        if e.exp.is_Number:
            n = e.exp
            return lambda vals, prec: _power(base(vals, prec), n, prec)
        ex = _compile(e.exp, index)
        return lambda vals, prec: _general_power(base(vals, prec), ex(vals, prec), prec)
    if type(e) in _UNARY and len(e.args) == 1:
        f, arg = _UNARY[type(e)], _compile(e.args[0], index)
        return lambda vals, prec: f(arg(vals, prec), prec)
    if isinstance(e, (sp.Max, sp.Min)):
        pick = _mpf_max if isinstance(e, sp.Max) else _mpf_min
        return _extremum(pick, [_compile(a, index) for a in e.args])
    if isinstance(e, sp.Heaviside):
        at_zero = _compile(e.args[1], index) if len(e.args) > 1 else _constant(sp.S.Half)
        return _heaviside(_compile(e.args[0], index), at_zero)
    if isinstance(e, sp.Piecewise):
        return _piecewise([(_compile(x, index), _condition(c, index)) for x, c in e.args])
    raise _Unsupported(type(e).__name__)


def _piecewise(branches):
    def ev(vals, prec):
        for value, cond in branches:
            if cond(vals, prec):
                return value(vals, prec)
        raise _Undefined  # no branch applies: undefined there

    return ev


_RELATIONS = {sp.StrictLessThan: "<", sp.LessThan: "<=", sp.StrictGreaterThan: ">", sp.GreaterThan: ">="}


def _condition(c, index: dict):
    """A decider ``(values, prec) -> bool`` of a Piecewise condition (raises when the interval cannot tell)."""
    if c is sp.true or c is sp.false:
        return lambda vals, prec, v=bool(c): v
    if isinstance(c, (sp.And, sp.Or)):
        parts, every = [_condition(a, index) for a in c.args], isinstance(c, sp.And)
        if every:
            return lambda vals, prec: all(p(vals, prec) for p in parts)
        return lambda vals, prec: any(p(vals, prec) for p in parts)
    if isinstance(c, sp.Not):
        inner = _condition(c.args[0], index)
        return lambda vals, prec: not inner(vals, prec)
    if type(c) in _RELATIONS or isinstance(c, (sp.Eq, sp.Ne)):
        diff = _compile(c.lhs - c.rhs, index)
        op = _RELATIONS.get(type(c), "==" if isinstance(c, sp.Eq) else "!=")

        def decide(vals, prec):
            s = _sign(diff(vals, prec))
            return {"<": s < 0, "<=": s <= 0, ">": s > 0, ">=": s >= 0, "==": s == 0, "!=": s != 0}[op]

        return decide
    raise _Unsupported(type(c).__name__)


def _settled(x, prec):
    """The float of interval ``x`` when it pins the value to ``DIGITS`` digits (``None``: not a finite real)."""
    a, b = x
    if a in _INFINITE or b in _INFINITE:
        raise _Undecided
    if _sign(x) == 0:
        return 0.0
    width = lf.mpf_sub(b, a, 64, lf.round_ceiling)
    if lf.mpf_gt(width, lf.mpf_mul(_RELATIVE_WIDTH, _mpf_min(lf.mpf_abs(a), lf.mpf_abs(b)), 64, lf.round_floor)):
        raise _Undecided
    mid = lf.mpf_shift(lf.mpf_add(a, b, prec + 1), -1)
    return lf.to_float(mid, rnd=lf.round_nearest)  # beyond float64's range: inf (not normal, skipped)


def _interval_value(ev, inputs: tuple):
    """The entry at ``inputs`` (floats), the precision raised until the interval settles it."""
    vals = tuple(_point(lf.from_float(v)) for v in inputs)
    prec = START_BITS
    while True:
        try:
            return _settled(ev(vals, prec), prec)
        except _Undefined:
            return None
        except _Undecided:
            if prec >= MAX_BITS:
                return None  # cannot be had to DIGITS digits within MAX_DIGITS: left out
            prec = min(2 * prec, MAX_BITS)
        except (ValueError, ZeroDivisionError):  # mpmath: a complex result, a division by zero
            return None


class _Entries:
    """The output entries of one topic at one shape of its inputs, ready to evaluate at points."""

    def __init__(self, code, shapes: dict, hyper: dict):
        names = argument_names(code)
        by_arg = {v: k for k, v in names.items()}
        env, self.order = {}, []
        for arg, shape in shapes.items():
            syms = [sp.Dummy(f"{arg}_{i}", real=True) for i in range(int(np.prod(shape)))]
            self.order += [(arg, i) for i in range(len(syms))]
            env[by_arg[arg]] = sp.Matrix(shape[0], shape[1], syms)
        self.symbols = [s for m in env.values() for s in m]
        index = {s: k for k, s in enumerate(self.symbols)}
        dims = {d: 1 for s in _inputs(code) for d in s.shape if isinstance(d, sp.Symbol)}
        sub = {**dims, **hyper}
        if code.output is not None and code.output_def is not None:
            env[code.output.name] = mx.evaluate(code.output_def, env, sub)
        self.entries = {}
        for key, expr in outputs(code).items():
            row = []
            for x in mx.evaluate(expr, env, sub):
                e = fn.explicit(sp.sympify(x, strict=True))
                try:
                    row.append((e, _compile(e, index)))
                except _Unsupported:
                    row.append((e, None))
            self.entries[key] = row

    def at(self, flat: dict) -> dict:
        inputs = tuple(float(flat[arg][i]) for arg, i in self.order)
        return {key: [_entry_value(e, ev, self.symbols, inputs) for e, ev in row] for key, row in self.entries.items()}


def _entry_value(e, ev, symbols, inputs):
    if ev is not None:
        return _interval_value(ev, inputs)
    # a function the interval evaluator does not know: SymPy's evalf at the exact inputs
    return _value(e.xreplace({s: sp.Rational(v) for s, v in zip(symbols, inputs)}))


def scalar_reference(expr, values: dict):
    """``expr`` (a scalar SymPy expression) at ``values`` (symbol -> float), as the accuracy layer evaluates it.

    A Python float within 1e-30 of the exact value, or ``None`` where the value
    is not a finite real number or cannot be had to 30 digits.

    >>> x = sp.Symbol("x")
    >>> scalar_reference(1 - 1 / (1 + sp.exp(-x)), {x: 700.0})  # sigma(-700), after cancelling 304 digits
    9.85967654375977e-305
    >>> scalar_reference(sp.log(x), {x: -2.0}) is None
    True
    """
    e = fn.explicit(sp.sympify(expr, strict=True))
    symbols = list(values)
    try:
        ev = _compile(e, {s: k for k, s in enumerate(symbols)})
    except _Unsupported:
        ev = None
    return _entry_value(e, ev, symbols, tuple(float(values[s]) for s in symbols))


def _inputs(code) -> list:
    return [code.input, *code.params, *(x for x in (code.target, code.upstream) if x is not None)]


def reference_values(d, points: list[dict]) -> list[dict]:
    """For each input point (argument name -> array), output key -> flat list of reference floats."""
    from gradproof.derive.output.codegen_numpy.context import py_hyper

    code = d.code
    known = set(argument_names(code).values())
    compiled: dict = {}
    seen: dict = {}
    out = []
    for point in points:
        arrays = {k: np.atleast_2d(np.asarray(v, dtype=np.float64)) for k, v in point.items() if k in known}
        hyper = {h: sp.Rational(float(point.get(py_hyper(h), default))) for h, default in code.hyper}
        shape_key = (tuple((k, a.shape) for k, a in arrays.items()), tuple(sorted(map(str, hyper.items()))))
        key = (shape_key, tuple(a.tobytes() for a in arrays.values()))
        if key not in seen:
            if shape_key not in compiled:
                compiled[shape_key] = _Entries(code, {k: a.shape for k, a in arrays.items()}, hyper)
            seen[key] = compiled[shape_key].at({k: a.ravel() for k, a in arrays.items()})
        out.append({k: list(v) for k, v in seen[key].items()})
    return out
