"""The ``model`` kind: modules composed by the chain rule into a regression model.

Declared by the module topics it composes (a
:class:`~gradproof.derive.lecture.models.ModelDeclaration`: a layer, an optional
activation, a loss, the reduction over samples).  As on the lecture's
backpropagation slides, a model's gradient is never differentiated in one
piece.  Here, side by side:

- :func:`derive`: the loss module's local derivative is passed backwards
  through the activation's backward message, and the layer's parameter
  message turns it into ``dL/dw``; every local derivative is a *result of the
  module's own derivation*, renamed into the model's variables;
- :func:`prove`: the composed results against SymPy's ``diff`` of the whole
  explicit model, itself composed from the modules' *declarations* (each
  module's declared forward map applied to explicit matrices);
- :func:`emit`: ``forward(X, y, w) -> float``, ``predict(X, w)`` and
  ``backward(X, y, w) -> {w: dL/dw}``.
"""

from __future__ import annotations

import sympy as sp

from gradproof.derive.engine import mexpr as mx
from gradproof.derive.engine.derivation import Derivation, Label, ModuleCode, Result, Step
from gradproof.derive.engine.indexform import clean, tidy
from gradproof.derive.engine.matrixform import Binding, Translator, scale
from gradproof.derive.engine.notation import K, a_, c_, m, n, s_
from gradproof.derive.output.codegen_numpy.emitter import Function
from gradproof.derive.proof.prove import SIZES, Session, gradient, instantiate, per_sample_subs

# The kind's name: the generated module's KIND, as numeric/kinds.py spells it.
NAME = "model"
INPUT_NAME = "X"  # the design matrix, as the lecture writes it

_TEX = {"yhat": r"\hat{\mathbf{y}}", "P": r"\mathbf{P}", "Y": r"\mathbf{Y}", "y": r"\mathbf{y}"}


def _tex(name):
    return _TEX.get(name, name)


def _rename_indexed(e, base, to):
    """Every ``base[i]`` in ``e`` as ``to(i)``."""
    return e.replace(lambda x: isinstance(x, sp.Indexed) and x.base == base, lambda x: to(x.indices))


class _Names:
    """The model's per-sample names: ``x``, the target, the prediction."""

    def __init__(self, decl):
        self.vector = decl.onehot  # multinomial: K outputs per sample
        self.x = sp.IndexedBase("x", real=True)
        self.y = sp.IndexedBase("y", real=True) if self.vector else sp.Symbol("y", real=True)
        self.out = sp.IndexedBase(decl.output) if self.vector else sp.Symbol(decl.output, real=True)
        self.param = "W" if self.vector else "w"


# ---------------------------------------------------------------------------
# Derivation
# ---------------------------------------------------------------------------


def derive(topic) -> Derivation:
    from gradproof.derive.lecture.registry import derive as derive_topic

    decl = topic.declaration
    layer, loss = derive_topic(decl.layer), derive_topic(decl.loss)
    activation = derive_topic(decl.activation) if decl.activation else None
    nm = _Names(decl)
    chain = " -> ".join(t for t in (decl.layer, decl.activation, decl.loss) if t)
    chain_tex = r" \to ".join(r"\text{%s}" % t.replace("_", " ") for t in (decl.layer, decl.activation, decl.loss) if t)
    definition = [
        Step(
            "definition",
            Label("model", r"\text{model}"),
            Label(chain, chain_tex),
            "the modules composed, as on the lecture's backpropagation slides",
        )
    ]
    steps: list[Step] = []
    notes: list[str] = []
    local = _loss_local(decl, loss, nm, steps)
    ds = _through_activation(decl, activation, local, nm, steps, notes)
    grad_index, index_lhs = _parameter_message(decl, layer, ds, nm, steps)
    grad, bindings, Ws, Xs = _batched_gradient(decl, grad_index, nm, steps)
    forward = _forward(decl, activation, nm, Xs, Ws)
    out_sym = bindings[decl.output_matrix].sym
    loss_matrix = mx.substitute(loss.result("loss").matrix, {loss.code.input.name: forward})
    if decl.reduction != _declared(decl.loss).declaration.reduction:
        loss_matrix = scale(m if decl.reduction == "sum" else 1 / m, loss_matrix)
    grad_lhs = Label(f"dL/d{nm.param}", r"\frac{\partial L}{\partial \mathbf{%s}}" % nm.param)
    results = [
        Result("loss", Label("L", "L"), matrix=loss_matrix, shape=(1, 1)),
        Result("forward", Label(decl.output_matrix, _tex(decl.output_matrix)), matrix=forward, shape=out_sym.shape),
        Result(f"grad:{nm.param}", grad_lhs, index=grad_index, index_lhs=index_lhs, matrix=grad, shape=Ws.shape),
    ]
    code = ModuleCode(
        kind=NAME,
        input=Xs,
        target=bindings["Y" if nm.vector else "y"].sym,
        params=(Ws,),
        forward=loss_matrix,
        output=out_sym,
        output_def=forward,
        grads=((nm.param, grad),),
        target_domain="onehot" if nm.vector else ("binary" if decl.activation == "sigmoid" else "real"),
    )
    return Derivation(
        topic=topic.name,
        title=topic.title,
        category=topic.category,
        section=topic.section,
        summary=topic.summary,
        definition=tuple(definition),
        steps=tuple(steps),
        results=tuple(results),
        claims=tuple(topic.claims),
        notes=tuple(notes),
        code=code,
    )


