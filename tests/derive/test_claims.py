"""Claims are text, read with their topic's names, and never trusted: a wrong claim is rejected by its proof."""

import dataclasses
import re
from pathlib import Path

import pytest

from gradproof.derive.engine.derivation import Claim
from gradproof.derive.lecture.registry import Topic, get, topics
from gradproof.derive.reading.claims import ClaimError, Symbols, formula

ROOT = Path(__file__).resolve().parents[2]

# Planted faults, written as text the way a slip on a slide would be.
WRONG = {
    "sign flip": ("linear", Claim("backward", "Delta^l = -Delta W^T")),
    "wrong transpose": ("linear", Claim("grad:W", "dL/dW = Delta^T Z")),
    "missing factor 1/m": ("softmax_cross_entropy", Claim("backward", "dL/dS = P - Y")),
    "missing factor 2": ("mse", Claim("backward", "dL/dyhat = (yhat - y) / m")),
    "sign flip in sigmoid": ("sigmoid", Claim("backward", "Delta^l = Delta ⊙ A ⊙ (1 + A)")),
    "ones on the wrong side": ("affine", Claim("grad:b", "dL/db = 1^T Delta^T")),
    "swapped indices": ("linear", Claim("jacobian", "dz^{l+1}_j/dz^l_i = w_ji")),
    "wrong Kronecker delta": ("linear", Claim("jacobian:W", "dz^{l+1}_j/dw_ik = [[i = k]] z^l_j")),
    "missing rowsum": ("softmax", Claim("backward", "Delta^l = P ⊙ Delta")),
    "wrong prediction": ("multinomial_logistic_regression", Claim("grad:W", "dL/dW = X^T (Y - Yhat) / m")),
    "ridge outside the inverse": ("ridge", Claim("solution", "w* = (X^T X)^-1 X^T y + lambda")),
    "sum from the wrong sample": (
        "mle_bernoulli",
        Claim("nll", "L(w) = -sum_i (y_i log(yhat_i) + y_i log(1 - yhat_i))"),
    ),
    "fan-out for fan-in": ("xavier", Claim("var_w", "Var(w) = 1/n_out")),
    "wrong scale inside sigma": ("tanh_sigmoid", Claim("identity", "tanh(s) = 2 sigma(s) - 1")),
    "wrong order term": ("linear_near_zero", Claim("tanh", "tanh(s) = s + s^2 + O(s^3)")),
    "softmax sums to 2": ("softmax_simplex", Claim("sum", "sum_k sigma_k = 2")),
}


def _claim_proofs(name, claim):
    topic = dataclasses.replace(get(name), claims=(claim,))
    (read,) = topic.claims
    assert read.read, "the planted claim must have been read, or its failure proves nothing"
    d = topic.build(topic)
    return d, [p for p in d.proofs if p.key == "claim:" + claim.key]


@pytest.mark.parametrize("fault", list(WRONG), ids=list(WRONG))
def test_wrong_claim_is_rejected(fault):
    name, claim = WRONG[fault]
    d, claim_proofs = _claim_proofs(name, claim)
    assert len(claim_proofs) == 1
    assert not claim_proofs[0].passed
    assert not d.passed
    # the derived result itself still proves: the claim, not the engine, is wrong
    assert all(p.passed for p in d.proofs if not p.key.startswith("claim:"))
    assert d.result(claim.key).origin == "derived"


def test_a_module_failure_names_the_claim():
    d, (p,) = _claim_proofs("linear", Claim("backward", "Delta^l = -Delta W^T"))
    assert "Delta^l = -Delta W^T" in p.detail and "entry" in p.detail


def test_right_claim_is_marked_claimed_and_proved():
    topic = get("linear")
    d = topic.build(topic)
    assert d.result("backward").origin == "claimed-and-proved"


# Mutations of the registry's own claim texts: a sign, a transpose, an index.
def _negated(statement):
    relation, rhs = formula(statement)
    head = statement[: statement.index("=") + 1]
    return f"{head} -({rhs})"


MUTATED = {
    ("linear", "backward"): _negated,
    ("linear", "grad:W"): lambda s: s.replace("Z^T Delta^{l+1}", "Z^T Delta^{l+1} / 2"),
    ("linear", "jacobian"): lambda s: s.replace("w_ij", "w_ji"),
    ("affine", "grad:b"): _negated,
    ("relu", "backward"): lambda s: s.replace("Z > 0", "Z < 0"),
    ("softmax", "backward"): lambda s: s.replace("Delta^{l+1} - rowsum", "Delta^{l+1} + rowsum"),
    ("logistic_regression", "grad:w"): lambda s: s.replace("X^T (yhat - y)", "(yhat - y)^T X"),
    ("least_squares", "solution"): _negated,
    ("mle_gaussian", "nll"): lambda s: s.replace("(y_i - sum_j", "(y_i + sum_j"),
    ("fused_gradients", "softmax_cross_entropy"): lambda s: s.replace("yhat_j - y_j", "y_j - yhat_j"),
    ("erm", "risk"): _negated,
    ("glorot", "var_w"): lambda s: s.replace("n_in + n_out", "n_in - n_out"),
    ("relu_properties", "positive"): _negated,
}


