"""Reading free-form expressions: shapes by convention and unification, limits, refusals."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradproof.derive.reading import ReadError, names, parse_shape, read


@pytest.mark.parametrize(
    "text,shapes",
    [
        ("(X w - y)^T (X w - y) + lambda w^T w", {"X": ("m", "n"), "w": ("n", 1), "y": ("m", 1), "lambda": (1, 1)}),
        ("tr(A X B)", {"A": ("m", "n"), "X": ("n", "p"), "B": ("p", "m")}),
        (r"\log(\det(X))", {"X": ("m", "m")}),
        (r"\frac{1}{m} \|X w - y\|_2^2", {"m": (1, 1), "X": ("n", "p"), "w": ("p", 1), "y": ("n", 1)}),
        (r"\operatorname{tr}\left(A^\top X\right)", {"A": ("m", "n"), "X": ("m", "n")}),
        ("sum_i (yhat_i - y_i)^2", {"yhat": ("m", 1), "y": ("m", 1)}),
        ("sum_i (w^T x_i - y_i)^2", {"X": ("m", "n"), "w": ("n", 1), "y": ("m", 1)}),
        (r"\sum_{i=1}^{K} a_i b_i", {"a": ("K", 1), "b": ("K", 1)}),
        ("σ(X w) ⊙ y", {"X": ("m", "n"), "w": ("n", 1), "y": ("m", 1)}),
    ],
)
def test_shapes_inferred_by_convention_and_unification(text, shapes):
    e = read(text)
    assert e.shape == (1, 1) or text.startswith("σ")
    assert names(e) == shapes


def test_sum_over_samples_reads_x_i_as_a_row_of_X():
    """The lecture's dL/dw = sum_i x_i (yhat_i - y_i): x_i is the i-th sample, a row of X."""
    from gradproof.derive.engine.matcalc import differentiate, text

    e = read("sum_i x_i (yhat_i - y_i)")
    assert e.shape == ("n", 1) and names(e) == {"X": ("m", "n"), "yhat": ("m", 1), "y": ("m", 1)}
    assert text(e) == "X^T (yhat - y)"
    r = differentiate(read(r"\sum_{i=1}^{m} \log(1 + \exp(-y_i x_i^\top w))"), "w")
    assert r.proved and r.shapes["X"] == ("m", "n")
    with pytest.raises(ReadError):
        read("sum_i tr(x_i)")  # neither a row nor an entry has a trace
    assert names(read("sum_i (x_i - y_i)^2"))["x"] == ("m", 1)  # x_i only fits as an entry here
    assert names(read(r"\sum_{i=1}^{K} x_i^T w"))["X"] == ("K", "m")  # the bound names the samples


def test_function_name_followed_by_bracket_is_the_function():
    assert names(read("sigma(X w)")) == {"X": ("m", "n"), "w": ("n", 1)}
    assert names(read("sigma X")) == {"sigma": (1, 1), "X": ("m", "n")}


def test_shape_override():
    e = read("s x^T x", {"s": parse_shape("s=scalar")[1]})
    assert names(e)["s"] == (1, 1)
    e = read("A x", dict([parse_shape("A=4,n")]))
    assert names(e)["A"] == (4, "n") and names(e)["x"] == ("n", 1)
    with pytest.raises(ReadError):
        parse_shape("A=4;n")


@pytest.mark.parametrize(
    "text,needles",
    [
        ("A x + y^T", ["A x is m x 1", "y^T is 1 x n"]),
        ("tr(A x)", ["tr", "A x"]),
        ("X w / (A x)", ["/", "A x"]),
        ("x + A", ["+", "A is"]),
    ],
)
def test_inconsistent_shapes_name_operands(text, needles):
    with pytest.raises(ReadError) as err:
        read(text)
    msg = str(err.value)
    assert "shapes do not match" in msg and "\n" not in msg
    for n in needles:
        assert n in msg


def test_caret_under_the_column():
    with pytest.raises(ReadError) as err:
        read("x^T A +* x")
    assert "column 8" in str(err.value) and "\n" not in str(err.value)
    shown, col = err.value.caret
    assert shown == "x^T A +* x" and col == shown.index("*")


@pytest.mark.parametrize(
    "text",
    [
        "10^10^10",
        "x^100",
        "1234567890123456 x",
        "(" * 40 + "x" + ")" * 40,
        "x" + " + x" * 150,
        "delta_{jk}",
        "[[j = k]]",
        "x_i",
        "foo(x)",
    ],
)
def test_limits_and_outside_the_language(text):
    with pytest.raises(ReadError):
        read(text)


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="xXAyw^T()+-*/.'@ 0123456789_{}[]|\\", max_size=40))
def test_any_text_is_read_or_refused_with_read_error(text):
    try:
        read(text)
    except ReadError as err:
        assert str(err)


@pytest.mark.parametrize(
    "text,first,second",
    [
        ("lambda/2 w^T w", "(lambda/2) w^T w", "lambda/(2 w^T w)"),
        ("1/m sum_i (x_i^T w - y_i)^2", "(1/m) sum_i", "1/(m sum_i"),
        ("(y - mu)^2 / 2 sigma^2", "((y - mu)^2/2) sigma^2", "(y - mu)^2/(2 sigma^2)"),
        ("x^T x / 2 m", "(x^T x/2) m", "x^T x/(2 m)"),
        ("sum_i x_i / 2 y_i", "((sum_i x_i)/2) y_i", "(sum_i x_i)/(2 y_i)"),
    ],
)
def test_a_divisor_followed_by_more_factors_is_refused_naming_both_readings(text, first, second):
    """``a/b c`` is (a/b) c to some readers and a/(b c) to others: neither is guessed."""
    with pytest.raises(ReadError) as err:
        read(text)
    assert "ambiguous" in str(err.value) and first in str(err.value) and second in str(err.value)


@pytest.mark.parametrize(
    "text,same_as",
    [
        ("(lambda/2) w^T w", "lambda w^T w / 2"),
        ("(1/m) sum_i (x_i^T w - y_i)^2", "(1/m) sum_i (x_i^T w - y_i)^2"),
        (r"\frac{1}{2} x^T A x", "x^T A x / 2"),
        ("norm(X w - y)^2", "||X w - y||^2"),
        ("norm(A)", "||A||_F"),
    ],
)
def test_bracketed_and_fraction_forms_read_as_written(text, same_as):
    from gradproof.derive.engine.matcalc import differentiate
    from gradproof.derive.engine.matcalc import text as printed

    wrt = "A" if "A)" in text else ("x" if "x^T A" in text else "w")
    a, b = differentiate(read(text), wrt), differentiate(read(same_as), wrt)
    assert a.proved and b.proved and printed(a.result) == printed(b.result)


def test_a_function_diff_does_not_know_is_refused_not_read_as_a_product():
    with pytest.raises(ReadError, match=r"softmax\(\.\.\.\) is not a function diff differentiates"):
        read("softmax(x)")


def test_names_in_a_bracketed_divisor_product_are_scalars():
    """``x^T A x / (2 m)``: m divides, so it is a scalar, as in ``/ m``."""
    e = read("x^T A x / (2 m)")
    assert names(e)["m"] == (1, 1) and e.shape == (1, 1)
    assert names(read("x^T x / (a b)"))["b"] == (1, 1)
