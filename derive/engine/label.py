"""The left-hand side of a formula, as the lecture writes it.

Its own module so that the printers can recognise a label without importing
the :class:`~gradproof.derive.engine.derivation.Derivation` data (which in
turn renders itself through the printers).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Label:
    """A left-hand side as the lecture writes it, in plain text and LaTeX."""

    text: str
    latex: str

    def __str__(self) -> str:
        return self.text
