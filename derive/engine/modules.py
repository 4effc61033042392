"""The derivation engine for modules, losses, penalties and models.

A module is declared by its forward map in index notation, per sample (the
lecture's ``z^{l+1}_j = sum_i w_ij z^l_i``).  The engine then, with SymPy:

1. differentiates the forward map entry by entry (local Jacobian and
   parameter derivatives), summing out the Kronecker deltas that appear and
   dropping SymPy's index-range ``Piecewise`` (the indices are in range by
   construction);
2. forms the backward message ``delta_i = sum_j delta_j' dz'_j/dz_i`` and the
   parameter messages, naming the module's forward output where the
   derivative is a function of it (``sigma(1 - sigma)``, ``1 - tanh^2``,
   softmax ``p``);
3. batches them (rows are samples; parameter messages sum over samples) and
   reads off the matrix form (:mod:`gradproof.derive.engine.matrixform`);
4. proves every result exactly (:mod:`gradproof.derive.proof.prove`) and every claim equal to
   the derived result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import sympy as sp

from gradproof.derive.engine import mexpr as mx
from gradproof.derive.engine.derivation import Claim, Derivation, Label, ModuleCode, Result, Step
from gradproof.derive.engine.matrixform import Binding, Translator

# Symbolic dimensions and indices shared by every declaration.
m, n, K = sp.symbols("m n K", positive=True, integer=True)
i_, j_, k_ = sp.symbols("i j k", integer=True)
# The engine's own free indices, named as the lecture names them: i runs over
# a module's inputs, k over a weight matrix's columns (the lecture's w_ik), r
# over the samples (the rows of a batch).  They are distinct from the summation
# dummies i, k of the declarations (nonnegative: another SymPy symbol that
# prints the same), so "z^{l+1}_j = sum_i w_ij z^l_i" differentiates by z^l_i
# without the bound and the free i meeting.
a_, c_ = sp.symbols("i k", integer=True, nonnegative=True)
s_ = sp.Symbol("r", integer=True, nonnegative=True)


@dataclass(frozen=True)
class Arg:
    """An argument of a module in the lecture's notation.

    ``dims`` are the per-sample index extents: ``(n,)`` for the input vector
    ``z``, ``(n, K)`` for a weight matrix, ``()`` for a per-sample scalar.
    Inputs and targets gain a leading sample index when batched (rows are
    samples); parameters do not.  ``matrix`` is the batched name (``Z``).
    ``domain`` tells the proofs and probes where values live.
    """

    name: str
    role: str  # "input", "param", "target"
    dims: tuple
    matrix: str
    domain: str = "real"  # real | positive | probability | onehot
    latex: str = ""
    matrix_latex: str = ""
    vector_as: str = "row"  # a 1-index parameter is a row (bias b) or a column (weights w)

    @property
    def batched(self) -> bool:
        return self.role in ("input", "target")

    def base(self):
        return sp.IndexedBase(self.name, real=True) if self.dims else sp.Symbol(self.name, real=True)

    def batched_shape(self):
        if self.batched:
            return (m, self.dims[0] if self.dims else sp.Integer(1))
        if len(self.dims) == 2:
            return self.dims
        if len(self.dims) == 1:
            return (sp.Integer(1), self.dims[0]) if self.vector_as == "row" else (self.dims[0], sp.Integer(1))
        return (sp.Integer(1), sp.Integer(1))

    def sym(self) -> mx.Sym:
        return mx.Sym(self.matrix, self.batched_shape(), role=self.role, latex=self.matrix_latex)


@dataclass(frozen=True)
class OutputName:
    """Name the forward output inside derivatives (``a = tanh(z)``).

    ``rename(expr, z, out)`` rewrites a per-sample expression in terms of the
    output ``out`` (an IndexedBase); ``note`` is the step's explanation.
    """

    name: str
    matrix: str
    rename: Callable
    note: str
    value: Callable | None = None  # (bases, j) -> per-sample value; None: the forward map
    latex: str = ""
    matrix_latex: str = ""


@dataclass(frozen=True)
class ModuleSpec:
    """The declaration of a module, loss or penalty (see ``topics_modules``)."""

    kind: str  # module | loss | penalty
    args: tuple
    forward: Callable  # (bases: dict, j) -> per-sample expression
    out_dim: object = None  # per-sample output extent (modules)
    output: OutputName | None = None
    reduction: str = "mean"  # losses: "mean" or "sum" over the m samples
    hyper: tuple = ()  # ((Symbol, default float), ...)
    assumptions: tuple = ()  # ((statement, callable(expr, bases) -> expr), ...)
    kinks: tuple = ()  # statements
    kink_points: tuple = ()  # input values where the derivative does not exist
    out_matrix: str = "Z^{l+1}"
    out_latex: str = ""
    index_names: dict = field(default_factory=dict)

    def arg(self, role):
        return [a for a in self.args if a.role == role]


# ---------------------------------------------------------------------------
# Index-form clean-up
# ---------------------------------------------------------------------------


def drop_range_piecewise(e: sp.Expr) -> sp.Expr:
    """Drop SymPy's ``Piecewise((x, 0 <= a <= n - 1), (0, True))`` wrappers.

    SymPy cannot know that an index symbol is in range; every index the
    engine uses is, by construction.
    """

    def is_range_cond(cond):
        if cond is sp.true:
            return True
        rels = (
            [cond]
            if isinstance(cond, sp.core.relational.Relational)
            else list(cond.args)
            if isinstance(cond, sp.And)
            else None
        )
        if rels is None:
            return False
        return all(
            isinstance(r, sp.core.relational.Relational) and all((s.is_integer) for s in r.free_symbols) for r in rels
        )

    def repl(pw):
        (expr0, cond0), *rest = pw.args
        if is_range_cond(cond0) and all(v == 0 for v, _ in rest):
            return expr0
        return pw

    prev = None
    while prev != e:
        prev = e
        e = e.replace(lambda x: isinstance(x, sp.Piecewise), repl)
    return e


def strip_delta_ranges(e: sp.Expr) -> sp.Expr:
    return e.replace(
        lambda x: isinstance(x, sp.KroneckerDelta) and len(x.args) > 2,
        lambda x: sp.KroneckerDelta(x.args[0], x.args[1]),
    )


def _hold_roots(e: sp.Expr):
    """Replace each root or fractional power of a sum by a placeholder: ``(expr, held)``.

    A normalisation layer's ``sqrt(sum_i (z_i - mean)^2 / n + eps)`` would
    otherwise be expanded into ``sum z_i^2 / n - (sum z_i)^2 / n^2``: equal,
    but a difference of two large numbers in floating point.  Such powers
    carry no Kronecker delta (derivatives only multiply them), so nothing
    inside them needs summing out.
    """
    held: dict = {}

    def hold(x):
        key = sp.Dummy("root")
        held[key] = x
        return key

    e = e.replace(
        lambda x: (
            isinstance(x, sp.Pow) and x.base.has(sp.Sum) and not x.exp.is_Integer and not x.base.has(sp.KroneckerDelta)
        ),
        hold,
    )
    return e, held


def _release(e: sp.Expr, held: dict) -> sp.Expr:
    return e.xreplace(held) if held else e


def pull_out_of_sums(e: sp.Expr) -> sp.Expr:
    """``sum_c (a * f(c)) -> a * sum_c f(c)`` for factors free of ``c``;
    sums of sums are split term by term."""

    def repl(sm):
        body = sp.expand(sm.function)
        dummies = {lim[0] for lim in sm.limits}
        if isinstance(body, sp.Add):
            return sp.Add(*[repl(sp.Sum(t, *sm.limits)) for t in body.args])
        inside, outside = [], []
        for f in sp.Mul.make_args(body):
            (inside if f.free_symbols & dummies else outside).append(f)
        if not inside:
            extent = sp.Integer(1)
            for lim in sm.limits:
                extent *= lim[2] - lim[1] + 1
            return sp.Mul(*outside) * extent
        return sp.Mul(*outside) * sp.Sum(sp.Mul(*inside), *sm.limits)

    prev = None
    while prev != e:
        prev = e
        e = e.replace(lambda x: isinstance(x, sp.Sum), repl)
    return e


def _is_branching(pw) -> bool:
    """A ``Piecewise`` of the declaration (ELU, Huber), not a range wrapper."""
    return isinstance(pw, sp.Piecewise) and drop_range_piecewise(pw) is pw


def _delta_out_of_branches(e: sp.Expr) -> sp.Expr:
    """``Piecewise((d x, c), (d y, True)) -> d Piecewise((x, c), (y, True))`` for a common Kronecker delta ``d``."""

    def repl(pw):
        if not _is_branching(pw):
            return pw
        common = None
        for x, _ in pw.args:
            facs = {f for f in sp.Mul.make_args(x) if isinstance(f, sp.KroneckerDelta)}
            common = facs if common is None else common & facs
        if not common:
            return pw
        rest = [(sp.Mul(*[f for f in sp.Mul.make_args(x) if f not in common]), c) for x, c in pw.args]
        return sp.Mul(*common) * sp.Piecewise(*rest)

    return e.replace(lambda x: isinstance(x, sp.Piecewise), repl)


def sum_deltas_through_branches(e: sp.Expr) -> sp.Expr:
    """``sum_j delta_{xj} f(j) = f(x)`` where ``f`` is a declared ``Piecewise``.

    SymPy leaves such sums unevaluated (the delta sits inside every branch);
    the index ``x`` is in range by construction, as everywhere in the engine.
    Sums without a declared ``Piecewise`` are left to :func:`clean`'s usual path.
    """

    def repl(sm):
        if len(sm.limits) != 1 or not sm.function.has(sp.Piecewise):
            return sm
        if not any(_is_branching(p) for p in sm.function.atoms(sp.Piecewise)):
            return sm
        jv = sm.limits[0][0]
        body = _delta_out_of_branches(strip_delta_ranges(sm.function))
        facs = sp.Mul.make_args(body)
        for f in facs:
            if isinstance(f, sp.KroneckerDelta) and jv in f.args:
                other = f.args[0] if f.args[1] == jv else f.args[1]
                if other.has(jv):
                    continue
                return sp.Mul(*[g for g in facs if g is not f]).xreplace({jv: other})
        return sm

    return e.replace(lambda x: isinstance(x, sp.Sum), repl)


def clean(e: sp.Expr) -> sp.Expr:
    """Evaluate Kronecker sums, drop range conditions, tidy (roots of sums kept as written)."""
    e, held = _hold_roots(e)
    return _release(_clean(e), held)


def _clean(e: sp.Expr) -> sp.Expr:
    e = strip_delta_ranges(e)
    if e.has(sp.Piecewise):
        e = sum_deltas_through_branches(_delta_out_of_branches(e))
    e = sp.expand(e)
    e = pull_out_of_sums(e)
    e = e.doit()
    e = drop_range_piecewise(e)
    e = strip_delta_ranges(e)
    e = pull_out_of_sums(e)
    return e


def common_denominator(e: sp.Expr) -> sp.Expr:
    """One fraction, its denominator's factors written as the lecture writes
    them: ``(y - z)/(z (z - 1))`` becomes ``(z - y)/(z (1 - z))``."""
    t = sp.factor(sp.together(e))
    num, den = sp.fraction(t)
    if den == 1:
        return e
    sign, factors = 1, []
    for f in sp.Mul.make_args(den):
        b, ex = f.as_base_exp()
        if isinstance(b, sp.Add):
            consts = [x for x in b.args if x.is_number]
            if (
                consts
                and all(c < 0 for c in consts)
                and not any(x.could_extract_minus_sign() for x in b.args if not x.is_number)
            ):
                b = sp.expand(-b)
                sign *= (-1) ** ex
        factors.append(b**ex)
    return sp.factor_terms(sp.expand(sign * num)) / sp.Mul(*factors)


def _readable_map(e):
    """An elementwise matrix form over one common denominator, as the lecture
    writes ``(yhat - y) / (yhat (1 - yhat))`` (the same function of the
    entries: only the written form changes, and only when it is shorter)."""
    from dataclasses import replace

    if isinstance(e, mx.Scale) and isinstance(e.arg, mx.Map):
        return replace(e, arg=_readable_map(e.arg))
    if isinstance(e, mx.Map):
        body = sp.sympify(e.expr, strict=True)
        nicer = common_denominator(body)
        if nicer != body and sp.count_ops(nicer) <= sp.count_ops(body) and sp.simplify(nicer - body) == 0:
            return replace(e, expr=nicer)
    return e


def tidy(e: sp.Expr) -> sp.Expr:
    e, held = _hold_roots(e)
    cands = [e, sp.factor_terms(e), sp.factor_terms(sp.expand(e))]
    return _release(min(cands, key=lambda x: (sp.count_ops(x), len(str(x)))), held)


# ---------------------------------------------------------------------------
# Labels
# ---------------------------------------------------------------------------


def _lbl(text, latex):
    return Label(text, latex)


def _pd(num_t, num_l, den_t, den_l):
    return _lbl(f"d{num_t}/d{den_t}", r"\frac{\partial %s}{\partial %s}" % (num_l, den_l))


# ---------------------------------------------------------------------------
# Modules
# ---------------------------------------------------------------------------


class ModuleDeriver:
    """Derives one :class:`ModuleSpec`; ``build()`` returns a Derivation."""

    def __init__(self, topic):
        self.topic = topic
        self.spec: ModuleSpec = topic.spec
        self.steps: list[Step] = []
        self.results: list[Result] = []
        self.notes: list[str] = list(topic.extra.get("notes", ()))
        self.bases = {a.name: a.base() for a in self.spec.args}
        self.out = sp.IndexedBase(self.spec.output.name) if self.spec.output else None

    # --- helpers ---
    def step(self, rule, lhs, rhs, note=""):
        self.steps.append(Step(rule, lhs, rhs, note))

    def rename_output(self, e):
        o = self.spec.output
        if o is None:
            return e
        return o.rename(e, self.bases, self.out)

    def apply_assumptions(self, e, record=True):
        for statement, fn in self.spec.assumptions:
            e2 = fn(e, self.bases)
            if e2 != e:
                e = e2
                if record:
                    self.notes.append(statement)
        return e

    def _bindings(self):
        b = {}
        for a in self.spec.args:
            sym = a.sym()
            if a.batched:
                b[a.matrix] = Binding(sym, 2 if a.dims else 1, vector_as="col")
            else:
                b[a.name] = Binding(sym, len(a.dims) or 1, vector_as=a.vector_as)
        return b

    def batch(self, e, extra=None):
        """Per-sample index form -> batched index form (rows are samples)."""
        sub = {}
        for a in self.spec.args:
            if a.batched:
                B = sp.IndexedBase(a.matrix)
                if a.dims:
                    sub[a.name] = lambda idx, B=B: B[s_, idx[0]]
                else:
                    sub[a.name] = lambda idx, B=B: B[s_]
        for name, B in (extra or {}).items():
            sub[name] = lambda idx, B=B: B[(s_,) + tuple(idx)] if idx else B[s_]

        def repl_indexed(x):
            nm = str(x.base.label)
            return sub[nm](x.indices) if nm in sub else x

        e = e.replace(lambda x: isinstance(x, sp.Indexed), repl_indexed)
        # per-sample scalars (Symbols)
        sym_sub = {}
        for a in self.spec.args:
            if a.batched and not a.dims:
                sym_sub[a.base()] = sp.IndexedBase(a.matrix)[s_]
        for name, B in (extra or {}).items():
            sym_sub[sp.Symbol(name, real=True)] = B[s_]
        return e.xreplace(sym_sub)

    # --- module kind ---
    def build(self) -> Derivation:
        kind = self.spec.kind
        if kind == "module":
            code = self._module()
        elif kind == "loss":
            code = self._loss()
        elif kind == "penalty":
            code = self._penalty()
        else:
            raise ValueError(kind)
        from gradproof.derive.proof.prove import prove_module

        claims = tuple(self.topic.claims)
        d = Derivation(
            topic=self.topic.name,
            title=self.topic.title,
            kind=self.topic.kind,
            section=self.topic.section,
            summary=self.topic.summary,
            definition=tuple(self.definition),
            steps=tuple(self.steps),
            results=tuple(self.results),
            claims=claims,
            notes=tuple(dict.fromkeys(self.notes)),
            code=code,
        )
        matrix_claims = tuple(c for c in claims if c.matrix is not None)
        proofs = prove_module(self.topic, _with(d, claims=matrix_claims))
        proofs += [prove_index_claim(c, d) for c in claims if c.matrix is None]
        return _with(d, proofs=tuple(proofs), results=tuple(_mark_claimed(d.results, claims, proofs)))

    def _module(self):
        sp_ = self.spec
        z = sp_.arg("input")[0]
        zb = self.bases[z.name]
        out_dim = sp_.out_dim
        j, a = j_, a_
        fwd = sp_.forward(self.bases, j)
        zn_t, zn_l = "z^{l+1}", "z^{l+1}"
        self.definition = [
            Step("definition", _lbl(f"{zn_t}[j]", zn_l + "_{j}"), fwd, "forward message, one sample"),
        ]
        # local Jacobian
        raw = sp.diff(fwd, zb[a])
        self.step("differentiate (SymPy diff)", _pd(f"{zn_t}[j]", zn_l + "_j", f"z[{a}]", "z^{l}_{%s}" % a), raw)
        jac = clean(raw)
        if jac != raw:
            self.step(
                "sum out Kronecker deltas, drop index-range conditions",
                _pd(f"{zn_t}[j]", zn_l + "_j", f"z[{a}]", "z^{l}_{%s}" % a),
                jac,
            )
        jac_n = tidy(self.rename_output(jac))
        if jac_n != jac and sp_.output is not None:
            self.step(
                "name the forward output",
                _pd(f"{zn_t}[j]", zn_l + "_j", f"z[{a}]", "z^{l}_{%s}" % a),
                jac_n,
                sp_.output.note,
            )
        jac = jac_n
        self.results.append(Result("jacobian", _pd(f"{zn_t}[j]", zn_l + "_j", f"z[{a}]", "z^{l}_{%s}" % a), index=jac))
        # backward message
        dn = sp.IndexedBase("delta")
        raw_b = sp.Sum(dn[j] * jac, (j, 0, out_dim - 1))
        self.step(
            "chain rule (backward message)",
            _lbl(f"delta^l[{a}]", r"\delta^{l}_{%s}" % a),
            raw_b,
            "delta^l_i = sum_j delta^{l+1}_j dz^{l+1}_j / dz^l_i",
        )
        back = tidy(clean(raw_b))
        if back != raw_b:
            self.step("sum out Kronecker deltas", _lbl(f"delta^l[{a}]", r"\delta^{l}_{%s}" % a), back)
        # batched and matrix form
        extra = {"delta": sp.IndexedBase("Delta")}
        if self.out is not None:
            extra[self.out.label.name if hasattr(self.out.label, "name") else str(self.out.label)] = sp.IndexedBase(
                sp_.output.matrix
            )
        back_b = self.batch(back, extra)
        self.step("batch: rows are samples", _lbl(f"Delta^l[{s_}, {a}]", r"\Delta^{l}_{%s,%s}" % (s_, a)), back_b)
        tr = Translator(self._msg_bindings())
        back_m = tr.translate(back_b, s_, a, shape=z.sym().shape)
        self.step("read off the matrix form", _lbl("Delta^l", r"\boldsymbol{\Delta}^{l}"), back_m)
        self.results.append(
            Result(
                "backward",
                _lbl("Delta^l", r"\boldsymbol{\Delta}^{l}"),
                index=back,
                index_lhs=_lbl(f"delta^l[{a}]", r"\delta^{l}_{%s}" % a),
                matrix=back_m,
                shape=z.sym().shape,
            )
        )
        grads = []
        for p in sp_.arg("param"):
            pb = self.bases[p.name]
            pidx = (a, c_) if len(p.dims) == 2 else (c_,)
            entry = pb[pidx]
            plabel_t = f"{p.name}[{', '.join(map(str, pidx))}]"
            plabel_l = "%s_{%s}" % (p.latex or p.name, "".join(map(str, pidx)))
            rawp = sp.diff(fwd, entry)
            self.step("differentiate (SymPy diff)", _pd(f"{zn_t}[j]", zn_l + "_j", plabel_t, plabel_l), rawp)
            dp = tidy(self.rename_output(clean(rawp)))
            if dp != rawp:
                self.step("sum out Kronecker deltas", _pd(f"{zn_t}[j]", zn_l + "_j", plabel_t, plabel_l), dp)
            self.results.append(
                Result(f"jacobian:{p.name}", _pd(f"{zn_t}[j]", zn_l + "_j", plabel_t, plabel_l), index=dp)
            )
            rawg = sp.Sum(dn[j] * dp, (j, 0, out_dim - 1))
            self.step(
                "chain rule (parameter message)",
                _pd("L", "L", plabel_t, plabel_l),
                rawg,
                f"dL/d{plabel_t} = sum_j delta^{{l+1}}_j dz^{{l+1}}_j / d{plabel_t}",
            )
            g = tidy(clean(rawg))
            if g != rawg:
                self.step("sum out Kronecker deltas", _pd("L", "L", plabel_t, plabel_l), g)
            gb = self.batch(g, extra)
            gsum = sp.Sum(gb, (s_, 0, m - 1)) if gb != 0 else sp.Integer(0)
            self.step("batch: sum over samples", _pd("L", "L", plabel_t, plabel_l), gsum)
            if len(pidx) == 2:
                row, col = pidx
            else:
                row, col = (None, pidx[0]) if p.vector_as == "row" else (pidx[0], None)
            gm = Translator(self._msg_bindings()).translate(gsum, row, col, shape=p.sym().shape)
            lab = _pd("L", "L", p.matrix, latex_matrix(p))
            self.step("read off the matrix form", lab, gm)
            self.results.append(
                Result(
                    f"grad:{p.name}",
                    lab,
                    index=g,
                    index_lhs=_pd("L", "L", plabel_t, plabel_l),
                    matrix=gm,
                    shape=p.sym().shape,
                )
            )
            grads.append((p.name, gm))
        # forward matrix form
        fb = self.batch(fwd)
        fm = Translator(self._msg_bindings()).translate(fb, s_, j if out_dim != 1 else None)
        self.results.insert(
            0,
            Result(
                "forward",
                _lbl(sp_.out_matrix, latex_name_of(sp_)),
                index=fwd,
                index_lhs=_lbl(f"{zn_t}[j]", zn_l + "_j"),
                matrix=fm,
                shape=fm.shape,
            ),
        )
        out_sym = None
        if sp_.output is not None:
            out_sym = mx.Sym(sp_.output.matrix, fm.shape, role="output", latex=sp_.output.matrix_latex)
        return ModuleCode(
            kind="module",
            input=z.sym(),
            params=tuple(p.sym() for p in sp_.arg("param")),
            hyper=sp_.hyper,
            forward=fm,
            output=out_sym,
            output_def=fm if out_sym is not None else None,
            upstream=mx.Sym("Delta", fm.shape, role="upstream"),
            backward=back_m,
            grads=tuple(grads),
            kinks=sp_.kinks,
            kink_points=sp_.kink_points,
            domain=z.domain,
        )

    def _msg_bindings(self):
        b = self._bindings()
        shape_out = None
        z = self.spec.arg("input")[0]
        out_cols = self.spec.out_dim if self.spec.out_dim is not None else sp.Integer(1)
        b["Delta"] = Binding(mx.Sym("Delta", (m, out_cols), role="upstream"), 2)
        if self.spec.output is not None:
            b[self.spec.output.matrix] = Binding(
                mx.Sym(self.spec.output.matrix, (m, out_cols), role="output", latex=self.spec.output.matrix_latex), 2
            )
        return b

    # --- losses ---
    def _loss(self):
        sp_ = self.spec
        z = sp_.arg("input")[0]
        y = sp_.arg("target")[0]
        zb = self.bases[z.name]
        ell = sp_.forward(self.bases, None)
        a = a_
        self.definition = [Step("definition", _lbl("l(y, z)", r"\ell(y, z)"), ell, "loss of one sample")]
        red = sp.Rational(1, 1) / m if sp_.reduction == "mean" else sp.Integer(1)
        L = red * sp.Sum(self.batch(ell), (s_, 0, m - 1))
        self.definition.append(
            Step(
                "definition",
                _lbl("L", "L"),
                L,
                "mean over the m samples" if sp_.reduction == "mean" else "sum over the m samples",
            )
        )
        entry = zb[a] if z.dims else zb
        en_t, en_l = (f"z[{a}]", "z_{%s}" % a) if z.dims else ("z", "z")
        raw = sp.diff(ell, entry)
        self.step("differentiate (SymPy diff)", _pd("l", r"\ell", en_t, en_l), raw)
        lab_l = _pd("l", r"\ell", en_t, en_l)
        g = clean(raw)
        if g != raw:
            self.step("sum out the Kronecker deltas" if raw.has(sp.KroneckerDelta) else "expand", lab_l, g)
        # name the output first, so that a constraint of the target visibly
        # cancels (softmax + cross-entropy: p_i sum_c y_c - y_i = p_i - y_i)
        if sp_.output is not None:
            try:
                g_named = tidy(self.rename_output(g))
            except ValueError:
                g_named = g
            if g_named != g:
                self.step("name the forward output", lab_l, g_named, sp_.output.note)
                g = g_named
        g2 = self.apply_assumptions(g)
        if g2 != g:
            self.step("use the target's constraint", lab_l, g2, "; ".join(s for s, _ in sp_.assumptions))
        g = g2
        g3 = tidy(self.rename_output(g))
        if g3 != g and sp_.output is not None:
            self.step("name the forward output", lab_l, g3, sp_.output.note)
        g4 = tidy(sp.simplify(g3)) if g3.has(sp.exp) else tidy(g3)
        g5 = common_denominator(g4)
        if sp.count_ops(g5) < sp.count_ops(g4) and sp.simplify(g5 - g4) == 0:
            g4 = g5
        if g4 != g3:
            self.step("over a common denominator" if g4 is g5 else "simplify", lab_l, g4)
        g = g4
        self.results.append(Result("local", _pd("l", r"\ell", en_t, en_l), index=g))
        extra = {}
        if sp_.output is not None:
            extra[str(self.out.label)] = sp.IndexedBase(sp_.output.matrix)
        gb = red * self.batch(g, extra)
        self.step(
            "batch: rows are samples" + (", times 1/m (mean)" if sp_.reduction == "mean" else ""),
            _pd(
                "L", "L", f"Z[{s_}, {a}]" if z.dims else f"z[{s_}]", "Z_{%s,%s}" % (s_, a) if z.dims else "z_{%s}" % s_
            ),
            gb,
            f"the loss module's input z is {z.matrix} (row {s_}: sample {s_})",
        )
        b = self._bindings()
        if sp_.output is not None:
            b[sp_.output.matrix] = Binding(
                mx.Sym(sp_.output.matrix, z.sym().shape, role="output", latex=sp_.output.matrix_latex),
                2 if z.dims else 1,
                vector_as="col",
            )
        gm = _readable_map(Translator(b).translate(gb, s_, a if z.dims else None))
        lab = _pd("L", "L", z.matrix, latex_matrix(z))
        self.step("read off the matrix form", lab, gm)
        # the loss value in matrix form
        Lm = Translator(self._bindings()).translate(L, None, None)
        self.results.insert(0, Result("loss", _lbl("L", "L"), index=L, matrix=Lm, shape=(1, 1)))
        self.results.append(
            Result("backward", lab, index=g, index_lhs=_pd("l", r"\ell", en_t, en_l), matrix=gm, shape=z.sym().shape)
        )
        out_sym = None
        if sp_.output is not None:
            out_sym = mx.Sym(sp_.output.matrix, z.sym().shape, role="output", latex=sp_.output.matrix_latex)
            val = self.batch(sp_.output.value(self.bases, a if z.dims else None))
            out_def = Translator(self._bindings()).translate(val, s_, a if z.dims else None)
        return ModuleCode(
            kind="loss",
            input=z.sym(),
            target=y.sym(),
            hyper=sp_.hyper,
            forward=Lm,
            output=out_sym,
            output_def=out_def if sp_.output is not None else None,
            backward=gm,
            kinks=sp_.kinks,
            kink_points=sp_.kink_points,
            params=tuple(p.sym() for p in sp_.arg("param")),
            domain=z.domain,
            target_domain=y.domain,
        )

    # --- penalties ---
    def _penalty(self):
        sp_ = self.spec
        w = sp_.arg("param")[0]
        wb = self.bases[w.name]
        pen = sp_.forward(self.bases, None)
        self.definition = [Step("definition", _lbl("R(W)", "R(\\mathbf{W})"), pen, "penalty added to the loss")]
        entry = wb[a_, c_]
        raw = sp.diff(pen, entry)
        lab_i = _pd("R", "R", f"W[{a_}, {c_}]", "w_{%s%s}" % (a_, c_))
        self.step("differentiate (SymPy diff)", lab_i, raw)
        g = tidy(clean(raw))
        if g != raw:
            self.step("sum out Kronecker deltas", lab_i, g)
        g2 = self.apply_assumptions(g)
        if g2 != g:
            self.step("state the subgradient", lab_i, g2, "; ".join(s for s, _ in sp_.assumptions))
            g = g2
        b = {w.name: Binding(w.sym(), 2)}
        gm = Translator(b).translate(g, a_, c_)
        lab = _pd("R", "R", w.matrix, latex_matrix(w))
        self.step("read off the matrix form", lab, gm)
        Pm = Translator(b).translate(pen, None, None)
        self.results.append(Result("penalty", _lbl("R", "R"), index=pen, matrix=Pm, shape=(1, 1)))
        self.results.append(Result(f"grad:{w.name}", lab, index=g, index_lhs=lab_i, matrix=gm, shape=w.sym().shape))
        return ModuleCode(
            kind="penalty",
            input=w.sym(),
            params=(w.sym(),),
            hyper=sp_.hyper,
            forward=Pm,
            backward=gm,
            grads=((w.name, gm),),
            kinks=sp_.kinks,
            kink_points=sp_.kink_points,
        )


def latex_matrix(arg: Arg) -> str:
    from gradproof.derive.output.printing import latex_name

    return arg.matrix_latex or latex_name(arg.matrix, arg.batched_shape())


def latex_name_of(spec: ModuleSpec) -> str:
    return spec.out_latex or r"\mathbf{Z}^{l+1}"


def _with(d: Derivation, **kw) -> Derivation:
    from dataclasses import replace

    return replace(d, **kw)


def _mark_claimed(results, claims, proofs):
    proved = {p.key[len("claim:") :] for p in proofs if p.key.startswith("claim:") and p.passed}
    failed = {p.key[len("claim:") :] for p in proofs if p.key.startswith("claim:") and not p.passed}
    from dataclasses import replace

    out = []
    for r in results:
        keys = {c.key for c in claims if c.key == r.key}
        if keys and not (keys & failed) and keys <= proved:
            r = replace(r, origin="claimed-and-proved")
        out.append(r)
    return out


def prove_index_claim(claim: Claim, d: Derivation, size: int = 3):
    """An index-form claim (the lecture's ``dz^{l+1}_j/dz^l_i = w_ij``) against
    the derived index form, itself proved against SymPy's differentiation.

    Both sides are compared at every assignment of the free indices in
    ``0..size-1`` (so Kronecker deltas and index coincidences are decided),
    the entries left as symbols: an exact check, not a sample.
    """
    from itertools import product

    from gradproof.derive.engine.derivation import Proof

    key = "claim:" + claim.key
    res = {r.key: r for r in d.results}.get(claim.key)
    if res is None or res.index is None or claim.index is None:
        return Proof(
            key,
            "claim (index form)",
            f"indices 0..{size - 1}",
            False,
            f"no derived index form {claim.key!r} to compare with",
        )
    diff = sp.sympify(claim.index, strict=True) - res.index
    idx = sorted(
        (x for x in diff.free_symbols if isinstance(x, sp.Symbol) and x.is_integer and x not in (m, n, K)), key=str
    )
    for values in product(range(size), repeat=len(idx)):
        e = diff.xreplace(dict(zip(idx, values))).doit()
        if sp.simplify(e) != 0:
            return Proof(
                key,
                "claim (index form)",
                f"indices 0..{size - 1}",
                False,
                f"{claim.statement}: differs at {dict(zip(map(str, idx), values))}",
            )
    return Proof(key, "claim (index form)", f"every index assignment in 0..{size - 1}", True)


def build_module(topic) -> Derivation:
    """``Topic.build`` for modules, losses and penalties."""
    return ModuleDeriver(topic).build()
