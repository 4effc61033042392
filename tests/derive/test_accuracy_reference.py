"""The accuracy layer's references: interval evaluation to 30 digits, against independent oracles."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from gradproof.derive.engine import mexpr as mx
from gradproof.derive.lecture import functions as fn
from gradproof.derive.lecture.registry import derive
from gradproof.derive.output import codegen
from gradproof.derive.proof import accuracy as ref
from gradproof.numeric import accuracy
from gradproof.reports.verify import load_module

x, y = sp.symbols("x y", real=True)
GENERATED = [d.topic for d in codegen.generated_topics() if d.code.kind != "solver"]


def _mp(expr, values: dict, dps: int = 1500):
    """An independent oracle: SymPy's mpmath printer at a fixed, generous precision."""
    return _mp_at(sp.lambdify(list(values), fn.explicit(expr), modules="mpmath"), list(values.values()), dps)


def _mp_at(f, values: list, dps: int = 1500):
    with mpmath.workdps(dps):
        v = f(*(mpmath.mpf(float(v)) for v in values))
        return v if isinstance(v, mpmath.mpf) else mpmath.mpmathify(v)


def _entries(d, point):
    arrays = {k: np.atleast_2d(np.asarray(v, dtype=np.float64)) for k, v in point.items()}
    arrays = {k: a for k, a in arrays.items() if k in set(ref.argument_names(d.code).values())}
    hyper = {h: sp.Rational(float(default)) for h, default in d.code.hyper}
    return ref._Entries(d.code, {k: a.shape for k, a in arrays.items()}, hyper), arrays


@pytest.mark.parametrize("topic", GENERATED)
def test_every_reference_agrees_with_a_1500_digit_evaluation(topic):
    """Each reference float is the 1500-digit value rounded; a left-out entry is undefined or zero there.

    The inputs reach |s| = 1300 (X w), so no entry cancels more than about 1130 digits.
    """
    d, mod = derive(topic), load_module(topic)
    pts = accuracy.points(mod, "float64") + accuracy.points(mod, "float32")
    refs = ref.reference_values(d, pts)
    entries, _ = _entries(d, pts[0])
    oracles = {
        key: [sp.lambdify(entries.symbols, e, modules="mpmath") for e, _ in row] for key, row in entries.entries.items()
    }
    seen = set()
    for point, got in zip(pts, refs):
        flat = {k: np.atleast_2d(np.asarray(v, dtype=np.float64)).ravel() for k, v in point.items()}
        values = [flat[arg][i] for arg, i in entries.order]
        if tuple(values) in seen:
            continue
        seen.add(tuple(values))
        for key, row in oracles.items():
            for f, r in zip(row, got[key]):
                v = _mp_at(f, values)
                if r is None:
                    assert not (isinstance(v, mpmath.mpf) and mpmath.isfinite(v)) or abs(v) < mpmath.mpf(10) ** -1000
                else:
                    assert isinstance(v, mpmath.mpf) and r == float(v), (topic, key, point, r, v)


@pytest.mark.parametrize("topic", ["sigmoid", "tanh", "bce", "affine", "l1_penalty", "logistic_regression"])
def test_entries_instantiated_once_equal_the_derivation_evaluated_at_each_point(topic):
    """The entries built from symbols once equal the matrix forms evaluated at the exact inputs, point by point."""
    d, mod = derive(topic), load_module(topic)
    pts = [p for p in accuracy.points(mod, "float64") if all(abs(float(np.ravel(v)[0])) <= 3 for v in p.values())]
    names = ref.argument_names(d.code)
    by_arg = {v: k for k, v in names.items()}
    dims = {s: 1 for v in ref._inputs(d.code) for s in v.shape if isinstance(s, sp.Symbol)}
    sub = {**dims, **{h: sp.Rational(float(default)) for h, default in d.code.hyper}}
    fast = ref.reference_values(d, pts)
    for point, got in zip(pts, fast):
        env = {by_arg[k]: sp.Matrix(np.atleast_2d(v).tolist()).applyfunc(sp.Rational) for k, v in point.items()}
        env = {k: v for k, v in env.items() if k in names}
        if d.code.output is not None and d.code.output_def is not None:
            env[d.code.output.name] = mx.evaluate(d.code.output_def, env, sub)
        for key, expr in ref.outputs(d.code).items():
            slow = [ref._value(v) for v in mx.evaluate(expr, env, sub)]
            assert got[key] == slow, (topic, key, point)


