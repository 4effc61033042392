"""No call in gradproof's own code can turn text into code.

``sympify`` parses a string with ``eval``; with ``strict=True`` it refuses
strings and converts only SymPy objects and numbers.  ``parse_expr``,
``eval`` and ``exec`` are never used.  A new call without ``strict=True``
fails here, whatever it is given today.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import sympy as sp

ROOT = Path(__file__).resolve().parents[2]
# exec of gradproof's own generated source (names validated, user text only in repr'd literals)
OWN_CODE = {"numeric/mutation.py", "numeric/specialise.py", "derive/proof/matcalc.py"}
FILES = sorted(p for d in ("derive", "numeric", "reports") for p in (ROOT / d).rglob("*.py"))


# SymEngine's sympify converts SymPy objects; it is called in one function only,
# which refuses text before converting (tested below).
SYMENGINE_CONVERTER = ("derive/proof/zero.py", "to_symengine")


def _calls(path: Path):
    """Every call in ``path``: its name, node and the innermost function holding it ("" at module level)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    todo = [(tree, "")]
    while todo:
        node, function = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            function = node.name
        if isinstance(node, ast.Call):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
            yield name, node, function
        todo.extend((child, function) for child in ast.iter_child_nodes(node))


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_call_evaluates_text(path):
    for name, node, function in _calls(path):
        where = f"{path.relative_to(ROOT)}:{node.lineno}"
        assert name not in ("parse_expr", "eval"), f"{where}: {name}() can run text"
        if name == "exec":
            assert str(path.relative_to(ROOT)) in OWN_CODE, f"{where}: exec() outside the generated-code loaders"
        if name == "sympify" and (str(path.relative_to(ROOT)), function) == SYMENGINE_CONVERTER:
            continue
        if name == "sympify":
            strict = [k for k in node.keywords if k.arg == "strict"]
            assert strict and isinstance(strict[0].value, ast.Constant) and strict[0].value.value is True, (
                f"{where}: sympify() without strict=True parses strings with eval"
            )


def test_strict_sympify_refuses_text():
    with pytest.raises(sp.SympifyError):
        sp.sympify("__import__('os').getcwd()", strict=True)


def test_the_symengine_converter_refuses_text():
    from gradproof.derive.proof.zero import to_symengine

    for text in ("1 + 1", b"x", "__import__('os')"):
        with pytest.raises(TypeError):
            to_symengine(text)
    assert str(to_symengine(sp.Symbol("x") + 1)) == "1 + x"
