"""What an exercise's answers (and a declaration's claims) may name: symbols, shapes, domains, dimensions.

>>> v = Vocabulary(dims={"m": 5, "n": 3}, symbols=(SymbolDecl("X", ("m", "n")), SymbolDecl("yhat", ("m", 1))))
>>> v.lookup("y_hat").name, v.shape_of(v.lookup("X"))
('yhat', (m, n))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy as sp

ONE = sp.Integer(1)

DOMAINS = ("real", "positive", "prob", "binary", "onehot", "index", "count", "spd", "identity")


@dataclass(frozen=True)
class SymbolDecl:
    """One symbol an exercise's answers may use.

    ``shape`` is ``()`` for a scalar, a pair of dimension names / 1 for a
    matrix or vector, or a single dimension name for a vector written with an
    index (``sigma_k``).  ``domain`` says where probe values are drawn from;
    ``definition`` (answer syntax, in other symbols) makes the symbol a
    function of them, e.g. ``yhat := sigma(X w)``.  ``index_range`` is the
    dimension an index symbol runs over.
    """

    name: str
    shape: tuple = ()
    domain: str = "real"
    aliases: tuple = ()
    definition: str = ""
    call_args: tuple = ()  # ``sigma_k(s)`` may be written for ``sigma_k``
    index_range: str = ""
    description: str = ""
    value: Any = None  # the exact object the name stands for (a declaration's matrix or symbol), when given

    def __post_init__(self):
        if self.domain not in DOMAINS:
            raise ValueError(f"symbol {self.name}: unknown domain {self.domain!r} (one of {', '.join(DOMAINS)})")

    @property
    def is_index(self) -> bool:
        return self.domain == "index"

    @property
    def is_indexed_vector(self) -> bool:
        return len(self.shape) == 1

    @property
    def is_matrix(self) -> bool:
        return len(self.shape) == 2


@dataclass(frozen=True)
class Vocabulary:
    """The symbols and dimensions of one exercise (probe sizes are non-square)."""

    dims: dict
    symbols: tuple = ()
    # spec claims (not students): extra elementwise functions by spelling, e.g. {"abs": sp.Abs},
    # and negative powers of a non-square matrix read entrywise ((1 + abs(S))^(-2))
    extra_functions: tuple = ()
    entrywise_powers: bool = False
    # a declaration's claims: the ones row (1^T A), rowsum(A) broadcast over columns, [[Z > 0]]
    claim_notation: bool = False

    def __post_init__(self):
        object.__setattr__(self, "_by_name", {})
        for s in self.symbols:
            for key in (s.name,) + tuple(s.aliases):
                self._by_name[key] = s

    def lookup(self, name: str) -> SymbolDecl | None:
        decl = self._by_name.get(name)
        if decl is None and _is_prediction_name(name):
            # yhat, Yhat, y_hat, haty: the exercise's prediction, whatever its case
            preds = {s for s in self.symbols if any(_is_prediction_name(k) for k in (s.name,) + tuple(s.aliases))}
            if len(preds) == 1:
                return preds.pop()
        return decl

    def dim(self, name) -> sp.Expr:
        if name == 1 or name == "1":
            return ONE
        return dim_symbol(str(name))

    def shape_of(self, decl: SymbolDecl) -> tuple:
        if decl.value is not None and hasattr(decl.value, "shape") and decl.is_matrix:
            return tuple(decl.value.shape)
        if decl.is_matrix:
            return tuple(self.dim(d) for d in decl.shape)
        return (ONE, ONE)

    def scalar(self, decl: SymbolDecl) -> sp.Symbol:
        if decl.value is not None:
            return decl.value
        return scalar_symbol(decl.name, decl.domain)

    def names(self) -> list[str]:
        return [s.name for s in self.symbols] + list(self.dims)


def _is_prediction_name(name: str) -> bool:
    return name.replace("_", "").replace("{", "").replace("}", "").lower() in ("yhat", "haty")


def dim_symbol(name: str) -> sp.Symbol:
    return sp.Symbol(name, positive=True, integer=True)


def scalar_symbol(name: str, domain: str = "real") -> sp.Symbol:
    if domain in ("positive", "prob", "spd"):
        return sp.Symbol(name, positive=True)
    if domain in ("count",):
        return sp.Symbol(name, positive=True, integer=True)
    if domain == "index":
        return sp.Symbol(name, integer=True, nonnegative=True)
    return sp.Symbol(name, real=True)
