"""The function table, the strict NumPy printer and the accuracy layer.

Every entry of :data:`gradproof.derive.lecture.functions.FUNCTIONS` is checked here by
iterating the table: adding a function adds its checks.
"""

from __future__ import annotations

import math
import pathlib

import mpmath
import numpy as np
import pytest
import sympy as sp

from gradproof.derive.engine import mexpr as mx
from gradproof.derive.lecture import functions as fn
from gradproof.derive.lecture.registry import derive
from gradproof.derive.output import codegen
from gradproof.derive.proof.accuracy import reference_values
from gradproof.derive.specs.spec import load_spec_topic
from gradproof.numeric import accuracy
from gradproof.reports.verify import load_module

SPECS = pathlib.Path(__file__).resolve().parents[2] / "examples" / "specs"
IDS = [f.name for f in fn.FUNCTIONS]


def _points(entry):
    pts = [0.3, 1.7, 4.0, 25.0, 300.0] if entry.domain != "real" else [-700.0, -30.0, -2.5, -0.4, 0.3, 1.7, 30.0, 700.0]
    return [p for p in pts if p not in entry.kinks]


def _numpy_callable(entry):
    """The table's NumPy text, printed by the code printer, with its helper, as a function of s."""
    s = sp.Symbol("s")
    helpers: set = set()
    text = codegen._NumpyScalarPrinter({s: "s"}, helpers).doprint(entry.sympy(s))
    ns = {"np": np}
    for h in helpers:
        exec(codegen.HELPERS[h], ns)
    exec(f"def f(s):\n    return {text}\n", ns)
    return ns["f"]


def _mp(entry, x):
    """The function at x to 30 digits, from its SymPy definition (explicit form for the lecture's own)."""
    s = sp.Symbol("s")
    e = fn.explicit(entry.sympy(s)).xreplace({s: sp.Rational(x)})
    return e.evalf(30, maxn=2000)


@pytest.mark.parametrize("entry", fn.FUNCTIONS, ids=IDS)
def test_numpy_form_and_probe_agree_with_high_precision(entry):
    f = _numpy_callable(entry)
    for x in _points(entry):
        ref = float(_mp(entry, x))
        if ref == 0 or not (np.finfo(float).tiny <= abs(ref) <= np.finfo(float).max):
            continue
        with np.errstate(all="ignore"):
            got = float(np.asarray(f(np.array([x]))).ravel()[0])
            probe = float(np.asarray(entry.probe(np.array([x]))).ravel()[0])
        assert abs(got - ref) <= 1e-13 * abs(ref), (entry.name, x, got, ref)
        assert abs(probe - ref) <= 1e-13 * abs(ref), (entry.name, x, probe, ref)


@pytest.mark.parametrize("entry", fn.FUNCTIONS, ids=IDS)
def test_derivative_agrees_with_the_explicit_form(entry):
    s = sp.Symbol("s", real=True)
    d_named = sp.diff(entry.sympy(s), s)
    d_explicit = sp.diff(fn.explicit(entry.sympy(s)), s)
    for x in _points(entry)[2:6]:
        a = fn.explicit(d_named).xreplace({s: sp.Rational(x)}).evalf(30)
        b = d_explicit.xreplace({s: sp.Rational(x)}).evalf(30)
        if b.has(sp.DiracDelta) or a.has(sp.DiracDelta):
            continue
        assert abs(a - b) <= sp.Float(1e-25) * (1 + abs(b)), (entry.name, x, a, b)


@pytest.mark.parametrize("entry", fn.FUNCTIONS, ids=IDS)
def test_analytic_flag_means_the_complex_step_works(entry):
    f = _numpy_callable(entry)
    x = 0.8 if entry.domain != "real" else -0.9
    h = 1e-30
    if entry.analytic:
        with np.errstate(all="ignore"):
            cs = float(np.imag(f(np.array([x + 1j * h])))[0]) / h
        s = sp.Symbol("s")
        exact = float(fn.explicit(sp.diff(entry.sympy(s), s)).xreplace({s: sp.Rational(x)}).evalf(20))
        assert abs(cs - exact) <= 1e-13 * max(1.0, abs(exact)), (entry.name, cs, exact)
    else:
        assert entry.kinks or entry.name == "softplus"  # logaddexp takes no complex argument


