"""Matrix Cookbook identities and the lecture's losses through ``gradproof diff``.

Each identity is derived, proved entry by entry against SymPy's scalar
derivative, printed in matrix form, run as generated NumPy against central
differences, and compared with the cookbook's closed form written here in
NumPy (an independent reference).
"""

import numpy as np
import pytest

from gradproof.derive.engine.matcalc import differentiate, latex, text
from gradproof.derive.proof.matcalc import central_differences, numpy_module, sample
from gradproof.derive.reading import read
from gradproof.derive.reading.limits import DEFAULT


def c(v):
    return np.asarray(v, dtype=float).reshape(-1, 1)


def sig(s):
    return 1.0 / (1.0 + np.exp(-s))


def inv(a):
    return np.linalg.inv(a)


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


# (expression, wrt, hessian?, reference closed form of the arrays)
IDENTITIES = [
    ("a^T x", "x", False, lambda d: c(d["a"])),
    ("x^T a", "x", False, lambda d: c(d["a"])),
    ("a^T X b", "X", False, lambda d: c(d["a"]) @ c(d["b"]).T),
    ("a^T X^T b", "X", False, lambda d: c(d["b"]) @ c(d["a"]).T),
    ("x^T A x", "x", False, lambda d: (d["A"] + d["A"].T) @ c(d["x"])),
    ("x^T x", "x", False, lambda d: 2 * c(d["x"])),
    ("(X w - y)^T (X w - y)", "w", False, lambda d: 2 * d["X"].T @ (d["X"] @ c(d["w"]) - c(d["y"]))),
    (
        "(X w - y)^T (X w - y) + lambda w^T w",
        "w",
        False,
        lambda d: 2 * d["X"].T @ (d["X"] @ c(d["w"]) - c(d["y"])) + 2 * d["lambda_"] * c(d["w"]),
    ),
    ("norm2(x)^2", "x", False, lambda d: 2 * c(d["x"])),
    ("norm2(x)", "x", False, lambda d: c(d["x"]) / np.linalg.norm(d["x"])),
    ("norm1(x)", "x", False, lambda d: np.sign(c(d["x"]))),
    ("||X||_F^2", "X", False, lambda d: 2 * d["X"]),
    ("tr(X)", "X", False, lambda d: np.eye(len(d["X"]))),
    ("tr(A X)", "X", False, lambda d: d["A"].T),
    ("tr(X A)", "X", False, lambda d: d["A"].T),
    ("tr(A X B)", "X", False, lambda d: d["A"].T @ d["B"].T),
    ("tr(A X^T B)", "X", False, lambda d: d["B"] @ d["A"]),
    ("tr(X^T A)", "X", False, lambda d: d["A"]),
    ("tr(X^T X)", "X", False, lambda d: 2 * d["X"]),
    ("tr(X^T A X)", "X", False, lambda d: (d["A"] + d["A"].T) @ d["X"]),
    ("tr(A X) + tr(X^T B)", "X", False, lambda d: d["A"].T + d["B"]),
    ("det(X)", "X", False, lambda d: np.linalg.det(d["X"]) * inv(d["X"]).T),
    ("log(det(X))", "X", False, lambda d: inv(d["X"]).T),
    ("logdet(X)", "X", False, lambda d: inv(d["X"]).T),
    ("a^T X^{-1} b", "X", False, lambda d: -inv(d["X"]).T @ c(d["a"]) @ c(d["b"]).T @ inv(d["X"]).T),
    ("tr(inv(X))", "X", False, lambda d: -(inv(d["X"]) @ inv(d["X"])).T),
    ("sum(exp(x))", "x", False, lambda d: np.exp(c(d["x"]))),
    ("sum(log(x))", "x", False, lambda d: 1 / c(d["x"])),
    ("1^T tanh(x)", "x", False, lambda d: 1 - np.tanh(c(d["x"])) ** 2),
    ("sum(sigma(x))", "x", False, lambda d: sig(c(d["x"])) * (1 - sig(c(d["x"])))),
    ("sum(softplus(x))", "x", False, lambda d: sig(c(d["x"]))),
    ("sum(sqrt(x))", "x", False, lambda d: 0.5 / np.sqrt(c(d["x"]))),
    ("sum(x^3)", "x", False, lambda d: 3 * c(d["x"]) ** 2),
    ("log(sum(exp(x)))", "x", False, lambda d: softmax(c(d["x"]))),
    ("x^T diag(a) x", "x", False, lambda d: 2 * c(d["a"]) * c(d["x"])),
    ("a^T (x .* b)", "x", False, lambda d: c(d["a"]) * c(d["b"])),
    ("b^T X^T X c", "X", False, lambda d: d["X"] @ (c(d["b"]) @ c(d["c"]).T + c(d["c"]) @ c(d["b"]).T)),
    ("sum_i a_i (yhat_i - y_i)", "yhat", False, lambda d: c(d["a"])),
    ("sum_i (w^T x_i - y_i)^2", "w", False, lambda d: 2 * d["X"].T @ (d["X"] @ c(d["w"]) - c(d["y"]))),
    (r"\frac{1}{2} \|X w - y\|_2^2", "w", False, lambda d: d["X"].T @ (d["X"] @ c(d["w"]) - c(d["y"]))),
    # the lecture's losses
    ("(X w - y)^T (X w - y) / m", "w", False, lambda d: 2 * d["X"].T @ (d["X"] @ c(d["w"]) - c(d["y"])) / d["m"]),
    (
        "-y^T log(sigma(X w)) - (1 - y)^T log(1 - sigma(X w))",
        "w",
        False,
        lambda d: d["X"].T @ (sig(d["X"] @ c(d["w"])) - c(d["y"])),
    ),
    ("-y^T (W x) + log(sum(exp(W x)))", "W", False, lambda d: (softmax(d["W"] @ c(d["x"])) - c(d["y"])) @ c(d["x"]).T),
    # Jacobians (rows = outputs)
    ("A x", "x", False, lambda d: d["A"]),
    ("sigma(X w)", "w", False, lambda d: np.diagflat(sig(d["X"] @ c(d["w"])) * (1 - sig(d["X"] @ c(d["w"])))) @ d["X"]),
    ("x .* y", "x", False, lambda d: np.diagflat(c(d["y"]))),
    ("exp(x)", "x", False, lambda d: np.diagflat(np.exp(c(d["x"])))),
    # Hessians
    ("x^T A x", "x", True, lambda d: d["A"] + d["A"].T),
    (
        "(X w - y)^T (X w - y) + lambda w^T w",
        "w",
        True,
        lambda d: 2 * d["X"].T @ d["X"] + 2 * d["lambda_"] * np.eye(d["X"].shape[1]),
    ),
    (
        "-y^T log(sigma(X w)) - (1 - y)^T log(1 - sigma(X w))",
        "w",
        True,
        lambda d: d["X"].T @ np.diagflat(sig(d["X"] @ c(d["w"])) * (1 - sig(d["X"] @ c(d["w"])))) @ d["X"],
    ),
]


