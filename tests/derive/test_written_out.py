"""Products and sums over explicit bounds written out give what ``doit`` gives."""

import sympy as sp

from gradproof.derive.proof.prove import expand_products, written_out

i, j, c = sp.symbols("i j c", integer=True)
X, w, y, yhat = sp.IndexedBase("X"), sp.IndexedBase("w"), sp.IndexedBase("y"), sp.IndexedBase("yhat")
sigma, b = sp.Symbol("sigma", positive=True), sp.Symbol("b", real=True)


def _gaussian(residual):
    return sp.exp(-(residual**2) / (2 * sigma**2)) / sp.sqrt(2 * sp.pi * sigma**2)


CASES = [
    # the likelihoods of the MLE topics at explicit sizes
    sp.Product(_gaussian(y[i] - sp.Sum(X[i, j] * w[j], (j, 0, 2))), (i, 1, 3)),
    sp.Product(_gaussian(y[i] - b - sp.Sum(X[i, j] * w[j], (j, 1, 2))), (i, 1, 3)),
    sp.Product((1 - yhat[i]) ** (1 - y[i]) * yhat[i] ** y[i], (i, 1, 3)),
    sp.Product(yhat[i, c] ** y[i, c], (c, 1, 3), (i, 1, 2)),
    -sp.log(sp.Product(yhat[i, c] ** y[i, c], (c, 1, 2), (i, 1, 2))),
    sp.Sum(sp.log(sp.Sum(sp.exp(X[i, c]), (c, 1, 3))) - sp.Sum(X[i, c] * y[i, c], (c, 1, 3)), (i, 1, 2)),
    # edge cases: empty, reversed (b < a - 1), one factor, an index bound again inside
    sp.Product(y[i], (i, 1, 0)),
    sp.Product(y[i], (i, 3, 0)),
    sp.Product(y[i] + 1, (i, 2, 2)),
    sp.Product(sp.Sum(y[i], (i, 1, 2)), (i, 1, 2)),
    sp.Product(sp.Sum(X[i, j], (j, 0, i)), (i, 0, 2)),
    sp.Product(y[i], (i, 1, sp.Symbol("m", integer=True, positive=True))),
]


def test_written_out_equals_doit():
    for e in CASES:
        assert written_out(e) == e.doit(), e


def test_products_written_out_or_refused():
    assert expand_products(sp.Product(y[i], (i, 1, 3)) + 1) == y[1] * y[2] * y[3] + 1
    assert expand_products(sp.Product(y[i, c], (i, 1, 2), (c, 1, 2))) == y[1, 1] * y[2, 1] * y[1, 2] * y[2, 2]
    assert expand_products(sp.Product(y[i], (i, 3, 0))) is None
    assert expand_products(sp.Product(sp.Sum(y[i], (i, 1, 2)), (i, 1, 2))) is None
    assert expand_products(sp.Product(y[i], (i, 1, sp.Symbol("m", integer=True)))) is None
