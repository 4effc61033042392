"""The exact comparisons of the lecture's proofs: each decides what the slower form decided, and can fail."""

from __future__ import annotations

import pytest
import sympy as sp

from gradproof.derive.lecture import exact
from gradproof.derive.lecture.functions import explicit, sigmoid
from gradproof.derive.lecture.stats import is_zero
from gradproof.derive.proof import zero

s = sp.Symbol("s", real=True)
x, y = sp.symbols("x y", real=True)


def test_simplify_alone_misses_tanh_vs_sigmoid_and_the_exp_form_proves_it():
    # why identities.py rewrites to exp before deciding (measured on SymPy 1.14)
    expr = sp.tanh(s) - (2 / (1 + sp.exp(-2 * s)) - 1)
    assert sp.simplify(expr) != 0
    assert is_zero(sp.tanh(s) - explicit(2 * sigmoid(2 * s) - 1))


def test_same_agrees_with_sympy_expand_entry_by_entry():
    a = sp.Matrix([[sp.tanh(x * (y + 1)) * y, x**2 - y]])
    b = sp.Matrix([[sp.tanh(x * y + x) * y, (x - y) * (x + y) + y**2 - y]])
    # SymEngine leaves tanh's argument unexpanded; SymPy's expand decides the entry
    assert exact.same(a, b) is True
    assert exact.same(a, sp.Matrix([[sp.tanh(x * y + x) * y, x**2 + y]])) == (False, "entry (1, 2) differs")
    assert exact.same(a, sp.Matrix([[1, 2, 3]]))[0] is False


def test_grad_and_hessian_equal_sympys():
    L = sp.tanh(x * y) ** 2 + x**3 * y
    v = sp.Matrix([x, y])
    assert exact.same(exact.grad(L, v), v.applyfunc(lambda t: sp.diff(L, t))) is True
    assert exact.same(exact.hessian(L, v), sp.hessian(L, [x, y])) is True
    assert exact.same(exact.grad(L, v), sp.Matrix([0, 0])) is not True


def test_substitute_replaces_entry_by_entry():
    u = sp.Matrix([sp.Symbol("u1"), sp.Symbol("u2")])
    got = exact.substitute(sp.Matrix([[u[0] * u[1]]]), u, sp.Matrix([x, y + 1]))
    assert exact.same(got, sp.Matrix([[x * y + x]])) is True


@pytest.mark.parametrize("sign", [1, -1])
def test_tanh_limit_equals_sympys_limit(sign):
    for expr in (sp.tanh(s), 1 - sp.tanh(s) ** 2, sp.tanh(s) - sp.tanh(s) ** 3 / 3, (1 + sp.tanh(s)) ** 2):
        assert exact.tanh_limit(expr, s, sign) == sp.limit(expr, s, sign * sp.oo)


def test_tanh_limit_refuses_other_expressions():
    with pytest.raises((ValueError, sp.PolynomialError)):
        exact.tanh_limit(s * sp.tanh(s), s, 1)
    with pytest.raises((ValueError, sp.PolynomialError)):
        exact.tanh_limit(sp.exp(-s), s, 1)


def test_zero_decides_like_is_zero():
    cases = [
        (sp.diff(sp.tanh(s) ** 2, s) - 2 * sp.tanh(s) * (1 - sp.tanh(s) ** 2), True),
        (sp.diff(sp.tanh(s) ** 2, s) - 2 * sp.tanh(s), False),
        (sp.tanh(s) - explicit(2 * sigmoid(2 * s) - 1), True),  # needs is_zero's exp rewriting
        ((x + y) ** 3 - x**3 - y**3, False),
    ]
    for expr, want in cases:
        assert exact.zero(expr) is want and is_zero(expr) is want


def test_the_lecture_compares_with_the_one_decider():
    # exact.py defines no comparison of its own: both are the decider's, with a strategy
    assert exact.same is zero.same_entries
    assert exact.zero.func is zero.exact_zero and exact.zero.keywords == {"strategy": zero.EXPAND_FIRST}


@pytest.mark.parametrize("strategy", zero.STRATEGIES)
def test_every_strategy_proves_identities_and_refuses_planted_wrong_claims(strategy):
    poly = (x + y) ** 3 - (x**3 + 3 * x**2 * y + 3 * x * y**2 + y**3)
    tanh_poly = sp.diff(sp.tanh(x * y) ** 2, x) - 2 * y * sp.tanh(x * y) * (1 - sp.tanh(x * y) ** 2)
    assert zero.exact_zero(poly, strategy=strategy) is True
    assert zero.exact_zero(tanh_poly, strategy=strategy) is True
    for wrong in (poly + x * y, tanh_poly + sp.tanh(x * y) ** 3, sp.tanh(s) - (2 * sigmoid(2 * s) + 1)):
        assert zero.exact_zero(wrong, strategy=strategy) is False, (strategy, wrong)


def test_expansion_alone_does_not_decide_what_needs_rewriting():
    identity = sp.tanh(s) - explicit(2 * sigmoid(2 * s) - 1)  # true, but not by expansion
    assert zero.exact_zero(identity, strategy=zero.EXPAND_ONLY) is False
    assert zero.exact_zero(identity, strategy=zero.EXPAND_FIRST) is True
    assert zero.exact_zero(identity) is True


def test_symengine_expressions_are_expanded_there_then_by_sympy():
    se = zero.load_symengine()
    a = zero.to_symengine(sp.tanh(x * (y + 1)) * y)
    b = zero.to_symengine(sp.tanh(x * y + x) * y)
    assert se.expand(a - b) != 0  # SymEngine keeps tanh's argument as written
    assert zero.expands_to_zero(a - b) is True  # SymPy's expansion decides it
    assert zero.expands_to_zero(a + b) is False


def test_an_unknown_strategy_and_text_are_refused():
    with pytest.raises(ValueError, match="unknown strategy 'guess'"):
        zero.exact_zero(x - x, strategy="guess")
    with pytest.raises(TypeError):
        zero.expands_to_zero("x - x")


def test_grad_and_hessian_of_functions_symengine_does_not_know_are_not_zero():
    """SymEngine takes the derivative of a function it does not know (sigmoid, softplus) to be 0."""
    import sympy as sp

    from gradproof.derive.lecture.exact import grad, hessian, same
    from gradproof.derive.lecture.functions import sigmoid, softplus

    x, y = sp.symbols("x y", real=True)
    bce = -y * sp.log(sigmoid(x)) - (1 - y) * sp.log(1 - sigmoid(x))
    assert same(sp.Matrix([[sigmoid(x) - y]]), grad(bce, sp.Matrix([[x]]))) is True
    assert same(sp.Matrix([[0]]), grad(bce, sp.Matrix([[x]]))) is not True
    assert same(sp.Matrix([[sigmoid(x) * (1 - sigmoid(x))]]), hessian(bce, sp.Matrix([x]))) is True
    assert same(sp.Matrix([[sigmoid(x * y) * y]]), grad(softplus(x * y), sp.Matrix([[x]]))) is True
