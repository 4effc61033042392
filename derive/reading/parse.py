"""Text -> the one typed tree: normalise, apply the limits, parse, build.

Every reader of mathematics (answers, spec files, claims, ``diff``) calls
:func:`parse`; it differs from the others only in its :class:`Limits` and in
how it words a :class:`ParseFailure` for its user.

>>> parse("X^T (yhat - y)").node
Mul(op='juxt', left=Transpose(arg=Name(base='X', sub='')), right=Group(arg=Sub(left=Name(base='yhat', sub=''), right=Name(base='y', sub=''))))
"""

from __future__ import annotations

from dataclasses import dataclass

import gradproof.derive.reading.tree as t
from gradproof.derive.reading.grammar import normalise, pair_norm_bars, parser
from gradproof.derive.reading.indices import IndexProblem, check_deltas, sift
from gradproof.derive.reading.limits import DEFAULT, LimitExceeded, Limits, check_text, check_tree


class ParseFailure(Exception):
    """The text is not in the language, or breaks a limit.

    ``code``: ``empty``, ``control``, ``syntax``, ``indices`` (a Kronecker
    delta without two indices) or a limit's code (``too-long``,
    ``too-deep``, ``too-big``, ``too-large``).  For syntax
    errors ``pos`` is the 0-based offset in ``text`` (the normalised text),
    ``char`` the character there (when the lexer stopped), ``token`` and
    ``token_type`` what the parser did not expect (``"$END"`` at the end).
    """

    def __init__(self, code: str, message: str, text: str = "", pos=None, char="", token="", token_type=""):
        super().__init__(message)
        self.code, self.text, self.pos = code, text, pos
        self.char, self.token, self.token_type = char, token, token_type

    @property
    def column(self):
        """1-based column within the line of ``pos`` (None when unknown)."""
        if self.pos is None:
            return None
        return self.pos - (self.text.rfind("\n", 0, self.pos) + 1) + 1


@dataclass(frozen=True)
class Parsed:
    """A parsed text: the typed tree, the normalised text, and where each node stands in it."""

    node: t.Node
    text: str
    spans: dict

    def span(self, node: t.Node) -> tuple | None:
        return self.spans.get(id(node))

    def quote(self, node: t.Node) -> str:
        """The text of ``node`` as typed (else written back from the tree)."""
        where = self.span(node)
        return self.text[where[0] : where[1]].strip() if where else t.source(node)

    def column(self, node: t.Node) -> int | None:
        where = self.span(node)
        if where is None:
            return None
        return where[0] - (self.text.rfind("\n", 0, where[0]) + 1) + 1


def parse(text: str, limits: Limits = DEFAULT) -> Parsed:
    """Parse ``text`` into the typed tree, enforcing every limit (raises :class:`ParseFailure`)."""
    from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

    if not isinstance(text, str) or not text.strip():
        raise ParseFailure("empty", f"the {limits.noun} is empty")
    _limit(check_text, text, limits)
    if "\x00" in text or any(ord(ch) < 32 and ch not in "\t\n\r" for ch in text):
        raise ParseFailure("control", f"the {limits.noun} contains control characters")
    norm = pair_norm_bars(normalise(text))
    _limit(check_text, norm, limits)
    try:
        raw = parser().parse(norm)
    except UnexpectedCharacters as err:
        pos = err.pos_in_stream if err.pos_in_stream is not None else len(norm)
        ch = norm[pos] if pos < len(norm) else ""
        raise ParseFailure("syntax", f"unexpected character {ch!r}", norm, pos, char=ch) from None
    except UnexpectedEOF:
        raise ParseFailure("syntax", f"the {limits.noun} ends too early", norm, len(norm), token_type="$END") from None
    except UnexpectedToken as err:
        tok = err.token
        pos = getattr(tok, "start_pos", None)
        pos = len(norm) if pos is None or tok.type == "$END" else pos
        raise ParseFailure(
            "syntax", f"unexpected {str(tok)[:20]!r}", norm, pos, token=str(tok), token_type=tok.type
        ) from None
    except UnexpectedInput as err:  # pragma: no cover - the three above are exhaustive in lark 1.x
        raise ParseFailure(
            "syntax", f"cannot read the {limits.noun}", norm, getattr(err, "pos_in_stream", None)
        ) from None
    spans: dict = {}
    node = t.build(raw, spans)
    _limit(check_tree, node, limits)
    try:
        check_deltas(node)
    except IndexProblem as err:
        raise ParseFailure("indices", str(err)) from None
    return Parsed(sift(node), norm, spans)


def _limit(check, arg, limits: Limits) -> None:
    try:
        check(arg, limits)
    except LimitExceeded as err:
        raise ParseFailure(err.code, str(err)) from None