@pytest.mark.parametrize(
    "entry", [f for f in fn.FUNCTIONS if f.in_spec_files], ids=[f.name for f in fn.FUNCTIONS if f.in_spec_files]
)
def test_every_spec_function_derives_generates_and_is_accurate(entry, tmp_path):
    """A spec calling the function by each of its names goes through the whole pipeline."""
    for k, name in enumerate(entry.spellings):
        spec = tmp_path / f"fn_{entry.name}_{k}.toml"
        domain = 'domain = "positive"\n' if entry.domain != "real" else ""
        arg = "s" if entry.domain != "real" else "s / 3"
        kinks = f"kinks = {list(entry.kinks)}\n" if entry.kinks else ""
        spec.write_text(
            f'name = "fn_{entry.name}_{k}"\ncategory = "activation"\n{domain}{kinks}forward = "{name}({arg})"\n'
        )
        d = derive(load_spec_topic(str(spec)))
        assert d.passed, [p.detail for p in d.proofs if not p.passed]
        codegen.write_module(d, str(tmp_path))
        mod = load_module(d.topic, str(tmp_path))
        assert entry.analytic == mod.ANALYTIC
        for dtype in ("float64", "float32"):
            pts = accuracy.points(mod, dtype)
            recs = accuracy.accuracy_records(mod, pts, reference_values(d, pts), dtype, d.topic)
            assert recs and all(r.passed for r in recs), [r.detail for r in recs if not r.passed]


# --- the strict printer -----------------------------------------------------


def test_an_unknown_function_is_an_error_at_generation_time():
    mystery = sp.Function("mystery")
    s = sp.Symbol("s")
    Z = mx.Sym("Z", (sp.Symbol("m"), sp.Symbol("n")), "input")
    pr = codegen.NumpyPrinter({"Z": "z"}, {})
    with pytest.raises(codegen.CodegenError, match="mystery"):
        pr.doprint(mx.Map(mystery(s), ((s, Z),)))
    with pytest.raises(codegen.CodegenError, match="erf"):
        pr.doprint(mx.Map(sp.erf(s), ((s, Z),)))
    with pytest.raises(codegen.CodegenError, match="symbol 'q'"):
        pr.doprint(mx.Map(s + sp.Symbol("q"), ((s, Z),)))
    assert sorted(pr.doprint(mx.Map(sp.cosh(s) + sp.pi, ((s, Z),))).split(" + ")) == ["np.cosh(z)", "np.pi"]


def _spec_module(name, tmp_path, stable=True, monkeypatch=None):
    d = derive(load_spec_topic(str(SPECS / f"{name}.toml")))
    assert d.passed
    if not stable:
        from gradproof.derive.output.codegen_numpy import stable

        monkeypatch.setattr(stable, "stable_scalar", lambda e: sp.sympify(e))
    codegen.write_module(d, str(tmp_path))
    return d, load_module(d.topic, str(tmp_path))


