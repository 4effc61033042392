"""The derivation engine for modules, losses, penalties and models.

A module is declared by its forward map in index notation, per sample (the
lecture's ``z^{l+1}_j = sum_i w_ij z^l_i``), with the records of
:mod:`gradproof.derive.engine.notation`.  The engine then, with SymPy:

1. differentiates the forward map entry by entry (local Jacobian and
   parameter derivatives), summing out the Kronecker deltas that appear and
   dropping SymPy's index-range ``Piecewise`` (the indices are in range by
   construction; :mod:`gradproof.derive.engine.indexform`);
2. forms the backward message ``delta_i = sum_j delta_j' dz'_j/dz_i`` and the
   parameter messages, naming the module's forward output where the
   derivative is a function of it (``sigma(1 - sigma)``, ``1 - tanh^2``,
   softmax ``p``);
3. batches them (rows are samples; parameter messages sum over samples) and
   reads off the matrix form (:mod:`gradproof.derive.engine.matrixform`);
4. proves every result exactly (:mod:`gradproof.derive.proof.prove`) and every claim equal to
   the derived result.

What each kind does at each step is in its unit
(:mod:`gradproof.derive.engine.kinds`); this module is the declarations'
entry point: :func:`build_module` is ``Topic.build`` of every module, loss
and penalty.
"""

from __future__ import annotations

from gradproof.derive.engine.derivation import Derivation
from gradproof.derive.engine.indexform import clean, common_denominator, drop_range_piecewise, pull_out_of_sums, tidy
from gradproof.derive.engine.kinds.table import build
from gradproof.derive.engine.notation import Arg, K, ModuleDeclaration, OutputName, a_, c_, i_, j_, k_, m, n, s_
from gradproof.derive.proof.prove import prove_index_claim

__all__ = [
    "Arg",
    "K",
    "ModuleDeclaration",
    "OutputName",
    "a_",
    "build_module",
    "c_",
    "clean",
    "common_denominator",
    "drop_range_piecewise",
    "i_",
    "j_",
    "k_",
    "m",
    "n",
    "prove_index_claim",
    "pull_out_of_sums",
    "s_",
    "tidy",
]


def build_module(topic) -> Derivation:
    """``Topic.build`` for modules, losses and penalties: derived, proved, claims marked."""
    return build(topic)
