"""``diff``'s reader: parse with the limits, then the one converter's shaped target.

Shapes by convention: an upper-case Latin name is a matrix, a lower-case
Latin name a column vector, a Greek name a scalar; a lower-case name used
only as a divisor is a scalar (``/m``).  Dimensions are unified across the
whole expression; ``shapes`` overrides the convention per name.

>>> e = read("(X w - y)^T (X w - y)")
>>> e.shape, sorted(names(e).items())
((1, 1), [('X', ('m', 'n')), ('w', ('n', 1)), ('y', ('m', 1))])
"""

from __future__ import annotations

import re

import gradproof.derive.reading.shaped as t
from gradproof.derive.reading.convert import to_shaped
from gradproof.derive.reading.convert.shaped import GREEK, NAME_RE, kind_of  # noqa: F401 (diff's conventions)
from gradproof.derive.reading.errors import ReadError
from gradproof.derive.reading.grammar import normalise, pair_norm_bars
from gradproof.derive.reading.limits import Limits
from gradproof.derive.reading.parse import Parsed, ParseFailure, parse

LIMITS = Limits(noun="expression")


def parse_shape(text: str):
    """``NAME=r,c`` or ``NAME=scalar`` (r, c: a positive integer or a dimension name)."""
    name, eq, rhs = text.partition("=")
    name = name.strip()
    if not eq or not NAME_RE.match(name):
        raise ReadError(f"--shape {text!r}: expected NAME=rows,cols or NAME=scalar")
    rhs = rhs.strip()
    if rhs == "scalar":
        return name, (1, 1)
    parts = [p.strip() for p in rhs.split(",")]
    if len(parts) != 2 or not all(re.fullmatch(r"[1-9][0-9]{0,2}|[A-Za-z]", p) for p in parts):
        raise ReadError(f"--shape {text!r}: expected NAME=rows,cols (numbers up to 999 or one-letter names)")
    return name, tuple(int(p) if p.isdigit() else p for p in parts)


_ALLOWED = "\t\n\u27e6\u27e7\u2299\U0001d7d9"


def _parsed(text: str) -> Parsed:
    if not isinstance(text, str):
        raise ReadError("the expression must be text")
    norm = pair_norm_bars(normalise(text))
    if len(text) <= LIMITS.max_length:
        bad = next((i for i, ch in enumerate(norm) if (ord(ch) > 0x7E or ord(ch) < 0x20) and ch not in _ALLOWED), None)
        if bad is not None:
            raise _caret(norm, bad, f"character {norm[bad]!r} is not part of the language")
    try:
        return parse(text, LIMITS)
    except ParseFailure as err:
        if err.code == "syntax":
            raise _caret(
                err.text, err.pos if err.pos is not None else len(err.text), "cannot read the expression here"
            ) from None
        raise ReadError(str(err)) from None


def read(text: str, shapes: dict | None = None) -> t.E:
    """Read one expression; raises :class:`ReadError` with a one-line message."""
    return to_shaped(_parsed(text), shapes)


def _caret(text: str, pos: int, msg: str) -> ReadError:
    line = "".join(ch if ch.isprintable() else " " for ch in text)
    start = max(0, pos - 60)
    return ReadError(f"{msg} at column {pos + 1}", (line[start : pos + 20], pos - start), pos)


def names(e: t.E) -> dict:
    """name -> shape of every variable in the tree."""
    return {x.name: x.shape for x in t.walk(e) if x.op == "var"}
