"""The ``solver`` kind: a closed-form solution and the gradient it zeroes.

Derived by the closed-form topics themselves
(:mod:`gradproof.derive.lecture.closed_forms`: collect ``A w = b``, solve,
prove), so this unit holds only the emission: ``solve(X, y) -> w*`` (least
squares, never the normal equations) and ``gradient(X, y, w) -> dL/dw``.
"""

from __future__ import annotations

from gradproof.derive.output.codegen_numpy.emitter import Function
from gradproof.numeric.kinds import SOLVER

NAME = SOLVER
INPUT_NAME = "X"  # the design matrix, as the lecture writes it


def emit(ctx) -> list[Function]:
    code = ctx.code
    name, g = code.grads[0]
    solve_needs, solve_text = ctx.body(code.forward, {"X", "y"})
    grad_needs, grad_text = ctx.body(g, {"X", "y", name})
    ctx.printer.not_analytic.add("linalg")
    return [
        Function(
            "solve",
            f"X, y{ctx.hyper_sig}",
            [f"Closed form: {ctx.formula('solution')}"],
            [*solve_needs, f"return {solve_text}"],
        ),
        Function(
            "gradient",
            f"X, y, {name}{ctx.hyper_sig}",
            [f"Gradient of the loss, zero at the solution: {ctx.formula('gradient')}"],
            [*grad_needs, f"return {grad_text}"],
        ),
    ]
