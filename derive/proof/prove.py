"""Exact proofs: every derived result against SymPy's scalar differentiation.

The symbolic dimensions are instantiated at small *non-square* sizes
(``m=2, n=3, K=4``: a transposition error changes a shape and cannot hide),
every entry becomes its own SymPy symbol, the forward map is expanded into
explicit scalar expressions straight from the declaration, and SymPy's
ordinary ``diff`` of the scalar loss ``L = sum(Delta * forward(Z))`` is the
oracle.  The derived index form and matrix form are each compared entry by
entry; equality is decided by :func:`gradproof.derive.proof.zero.decide_zero`.

This module is the proofs' toolkit: a :class:`Session` holds one
derivation's explicit instances and the proofs recorded so far;
:func:`compare` records one proof; :func:`prove_claim` proves a stated
result; :func:`with_proofs` is the one way a derivation receives its proofs
(its claimed results marked ``claimed-and-proved``).  What each kind proves
is in its unit (:mod:`gradproof.derive.engine.kinds`).
"""

from __future__ import annotations

from dataclasses import replace
from itertools import product

import sympy as sp

from gradproof.derive.engine import mexpr as mx
from gradproof.derive.engine.derivation import Proof
from gradproof.derive.engine.notation import K, m, n
from gradproof.derive.proof.zero import (
    NONZERO,
    PROBE_POINTS,
    UNDECIDED,
    ZERO,
    decide_zero,
    exact_zero,
    simplifies_to_zero,
)

__all__ = [
    "NONZERO",
    "SIZES",
    "UNDECIDED",
    "ZERO",
    "Failure",
    "Session",
    "attempt",
    "compare",
    "decide_zero",
    "exact_zero",
    "gradient",
    "mark_claimed",
    "prove_claim",
    "prove_index_claim",
    "with_proofs",
]

SIZES = {"m": 2, "n": 3, "K": 4}

# ---------------------------------------------------------------------------
# Explicit instances
# ---------------------------------------------------------------------------


def dims_at(sizes) -> dict:
    """The symbolic dimensions at explicit sizes: ``{m: 2, n: 3, K: 4}``."""
    return {m: sizes["m"], n: sizes["n"], K: sizes["K"]}


def explicit_arg(arg, dims):
    """An explicit matrix of fresh symbols (or one-hot integers) for ``arg``."""
    shape = [int(sp.sympify(d, strict=True).subs(dims)) for d in arg.batched_shape()]
    r, c = shape
    if arg.domain == "onehot":
        M = sp.zeros(r, c)
        for s in range(r):
            M[s, (2 * s + 1) % c] = 1
        return M
    assumptions = {"real": True}  # binary targets too: the identities hold for every real y
    if arg.domain in ("positive", "probability"):
        assumptions = {"positive": True}
    return sp.Matrix(r, c, lambda a, b: sp.Symbol(f"{arg.matrix}_{a}{b}", **assumptions))


def per_sample_subs(decl, env, s):
    """Substitution of per-sample index objects by explicit entries of row s."""
    sub = {}
    for arg in decl.args:
        M = env[arg.matrix]
        if arg.batched:
            if arg.dims:
                base = arg.base()
                for col in range(M.cols):
                    sub[base[col]] = M[s, col]
            else:
                sub[sp.Symbol(arg.name, real=True)] = M[s, 0]
        else:
            base = arg.base()
            if len(arg.dims) == 2:
                for a in range(M.rows):
                    for b in range(M.cols):
                        sub[base[a, b]] = M[a, b]
            else:
                vec = list(M) if (M.rows == 1 or M.cols == 1) else None
                for b, val in enumerate(vec):
                    sub[base[b]] = val
    return sub


def instantiate(e, dims, sub, extra=None):
    """``e`` at explicit sizes (``dims``), its index objects replaced by entries (``sub``)."""
    # The sizes and hyperparameters are plain symbols, never bound variables:
    # structural replacement gives what ``subs`` gives, without its pattern matching.
    e = sp.sympify(e, strict=True).xreplace({k: sp.sympify(v, strict=True) for k, v in dims.items()})
    explicit = expand_sums(e) if e.has(sp.Sum) else e
    e = e.doit() if explicit is None or explicit.has(*_UNEVALUATED) else explicit
    e = e.xreplace(sub)
    if extra:
        e = e.xreplace(extra)
    return e


