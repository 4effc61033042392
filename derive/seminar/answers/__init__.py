"""Reading a student's answer: text -> typed tree -> SymPy / matrix expression.

No student text ever reaches ``eval``, ``exec``, ``sympify`` or
``parse_expr``: the one reading pipeline (:mod:`gradproof.derive.reading`:
grammar, typed tree, limits) yields a typed tree that is converted by
constructors (:func:`gradproof.derive.reading.convert.to_values`, the one
converter's matrix target).

>>> v = Vocabulary(dims={"m": 5, "n": 3}, symbols=(
...     SymbolDecl("X", ("m", "n")), SymbolDecl("y", ("m", 1)), SymbolDecl("yhat", ("m", 1))))
>>> read_answer("(X'X)^-1 X'y", v).text
'inv(X^T @ X) @ X^T @ y'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradproof.derive.reading.tree as tree
from gradproof.derive.reading.convert import to_values
from gradproof.derive.reading.convert.matrix import ConversionError, Value, shape_str
from gradproof.derive.reading.convert.vocabulary import SymbolDecl, Vocabulary
from gradproof.derive.reading.limits import DEFAULT, Limits
from gradproof.derive.reading.parse import ParseFailure, parse

__all__ = [
    "AnswerError",
    "Limits",
    "Reading",
    "SymbolDecl",
    "Vocabulary",
    "parse_answer",
    "read_answer",
    "shape_str",
]


class AnswerError(Exception):
    """The answer could not be read.  ``code`` is machine-readable, the message is for the student.

    Codes: ``empty``, ``too-long``, ``too-deep``, ``too-big``, ``too-large``,
    ``syntax``, ``unknown-name``, ``shape``, ``ambiguous``, ``unsupported``.
    """

    def __init__(self, code: str, message: str, hint: str = ""):
        super().__init__(message)
        self.code = code
        self.hint = hint


@dataclass(frozen=True)
class Reading:
    """How an answer was read: explicit text, LaTeX, the expression and its shape."""

    text: str
    latex: str
    expr: Any
    shape: tuple
    functions: frozenset = frozenset()  # functions the answer calls, by canonical name

    @property
    def is_scalar(self) -> bool:
        from gradproof.derive.engine.mexpr import MExpr

        return not isinstance(self.expr, MExpr)


def parse_answer(text: str, limits: Limits = DEFAULT) -> tree.Node:
    """Parse answer text into the typed tree, enforcing every limit (raises :class:`AnswerError`)."""
    try:
        return parse(text, limits).node
    except ParseFailure as err:
        raise AnswerError(*_answer_error(err)) from None


def _answer_error(err: ParseFailure) -> tuple[str, str]:
    """The code and the student's message for a text the one grammar refused."""
    if err.code == "control":
        return "syntax", "the answer contains control characters"
    if err.code != "syntax":
        return err.code, str(err)
    if err.token_type == "$END" or (err.token == "" and not err.char):
        return "syntax", "the answer ends too early (a bracket or operand is missing)"
    if err.char:
        return "syntax", _unexpected_char(err.char, err.column)
    if err.token_type == "EQ":
        return "syntax", "type only the right-hand side of the formula (no '=')"
    if len(err.token) == 1 and not err.token.isalnum() and err.token not in "()[]{}+-*/^,":
        return "syntax", _unexpected_char(err.token, err.column)
    return "syntax", f"unexpected {err.token[:20]!r} at column {err.column}"


def _unexpected_char(ch: str, column) -> str:
    if ch == "_":
        return f"names start with a letter (the '_' at column {column})"
    if ch == "=":
        return "type only the right-hand side of the formula (no '=')"
    if ch in "\\":
        return f"unknown LaTeX command at column {column}"
    if ch in ';!#$&`"?:~<>':
        return f"the character {ch!r} at column {column} has no meaning in a formula"
    if ord(ch) > 127:
        return f"the character {ch!r} (U+{ord(ch):04X}) at column {column} is not understood; use plain letters"
    return f"unexpected character {ch!r} at column {column}"


def read_answer(text: str, vocab: Vocabulary, limits: Limits = DEFAULT) -> Reading:
    """Parse and convert an answer for one exercise's vocabulary."""
    from gradproof.derive.output.printing import to_latex

    node = parse_answer(text, limits)
    try:
        value: Value = to_values(node, vocab)
    except ConversionError as err:
        raise AnswerError(err.code, str(err), err.hint) from None
    except RecursionError:
        raise AnswerError("too-deep", "the answer nests too deeply") from None
    try:
        latex = to_latex(value.expr)
        # Solve(A, I) prints its identity right-hand side; a reader expects A^{-1}.
        latex = latex.replace(r"\right)^{-1} \mathbf{I}", r"\right)^{-1}")
    except Exception:  # printing is cosmetic: never let it sink a verdict
        latex = ""
    calls = {
        ("sigma" if n.func == "sigmoid" else "log" if n.func == "ln" else n.func)
        for n in tree.walk(node)
        if isinstance(n, tree.Call)
    }
    return Reading(value.text, latex, value.expr, value.shape, frozenset(calls))
