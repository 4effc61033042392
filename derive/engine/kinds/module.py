"""The ``module`` kind: a layer or an activation, one forward and one backward message.

Declared by its forward map per sample, ``z^{l+1}_j = f_j(z^l; params)``
(a :class:`~gradproof.derive.engine.notation.ModuleDeclaration` of kind
``module``).  Here, side by side:

- :func:`derive`: the local Jacobian, the backward message
  ``delta^l_i = sum_j delta^{l+1}_j dz^{l+1}_j/dz^l_i``, each parameter
  message, all batched (rows are samples) and read off in matrix form;
- :func:`prove`: each result against SymPy's ``diff`` of
  ``L = sum(Delta * forward(Z))`` at explicit non-square sizes;
- :func:`emit`: ``forward(z, *params)`` and ``backward(delta, z, *params)``.
"""

from __future__ import annotations

import sympy as sp

from gradproof.derive.engine import mexpr as mx
from gradproof.derive.engine.derivation import ModuleCode, Result, Step
from gradproof.derive.engine.indexform import (
    Deriver,
    clean,
    label,
    latex_matrix,
    latex_name_of,
    partial,
    tidy,
)
from gradproof.derive.engine.matrixform import Translator
from gradproof.derive.engine.notation import a_, c_, j_, m, s_
from gradproof.derive.output.codegen_numpy.emitter import Function
from gradproof.derive.proof.prove import Session, gradient

# The kind's name: the generated module's KIND, as numeric/kinds.py spells it.
NAME = "module"

# The next layer's activation, as the lecture writes it (text and LaTeX alike).
NEXT_Z = "z^{l+1}"


def _jacobian_label(wrt_text: str, wrt_latex: str):
    return partial(f"{NEXT_Z}[j]", NEXT_Z + "_j", wrt_text, wrt_latex)


# ---------------------------------------------------------------------------
# Derivation
# ---------------------------------------------------------------------------


def derive(topic):
    """The unproved derivation of a declared module."""
    return Deriver(topic).derivation(_messages)


def _messages(dv: Deriver) -> ModuleCode:
    decl = dv.decl
    z = decl.arg("input")[0]
    forward = decl.forward(dv.bases, j_)
    dv.definition = [
        Step("definition", label(f"{NEXT_Z}[j]", NEXT_Z + "_{j}"), forward, "forward message, one sample"),
    ]
    jacobian = _local_jacobian(dv, forward, dv.bases[z.name])
    backward = _backward_message(dv, jacobian, z)
    grads = [_parameter_message(dv, forward, p) for p in decl.arg("param")]
    forward_matrix = Translator(dv.message_bindings()).translate(
        dv.batch(forward), s_, j_ if decl.out_dim != 1 else None
    )
    dv.results.insert(
        0,
        Result(
            "forward",
            label(decl.out_matrix, latex_name_of(decl)),
            index=forward,
            index_lhs=label(f"{NEXT_Z}[j]", NEXT_Z + "_j"),
            matrix=forward_matrix,
            shape=forward_matrix.shape,
        ),
    )
    output = None
    if decl.output is not None:
        output = mx.Sym(decl.output.matrix, forward_matrix.shape, role="output", latex=decl.output.matrix_latex)
    return ModuleCode(
        kind=NAME,
        input=z.sym(),
        params=tuple(p.sym() for p in decl.arg("param")),
        hyper=decl.hyper,
        forward=forward_matrix,
        output=output,
        output_def=forward_matrix if output is not None else None,
        upstream=mx.Sym("Delta", forward_matrix.shape, role="upstream"),
        backward=backward,
        grads=tuple(grads),
        kinks=decl.kinks,
        kink_points=decl.kink_points,
        domain=z.domain,
    )


def _local_jacobian(dv: Deriver, forward, z_base):
    decl = dv.decl
    lhs = _jacobian_label(f"z[{a_}]", "z^{l}_{%s}" % a_)
    raw = sp.diff(forward, z_base[a_])
    dv.step("differentiate (SymPy diff)", lhs, raw)
    jacobian = clean(raw)
    if jacobian != raw:
        dv.step("sum out Kronecker deltas, drop index-range conditions", lhs, jacobian)
    named = tidy(dv.rename_output(jacobian))
    if named != jacobian and decl.output is not None:
        dv.step("name the forward output", lhs, named, decl.output.note)
    dv.results.append(Result("jacobian", lhs, index=named))
    return named


def _message_extra(dv: Deriver) -> dict:
    """Batched names of the incoming message and of the forward output."""
    extra = {"delta": sp.IndexedBase("Delta")}
    if dv.out is not None:
        out_label = dv.out.label
        extra[out_label.name if hasattr(out_label, "name") else str(out_label)] = sp.IndexedBase(dv.decl.output.matrix)
    return extra


