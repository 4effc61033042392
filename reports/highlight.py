"""Python source highlighted by Pygments, lexed once for every target.

The report shows each generated module twice (HTML and LaTeX); both
formatters read the same token list, so the source is lexed once.
``pygments.highlight`` is exactly ``format(lex(...))``, so the output is the
same as highlighting each time.

>>> from pygments.formatters import HtmlFormatter
>>> highlight("x = 1\\n", HtmlFormatter()).startswith('<div class="highlight">')
True
"""

from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=8)
def python_tokens(source: str) -> tuple:
    """The Pygments tokens of ``source`` (a tuple: read by several formatters)."""
    from pygments import lex
    from pygments.lexers import PythonLexer

    return tuple(lex(source, PythonLexer()))


def highlight(source: str, formatter) -> str:
    """``source`` formatted by ``formatter`` from its (shared) tokens."""
    from pygments import format as pygments_format

    return pygments_format(python_tokens(source), formatter)
