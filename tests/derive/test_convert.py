"""One converter: every reader of mathematics converts the typed tree through derive/reading/convert/."""

import ast
from pathlib import Path

import pytest

from gradproof.derive.reading.convert import index, matrix, shaped, to_index, to_shaped, to_values
from gradproof.derive.reading.convert.walk import Walk
from gradproof.derive.reading.parse import parse
from gradproof.derive.seminar.answers import SymbolDecl, Vocabulary, read_answer

ROOT = Path(__file__).resolve().parents[2]
# node handlers a converter defines, one per node type of the typed tree
_HANDLERS = {"_Name", "_Mul", "_Add", "_Pow"}


def _converter_homes():
    homes = set()
    for path in (ROOT / "derive").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for cls in (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)):
            methods = {f.name for f in cls.body if isinstance(f, ast.FunctionDef)}
            if len(methods & _HANDLERS) >= 2:
                homes.add(path.relative_to(ROOT).as_posix())
    return homes


def test_every_tree_converter_lives_in_the_one_converter():
    # the limits' size estimate walks the tree before any conversion and converts nothing
    homes = _converter_homes() - {"derive/reading/limits.py"}
    # Σ over samples of the shaped target keeps its path (reading/samples.py); everything else is in convert/
    assert homes == {
        "derive/reading/convert/matrix.py",
        "derive/reading/convert/index.py",
        "derive/reading/convert/shaped.py",
        "derive/reading/convert/sums.py",
        "derive/reading/samples.py",
    }, homes
    for gone in ("derive/seminar/answers/convert.py", "derive/seminar/answers/sums.py"):
        assert not (ROOT / gone).exists()


@pytest.mark.parametrize("target", [matrix._Converter, index.Converter, index.ClaimIndex, shaped._Builder])
def test_every_target_shares_the_one_walk(target):
    assert issubclass(target, Walk)
    # the walk is inherited, never redefined: one dispatch for every target
    assert "walk" not in vars(target)


def test_the_entry_points_are_what_the_readers_use():
    vocab = Vocabulary(dims={"m": 5, "n": 3}, symbols=(SymbolDecl("X", ("m", "n")), SymbolDecl("y", ("m", 1))))
    text = "X^T y / 2"
    assert read_answer(text, vocab).expr == to_values(parse(text).node, vocab).expr
    import sympy as sp

    s = sp.Symbol("s", real=True)
    assert to_index(parse("s^2 - 1"), {"s": s}) == s**2 - 1
    assert to_shaped(parse("x^T A x")).shape == (1, 1)


@pytest.mark.parametrize(
    "reader, text, words",
    [
        (
            lambda text: read_answer(text, Vocabulary(dims={}, symbols=(SymbolDecl("x"),))),
            "Piecewise((x, x > 0), (0, True))",
            "Piecewise cannot be used in an answer",
        ),
        (lambda text: to_index(parse(text), {"x": 1}), "\\mathbf{1}", "the ones vector is not part of index notation"),
        (lambda text: to_shaped(parse(text)), "Piecewise((x, x > 0), (0, True))", "Piecewise cannot be differentiated"),
    ],
    ids=["answers", "specs", "diff"],
)
def test_each_target_refuses_what_it_does_not_read_in_its_own_words(reader, text, words):
    with pytest.raises(Exception) as err:
        reader(text)
    assert words in str(err.value)
