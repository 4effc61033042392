"""The one reading pipeline: one grammar, one typed tree, one set of limits for every reader."""

from __future__ import annotations

import doctest
import importlib
import pathlib

import pytest

import gradproof.derive.reading.tree as t
from gradproof.derive.reading.limits import DEFAULT, SPECS
from gradproof.derive.reading.parse import ParseFailure, parse

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "name",
    [
        "gradproof.derive.reading",
        "gradproof.derive.reading.grammar",
        "gradproof.derive.reading.tree",
        "gradproof.derive.reading.parse",
        "gradproof.derive.reading.limits",
        "gradproof.derive.reading.read",
        "gradproof.derive.reading.samples",
        "gradproof.derive.specs.expressions",
        "gradproof.derive.engine.matcalc",
        "gradproof.derive.engine.matalgebra",
        "gradproof.derive.engine.matprint",
        "gradproof.derive.engine.matresult",
        "gradproof.derive.specs.toml_text",
        "gradproof.derive.specs.spec",
        "gradproof.derive.seminar.answers",
        "gradproof.derive.seminar.probes",
        "gradproof.derive.seminar.deciding",
        "gradproof.derive.seminar.equivalence",
        "gradproof.derive.reading.convert",
        "gradproof.derive.reading.convert.walk",
        "gradproof.derive.reading.convert.matrix",
        "gradproof.derive.reading.convert.index",
        "gradproof.derive.reading.convert.shaped",
        "gradproof.derive.reading.convert.sums",
        "gradproof.derive.reading.claims",
        "gradproof.derive.seminar.answers.vocabulary",
    ],
)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_exactly_one_grammar_for_mathematics():
    """No module but the reading package builds a parser: answers, specs and diff share it."""
    builders = []
    for path in (ROOT / "derive").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if "Lark(" in text or "GRAMMAR = " in text:
            builders.append(path.relative_to(ROOT).as_posix())
    assert builders == ["derive/reading/grammar.py"]


@pytest.mark.parametrize(
    "text,node_type",
    [
        ("X^T (yhat - y)", t.Mul),  # answers: matrix notation
        (r"\frac{1}{m} X^\top (P - Y)", t.Mul),  # answers: the LaTeX subset
        ("sum(W[i, j] * z[i], i)", t.Call),  # specs: index notation
        ("Piecewise((s, s > 0), (0.01*s, True))", t.Piecewise),  # specs: piecewise maps
        ("sum_i x_i (yhat_i - y_i)", t.IndexSum),  # the lecture's Σ notation
        (r"\sum_{i=1}^{m} x_i", t.IndexSum),
        ("||X w - y||_2^2", t.Pow),  # diff: norms with subscripts
        ("X^{-T}", t.Transpose),
    ],
)
def test_every_notation_reads_into_the_one_tree(text, node_type):
    node = parse(text, SPECS).node
    assert isinstance(node, node_type)
    # and the reading is the same under either reader's limits
    assert parse(text, DEFAULT).node == node


def test_sum_upper_bound_and_index_are_kept():
    node = parse(r"\sum_{i=1}^{m} x_i y_i").node
    assert (node.index, node.upper) == ("i", "m")


@pytest.mark.parametrize(
    "text,code",
    [
        ("", "empty"),
        ("x" * 401, "too-long"),
        ("(" * 30 + "x" + ")" * 30, "too-deep"),
        ("10^10^10", "too-large"),
        ("x +* y", "syntax"),
        ("__import__('os')", "syntax"),
        ("a\x00b", "control"),
    ],
)
def test_refusals_carry_a_code(text, code):
    with pytest.raises(ParseFailure) as err:
        parse(text)
    assert err.value.code == code and "\n" not in str(err.value)


def test_spec_limits_differ_only_in_their_numbers():
    text = "+".join(["s"] * 150)
    with pytest.raises(ParseFailure):
        parse(text, DEFAULT)  # 299 characters, 299 parts: too big for an answer
    with pytest.raises(ParseFailure) as err:
        parse(text, SPECS)  # 150 terms nest deeper than a spec allows
    assert "nests more than" in str(err.value)
    assert parse("0.00000000000000000001 * s", SPECS)
