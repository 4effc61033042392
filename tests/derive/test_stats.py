"""The statistical topics: derived, proved, and wrong claims rejected."""

import dataclasses

import pytest
import sympy as sp
from sympy.matrices.expressions import MatrixSymbol

from gradproof.derive.engine import mexpr as mx
from gradproof.derive.engine.derivation import Claim
from gradproof.derive.lecture.registry import derive, get, topics
from gradproof.derive.lecture.stats import NotAffine, collect_linear

STATS_CATEGORIES = ("mle", "map", "closed_form", "identity", "init")
NAMES = [t.name for t in topics() if t.category in STATS_CATEGORIES]


def test_all_topics_registered():
    for name in (
        "mle_gaussian",
        "mle_sigma2",
        "mle_bernoulli",
        "mle_categorical",
        "map_gaussian",
        "map_laplace",
        "least_squares",
        "ridge",
        "logistic_no_closed_form",
        "tanh_sigmoid",
        "sigmoid_derivative",
        "softmax_simplex",
        "fused_gradients",
        "symmetry",
        "xavier",
        "glorot",
        "he",
    ):
        assert name in NAMES


@pytest.mark.parametrize("name", NAMES, ids=NAMES)
def test_topic_derives_and_proves(name):
    d = derive(name)
    assert d.steps and d.results and d.proofs
    failed = [(p.key, p.check, p.detail) for p in d.proofs if not p.passed]
    assert not failed
    for c in d.claims:
        assert any(p.key == "claim:" + c.key and p.passed for p in d.proofs)
        assert d.result(c.key).origin == "claimed-and-proved"


def test_lecture_order():
    order = [t.name for t in topics()]
    assert order.index("mle_gaussian") < order.index("least_squares") < order.index("xavier") < order.index("ridge")


def test_closed_form_results_are_solve_nodes():
    for name, text in (("least_squares", "(X^T X)^-1 X^T y"), ("ridge", "(X^T X + lambda I)^-1 X^T y")):
        sol = derive(name).result("solution").matrix
        assert isinstance(sol, mx.Solve)
        assert str(sol) == text


def test_collect_linear_routine():
    m, n = sp.symbols("m n", positive=True, integer=True)
    X, w, y = MatrixSymbol("X", m, n), MatrixSymbol("w", n, 1), MatrixSymbol("y", m, 1)
    lam = sp.Symbol("lambda", positive=True)
    A, b = collect_linear(6 * X.T * X * w + 6 * lam * w - 6 * X.T * y, w)
    assert X.T * X + lam * sp.Identity(n) == A
    assert b == X.T * y
    with pytest.raises(NotAffine):
        collect_linear(w.T * w * w - X.T * y, w)


def _rebuild(name, claims):
    t = dataclasses.replace(get(name), claims=claims)
    return t.build(t)


def test_wrong_ridge_claim_rejected():
    # "+ lambda" outside the inverse, written as text and read with the topic's names
    d = _rebuild("ridge", (Claim("solution", "w* = (X^T X)^-1 X^T y + lambda"),))
    claim_proofs = [p for p in d.proofs if p.key == "claim:solution"]
    assert claim_proofs and not claim_proofs[0].passed
    assert not d.passed
    assert d.result("solution").origin == "derived"


def test_wrong_xavier_claim_rejected():
    d = _rebuild("xavier", (Claim("var_w", "Var(w) = 1/n_out"),))
    assert not d.passed
    assert [p.passed for p in d.proofs if p.key == "claim:var_w"] == [False]


def test_wrong_tanh_claim_rejected():
    d = _rebuild("tanh_sigmoid", (Claim("identity", "tanh(s) = 2 sigma(s) - 1"),))
    assert not d.passed


def test_sigma2_positive_root_only():
    d = derive("mle_sigma2")
    assert len(d.extra["roots_real_sigma"]) == 2  # SymPy finds +- for real sigma
    assert d.result("sigma2").index == sp.Symbol("RSS", positive=True) / sp.Symbol("m", positive=True, integer=True)


def test_text_and_json_render():
    d = derive("ridge")
    assert "collect as A w = b" in d.to_text()
    assert d.to_json()["passed"] is True