def gradient(L, X: sp.Matrix) -> sp.Matrix:
    """SymPy's ``diff(L, x)`` for every entry ``x`` of ``X``: the oracle of the proofs.

    A sum's derivative is the sum of its terms' derivatives (what SymPy's
    ``Add`` computes); a term free of ``x`` contributes 0, so each entry
    differentiates only the terms that contain it -- the same expression as
    ``diff(L, x)``, without visiting every sample's terms for every entry.

    >>> x, y = sp.symbols("x y", real=True)
    >>> L = x**2 + sp.exp(x * y) + y
    >>> gradient(L, sp.Matrix([[x, y]])) == sp.Matrix([[2 * x + y * sp.exp(x * y), x * sp.exp(x * y) + 1]])
    True
    """
    L = sp.sympify(L, strict=True)
    if not L.is_Add:
        return X.applyfunc(lambda x: sp.diff(L, x))
    holding: dict = {}
    for t in L.args:
        for x in t.free_symbols:
            holding.setdefault(x, []).append(t)

    def entry(x):
        if not x.is_Symbol:
            return sp.diff(L, x)
        return sp.Add(*[t.diff(x) for t in holding.get(x, ())])

    return X.applyfunc(entry)


# What ``doit`` evaluates besides sums: an instance holding one is left to ``doit``.
_UNEVALUATED = (sp.Sum, sp.Product, sp.Integral, sp.Derivative, sp.Limit, sp.Subs)


def expand_sums(e):
    """``e`` with every closed sum over explicit integer bounds written out term by term.

    ``Sum(f, (i, a, b))`` becomes ``f[i:=a] + ... + f[i:=b]`` (outer sums
    first, the bound indices replaced structurally): what ``doit`` computes
    for such sums, without its search for a closed form.  ``None`` when a
    sum has a free integer symbol (an index ``doit`` would keep in a
    ``Piecewise``) or bounds that are not explicit integers with
    ``b >= a - 1`` (a sum with ``b < a - 1`` is not empty in SymPy's
    convention): ``doit`` decides then.

    >>> i, j = sp.symbols("i j", integer=True)
    >>> x = sp.IndexedBase("x")
    >>> expand_sums(2 * sp.Sum(x[i] ** 2, (i, 0, 2)))
    2*x[0]**2 + 2*x[1]**2 + 2*x[2]**2
    >>> expand_sums(sp.Sum(x[i] * x[j], (i, 0, 2))) is None
    True
    """
    if not e.args:
        return e
    if isinstance(e, sp.Sum):
        if any(x.is_integer for x in e.free_symbols if isinstance(x, sp.Symbol)):
            return None
        ranges = []
        for i, a, b in e.limits:
            if not (a.is_Integer and b.is_Integer) or b < a - 1:
                return None
            ranges.append([(i, sp.Integer(v)) for v in range(int(a), int(b) + 1)])
        terms = [expand_sums(e.function.xreplace(dict(point))) for point in product(*ranges)]
        return None if any(t is None for t in terms) else sp.Add(*terms)
    args = [expand_sums(x) for x in e.args]
    if any(x is None for x in args):
        return None
    return e.func(*args) if any(x is not y for x, y in zip(args, e.args)) else e


def expand_products(e):
    """``e`` with every product over explicit integer bounds written out factor by factor.

    ``Product(f, (i, a, b))`` becomes ``f[i:=a] * ... * f[i:=b]`` (the first
    limit innermost, as SymPy nests them), the factors' own products written
    out first: the ``Mul`` that ``doit`` builds for such bounds, without its
    renaming of the index and its search for a closed form.  ``None`` when a
    product's bounds are not explicit integers with ``b >= a - 1``, or when
    a sum or product inside binds one of its indices again (a structural
    replacement would reach the inner, bound one): ``doit`` decides then.

    >>> i, j = sp.symbols("i j", integer=True)
    >>> x = sp.IndexedBase("x")
    >>> expand_products(sp.Product(sp.exp(x[i]), (i, 1, 3)))
    exp(x[1])*exp(x[2])*exp(x[3])
    >>> expand_products(sp.Product(sp.Sum(x[i], (i, 1, 2)), (i, 1, 2))) is None
    True
    """
    if not e.args:
        return e
    if isinstance(e, sp.Product):
        if any(not (a.is_Integer and b.is_Integer) or b < a - 1 for _, a, b in e.limits):
            return None
        inner = set().union(*(x.variables for x in e.function.atoms(sp.Sum, sp.Product)))
        if inner & set(e.variables):
            return None
        out = expand_products(e.function)
        for i, a, b in e.limits if out is not None else ():
            out = sp.Mul(*[out.xreplace({i: sp.Integer(v)}) for v in range(int(a), int(b) + 1)])
        return out
    args = [expand_products(x) for x in e.args]
    if any(x is None for x in args):
        return None
    return e.func(*args) if any(x is not y for x, y in zip(args, e.args)) else e