def _backward_message(dv: Deriver, jacobian, z):
    delta = sp.IndexedBase("delta")
    lhs = label(f"delta^l[{a_}]", r"\delta^{l}_{%s}" % a_)
    raw = sp.Sum(delta[j_] * jacobian, (j_, 0, dv.decl.out_dim - 1))
    dv.step("chain rule (backward message)", lhs, raw, "delta^l_i = sum_j delta^{l+1}_j dz^{l+1}_j / dz^l_i")
    message = tidy(clean(raw))
    if message != raw:
        dv.step("sum out Kronecker deltas", lhs, message)
    batched = dv.batch(message, _message_extra(dv))
    dv.step("batch: rows are samples", label(f"Delta^l[{s_}, {a_}]", r"\Delta^{l}_{%s,%s}" % (s_, a_)), batched)
    matrix = Translator(dv.message_bindings()).translate(batched, s_, a_, shape=z.sym().shape)
    matrix_lhs = label("Delta^l", r"\boldsymbol{\Delta}^{l}")
    dv.step("read off the matrix form", matrix_lhs, matrix)
    dv.results.append(Result("backward", matrix_lhs, index=message, index_lhs=lhs, matrix=matrix, shape=z.sym().shape))
    return matrix


def _parameter_message(dv: Deriver, forward, p):
    entry_index = (a_, c_) if len(p.dims) == 2 else (c_,)
    entry_text = f"{p.name}[{', '.join(map(str, entry_index))}]"
    entry_latex = "%s_{%s}" % (p.latex or p.name, "".join(map(str, entry_index)))
    raw = sp.diff(forward, dv.bases[p.name][entry_index])
    local_lhs = _jacobian_label(entry_text, entry_latex)
    dv.step("differentiate (SymPy diff)", local_lhs, raw)
    local = tidy(dv.rename_output(clean(raw)))
    if local != raw:
        dv.step("sum out Kronecker deltas", local_lhs, local)
    dv.results.append(Result(f"jacobian:{p.name}", local_lhs, index=local))
    delta = sp.IndexedBase("delta")
    lhs = partial("L", "L", entry_text, entry_latex)
    raw_grad = sp.Sum(delta[j_] * local, (j_, 0, dv.decl.out_dim - 1))
    note = f"dL/d{entry_text} = sum_j delta^{{l+1}}_j dz^{{l+1}}_j / d{entry_text}"
    dv.step("chain rule (parameter message)", lhs, raw_grad, note)
    grad = tidy(clean(raw_grad))
    if grad != raw_grad:
        dv.step("sum out Kronecker deltas", lhs, grad)
    batched = dv.batch(grad, _message_extra(dv))
    summed = sp.Sum(batched, (s_, 0, m - 1)) if batched != 0 else sp.Integer(0)
    dv.step("batch: sum over samples", lhs, summed)
    if len(entry_index) == 2:
        row, col = entry_index
    else:
        row, col = (None, entry_index[0]) if p.vector_as == "row" else (entry_index[0], None)
    matrix = Translator(dv.message_bindings()).translate(summed, row, col, shape=p.sym().shape)
    matrix_lhs = partial("L", "L", p.matrix, latex_matrix(p))
    dv.step("read off the matrix form", matrix_lhs, matrix)
    dv.results.append(
        Result(f"grad:{p.name}", matrix_lhs, index=grad, index_lhs=lhs, matrix=matrix, shape=p.sym().shape)
    )
    return (p.name, matrix)


# ---------------------------------------------------------------------------
# Proof
# ---------------------------------------------------------------------------


def prove(topic, d, sizes=None):
    """Every result against SymPy's ``diff`` of ``L = sum(Delta * F)``; returns ``(session, oracle)``."""
    ps = Session.for_topic(topic, sizes)
    decl = ps.decl
    rows = ps.sizes["m"]
    out_dim = int(sp.sympify(decl.out_dim, strict=True).subs(ps.dims))
    F = sp.zeros(rows, out_dim)
    for s in range(rows):
        sub = ps.subs(s)
        for j in range(out_dim):
            F[s, j] = ps.instantiate(decl.forward(ps.bases, j), sub)
    D = sp.Matrix(rows, out_dim, lambda a, b: sp.Symbol(f"Delta_{a}{b}", real=True))
    L = sum(D[a, b] * F[a, b] for a in range(rows) for b in range(out_dim))
    ps.extra_env = {"Delta": D}
    if decl.output is not None:
        ps.extra_env[decl.output.matrix] = F
    res = {r.key: r for r in d.results}
    ps.compare_matrix(F, res["forward"].matrix, "forward")
    Z = ps.env[decl.arg("input")[0].matrix]
    _prove_jacobian(ps, res["jacobian"].index, F, Z)
    oracle = {"forward": F, "backward": gradient(L, Z)}
    _prove_message(ps, res["backward"], oracle["backward"], F, D, lambda a, c: {a_: c}, rows_are_samples=True)
    for p in decl.arg("param"):
        oracle[f"grad:{p.name}"] = gradient(L, ps.env[p.matrix])
        entry = (lambda a, c: {a_: a, c_: c}) if len(p.dims) == 2 else (lambda a, c: {c_: max(a, c)})
        _prove_message(ps, res[f"grad:{p.name}"], oracle[f"grad:{p.name}"], F, D, entry)
    return ps, oracle


