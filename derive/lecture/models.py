"""The lecture's models, composed from its modules by the chain rule.

As on the backpropagation slides, a model's gradient is never differentiated
in one piece: the loss module's local derivative is passed backwards through
each module's backward message, and the first layer's parameter message turns
it into ``dL/dw``.  Every local derivative used here is a *result of the
module's own derivation* (``derive(module).result(...)``), renamed into the
model's variables; the composed result is then proved exactly against SymPy's
differentiation of the whole explicit model at small sizes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import sympy as sp

from gradproof.derive.engine import mexpr as mx
from gradproof.derive.engine.derivation import Derivation, Label, ModuleCode, Proof, Result, Step
from gradproof.derive.engine.matrixform import Binding, Translator
from gradproof.derive.engine.modules import K, a_, c_, clean, m, n, s_, tidy
from gradproof.derive.lecture.registry import derive
from gradproof.derive.proof.prove import _compare, _safe, prove_claim


@dataclass(frozen=True)
class ModelSpec:
    """``layer`` (linear_neuron or linear), optional ``activation`` and ``loss``
    module topics; ``reduction`` of the loss over samples."""

    layer: str
    activation: str
    loss: str
    reduction: str  # "sum" or "mean"
    output: str  # per-sample output name ("yhat" or "p")
    output_matrix: str  # "yhat" or "P"
    onehot: bool = False


def _lbl(t, l):
    return Label(t, l)


def build_model(topic) -> Derivation:
    spec: ModelSpec = topic.spec
    steps: list[Step] = []
    notes: list[str] = []
    lay = derive(spec.layer)
    act = derive(spec.activation) if spec.activation else None
    los = derive(spec.loss)
    vector = spec.onehot  # multinomial: K outputs per sample
    x = sp.IndexedBase("x", real=True)
    y_t = sp.IndexedBase("y", real=True) if vector else sp.Symbol("y", real=True)
    out = sp.IndexedBase(spec.output) if vector else sp.Symbol(spec.output, real=True)
    pname = "W" if vector else "w"

    definition = [
        Step(
            "definition",
            _lbl("model", r"\text{model}"),
            _lbl(
                " -> ".join(st for st in (spec.layer, spec.activation, spec.loss) if st),
                r" \to ".join(
                    r"\text{%s}" % st.replace("_", " ") for st in (spec.layer, spec.activation, spec.loss) if st
                ),
            ),
            "the modules composed, as on the lecture's backpropagation slides",
        ),
    ]

    # 1. the loss module's local derivative, in the model's names
    local = los.result("local").index
    zl = sp.IndexedBase("z", real=True) if vector else sp.Symbol("z", real=True)
    local = (
        local.xreplace({zl: out})
        if not vector
        else local.replace(lambda e: isinstance(e, sp.Indexed) and e.base == zl, lambda e: out[e.indices])
    )
    if vector:
        local = local.replace(lambda e: isinstance(e, sp.Indexed) and str(e.base) == "y", lambda e: y_t[e.indices])
    lab_loss = _lbl(
        f"dl/d{spec.output}", r"\frac{\partial \ell}{\partial %s}" % (r"p_{%s}" % a_ if vector else r"\hat{y}")
    )
    steps.append(Step(f"loss module ({spec.loss}): local derivative", lab_loss, local))

    # 2. back through the activation module
    if vector:
        back = act.result("backward").index  # in p (output) and delta
        delta = sp.IndexedBase("delta")
        kk = sp.Symbol("k_", integer=True)
        pb = sp.IndexedBase("p")
        chained = back.replace(
            lambda e: isinstance(e, sp.Indexed) and e.base == delta, lambda e: local.xreplace({a_: e.indices[0]})
        )
        chained = chained.replace(lambda e: isinstance(e, sp.Indexed) and e.base == pb, lambda e: out[e.indices])
        lab_s = _lbl(f"dl/ds[{a_}]", r"\frac{\partial \ell}{\partial s_{%s}}" % a_)
        steps.append(Step(f"backward message of {spec.activation}, with delta from the loss", lab_s, chained))
        ds = clean(chained)
        ds2 = ds.replace(lambda e: isinstance(e, sp.Sum) and e.function == y_t[e.limits[0][0]], lambda e: sp.Integer(1))
        if ds2 != ds:
            notes.append("one-hot targets: sum_c y_c = 1")
            steps.append(Step("one-hot targets: sum_c y_c = 1", lab_s, ds2))
        ds = tidy(sp.expand(ds2))
        steps.append(Step("simplify", lab_s, ds))
    elif act is None:
        ds = local  # the linear neuron's output is the prediction itself
    else:
        jac = act.result("jacobian").index  # a_j (1 - a_j) [[j = a]]
        ab = sp.IndexedBase("a")
        jj = sp.Symbol("j", integer=True)
        local_act = jac.xreplace({jj: a_}).doit()
        local_act = local_act.replace(lambda e: isinstance(e, sp.Indexed) and e.base == ab, lambda e: out)
        lab_a = _lbl(f"d{spec.output}/ds", r"\frac{\partial \hat{y}}{\partial s}")
        steps.append(Step(f"activation module ({spec.activation}): local derivative", lab_a, local_act))
        lab_s = _lbl("dl/ds", r"\frac{\partial \ell}{\partial s}")
        prod = local * local_act
        steps.append(Step("chain rule", lab_s, sp.Mul(local, local_act, evaluate=False)))
        ds = tidy(sp.factor(sp.cancel(prod)))
        steps.append(Step("simplify", lab_s, ds))

    # 3. the layer's parameter message
    if vector:
        gW = lay.result("grad:W").index  # delta[c] * z[a]
        delta = sp.IndexedBase("delta")
        zb = sp.IndexedBase("z", real=True)
        g = gW.replace(
            lambda e: isinstance(e, sp.Indexed) and e.base == delta, lambda e: ds.xreplace({a_: e.indices[0]})
        )
        g = g.replace(lambda e: isinstance(e, sp.Indexed) and e.base == zb, lambda e: x[e.indices])
        lab_g = _lbl(f"dl/dW[{a_}, {c_}]", r"\frac{\partial \ell}{\partial w_{%s%s}}" % (a_, c_))
    else:
        gw = lay.result("grad:w").index  # delta[0] * z[c]  (per sample)
        delta = sp.IndexedBase("delta")
        zb = sp.IndexedBase("z", real=True)
        g = gw.replace(lambda e: isinstance(e, sp.Indexed) and e.base == delta, lambda e: ds)
        g = g.replace(lambda e: isinstance(e, sp.Indexed) and e.base == zb, lambda e: x[e.indices])
        lab_g = _lbl(f"dl/dw[{c_}]", r"\frac{\partial \ell}{\partial w_{%s}}" % c_)
    steps.append(Step(f"parameter message of {spec.layer}, with delta = dl/ds", lab_g, g))
    g = tidy(g)

    # 4. batch: sum (or average) over the samples
    X, Y, O = sp.IndexedBase("X"), sp.IndexedBase("Y" if vector else "y"), sp.IndexedBase(spec.output_matrix)

    def batch(e):
        e = e.replace(lambda t: isinstance(t, sp.Indexed) and t.base == x, lambda t: X[s_, t.indices[0]])
        if vector:
            e = e.replace(lambda t: isinstance(t, sp.Indexed) and t.base == y_t, lambda t: Y[s_, t.indices[0]])
            e = e.replace(lambda t: isinstance(t, sp.Indexed) and t.base == out, lambda t: O[s_, t.indices[0]])
        else:
            e = e.xreplace({y_t: Y[s_], out: O[s_]})
        return e

    red = sp.Integer(1) / m if spec.reduction == "mean" else sp.Integer(1)
    gsum = red * sp.Sum(batch(g), (s_, 0, m - 1))
    lab_G = _lbl(f"dL/d{pname}", r"\frac{\partial L}{\partial \mathbf{%s}}" % pname)
    steps.append(
        Step("batch: " + ("average" if spec.reduction == "mean" else "sum") + " over the m samples", lab_G, gsum)
    )
    Xs = mx.Sym("X", (m, n))
    if vector:
        shapes = {"Y": (m, K), spec.output_matrix: (m, K)}
        Ws = mx.Sym("W", (n, K), role="param")
    else:
        shapes = {"y": (m, 1), spec.output_matrix: (m, 1)}
        Ws = mx.Sym("w", (n, 1), role="param")
    bindings = {"X": Binding(Xs, 2)}
    for nm, shp in shapes.items():
        role = "output" if nm == spec.output_matrix else "target"
        bindings[nm] = Binding(mx.Sym(nm, shp, role=role, latex=_tex(nm)), 2 if vector else 1, vector_as="col")
    if vector:
        G = Translator(bindings).translate(gsum, a_, c_)
    else:
        G = Translator(bindings).translate(gsum, c_, None)
    steps.append(Step("read off the matrix form", lab_G, G))

    # forward pass in matrix form: the prediction the gradient is written in
    if vector:
        fwd = mx.Softmax(mx.MatMul(Xs, Ws))
    elif act is None:
        fwd = mx.MatMul(Xs, Ws)
    else:
        act_map = act.result("forward").matrix  # f(Z) elementwise
        fwd = _substitute_input(act_map, mx.MatMul(Xs, Ws))
    out_sym = bindings[spec.output_matrix].sym
    results = [
        Result("forward", _lbl(spec.output_matrix, _tex(spec.output_matrix)), matrix=fwd, shape=out_sym.shape),
        Result(f"grad:{pname}", lab_G, index=g, index_lhs=lab_g, matrix=G, shape=Ws.shape),
    ]

    # the loss value: the loss module's matrix form with the prediction substituted
    loss_code = los.code
    Lm = mx.substitute(los.result("loss").matrix, {loss_code.input.name: fwd})
    if spec.reduction != los_reduction(spec.loss):
        from gradproof.derive.engine.matrixform import scale

        Lm = scale(m if spec.reduction == "sum" else 1 / m, Lm)
    results.insert(0, Result("loss", _lbl("L", "L"), matrix=Lm, shape=(1, 1)))
    target = bindings["Y" if vector else "y"].sym
    code = ModuleCode(
        kind="model",
        input=Xs,
        target=target,
        params=(Ws,),
        forward=Lm,
        output=out_sym,
        output_def=fwd,
        grads=((pname, G),),
        target_domain="onehot" if vector else ("binary" if spec.activation == "sigmoid" else "real"),
    )
    d = Derivation(
        topic=topic.name,
        title=topic.title,
        kind=topic.kind,
        section=topic.section,
        summary=topic.summary,
        definition=tuple(definition),
        steps=tuple(steps),
        results=tuple(results),
        claims=tuple(topic.claims),
        notes=tuple(notes),
        code=code,
    )
    proofs = _prove_model(spec, d, fwd, G, Xs, Ws, out_sym, vector, pname, act, Lm)
    from gradproof.derive.engine.modules import _mark_claimed

    return replace(d, proofs=tuple(proofs), results=tuple(_mark_claimed(d.results, d.claims, proofs)))


def los_reduction(name):
    from gradproof.derive.lecture.registry import get

    return get(name).spec.reduction


def _tex(name):
    return {"yhat": r"\hat{\mathbf{y}}", "P": r"\mathbf{P}", "Y": r"\mathbf{Y}", "y": r"\mathbf{y}"}.get(name, name)


def _substitute_input(expr, new):
    """Replace the module input ``Z`` in a matrix form by ``new``."""
    if isinstance(expr, mx.Sym):
        return new if expr.name == "Z" else expr
    if isinstance(expr, mx.Map):
        return mx.Map(expr.expr, tuple((p, _substitute_input(a, new)) for p, a in expr.args))
    raise ValueError(f"cannot substitute into {type(expr).__name__}")


def _prove_model(spec, d, fwd, G, Xs, Ws, out_sym, vector, pname, act, Lm):
    from gradproof.derive.lecture.functions import sigmoid
    from gradproof.derive.proof.prove import SIZES

    mm, nn, KK = SIZES["m"], SIZES["n"], SIZES["K"]
    dims = {m: mm, n: nn, K: KK}
    sizes_text = f"m={mm}, n={nn}" + (f", K={KK}" if vector else "")
    Xe = sp.Matrix(mm, nn, lambda a, b: sp.Symbol(f"X_{a}{b}", real=True))
    if vector:
        We = sp.Matrix(nn, KK, lambda a, b: sp.Symbol(f"W_{a}{b}", real=True))
        Ye = sp.zeros(mm, KK)
        for s in range(mm):
            Ye[s, (2 * s + 1) % KK] = 1
        S = Xe * We
        P = sp.Matrix(mm, KK, lambda a, b: sp.exp(S[a, b]) / sum(sp.exp(S[a, c]) for c in range(KK)))
        L = -sum(Ye[a, b] * sp.log(P[a, b]) for a in range(mm) for b in range(KK))
        env = {"X": Xe, pname: We, "Y": Ye, spec.output_matrix: P}
    else:
        We = sp.Matrix(nn, 1, lambda a, b: sp.Symbol(f"w_{a}", real=True))
        Ye = sp.Matrix(mm, 1, lambda a, b: sp.Symbol(f"y_{a}", real=True))
        S = Xe * We
        if spec.activation == "sigmoid":
            Yh = S.applyfunc(sigmoid)
            L = -sum(Ye[a] * sp.log(Yh[a]) + (1 - Ye[a]) * sp.log(1 - Yh[a]) for a in range(mm))
        else:
            Yh = S
            L = sum((Ye[a] - Yh[a]) ** 2 for a in range(mm))
        env = {"X": Xe, pname: We, "y": Ye, spec.output_matrix: Yh}
    if spec.reduction == "mean":
        L = L / mm
    proofs: list[Proof] = []
    derived: dict = {}
    oracle = {
        "forward": P if vector else Yh,
        f"grad:{pname}": We.applyfunc(lambda w: sp.diff(L, w)),
    }
    ev = lambda e: mx.evaluate(e, env, dims)
    _compare(
        oracle["forward"], _safe(lambda: ev(fwd)), "forward", "exact: matrix form", sizes_text, proofs, store=derived
    )
    _compare(sp.Matrix([[L]]), _safe(lambda: ev(Lm)), "loss", "exact: matrix form", sizes_text, proofs, store=derived)
    _compare(
        oracle[f"grad:{pname}"],
        _safe(lambda: ev(G)),
        f"grad:{pname}",
        "exact: matrix form",
        sizes_text,
        proofs,
        store=derived,
    )
    for claim in d.claims:
        prove_claim(claim, oracle, ev, sizes_text, proofs, derived)
    return proofs
