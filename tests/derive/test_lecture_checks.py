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


def test_sigma2_loss_unbounded_at_both_ends_and_planted_losses_rejected():
    from gradproof.derive.lecture import mle

    m, sigma, rss = mle.m, mle.sigma, mle.RSS
    log_term = m / 2 * sp.log(2 * sp.pi * sigma**2)
    assert mle.unbounded_at_both_ends(log_term + rss / (2 * sigma**2))
    for wrong in (
        log_term - rss / (2 * sigma**2),  # -oo at 0+
        -log_term + rss / (2 * sigma**2),  # -oo at oo
        rss / (2 * sigma**2),  # 0 at oo
        m * sp.log(sigma) + rss / sigma - m * sigma,  # -oo at oo: the terms' limits are oo and -oo
    ):
        assert not mle.unbounded_at_both_ends(wrong)


def test_limit_by_terms_agrees_with_sympy():
    from gradproof.derive.lecture.exact import limit_by_terms

    x = sp.Symbol("x", positive=True)
    for expr, point in (
        (sp.log(x) + 1 / x**2, sp.oo),
        (sp.log(x) - x, sp.oo),  # oo - oo: the whole sum's limit
        (sp.sin(x) + x, sp.oo),  # sin has no limit
        (sp.sin(x) / x + 3, sp.oo),
        (sp.log(x) + 1 / x, 0),
    ):
        assert limit_by_terms(expr, x, point) == sp.limit(expr, x, point)


def _logistic_loss(Xv, yv, wv, lib=sp):
    sv = Xv * wv
    return sum((yv[i, 0] * lib.log(1 + lib.exp(-sv[i, 0])) for i in range(Xv.rows)), lib.Integer(0))


def _squared_loss(Xv, yv, wv, lib=sp):
    r = yv - Xv * wv
    return sum((r[i, 0] ** 2 for i in range(Xv.rows)), lib.Integer(0))


def test_hessian_varies_for_logistic_loss_not_for_a_quadratic_one():
    rng = random.Random(7)
    Xr = random_rational_matrix(rng, 2, 3)
    yr = sp.Matrix([1, 1])
    w = symbolic_matrix("w", 3, 1, real=True)
    assert cf.hessian_varies(_logistic_loss, Xr, yr, w) == (True, "")
    ok, detail = cf.hessian_varies(_squared_loss, Xr, yr, w)  # affine gradient: planted "no closed form"
    assert not ok and "did not change" in detail


def test_to_sympy_matrix_round_trip_keeps_assumptions():
    from gradproof.derive.lecture.exact import to_symengine_matrix, to_sympy_matrix

    w = symbolic_matrix("w", 2, 1, real=True)
    A = sp.Matrix([[w[0] ** 2 + 3, sp.exp(w[1])], [sp.Rational(1, 3), w[0] * w[1]]])
    back = to_sympy_matrix(to_symengine_matrix(A), list(w))
    assert back.shape == A.shape and back == A
    assert all(x.is_real for x in back.free_symbols)
    assert to_sympy_matrix(to_symengine_matrix(A), []) != A  # the symbols come back without assumptions


def test_taylor_polynomial_is_the_series_and_rejects_planted_expansions():
    from gradproof.derive.lecture.exact import taylor_polynomial
    from gradproof.derive.lecture.functions import explicit, sigmoid

    s = sp.Symbol("s", real=True)
    for f in (explicit(sigmoid(s)), sp.tanh(s), sp.exp(2 * s) * sp.cos(s), sp.log(1 + s) / (2 - s)):
        assert sp.expand(taylor_polynomial(f, s, 5) - sp.series(f, s, 0, 5).removeO()) == 0
    sig = taylor_polynomial(explicit(sigmoid(s)), s, 5)
    for wrong in (sp.Rational(1, 2) + s / 4 - s**3 / 24, sp.Rational(1, 2) + s / 2 - s**3 / 48, s / 4 - s**3 / 48):
        assert sp.expand(sig - wrong) != 0
    assert taylor_polynomial(sp.sin(s) / s, s, 3).has(sp.nan)  # undefined at 0 by substitution: never equal


def test_linear_near_zero_still_proves():
    from gradproof.derive.lecture.registry import derive

    d = derive("linear_near_zero")
    assert d.passed and len([p for p in d.proofs if p.key == "sigmoid"]) == 1


def _rnn(T=3, M=2, H=2):
    import symengine as se

    from gradproof.derive.lecture.exact import tanh_m, to_symengine_matrix

    xs = [to_symengine_matrix(symbolic_matrix(f"x{t}", M, H, real=True)) for t in range(T)]
    V = to_symengine_matrix(symbolic_matrix("v", H, H, real=True))
    Gs = [to_symengine_matrix(symbolic_matrix(f"g{t}", M, H, real=True)) for t in range(T)]
    hs = [se.zeros(M, H)]
    for t in range(T):
        hs.append(tanh_m(xs[t] + hs[-1] * V))
    L = sum((sum(Gs[t].multiply_elementwise(hs[t + 1])) for t in range(T)), se.Integer(0))
    return se, xs, V, Gs, hs, L