def test_log_cosh_generates_runnable_code_that_is_accurate_in_the_tails(tmp_path):
    d, mod = _spec_module("log_cosh", tmp_path)
    src = (tmp_path / "log_cosh.py").read_text()
    import ast
    import builtins

    called = {n.func.id for n in ast.walk(ast.parse(src)) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert called and all(hasattr(mod, c) or hasattr(builtins, c) for c in called), called  # no bare cosh(...)
    z = np.array([[1000.0], [-3.0], [1e-4]])
    y = np.zeros_like(z)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # no inf, no nan (underflow to 0 is exact enough)
        loss, grad = mod.forward(z, y), mod.backward(z, y)
    # an independent reference: log cosh and its derivative tanh, in mpmath
    mpmath.mp.dps = 40
    ref = sum(mpmath.log(mpmath.cosh(mpmath.mpf(float(v)))) for v in z.ravel()) / 3
    assert abs(loss - float(ref)) <= 1e-14 * abs(float(ref))
    for g, v in zip(grad.ravel(), z.ravel()):
        r = float(mpmath.tanh(mpmath.mpf(float(v))) / 3)
        assert abs(g - r) <= 1e-14 * abs(r)


def _gelu_reference(x):
    """GELU (tanh form) and its derivative by hand, in mpmath: an oracle independent of the derivation."""
    mpmath.mp.dps = 60
    x = mpmath.mpf(float(x))
    c = mpmath.mpf(7978845608028654) / 10**16  # the constant as examples/specs/gelu_tanh.toml writes it
    k = mpmath.mpf(44715) / 10**6
    u = c * (x + k * x**3)
    du = c * (1 + 3 * k * x**2)
    f = x / 2 * (1 + mpmath.tanh(u))
    df = (1 + mpmath.tanh(u)) / 2 + x / 2 * mpmath.sech(u) ** 2 * du
    return f, df


@pytest.mark.parametrize(
    "dtype,tol,xs",
    [
        ("float64", 1e-12, [-1000.0, -30.0, -8.0, -3.0, -0.7, 0.2, 2.5, 30.0, 1000.0]),
        ("float32", 1e-5, [-80.0, -8.0, -3.0, -0.7, 0.2, 2.5, 30.0, 80.0]),
    ],
)
def test_gelu_matches_an_independent_high_precision_oracle(tmp_path, dtype, tol, xs):
    _, mod = _spec_module("gelu_tanh", tmp_path)
    ty = np.dtype(dtype)
    fi = np.finfo(ty)
    for x in xs:
        z = np.array([[x]], dtype=ty)
        f, df = _gelu_reference(z.item())
        got_f = float(mod.forward(z)[0, 0])
        got_d = float(mod.backward(np.ones_like(z), z)[0][0, 0])
        for got, ref in ((got_f, f), (got_d, df)):
            if fi.tiny <= abs(float(ref)) <= fi.max:
                assert abs(got - float(ref)) <= tol * abs(float(ref)), (dtype, x, got, float(ref))


def test_gelu_without_the_rewrites_fails_the_accuracy_layer(tmp_path, monkeypatch):
    """The accuracy layer can fail: the derivative as derived (terms cancelling in the tails) is caught."""
    d, mod = _spec_module("gelu_tanh", tmp_path, stable=False, monkeypatch=monkeypatch)
    for dtype in ("float64", "float32"):
        pts = accuracy.points(mod, dtype)
        recs = accuracy.accuracy_records(mod, pts, reference_values(d, pts), dtype, d.topic)
        failed = [r for r in recs if not r.passed]
        assert failed and all("at z = " in r.detail for r in failed), dtype


def test_the_old_sigmoid_is_caught_in_the_left_tail(tmp_path):
    """``0.5 + 0.5 tanh(s/2)`` is 0 at s = -80: the accuracy layer says so, and where."""
    import inspect

    import gradproof.numeric.generated.sigmoid as good

    src = inspect.getsource(good)
    start = src.index("def _sigmoid(s):")
    end = src.index("\ndef ", start + 1)
    planted = src[:start] + "def _sigmoid(s):\n    return 0.5 + 0.5 * np.tanh(0.5 * s)\n\n" + src[end:]
    (tmp_path / "sigmoid.py").write_text(planted)
    bad = load_module("sigmoid", str(tmp_path))
    d = derive("sigmoid")
    pts = accuracy.points(bad, "float64")
    recs = accuracy.accuracy_records(bad, pts, reference_values(d, pts), "float64", "sigmoid")
    fwd = next(r for r in recs if "forward" in r.check)
    assert not fwd.passed and fwd.max_rel_error == 1.0 and "at z = -" in fwd.detail
    # and the generated one keeps every digit there: sigma(-700) = 9.86e-305
    assert math.isclose(float(good.forward(np.array([[-700.0]]))[0, 0]), 9.85967654375977e-305, rel_tol=1e-14)


GENERATED = [d.topic for d in codegen.generated_topics() if d.code.kind != "solver"]


@pytest.mark.parametrize("topic", GENERATED)
def test_every_built_in_meets_the_accuracy_targets(topic):
    d = derive(topic)
    mod = load_module(topic)
    for dtype in ("float64", "float32"):
        pts = accuracy.points(mod, dtype)
        recs = accuracy.accuracy_records(mod, pts, reference_values(d, pts), dtype, topic)
        assert recs and all(r.passed for r in recs), [r.detail for r in recs if not r.passed]
        compared = [r for r in recs if "nothing to compare" not in r.check]
        # only the softmax family is trivial with one class (every entry 0 or 1)
        assert compared or topic in ("softmax_cross_entropy", "cross_entropy", "multinomial_logistic_regression")


def test_analytic_is_decided_from_the_expression_not_the_text():
    for topic, analytic in (
        ("sigmoid", True),
        ("tanh", True),
        ("relu", False),
        ("l1_penalty", False),
        ("softmax", True),
        ("leaky_relu", False),
    ):
        assert "ANALYTIC = " + repr(analytic) in codegen.generate(derive(topic)), topic


def test_verify_fails_and_says_where_when_the_code_loses_digits(tmp_path, capsys):
    """``gradproof verify --code DIR`` with the old sigmoid: exit 1, a failing accuracy record naming the input."""
    import inspect
    import json

    import gradproof.numeric.generated.sigmoid as good
    from gradproof.reports.cli import main

    src = inspect.getsource(good)
    start = src.index("def _sigmoid(s):")
    end = src.index("\ndef ", start + 1)
    (tmp_path / "sigmoid.py").write_text(
        src[:start] + "def _sigmoid(s):\n    return 0.5 + 0.5 * np.tanh(0.5 * s)\n\n" + src[end:]
    )
    assert main(["verify", "sigmoid", "--code", str(tmp_path), "--json"]) == 1
    recs = json.loads(capsys.readouterr().out)
    assert all(set(r) >= {"topic", "check", "max_rel_error", "tolerance", "passed"} for r in recs)
    bad = [r for r in recs if not r["passed"]]
    assert bad and all(r["check"].startswith("accuracy") for r in bad)
    assert any("forward at z = -" in r["detail"] for r in bad)


def test_stability_rewrites_are_identities():
    """Each rewrite equals its input (30 digits at several points), and removes the cancelling form."""
    s, y, d = sp.symbols("s y delta", real=True)
    sg = fn.sigmoid
    cases = [
        sg(s) * (1 - sg(s)) * d,
        1 - sp.tanh(s) ** 2,
        s * (1 + sp.tanh(s + s**3 / 20)) / 2,
        sp.diff(s * (1 + sp.tanh(sp.Rational(4, 5) * (s + s**3 / 20))) / 2, s) * d,
        sg(s) - y,
        sp.log(sp.cosh(s - y)),
        -sp.sinh(y - s) / (3 * sp.cosh(y - s)),
        d * (1 + s - s * sg(s)) * sg(s),
        sp.Piecewise((sg(s) * (1 - sg(s)), s > 0), (1 - sp.tanh(s) ** 2, True)),
    ]
    for e in cases:
        r = codegen.stable_scalar(e)
        assert r != e
        for pt in ({s: sp.Rational(-37, 3), y: sp.Rational(1, 7), d: 2}, {s: sp.Rational(5, 2), y: 1, d: -1}):
            a = fn.explicit(e).xreplace(pt).evalf(30)
            b = fn.explicit(r).xreplace(pt).evalf(30)
            assert abs(a - b) <= sp.Float(1e-25) * abs(a), (e, r, pt)
    assert codegen.stable_scalar(sp.tanh(s)) == sp.tanh(s)  # nothing cancels: printed as derived
    assert codegen.stable_scalar(s * sg(s)) == s * sg(s)
