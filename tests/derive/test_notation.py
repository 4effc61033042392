"""The lecture's notation in every topic's output: text, LaTeX, JSON and HTML.

Each test reads the printed derivation of *every* topic (not only the
examples of the lecture): n features plus the bias input x0 = 1, the batch
messages Delta^l / Delta^{l+1}, 1-based index descriptions, real shapes,
lower-case matrix entries (w_ij of W), the optimum w* in prose.
"""

from __future__ import annotations

import json
import re

import pytest
import sympy as sp

from gradproof.derive.engine import mexpr as mx
from gradproof.derive.lecture.errata import with_errata
from gradproof.derive.lecture.registry import derive, topics
from gradproof.derive.output.printing import to_latex, to_text
from gradproof.derive.output.prose import prose_html, prose_latex, prose_tex
from gradproof.derive.output.render import derivation_html, derivation_json, derivation_latex, derivation_text
from gradproof.derive.seminar.exercises import exercises

ALL = [t.name for t in topics()]
m, n, K = sp.symbols("m n K", positive=True, integer=True)

# the topics whose X (or Z) holds the column of ones x0 = 1 and n features, and the result with it
BIAS_COLUMN = {
    "linear_neuron": "grad:w",
    "linear": "grad:W",
    "linear_regression": "grad:w",
    "logistic_regression": "grad:w",
    "multinomial_logistic_regression": "grad:W",
    "least_squares": "solution",
    "ridge": "solution",
    "logistic_no_closed_form": "gradient",
}


@pytest.fixture(scope="module")
def derivations():
    return {name: derive(name) for name in ALL}


def _printed_forms(d):
    """Every formula the derivation prints (definition, steps, results) as ``(where, text, latex)``;
    the claims' own statements are quoted as written and left out."""
    doc = derivation_json(d)
    out = []
    for where in ("definition", "steps"):
        for k, s in enumerate(doc[where]):
            for side in ("lhs", "rhs"):
                if s[side]:
                    out.append((f"{where}[{k}].{side}", s[side]["text"], s[side]["latex"]))
    for r in doc["results"]:
        for key, v in r.items():
            if isinstance(v, dict) and "text" in v and "latex" in v:
                out.append((f"result {r['key']}.{key}", v["text"], v["latex"]))
    return out


def test_the_incoming_batch_message_carries_its_layer(derivations):
    """No bare Delta in any printed form: the message from above is Delta^{l+1}, a layer's own Delta^l."""
    for name, d in derivations.items():
        for where, text, tex in _printed_forms(d):
            assert not re.search(r"\bDelta\b(?!\^)", text), (name, where, text)
            assert not re.search(r"\\Delta(?!\}?\^)", tex), (name, where, tex)
    text = derivation_text(derivations["linear"])
    assert "Delta^l = Delta^{l+1} W^T" in text and "dL/dW = Z^T Delta^{l+1}" in text
    assert "Delta^l[r, i] = sum_{j=1..K} (Delta^{l+1}[r, j]*W[i, j])" in text
    assert r"{\boldsymbol{\Delta}^{l+1}} \mathbf{W}^{\top}" in derivation_latex(derivations["linear"])


def test_an_exercise_keeps_its_letter_delta():
    d = derive("linear")
    assert to_text(d.result("backward").matrix, lecture=False) == "Delta W^T"
    assert to_latex(d.result("backward").matrix, lecture=False).startswith(r"\boldsymbol{\Delta} ")


def test_no_proof_description_counts_from_zero(derivations):
    for name, d in derivations.items():
        for p in d.proofs:
            assert not re.search(r"\b0\.\.", f"{p.check} {p.sizes}"), (name, p.key, p.check, p.sizes)
    checks = [p.check + " " + p.sizes for p in derivations["linear"].proofs if p.key == "claim:jacobian:W"]
    assert checks == ["claim (index form) every assignment of i, j, k (3 values each)"]


def test_every_matrix_result_has_its_shape(derivations):
    for name, d in derivations.items():
        for r in d.results:
            if r.matrix is not None:
                assert r.shape and len(r.shape) == 2, (name, r.key)
        assert "(, " not in derivation_text(d), name


def test_the_mlp_writes_the_lectures_layer_names(derivations):
    d = derivations["mlp_backprop"]
    text = derivation_text(d)
    assert not re.search(r"\b(?:Delta|Z|W|b)\d", text), re.search(r".*\b(?:Delta|Z|W|b)\d.*", text)
    assert "Delta^1 = Delta^2 (W^1)^T" in text and "Delta^2 = Delta^3 o (1 - (Z^3)^2)" in text
    assert "dL/dW^1 = (Z^1)^T Delta^2    (n x h_1, derived)" in text
    h1, h2 = sp.symbols("h_1 h_2", positive=True, integer=True)
    assert d.result("grad:b^3").shape == (1, K) and d.result("grad:W^2").shape == (h1, h2)


def test_matrix_entries_are_lower_case_in_latex_and_mathml(derivations):
    upper_entry = re.compile(r"(?<![\\A-Za-z])(?:[A-Z]|\\hat\{\\mathbf\{Y\}\})_\{[a-z]'?,[a-z]'?\}")
    for name, d in derivations.items():
        tex = derivation_latex(d)
        assert not upper_entry.search(tex), (name, upper_entry.search(tex).group(0))
    tex = derivation_latex(derivations["linear"])
    assert r"\frac{\partial z^{l+1}_j}{\partial z^{l}_{i}} &= w_{ij}" in tex
    html = derivation_html(derivations["linear"])
    assert "W_{i,j}" not in html and "w_{ij}" in html


