"""The one tree walk every target of the converter shares.

A target (:mod:`.matrix`, :mod:`.index`, :mod:`.shaped`) is a subclass of
:class:`Walk` with one method per node type it reads (``_Name``, ``_Add``,
...), called by :meth:`Walk.walk`; the node types it does not read are listed
in ``REFUSED`` with the message its users see, and :meth:`Walk.refuse` makes
that target's own error.  Brackets and number literals are read the same way
by every target.

>>> import gradproof.derive.reading.tree as t
>>> class Count(Walk):
...     def _Num(self, node):
...         return self.number(node)
...     def _Add(self, node):
...         return self.walk(node.left) + self.walk(node.right)
>>> Count().walk(t.Add(t.Group(t.Num("1.5")), t.Num("2")))
Fraction(7, 2)
>>> Count().walk(t.Ones())
Traceback (most recent call last):
...
ValueError: Ones cannot be read here
"""

from __future__ import annotations

from fractions import Fraction

import gradproof.derive.reading.tree as t
from gradproof.derive.reading.limits import literal_value


class Walk:
    """Convert a typed tree by calling one method per node type."""

    REFUSED: dict = {}  # node type name -> why this target does not read it

    def walk(self, node: t.Node):
        name = type(node).__name__
        message = self.REFUSED.get(name)
        method = getattr(self, "_" + name, None) if message is None else None
        if method is None:
            raise self.refuse(node, message or self.unread(name))
        return method(node)

    def unread(self, name: str) -> str:
        """The message for a node type the target neither reads nor lists."""
        return f"{name} cannot be read here"

    def refuse(self, node: t.Node, message: str) -> Exception:
        """The target's own error for ``node`` (a one-line message)."""
        return ValueError(message)

    def number(self, node: t.Num) -> Fraction:
        """A number literal, exactly (its size was checked by the limits)."""
        return literal_value(node.text)

    def _Group(self, node: t.Group):
        return self.walk(node.arg)
