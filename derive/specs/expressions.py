"""Spec expressions: read by the one pipeline, converted by the one converter's index target.

A spec's ``forward`` is parsed by :func:`gradproof.derive.reading.parse.parse`
with the :data:`SPECS` limits (:func:`read_expression`, whose messages speak
of a spec expression) and converted into SymPy in index form by
:class:`gradproof.derive.reading.convert.index.Converter`: names become the
spec's symbols, ``W[i, j]`` entries of its arrays, ``sum(body, i)`` and the
lecture's ``sum_i body`` finite sums, ``Piecewise((value, condition), ...)``
a SymPy ``Piecewise``.

>>> import sympy as sp
>>> s = sp.Symbol("s", real=True)
>>> conv = Converter({"s": s}, {}, ())
>>> conv(read_expression("log(1 + exp(s))"))
softplus(s)
"""

from __future__ import annotations

from gradproof.derive.reading.convert.index import (  # noqa: F401 (the spec reader's names)
    MAX_CONSTANT_LOG10,
    MAX_DEGREE,
    MAX_EXPONENT,
    Array,
    Converter,
    ExprError,
    short,
)
from gradproof.derive.reading.limits import SPECS
from gradproof.derive.reading.parse import Parsed, ParseFailure, parse

_short = short  # the spec reader's messages shorten values the converter's way


def read_expression(text: str) -> Parsed:
    """Parse one spec expression with the spec limits (raises :class:`ExprError`)."""
    try:
        return parse(text, SPECS)
    except ParseFailure as err:
        raise ExprError(_message(err), err.column) from None


def _message(err: ParseFailure) -> str:
    if err.code == "empty":
        return "the expression is empty"
    if err.code == "control":
        return "the expression contains control characters"
    if err.code != "syntax":
        return str(err)
    if err.token_type == "$END":
        return "the expression ends too early (a bracket or operand is missing)"
    ch = err.char or (err.token if len(err.token) == 1 else "")
    if ch:
        hint = " (a spec expression has no '=' except in a layer's 'z_next[j] = ...')" if ch == "=" else ""
        return f"unexpected character {ch!r}{hint}"
    if err.token_type == "EQ":
        return "unexpected '=' (a spec expression has no '=' except in a layer's 'z_next[j] = ...')"
    return f"unexpected {err.token[:20]!r}"
