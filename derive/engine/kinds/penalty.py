"""The ``penalty`` kind: a regulariser ``R(W)`` added to the loss.

Declared by ``R`` as a function of one weight matrix (a
:class:`~gradproof.derive.engine.notation.ModuleDeclaration` of kind ``penalty``).
Here, side by side:

- :func:`derive`: ``dR/dw_ik`` entry by entry (a subgradient stated where the
  penalty has a kink), read off in matrix form;
- :func:`prove`: the penalty and its gradient against SymPy's ``diff`` of the
  explicit penalty;
- :func:`emit`: ``forward(W) -> float`` and ``backward(W) -> dR/dW``.
"""

from __future__ import annotations

import sympy as sp

from gradproof.derive.engine.derivation import ModuleCode, Result, Step
from gradproof.derive.engine.indexform import Deriver, clean, label, latex_matrix, partial, tidy
from gradproof.derive.engine.kinds.loss import scalar_and_gradient
from gradproof.derive.engine.matrixform import Binding, Translator
from gradproof.derive.engine.notation import a_, c_
from gradproof.derive.output.codegen_numpy.emitter import Function
from gradproof.derive.proof.prove import Session, gradient

# The kind's name: the generated module's KIND, as numeric/kinds.py spells it.
NAME = "penalty"


def derive(topic):
    """The unproved derivation of a declared penalty."""
    return Deriver(topic).derivation(_messages)


def _messages(dv: Deriver) -> ModuleCode:
    decl = dv.decl
    w = decl.arg("param")[0]
    penalty = decl.forward(dv.bases, None)
    dv.definition = [Step("definition", label("R(W)", "R(\\mathbf{W})"), penalty, "penalty added to the loss")]
    raw = sp.diff(penalty, dv.bases[w.name][a_, c_])
    entry_lhs = partial("R", "R", f"W[{a_}, {c_}]", "w_{%s%s}" % (a_, c_))
    dv.step("differentiate (SymPy diff)", entry_lhs, raw)
    grad = tidy(clean(raw))
    if grad != raw:
        dv.step("sum out Kronecker deltas", entry_lhs, grad)
    stated = dv.apply_assumptions(grad)
    if stated != grad:
        dv.step("state the subgradient", entry_lhs, stated, "; ".join(s for s, _ in decl.assumptions))
        grad = stated
    bindings = {w.name: Binding(w.sym(), 2)}
    grad_matrix = Translator(bindings).translate(grad, a_, c_)
    matrix_lhs = partial("R", "R", w.matrix, latex_matrix(w))
    dv.step("read off the matrix form", matrix_lhs, grad_matrix)
    penalty_matrix = Translator(bindings).translate(penalty, None, None)
    dv.results.append(Result("penalty", label("R", "R"), index=penalty, matrix=penalty_matrix, shape=(1, 1)))
    dv.results.append(
        Result(f"grad:{w.name}", matrix_lhs, index=grad, index_lhs=entry_lhs, matrix=grad_matrix, shape=w.sym().shape)
    )
    return ModuleCode(
        kind=NAME,
        input=w.sym(),
        params=(w.sym(),),
        hyper=decl.hyper,
        forward=penalty_matrix,
        backward=grad_matrix,
        grads=((w.name, grad_matrix),),
        kinks=decl.kinks,
        kink_points=decl.kink_points,
    )


def prove(topic, d, sizes=None):
    """The penalty and ``dR/dW`` (index and matrix form); returns ``(session, oracle)``."""
    ps = Session.for_topic(topic, sizes)
    w = ps.decl.arg("param")[0]
    W = ps.env[w.matrix]
    sub = ps.subs(0)
    value = ps.instantiate(ps.decl.forward(ps.bases, None), sub)
    res = {r.key: r for r in d.results}
    ps.compare_matrix(sp.Matrix([[value]]), res["penalty"].matrix, "penalty")
    expected = gradient(value, W)
    grad = res[f"grad:{w.name}"]
    got = sp.zeros(*W.shape)
    for a in range(W.rows):
        for c in range(W.cols):
            got[a, c] = ps.instantiate(grad.index.xreplace({a_: a, c_: c}), sub)
    ps.compare(expected, got, f"grad:{w.name}", "exact: index form")
    ps.compare_matrix(expected, grad.matrix, f"grad:{w.name}")
    return ps, {"penalty": sp.Matrix([[value]]), f"grad:{w.name}": expected}


def emit(ctx) -> list[Function]:
    """``forward(W) -> float`` and ``backward(W) -> dR/dW``."""
    weights = ctx.names[ctx.code.input.name]
    key = "grad:" + ctx.code.input.name
    return scalar_and_gradient(ctx, f"{weights}{ctx.hyper_sig}", {weights}, ("Penalty", "penalty"), key, "prediction")
