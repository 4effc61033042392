"""Students' ordinary notation: realistic answers, written with and without spaces.

Each exercise has a list of forms a class actually writes, right and wrong;
every form is checked as written, with every space removed, with spaces
around every operator, and with doubled spaces.  ``X^TX`` is ``X^T X`` (as in
LaTeX, a superscript takes one token) and ``DeltaW^T`` is ``Delta W^T``.
"""

import re

import pytest

from gradproof.derive.seminar.equivalence import decide
from gradproof.derive.seminar.exercises import get

C, W = "correct", "incorrect"

# exercise id -> [(answer as a student writes it, expected status, expected mistake or "")]
FORMS = {
    "logreg_grad": [
        ("X^T (yhat - y)", C, ""),
        ("X^T (Yhat - y)", C, ""),
        ("X^T (y_hat - y)", C, ""),
        ("X^T yhat - X^T y", C, ""),
        ("-X^T (y - yhat)", C, ""),
        ("X' (yhat - y)", C, ""),
        (r"X^\top (\hat{y} - y)", C, ""),
        ("X^T (sigma(X w) - y)", C, ""),
        ("X.T @ (yhat - y)", C, ""),
        ("(yhat - y)^T X", W, "transposed"),
        ("X^T (y - yhat)", W, "sign"),
        ("X (yhat - y)", W, "transposed"),
        ("2 X^T (yhat - y)", W, "factor:2"),
        ("X^T (yhat - y) / m", W, "factor:1/m"),
    ],
    "least_squares": [
        ("inv(X^T X) X^T y", C, ""),
        ("(X^T X)^-1 X^T y", C, ""),
        ("(X' X)^-1 X' y", C, ""),
        ("(X^T X)^{-1} X^T y", C, ""),
        ("inv(X.T @ X) @ X.T @ y", C, ""),
        ("inv(X^T X) X y", W, "transposed"),
        ("-inv(X^T X) X^T y", W, "sign"),
        ("inv(X^T X) X^T y / 2", W, "factor:1/2"),
    ],
    "ridge": [
        ("inv(X^T X + lambda I) X^T y", C, ""),
        ("(X^T X + lambda I)^-1 X^T y", C, ""),
        ("inv(lambda I + X^T X) X^T y", C, ""),
        ("(X' X + lam I)^-1 X' y", C, ""),
        ("inv(X^T X) X^T y", W, "tutor:1"),
        ("inv(X^T X - lambda I) X^T y", W, "sign"),
    ],
    "linear_grad_W": [
        ("Z^T Delta", C, ""),
        ("Z^T D", C, ""),
        ("X^T Delta", C, ""),
        ("(Delta^T Z)^T", C, ""),
        ("Z' Delta", C, ""),
        ("Delta^T Z", W, "transposed"),
        ("Z^T Delta / m", W, "factor:1/m"),
        ("-Z^T Delta", W, "sign"),
    ],
    "linear_backward": [
        ("Delta W^T", C, ""),
        ("D W^T", C, ""),
        ("D W'", C, ""),
        ("(W Delta^T)^T", C, ""),
        ("Delta W.T", C, ""),
        ("W Delta^T", W, "transposed"),
        ("-Delta W^T", W, "sign"),
        ("2 Delta W^T", W, "factor:2"),
    ],
    "l2_grad": [
        ("2 lambda W", C, ""),
        ("2 lam W", C, ""),
        ("lambda*W*2", C, ""),
        ("2*lambda*W", C, ""),
        ("lambda W", W, "factor:1/2"),
        ("-2 lambda W", W, "sign"),
        ("2 W", W, "tutor:1"),
    ],
    "sigmoid_bce_grad": [
        ("(yhat - y) / m", C, ""),
        ("(sigma(s) - y) / m", C, ""),
        ("(1/m) (yhat - y)", C, ""),
        ("(Yhat - y) / m", C, ""),
        ("yhat / m - y / m", C, ""),
        ("yhat - y", W, "tutor:1"),
        ("(y - yhat) / m", W, "sign"),
    ],
    "softmax_ce_grad": [
        ("(P - Y) / m", C, ""),
        ("(Yhat - Y) / m", C, ""),
        ("(softmax(S) - Y) / m", C, ""),
        ("(1/m) (P - Y)", C, ""),
        ("P - Y", W, "tutor:1"),
        ("(Y - P) / m", W, "sign"),
    ],
    "multinomial_grad": [
        ("X^T (P - Y) / m", C, ""),
        ("(1/m) X^T (Yhat - Y)", C, ""),
        ("X^T (softmax(X W) - Y) / m", C, ""),
        ("X^T (P - Y)", W, "factor:m"),
        ("X^T (Y - P) / m", W, "sign"),
    ],
    "linreg_grad": [
        ("2 X^T (X w - y)", C, ""),
        ("2 X^T X w - 2 X^T y", C, ""),
        ("2 X^T (yhat - y)", C, ""),
        ("-2 X^T (y - X w)", C, ""),
        ("X^T (X w - y)", W, "factor:1/2"),
        ("2 X^T (y - X w)", W, "sign"),
    ],
    "squared_error_backward": [
        ("2 (z - y)", C, ""),
        ("2 z - 2 y", C, ""),
        ("2 (yhat - y)", C, ""),
        ("2 (y - z)", W, "sign"),
        ("z - y", W, "factor:1/2"),
    ],
    "sigmoid_backward": [
        ("Delta * A * (1 - A)", C, ""),
        ("Delta .* sigma(Z) .* (1 - sigma(Z))", C, ""),
        ("A * (1 - A) * Delta", C, ""),
        ("Delta * A", W, "missing-one-minus"),
        ("-Delta * A * (1 - A)", W, "sign"),
    ],
    "tanh_backward": [
        ("Delta * (1 - A^2)", C, ""),
        ("Delta * (1 - tanh(Z)^2)", C, ""),
        ("Delta - Delta * A * A", C, ""),
        ("Delta .* (1 - A .* A)", C, ""),
        ("Delta * (1 - A)", W, "missing-square"),
        ("Delta * (A^2 - 1)", W, "sign"),
    ],
    "sigmoid_derivative": [
        ("sigma(s) (1 - sigma(s))", C, ""),
        ("sigma(s) - sigma(s)^2", C, ""),
        ("sigma(s) sigma(-s)", C, ""),
        ("exp(-s) / (1 + exp(-s))^2", C, ""),
        ("1 / (2 + 2 cosh(s))", C, ""),
        ("1 / (4 cosh(s/2)^2)", C, ""),
        ("sigma(s)", W, "missing-one-minus"),
        ("2 sigma(s) (1 - sigma(s))", W, "factor:2"),
    ],
    "tanh_via_sigma": [
        ("2 sigma(2 s) - 1", C, ""),
        ("1 - 2 sigma(-2 s)", C, ""),
        ("sigma(2 s) - sigma(-2 s)", C, ""),
        ("2 sigma(s) - 1", W, "tutor:1"),
        ("1 - 2 sigma(2 s)", W, "sign"),
    ],
    "softmax_jacobian": [
        ("sigma_k ([[j = k]] - sigma_j)", C, ""),
        ("sigma_k * delta(j, k) - sigma_k * sigma_j", C, ""),
        ("sigma_k ([[j = k]] + sigma_j)", W, "sign"),
    ],
    "mle_sigma2": [
        ("RSS / m", C, ""),
        ("(y - X w)^T (y - X w) / m", C, ""),
        ("norm(y - X w)^2 / m", C, ""),
        ("RSS / (m - 1)", W, "tutor:1"),
        ("RSS", W, "factor:m"),
    ],
    "map_lambda": [
        ("sigma^2 / sigma_0^2", C, ""),
        ("(sigma / sigma_0)^2", C, ""),
        ("sigma^2 / sigma0^2", C, ""),
        ("sigma_0^2 / sigma^2", W, "tutor:1"),
        ("sigma / sigma_0", W, "missing-square"),
    ],
    "xavier_var": [
        ("1 / n_in", C, ""),
        ("n_in^-1", C, ""),
        ("1 / nin", C, ""),
        ("2 / n_in", W, "tutor:1"),
        ("1 / (2 n_in)", W, "factor:1/2"),
    ],
    "glorot_var": [
        ("2 / (n_in + n_out)", C, ""),
        ("1 / ((n_in + n_out) / 2)", C, ""),
        ("2 / (nin + nout)", C, ""),
        ("2 / (n_in - n_out)", W, "sign"),
        ("1 / (n_in + n_out)", W, "factor:1/2"),
    ],
}


