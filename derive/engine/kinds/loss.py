"""The ``loss`` kind: one sample's loss, averaged (or summed) over the samples.

Declared by ``l(y, z)`` per sample (a
:class:`~gradproof.derive.engine.notation.ModuleDeclaration` of kind ``loss``; a
fused loss names its forward output, e.g. ``p = softmax(s)``).  Here, side by
side:

- :func:`derive`: the local derivative ``dl/dz``, the target's constraint
  applied where it cancels (``sum_c y_c = 1``), then batched with ``1/m``;
- :func:`prove`: the loss value and its gradient against SymPy's ``diff`` of
  the explicit loss at non-square sizes;
- :func:`emit`: ``forward(z, y) -> float`` and ``backward(z, y) -> dL/dz``.
"""

from __future__ import annotations

import sympy as sp

from gradproof.derive.engine import mexpr as mx
from gradproof.derive.engine.derivation import ModuleCode, Result, Step
from gradproof.derive.engine.indexform import (
    Deriver,
    clean,
    common_denominator,
    label,
    latex_matrix,
    partial,
    readable_map,
    tidy,
)
from gradproof.derive.engine.matrixform import Binding, Translator
from gradproof.derive.engine.notation import a_, m, s_
from gradproof.derive.output.codegen_numpy.emitter import Function
from gradproof.derive.proof.prove import Session, gradient
from gradproof.derive.proof.zero import simplifies_to_zero

# The kind's name: the generated module's KIND, as numeric/kinds.py spells it.
NAME = "loss"


# ---------------------------------------------------------------------------
# Derivation
# ---------------------------------------------------------------------------


def derive(topic):
    """The unproved derivation of a declared loss."""
    return Deriver(topic).derivation(_messages)


def _messages(dv: Deriver) -> ModuleCode:
    decl = dv.decl
    z, y = decl.arg("input")[0], decl.arg("target")[0]
    ell = decl.forward(dv.bases, None)
    mean = decl.reduction == "mean"
    reduction = sp.Rational(1, 1) / m if mean else sp.Integer(1)
    L = reduction * sp.Sum(dv.batch(ell), (s_, 0, m - 1))
    dv.definition = [
        Step("definition", label("l(y, z)", r"\ell(y, z)"), ell, "loss of one sample"),
        Step("definition", label("L", "L"), L, "mean over the m samples" if mean else "sum over the m samples"),
    ]
    entry_text, entry_latex = (f"z[{a_}]", "z_{%s}" % a_) if z.dims else ("z", "z")
    local_lhs = partial("l", r"\ell", entry_text, entry_latex)
    local = _local_derivative(dv, ell, dv.bases[z.name][a_] if z.dims else dv.bases[z.name], local_lhs)
    dv.results.append(Result("local", local_lhs, index=local))
    extra = {str(dv.out.label): sp.IndexedBase(decl.output.matrix)} if decl.output is not None else {}
    batched = reduction * dv.batch(local, extra)
    batched_lhs = partial(
        "L", "L", f"Z[{s_}, {a_}]" if z.dims else f"z[{s_}]", "z_{%s%s}" % (s_, a_) if z.dims else "z_{%s}" % s_
    )
    dv.step(
        "batch: rows are samples" + (", times 1/m (mean)" if mean else ""),
        batched_lhs,
        batched,
        f"the loss module's input z is {z.matrix} (row {s_}: sample {s_})",
    )
    bindings = dv.bindings()
    if decl.output is not None:
        output_sym = mx.Sym(decl.output.matrix, z.sym().shape, role="output", latex=decl.output.matrix_latex)
        bindings[decl.output.matrix] = Binding(output_sym, 2 if z.dims else 1, vector_as="col")
    gradient = readable_map(Translator(bindings).translate(batched, s_, a_ if z.dims else None))
    gradient_lhs = partial("L", "L", z.matrix, latex_matrix(z))
    dv.step("read off the matrix form", gradient_lhs, gradient)
    loss_matrix = Translator(dv.bindings()).translate(L, None, None)
    dv.results.insert(0, Result("loss", label("L", "L"), index=L, matrix=loss_matrix, shape=(1, 1)))
    dv.results.append(
        Result("backward", gradient_lhs, index=local, index_lhs=local_lhs, matrix=gradient, shape=z.sym().shape)
    )
    output = output_def = None
    if decl.output is not None:
        output = mx.Sym(decl.output.matrix, z.sym().shape, role="output", latex=decl.output.matrix_latex)
        value = dv.batch(decl.output.value(dv.bases, a_ if z.dims else None))
        output_def = Translator(dv.bindings()).translate(value, s_, a_ if z.dims else None)
    return ModuleCode(
        kind=NAME,
        input=z.sym(),
        target=y.sym(),
        hyper=decl.hyper,
        forward=loss_matrix,
        output=output,
        output_def=output_def,
        backward=gradient,
        kinks=decl.kinks,
        kink_points=decl.kink_points,
        params=tuple(p.sym() for p in decl.arg("param")),
        domain=z.domain,
        target_domain=y.domain,
    )


