"""Proof instances: sums over explicit bounds written out give what ``doit`` gives."""

import sympy as sp

from gradproof.derive.engine.notation import K, m, n
from gradproof.derive.proof.prove import expand_sums, instantiate

i, j, k = sp.symbols("i j k", integer=True)
w, z, d = sp.IndexedBase("w"), sp.IndexedBase("z"), sp.IndexedBase("delta")
lam = sp.Symbol("lambda", positive=True)
DIMS = {m: 2, n: 3, K: 4, lam: sp.Rational(1, 7)}

CASES = [
    sp.Sum(w[i, j] * z[i], (i, 0, n - 1)),
    sp.Sum(d[j] * sp.Sum(w[i, j] * z[i], (i, 0, n - 1)), (j, 0, K - 1)),
    lam * sp.Sum(w[i, k] ** 2, (i, 0, n - 1), (k, 0, K - 1)),
    -sp.Sum(sp.log(sp.exp(z[j]) / sp.Sum(sp.exp(z[k]), (k, 0, K - 1))) * d[j], (j, 0, K - 1)),
    sp.Sum(sp.KroneckerDelta(i, j) * z[i], (i, 0, n - 1)),
    sp.Sum(sp.Piecewise((z[i], z[i] > 0), (0, True)), (i, 0, m - 1)),
    sp.Sum(lam, (i, 0, n - 1)) + sp.Sum(z[i], (i, 0, 0)),
    sp.Sum(z[i], (i, 3, 0)),  # b < a - 1: minus a sum in SymPy's convention, left to doit
    sp.Sum(z[i], (i, 1, 0)),  # empty
    sp.Sum(sp.Sum(w[i, j], (j, 0, i)), (i, 0, n - 1)),  # an inner bound on the outer index
    sp.Sum(z[i], (i, 0, n - 1)) * sp.Product(z[j], (j, 0, 1)),
    sp.Derivative(sp.Sum(z[i] ** 2, (i, 0, m - 1)), z[0]),
]


def test_instances_equal_those_of_subs_and_doit():
    for e in CASES:
        want = e.subs(DIMS).doit()
        got = instantiate(e, DIMS, {})
        assert got == want, e


def test_expansion_refuses_what_only_doit_decides():
    assert expand_sums(sp.Sum(z[i], (i, 3, 0))) is None
    assert expand_sums(sp.Sum(z[i], (i, 0, n - 1))) is None
    assert expand_sums(sp.Sum(sp.Sum(w[i, j], (j, 0, i)), (i, 0, 2))) is None
    assert expand_sums(sp.Sum(sp.KroneckerDelta(i, j) * z[i], (i, 0, 2))) is None  # j free: doit keeps a Piecewise
    assert expand_sums(sp.Sum(z[i], (i, 0, 2)) + 1) == z[0] + z[1] + z[2] + 1
