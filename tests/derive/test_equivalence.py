"""Equivalence: shape first, then seeded numeric probing, then symbolic
confirmation under a time limit; each stage proves it can fail."""

import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradproof.derive.seminar.answers import SymbolDecl as S
from gradproof.derive.seminar.answers.sandbox import Budget, CheckPool
from gradproof.derive.seminar.equivalence import SymbolicTimeout, close, decide, time_limit
from gradproof.derive.seminar.exercises import Exercise, exercises

MAT = (
    S("X", ("m", "n")),
    S("y", ("m", 1)),
    S("w", ("n", 1)),
    S("I", ("n", "n"), "identity"),
    S("lambda", (), "positive"),
)


def make(id_, reference, symbols=MAT, **kw):
    return Exercise(
        id=id_,
        title=id_,
        prompt="",
        lhs="the answer",
        topic="",
        result="",
        symbols=symbols,
        reference_text=reference,
        source="test",
        **kw,
    )


RIDGE = make("t_ridge", "inv(X^T X + lambda I) X^T y")
TANH = make("t_tanh", "tanh(s)", symbols=(S("s", ()),))
LOG = make("t_log", "log(x)", symbols=(S("x", ()),))
SQUARE = make("t_square", "x^2", symbols=(S("x", ()),))


def test_correct_forms_of_ridge():
    for a in ["inv(X^T X + lambda I) X^T y", "(X'X + lambda I)^-1 X'y", r"(X^\top X + \lambda I)^{-1} X^\top y"]:
        v = decide(RIDGE, a)
        assert v.status == "correct", (a, v)


def test_missing_transpose_is_a_shape_error():
    v = decide(RIDGE, "inv(X^T X + lambda I) X y")
    assert (v.status, v.decided_by) == ("incorrect", "shape")
    v = decide(RIDGE, "y^T X inv(X^T X + lambda I)")
    assert (v.status, v.decided_by, v.mistake) == ("incorrect", "shape", "transposed")


def test_ridge_mistakes_are_named():
    assert decide(RIDGE, "inv(X^T X) X^T y").mistake == "missing-ridge"
    v = decide(RIDGE, "(inv(X^T X) + lambda I) X^T y")
    assert v.mistake == "ridge-outside" and "inside the inverse" in v.feedback[0]
    assert decide(RIDGE, "inv(X^T X - lambda I) X^T y").mistake == "sign"


def test_identity_needs_exp_rewrite_and_is_proved_symbolically():
    v = decide(TANH, "2 sigma(2 s) - 1")
    assert (v.status, v.decided_by) == ("correct", "symbolic")
    v = decide(TANH, "2 sigma(s) - 1")
    assert (v.status, v.decided_by) == ("incorrect", "numeric")


def test_symbolic_timeout_leaves_the_exact_verdict():
    # the limit counts CPU time, which the kernel charges at its clock tick: SymPy's caches
    # emptied, so that the confirmation takes many ticks, not one
    from sympy.core.cache import clear_cache

    clear_cache()
    v = decide(TANH, "2 sigma(2 s) - 1", symbolic_seconds=1e-6)
    assert (v.status, v.decided_by) == ("correct", "exact")
    assert "timed out" in v.detail and "agree to 110 digits" in v.detail
    # the same timeout cannot save a near-miss: the exact probes decide before SymPy is asked
    v = decide(TANH, "2 sigma(2 s) - 1 + 1e-12", symbolic_seconds=1e-6)
    assert (v.status, v.decided_by, v.mistake) == ("incorrect", "exact", "near-miss")


def test_probes_are_redrawn_where_the_reference_is_undefined():
    o = LOG.oracle()
    assert len(o.envs) >= 8
    assert all(env["x"] > 0 for env in o.envs)
    assert decide(LOG, "2 log(sqrt(x))").status == "correct"


def test_probing_uses_the_whole_domain():
    """x|x| equals x^2 for x > 0 only: probing from the real line must catch it."""
    assert decide(SQUARE, "x * sqrt(x^2)").status == "incorrect"
    assert decide(SQUARE, "x * x").status == "correct"


