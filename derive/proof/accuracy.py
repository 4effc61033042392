"""High-precision reference values for the accuracy layer.

The accuracy layer (:mod:`gradproof.numeric.accuracy`) runs a generated module at
ordinary and extreme inputs in float64 and float32; this module evaluates the
*derived* expressions (the matrix forms of the derivation, before any
stability rewrite) at exactly the same inputs, with mpmath through SymPy's
``evalf`` at 30 significant digits (working precision raised as far as the
cancellation in the derived form needs; a value that cannot be had to 30
digits is left out, never guessed).

All symbolic dimensions are 1 here: every output entry is then a scalar
function of scalar inputs, so a relative error measures the generated
formula, not the conditioning of a sum over random data.

>>> from gradproof.derive.lecture.registry import derive
>>> import numpy as np
>>> ref = reference_values(derive("sigmoid"), [{"z": np.array([[-700.0]]), "delta": np.array([[1.0]])}])
>>> float(ref[0]["forward"][0])
9.85967654375977e-305
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from gradproof.derive.engine import mexpr as mx
from gradproof.derive.lecture import functions as fn

DIGITS = 30
MAX_DIGITS = 2500  # enough for cancellation between terms of size e^{+-2000}


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


def _exact(x) -> sp.Matrix:
    a = np.atleast_1d(np.asarray(x, dtype=np.float64))
    if a.ndim == 1:
        a = a.reshape(1, -1)
    return sp.Matrix(a.shape[0], a.shape[1], [sp.Rational(float(v)) for v in a.ravel()])


def _value(e):
    """``e`` to ``DIGITS`` digits as a Python float (``None`` when not a finite real)."""
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


def reference_values(d, points: list[dict]) -> list[dict]:
    """For each input point (argument name -> array), output key -> flat list of reference floats."""
    code = d.code
    names = argument_names(code)
    by_arg = {v: k for k, v in names.items()}
    dims = {}
    for s in [code.input, *code.params, *(x for x in (code.target, code.upstream) if x is not None)]:
        for dsym in s.shape:
            if isinstance(dsym, sp.Symbol):
                dims[dsym] = 1
    from gradproof.derive.output.codegen_numpy.context import py_hyper

    out = []
    for point in points:
        env = {by_arg[k]: _exact(v) for k, v in point.items() if k in by_arg}
        sub = dict(dims)
        for h, default in code.hyper:
            sub[h] = sp.Rational(float(point.get(py_hyper(h), default)))
        if code.output is not None and code.output_def is not None:
            env[code.output.name] = mx.evaluate(code.output_def, env, sub)
        row = {}
        for key, expr in outputs(code).items():
            mat = mx.evaluate(expr, env, sub)
            row[key] = [_value(x) for x in mat]
        out.append(row)
    return out