@pytest.mark.parametrize("name", sorted(BIAS_COLUMN))
def test_n_features_and_the_bias_input(name, derivations):
    """As on the slides "Linear Neuron" and "Linear Layer": X is m x (n + 1), w = (w_0 .. w_n)."""
    d = derivations[name]
    r = d.result(BIAS_COLUMN[name])
    assert r.shape[0] == n + 1, (name, r.shape)
    xs = [s for s in r.matrix.walk() if isinstance(s, mx.Sym) and s.name in ("X", "Z")]
    assert xs and all(s.shape == (m, n + 1) for s in xs), name
    assert "((n + 1) x " in derivation_text(d)


def test_the_neuron_and_the_likelihood_sum_from_the_bias_input(derivations):
    assert "z^{l+1}[j] = sum_{i=0..n} (w[i]*z[i])" in derivation_text(derivations["linear_neuron"])
    assert r"\sum_{i=0}^{n}" in derivation_latex(derivations["linear_neuron"])
    for name in ("mle_gaussian", "mle_sigma2"):
        assert "sum_{j=0..n} (X[i, j]*w[j])" in derivation_text(derivations[name]), name
    # the MAP slides keep the bias apart: there X holds the n features alone
    assert "b + sum_{j=1..n} (X[i, j]*w[j])" in derivation_text(derivations["map_gaussian"])


def test_json_speaks_the_same_letters(derivations):
    doc = json.dumps(derivation_json(derivations["linear"]))
    assert "Delta^{l+1} W^T" in doc and "w_{ij}" in doc and "W_{i,j}" not in doc


def test_the_optimum_star_is_not_a_product():
    tex = prose_latex("solving dL/dw = 0 gives w* = (X^T X)^-1 X^T y (see seminar)")
    assert r"w^{*} = (X^{T} X)^{-1}" in tex and r"\cdot" not in tex
    assert r"$w^{*} = " in prose_tex("gives w* = (X^T X)^-1 X^T y")
    assert "<msup><mi>w</mi>" in str(prose_html("gives w* = X^T y"))
    assert r"a\cdot b" in prose_latex("the product a*b")  # a product keeps its dot
    for name in ("least_squares", "ridge"):
        for e in with_errata(derive(name)).errata:
            for piece in (e.lecture, e.correction):
                assert r"w\cdot" not in prose_tex(piece), (name, piece)


def test_bias_column_exercises_size_x_as_n_plus_one():
    """An exercise on a topic whose X holds x0 = 1 and n features names that width n1 = n + 1."""
    seen = set()
    for ex in exercises():
        if ex.topic in BIAS_COLUMN and ex.answer_type == "formula":
            shapes = {d for s in ex.symbols for d in getattr(s, "shape", ())}
            assert "n1" in shapes and "n" not in shapes, (ex.id, shapes)
            for dims in (dict(ex.dims), dict(ex.symbolic_dims)):
                assert dims["n1"] == dims["n"] + 1, (ex.id, dims)
            seen.add(ex.topic)
    assert seen == set(BIAS_COLUMN)


def test_messages_of_the_layer_and_from_above_are_told_apart(derivations):
    for name in ("glorot", "vanishing_gradient"):
        text = derivation_text(derivations[name])
        assert "delta^l_i = sum_" in text and "delta^{l+1}_j" in text, name
        assert not re.search(r"(?<![\w^])delta_[ij]\b", text), (name, re.search(r".*delta_[ij]\b.*", text))


def test_the_penalties_write_lambda_as_the_lecture_does(derivations):
    for name in ("l1_penalty", "l2_penalty"):
        text = derivation_text(derivations[name])
        assert "lambda" in text and not re.search(r"\blam\b", text), name


def test_generated_docstrings_speak_the_lectures_letters():
    from gradproof.numeric.generated import affine, linear_neuron

    assert "Delta^l = Delta^{l+1} W^T" in affine.__doc__ and "dL/db = colsum(Delta^{l+1})" in affine.__doc__
    assert "X of m x (n + 1)" in " ".join(linear_neuron.__doc__.split())


def test_a_worked_solution_ends_in_the_exercises_letters():
    from gradproof.derive.seminar.exercises import get
    from gradproof.derive.seminar.hints import worked_solution

    lines = worked_solution(get("linear_backward"))
    assert lines[-1]["text"] == "dL/dZ = Delta W^T"  # what a student types, not the lecture's Delta^{l+1}


def test_claims_name_the_message_from_above_too(derivations):
    """A claim's statement says Delta^{l+1} for the incoming message, as the derivation it is compared with."""
    for name, d in derivations.items():
        for c in d.claims:
            assert not re.search(r"\bDelta\b(?![\^{])", c.statement), (name, c.statement)


def test_no_printed_form_shows_sympys_own_spelling(derivations):
    """Derivatives and absolute values read as the lecture writes them, never as SymPy's ``Derivative(...)``."""
    for name, d in derivations.items():
        for where, text, _ in _printed_forms(d):
            assert "Derivative(" not in text and "Abs(" not in text and "Subs(" not in text, (name, where, text)
    assert "-(dL/dtheta_1)^2 - (dL/dtheta_2)^2" in derivation_text(derivations["gradient_descent"])
    assert "sum(|W|)" in derivation_text(derivations["l1_penalty"])