def test_probes_are_seeded():
    a = SQUARE.oracle().envs
    from gradproof.derive.seminar.equivalence import Oracle

    b = Oracle(SQUARE).envs
    assert [e["x"] for e in a] == [e["x"] for e in b]


def test_undefined_answer_is_wrong_not_an_error():
    v = decide(SQUARE, "log(-x^2 - 1)")
    assert (v.status, v.mistake) == ("incorrect", "undefined")


def test_close_is_relative_with_an_absolute_floor():
    assert close(1e-13, 0.0)
    assert not close(1e-3, 0.0)
    assert close(1e6 * (1 + 1e-9), 1e6)
    assert not close(1.0 + 1e-5, 1.0)
    assert not close(np.nan, 1.0)


def test_time_limit_interrupts():
    t0 = time.perf_counter()
    with pytest.raises(SymbolicTimeout), time_limit(0.05):
        while True:
            pass
    assert time.perf_counter() - t0 < 5


def _spin(*a, **k):
    while True:
        pass


def _hog(*a, **k):
    blocks = []
    while True:
        blocks.append(bytearray(64 * 1024 * 1024))


def _sleep(*a, **k):
    time.sleep(60)


@pytest.mark.parametrize(
    "fn, by", [(_spin, "timeout"), (_hog, "limits"), (_sleep, "timeout")], ids=["cpu", "memory", "wall"]
)
def test_limits_in_the_worker_give_undecided(monkeypatch, fn, by):
    import gradproof.derive.seminar.equivalence

    monkeypatch.setattr(gradproof.derive.seminar.equivalence, "decide", fn)  # the forked worker inherits the patch
    budget = Budget(cpu_seconds=1, memory_mb=256, wall_seconds=3, symbolic_seconds=0.5)
    with CheckPool(workers=1, budget=budget) as pool:
        out = pool.run([("a", "linear_grad_W", "Z^T Delta")])
    v = out["a"]
    assert (v.status, v.decided_by) == ("undecided", by)
    assert v.feedback


def test_pool_recovers_after_a_limit(monkeypatch):
    import gradproof.derive.seminar.equivalence

    real = gradproof.derive.seminar.equivalence.decide

    def sometimes(ex, answer, **kw):
        if answer == "spin":
            _spin()
        return real(ex, answer, **kw)

    monkeypatch.setattr(gradproof.derive.seminar.equivalence, "decide", sometimes)
    budget = Budget(cpu_seconds=1, wall_seconds=5)
    with CheckPool(workers=2, budget=budget) as pool:
        out = pool.run(
            [(1, "linear_grad_W", "spin"), (2, "linear_grad_W", "Z^T Delta"), (3, "linear_grad_W", "Delta^T Z")]
        )
    assert out[1].status == "undecided"
    assert out[2].status == "correct"
    assert out[3].status == "incorrect"


_BANK = [ex for ex in exercises() if ex.accepted and ex.answer_type == "formula"]


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(_BANK), st.integers(-9, 9).filter(bool), st.integers(1, 9), st.data())
def test_scaled_answers_are_caught_by_the_ratio_test(ex, p, q, data):
    """c * (a correct answer) is correct iff c = 1, and otherwise the factor is reported."""
    answer = data.draw(st.sampled_from(ex.accepted))
    v = decide(ex, f"({p}/{q}) * ({answer})", symbolic_seconds=0.5)
    if p == q:
        assert v.status == "correct"
    else:
        assert v.status == "incorrect"
        assert v.mistake.startswith(("factor", "sign", "tutor")), (p, q, v.mistake)


SQUARE_PRODUCT = make("t_square_product", "A B", symbols=(S("A", ("n", "n")), S("B", ("n", "n"))))


def test_square_products_are_diagnosed_numerically():
    """With square operands shapes cannot tell; the mutants of the reference can."""
    v = decide(SQUARE_PRODUCT, "B A")
    assert (v.decided_by, v.mistake) == ("numeric", "order")
    v = decide(SQUARE_PRODUCT, "A^T B")
    assert (v.decided_by, v.mistake) == ("numeric", "transposed")
    assert decide(SQUARE_PRODUCT, "(B^T A^T)^T").status == "correct"
