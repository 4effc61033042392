"""Limits that keep a check cheap before any mathematics happens.

Each limit is checked on the text or the typed tree, never by computing:
``10^10^10`` or ``(x+1)^(10^6)`` are refused from an *estimate* of the size
of their result.

>>> from derive.answers import parse_answer, AnswerError
>>> try:
...     parse_answer("10^10^10")
... except AnswerError as err:
...     print(err.code)
too-large
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from derive.answers import tree as t


@dataclass(frozen=True)
class Limits:
    """The numbers behind every refusal (tutors may tighten them)."""

    max_length: int = 400  # characters of input
    max_depth: int = 24  # bracket nesting, and depth of the typed tree
    max_nodes: int = 200  # nodes of the typed tree
    max_literal_digits: int = 12  # digits of one number as typed
    max_literal_value: float = 1e12
    max_exponent: int = 64  # |n| in x^n for a non-constant x
    max_constant_digits: int = 300  # decimal digits of a constant subexpression
    max_degree: int = 256  # estimated polynomial degree of the whole answer


DEFAULT = Limits()


class LimitExceeded(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def check_text(text: str, limits: Limits = DEFAULT) -> None:
    """Refuse over-long input and over-deep bracket nesting, before lexing."""
    if len(text) > limits.max_length:
        raise LimitExceeded("too-long", f"the answer is {len(text)} characters long; the limit is {limits.max_length}")
    depth = best = 0
    for ch in text:
        if ch in "([{|":
            depth += 1
            best = max(best, depth)
        elif ch in ")]}":
            depth -= 1
    if best > limits.max_depth:
        raise LimitExceeded("too-deep", f"brackets are nested {best} deep; the limit is {limits.max_depth}")


def check_tree(node: t.Node, limits: Limits = DEFAULT) -> None:
    """Refuse trees that are too big, too deep, or whose result would be huge."""
    nodes = sum(1 for _ in t.walk(node))
    if nodes > limits.max_nodes:
        raise LimitExceeded("too-big", f"the answer has {nodes} parts; the limit is {limits.max_nodes}")
    d = t.depth(node)
    if d > limits.max_depth * 2:
        raise LimitExceeded("too-deep", f"the answer nests {d} levels deep; the limit is {limits.max_depth * 2}")
    for n in t.walk(node):
        if isinstance(n, t.Num):
            _check_literal(n.text, limits)
    est = _Estimate(limits)
    _, degree = est(node)
    if degree > limits.max_degree:
        raise LimitExceeded("too-large", f"the answer would expand to degree about {degree:g}; the limit is {limits.max_degree}")


def literal_value(text: str) -> Fraction:
    """The exact value of a number as typed (after :func:`check_text`)."""
    mant, _, exp = text.lower().partition("e")
    value = Fraction(mant if mant[0] != "." else "0" + mant)
    if exp:
        value *= Fraction(10) ** int(exp)
    return value


def _check_literal(text: str, limits: Limits) -> None:
    digits = sum(ch.isdigit() for ch in text.lower().partition("e")[0])
    if digits > limits.max_literal_digits:
        raise LimitExceeded("too-large", f"the number {text[:20]}... has {digits} digits; the limit is {limits.max_literal_digits}")
    _, _, exp = text.lower().partition("e")
    if exp and abs(int(exp)) > 12:
        raise LimitExceeded("too-large", f"the number {text} is out of range (|exponent| <= 12)")
    if abs(literal_value(text)) > limits.max_literal_value:
        raise LimitExceeded("too-large", f"the number {text} is larger than {limits.max_literal_value:g}")


class _Estimate:
    """Bound each subtree by (log10 of its size if constant else None, degree).

    Works on the tree, not on values: a constant's size is tracked as a
    logarithm so that no big number is ever formed.
    """

    def __init__(self, limits: Limits):
        self.limits = limits

    def __call__(self, n: t.Node):
        method = getattr(self, "_" + type(n).__name__, None)
        if method is None:
            # Names, calls, brackets: not constant (degree 1 per leaf), children checked.
            deg = 1.0
            for c in n.children():
                _, d = self(c)
                deg = max(deg, d)
            return None, deg
        return method(n)

    def _Num(self, n):
        v = abs(float(literal_value(n.text)))
        return (math.log10(v) if v > 0 else -math.inf), 0.0

    def _Group(self, n):
        return self(n.arg)

    def _Neg(self, n):
        return self(n.arg)

    def _Transpose(self, n):
        return self(n.arg)

    def _add(self, n):
        (la, da), (lb, db) = self(n.left), self(n.right)
        if la is not None and lb is not None:
            return max(la, lb) + 0.31, max(da, db)
        return None, max(da, db)

    _Add = _Sub = _add

    def _Mul(self, n):
        (la, da), (lb, db) = self(n.left), self(n.right)
        mag = la + lb if la is not None and lb is not None else None
        self._check_const(mag)
        return mag, da + db

    def _Div(self, n):
        (la, da), (lb, db) = self(n.left), self(n.right)
        mag = la - lb if la is not None and lb is not None and lb != -math.inf else None
        return mag, da + db

    def _Pow(self, n):
        (lb, db), (le, de) = self(n.base), self(n.exp)
        if le is None:
            # symbolic exponent: nothing is expanded, but a huge base size stays huge
            return None, db
        if le > math.log10(self.limits.max_exponent * 1000):
            raise LimitExceeded("too-large", "an exponent is far too large to compute")
        e = 10 ** le if le != -math.inf else 0.0
        if lb is not None:
            mag = lb * e
            self._check_const(mag)
            return mag, 0.0
        if e > self.limits.max_exponent:
            raise LimitExceeded("too-large", f"the exponent {e:g} is larger than {self.limits.max_exponent}")
        return None, db * e

    def _check_const(self, mag):
        if mag is not None and mag > self.limits.max_constant_digits:
            raise LimitExceeded("too-large", f"a constant in the answer would have about {mag:.0f} digits; the limit is {self.limits.max_constant_digits}")