def written_out(e):
    """The value of ``e.doit()``, its closed sums and products over explicit bounds written out
    term by term (:func:`expand_products`, :func:`expand_sums`); ``doit`` decides whatever else.

    >>> i, j = sp.symbols("i j", integer=True)
    >>> y = sp.IndexedBase("y")
    >>> e = sp.Product(sp.exp(-sp.Sum(y[i, j] ** 2, (j, 0, 1))) / 2, (i, 1, 2))
    >>> written_out(e) == e.doit()
    True
    """
    p = expand_products(e) if e.has(sp.Product) else e
    if p is None:
        return e.doit()
    q = expand_sums(p) if p.has(sp.Sum) else p
    return p.doit() if q is None or q.has(*_UNEVALUATED) else q


class Session:
    """One derivation's exact proof: explicit instances, the proofs recorded so far.

    ``env`` maps matrix names to explicit matrices (fresh symbols, one-hot
    rows for one-hot targets); ``extra_env`` holds values a kind adds (the
    incoming message, the forward output); ``derived`` the evaluated results
    already proved, for the claims.
    """

    def __init__(self, sizes: dict, env: dict | None = None, hyper=(), sizes_text: str | None = None):
        self.sizes = sizes
        self.dims = dims_at(sizes)
        self.sizes_text = sizes_text or ", ".join(f"{k}={v}" for k, v in sizes.items())
        self.env = dict(env or {})
        self.extra_env: dict = {}
        hyper_values = {h: sp.Rational(1, 7) + k for k, (h, _) in enumerate(hyper)}
        self.dims_h = {**self.dims, **hyper_values}
        self.proofs: list[Proof] = []
        self.derived: dict = {}
        self.decl = None  # the declaration, for sessions of a declared topic (for_topic)
        self.bases: dict = {}

    @classmethod
    def for_topic(cls, topic, sizes=None) -> Session:
        """Explicit instances of every argument of a module, loss or penalty declaration."""
        decl = topic.declaration
        sizes = {**SIZES, **(sizes or {}), **topic.extra.get("sizes", {})}
        dims = dims_at(sizes)
        session = cls(sizes, {arg.matrix: explicit_arg(arg, dims) for arg in decl.args}, decl.hyper)
        session.decl = decl
        session.bases = {a.name: a.base() for a in decl.args}
        return session

    def subs(self, s: int) -> dict:
        """Per-sample index objects of sample ``s`` -> explicit entries."""
        return per_sample_subs(self.decl, self.env, s)

    def instantiate(self, e, sub):
        return instantiate(e, self.dims_h, sub)

    def evaluate(self, expr: mx.MExpr) -> sp.Matrix:
        return mx.evaluate(expr, {**self.env, **self.extra_env}, self.dims_h)

    def compare(self, expected, got, key: str, check: str, store: bool = False) -> bool:
        return compare(expected, got, key, check, self.sizes_text, self.proofs, self.derived if store else None)

    def compare_matrix(self, expected, expr: mx.MExpr, key: str) -> bool:
        """The matrix form ``expr``, evaluated, against ``expected`` (kept for the claims once proved)."""
        return self.compare(expected, attempt(lambda: self.evaluate(expr)), key, "exact: matrix form", store=True)

    def prove_claims(self, claims, oracle: dict) -> list[Proof]:
        """Every claim against the oracle it names; returns all the proofs recorded."""
        for claim in claims:
            prove_claim(claim, oracle, self.evaluate, self.sizes_text, self.proofs, self.derived)
        return self.proofs


def compare(expected: sp.Matrix, got, key, check, sizes_text, proofs, store=None) -> bool:
    """Record one :class:`Proof`: ``got`` (a matrix, or a :class:`Failure`) equal to ``expected``?

    Entry by entry through :func:`decide_zero`; the first differing entry is
    named.  A passed result is kept in ``store`` (when given) under ``key``,
    so that claims may be compared with it.
    """
    if isinstance(got, Failure):
        proofs.append(Proof(key, check, sizes_text, False, got.message))
        return False
    if not isinstance(got, sp.MatrixBase):
        got = sp.Matrix([[got]])
    if expected.shape != got.shape:
        proofs.append(
            Proof(
                key,
                check,
                sizes_text,
                False,
                f"shape mismatch: derived {got.shape[0]}x{got.shape[1]}, SymPy {expected.shape[0]}x{expected.shape[1]}",
            )
        )
        return False
    undecided = None
    for r in range(expected.rows):
        for c in range(expected.cols):
            verdict = decide_zero(expected[r, c] - got[r, c])
            if verdict is NONZERO:
                proofs.append(
                    Proof(
                        key,
                        check,
                        sizes_text,
                        False,
                        f"entry ({r}, {c}): derived {got[r, c]} but SymPy gives {shown(expected[r, c])}",
                    )
                )
                return False
            if verdict is UNDECIDED and undecided is None:
                undecided = (r, c)
    if undecided is not None:
        proofs.append(
            Proof(
                key,
                check,
                sizes_text,
                False,
                f"undecided: entry {undecided} could be neither simplified to 0 nor evaluated at "
                f"{PROBE_POINTS} random rational points",
                undecided=True,
            )
        )
        return False
    proofs.append(Proof(key, check, sizes_text, True))
    if store is not None:
        store[key] = got  # proved equal to SymPy's result: claims may compare with it
    return True


