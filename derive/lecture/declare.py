"""How a module, loss, penalty or model declaration registers itself.

``topics_modules`` declares; these two helpers file each declaration in the
registry under its part of the lecture, with the engine that derives it, and
give its claims the names the declaration defines (:func:`module_symbols`,
:func:`model_symbols`): a claim's text is read with exactly those.
"""

from __future__ import annotations

from gradproof.derive.engine import mexpr as mx
from gradproof.derive.engine.modules import K, a_, build_module, c_, j_, m, n
from gradproof.derive.lecture.models import build_model
from gradproof.derive.lecture.registry import Topic, register
from gradproof.derive.reading.claims import Symbols

# How the lecture spells a hyperparameter whose SymPy name is shorter.
_SPELLED = {"lam": "lambda"}


def module_symbols(declaration, aliases=None) -> Symbols:
    """The names a module's claims may use, from its declaration.

    Each argument's batched matrix (``Z``, ``W``, ``Y``) with its role, the
    incoming message ``Delta`` of a module, the named forward output (``A``,
    ``P``, ``yhat``), the hyperparameters, the dimensions ``m, n, K``; the
    entries of every argument under its name and its lecture letter (``W``'s
    ``w_ij``); the free indices ``i`` (over the inputs), ``j`` (over the
    outputs) and ``k`` (over a weight matrix's columns).  ``aliases`` maps a
    slide's name to a declared one (``X`` for the layer input ``Z``).
    """
    matrices, arrays = {}, {}
    scalars = {"m": m, "n": n, "K": K}
    for arg in declaration.args:
        matrices[arg.matrix] = arg.sym()
        if arg.dims:
            for name in (arg.name, arg.latex):
                if name and name.isalpha():
                    arrays.setdefault(name, (arg.base(), arg.dims))
    inputs = declaration.arg("input")
    out_shape = inputs[0].batched_shape() if inputs else None  # a loss's output is shaped like its input
    if declaration.kind == "module":
        out_dim = declaration.out_dim if declaration.out_dim is not None else inputs[0].dims[0]
        matrices["Delta"] = mx.Sym("Delta", (m, out_dim), role="upstream")
        out_shape = (m, out_dim)
    if declaration.output is not None:
        matrices[declaration.output.matrix] = mx.Sym(declaration.output.matrix, out_shape, role="output")
    for h, _ in declaration.hyper:
        scalars[h.name] = h
        scalars.setdefault(_SPELLED.get(h.name, h.name), h)
    for alias, name in (aliases or {}).items():
        matrices[alias] = matrices[name]
    return Symbols(matrices=matrices, scalars=scalars, arrays=arrays, indices={"i": a_, "j": j_, "k": c_})


def model_symbols(declaration) -> Symbols:
    """The names a model's claims may use: the data ``X``, the parameter, the target, the prediction.

    The prediction answers to its matrix name (``yhat``, ``P``) and to the
    lecture's ``yhat`` / ``Yhat``.
    """
    cols = K if declaration.onehot else 1
    target, param = ("Y", "W") if declaration.onehot else ("y", "w")
    out = mx.Sym(declaration.output_matrix, (m, cols), role="output")
    matrices = {
        "X": mx.Sym("X", (m, n)),
        param: mx.Sym(param, (n, cols), role="param"),
        target: mx.Sym(target, (m, cols), role="target"),
        declaration.output_matrix: out,
        "Yhat" if declaration.onehot else "yhat": out,
    }
    return Symbols(matrices=matrices, scalars={"m": m, "n": n, "K": K})


def module(name, title, category, order, summary, declaration, claims=(), notes=(), sizes=None, tags=(), aliases=None):
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
            symbols=module_symbols(declaration, aliases),
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
            symbols=model_symbols(declaration),
        )
    )
