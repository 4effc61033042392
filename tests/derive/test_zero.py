"""The exact-zero decider's fast path decides what ``cancel`` decides, and never more.

``decide_zero`` first computes exactly in a field of fractions, which may
only answer ZERO.
These tests hold them to SymPy's ``cancel`` on random rational expressions in
symbols and exponentials, true identities and near-misses alike.
"""

import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from gradproof.derive.proof import zero

x, y, w = sp.symbols("x y w", real=True)
ATOMS = [x, y, w, sp.exp(x), sp.exp(-x), sp.exp(2 * x + y), sp.exp(x * w), sp.exp(-x * w), sp.Integer(2)]


def _cancel_zero(d) -> bool:
    """SymPy alone: exponentials as generators, then ``together`` and ``cancel``."""
    return sp.cancel(sp.together(zero._exp_to_generators(sp.expand_log(d, force=True)))) == 0


@st.composite
def rational_expressions(draw, depth=3):
    if depth == 0 or draw(st.booleans()):
        return draw(st.sampled_from(ATOMS)) * draw(st.integers(-3, 3))
    a = draw(rational_expressions(depth - 1))
    b = draw(rational_expressions(depth - 1))
    op = draw(st.sampled_from(["+", "*", "/"]))
    if op == "/" and sp.expand(b) == 0:
        op = "+"
    return a + b if op == "+" else a * b if op == "*" else a / b


@given(rational_expressions(), rational_expressions())
def test_fast_path_agrees_with_cancel(a, b):
    e = a / (1 + sp.exp(x) * b**2)
    rewritten = sp.together(sp.expand(e))  # the same function, written otherwise
    for d in (e - rewritten, e - rewritten + sp.Rational(1, 10**12) * x, e - rewritten + sp.exp(-x * w)):
        assert not zero._field_zero(d) or _cancel_zero(d), d
        assert (zero.decide_zero(d) is zero.ZERO) == _cancel_zero(d), d


def test_softmax_jacobian_identity_decided_in_the_field():
    zs = sp.symbols("z0:4", real=True)
    total = sum(sp.exp(z) for z in zs)
    p = [sp.exp(z) / total for z in zs]
    d = sp.diff(p[0], zs[0]) - p[0] * (1 - p[0])
    assert d != 0 and zero._field_zero(d)
    assert not zero._field_zero(d + p[0] * 10**-9)
    assert zero.decide_zero(d + sp.Rational(1, 10**9) * p[0]) is zero.NONZERO


def test_exp_of_a_sum_and_its_negation_are_one_generator():
    u = x * w + 2 * y
    d = sp.exp(u) * sp.exp(-u) - 1 + 0 * x
    assert zero._exp_factors(sp.exp(-2 * u)) == [(-2, u)] or zero._exp_factors(sp.exp(-2 * u)) == [(2, -u)]
    assert zero._field_zero(sp.exp(3 * u) / (sp.exp(u) + sp.exp(2 * u)) - sp.exp(2 * u) / (1 + sp.exp(u)))
    assert zero.decide_zero(d) is zero.ZERO


def test_large_polynomial_identity_decided_in_the_field_and_a_wrong_one_not():
    big = sp.expand((x + y + w + 1) ** 6)
    assert zero._field_zero((x + y + w + 1) ** 6 - big)
    assert not zero._field_zero((x + y + w + 1) ** 6 - big + x * y)
    assert zero.decide_zero((x + y + w + 1) ** 6 - big + x * y) is zero.NONZERO


def test_dependent_generators_are_left_to_cancel():
    """sqrt(x)^2 = x is beyond independent generators: the field says nothing, cancel decides."""
    r = sp.sqrt(x**2 + 1)
    d = (r - x) * (r + x) - 1
    assert not zero._field_zero(d)
    assert zero.decide_zero(d) is zero.ZERO