def spacing_variants(text: str) -> list[str]:
    """As written; no spaces at all; spaces around every operator and bracket; doubled spaces."""
    nospace = text.replace(" ", "")
    spaced = re.sub(r"\s*([-+*/(),@]|\.\*)\s*", r" \1 ", text).strip()
    spaced = re.sub(r" +", " ", spaced)
    doubled = text.replace(" ", "  ")
    out = []
    for v in (text, nospace, spaced, doubled):
        if v not in out:
            out.append(v)
    return out


CASES = [
    (ex_id, variant, status, mistake)
    for ex_id, forms in FORMS.items()
    for text, status, mistake in forms
    for variant in spacing_variants(text)
]


def test_the_corpus_is_realistic_and_large():
    assert len(CASES) >= 300
    nospace = [c for c in CASES if " " not in c[1]]
    assert len(nospace) >= 100
    assert sum(c[2] == C for c in CASES) >= 150 and sum(c[2] == W for c in CASES) >= 100


@pytest.mark.parametrize("ex_id", sorted(FORMS))
def test_every_spacing_gets_the_same_verdict(ex_id):
    ex = get(ex_id)
    for text, status, mistake in FORMS[ex_id]:
        for variant in spacing_variants(text):
            v = decide(ex, variant, symbolic_seconds=1.0)
            assert v.status == status, (variant, v.status, v.feedback)
            if status == C:
                assert v.credit == 1.0 and v.decided_by in ("symbolic", "exact"), (variant, v)
            else:
                assert v.mistake == mistake, (variant, v.mistake, v.feedback)


