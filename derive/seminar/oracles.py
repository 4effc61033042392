"""Every exercise's oracle, built once per process (or read from the oracle cache).

A formula exercise's oracle is :class:`gradproof.derive.seminar.equivalence.Oracle`
(reference values at the probe points, named mutants, exact points); a steps
exercise's holds its steps' oracles, a numeric item's its reference numbers.
A letter variant is checked through its declared exercise's oracle.
"""

from __future__ import annotations

from gradproof.derive.seminar.numeric_items import numeric_reference
from gradproof.derive.seminar.variants import base_exercise, letter_names, stage_exercise


class PartsOracle:
    """Warm state for an exercise of another answer type: its steps' oracles, or its reference numbers."""

    def __init__(self, ex):
        self.ex = ex
        self.stage_oracles = []
        self.numbers = None
        if ex.answer_type == "steps":
            self.stage_oracles = [stage_exercise(ex, k).oracle() for k in range(len(ex.stages))]
        elif ex.answer_type == "numeric":
            self.numbers = numeric_reference(ex)

    def wrong_values(self):
        return [o.wrong_values() for o in self.stage_oracles]

    def mutant_values(self):
        return [o.mutant_values() for o in self.stage_oracles]


_ORACLES: dict = {}


def oracle_of(ex):
    """``ex``'s oracle, built on first use (the :meth:`Exercise.oracle <gradproof.derive.seminar.exercise.Exercise.oracle>` behind it)."""
    if ex not in _ORACLES:
        if letter_names(ex):
            # a letter variant is checked through its declared exercise's oracle
            return oracle_of(base_exercise(ex))
        if ex.answer_type != "formula":
            _ORACLES[ex] = PartsOracle(ex)
        else:
            from gradproof.derive.seminar.equivalence import Oracle

            _ORACLES[ex] = Oracle(ex)
    return _ORACLES[ex]


def has_oracle(ex) -> bool:
    return ex in _ORACLES


def install_oracle(oracle) -> None:
    """Adopt an oracle built in another process or read from the cache (a steps exercise's with its steps')."""
    _ORACLES[oracle.ex] = oracle
    for part in getattr(oracle, "stage_oracles", ()):
        _ORACLES[part.ex] = part
