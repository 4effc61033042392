"""Hessians read off in factored matrix form, each proved entry by entry.

The engine merges diagonal matrices side by side (``diag(u) diag(v)`` is
``diag(u .* v)``, ``diag(u) - diag(v)`` is ``diag(u - v)``), takes signs and
scalar divisions out of products and collects each elementwise part, so a
loss of ``X w`` reads ``X^T diag(...) X``.  The expected forms below are the
cookbook's; the second list holds losses the rules were not written for: they
must come out proved, with one diagonal between ``X^T`` and ``X``.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradproof.derive.engine.matcalc import differentiate, text
from gradproof.derive.proof.matcalc import numeric_check, sample
from gradproof.derive.reading import read

COOKBOOK = [
    ("(A x - b)^T (A x - b)", "x", "2 A^T A"),
    ("x^T A x", "x", "A + A^T"),
    ("w^T A^T B A w", "w", "A^T (B + B^T) A"),
    ("(X w - y)^T (X w - y) + lambda w^T w", "w", "2 X^T X + 2 lambda I"),
    ("(X w - y)^T (X w - y) / m + lambda w^T w", "w", "2 X^T X / m + 2 lambda I"),
    ("-y^T log(sigma(X w)) - (1 - y)^T log(1 - sigma(X w))", "w", "X^T diag(sigma(X w) - sigma(X w)^2) X"),
    ("-(y^T log(sigma(X w)) + (1 - y)^T log(1 - sigma(X w))) / m", "w", "X^T diag(sigma(X w) - sigma(X w)^2) X / m"),
    ("sum(exp(X w) - y .* (X w))", "w", "X^T diag(exp(X w)) X"),
    ("sum(log(1 + exp(-y .* (X w))))", "w", "X^T diag((exp(-y .* (X w)) .* y^2) ./ (1 + exp(-y .* (X w)))^2) X"),
    ("lambda norm2(w)^2 / 2", "w", "lambda I"),
    ("norm2(w)", "w", "I / norm2(w) - w w^T / norm2(w)^3"),
    ("(a^T x) (b^T x)", "x", "a b^T + b a^T"),
]


@pytest.mark.parametrize("expr,wrt,form", COOKBOOK, ids=[c[0] for c in COOKBOOK])
def test_hessians_in_the_cookbooks_form(expr, wrt, form):
    r = differentiate(read(expr), wrt, hessian=True)
    assert text(r.result) == form
    assert r.proved and len(r.proofs) == int(np.prod([r.sizes.get(d, d) for d in r.result.shape]))
    _, err = numeric_check(r)
    assert err < 1e-5


# Losses of X w the rules were not written for: the form is X^T diag(...) X (+ a ridge term).
UNTUNED = [
    "sum(tanh(X w))",
    "sum(tanh(X w)^2)",
    "sum(sigma(X w))",
    "sum(sqrt(1 + (X w)^2))",
    "sum(log(1 + (X w - y)^2))",
    "sum(exp(-y .* (X w)))",
    "sum((X w - y)^4) + lambda w^T w",
    "sum(softplus(X w) - y .* (X w)) / m + lambda norm2(w)^2",
    "sum(softplus(-y .* (X w)))",
]
ONE_DIAGONAL = re.compile(r"^X\^T diag\((?!.*diag\().*\) X( / m)?( \+ \d* ?lambda I)?$")


@pytest.mark.parametrize("expr", UNTUNED)
def test_untuned_losses_read_off_with_one_diagonal(expr):
    r = differentiate(read(expr), "w", hessian=True)
    assert r.proved, r.failed()[:1]
    assert ONE_DIAGONAL.match(text(r.result)), text(r.result)
    _, err = numeric_check(r)
    assert err < 1e-5


FUNCS = ["exp", "tanh", "sigma", "softplus", "log(1 + exp", "sqrt(1 + exp"]


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(FUNCS), st.sampled_from(["", "-y .* ", "2 "]), st.sampled_from(["", " / m"]))
def test_any_elementwise_loss_of_x_w_has_one_diagonal(f, inner, scaled):
    """sum(f(c (X w))) for generated f and c: proved, and X^T diag(d) X with one diagonal."""
    close = ")" * (f.count("(") + 1)
    expr = f"sum({f}({inner}(X w){close}){scaled}"
    r = differentiate(read(expr), "w", hessian=True)
    assert r.proved, (expr, r.failed()[:1])
    assert ONE_DIAGONAL.match(text(r.result)), (expr, text(r.result))


def test_a_wrong_factored_hessian_is_caught():
    """The proof is what makes the factored form trustworthy: a dropped B^T fails it."""
    import gradproof.derive.engine.matcalc as mc
    from gradproof.derive.engine.matresult import Result
    from gradproof.derive.proof.matcalc import prove
    from gradproof.derive.reading.shaped import var

    r = differentiate(read("w^T A^T B A w"), "w", hessian=True)
    A, B = var("A", r.shapes["A"]), var("B", r.shapes["B"])
    wrong = Result(r.expr, r.wrt, r.form, mc.mul(mc.mul(mc.T(A), B), A), r.shapes, r.sizes, r.steps)
    assert text(wrong.result) == "A^T B A"
    assert not all(p.passed for p in prove(wrong))


def test_the_numpy_hessian_matches_an_independent_formula():
    r = differentiate(read("-y^T log(sigma(X w)) - (1 - y)^T log(1 - sigma(X w))"), "w", hessian=True)
    src, _ = numeric_check(r)
    ns: dict = {}
    exec(compile(src, "<generated>", "exec"), ns)
    arrays = sample(r, seed=3)
    X, w = arrays["X"], arrays["w"].reshape(-1, 1)
    p = 1 / (1 + np.exp(-X @ w))
    np.testing.assert_allclose(ns["derivative"](**arrays), X.T @ np.diagflat(p * (1 - p)) @ X, rtol=1e-12)


# --- no matrix form: the Hessian column by column -------------------------------------

COLUMNS = ["x^T diag(x) x", "log(det(A + x x^T))", "log(x^T A x)", "norm2(diag(x) A x)^2"]


@pytest.mark.parametrize("expr", COLUMNS)
def test_column_by_column_when_no_matrix_form_is_read_off(expr):
    """H e_k, the gradient's derivative along the k-th unit vector, proved for every entry H[j,k]."""
    r = differentiate(read(expr), "x", hessian=True)
    assert r.direction == "e_k" and "e_k" in text(r.result)
    n = r.sizes[r.shapes["x"][0]]
    assert r.proved and sorted(p.key for p in r.proofs) == sorted(f"H[{i},{k}]" for i in range(n) for k in range(n))
    _, err = numeric_check(r)
    assert err < 1e-5


