"""Shortcuts of the engine and its proofs give what the longer way gives.

``gradient`` is SymPy's ``diff(L, x)`` entry by entry, ``simplifies_to_zero``
is ``simplify(d) == 0``, ``shortest`` is ``min`` over (operations, text
length): each compared with the longer way on random expressions, identities
and near-misses alike (a shortcut that answered otherwise fails here).
"""

import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from gradproof.derive.engine.matrixform import shortest
from gradproof.derive.proof.prove import gradient
from gradproof.derive.proof.zero import simplifies_to_zero

x, y, z = sp.symbols("x y z", real=True)
p = sp.Symbol("p", positive=True)
ATOMS = [x, y, z, p, sp.Integer(2), sp.Rational(1, 3)]
SMOOTH = [sp.exp, sp.log, sp.tanh, lambda e: e**2, lambda e: 1 / (1 + e**2)]


@st.composite
def expressions(draw, depth=3, functions=True):
    if depth == 0 or draw(st.booleans()):
        return draw(st.sampled_from(ATOMS)) * draw(st.integers(-3, 3))
    a = draw(expressions(depth - 1, functions))
    b = draw(expressions(depth - 1, functions))
    op = draw(st.sampled_from(["+", "*", "/", "f"] if functions else ["+", "*", "/"]))
    if op == "f":
        return draw(st.sampled_from(SMOOTH))(a) + b
    if op == "/" and sp.expand(b) == 0:
        op = "+"
    return a + b if op == "+" else a * b if op == "*" else a / b


@settings(max_examples=60, deadline=None)
@given(st.lists(expressions(), min_size=1, max_size=4))
def test_gradient_is_diff_entry_by_entry(terms):
    L = sp.Add(*terms)
    X = sp.Matrix([[x, y], [z, p]])
    got = gradient(L, X)
    want = X.applyfunc(lambda v: sp.diff(L, v))
    assert sp.srepr(got) == sp.srepr(want)


def test_gradient_of_a_sum_of_per_sample_terms():
    a = sp.Matrix(2, 2, lambda r, c: sp.Symbol(f"a_{r}{c}", real=True))
    L = sum(sp.log(1 + sp.exp(a[r, 0] * a[r, 1])) for r in range(2)) / 2 + a[0, 0] ** 3
    assert sp.srepr(gradient(L, a)) == sp.srepr(a.applyfunc(lambda v: sp.diff(L, v)))
    assert gradient(sp.Integer(0), a) == sp.zeros(2, 2)


@settings(max_examples=80, deadline=None)
@given(expressions(functions=False), expressions(functions=False))
def test_simplifies_to_zero_answers_as_simplify_on_fractions(a, b):
    rewritten = sp.together(sp.expand(a))  # the same function, written otherwise
    for d in (a - rewritten, a - rewritten + sp.Rational(1, 10**12) * x, a - b):
        assert simplifies_to_zero(d) == (sp.simplify(d) == 0), d


def test_simplifies_to_zero_leaves_functions_to_simplify():
    assert simplifies_to_zero(sp.exp(x) * sp.exp(-x) - 1)
    assert simplifies_to_zero(sp.log(p**2) - 2 * sp.log(p))
    assert not simplifies_to_zero(sp.tanh(x) - 1)
    assert simplifies_to_zero((y - z) / (z * (1 - z)) - (z - y) / (z * (z - 1)))
    assert not simplifies_to_zero((y - z) / (z * (1 - z)) - (y - z) / (z * (z - 1)))


@settings(max_examples=60, deadline=None)
@given(st.lists(expressions(), min_size=1, max_size=4))
def test_shortest_is_min_over_operations_then_text(cands):
    cands = cands + [sp.factor_terms(c) for c in cands]
    assert shortest(cands) is min(cands, key=lambda e: (sp.count_ops(e), len(str(e))))
