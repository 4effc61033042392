"""From index notation to matrix form.

The engine derives every result in index notation (SymPy ``Indexed``
entries, ``Sum`` over dummy indices, Kronecker deltas summed out).  This
module turns such an expression, with its two free indices (row, column),
into a :mod:`gradproof.derive.engine.mexpr` matrix expression — the step the lecture does by
eye when it writes ``sum_s x_{s,i} delta_{s,k} = (X^T Delta)_{ik}``.

It works like reading an ``einsum``:

1. split the expression into terms, each a coefficient times *atoms*; an
   atom is an elementwise sub-expression whose entries all carry the same
   pair of indices (``2*(z[s,a] - y[s,a])``), becoming a
   :class:`~gradproof.derive.engine.mexpr.Map`; a non-linear function of a sum (``1/sum_c
   exp(s[r,c])``) first has its sum translated and named;
2. repeatedly: merge atoms over the same indices (Hadamard products, with
   broadcasting of ``(m, 1)`` and ``(1, K)``), contract a dummy index shared by
   two atoms (a matrix product, transposing as needed), sum out a dummy that
   only one atom carries (row or column sums);
3. add the terms, merging elementwise terms into one :class:`Map` whose body
   SymPy factors.

Anything it cannot read raises :class:`TranslationError`; every result it
produces is proved exactly against SymPy's scalar differentiation elsewhere,
so the translator need not be trusted either.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import sympy as sp

from gradproof.derive.engine import mexpr as mx

ONE = sp.Symbol("ONE")  # a broadcast index of extent 1


class TranslationError(ValueError):
    pass


@dataclass
class Atom:
    expr: mx.MExpr
    idx: tuple  # (row index, col index); ONE for extent 1


@dataclass
class Binding:
    """How an ``IndexedBase`` maps to a matrix symbol: its index slots."""

    sym: mx.Sym
    slots: int  # 1 or 2 indices in the index form
    vector_as: str = "row"  # for 1-index bases: "row" -> (ONE, i), "col" -> (i, ONE)


_counter = itertools.count()


def _fresh(prefix="u"):
    return sp.Symbol(f"_{prefix}{next(_counter)}")


class Translator:
    """Translate index expressions over the given bindings to matrix form."""

    def __init__(self, bindings: dict[str, Binding], extra_bound: dict | None = None):
        self.bindings = bindings
        # named sub-results: placeholder Indexed base name -> (MExpr, idx order)
        self.named: dict = dict(extra_bound or {})

    # -- public -----------------------------------------------------------
    def translate(self, expr: sp.Expr, row, col, shape=None) -> mx.MExpr:
        row = ONE if row is None else row
        col = ONE if col is None else col
        expr = sp.sympify(expr, strict=True)
        if expr == 0 and shape is not None:
            return mx.Const(sp.Integer(0), tuple(shape))
        terms = self._terms(expr, frozenset())
        mats = []
        for coeff, atoms, dummies in terms:
            if coeff == 0:
                continue
            mats.append(self._term_to_matrix(coeff, atoms, dummies, row, col))
        if not mats:
            raise TranslationError("expression is identically zero")
        return simplify_sum(mats)

    # -- splitting into terms ----------------------------------------------
    def _indexed_sig(self, e):
        """The index tuple shared by every Indexed in ``e`` (None if mixed)."""
        sigs = set()
        for ind in e.atoms(sp.Indexed):
            sigs.add(self._canon(ind))
        return sigs

    def _canon(self, ind: sp.Indexed):
        name = str(ind.base.label)
        if name not in self.bindings:
            raise TranslationError(f"no matrix binding for {name}")
        b = self.bindings[name]
        # an index fixed at 0 is an axis of extent 1
        idx = tuple(ONE if i == 0 else i for i in ind.indices)
        if b.slots == 1:
            return (ONE, idx[0]) if b.vector_as == "row" else (idx[0], ONE)
        return idx

    def _is_elementwise(self, e) -> bool:
        if e.has(sp.Sum):
            return False
        sigs = self._indexed_sig(e)
        if isinstance(e, (sp.Mul, sp.Add)):
            # products and sums over different index pairs are contractions or
            # broadcasts for the einsum phase, not one elementwise atom
            return len({tuple(sorted(map(str, sg))) for sg in sigs}) == 1
        return _main_sig(sigs) is not None

    def _terms(self, e, dummies):
        """List of (coeff, [atom exprs], dummies)."""
        if not e.has(sp.Indexed):
            return [(e, [], dummies)]
        if self._is_elementwise(e):
            return [(sp.Integer(1), [e], dummies)]
        if isinstance(e, sp.Add):
            out = []
            for a in e.args:
                out += self._terms(a, dummies)
            return out
        if isinstance(e, sp.Mul):
            parts = [
                [(sp.Integer(1), [self._name_expr(a)], frozenset())] if _is_centred(a) else self._terms(a, frozenset())
                for a in e.args
            ]
            out = []
            for combo in itertools.product(*parts):
                coeff = sp.Mul(*[c for c, _, _ in combo])
                atoms = [a for _, at, _ in combo for a in at]
                ds = dummies.union(*[d for _, _, d in combo])
                out.append((coeff, atoms, ds))
            return out
        if isinstance(e, sp.Sum):
            body = e.function
            ds = set()
            for lim in e.limits:
                d = lim[0]
                nd = sp.Symbol(f"{d.name}_{next(_counter)}", integer=True)
                body = body.xreplace({d: nd})
                ds.add(nd)
            inner = self._terms(body, frozenset())
            return [(c, at, dummies | d | frozenset(ds)) for c, at, d in inner]
        # a non-linear function or power of something containing a Sum:
        # translate each maximal Sum, name it, and retry as elementwise.
        if e.has(sp.Sum):
            return [(sp.Integer(1), [self._name_sums(e)], dummies)]
        raise TranslationError(f"cannot read {e} as matrix algebra")

    def _name_expr(self, s):
        """Translate ``s`` (free indices at most two) and stand for it by a named matrix entry."""
        free = sorted(self._index_symbols(s) - _bound(s), key=str)
        if len(free) > 2:
            raise TranslationError(f"more than two free indices: {s}")
        r, c = (free + [ONE, ONE])[:2] if len(free) != 1 else (free[0], ONE)
        mat = self.translate(s, r, c)
        base = sp.IndexedBase(str(_fresh("S")))
        self.bindings[str(base.label)] = Binding(mx.Sym(str(base.label), mat.shape, role="named"), 2)
        self.named[str(base.label)] = mat
        return base[r, c]

    def _name_sums(self, e):
        def repl(s):
            free = sorted(s.free_symbols & self._index_symbols(s), key=str)
            free = [f for f in free if f not in {lim[0] for lim in s.limits}]
            if len(free) > 2:
                raise TranslationError(f"sum with more than two free indices: {s}")
            if len(free) == 2:
                r, c = free
            elif len(free) == 1:
                r, c = free[0], ONE
            else:
                r, c = ONE, ONE
            mat = self.translate(s, r, c)
            base = sp.IndexedBase(str(_fresh("S")))
            self.bindings[str(base.label)] = Binding(mx.Sym(str(base.label), mat.shape, role="named"), 2)
            self.named[str(base.label)] = mat
            return base[r, c]

        return e.replace(lambda x: isinstance(x, sp.Sum), repl)

    def _index_symbols(self, e):
        out = set()
        for ind in e.atoms(sp.Indexed):
            out |= {i for i in ind.indices if isinstance(i, sp.Symbol)}
        return out

    # -- one term ------------------------------------------------------------
    def _atom_matrix(self, e) -> Atom:
        sig = _main_sig(self._indexed_sig(e))
        args = []
        sub = {}
        for ind in sorted(e.atoms(sp.Indexed), key=sp.default_sort_key):
            name = str(ind.base.label)
            b = self.bindings[name]
            mat = self.named.get(name, b.sym)
            idx = self._canon(ind)
            if idx != sig:
                if (idx[1], idx[0]) == sig or (_fits(idx[::-1], sig) and not _fits(idx, sig)):
                    mat = _t(mat)
                elif not _fits(idx, sig):
                    raise TranslationError(f"mixed indices in elementwise {e}")
            p = _fresh("p")
            sub[ind] = p
            args.append((p, mat))
        body = e.xreplace(sub)
        return Atom(make_map(body, tuple(args)), sig)

    def _term_to_matrix(self, coeff, atom_exprs, dummies, row, col):
        atoms = [self._atom_matrix(a) for a in atom_exprs]
        # pull numeric/scalar coefficients out of each Map body
        for a in atoms:
            if isinstance(a.expr, mx.Map):
                c, rest = _split_coeff(a.expr.expr)
                if c != 1:
                    coeff = coeff * c
                    a.expr = make_map(rest, a.expr.args)
        self._contract(atoms, set(dummies), row == ONE and col != ONE)
        atoms = _outer_product(atoms, row, col)
        result = None
        for a in atoms:
            m = _orient(a, row, col)
            result = m if result is None else hadamard(result, m)
        if result is None:
            return mx.Const(coeff)
        if coeff != 1:
            result = scale(coeff, result)
        return result

    def _contract(self, atoms, dummies: set, row_vector: bool) -> None:
        """Sum out every dummy index: row and column sums, matrix products, merges."""
        for _ in range(64):
            if self._merge_same(atoms, dummies):
                continue
            if not dummies:
                break
            if not any(_contract_dummy(atoms, dummies, d, row_vector) for d in sorted(dummies, key=str)):
                raise TranslationError(
                    "a dummy index is shared by three or more factors, none of which "
                    "broadcasts against another (a tensor contraction, not matrix algebra)"
                )
        if dummies:
            raise TranslationError("could not contract every dummy index")

    def _merge_same(self, atoms, dummies=frozenset()) -> bool:
        for a, b in itertools.combinations(atoms, 2):
            ia = set(a.idx) - {ONE}
            ib = set(b.idx) - {ONE}
            if ia == ib and len(ia) == 2:
                bm = b.expr if b.idx == a.idx else _t(b.expr)
                a.expr = hadamard(a.expr, bm)
                atoms.remove(b)
                return True
            if ia <= ib or ib <= ia:
                big, small = (a, b) if ia >= ib else (b, a)
                if (set(small.idx) - {ONE}) & set(dummies):
                    continue  # a shared dummy: contract it instead
                if small.idx == (ONE, ONE):
                    big.expr = hadamard(big.expr, small.expr)
                    atoms.remove(small)
                    return True
                (sidx,) = tuple(set(small.idx) - {ONE}) or (None,)
                if sidx is None:
                    continue
                # orient small to broadcast along big's other axis
                if big.idx[0] == sidx:
                    sm = small.expr if small.idx[0] == sidx else _t(small.expr)
                elif big.idx[1] == sidx:
                    sm = small.expr if small.idx[1] == sidx else _t(small.expr)
                else:
                    continue
                big.expr = hadamard(big.expr, sm)
                atoms.remove(small)
                return True
        return False


def _bound(e) -> set:
    return {lim[0] for sm in e.atoms(sp.Sum) for lim in sm.limits}


def _is_centred(a) -> bool:
    """A sum of entries and sums of entries, ``z[s, j] - sum_k z[s, k] / n``, as a factor of a product.

    Multiplied out, ``g (z - mean) / sigma`` becomes ``g z / sigma - g mean / sigma``:
    a difference of two large numbers when the mean is large.  Kept as one
    matrix, the centred values are formed first, as the forward map says.
    """
    if not (isinstance(a, sp.Add) and a.has(sp.Sum) and a.has(sp.Indexed)):
        return False
    if not any(t.has(sp.Indexed) and not t.has(sp.Sum) for t in a.args):
        return False
    for f in sp.preorder_traversal(a):
        if (isinstance(f, sp.Function) and f.has(sp.Sum)) or (
            isinstance(f, sp.Pow) and f.has(sp.Sum) and not f.exp.is_Integer
        ):
            return False
        if isinstance(f, sp.KroneckerDelta):
            return False
    return True


def _is_param_row(a: Atom) -> bool:
    """A row vector made of parameters only (a gain ``g``, a bias ``b``: 1-D arrays in NumPy)."""
    if a.idx[0] != ONE or a.idx[1] == ONE:
        return False
    syms = [a.expr] if isinstance(a.expr, mx.Sym) else [x for _, x in a.expr.args] if isinstance(a.expr, mx.Map) else []
    return bool(syms) and all(isinstance(x, mx.Sym) and x.role == "param" for x in syms)


def _row_param_against_matrix(holders, d, row_result=False) -> bool:
    """Contract by broadcasting and summing instead of a matrix product: a row of
    parameters against a matrix, or a column against a matrix into a row (the
    message of a gain ``g``: ``colsum(u * Delta)``, 1-D like ``g`` itself)."""
    a, b = holders
    for vec, mat in ((a, b), (b, a)):
        if ONE in mat.idx or d not in mat.idx:
            continue
        if _is_param_row(vec) and vec.idx[1] == d:
            return True
        other = [x for x in mat.idx if x != d]
        if d in vec.idx and ONE in vec.idx and other and mat.idx.index(other[0]) == 1 and row_result:
            return True
    return False


def _merge_into_holder(atoms, holders) -> bool:
    """Merge one holder of a shared dummy into another whose indices include its own.

    ``x[s] * y[s, a]`` over a summed ``s`` is the elementwise product
    ``(x * y)[s, a]`` (``x`` broadcast along ``a``), so a dummy index shared
    by three factors becomes one shared by two, which contract as usual.
    Returns whether a merge was made.
    """
    for small, big in itertools.permutations(holders, 2):
        si, bi = set(small.idx) - {ONE}, set(big.idx) - {ONE}
        if not si <= bi:
            continue
        if si == bi and len(si) == 2:
            sm = small.expr if small.idx == big.idx else _t(small.expr)
        elif small.idx == (ONE, ONE):
            sm = small.expr
        else:
            (k,) = tuple(si)
            pos_big = big.idx.index(k)
            pos_small = small.idx.index(k)
            sm = small.expr if pos_big == pos_small else _t(small.expr)
        big.expr = hadamard(big.expr, sm)
        atoms.remove(small)
        return True
    return False


def _fits(idx, sig) -> bool:
    """``idx`` broadcasts against ``sig`` slot by slot (ONE stretches)."""
    return all(x in (y, ONE) for x, y in zip(idx, sig))


def _main_sig(sigs):
    """The signature an elementwise atom lives on, if its entries agree
    (up to transposition and broadcasting of an axis of extent 1)."""
    if not sigs:
        return None
    full = sorted(sigs, key=lambda t: (sum(x == ONE for x in t), str(t)))
    main = full[0]
    for sg in full[1:]:
        if not (_fits(sg, main) or _fits(sg[::-1], main)):
            return None
    return main


def _orient(a: Atom, row, col) -> mx.MExpr:
    """The atom as a matrix whose rows run over ``row`` and columns over ``col``."""
    r, c = a.idx
    if r in (row, ONE) and c in (col, ONE):
        return a.expr
    if c in (row, ONE) and r in (col, ONE):
        return _t(a.expr)
    raise TranslationError(f"free indices {a.idx} do not match ({row}, {col})")


def _t(e: mx.MExpr) -> mx.MExpr:
    if isinstance(e, mx.Transpose):
        return e.arg
    if isinstance(e, mx.MatMul):
        return mx.MatMul(_t(e.right), _t(e.left))
    if isinstance(e, mx.Map):
        return make_map(e.expr, tuple((p, _t(a)) for p, a in e.args))
    if isinstance(e, mx.Scale):
        return mx.Scale(e.coeff, _t(e.arg))
    if isinstance(e, (mx.Const,)) or e.shape == (1, 1):
        return e
    return mx.Transpose(e)


def _split_coeff(body):
    c, rest = sp.sympify(body, strict=True).as_coeff_Mul()
    return c, rest


def make_map(body, args) -> mx.MExpr:
    """A Map, simplified: a bare placeholder is its matrix; duplicate
    arguments are merged; unused ones dropped."""
    body = sp.sympify(body, strict=True)
    # merge identical bound matrices
    uniq: dict = {}
    sub = {}
    for p, a in args:
        if a in uniq:
            sub[p] = uniq[a]
        else:
            uniq[a] = p
    if sub:
        body = body.xreplace(sub)
    used = body.free_symbols
    args = tuple((p, a) for a, p in uniq.items() if p in used)
    if len(args) == 1 and body == args[0][0]:
        return args[0][1]
    if not args:
        return mx.Const(body)
    return mx.Map(body, args)


def hadamard(a: mx.MExpr, b: mx.MExpr) -> mx.MExpr:
    pa, pb = _fresh("h"), _fresh("h")
    ba, aa = _as_map(a, pa)
    bb, ab = _as_map(b, pb)
    return make_map(ba * bb, aa + ab)


def scale(c, a: mx.MExpr) -> mx.MExpr:
    if isinstance(a, mx.Map):
        return make_map(c * a.expr, a.args)
    if isinstance(a, mx.Scale):
        return scale(c * a.coeff, a.arg)
    return mx.Scale(c, a)


def _as_map(a, p):
    if isinstance(a, mx.Map):
        return a.expr, a.args
    if isinstance(a, mx.Const):
        return a.value, ()
    return p, ((p, a),)


def simplify_sum(mats: list) -> mx.MExpr:
    """Add terms: elementwise terms merge into one factored Map."""
    maps = [m for m in mats if isinstance(m, (mx.Map, mx.Const)) or _is_scalar_map_candidate(m)]
    others = [m for m in mats if m not in maps]
    result_terms = []
    if maps:
        body = sp.Integer(0)
        args = ()
        for m in maps:
            if isinstance(m, mx.Map):
                b, a = m.expr, m.args
            elif isinstance(m, mx.Const):
                b, a = m.value, ()
            else:
                p = _fresh("q")
                coeff = m.coeff if isinstance(m, mx.Scale) else 1
                inner = m.arg if isinstance(m, mx.Scale) else m
                b, a = coeff * p, ((p, inner),)
            body += b
            args += a
        merged = make_map(body, args)
        if isinstance(merged, mx.Map):
            merged = make_map(_tidy(merged.expr), merged.args)
        result_terms.append(merged)
    result_terms = others + result_terms
    if len(result_terms) == 1:
        return result_terms[0]
    return mx.Add(tuple(result_terms))


def _is_scalar_map_candidate(m):
    return isinstance(m, (mx.Sym, mx.Scale, mx.Transpose, mx.RowSum, mx.ColSum)) and not isinstance(m, mx.MatMul)


def _tidy(body):
    """Factor an elementwise body the way the lecture writes it."""
    f = sp.factor_terms(sp.together(sp.expand(body)))
    g = sp.factor(body)
    return shortest([g, f, body])


def shortest(cands: list):
    """The first candidate with the fewest operations, ties broken by the shorter text.

    What ``min(cands, key=(count_ops, len(str)))`` picks, printing a
    candidate only when its count of operations ties with the best.

    >>> x, y, z = sp.symbols("x y z")
    >>> shortest([x * y + x * z, x * (y + z)])
    x*(y + z)
    >>> shortest([x * (y + 1), x * y + x])  # two operations each: the shorter text
    x*y + x
    """
    ops = [sp.count_ops(e) for e in cands]
    fewest = min(ops)
    tied = [e for e, k in zip(cands, ops) if k == fewest]
    return tied[0] if len(tied) == 1 else min(tied, key=lambda e: len(str(e)))


def _contract_dummy(atoms, dummies: set, d, row_vector: bool) -> bool:
    """Sum out the dummy ``d`` if its factors allow it now; whether anything changed."""
    holders = [a for a in atoms if d in a.idx]
    if len(holders) == 0:
        # a sum of something independent of d: multiply by its range
        raise TranslationError(f"dummy {d} does not occur")
    if len(holders) == 1:
        a = holders[0]
        if isinstance(a.expr, (mx.RowSum, mx.ColSum)) and ONE in a.idx:
            a.expr, a.idx = mx.Total(a.expr.arg), (ONE, ONE)
        elif a.idx[1] == d:
            other = a.idx[0]
            if other == ONE:
                a.expr, a.idx = mx.Total(a.expr), (ONE, ONE)
            else:
                a.expr, a.idx = mx.RowSum(a.expr), (other, ONE)
        else:
            other = a.idx[1]
            if other == ONE:
                a.expr, a.idx = mx.Total(a.expr), (ONE, ONE)
            else:
                a.expr, a.idx = mx.ColSum(a.expr), (ONE, other)
        dummies.discard(d)
        return True
    if len(holders) == 2 and _row_param_against_matrix(holders, d, row_vector):
        # w_j x_sj summed over j: the row of parameters broadcasts along the
        # samples and the sum is a row sum (NumPy keeps such a parameter 1-D)
        _merge_into_holder(atoms, holders)
        return True
    if len(holders) == 2:
        a, b = holders
        x = a.idx[0] if a.idx[1] == d else a.idx[1]
        y = b.idx[1] if b.idx[0] == d else b.idx[0]
        am = a.expr if a.idx[1] == d else _t(a.expr)
        bm = b.expr if b.idx[0] == d else _t(b.expr)
        atoms.remove(b)
        a.expr, a.idx = mx.MatMul(am, bm), (x, y)
        dummies.discard(d)
        return True
    # three or more factors share d (g_j xhat_sj delta_sj summed over j):
    # one whose indices the other carries merges in, elementwise
    return bool(_merge_into_holder(atoms, holders))


def _outer_product(atoms, row, col):
    """Atoms left with only row/col/ONE: an outer product ``u v^T`` becomes a
    matrix product; anything else combines by broadcasting."""
    if len(atoms) == 2 and row != col:
        for at in atoms:
            if at.idx == (col, ONE) and col != ONE:
                at.expr, at.idx = _t(at.expr), (ONE, col)
            elif at.idx == (ONE, row) and row != ONE:
                at.expr, at.idx = _t(at.expr), (row, ONE)
        u, v = atoms
        if v.idx == (row, ONE) and u.idx == (ONE, col):
            u, v = v, u
        if u.idx == (row, ONE) and v.idx == (ONE, col) and not _is_param_row(v):
            # (a row of parameters broadcasts instead: the Hadamard product)
            return [Atom(mx.MatMul(u.expr, v.expr), (row, col))]
    return atoms
