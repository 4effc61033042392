"""The command line's user-facing errors, importable by every command.

A command raises :class:`CLIError`; :func:`gradproof.reports.cli.main`
prints it as one line on stderr (through :func:`one_line`) and exits with its
code.  This module imports nothing of gradproof, so a command can import it
without reaching back into the entry point.

>>> CLIError("no such topic").code
2
"""

from __future__ import annotations


class CLIError(Exception):
    """A user-facing error: one line on stderr and an exit code."""

    def __init__(self, message: str, code: int = 2):
        super().__init__(message)
        self.code = code


def one_line(text: str) -> str:
    """A message as one terminal line: line breaks and control characters escaped.

    File names and CSV cells are untrusted: a name holding a newline or an
    escape sequence must not add lines or drive the terminal.

    >>> one_line("bad\\nname\\x1b[2J")
    'bad\\\\nname\\\\x1b[2J'
    """
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)
