"""The one error of ``diff``'s reader."""

from __future__ import annotations


class ReadError(Exception):
    """Input outside the language or with inconsistent shapes: one line, exit 2.

    ``caret`` (when reading stopped at a column) is the text around it and the
    offset of that column inside it, for a caret line under the message;
    ``pos`` is that column's offset in the whole expression.
    """

    def __init__(self, message: str, caret: tuple[str, int] | None = None, pos: int | None = None):
        super().__init__(message)
        self.caret = caret
        self.pos = pos  # 0-based offset of that column in the (normalised) expression, when known