def _declared(name):
    from gradproof.derive.lecture.registry import get

    return get(name)


def _loss_local(decl, loss, nm, steps):
    """1. The loss module's local derivative, in the model's names."""
    local = loss.result("local").index
    if nm.vector:
        local = _rename_indexed(local, sp.IndexedBase("z", real=True), lambda i: nm.out[i])
        local = local.replace(lambda e: isinstance(e, sp.Indexed) and str(e.base) == "y", lambda e: nm.y[e.indices])
    else:
        local = local.xreplace({sp.Symbol("z", real=True): nm.out})
    wrt = r"p_{%s}" % a_ if nm.vector else r"\hat{y}"
    lhs = Label(f"dl/d{decl.output}", r"\frac{\partial \ell}{\partial %s}" % wrt)
    steps.append(Step(f"loss module ({decl.loss}): local derivative", lhs, local))
    return local


def _through_activation(decl, activation, local, nm, steps, notes):
    """2. Back through the activation module: ``dl/ds``."""
    if activation is None:
        return local  # the linear neuron's output is the prediction itself
    if nm.vector:
        backward = activation.result("backward").index  # in p (the output) and delta
        chained = _rename_indexed(backward, sp.IndexedBase("delta"), lambda i: local.xreplace({a_: i[0]}))
        chained = _rename_indexed(chained, sp.IndexedBase("p"), lambda i: nm.out[i])
        lhs = Label(f"dl/ds[{a_}]", r"\frac{\partial \ell}{\partial s_{%s}}" % a_)
        steps.append(Step(f"backward message of {decl.activation}, with delta from the loss", lhs, chained))
        ds = clean(chained)
        one_hot = ds.replace(
            lambda e: isinstance(e, sp.Sum) and e.function == nm.y[e.limits[0][0]], lambda e: sp.Integer(1)
        )
        if one_hot != ds:
            notes.append("one-hot targets: sum_c y_c = 1")
            steps.append(Step("one-hot targets: sum_c y_c = 1", lhs, one_hot))
        ds = tidy(sp.expand(one_hot))
        steps.append(Step("simplify", lhs, ds))
        return ds
    jacobian = activation.result("jacobian").index  # a_j (1 - a_j) [[j = a]]
    local_act = jacobian.xreplace({sp.Symbol("j", integer=True): a_}).doit()
    local_act = _rename_indexed(local_act, sp.IndexedBase("a"), lambda i: nm.out)
    steps.append(
        Step(
            f"activation module ({decl.activation}): local derivative",
            Label(f"d{decl.output}/ds", r"\frac{\partial \hat{y}}{\partial s}"),
            local_act,
        )
    )
    lhs = Label("dl/ds", r"\frac{\partial \ell}{\partial s}")
    steps.append(Step("chain rule", lhs, sp.Mul(local, local_act, evaluate=False)))
    ds = tidy(sp.factor(sp.cancel(local * local_act)))
    steps.append(Step("simplify", lhs, ds))
    return ds


def _parameter_message(decl, layer, ds, nm, steps):
    """3. The layer's parameter message, with ``delta = dl/ds``."""
    delta, z = sp.IndexedBase("delta"), sp.IndexedBase("z", real=True)
    if nm.vector:
        g = _rename_indexed(layer.result("grad:W").index, delta, lambda i: ds.xreplace({a_: i[0]}))
        lhs = Label(f"dl/dW[{a_}, {c_}]", r"\frac{\partial \ell}{\partial w_{%s%s}}" % (a_, c_))
    else:
        g = _rename_indexed(layer.result("grad:w").index, delta, lambda i: ds)
        lhs = Label(f"dl/dw[{c_}]", r"\frac{\partial \ell}{\partial w_{%s}}" % c_)
    g = _rename_indexed(g, z, lambda i: nm.x[i])
    steps.append(Step(f"parameter message of {decl.layer}, with delta = dl/ds", lhs, g))
    return tidy(g), lhs


