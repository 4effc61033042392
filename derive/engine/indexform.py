"""Index form: the per-sample derivation machinery every kind shares.

Clean-up of SymPy's index results (Kronecker sums evaluated, index-range
``Piecewise`` wrappers dropped, roots of sums kept as written), the labels
of derivatives, and :class:`Deriver`, which holds one derivation's steps and
results while a kind unit (:mod:`gradproof.derive.engine.kinds`) fills them:
it batches per-sample index forms (rows are samples) and binds the
declaration's arguments for the matrix-form translator.
"""

from __future__ import annotations

import sympy as sp

from gradproof.derive.engine import mexpr as mx
from gradproof.derive.engine.derivation import Derivation, Label, Step
from gradproof.derive.engine.matrixform import Binding, shortest
from gradproof.derive.engine.notation import Arg, ModuleDeclaration, m, s_
from gradproof.derive.proof.zero import simplifies_to_zero

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


def readable_map(e):
    """An elementwise matrix form over one common denominator, as the lecture
    writes ``(yhat - y) / (yhat (1 - yhat))`` (the same function of the
    entries: only the written form changes, and only when it is shorter)."""
    from dataclasses import replace

    if isinstance(e, mx.Scale) and isinstance(e.arg, mx.Map):
        return replace(e, arg=readable_map(e.arg))
    if isinstance(e, mx.Map):
        body = sp.sympify(e.expr, strict=True)
        nicer = common_denominator(body)
        if nicer != body and sp.count_ops(nicer) <= sp.count_ops(body) and simplifies_to_zero(nicer - body):
            return replace(e, expr=nicer)
    return e


def tidy(e: sp.Expr) -> sp.Expr:
    e, held = _hold_roots(e)
    cands = [e, sp.factor_terms(e), sp.factor_terms(sp.expand(e))]
    return _release(shortest(cands), held)


# ---------------------------------------------------------------------------
# Labels
# ---------------------------------------------------------------------------


def label(text, latex):
    return Label(text, latex)


def partial(num_t, num_l, den_t, den_l):
    return label(f"d{num_t}/d{den_t}", r"\frac{\partial %s}{\partial %s}" % (num_l, den_l))


class Deriver:
    """One derivation in progress: the topic's steps, results and notes.

    A kind unit's ``derive(deriver)`` fills ``definition``, ``steps`` and
    ``results`` and returns the :class:`~gradproof.derive.engine.derivation.ModuleCode`.
    """

    def __init__(self, topic):
        self.topic = topic
        self.decl: ModuleDeclaration = topic.declaration
        self.steps: list[Step] = []
        self.results: list = []
        self.definition: list[Step] = []
        self.notes: list[str] = list(topic.extra.get("notes", ()))
        self.bases = {a.name: a.base() for a in self.decl.args}
        self.out = sp.IndexedBase(self.decl.output.name) if self.decl.output else None

    def derivation(self, messages) -> Derivation:
        """Run ``messages(self)`` (a kind's derivation, returning its code) and collect the unproved derivation."""
        code = messages(self)
        t = self.topic
        return Derivation(
            topic=t.name,
            title=t.title,
            category=t.category,
            section=t.section,
            summary=t.summary,
            definition=tuple(self.definition),
            steps=tuple(self.steps),
            results=tuple(self.results),
            claims=tuple(t.claims),
            notes=tuple(dict.fromkeys(self.notes)),
            code=code,
        )

    def step(self, rule, lhs, rhs, note=""):
        self.steps.append(Step(rule, lhs, rhs, note))

    def rename_output(self, e):
        o = self.decl.output
        if o is None:
            return e
        return o.rename(e, self.bases, self.out)

    def apply_assumptions(self, e, record=True):
        for statement, fn in self.decl.assumptions:
            e2 = fn(e, self.bases)
            if e2 != e:
                e = e2
                if record:
                    self.notes.append(statement)
        return e

    def bindings(self):
        b = {}
        for a in self.decl.args:
            sym = a.sym()
            if a.batched:
                b[a.matrix] = Binding(sym, 2 if a.dims else 1, vector_as="col")
            else:
                b[a.name] = Binding(sym, len(a.dims) or 1, vector_as=a.vector_as)
        return b

    def batch(self, e, extra=None):
        """Per-sample index form -> batched index form (rows are samples)."""
        sub = {}
        for a in self.decl.args:
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
        for a in self.decl.args:
            if a.batched and not a.dims:
                sym_sub[a.base()] = sp.IndexedBase(a.matrix)[s_]
        for name, B in (extra or {}).items():
            sym_sub[sp.Symbol(name, real=True)] = B[s_]
        return e.xreplace(sym_sub)

    # --- bindings of the backward and parameter messages (modules) ---
    def message_bindings(self):
        b = self.bindings()
        out_cols = self.decl.out_dim if self.decl.out_dim is not None else sp.Integer(1)
        b["Delta"] = Binding(mx.Sym("Delta", (m, out_cols), role="upstream"), 2)
        if self.decl.output is not None:
            b[self.decl.output.matrix] = Binding(
                mx.Sym(self.decl.output.matrix, (m, out_cols), role="output", latex=self.decl.output.matrix_latex), 2
            )
        return b

    # --- losses ---


def latex_matrix(arg: Arg) -> str:
    from gradproof.derive.output.printing import latex_name

    return arg.matrix_latex or latex_name(arg.matrix, arg.batched_shape())


def latex_name_of(decl: ModuleDeclaration) -> str:
    return decl.out_latex or r"\mathbf{Z}^{l+1}"
