"""The one error of ``diff``'s reader."""

from __future__ import annotations


class ReadError(Exception):
    """Input outside the language or with inconsistent shapes: one line, exit 2.

    ``caret`` (when reading stopped at a column) is the text around it and the
    offset of that column inside it, for a caret line under the message.
    """

    def __init__(self, message: str, caret: tuple[str, int] | None = None):
        super().__init__(message)
        self.caret = caret