def _batched_gradient(decl, g, nm, steps):
    """4. Sum (or average) over the samples, then read off the matrix form."""
    X, Y = sp.IndexedBase("X"), sp.IndexedBase("Y" if nm.vector else "y")
    out = sp.IndexedBase(decl.output_matrix)
    e = _rename_indexed(g, nm.x, lambda i: X[s_, i[0]])
    if nm.vector:
        e = _rename_indexed(e, nm.y, lambda i: Y[s_, i[0]])
        e = _rename_indexed(e, nm.out, lambda i: out[s_, i[0]])
    else:
        e = e.xreplace({nm.y: Y[s_], nm.out: out[s_]})
    reduction = sp.Integer(1) / m if decl.reduction == "mean" else sp.Integer(1)
    summed = reduction * sp.Sum(e, (s_, 0, m - 1))
    lhs = Label(f"dL/d{nm.param}", r"\frac{\partial L}{\partial \mathbf{%s}}" % nm.param)
    how = "average" if decl.reduction == "mean" else "sum"
    steps.append(Step(f"batch: {how} over the m samples", lhs, summed))
    width = _input_width(decl)
    Xs = mx.Sym("X", (m, width))
    if nm.vector:
        shapes, Ws = {"Y": (m, K), decl.output_matrix: (m, K)}, mx.Sym("W", (width, K), role="param")
    else:
        shapes, Ws = {"y": (m, 1), decl.output_matrix: (m, 1)}, mx.Sym("w", (width, 1), role="param")
    bindings = {"X": Binding(Xs, 2)}
    for name, shape in shapes.items():
        role = "output" if name == decl.output_matrix else "target"
        sym = mx.Sym(name, shape, role=role, latex=_tex(name))
        bindings[name] = Binding(sym, 2 if nm.vector else 1, vector_as="col")
    rows, cols = (a_, c_) if nm.vector else (c_, None)
    grad = Translator(bindings).translate(summed, rows, cols)
    steps.append(Step("read off the matrix form", lhs, grad))
    return grad, bindings, Ws, Xs


def _input_width(decl):
    """The columns of X: the layer's declared input width (``n + 1``: the n
    features and the column of ones x0 = 1, as the lecture's X has)."""
    (layer_input,) = [a for a in _declared(decl.layer).declaration.args if a.role == "input"]
    return layer_input.dims[0]


def _forward(decl, activation, nm, Xs, Ws):
    """The prediction in matrix form: the activation's forward map with ``Z = X W``."""
    if nm.vector:
        return mx.Softmax(mx.MatMul(Xs, Ws))
    if activation is None:
        return mx.MatMul(Xs, Ws)
    return mx.substitute(activation.result("forward").matrix, {"Z": mx.MatMul(Xs, Ws)})


# ---------------------------------------------------------------------------
# Proof: the oracle is the modules' declarations, composed
# ---------------------------------------------------------------------------


def _apply(topic, matrices: dict, rows: int) -> sp.Matrix:
    """A module topic's *declared* forward map applied to explicit matrices, sample by sample.

    ``matrices`` maps the declaration's argument names to explicit matrices;
    the symbolic dimensions are read off their shapes.  A module gives its
    output rows; a loss gives one row of per-sample losses.
    """
    decl = topic.declaration
    dims = {m: rows}
    for arg in decl.args:
        M = matrices[arg.name]
        sizes = (M.cols,) if arg.batched else ((M.rows, M.cols) if len(arg.dims) == 2 else (len(M),))
        dims.update(_dims_from_sizes(arg.dims, sizes))
    env = {arg.matrix: matrices[arg.name] for arg in decl.args}
    bases = {a.name: a.base() for a in decl.args}
    if decl.kind == "loss":
        return sp.Matrix(
            [[instantiate(decl.forward(bases, None), dims, per_sample_subs(decl, env, s)) for s in range(rows)]]
        )
    out_dim = int(sp.sympify(decl.out_dim, strict=True).subs(dims))
    out = sp.zeros(rows, out_dim)
    for s in range(rows):
        sub = per_sample_subs(decl, env, s)
        for j in range(out_dim):
            out[s, j] = instantiate(decl.forward(bases, j), dims, sub)
    return out


