"""The exercise catalog: the built-in bank and a tutor's own exercises, found by id.

The built-in exercises are declared in :mod:`gradproof.derive.seminar.bank`
(one declaration each, grouped by topic); tutors add exercises without
touching code, in a TOML file named by the ``GRADPROOF_EXERCISES``
environment variable (see ``docs/exercises.md``).  An exercise whose topic is
not registered is not offered (:func:`pending` lists them).

>>> ex = get("linear_grad_W")
>>> ex.topic, ex.result
('linear', 'grad:W')
"""

from __future__ import annotations

import difflib
import functools
import os

from gradproof.derive.seminar.bank import declared
from gradproof.derive.seminar.exercise import PROBE_DIMS, SYMBOLIC_DIMS, Exercise, WrongAnswer
from gradproof.derive.seminar.oracles import has_oracle, install_oracle

__all__ = [
    "PROBE_DIMS",
    "SYMBOLIC_DIMS",
    "Exercise",
    "UnknownExercise",
    "WrongAnswer",
    "exercises",
    "get",
    "has_oracle",
    "install_oracle",
    "load_toml",
    "pending",
]


def _bank() -> dict:
    """The built-in exercises by id (an id declared twice is a programming error)."""
    out: dict[str, Exercise] = {}
    for ex in declared():
        if ex.id in out:
            raise ValueError(f"exercise {ex.id!r} declared twice")
        out[ex.id] = ex
    return out


_BANK = _bank()


def load_toml(path: str) -> list[Exercise]:
    """Exercises declared in a TOML file (``[[exercise]]`` tables; see docs/exercises.md).

    Every problem is reported as ``file:line: problem`` (a :class:`ValueError`).
    """
    from gradproof.derive.seminar.exercise_files import load

    return load(path)


class UnknownExercise(KeyError):
    def __init__(self, name: str, suggestions: list[str]):
        super().__init__(name)
        self.name = name
        self.suggestions = suggestions

    def __str__(self) -> str:
        msg = f"unknown exercise {self.name!r}"
        if self.suggestions:
            msg += "; did you mean " + ", ".join(self.suggestions) + "?"
        return msg + " (see `gradproof exercises`)"


def _topic_names() -> set:
    from gradproof.derive.lecture.registry import topics

    return {t.name for t in topics()}


def exercises() -> list[Exercise]:
    """Every exercise whose reference topic exists, then the tutor's (``GRADPROOF_EXERCISES``)."""
    names = _topic_names()
    out = [ex for ex in _BANK.values() if not ex.topic or ex.topic in names]
    path = os.environ.get("GRADPROOF_EXERCISES")
    if path:
        seen = {ex.id for ex in out}
        for ex in _load_cached(path, os.path.getmtime(path)):
            if ex.id in seen:
                raise ValueError(f"{path}: exercise {ex.id!r} is already in the bank")
            out.append(ex)
    return out


@functools.lru_cache(maxsize=4)
def _load_cached(path: str, mtime: float):
    return tuple(load_toml(path))


def get(ex_id: str) -> Exercise:
    """One exercise by id (raises :class:`UnknownExercise` with suggestions).

    ``id@k`` is the exercise's variant ``k`` (see :meth:`Exercise.variant_for`).
    """
    bank = {ex.id: ex for ex in exercises()}
    base, at, k = ex_id.partition("@")
    if at and base in bank and k.isdigit() and int(k) < bank[base].n_variants:
        return bank[base].make_variant(int(k))
    try:
        return bank[ex_id]
    except KeyError:
        close = difflib.get_close_matches(ex_id, list(bank), n=3, cutoff=0.5)
        raise UnknownExercise(ex_id, close) from None


def pending() -> list[Exercise]:
    """Declared exercises whose reference topic is not (yet) in the registry."""
    names = _topic_names()
    return [ex for ex in _BANK.values() if ex.topic and ex.topic not in names]
