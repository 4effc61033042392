"""Reading answers: grammar, typed tree, conversion, readings shown to students."""

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import gradproof.derive.reading.tree as t
from gradproof.derive.engine import mexpr as mx
from gradproof.derive.reading.limits import Limits
from gradproof.derive.seminar.answers import AnswerError, SymbolDecl, Vocabulary, parse_answer, read_answer

VOCAB = Vocabulary(
    dims={"m": 5, "n": 3, "K": 4},
    symbols=(
        SymbolDecl("X", ("m", "n")),
        SymbolDecl("y", ("m", 1)),
        SymbolDecl("yhat", ("m", 1), aliases=("y_hat",)),
        SymbolDecl("w", ("n", 1)),
        SymbolDecl("I", ("n", "n"), "identity"),
        SymbolDecl("lambda", (), "positive", aliases=("lam",)),
        SymbolDecl("s", ()),
        SymbolDecl("sigma", ("K",), call_args=("s",)),
        SymbolDecl("j", domain="index", index_range="K"),
        SymbolDecl("k", domain="index", index_range="K"),
        SymbolDecl("n_in", (), "count"),
        SymbolDecl("A", ("n", "n")),
    ),
)


@pytest.mark.parametrize(
    "text, reading",
    [
        ("X^T (yhat - y)", "X^T @ (yhat - y)"),
        ("X.T @ (yhat - y)", "X^T @ (yhat - y)"),
        (r"X^\top(\hat{y}-y)", "X^T @ (yhat - y)"),
        (r"X^{\top}(\hat y - y)", "X^T @ (yhat - y)"),
        ("X'(y_hat - y)", "X^T @ (yhat - y)"),
        ("Xᵀ(ŷ − y)", "X^T @ (yhat - y)"),
        ("inv(X^T X) X^T y", "inv(X^T @ X) @ X^T @ y"),
        ("(X'X)^-1 X'y", "inv(X^T @ X) @ X^T @ y"),
        ("(X^T X)^{-1} X^T y", "inv(X^T @ X) @ X^T @ y"),
        (r"\left(X^T X + \lambda I\right)^{-1} X^T y", "inv(X^T @ X + lambda * I) @ X^T @ y"),
        ("sigma(s)*(1-sigma(s))", "sigma(s) * (1 - sigma(s))"),
        (r"\sigma(s)(1-\sigma(s))", "sigma(s) * (1 - sigma(s))"),
        ("σ(s)(1 − σ(s))", "sigma(s) * (1 - sigma(s))"),
        ("sigma_k([[j = k]] - sigma_j)", "sigma_k * ([[j = k]] - sigma_j)"),
        (r"\sigma_k(s)(\delta_{jk} - \sigma_j(s))", "sigma_k * ([[j = k]] - sigma_j)"),
        (r"\frac{1}{n_{in}}", "1 / n_in"),
        (r"\frac{1}{n_{\text{in}}}", "1 / n_in"),
        ("yhat (1 - yhat)", "yhat ⊙ (1 - yhat)"),
        ("Xw", "X @ w"),
        ("(1/2) lambda", "(1 / 2) * lambda"),
        ("2*lam", "2 * lambda"),
        (r"2 \cdot \lambda", "2 * lambda"),
        (r"\sqrt{\lambda} + sqrt(lambda)", "sqrt(lambda) + sqrt(lambda)"),
        (r"\mathbf{X}^T \mathbf{y}", "X^T @ y"),
        ("norm(y)^2", "norm(y)^2"),
    ],
)
def test_readings(text, reading):
    assert read_answer(text, VOCAB).text == reading


def test_products_resolve_by_shape():
    r = read_answer("X^T (yhat - y)", VOCAB)
    assert isinstance(r.expr, mx.MatMul) and tuple(r.shape) == (sp.Symbol("n", positive=True, integer=True), 1)
    r = read_answer("yhat * (1 - yhat)", VOCAB)  # m x 1 times m x 1: only entrywise fits
    assert isinstance(r.expr, mx.Map)
    r = read_answer("2 lambda X", VOCAB)
    assert isinstance(r.expr, mx.Scale)


def test_reading_has_latex():
    r = read_answer("(X^T X)^{-1} X^T y", VOCAB)
    assert r"^{-1}" in r.latex and r"\mathbf{I}" not in r.latex


@pytest.mark.parametrize(
    "text, code",
    [
        ("X (yhat - y)", "shape"),
        ("(yhat - y) X^T", "shape"),
        ("X + w", "shape"),
        ("inv(X)", "shape"),
        ("1/m X", "ambiguous"),
        ("A * A", "ambiguous"),
        ("(X^T X + lambda)^-1 X^T y", "ambiguous"),
        ("2 3", "ambiguous"),
        ("Q + 1", "unknown-name"),
        ("log x", "unknown-name"),
        ("sigma'(s)", "unsupported"),
        ("y = X w", "syntax"),
        ("X^T (yhat - y", "syntax"),
    ],
)
def test_errors_have_codes(text, code):
    with pytest.raises(AnswerError) as err:
        read_answer(text, VOCAB)
    assert err.value.code == code
    assert str(err.value)


def test_shape_errors_carry_hints():
    with pytest.raises(AnswerError) as err:
        read_answer("(yhat - y) X^T", VOCAB)
    assert err.value.hint == "order"
    with pytest.raises(AnswerError) as err:
        read_answer("X (yhat - y)", VOCAB)
    assert err.value.hint == "transpose"


def test_tree_is_typed():
    node = parse_answer("2*(z - y)^T")
    assert isinstance(node, t.Mul) and node.op == "*"
    assert isinstance(node.right, t.Transpose) and isinstance(node.right.arg, t.Group)


def test_limits_are_configurable():
    with pytest.raises(AnswerError) as err:
        parse_answer("x + y + z", Limits(max_length=5))
    assert err.value.code == "too-long"
    with pytest.raises(AnswerError) as err:
        parse_answer("x^5", Limits(max_exponent=4))
    assert err.value.code == "too-large"
    assert parse_answer("x^4", Limits(max_exponent=4))


def test_depth_is_counted_before_parsing():
    with pytest.raises(AnswerError) as err:
        parse_answer("(" * 30 + "x" + ")" * 30)
    assert err.value.code == "too-deep"
    assert parse_answer("(" * 10 + "x" + ")" * 10)


names = st.sampled_from(["X^T y", "X w", "yhat", "y", "X^T yhat", "inv(X^T X) X^T y"])


@settings(max_examples=60, deadline=None)
@given(st.lists(names, min_size=1, max_size=4), st.lists(st.sampled_from(["+", "-"]), min_size=3, max_size=3))
def test_sums_of_readable_terms_read_back_the_same(terms, ops):
    """Reading the explicit reading again gives the same reading (a fixed point)."""
    shape_ok = {"X^T y": "n", "X w": "m", "yhat": "m", "y": "m", "X^T yhat": "n", "inv(X^T X) X^T y": "n"}
    terms = [x for x in terms if shape_ok[x] == shape_ok[terms[0]]]
    text = terms[0] + "".join(f" {op} {x}" for op, x in zip(ops, terms[1:]))
    first = read_answer(text, VOCAB).text
    assert read_answer(first, VOCAB).text == first


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60))
def test_arbitrary_text_is_read_or_refused_with_a_code(text):
    try:
        r = read_answer(text, VOCAB)
    except AnswerError as err:
        assert err.code in {
            "empty",
            "too-long",
            "too-deep",
            "too-big",
            "too-large",
            "syntax",
            "unknown-name",
            "shape",
            "ambiguous",
            "unsupported",
        }
        assert str(err)
    else:
        assert r.text
