"""Registry-driven: every topic derives, and every result passes its exact proof.

A new topic is tested here without a test written for it.
"""

import pytest

from gradproof.derive.lecture.registry import derive, topics

TOPICS = [t.name for t in topics()]


@pytest.mark.parametrize("name", TOPICS, ids=TOPICS)
def test_topic_derives_and_every_proof_passes(name):
    d = derive(name)
    assert d.topic == name
    assert d.steps, "a derivation without steps explains nothing"
    assert d.proofs, "every topic proves its results"
    failed = [f"{p.key} ({p.check}): {p.detail}" for p in d.proofs if not p.passed]
    assert not failed, failed


MODULES = [
    t.name for t in topics() if t.category in ("neuron", "layer", "activation", "loss", "fused", "penalty", "model")
]


@pytest.mark.parametrize("name", MODULES, ids=MODULES)
def test_module_results_have_both_forms_proved(name):
    d = derive(name)
    assert d.code is not None
    checked = {(p.key, p.check) for p in d.proofs if p.passed}
    for r in d.results:
        if r.matrix is not None and not r.key.startswith("jacobian"):
            assert (r.key, "exact: matrix form") in checked, r.key
    if d.category not in ("model",):
        # index-form derivatives are proved too (losses: dl/dz; modules: messages)
        assert any(check == "exact: index form" for _, check in checked)


@pytest.mark.parametrize("name", ["linear", "affine", "softmax"], ids=str)
def test_jacobian_in_index_form_uses_kronecker_or_weights(name):
    import sympy as sp

    d = derive(name)
    jac = d.result("jacobian").index
    if name == "softmax":
        assert jac.has(sp.KroneckerDelta)
    else:
        assert isinstance(jac, sp.Indexed) and str(jac.base) == "W"
    if name in ("linear", "affine"):
        assert d.result("jacobian:W").index.has(sp.KroneckerDelta)


def test_lecture_order_and_kinds():
    names = [t.name for t in topics()]
    assert names.index("perceptron") < names.index("linear") < names.index("softmax") < names.index("cross_entropy")
    assert names.index("softmax_cross_entropy") < names.index("multinomial_logistic_regression")


def test_derive_returns_frozen_plain_data():
    import dataclasses

    d = derive("linear")
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.topic = "x"  # type: ignore[misc]
