"""Expectations by moments equal sympy.stats' on the laws the initialisation derivations use."""

from __future__ import annotations

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sympy import stats

from gradproof.derive.lecture import init_variance as iv
from gradproof.derive.lecture import moments
from gradproof.derive.lecture.registry import derive

a, q, sw = sp.Symbol("a", positive=True), sp.Symbol("q", positive=True), sp.Symbol("sigma_w", positive=True)


def _pairs():
    """The same laws, as moments and as sympy.stats random variables."""
    w = moments.finite("w", {-a: sp.Rational(1, 2), a: sp.Rational(1, 2)})
    x = moments.finite("x", {-1: q / 2, 0: 1 - q, 1: q / 2})
    ws = stats.FiniteRV("w", {-a: sp.Rational(1, 2), a: sp.Rational(1, 2)})
    xs = stats.FiniteRV("x", {-1: q / 2, 0: 1 - q, 1: q / 2})
    return (w, x), (ws, xs)


def test_every_step_of_the_chain_equals_sympy_stats():
    (w, x), (ws, xs) = _pairs()
    E = lambda e: moments.expectation(e, [w, x])
    for _, fn in [(None, lambda w_, x_, E_: E_((w_ * x_ - E_(w_ * x_)) ** 2))] + [(r, f) for r, f in iv._CHAIN]:
        mine = fn(w.symbol, x.symbol, E)
        ref = fn(ws, xs, stats.E)
        assert sp.simplify(mine - ref) == 0


def test_gaussian_and_uniform_variances_equal_sympy_stats():
    wc, xc = moments.normal("w_c", sw), moments.normal("x_c", a)
    ref = stats.variance(stats.Normal("w_c", 0, sw) * stats.Normal("x_c", 0, a))
    assert sp.simplify(moments.variance(wc.symbol * xc.symbol, [wc, xc]) - ref) == 0
    u = moments.uniform("u", a)
    assert sp.simplify(moments.variance(u.symbol, [u]) - stats.variance(stats.Uniform("u", -a, a))) == 0
    for k in range(1, 7):  # every moment, odd ones zero
        assert sp.simplify(wc.moment(k) - stats.E(stats.Normal("w_c", 0, sw) ** k)) == 0
        assert sp.simplify(u.moment(k) - stats.E(stats.Uniform("u", -a, a) ** k)) == 0


def test_iid_sum_rule_at_three_equals_sympy_stats():
    laws = [({-a: sp.Rational(1, 2), a: sp.Rational(1, 2)}, {-1: q / 2, 0: 1 - q, 1: q / 2})] * 3
    mine = [(moments.finite(f"w{t}", lw), moments.finite(f"x{t}", lx)) for t, (lw, lx) in enumerate(laws)]
    ref = [(stats.FiniteRV(f"w{t}", lw), stats.FiniteRV(f"x{t}", lx)) for t, (lw, lx) in enumerate(laws)]
    rvs = [rv for pair in mine for rv in pair]
    got = moments.variance(sum(w.symbol * x.symbol for w, x in mine), rvs)
    want = stats.variance(sum(w * x for w, x in ref))
    assert sp.simplify(got - want) == 0


values = st.integers(-3, 3)
weights = st.lists(st.integers(1, 4), min_size=2, max_size=3)


@settings(max_examples=20, deadline=None)
@given(vw=st.lists(values, min_size=2, max_size=3, unique=True), pw=weights, c=st.lists(values, min_size=4, max_size=4))
def test_a_polynomial_of_two_independent_finite_laws_equals_sympy_stats(vw, pw, c):
    pw = pw[: len(vw)] + [1] * (len(vw) - len(pw))
    total = sum(pw)
    law_w = {v: sp.Rational(p, total) for v, p in zip(vw, pw)}
    law_x = {-1: sp.Rational(1, 3), 2: sp.Rational(2, 3)}
    w, x = moments.finite("w", law_w), moments.finite("x", law_x)
    ws, xs = stats.FiniteRV("w", law_w), stats.FiniteRV("x", law_x)
    poly = lambda W, X: c[0] * W**2 * X + c[1] * W * X**2 + c[2] * W + c[3] * (W - X) ** 3
    assert sp.simplify(moments.expectation(poly(w.symbol, x.symbol), [w, x]) - stats.E(poly(ws, xs))) == 0


def test_expectation_refuses_what_it_cannot_decide():
    w, x = moments.normal("w", sw), moments.normal("x", a)
    with pytest.raises(sp.PolynomialError):
        moments.expectation(sp.exp(w.symbol), [w, x])
    with pytest.raises(ValueError):
        moments.expectation(w.symbol, [w, moments.uniform("w", a)])


def test_the_initialisation_proofs_still_fail_on_wrong_values():
    # a wrong moment law changes the answer: the same algebra would reject the planted values
    u = moments.uniform("u", a)
    assert sp.simplify(moments.variance(u.symbol, [u]) - a**2 / 2) != 0
    for name in ("xavier", "glorot", "he"):
        d = derive(name)
        assert d.passed and all(p.passed for p in d.proofs), name
        assert any("moments" in p.check for p in d.proofs), name
