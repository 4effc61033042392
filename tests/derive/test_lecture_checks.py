"""The exact checks of the lecture's statistical topics, one by one: each holds
for the derived result and fails for a planted wrong one."""

import random

import sympy as sp

from gradproof.derive.engine import mexpr as mx
from gradproof.derive.lecture import closed_forms as cf
from gradproof.derive.lecture.stats import random_rational_matrix, symbolic_matrix

X_EXPLICIT = symbolic_matrix("X", cf.M, cf.N1)
ENV = {"X": X_EXPLICIT, "y": symbolic_matrix("y", cf.M, 1), "w": symbolic_matrix("w", cf.N1, 1)}
GRAM = mx.MatMul(mx.Transpose(cf.Xs), cf.Xs)
IDENTITY = mx.Identity(cf.n + 1)


def test_ridge_quadratic_form_holds_for_the_derived_hessian():
    hess = mx.Scale(2, mx.Add((GRAM, mx.Scale(cf.lam, IDENTITY))))
    assert cf.quadratic_form_identity(hess, ENV) == (True, "")


def test_ridge_quadratic_form_rejects_planted_hessians():
    for wrong in (
        mx.Scale(2, GRAM),  # the penalty's lambda I left out
        mx.Scale(3, mx.Add((GRAM, mx.Scale(cf.lam, IDENTITY)))),  # wrong factor
        mx.Scale(2, mx.Add((GRAM, mx.Scale(cf.lam**2, IDENTITY)))),  # lambda^2 for lambda
    ):
        ok, detail = cf.quadratic_form_identity(wrong, ENV)
        assert not ok and "v^T H v" in detail


def test_ridge_regularises_only_a_rank_deficient_x():
    Xr = random_rational_matrix(random.Random(1235), cf.M, cf.N1)
    ok, detail = cf.ridge_regularises(Xr)  # full column rank: X^T X is not singular
    assert not ok and "not singular" in detail
    Xd = Xr.copy()
    Xd[:, cf.N1 - 1] = Xd[:, 1]
    assert cf.ridge_regularises(Xd) == (True, "")


def test_ridge_determinant_is_the_characteristic_polynomial():
    # det(lambda I + G) computed directly agrees with the charpoly of -G the check reads
    Xd = random_rational_matrix(random.Random(7), cf.M, cf.N1)
    Xd[:, 0] = 2 * Xd[:, 2]
    G = Xd.T * Xd
    direct = sp.expand((G + cf.lam * sp.eye(cf.N1)).det())
    assert (-G).charpoly(cf.lam).all_coeffs() == sp.Poly(direct, cf.lam).all_coeffs()
    assert G.det() == 0 and cf.ridge_regularises(Xd) == (True, "")