def _sample_subs(ps: Session, s: int, F, D=None) -> dict:
    """Sample ``s``'s entries, its incoming message and its forward output."""
    sub = ps.subs(s)
    out_dim = F.cols
    if D is not None:
        delta = sp.IndexedBase("delta")
        sub.update({delta[j]: D[s, j] for j in range(out_dim)})
    if ps.decl.output is not None:
        out = sp.IndexedBase(ps.decl.output.name)
        sub.update({out[j]: F[s, j] for j in range(out_dim)})
    return sub


def _prove_jacobian(ps: Session, J, F, Z) -> None:
    expected, got = [], []
    for s in range(F.rows):
        sub = _sample_subs(ps, s, F)
        for j in range(F.cols):
            for a in range(Z.cols):
                expected.append(sp.diff(F[s, j], Z[s, a]))
                got.append(ps.instantiate(J.xreplace({j_: j, a_: a}), sub))
    ps.compare(sp.Matrix(expected), sp.Matrix(got), "jacobian", "exact: index form")


def _prove_message(ps: Session, result, expected, F, D, entry, rows_are_samples=False) -> None:
    """A message's index form and its matrix form.

    The backward message has a row per sample (``rows_are_samples``); a
    parameter message sums its per-sample index form over the samples.
    """
    got = sp.zeros(*expected.shape)
    for s in range(F.rows):
        sub = _sample_subs(ps, s, F, D)
        if rows_are_samples:
            for a in range(expected.cols):
                got[s, a] = ps.instantiate(result.index.xreplace(entry(a, a)), sub)
            continue
        for a in range(expected.rows):
            for c in range(expected.cols):
                got[a, c] += ps.instantiate(result.index.xreplace(entry(a, c)), sub)
    ps.compare(expected, got, result.key, "exact: index form")
    ps.compare_matrix(expected, result.matrix, result.key)


# ---------------------------------------------------------------------------
# Emission
# ---------------------------------------------------------------------------


def emit(ctx) -> list[Function]:
    """``forward(z, *params)`` and ``backward(delta, z, *params) -> (delta_in, {param: dL/dparam})``."""
    code = ctx.code
    signature = f"{ctx.input}{ctx.param_sig}{ctx.hyper_sig}"
    forward_needs, forward_text = ctx.body(code.forward, {ctx.input, *ctx.params})
    forward = Function(
        "forward", signature, [f"Forward message: {ctx.formula('forward')}"], [*forward_needs, f"return {forward_text}"]
    )
    backward_expr = ctx.fused(code.backward)
    grad_exprs = [(name, ctx.fused(g)) for name, g in code.grads]
    available = {ctx.input, "delta", *ctx.params}
    needs, backward_text = ctx.body(backward_expr, available)
    grads = []
    for name, g in grad_exprs:
        grad_needs, grad_text = ctx.body(g, available)
        needs += [x for x in grad_needs if x not in needs]
        if isinstance(g, mx.ColSum):  # a bias: NumPy's (K,), the shape of the parameter
            grad_text = f"{grad_text}.reshape(np.shape({name}))"
        grads.append((name, grad_text))
    body = list(needs)
    if ctx.output_def is not None and ctx.uses_output(backward_expr, *(g for _, g in grad_exprs)):
        body.append(f"{ctx.names[code.output.name]} = {ctx.output_def}  # the forward output, reused")
    body.append(f"delta_in = {backward_text}")
    body.append("return delta_in, {" + ", ".join(f'"{p}": {t}' for p, t in grads) + "}")
    doc = [
        f"Backward message and parameter messages: {ctx.formula('backward')}",
        "",
        "Returns (delta_in, {parameter name: dL/dparameter}).",
    ]
    return [forward, Function("backward", f"delta, {signature}", doc, body)]
