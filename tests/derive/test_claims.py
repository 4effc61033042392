"""Claims are never trusted: a wrong claim is rejected by its proof."""

import dataclasses

import pytest
import sympy as sp

from gradproof.derive.engine import mexpr as mx
from gradproof.derive.engine.derivation import Claim
from gradproof.derive.engine.modules import K, m, n
from gradproof.derive.lecture.registry import get

Z = mx.Sym("Z", (m, n))
W = mx.Sym("W", (n, K), role="param")
D = mx.Sym("Delta", (m, K), role="upstream")
P = mx.Sym("P", (m, K), role="output")
Y = mx.Sym("Y", (m, K), role="target")
u, v = sp.symbols("u v")

WRONG = {
    "sign flip": (
        "linear",
        Claim("backward", "Delta^l = -Delta W^T", matrix=mx.Scale(-1, mx.MatMul(D, mx.Transpose(W)))),
    ),
    "missing transpose": ("linear", Claim("grad:W", "dL/dW = Z Delta", matrix=mx.MatMul(Z, D))),
    "wrong transpose": ("linear", Claim("grad:W", "dL/dW = Delta^T Z", matrix=mx.MatMul(mx.Transpose(D), Z))),
    "missing factor 1/m": (
        "softmax_cross_entropy",
        Claim("backward", "dL/dS = P - Y", matrix=mx.Map(u - v, ((u, P), (v, Y)))),
    ),
    "missing factor 2": (
        "mse",
        Claim(
            "backward",
            "dL/dyhat = (yhat - y)/m",
            matrix=mx.Map((u - v) / m, ((u, mx.Sym("yhat", (m, 1))), (v, mx.Sym("y", (m, 1), role="target")))),
        ),
    ),
    "sign flip in sigmoid": (
        "sigmoid",
        Claim(
            "backward",
            "Delta o A o (1 + A)",
            matrix=mx.Map(u * v * (1 + v), ((u, mx.Sym("Delta", (m, n))), (v, mx.Sym("A", (m, n), role="output")))),
        ),
    ),
}


@pytest.mark.parametrize("fault", list(WRONG), ids=list(WRONG))
def test_wrong_claim_is_rejected(fault):
    name, claim = WRONG[fault]
    topic = dataclasses.replace(get(name), claims=(claim,))
    d = topic.build(topic)
    claim_proofs = [p for p in d.proofs if p.key == "claim:" + claim.key]
    assert len(claim_proofs) == 1
    assert not claim_proofs[0].passed
    assert claim.statement in claim_proofs[0].detail
    assert not d.passed
    # the derived result itself still proves: the claim, not the engine, is wrong
    assert all(p.passed for p in d.proofs if not p.key.startswith("claim:"))
    assert d.result(claim.key).origin == "derived"


def test_right_claim_is_marked_claimed_and_proved():
    topic = get("linear")
    d = topic.build(topic)
    assert d.result("backward").origin == "claimed-and-proved"
