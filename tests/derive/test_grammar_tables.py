"""The grammar's stored parser tables: fresh, used, and the same parser as one built from the grammar."""

from __future__ import annotations

import importlib.util

import pytest
from lark import Lark
from lark.exceptions import UnexpectedInput

from gradproof.derive.lecture.registry import topics
from gradproof.derive.reading import grammar as g
from gradproof.derive.reading import grammar_tables
from gradproof.derive.reading.claims import formula

TEXTS = [
    "X^T (yhat - y)",
    r"\frac{1}{m} X^\top (P - Y)",
    "sum(W[i, j] * z[i], i)",
    "Piecewise((s, s > 0), (0.01*s, True))",
    "sum_i x_i (yhat_i - y_i)",
    r"\sum_{i=1}^{m} x_i",
    "||X w - y||_2^2",
    "X^{-T}",
    "[[j = k]] z_i",
    r"\operatorname{tr}(A X B) + \lVert w \rVert_2",
    "2 sigma(2s) - 1 .* Z ./ W'",
    "\u27e6 x\u27e7 _2",
]
BAD = ["X^T (", "a + * b", "sum(", "]]", "x $ y", "\\frac{1}", "Piecewise((s, ))", "3 ^ ^ 4"]


def _claims() -> list:
    out = []
    for t in topics():
        for c in t.claims:
            try:
                out.append(formula(c.statement)[1])
            except ValueError:
                pass
    return out


def test_stored_tables_are_this_grammars():
    """Run `python -m gradproof.derive.reading.tables` when this fails."""
    assert g.signature(g.grammar_text()) == grammar_tables.SIGNATURE


def test_the_stored_tables_are_used():
    g.parser.cache_clear()
    try:
        assert g.parser().source_path == "<deserialized>"
    finally:
        g.parser.cache_clear()


def test_a_stale_table_is_never_used(monkeypatch):
    monkeypatch.setattr(grammar_tables, "SIGNATURE", "0" * 64)
    g.parser.cache_clear()
    try:
        built = g.parser()
        assert built.source_path != "<deserialized>"
        assert built.parse("X^T (yhat - y)").data == "juxt"
    finally:
        g.parser.cache_clear()


def test_a_changed_grammar_changes_the_signature():
    text = g.grammar_text()
    assert g.signature(text) != g.signature(text.replace('"@"', '"@@"'))


def _outcome(p: Lark, text: str):
    try:
        return ("tree", p.parse(text))
    except UnexpectedInput as err:
        # the expected terminals are a set (their order in str(err) follows string hashing)
        expected = frozenset(getattr(err, "expected", None) or getattr(err, "allowed", None) or ())
        return (type(err).__name__, err.line, err.column, repr(getattr(err, "token", None)), expected)


@pytest.mark.parametrize("source", ["examples", "claims", "refusals"])
def test_loaded_parser_reads_as_the_built_one(source):
    texts = {"examples": TEXTS, "claims": _claims(), "refusals": BAD}[source]
    assert texts
    loaded = Lark.load(grammar_tables.TABLES)
    built = Lark(g.grammar_text(), **g.OPTIONS)
    for text in texts:
        a, b = _outcome(loaded, g.normalise(text)), _outcome(built, g.normalise(text))
        assert a == b, text
        if a[0] == "tree":
            assert (a[1].meta.column, a[1].meta.end_column) == (b[1].meta.column, b[1].meta.end_column), text
    if source == "refusals":
        assert all(_outcome(loaded, t)[0] != "tree" for t in texts)


def test_write_tables_writes_only_when_stale(tmp_path):
    path = tmp_path / "grammar_tables.py"
    assert g.write_tables(path) is True
    assert g.write_tables(path) is False
    spec = importlib.util.spec_from_file_location("written_tables", path)
    written = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(written)
    assert g.signature(g.grammar_text()) == written.SIGNATURE
    assert Lark.load(written.TABLES).parse("x + y").data == "add"
    path.write_text(path.read_text(encoding="utf-8").replace(written.SIGNATURE, "0" * 64), encoding="utf-8")
    assert g.write_tables(path) is True