def test_column_hessian_code_matches_an_independent_formula():
    r = differentiate(read("x^T diag(x) x"), "x", hessian=True)  # sum of x_i^3: H = diag(6 x)
    src, _ = numeric_check(r)
    ns: dict = {}
    exec(compile(src, "<generated>", "exec"), ns)
    x = np.array([0.3, -1.2, 2.0])
    np.testing.assert_allclose(ns["derivative"](x=x), np.diag(6 * x), rtol=1e-12)


def test_a_wrong_column_is_caught():
    import gradproof.derive.engine.matcalc as mc
    from gradproof.derive.engine.matresult import Result
    from gradproof.derive.proof.matcalc import prove

    r = differentiate(read("x^T diag(x) x"), "x", hessian=True)
    dropped = r.result.args[0]  # one term of the column left out
    wrong = Result(r.expr, r.wrt, r.form, dropped, r.shapes, r.sizes, r.steps, (), r.direction)
    assert mc.text(wrong.result) != mc.text(r.result)
    assert not all(p.passed for p in prove(wrong))


def test_the_command_line_names_the_column():
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "gradproof.reports.cli", "diff", "log(det(A + x x^T))", "--wrt", "x", "--hessian"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert "hessian by x: H e_k = " in out.stdout and "proved: 9 entries exact" in out.stdout