def _dims_from_sizes(declared, sizes) -> dict:
    """Symbolic dimensions read off explicit sizes: ``n`` from a size of ``n``, and
    from a size of ``n + 1`` (the linear layer's n features plus the bias input).

    >>> n = sp.Symbol("n", positive=True, integer=True)
    >>> _dims_from_sizes((n + 1,), (4,))
    {n: 3}
    """
    out = {}
    for d, size in zip(declared, sizes):
        d = sp.sympify(d, strict=True)
        free = sorted(d.free_symbols, key=str)
        if len(free) != 1 or not d.is_polynomial(free[0]) or sp.degree(d, free[0]) != 1:
            continue
        (value,) = sp.solve(sp.Eq(d, size), free[0])
        out[free[0]] = value
    return out


def _composed(decl, X, W, Y, rows):
    """The explicit model: layer, activation, loss, each by its declaration; ``(prediction, L)``."""
    layer = _declared(decl.layer)
    inputs = {a.name: X if a.role == "input" else W for a in layer.declaration.args}
    prediction = _apply(layer, inputs, rows)
    if decl.activation:
        prediction = _apply(_declared(decl.activation), {"z": prediction}, rows)
    loss = _declared(decl.loss)
    per_sample = _apply(loss, {"z": prediction, "y": Y}, rows)
    L = sum(per_sample)
    return prediction, (L / rows if decl.reduction == "mean" else L)


def prove(topic, d, sizes=None):
    """The composed results against SymPy's ``diff`` of the explicit composed model; returns ``(session, oracle)``."""
    decl = topic.declaration
    nm = _Names(decl)
    sizes = {**SIZES, **(sizes or {})}
    rows, classes = sizes["m"], sizes["K"]
    cols = int(sp.sympify(_input_width(decl), strict=True).subs(n, sizes["n"]))  # n features and x0
    X = sp.Matrix(rows, cols, lambda a, b: sp.Symbol(f"X_{a}{b}", real=True))
    if nm.vector:
        W = sp.Matrix(cols, classes, lambda a, b: sp.Symbol(f"W_{a}{b}", real=True))
        Y = sp.zeros(rows, classes)
        for s in range(rows):
            Y[s, (2 * s + 1) % classes] = 1
    else:
        W = sp.Matrix(cols, 1, lambda a, b: sp.Symbol(f"w_{a}", real=True))
        Y = sp.Matrix(rows, 1, lambda a, b: sp.Symbol(f"y_{a}", real=True))
    prediction, L = _composed(decl, X, W, Y, rows)
    env = {"X": X, nm.param: W, "Y" if nm.vector else "y": Y, decl.output_matrix: prediction}
    text = f"m={rows}, n={sizes['n']}" + (f", K={classes}" if nm.vector else "")
    ps = Session(sizes, env, sizes_text=text)
    oracle = {"forward": prediction, f"grad:{nm.param}": gradient(L, W)}
    res = {r.key: r for r in d.results}
    ps.compare_matrix(prediction, res["forward"].matrix, "forward")
    ps.compare_matrix(sp.Matrix([[L]]), res["loss"].matrix, "loss")
    ps.compare_matrix(oracle[f"grad:{nm.param}"], res[f"grad:{nm.param}"].matrix, f"grad:{nm.param}")
    return ps, oracle


# ---------------------------------------------------------------------------
# Emission
# ---------------------------------------------------------------------------


def emit(ctx) -> list[Function]:
    """``forward(X, y, *params) -> float``, ``predict(X, *params)``, ``backward(X, y, *params)``."""
    code = ctx.code
    available = {"X", "y", *ctx.params}
    signature = f"X, y{ctx.param_sig}"
    needs, text = ctx.body(code.forward, available)
    forward = Function("forward", signature, [f"Loss: {ctx.formula('loss')}"], [*needs, f"return float({text})"])
    predict = Function(
        "predict", f"X{ctx.param_sig}", [f"The prediction: {ctx.formula('forward')}"], [f"return {ctx.output_def}"]
    )
    name, g = code.grads[0]
    g = ctx.fused(g)
    needs, text = ctx.body(g, available)
    body = list(needs)
    if ctx.uses_output(g):
        body.append(f"{ctx.names[code.output.name]} = {ctx.output_def}  # the prediction")
    body.append("return {" + f'"{name}": {text}' + "}")
    backward = Function("backward", signature, [f"Parameter gradient: {ctx.formula('grad:' + name)}"], body)
    return [forward, predict, backward]
