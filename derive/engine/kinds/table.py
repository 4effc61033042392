"""The one table of kinds: ``kind name -> unit`` (see :mod:`gradproof.derive.engine.kinds`).

>>> sorted(UNITS)
['loss', 'model', 'module', 'penalty', 'solver']
"""

from __future__ import annotations

from types import ModuleType

from gradproof.derive.engine.derivation import Derivation
from gradproof.derive.engine.kinds import loss, model, module, penalty, solver
from gradproof.derive.proof.prove import prove_index_claim, with_proofs

UNITS: dict[str, ModuleType] = {u.NAME: u for u in (module, loss, penalty, model, solver)}
# numeric/kinds.py spells the same names for NumPy-only code (derive never imports
# numeric); tests/derive/test_kinds.py keeps the two lists equal.
ALL = tuple(UNITS)


def unit(kind: str) -> ModuleType:
    """The unit of ``kind``; a ``ValueError`` naming the known kinds otherwise."""
    try:
        return UNITS[kind]
    except KeyError:
        raise ValueError(f"unknown kind {kind!r}: the kinds are {', '.join(ALL)}") from None


def build(topic) -> Derivation:
    """Derive a declared module, loss, penalty or model, prove every result and claim.

    Matrix-form claims are proved against the unit's oracle; index-form claims
    against the derived index form (itself proved).  Claimed results are
    marked once every claim about them is proved.
    """
    kind_unit = unit(topic.declaration.kind)
    d = kind_unit.derive(topic)
    session, oracle = kind_unit.prove(topic, d)
    proofs = session.prove_claims([c for c in d.claims if c.matrix is not None], oracle)
    proofs += [prove_index_claim(c, d) for c in d.claims if c.matrix is None]
    return with_proofs(d, proofs)