def shown(e):
    """SymPy's result for a failure message (simplified when that is cheap)."""
    if sp.count_ops(e) > 200:
        return e
    return sp.simplify(e)


def prove_claim(claim, oracle: dict, evaluate, sizes_text, proofs, derived=None):
    """A claim is proved equal to the derived result it names, which was itself
    proved equal to SymPy's; when they differ, the claim is compared with
    SymPy's result directly, so that the failure names the entry."""
    key = "claim:" + claim.key
    if claim.key not in oracle:
        proofs.append(Proof(key, "claim", sizes_text, False, f"no derived result {claim.key!r} to compare with"))
        return
    got = attempt(lambda: evaluate(claim.matrix))
    if isinstance(got, Failure):
        proofs.append(Proof(key, "claim", sizes_text, False, f"{claim.shown}: {got.message}"))
        return
    before = len(proofs)
    mine = (derived or {}).get(claim.key)
    if (
        mine is not None
        and isinstance(got, sp.MatrixBase)
        and got.shape == mine.shape
        and all(decide_zero(a - b) is ZERO for a, b in zip(got, mine))
    ):
        proofs.append(Proof(key, "claim", sizes_text, True))
        return
    compare(oracle[claim.key], got, key, "claim", sizes_text, proofs)
    p = proofs[-1]
    if not p.passed:
        proofs[-1] = Proof(p.key, p.check, p.sizes, False, f"{claim.shown}: {p.detail}", undecided=p.undecided)
    assert len(proofs) == before + 1


class Failure:
    """A result that could not be evaluated (its message says why): a failed proof, never an error."""

    def __init__(self, message):
        self.message = message


def attempt(thunk):
    """``thunk()``, or a :class:`Failure` when the expression cannot be evaluated (a wrongly shaped claim)."""
    try:
        return thunk()
    except (ValueError, KeyError, TypeError, sp.ShapeError) as err:
        return Failure(f"cannot evaluate: {err}")


# ---------------------------------------------------------------------------
# Claims: proved, then marked
# ---------------------------------------------------------------------------


def mark_claimed(results, claims, proofs) -> list:
    """``results`` with each one every claim of which was proved marked ``claimed-and-proved``."""
    proved = {p.key[len("claim:") :] for p in proofs if p.key.startswith("claim:") and p.passed}
    failed = {p.key[len("claim:") :] for p in proofs if p.key.startswith("claim:") and not p.passed}
    out = []
    for r in results:
        keys = {c.key for c in claims if c.key == r.key}
        if keys and not (keys & failed) and keys <= proved:
            r = replace(r, origin="claimed-and-proved")
        out.append(r)
    return out


def with_proofs(d, proofs):
    """The derivation ``d`` with its proofs, and the results its proved claims name marked."""
    proofs = tuple(proofs)
    return replace(d, proofs=proofs, results=tuple(mark_claimed(d.results, d.claims, proofs)))


def prove_index_claim(claim, d, size: int = 3) -> Proof:
    """An index-form claim (the lecture's ``dz^{l+1}_j/dz^l_i = w_ij``) against
    the derived index form, itself proved against SymPy's differentiation.

    Both sides are compared at every assignment of the free indices in
    ``0..size-1`` (so Kronecker deltas and index coincidences are decided),
    the entries left as symbols: an exact check, not a sample.
    """
    key = "claim:" + claim.key
    res = {r.key: r for r in d.results}.get(claim.key)
    if res is None or res.index is None or claim.index is None:
        return Proof(
            key,
            "claim (index form)",
            f"{size} values per index",
            False,
            f"no derived index form {claim.key!r} to compare with",
        )
    diff = sp.sympify(claim.index, strict=True) - res.index
    idx = sorted(
        (x for x in diff.free_symbols if isinstance(x, sp.Symbol) and x.is_integer and x not in (m, n, K)), key=str
    )
    for values in product(range(size), repeat=len(idx)):
        e = diff.xreplace(dict(zip(idx, values))).doit()
        if not simplifies_to_zero(e):
            return Proof(
                key,
                "claim (index form)",
                f"{size} values per index",
                False,
                f"{claim.shown}: differs at {dict(zip(map(str, idx), values))}",
            )
    # the sizes as labels would read 0-based ("in 0..2"): counted instead, as the lecture's indices are labels
    both = sp.sympify(claim.index, strict=True).free_symbols | res.index.free_symbols
    free = sorted({str(x) for x in both if isinstance(x, sp.Symbol) and x.is_integer and x not in (m, n, K)})
    names = ", ".join(free) or "no free index"
    return Proof(key, "claim (index form)", f"every assignment of {names} ({size} values each)", True)