@pytest.mark.parametrize("where", list(MUTATED), ids=[f"{t}-{k}" for t, k in MUTATED])
def test_mutating_a_registry_claim_text_fails_its_proof(where):
    name, key = where
    (claim,) = [c for c in get(name).claims if c.key == key]
    text = MUTATED[where](claim.statement)
    assert text != claim.statement
    mutant = Claim(key, text, source=claim.source, slide=claim.slide, note=claim.note)
    d, proofs = _claim_proofs(name, mutant)
    assert proofs and not proofs[0].passed, (text, proofs)
    # and the claim as declared proves
    original = get(name).build(get(name))
    assert all(p.passed for p in original.proofs if p.key == "claim:" + key)


def _topic_with(claim):
    return Topic(
        "planted",
        "A planted topic",
        "identity",
        "Tests",
        0,
        "",
        build=lambda t: None,
        claims=(claim,),
        symbols=Symbols(),
    )


@pytest.mark.parametrize(
    "claim, words",
    [
        (Claim("x", "x = (a + "), "ends too early"),
        (Claim("x", "x = 2 Delta"), "unknown symbol 'Delta'"),
        (Claim("x", "no formula here"), "result = formula"),
        (Claim("x", "x = Var(z)"), "unknown function 'Var'"),
    ],
    ids=["syntax", "unknown name", "no equals sign", "undeclared function"],
)
def test_a_claim_that_does_not_read_stops_the_topic_naming_topic_and_claim(claim, words):
    with pytest.raises(ClaimError) as err:
        _topic_with(claim)
    message = str(err.value)
    assert "topic 'planted'" in message and "claim 'x'" in message and words in message
    assert "\n" not in message


def test_a_module_claim_naming_what_its_declaration_lacks_stops_it():
    with pytest.raises(ClaimError, match=r"topic 'affine', claim 'backward'.*inner dimensions"):
        dataclasses.replace(get("affine"), claims=(Claim("backward", "Delta^l = Delta W"),))
    with pytest.raises(ClaimError, match=r"topic 'sigmoid', claim 'backward'.*unknown name 'P'"):
        dataclasses.replace(get("sigmoid"), claims=(Claim("backward", "Delta^l = Delta ⊙ P"),))
    with pytest.raises(ClaimError, match=r"topic 'linear', claim 'jacobian'.*index"):
        dataclasses.replace(get("linear"), claims=(Claim("jacobian", "dz_j/dz_i = w_ijk"),))


def test_every_registry_claim_is_read_from_its_text():
    claims = [(t.name, c) for t in topics() if t.category != "user" for c in t.claims]
    assert len(claims) >= 30
    for name, c in claims:
        assert c.read, (name, c.key)
        assert (c.matrix is None) != (c.index is None), (name, c.key)


def test_no_claim_is_built_from_constructors_in_a_declaration():
    for path in sorted((ROOT / "derive" / "lecture").glob("topics_*.py")):
        text = path.read_text(encoding="utf-8")
        for call in re.finditer(r"Claim\(", text):
            depth, end = 0, call.end() - 1
            for end in range(call.end() - 1, len(text)):
                depth += {"(": 1, ")": -1}.get(text[end], 0)
                if depth == 0:
                    break
            body = text[call.start() : end + 1]
            assert not re.search(r"\b(?:mx|sp)\.|matrix=|index=", body), (path.name, body)


def test_layer_superscripts_are_not_powers():
    assert formula("dz^{l+1}_j/dz^l_i = w_ij z^{l-1}_i") == ("=", "w_ij z_i")
    assert formula("A = X^2") == ("=", "X^2")
    assert formula("d = [[j = k]]") == ("=", "[[j = k]]")


def test_claims_print_one_hadamard_symbol():
    for t in topics():
        for c in t.claims:
            assert " o " not in c.statement, (t.name, c.statement)


def test_the_registry_reads_its_claims_in_a_fresh_interpreter():
    # the claims are read while the declarations import: no import order may hide a circle
    import subprocess
    import sys

    code = "from gradproof.derive.lecture.registry import topics; print(sum(len(t.claims) for t in topics()))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert int(out.stdout.strip()) >= 30
