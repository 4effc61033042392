"""Kronecker deltas in Σ-index notation: ``sum_k delta_{jk} a_k`` is ``a_j``.

The lecture writes the softmax Jacobian with ``delta_{jk}`` (and ``[[j = k]]``);
a sum over one of a delta's indices keeps only the term where the indices
agree (the sifting property, with both indices over the same range).
:func:`sift` applies it to the typed tree, innermost sums first, for every
reader: what is left of a delta afterwards is a free-index indicator that the
reader either understands (answers, as SymPy's ``KroneckerDelta``) or refuses
(``gradproof diff`` reads closed expressions).  :func:`check_deltas` refuses a
delta with other than two indices, one line.

>>> from gradproof.derive.reading.parse import parse
>>> from gradproof.derive.reading.tree import source
>>> source(parse("sum_k delta_{jk} a_k b_k").node)
'(a_j b_j)'
>>> source(parse("sum_j sum_k [[j = k]] x_j y_k").node)
'sum_j (x_j y_j)'
"""

from __future__ import annotations

import dataclasses

import gradproof.derive.reading.tree as t


class IndexProblem(ValueError):
    """A delta or an indicator that no reading can give a meaning to (one line)."""


def check_deltas(node: t.Node) -> None:
    """Refuse ``delta_{ijk}``: a Kronecker delta compares exactly two indices."""
    for n in t.walk(node):
        if isinstance(n, t.Kronecker) and len(n.indices) != 2:
            raise IndexProblem(
                f"delta_{{{n.sub}}} has {len(n.indices)} indices; a Kronecker delta compares two, delta_{{jk}}"
            )


def pair(n: t.Node) -> tuple[str, str] | None:
    """The two indices a delta or an indicator ``[[j = k]]`` compares (None for other nodes)."""
    if isinstance(n, t.Kronecker) and len(n.indices) == 2:
        return n.indices
    if isinstance(n, t.Iverson):
        a, b = _bare(n.left), _bare(n.right)
        if a and b:
            return a, b
    return None


def _bare(n: t.Node) -> str:
    while isinstance(n, t.Group):
        n = n.arg
    if isinstance(n, t.Name) and not n.sub and len(n.base) == 1 and n.base.islower():
        return n.base
    return ""


def sift(node: t.Node) -> t.Node:
    """The tree with every ``sum_k (... delta_{jk} ...)`` replaced by its term at ``k = j``."""
    kids = {}
    for f in dataclasses.fields(node):
        v = getattr(node, f.name)
        if isinstance(v, t.Node):
            kids[f.name] = sift(v)
        elif isinstance(v, tuple) and v and all(isinstance(x, t.Node) for x in v):
            kids[f.name] = tuple(sift(x) for x in v)
    if any(kids[k] is not getattr(node, k) for k in kids):
        node = dataclasses.replace(node, **kids)
    if isinstance(node, t.IndexSum):
        return _sift_sum(node)
    return node


def _factors(n: t.Node) -> list[t.Node]:
    """The factors of a product of numbers (``*`` or juxtaposition), brackets looked through."""
    while isinstance(n, t.Group):
        n = n.arg
    if isinstance(n, t.Mul) and n.op in ("*", "juxt"):
        return _factors(n.left) + _factors(n.right)
    return [n]


def _sift_sum(s: t.IndexSum) -> t.Node:
    body, negated = s.body, False
    while isinstance(body, (t.Group, t.Neg)):
        negated ^= isinstance(body, t.Neg)
        body = body.arg
    factors = _factors(body)
    for k, f in enumerate(factors):
        p = pair(f)
        if p is None or s.index not in p:
            continue
        other = p[0] if p[1] == s.index else p[1]
        rest = factors[:k] + factors[k + 1 :]
        if other == s.index:  # delta_{kk} = 1: the sum stays
            kept = _product(rest)
            return t.IndexSum(s.index, t.Neg(kept) if negated else kept, s.upper)
        if any(isinstance(x, t.IndexSum) and x.index == other for r in rest for x in t.walk(r)):
            return s  # an inner sum rebinds the other index: left for the reader to refuse
        out = t.Group(_rename(_product(rest), s.index, other))
        return t.Neg(out) if negated else out
    return s


def _product(factors: list[t.Node]) -> t.Node:
    if not factors:
        return t.Num("1")
    out = factors[0]
    for f in factors[1:]:
        out = t.Mul("juxt", out, f)
    return out


def _rename(n: t.Node, old: str, new: str) -> t.Node:
    """``n`` with the index ``old`` written ``new`` (an inner sum over ``old`` keeps its own)."""
    if isinstance(n, t.IndexSum) and n.index == old:
        return n
    if isinstance(n, t.Name):
        return t.Name(n.base, _resub(n.sub, old, new)) if n.sub else (t.Name(new) if n.base == old else n)
    if isinstance(n, t.Kronecker):
        return t.Kronecker(tuple(new if i == old else i for i in n.indices), _resub(n.sub, old, new))
    if isinstance(n, t.Indexed):
        return t.Indexed(n.base, tuple(new if i == old else i for i in n.indices))
    kids = {}
    for f in dataclasses.fields(n):
        v = getattr(n, f.name)
        if isinstance(v, t.Node):
            kids[f.name] = _rename(v, old, new)
        elif isinstance(v, tuple) and v and all(isinstance(x, t.Node) for x in v):
            kids[f.name] = tuple(_rename(x, old, new) for x in v)
    return dataclasses.replace(n, **kids) if kids else n


def _resub(sub: str, old: str, new: str) -> str:
    """A subscript with the index ``old`` replaced: ``ik`` -> ``ij``, ``i,k`` -> ``i,j``."""
    if "," in sub:
        return ",".join(new if p.strip() == old else p for p in sub.split(","))
    if len(sub) <= 2 and sub.isalpha() and sub.islower():  # a_k, A_{ik}; never y_hat's "hat"
        return "".join(new if ch == old else ch for ch in sub)
    return sub
