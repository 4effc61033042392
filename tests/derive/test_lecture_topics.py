"""The lecture topics of derive/lecture/topics_lecture.py: proved, attributed, and able to fail."""

from __future__ import annotations

import pytest
import sympy as sp

from gradproof.derive.lecture import proofs as lp
from gradproof.derive.lecture.registry import derive, get
from gradproof.derive.lecture.statements import STATEMENTS

LECTURE_TOPICS = (
    "erm",
    "bias_trick",
    "sigmoid_forms",
    "softmax_argmax",
    "activation_bounds",
    "linear_near_zero",
    "relu_properties",
    "mlp_backprop",
    "dag_reuse",
    "rnn_bptt",
    "gradient_descent",
    "vanishing_gradient",
    "randomised_inputs",
)


@pytest.mark.parametrize("name", LECTURE_TOPICS, ids=LECTURE_TOPICS)
def test_topic_is_proved_and_every_result_has_a_proof(name):
    d = derive(name)
    assert d.passed, [p for p in d.proofs if not p.passed]
    proved = {p.key for p in d.proofs}
    for r in d.results:
        assert r.key in proved, f"{name}: result {r.key} has no proof"


@pytest.mark.parametrize("name", LECTURE_TOPICS, ids=LECTURE_TOPICS)
def test_lecture_claims_name_a_slide_of_the_statement_list(name):
    slides = {s.slide for s in STATEMENTS}
    for c in get(name).claims:
        if c.source == "lecture":
            assert c.slide in slides, (name, c.slide)


def test_mlp_has_a_delta_for_every_layer_composed_from_the_modules():
    d = derive("mlp_backprop")
    keys = [r.key for r in d.results]
    assert [k for k in keys if k.startswith("delta^")] == [f"delta^{l}" for l in range(1, 7)]
    # each backward step names the module whose message it applies
    rules = [s.rule for s in d.steps if s.lhs.text.startswith("Delta^")]
    assert sum("affine module" in r for r in rules) == 3 and sum("tanh module" in r for r in rules) == 2
    assert str(d.result("delta^1").matrix) == "Delta^2 (W^1)^T"  # the lecture's layer names


def test_mutation_proofs_exist_and_hold_in_the_composite_topics():
    for name in ("mlp_backprop", "rnn_bptt", "dag_reuse", "bias_trick", "randomised_inputs"):
        checks = [p for p in derive(name).proofs if "can fail" in p.check]
        assert checks and all(p.passed for p in checks), name


def test_the_comparison_used_by_the_proofs_can_fail():
    x, y = sp.symbols("x y", real=True)
    a = sp.Matrix([[sp.tanh(x) * y]])
    assert lp._same(a, a) is True
    assert lp._same(a, sp.Matrix([[sp.tanh(x) * y * (1 - sp.tanh(x) ** 2)]])) is not True
    assert lp._same(a, sp.Matrix([[1, 2]])) is not True


def test_noise_expectation_uses_second_moments_only():
    e1, e2, w1, w2 = sp.symbols("e1 e2 w1 w2", real=True)
    v = sp.Symbol("v", positive=True)
    assert sp.expand(lp._expect_noise((w1 * e1 + w2 * e2) ** 2, [e1, e2], v) - v * (w1**2 + w2**2)) == 0
    assert lp._expect_noise(3 + e1, [e1, e2], v) == 3
    with pytest.raises(ValueError):
        lp._expect_noise(e1**3, [e1], v)


def test_vanishing_gradient_proves_growth_for_sigma0_one():
    d = derive("vanishing_gradient")
    grows = [p for p in d.proofs if p.check.startswith("exact: n=500, sigma_0=1")]
    assert grows and all(p.passed for p in grows)
    n, s0, tau = (
        sp.Symbol("n", positive=True, integer=True),
        sp.Symbol("sigma_0", positive=True),
        sp.Symbol("tau", positive=True),
    )
    g = d.result("gain_saturated").index.subs({n: 500, s0: 1, tau: sp.sqrt(450)})
    assert 11 < float(g) < 13  # the erratum's ~12: delta grows by ~3.5 per layer
    assert any("Erratum" in note for note in d.notes)


def test_sigmoid_forms_claim_is_the_lectures():
    (c,) = get("sigmoid_forms").claims
    assert c.source == "lecture" and c.slide == "Activation Functions"
    assert derive("sigmoid_forms").result("form").origin == "claimed-and-proved"


def test_every_new_step_typesets_without_escaped_text():
    for name in LECTURE_TOPICS:
        tex = derive(name).to_latex()
        assert r"\_" not in tex and r"\hat{}" not in tex, name
