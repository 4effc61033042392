"""The lecture's models, composed from its modules by the chain rule.

A model is declared by the module topics it composes (:class:`ModelDeclaration`);
how it is derived, proved and emitted is the ``model`` kind's unit,
:mod:`gradproof.derive.engine.kinds.model`: the loss module's local
derivative is passed backwards through each module's backward message, and
the first layer's parameter message turns it into ``dL/dw``; the composed
result is proved exactly against SymPy's differentiation of the whole
explicit model, composed from the modules' own declarations.
"""

from __future__ import annotations

from dataclasses import dataclass

from gradproof.derive.engine.derivation import Derivation
from gradproof.derive.engine.kinds import model as model_kind
from gradproof.derive.engine.kinds.table import build


@dataclass(frozen=True)
class ModelDeclaration:
    """``layer`` (linear_neuron or linear), optional ``activation`` and ``loss``
    module topics; ``reduction`` of the loss over samples."""

    layer: str
    activation: str
    loss: str
    reduction: str  # "sum" or "mean"
    output: str  # per-sample output name ("yhat" or "p")
    output_matrix: str  # "yhat" or "P"
    onehot: bool = False

    @property
    def kind(self) -> str:
        return model_kind.NAME


def build_model(topic) -> Derivation:
    """``Topic.build`` for models: derived from the modules' results, proved, claims marked."""
    return build(topic)
