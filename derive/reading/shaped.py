"""The typed tree of a matrix expression: every node carries its shape.

A shape is ``(rows, cols)``; each entry is the integer 1 or a dimension name
(``"m"``, ``"n"``, ...).  Nodes are plain frozen data: nothing in them is
ever evaluated as Python.

>>> x = var("x", ("n", 1))
>>> str(transpose(x).shape)
"(1, 'n')"
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

SCALAR = (1, 1)

# elementwise functions of the language; "step" and "sign" only arise as derivatives
ELEMENTWISE = ("log", "exp", "tanh", "sigma", "softplus", "relu", "abs", "sqrt", "step", "sign")


@dataclass(frozen=True)
class E:
    op: str
    args: tuple = ()
    shape: tuple = SCALAR
    name: str = ""
    value: Fraction = Fraction(0)

    def is_scalar(self) -> bool:
        return self.shape == SCALAR

    def free(self) -> frozenset:
        if self.op == "var":
            return frozenset([self.name])
        out = frozenset()
        for a in self.args:
            out |= a.free()
        return out


def var(name, shape):
    return E("var", (), tuple(shape), name=name)


def num(v, shape=SCALAR):
    return E("num", (), tuple(shape), value=Fraction(v))


def transpose(a: E) -> E:
    r, c = a.shape
    return E("T", (a,), (c, r))


def walk(e: E):
    yield e
    for a in e.args:
        yield from walk(a)


def depth(e: E) -> int:
    return 1 + max((depth(a) for a in e.args), default=0)