def test_a_value_sympys_evalf_reported_as_zero_is_found():
    """-log(sigma(300)) = log(1 + e^-300) = 5.1e-131: a normal float64, so it is compared."""
    d, mod = derive("sigmoid_bce"), load_module("sigmoid_bce")
    pt = {"z": np.array([[300.0]]), "y": np.array([[1.0]])}
    (got,) = ref.reference_values(d, [pt])
    with mpmath.workdps(60):
        truth = float(mpmath.log1p(mpmath.exp(-300)))
    assert got["forward"] == [truth] and truth > 5e-131
    computed = accuracy.computed(mod, pt)["forward"][0]
    assert abs(computed - truth) <= 1e-12 * truth


@settings(max_examples=40, deadline=None)
@given(st.floats(-740, 740, allow_nan=False))
def test_the_two_forms_of_sigma_minus_one_agree_whatever_cancels(s):
    # 1 - sigma(s) cancels about s / ln(10) digits for large s; sigma(-s) cancels none
    a = ref.scalar_reference(1 - 1 / (1 + sp.exp(-x)), {x: s})
    b = ref.scalar_reference(1 / (1 + sp.exp(x)), {x: s})
    with mpmath.workdps(400):
        truth = float(1 / (1 + mpmath.exp(mpmath.mpf(s))))
    assert a == b == truth


def test_domains_branches_and_limits():
    assert ref.scalar_reference(sp.log(x), {x: -2.0}) is None  # complex
    assert ref.scalar_reference(sp.sqrt(x), {x: -1.0}) is None
    assert ref.scalar_reference(sp.log(x), {x: 0.0}) is None  # -infinity
    assert ref.scalar_reference(1 / (x - 1), {x: 1.0}) is None  # division by zero
    assert ref.scalar_reference(x**-2, {x: 0.0}) is None
    assert ref.scalar_reference(x ** sp.Rational(1, 3), {x: -8.0}) is None  # SymPy's principal root is complex
    assert ref.scalar_reference(x ** sp.Rational(1, 3), {x: 8.0}) == 2.0
    assert ref.scalar_reference(x - x + 0 * y, {x: 3.0, y: 1.0}) == 0.0
    # zero that no precision can show to be zero: left out, never guessed
    assert ref.scalar_reference(sp.tanh(x) - (sp.exp(2 * x) - 1) / (sp.exp(2 * x) + 1), {x: 1.0}) is None
    # 1 after cancelling 2606 digits: beyond the 2500 allowed, so left out
    unsimplified = sp.Add(sp.exp(x) + 1, -sp.exp(x), evaluate=False)
    assert ref.scalar_reference(unsimplified, {x: 6000.0}) is None
    assert ref.scalar_reference(unsimplified, {x: 5000.0}) == 1.0
    relu_grad = sp.Piecewise((0, x <= 0), (1, True))
    assert [ref.scalar_reference(relu_grad, {x: v}) for v in (-1e-300, 0.0, 1e-300)] == [0.0, 0.0, 1.0]
    assert ref.scalar_reference(sp.Heaviside(x), {x: 0.0}) == 0.5
    assert ref.scalar_reference(sp.Max(0, x) + sp.Min(x, y), {x: -2.0, y: 3.0}) == -2.0
    assert ref.scalar_reference(sp.sign(x) * sp.Abs(x), {x: -2.5}) == -2.5
    assert ref.scalar_reference(sp.Float("0.1") * x, {x: 3.0}) == 0.1 * 3.0  # 0.1 is its binary value
    assert ref.scalar_reference(sp.tanh(x), {x: 1e-8}) == float(mpmath.tanh(mpmath.mpf(1e-8)))


def test_a_function_the_intervals_do_not_know_goes_to_evalf():
    got = ref.scalar_reference(sp.erf(x) * sp.gamma(y), {x: 0.5, y: 2.5})
    assert math.isclose(got, math.erf(0.5) * math.gamma(2.5), rel_tol=1e-15)
    with pytest.raises(ref._Unsupported):
        ref._compile(sp.erf(x), {x: 0})


def test_a_wrong_reference_would_be_seen():
    """The references decide the layer: a generated sigmoid computing sigma(-z) fails against them."""
    import types

    d = derive("sigmoid")
    good = load_module("sigmoid")
    bad = types.SimpleNamespace(**{k: getattr(good, k) for k in dir(good) if not k.startswith("__")})
    bad.forward = lambda z: good.forward(-z)
    pts = accuracy.points(good, "float64")
    recs = accuracy.accuracy_records(bad, pts, ref.reference_values(d, pts), "float64", "sigmoid")
    assert not next(r for r in recs if "forward" in r.check).passed
