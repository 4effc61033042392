"""The gradient checker: it passes correct derivatives and catches wrong ones."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import contract_modules as cm
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gradproof.numeric.generated
from gradproof.numeric import gradcheck
from gradproof.numeric.gradcheck import CheckRecord

# every generated file with forward/backward messages (closed-form solvers have none)
GENERATED = sorted(
    m.name
    for m in pkgutil.iter_modules(gradproof.numeric.generated.__path__)
    if not m.name.startswith("_")
    and getattr(importlib.import_module("gradproof.numeric.generated." + m.name), "KIND", "")
    in gradcheck.CONTRACT_KINDS
)


def generated(topic):
    return importlib.import_module("gradproof.numeric.generated." + topic)


@pytest.mark.parametrize("topic", GENERATED, ids=GENERATED)
def test_every_generated_module_passes(topic):
    recs = gradcheck.check_module(generated(topic), seed=3)
    assert recs, "no checks ran"
    assert {r.topic for r in recs} == {topic}
    assert all(isinstance(r, CheckRecord) for r in recs)
    bad = [r.detail for r in recs if not r.passed]
    assert not bad, bad
    # every derivative of the module is checked by both difference methods
    methods = {r.check.split(":")[0] for r in recs}
    assert {"central differences", "directional (8 seeds)"} <= methods


def test_complex_step_runs_where_the_module_is_analytic_and_complex_capable():
    recs = gradcheck.check_module(generated("tanh"))
    cs = [r for r in recs if r.check.startswith("complex step")]
    assert cs and cs[0].passed and cs[0].max_rel_error < 1e-12
    # ReLU declares itself non-analytic: no complex step
    assert not any(r.check.startswith("complex step") for r in gradcheck.check_module(generated("relu")))


def test_hand_written_oracle_modules_pass():
    for topic in cm.SOURCES:
        recs = gradcheck.check_module(cm.module(topic))
        assert gradcheck.all_passed(recs), (topic, [r.detail for r in recs if not r.passed])


class _Affine:
    TOPIC, KIND, PARAMS, HYPER, KINKS, ANALYTIC = "planted", "module", ("W", "b"), {}, (), True

    @staticmethod
    def forward(z, W, b):
        return z @ W + b


def _planted(backward):
    cls = type("Planted", (_Affine,), {"backward": staticmethod(backward)})
    return cls


@pytest.mark.parametrize("method", ["central", "directional", "complex"])
def test_each_method_catches_a_planted_wrong_gradient(method):
    # dL/dW with a wrong sign: every method alone must fail it
    bad = _planted(lambda d, z, W, b: (d @ W.T, {"W": -(z.T @ d), "b": d.sum(axis=0)}))
    recs = gradcheck.check_module(bad, methods=(method,))
    by = {r.check.split(": ")[1]: r for r in recs}
    assert not by["dL/dW"].passed
    assert by["delta_in"].passed and by["dL/db"].passed
    assert by["dL/dW"].max_rel_error > 1.0


def test_failure_detail_names_topic_derivative_entry_and_both_values():
    # only one entry wrong: the entry must be named
    def backward(d, z, W, b):
        gW = z.T @ d
        gW[1, 2] *= 1.5
        return d @ W.T, {"W": gW, "b": d.sum(axis=0)}

    recs = gradcheck.check_module(_planted(backward), methods=("central",))
    bad = [r for r in recs if not r.passed]
    assert len(bad) == 1
    d = bad[0].detail
    assert d.startswith("planted: dL/dW wrong at entry W(1, 2)")
    assert "analytic" in d and "numeric" in d
    a = float(d.split("analytic ")[1].split()[0])
    n = float(d.split("numeric ")[1].split()[0])
    assert a == pytest.approx(1.5 * n, rel=1e-6)


def test_wrong_shape_and_exceptions_are_failed_records_not_crashes():
    transposed = _planted(lambda d, z, W, b: (d @ W.T, {"W": (z.T @ d).T, "b": d.sum(axis=0)}))
    recs = gradcheck.check_module(transposed, methods=("central", "directional"))
    assert any("has shape (4, 3), expected (3, 4)" in r.detail for r in recs if not r.passed)

    def boom(d, z, W, b):
        raise ZeroDivisionError("planted")

    recs = gradcheck.check_module(_planted(boom))
    assert recs and not any(r.passed for r in recs)
    assert all("ZeroDivisionError" in r.detail for r in recs)


def test_dropped_one_over_m_is_caught_for_a_loss():
    class Loss:
        TOPIC, KIND, PARAMS, HYPER, KINKS, ANALYTIC = "mse_planted", "loss", (), {}, (), True

        @staticmethod
        def forward(z, y):
            return ((z - y) ** 2).sum() / z.shape[0]

        @staticmethod
        def backward(z, y):
            return 2 * (z - y)  # the 1/m is missing

    recs = gradcheck.check_module(Loss, sizes={"m": 3})
    assert recs and not any(r.passed for r in recs)
    assert all(r.max_rel_error == pytest.approx(2 / 3, rel=1e-4) for r in recs)


def test_complex_step_rejects_a_forward_that_drops_the_imaginary_part():
    # an "analytic" loss that returns float(): asked explicitly, the complex step fails loudly
    recs = gradcheck.check_module(generated("mse"), methods=("complex",))
    assert recs and not recs[0].passed and "ComplexWarning" in recs[0].detail
    # by default it is simply not applied
    assert not any(r.check.startswith("complex") for r in gradcheck.check_module(generated("mse")))


def test_tolerance_table_per_dtype():
    mod = generated("tanh")
    r64 = gradcheck.check_module(mod, methods=("central",))[0]
    r32 = gradcheck.check_module(mod, methods=("central",), dtype=np.float32)[0]
    assert r64.tolerance == gradcheck.TOLERANCES["float64"]["central"]
    assert r32.tolerance == gradcheck.TOLERANCES["float32"]["central"]
    assert r64.passed and r32.passed
    assert r32.max_rel_error > r64.max_rel_error  # float32 really ran in float32
    with pytest.raises(ValueError, match="no tolerance table"):
        gradcheck.check_module(mod, dtype=np.int32)


def test_directional_check_cost_is_independent_of_parameter_count():
    calls = {"f": 0, "vjp": 0}
    rng = np.random.default_rng(0)
    A = rng.standard_normal((50, 40))

    def f(x):
        calls["f"] += 1
        return np.tanh(x @ A).sum()

    def vjp(v, x):
        calls["vjp"] += 1
        return {"x": v * (1 - np.tanh(x @ A) ** 2) @ A.T}

    recs = gradcheck.directional(f, vjp, {"x": rng.standard_normal((3, 50))}, seeds=5)
    assert recs[0].passed
    # 2 evaluations per seed (one plain central difference settles a smooth
    # function), whatever the size
    assert calls == {"f": 1 + 5 * 2, "vjp": 5}


def test_a_disagreeing_direction_is_refined_before_it_is_judged():
    calls = {"f": 0}
    rng = np.random.default_rng(1)

    def f(x):
        calls["f"] += 1
        return float(np.sum(np.sin(x)))

    def wrong_vjp(v, x):
        return {"x": v * 1.001 * np.cos(x)}  # off by 0.1 %

    recs = gradcheck.directional(f, wrong_vjp, {"x": rng.standard_normal(7)}, seeds=3)
    assert not recs[0].passed
    assert 1e-4 < recs[0].max_rel_error < 1e-2
    assert calls["f"] == 1 + 3 * (2 + 4)  # plain difference, then Richardson, every seed


def test_kinks_are_sampled_away_from():
    class Relu:
        TOPIC, KIND, PARAMS, HYPER, KINKS, ANALYTIC = "relu", "module", (), {}, (0.0,), False
        forward = staticmethod(lambda z: np.maximum(z, 0))
        backward = staticmethod(lambda d, z: (d * (z > 0), {}))

    z = np.array([[0.0, 1e-9, -0.5], [2.0, -1e-7, 0.3]])
    recs = gradcheck.check_module(Relu, inputs={"z": gradcheck.away_from_kinks(z, (0.0,), np.random.default_rng(0))})
    assert gradcheck.all_passed(recs)
    # without moving away, a difference quotient straddles the kink and the check fails
    recs = gradcheck.check_module(Relu, inputs={"z": z}, methods=("central",))
    assert not recs[0].passed


@settings(max_examples=25, deadline=None)
@given(x=st.lists(st.floats(-3, 3), min_size=1, max_size=20), seed=st.integers(0, 2**16))
def test_away_from_kinks_property(x, seed):
    kinks = (0.0, 1.0)
    out = gradcheck.away_from_kinks(np.array(x), kinks, np.random.default_rng(seed))
    assert out.shape == (len(x),)
    for k in kinks:
        assert np.all(np.abs(out - k) >= gradcheck.KINK_MARGIN * (1 - 1e-12))
    far = np.all([np.abs(np.array(x) - k) >= gradcheck.KINK_MARGIN for k in kinks], axis=0)
    assert np.array_equal(out[far], np.array(x)[far])  # entries already far away are untouched


@settings(max_examples=15, deadline=None)
@given(m=st.integers(1, 4), n=st.integers(1, 4), K=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_affine_passes_at_any_shape(m, n, K, seed):
    recs = gradcheck.check_module(generated("affine"), sizes={"m": m, "n": n, "K": K}, seed=seed, seeds=2)
    assert gradcheck.all_passed(recs), [r.detail for r in recs if not r.passed]


def test_check_callables_for_user_functions():
    rng = np.random.default_rng(5)

    def fw(z, V):
        return np.sin(z) @ V

    def good(delta, z, V):
        return (delta @ V.T) * np.cos(z), {"V": np.sin(z).T @ delta}

    def bad(delta, z, V):
        return (delta @ V.T) * np.cos(z), {"V": np.cos(z).T @ delta}

    z, V = rng.standard_normal((2, 3)), rng.standard_normal((3, 4))
    assert gradcheck.all_passed(gradcheck.check_callables(fw, good, z, {"V": V}, analytic=True))
    recs = gradcheck.check_callables(fw, bad, z, {"V": V}, topic="mine")
    assert [r.check for r in recs if not r.passed] == ["central differences: dL/dV", "directional (8 seeds): dL/dV"]
    assert all(r.detail.startswith("mine: dL/dV") for r in recs if not r.passed)


def test_records_serialise_and_format():
    recs = gradcheck.check_module(generated("sigmoid"))
    js = [r.to_json() for r in recs]
    assert set(js[0]) == {"topic", "check", "max_rel_error", "tolerance", "passed", "detail"}
    text = gradcheck.format_records(recs)
    assert "sigmoid" in text and "FAIL" not in text
    bad = CheckRecord("t", "c", float("inf"), 1e-6, False, "t: raised X")
    assert bad.to_json()["max_rel_error"] is None
    assert "FAIL" in gradcheck.format_records([bad]) and "t: raised X" in gradcheck.format_records([bad])
    assert not gradcheck.all_passed([])


def test_numeric_never_imports_sympy():
    code = (
        "import sys, gradproof.numeric.gradcheck, gradproof.numeric.network, gradproof.numeric.mutation, gradproof.numeric.digits, "
        "gradproof.numeric.experiments, gradproof.numeric.optim, gradproof.numeric.specialise\n"
        "import gradproof.numeric.generated.affine, gradproof.numeric.generated.softmax_cross_entropy\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('sympy', 'derive'))\n"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_a_kind_outside_the_contract_is_a_clear_error():
    class Solver:
        TOPIC, KIND, PARAMS = "closed_form", "solver", ("w",)

    with pytest.raises(ValueError, match="unknown KIND 'solver': the checker handles module, loss"):
        gradcheck.check_module(Solver)


def test_full_check_settles_right_entries_with_two_evaluations_and_refines_wrong_ones():
    calls = {"f": 0}
    x = np.array([0.3, -1.2, 2.0])

    def f(x):
        calls["f"] += 1
        return np.exp(x)

    right = gradcheck.central_differences(f, lambda v, x: {"x": v * np.exp(x)}, {"x": x})
    assert right[0].passed and right[0].max_rel_error < 1e-7
    assert calls["f"] == 1 + 3 * 2  # one plain central difference per entry
    calls["f"] = 0
    wrong = gradcheck.central_differences(f, lambda v, x: {"x": v * np.exp(x) * (1 + 1e-4)}, {"x": x})
    assert not wrong[0].passed
    assert calls["f"] == 1 + 3 * (2 + 4)  # every wrong entry redone by Richardson before it is judged
    assert "analytic" in wrong[0].detail and "numeric" in wrong[0].detail