def _bptt_dv(se, V, Gs, hs, recurrent=True):
    T, (M, H) = len(Gs), Gs[0].shape
    ds, out = se.zeros(M, H), se.zeros(H, H)
    for t in range(T, 0, -1):
        dh = Gs[t - 1] + (ds * V.T if recurrent else se.zeros(M, H))
        ds = dh.multiply_elementwise(se.ones(M, H) - hs[t].multiply_elementwise(hs[t]))
        out = out + hs[t - 1].T * ds
    return out


def test_symengine_bptt_proved_and_a_planted_bptt_rejected():
    from gradproof.derive.lecture.exact import differs_at_a_point, grad, same

    se, xs, V, Gs, hs, L = _rnn()
    oracle = grad(L, symbolic_matrix("v", 2, 2, real=True))
    assert same(_bptt_dv(se, V, Gs, hs), oracle) is True
    wrong = _bptt_dv(se, V, Gs, hs, recurrent=False)  # the message through the next step dropped
    assert same(wrong, oracle) is not True
    assert differs_at_a_point(wrong, oracle)
    assert not differs_at_a_point(_bptt_dv(se, V, Gs, hs), oracle)  # equal functions never differ


def test_differs_at_a_point_sympy_and_symengine_entries():
    from gradproof.derive.lecture.exact import differs_at_a_point, to_symengine_matrix

    x, y = sp.symbols("x y", real=True)
    A = sp.Matrix([[sp.tanh(x + y) ** 2, x * y]])
    same_fn = sp.Matrix([[1 - 1 / sp.cosh(x + y) ** 2, y * x]])
    assert not differs_at_a_point(A, same_fn)
    assert differs_at_a_point(A, sp.Matrix([[sp.tanh(x + y) ** 2, x * y + sp.Rational(1, 10**6)]]))
    assert differs_at_a_point(to_symengine_matrix(A), sp.Matrix([[sp.tanh(x) ** 2, x * y]]))


def test_network_proofs_fail_against_a_planted_derivative(monkeypatch):
    # the derivative of 2 L for that of L: every composed message must be rejected
    from gradproof.derive.lecture import proofs_networks as pn
    from gradproof.derive.lecture.registry import get

    real_grad = pn.grad
    monkeypatch.setattr(pn, "grad", lambda L, P: real_grad(2 * L, P))
    for name, key in (("dag_reuse", "grad:W"), ("rnn_bptt", "grad:V")):
        d = get(name).build(get(name))
        assert not d.passed
        first = next(p for p in d.proofs if p.key == key)
        assert not first.passed and "SymEngine's derivative" in first.check


def test_derivative_positive_rejects_planted_functions():
    from gradproof.derive.lecture.exact import derivative_positive

    s = sp.Symbol("s", real=True)
    assert derivative_positive(sp.tanh(s / 2) / 2, s)
    assert derivative_positive(1 / (1 + sp.exp(-s)), s)
    for wrong in (-sp.tanh(s / 2) / 2, sp.tanh(s / 2) ** 2, sp.sin(s), sp.exp(-s)):
        assert not derivative_positive(wrong, s)


def test_scalar_term_gradient_is_sympys_matrix_derivative():
    from sympy.matrices.expressions import MatrixSymbol

    w, X, y, lam = cf.w, cf.X, cf.y, cf.lam
    B = MatrixSymbol("B", cf.n + 1, cf.n + 1)  # not symmetric
    a = MatrixSymbol("a", cf.n + 1, 1)
    for term in (
        w.T * X.T * X * w,
        -3 * w.T * B * w,
        w.T * B.T * B * w,
        lam * w.T * w,
        -2 * y.T * X * w,
        w.T * X.T * y,
        sp.Rational(5, 2) * a.T * w,
        w.T * a,
        w.T * B * a,
    ):
        got = cf.scalar_term_gradient(term, w)
        assert got is not None, term
        assert sp.srepr(got) == sp.srepr(sp.diff(term, w)), term
    assert cf.scalar_term_gradient(X * w, w) is None  # not a scalar
    assert cf.scalar_term_gradient(y.T * y, w) is None  # no w at either end
    assert cf.scalar_term_gradient(w.T * B * w * lam * w.T * w, w) is None  # w inside


def test_relu_second_moment_halves_the_variance_and_a_planted_third_fails():
    from gradproof.derive.lecture import init_variance as iv
    from gradproof.derive.lecture import moments
    from gradproof.derive.lecture.stats import is_zero

    assert is_zero(iv._uniform_half())
    t = sp.Symbol("t", real=True)
    U = moments.uniform("s_u", iv._a)
    half_moment = iv._relu_second_moment(1 / (2 * iv._a), t, iv._a)
    assert not is_zero(half_moment - moments.variance(U.symbol, [U]) / 3)
    sig = sp.Symbol("sigma_s", positive=True)
    gauss = sp.exp(-(t**2) / (2 * sig**2)) / (sig * sp.sqrt(2 * sp.pi))
    assert iv._relu_second_moment(gauss, t, sp.oo) == sig**2 / 2
    assert iv._single_power(sig**2 / 2) and not iv._single_power(sig**2 * t**2)
