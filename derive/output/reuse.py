"""Printing each expression once while a page renders it for several targets.

A report renders a derivation for HTML, for LaTeX and for the companion's
facts, and each prints the same expression objects.  Inside
:func:`reuse_printed`, :func:`to_latex` and :func:`to_text` print an object
once and return the same text when asked again; outside, they are
:func:`gradproof.derive.output.printing.to_latex` and ``to_text`` themselves.

>>> import sympy as sp
>>> s = sp.Symbol("s")
>>> with reuse_printed():
...     to_latex(s**2) == to_latex(s**2)
True
"""

from __future__ import annotations

from contextlib import contextmanager

from gradproof.derive.output import printing

# (printer, id, lecture) -> (expression, text) while reuse_printed() is active
_PRINTED: dict | None = None


def _once(print_, e, lecture: bool) -> str:
    if _PRINTED is None:
        return print_(e, lecture)
    key = (print_, id(e), lecture)
    hit = _PRINTED.get(key)
    if hit is not None and hit[0] is e:
        return hit[1]
    text = print_(e, lecture)
    _PRINTED[key] = (e, text)  # the object is kept, so that its id is not reused while the block lasts
    return text


def to_latex(e, lecture: bool = True) -> str:
    """:func:`gradproof.derive.output.printing.to_latex`, once per object inside :func:`reuse_printed`."""
    return _once(printing.to_latex, e, lecture)


def to_text(e, lecture: bool = True) -> str:
    """:func:`gradproof.derive.output.printing.to_text`, once per object inside :func:`reuse_printed`."""
    return _once(printing.to_text, e, lecture)


@contextmanager
def reuse_printed():
    """Within the block, :func:`to_latex` and :func:`to_text` of an object printed before return that text."""
    global _PRINTED
    outer = _PRINTED
    _PRINTED = {} if outer is None else outer
    try:
        yield
    finally:
        _PRINTED = outer
