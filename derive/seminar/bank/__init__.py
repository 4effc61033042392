"""The seminar bank: every built-in exercise, declared once, grouped by topic.

Each module holds the declarations of one group, in the order ``gradproof
exercises`` lists them; the catalog (:mod:`gradproof.derive.seminar.exercises`)
finds them by id and adds a tutor's own (``GRADPROOF_EXERCISES``).  A new
exercise is one ``declare(Exercise(...))`` in the module of its group.
"""

from __future__ import annotations

from gradproof.derive.seminar.bank import concepts, core, formulas, numbers, statements, steps

GROUPS = (core, formulas, steps, numbers, concepts, statements)


def declared() -> tuple:
    """Every built-in exercise, in the bank's order."""
    return tuple(ex for group in GROUPS for ex in group.EXERCISES)
