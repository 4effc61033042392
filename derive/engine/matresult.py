"""What ``gradproof diff`` derives, as plain data: the result, its steps and its proofs.

>>> pyname("lambda"), concrete_sizes.__doc__.split(",")[0]
('lambda_', 'Small')
"""

from __future__ import annotations

import keyword
from dataclasses import dataclass, field

import gradproof.derive.reading.shaped as t
from gradproof.derive.reading.shaped import SCALAR, E


class DiffError(Exception):
    """A derivative outside what the engine reads off (exit 2)."""


@dataclass(frozen=True)
class Entry:
    key: str
    passed: bool
    detail: str = ""


@dataclass(frozen=True)
class Result:
    expr: E
    wrt: str
    form: str  # gradient | jacobian | hessian
    result: E
    shapes: dict
    sizes: dict
    steps: tuple
    proofs: tuple = field(default_factory=tuple)
    direction: str = ""  # a Hessian found column by column: ``result`` is H applied to this unit vector

    def heading(self, printer) -> str:
        """What ``result`` is, for a printed line: ``H e_k = `` for a column-by-column Hessian, else empty."""
        if not self.direction:
            return ""
        return "H e_k = " if printer.__name__ == "text" else r"H \mathbf{e}_k = "

    @property
    def proved(self) -> bool:
        return bool(self.proofs) and all(p.passed for p in self.proofs)

    def failed(self):
        return [p for p in self.proofs if not p.passed]

    def printed_steps(self, printer) -> list:
        """``(what was done, the expression after it)`` with each expression printed by ``printer``
        (:func:`gradproof.derive.engine.matprint.text` or ``latex``); prose stays as it is."""
        return [(label, value if isinstance(value, str) else printer(value)) for label, value in self.steps]


def _shape_text(s):
    return "scalar" if s == SCALAR else ("vector of length %s" % s[0] if s[1] == 1 else "%sx%s" % s)


def concrete_sizes(e: E) -> dict:
    """Small, distinct sizes for every dimension name, so that a transpose cannot hide."""
    dims = []
    for x in t.walk(e):
        for d in x.shape:
            if isinstance(d, str) and d not in dims:
                dims.append(d)
    sizes = [3, 2, 4, 5, 6, 7]
    return {d: sizes[i % len(sizes)] for i, d in enumerate(dims)}


def pyname(name: str) -> str:
    """The keyword argument for a variable (``lambda`` -> ``lambda_``)."""
    return name + "_" if keyword.iskeyword(name) or name in ("np",) else name
