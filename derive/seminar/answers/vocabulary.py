"""What an exercise's answers may name: the matrix target's symbol table, under the answers' own name.

The table itself is :mod:`gradproof.derive.reading.convert.vocabulary` (the
one converter reads answers, spec claims and the registry's matrix claims
with it).

>>> v = Vocabulary(dims={"m": 5, "n": 3}, symbols=(SymbolDecl("X", ("m", "n")), SymbolDecl("yhat", ("m", 1))))
>>> v.lookup("y_hat").name, v.shape_of(v.lookup("X"))
('yhat', (m, n))
"""

from __future__ import annotations

from gradproof.derive.reading.convert.vocabulary import (  # noqa: F401 (the answers' names)
    DOMAINS,
    ONE,
    SymbolDecl,
    Vocabulary,
    dim_symbol,
    scalar_symbol,
)
