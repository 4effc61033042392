"""How a module, loss, penalty or model declaration registers itself.

``topics_modules`` declares; these two helpers file each declaration in the
registry under its part of the lecture, with the engine that derives it.
"""

from __future__ import annotations

from gradproof.derive.engine.modules import build_module
from gradproof.derive.lecture.models import build_model
from gradproof.derive.lecture.registry import Topic, register


def module(name, title, category, order, summary, declaration, claims=(), notes=(), sizes=None, tags=()):
    extra = {"notes": tuple(notes)}
    if sizes:
        extra["sizes"] = sizes
    return register(
        Topic(
            name=name,
            title=title,
            category=category,
            section=_SECTIONS[category],
            order=order,
            summary=summary,
            build=build_module,
            declaration=declaration,
            claims=tuple(claims),
            tags=tuple(tags),
            extra=extra,
        )
    )


_SECTIONS = {
    "neuron": "Neuron types",
    "layer": "Layers",
    "activation": "Activation functions",
    "loss": "Loss functions",
    "fused": "Loss functions",
    "penalty": "Regularization",
    "model": "Computing loss gradients via backpropagation",
}


def model(name, title, order, summary, declaration, claims=(), notes=()):
    return register(
        Topic(
            name=name,
            title=title,
            category="model",
            section=_SECTIONS["model"],
            order=order,
            summary=summary,
            build=build_model,
            declaration=declaration,
            claims=tuple(claims),
            extra={"notes": tuple(notes)},
        )
    )
