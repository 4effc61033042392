"""The registry's claims: written once as text, read by the one pipeline.

A claim states a result the way the lecture writes it, ``result = formula``
(``"Delta^l = Delta ⊙ W^T"``, ``"dz^{l+1}_j/dw_ik = [[j = k]] z^l_i"``,
``"sigma_k in (0, 1)"``).  The formula right of the first ``=`` (or of ``in``)
is parsed by :func:`gradproof.derive.reading.parse.parse` -- the grammar,
typed tree and limits that read seminar answers, spec files and ``diff``
expressions -- and converted with a :class:`Symbols` table built from the
topic's declaration: the matrices it names (with their roles), its scalars,
the arrays whose entries the index form writes (``w_ij``), its free index
letters, and the functions of its notation.

* a formula naming a declared matrix is converted into the matrix form
  (:mod:`gradproof.derive.engine.mexpr`) by the converter that reads matrix
  answers;
* any other formula -- entries with indices (``w_ij``, ``[[j = k]] z_i``),
  sums ``sum_i`` over declared extents, scalars -- into SymPy in index form by
  the converter that reads spec files.

The layer superscripts of the lecture's notation (``z^l_i``, ``z^{l+1}``)
name a layer, not a power, and are dropped before reading.  A formula that
does not read, or names what the declaration does not, is a
:class:`ClaimError` naming the topic and the claim.

>>> import sympy as sp
>>> s = sp.Symbol("s", real=True)
>>> from gradproof.derive.engine.derivation import Claim
>>> read_claim("demo", Claim("identity", "tanh(s) = 2 sigma(2s) - 1"), Symbols(scalars={"s": s})).index
2*sigmoid(2*s) - 1
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import sympy as sp

import gradproof.derive.reading.tree as t
from gradproof.derive.reading.convert import ConvertError, to_claim_index, to_claim_matrix
from gradproof.derive.reading.limits import CLAIMS
from gradproof.derive.reading.parse import ParseFailure, parse

__all__ = ["ClaimError", "Symbols", "formula", "read_claim", "read_claims"]


class ClaimError(ValueError):
    """A claim's text does not read with its topic's names: one line naming the topic and the claim."""


@dataclass(frozen=True)
class Symbols:
    """What a topic's claims may name, each name bound to the declaration's own object.

    ``matrices``: name -> matrix expression (``mexpr.Sym``, ``Identity``);
    ``scalars``: name -> SymPy expression (symbols, dimensions, hyperparameters,
    or a definition such as ``yhat -> sigma(s)``);
    ``arrays``: name -> ``(entries, extents)``, where ``entries`` is an
    ``IndexedBase`` or a function of the index symbols (a defined entry such
    as the softmax's ``yhat_j``) and ``extents`` how far each index runs;
    ``indices``: letter -> the declaration's free index symbol;
    ``functions``: name -> callable, for names written before a bracket
    (``Var(x)``, the loss ``l(y, h(x))``, the order term ``O(s^3)``);
    ``first``: where the sums ``sum_i`` start (0 for modules, 1 for the
    lecture's statistics); ``starts``: letter -> start, for an index that
    starts elsewhere (``j`` from 0 over x_0 = 1 and the n features).
    """

    matrices: Mapping[str, Any] = field(default_factory=dict)
    scalars: Mapping[str, Any] = field(default_factory=dict)
    arrays: Mapping[str, tuple] = field(default_factory=dict)
    indices: Mapping[str, Any] = field(default_factory=dict)
    functions: Mapping[str, Callable] = field(default_factory=dict)
    first: int = 0
    starts: Mapping[str, int] = field(default_factory=dict)


# ^l, ^{l}, ^{l+1}, ^{l-1}: the layer a name belongs to, not a power
_LAYER = re.compile(r"\^\s*(?:\{\s*l\s*(?:[+-]\s*1\s*)?\}|l(?![A-Za-z0-9]))")


def formula(statement: str) -> tuple[str, str]:
    """``(relation, formula)``: the text right of the first top-level ``=`` (or of `` in ``).

    >>> formula("dz^{l+1}_j/dw_ik = [[j = k]] z^l_i")
    ('=', '[[j = k]] z_i')
    >>> formula("sigma_k in (0, 1)")
    ('in', '(0, 1)')
    """
    depth = 0
    for pos, ch in enumerate(statement):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "=" and depth == 0 and statement[pos - 1 : pos] not in ("<", ">", "!", "="):
            if statement[pos + 1 : pos + 2] != "=":
                return "=", _LAYER.sub("", statement[pos + 1 :]).strip()
    left, sep, right = statement.partition(" in ")
    if sep and left.strip():
        return "in", _LAYER.sub("", right).strip()
    raise ValueError("a claim is written 'result = formula' (or 'result in (a, b)')")


def read_claims(topic: str, claims, symbols: Symbols | None) -> tuple:
    """Every claim of ``topic`` read (claims already read are kept as they are)."""
    return tuple(c if c.read else read_claim(topic, c, symbols or Symbols()) for c in claims)


def read_claim(topic: str, claim, symbols: Symbols):
    """``claim`` with its matrix or index form read from its statement (raises :class:`ClaimError`)."""

    def fail(message: str) -> ClaimError:
        return ClaimError(f"topic {topic!r}, claim {claim.key!r} ({claim.statement}): {message}")

    try:
        relation, text = formula(claim.statement)
        parsed = parse(text, CLAIMS)
    except ValueError as err:
        raise fail(str(err)) from None
    except ParseFailure as err:
        if err.token_type == "$END":
            raise fail(f"the formula {text!r} ends too early (a bracket or operand is missing)") from None
        where = f" at column {err.column}" if err.column else ""
        raise fail(f"{err}{where} of {text!r}") from None
    try:
        if relation == "in":
            return replace(claim, index=_interval(parsed, symbols))
        if _matrix_form(parsed.node, symbols):
            return replace(claim, matrix=to_claim_matrix(parsed.node, symbols))
        return replace(claim, index=to_claim_index(parsed, symbols))
    except ConvertError as err:
        raise fail(str(err)) from None


def _matrix_form(node: t.Node, symbols: Symbols) -> bool:
    """A formula naming a declared matrix (and no indexed entry) is read in matrix form."""
    names = [n for n in t.walk(node) if isinstance(n, t.Name)]
    if any(n.sub and (n.base in symbols.arrays or n.base == "delta") for n in names):
        return False
    if any(isinstance(n, t.Iverson) and n.op == "=" for n in t.walk(node)):
        return False
    return any(not n.sub and n.full in symbols.matrices for n in names) or any(
        isinstance(n, t.Transpose) and isinstance(n.arg, t.Num) for n in t.walk(node)
    )


def _interval(parsed, symbols: Symbols):
    """``(a, b)`` after ``in``: the open interval."""
    node = parsed.node
    if not isinstance(node, t.Tuple) or len(node.items) != 2:
        raise ConvertError("a range is written as an open interval (a, b)")
    lo, hi = (to_claim_index(replace(parsed, node=item), symbols) for item in node.items)
    return sp.Interval.open(lo, hi)