@pytest.mark.parametrize(
    "expr,wrt,hessian,ref", IDENTITIES, ids=[f"{e} by {w}{' (H)' if h else ''}" for e, w, h, _ in IDENTITIES]
)
def test_identity_proved_printed_and_run(expr, wrt, hessian, ref):
    r = differentiate(read(expr), wrt, hessian=hessian)
    assert r.proofs and r.proved, r.failed()[:2]
    shown = text(r.result)
    assert shown and latex(r.result)
    # the printed matrix form reads back into the language with the same shape
    if len(shown) <= DEFAULT.max_length:  # longer forms (the logistic Hessian) exceed the input limit
        back = read(shown, {k: v for k, v in r.shapes.items() if v == (1, 1)}).shape
        assert [d == 1 for d in back] == [d == 1 for d in r.result.shape]
    ns: dict = {}
    exec(compile(numpy_module(r), "<generated>", "exec"), ns)
    err, got, _ = central_differences(r, ns)
    assert err < 1e-5
    want = ref(sample(r))
    np.testing.assert_allclose(np.asarray(got, dtype=float).reshape(want.shape), want, rtol=1e-8, atol=1e-10)


def test_gradient_forms_read_off_as_the_cookbook_writes_them():
    assert (
        text(differentiate(read("(X w - y)^T (X w - y) + lambda w^T w"), "w").result) == "2 X^T (X w - y) + 2 lambda w"
    )
    assert text(differentiate(read("tr(A X B)"), "X").result) == "A^T B^T"
    assert text(differentiate(read("log(det(X))"), "X").result) == "X^{-T}"
    assert (
        text(differentiate(read("-y^T log(sigma(X w)) - (1 - y)^T log(1 - sigma(X w))"), "w").result)
        == "X^T (sigma(X w) - y)"
    )
    assert (
        text(differentiate(read("-y^T (W x) + log(sum(exp(W x)))"), "W").result) == "(exp(W x) / sum(exp(W x)) - y) x^T"
    )
    assert text(differentiate(read("a^T X^T b"), "X").result) == "b a^T"
    assert text(differentiate(read("sum_i (x_i - y_i)^2 / n"), "x").result) == "(2 x - 2 y) / n"
    assert text(differentiate(read("(X w - y)^T (X w - y) / m"), "w").result) == "2 X^T (X w - y) / m"
    assert text(differentiate(read("a^T X^{-1} b"), "X").result) == "-X^{-T} a b^T X^{-T}"


def test_a_wrong_derivative_fails_its_proof():
    """The proof can fail: a deliberately wrong result (a missing transpose) is caught."""
    import dataclasses

    from gradproof.derive.proof.matcalc import prove

    r = differentiate(read("tr(A X B)"), "X")
    wrong = read("A B", {})  # shapes differ from A^T B^T at non-square sizes
    bad = dataclasses.replace(r, result=differentiate(read("tr(X^T A)"), "X").result)
    assert not all(p.passed for p in prove(bad))
    assert wrong.shape == (wrong.shape[0], wrong.shape[1])


def test_central_differences_catch_wrong_code():
    r = differentiate(read("x^T x"), "x")
    ns: dict = {}
    exec(compile(numpy_module(r).replace("(2.0 * x)", "(3.0 * x)"), "<generated>", "exec"), ns)
    err, _, _ = central_differences(r, ns)
    assert err > 1e-3