@pytest.mark.parametrize(
    "ex_id, text, reading",
    [
        ("least_squares", "inv(X^TX)X^Ty", "inv(X^T @ X) @ X^T @ y"),
        ("logreg_grad", "X^Ty", "X^T @ y"),
        ("linear_grad_W", "Z^TDelta", "Z^T @ Delta"),
        ("linear_backward", "DeltaW^T", "Delta @ W^T"),
        ("linear_backward", "DW'", "Delta @ W^T"),
        ("linear_backward", "(WDelta^T)^T", "(W @ Delta^T)^T"),
        ("logreg_grad", "X^T(Yhat-y)", "X^T @ (yhat - y)"),
    ],
)
def test_glued_superscripts_read_as_latex_reads_them(ex_id, text, reading):
    from gradproof.derive.seminar.answers import read_answer

    assert read_answer(text, get(ex_id).vocabulary()).text == reading


def test_glued_transpose_gives_no_false_transpose_hint():
    for text in ("DeltaW^T", "DW'", "(WDelta^T)^T", "DeltaW.T"):
        v = decide(get("linear_backward"), text)
        assert v.status == "correct" and "transpose" not in " ".join(v.feedback), (text, v)
    # a real missing transpose, glued or not, is still named
    for text in ("DeltaW", "Delta W"):
        v = decide(get("linear_backward"), text)
        assert (v.status, v.mistake) == ("incorrect", "transposed"), (text, v)


def test_hyperbolic_functions_are_known():
    v = decide(get("tanh_backward"), "Delta .* (1 - tanh(Z) .* tanh(Z))")
    assert v.status == "correct"
    v = decide(get("sigmoid_derivative"), "1/(2 + 2 cosh(s))")
    assert v.status == "correct"
    v = decide(get("sigmoid_derivative"), "1/(2 + 2 sinh(s))")
    assert v.status == "incorrect"
    # where tanh itself must be rewritten, sinh/cosh are as forbidden as tanh and exp
    v = decide(get("tanh_via_sigma"), "sinh(s)/(cosh(s))")
    assert (v.status, v.mistake) == ("invalid", "forbidden")


def test_sign_slip_in_a_denominator_is_named_not_undefined():
    v = decide(get("glorot_var"), "2/(n_in - n_out)")
    assert (v.status, v.mistake) == ("incorrect", "sign")
    assert "sign" in v.feedback[0]
    # the points where it divides by zero are still mentioned
    assert any("undefined at n_in = " in f for f in v.feedback), v.feedback


# ---------------------------------------------------------------------------
# The lecture's Σ-index notation, through the one reading pipeline
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        "sum_i x_i (sigma(x_i^T w) - y_i)",
        "sum_i (sigma(w^T x_i) - y_i) x_i",
        r"\sum_{i=1}^{m} x_i (\sigma(x_i^\top w) - y_i)",
        "-sum_i x_i (y_i - sigma(x_i^T w))",
    ],
)
def test_sigma_index_answers_are_accepted(answer):
    from gradproof.derive.seminar.equivalence import decide
    from gradproof.derive.seminar.exercises import get

    assert decide(get("logistic_gradient_closed"), answer).status == "correct"


@pytest.mark.parametrize(
    "answer,code",
    [
        ("sum_i x_i (y_i - sigma(x_i^T w))", "sign"),
        (r"\frac{1}{m} \sum_{i=1}^{m} x_i (\sigma(x_i^\top w) - y_i)", "factor:1/m"),
    ],
)
def test_sigma_index_mistakes_are_named(answer, code):
    from gradproof.derive.seminar.equivalence import decide
    from gradproof.derive.seminar.exercises import get

    v = decide(get("logistic_gradient_closed"), answer)
    assert v.status == "incorrect" and v.mistake == code, (v.status, v.mistake, v.feedback)


def test_sigma_index_reads_yhat_i_in_the_steps_exercise():
    from gradproof.derive.seminar.answers import SymbolDecl, Vocabulary, read_answer

    v = Vocabulary(
        dims={"m": 5, "n": 3},
        symbols=(SymbolDecl("X", ("m", "n")), SymbolDecl("y", ("m", 1)), SymbolDecl("yhat", ("m", 1))),
    )
    r = read_answer("sum_i x_i (yhat_i - y_i)", v)
    assert r.shape == (v.dim("n"), 1)
    with pytest.raises(Exception) as err:
        read_answer("sum_i x_i x_i^T", v)  # an outer product per sample is not a vector
    assert "outer product" in str(err.value)
    with pytest.raises(Exception) as err:
        read_answer(r"\sum_{i=1}^{n} y_i", v)  # y has m entries, not n
    assert "runs over" in str(err.value)