def _local_derivative(dv: Deriver, ell, entry, lhs):
    """``dl/dz`` per sample, each rewriting a step: deltas summed out, the
    output named, the target's constraint used, one common denominator."""
    decl = dv.decl
    raw = sp.diff(ell, entry)
    dv.step("differentiate (SymPy diff)", lhs, raw)
    local = clean(raw)
    if local != raw:
        dv.step("sum out the Kronecker deltas" if raw.has(sp.KroneckerDelta) else "expand", lhs, local)
    # name the output first, so that a constraint of the target visibly
    # cancels (softmax + cross-entropy: p_i sum_c y_c - y_i = p_i - y_i)
    if decl.output is not None:
        try:
            named = tidy(dv.rename_output(local))
        except ValueError:
            named = local
        if named != local:
            dv.step("name the forward output", lhs, named, decl.output.note)
            local = named
    constrained = dv.apply_assumptions(local)
    if constrained != local:
        dv.step("use the target's constraint", lhs, constrained, "; ".join(s for s, _ in decl.assumptions))
    renamed = tidy(dv.rename_output(constrained))
    if renamed != constrained and decl.output is not None:
        dv.step("name the forward output", lhs, renamed, decl.output.note)
    simpler = tidy(sp.simplify(renamed)) if renamed.has(sp.exp) else tidy(renamed)
    over_one = common_denominator(simpler)
    if sp.count_ops(over_one) < sp.count_ops(simpler) and simplifies_to_zero(over_one - simpler):
        simpler = over_one
    if simpler != renamed:
        dv.step("over a common denominator" if simpler is over_one else "simplify", lhs, simpler)
    return simpler


# ---------------------------------------------------------------------------
# Proof
# ---------------------------------------------------------------------------


def prove(topic, d, sizes=None):
    """The loss value and ``dL/dz`` (index and matrix form); returns ``(session, oracle)``."""
    ps = Session.for_topic(topic, sizes)
    decl = ps.decl
    z = decl.arg("input")[0]
    Z = ps.env[z.matrix]
    rows = ps.sizes["m"]
    reduction = sp.Rational(1, rows) if decl.reduction == "mean" else sp.Integer(1)
    losses, outputs = [], {}
    for s in range(rows):
        sub = ps.subs(s)
        losses.append(ps.instantiate(decl.forward(ps.bases, None), sub))
        if decl.output is not None:
            for j in range(Z.cols):
                outputs[(s, j)] = ps.instantiate(decl.output.value(ps.bases, j if z.dims else None), sub)
    L = reduction * sum(losses)
    if decl.output is not None:
        ps.extra_env[decl.output.matrix] = sp.Matrix(Z.rows, Z.cols, lambda a, b: outputs[(a, b)])
    res = {r.key: r for r in d.results}
    ps.compare_matrix(sp.Matrix([[L]]), res["loss"].matrix, "loss")
    expected = gradient(L, Z)
    # the one-hot constraint is exact here: the targets are explicit one-hot rows
    backward = res["backward"]
    got = sp.zeros(*Z.shape)
    for s in range(rows):
        sub = ps.subs(s)
        if decl.output is not None:
            if z.dims:
                out = sp.IndexedBase(decl.output.name)
                sub.update({out[j]: outputs[(s, j)] for j in range(Z.cols)})
            else:
                sub[sp.Symbol(decl.output.name, real=True)] = outputs[(s, 0)]
        for a in range(Z.cols):
            got[s, a] = reduction * ps.instantiate(backward.index.xreplace({a_: a}), sub)
    ps.compare(expected, got, "backward", "exact: index form")
    ps.compare_matrix(expected, backward.matrix, "backward")
    return ps, {"loss": sp.Matrix([[L]]), "backward": expected}


# ---------------------------------------------------------------------------
# Emission
# ---------------------------------------------------------------------------


def emit(ctx) -> list[Function]:
    """``forward(z, y) -> float`` (the mean or sum over samples) and ``backward(z, y) -> dL/dz``."""
    signature = f"{ctx.input}, y{ctx.hyper_sig}"
    return scalar_and_gradient(ctx, signature, {ctx.input, "y"}, ("Loss", "loss"), "backward", "prediction")


def scalar_and_gradient(ctx, signature, available, what, gradient_key, output_is) -> list[Function]:
    """``forward`` returning a float and ``backward`` its gradient (losses and penalties alike)."""
    code = ctx.code
    title, key = what
    needs, text = ctx.body(code.forward, available)
    forward = Function("forward", signature, [f"{title}: {ctx.formula(key)}"], [*needs, f"return float({text})"])
    gradient = ctx.fused(code.backward)
    needs, text = ctx.body(gradient, available)
    body = list(needs)
    if ctx.output_def is not None and ctx.uses_output(gradient):
        body.append(f"{ctx.names[code.output.name]} = {ctx.output_def}  # the {output_is}, reused")
    body.append(f"return {text}")
    return [forward, Function("backward", signature, [f"Gradient: {ctx.formula(gradient_key)}"], body)]
