"""Exact entry-by-entry proofs of network compositions, on SymEngine.

The lecture's composite statements (the MLP's backward messages, BPTT, module
reuse) are proved by comparing the composed messages with the derivative of
the explicit network at small sizes: nested ``tanh`` of sums of products of
scalar symbols.  Both sides are polynomials in the symbols and in the
``tanh(...)`` atoms, so ``expand(a - b) == 0`` decides them.  SymPy spends
most of such a proof in its assumption system and its expression cache;
SymEngine (a C++ symbolic core with the same expression model) differentiates
and expands the same expressions tens of times faster.

Soundness does not rest on SymEngine alone:

* the oracle is SymEngine's differentiation of the explicit network, as
  independent of gradproof's engine as SymPy's is (the two agree on these
  expressions: ``d/dx tanh(u) = (1 - tanh(u)^2) du/dx``);
* an entry SymEngine expands to 0 is an identity (expansion is an
  equivalence-preserving rewrite); an entry it does not expand to 0 -- it
  leaves ``tanh`` arguments as they are, where SymPy expands them too -- is
  decided again by SymPy's ``expand``, so a proof fails here exactly when it
  failed with SymPy alone.

Symbols are matched by name (SymEngine symbols carry no assumptions): each
proof builds both sides from the same symbols.

>>> import sympy as sp
>>> x, y = sp.symbols("x y", real=True)
>>> L = sp.tanh(x * y) ** 2
>>> same(sp.Matrix([[2 * y * sp.tanh(x * y) * (1 - sp.tanh(x * y) ** 2)]]), grad(L, sp.Matrix([[x]])))
True
>>> same(sp.Matrix([[2 * y * sp.tanh(x * y)]]), grad(L, sp.Matrix([[x]])))
(False, 'entry (1, 1) differs')
"""

from __future__ import annotations

import functools
import random

import sympy as sp

from gradproof.derive.engine.derivation import Label
from gradproof.derive.lecture.functions import explicit
from gradproof.derive.proof.zero import EXPAND_FIRST, exact_zero, load_symengine, same_entries, to_symengine

# The comparisons are the one exact-zero decider's (gradproof.derive.proof.zero):
# ``same`` compares matrices entry by entry by expansion (on SymEngine), ``zero``
# decides one expression, expansion first, then the decider's full stages.
same = same_entries
zero = functools.partial(exact_zero, strategy=EXPAND_FIRST)

__all__ = [
    "grad",
    "hessian",
    "limit_in",
    "math",
    "same",
    "substitute",
    "tanh_limit",
    "tanh_m",
    "to_symengine",
    "to_symengine_matrix",
    "zero",
]


def math(text: str, latex: str) -> Label:
    """Mathematics stated in the lecture's notation (plain text and LaTeX)."""
    return Label(text, latex)


def tanh_m(A):
    """``tanh`` entry by entry (of a SymPy or a SymEngine matrix)."""
    return A.applyfunc(sp.tanh if isinstance(A, sp.MatrixBase) else load_symengine().tanh)


# Functions SymEngine differentiates itself.  A function it does not know (gradproof's
# sigmoid, softplus, relu, ...) crosses over as an opaque PyFunction whose derivative
# SymEngine silently takes to be 0: such expressions are differentiated by SymPy instead.
_SYMENGINE_DIFFERENTIATES = (sp.exp, sp.log, sp.tanh, sp.sinh, sp.cosh, sp.sin, sp.cos)


def _symengine_can_differentiate(L) -> bool:
    atoms = L.atoms(sp.Function) if isinstance(L, sp.Basic) else ()
    return all(type(f) in _SYMENGINE_DIFFERENTIATES for f in atoms)


def grad(L, M):
    """The derivative of the scalar ``L`` with respect to every entry of ``M`` (SymEngine's differentiation
    where SymEngine knows every function of ``L``, SymPy's otherwise).

    >>> from gradproof.derive.lecture.functions import sigmoid
    >>> x = sp.Symbol("x", real=True)
    >>> same(sp.Matrix([[sigmoid(x) * (1 - sigmoid(x))]]), grad(sigmoid(x), sp.Matrix([[x]])))
    True
    """
    se = load_symengine()
    cells = [M[r, c] for r in range(M.rows) for c in range(M.cols)]
    if not _symengine_can_differentiate(L):
        return se.DenseMatrix(M.rows, M.cols, [to_symengine(sp.diff(L, x)) for x in cells])
    Ls = to_symengine(L)
    return se.DenseMatrix(M.rows, M.cols, [se.diff(Ls, to_symengine(x)) for x in cells])


def hessian(L, v):
    """The matrix of second derivatives of the scalar ``L`` by the entries of the vector ``v``."""
    se = load_symengine()
    if not _symengine_can_differentiate(L):
        xs = list(v)
        return se.DenseMatrix(len(xs), len(xs), [to_symengine(sp.diff(L, a, b)) for a in xs for b in xs])
    Ls = to_symengine(L)
    xs = [to_symengine(v[i]) for i in range(len(v))]
    first = [se.diff(Ls, x) for x in xs]
    return se.DenseMatrix(len(xs), len(xs), [se.diff(f, x) for f in first for x in xs])


def to_symengine_matrix(A):
    """A SymPy matrix as a SymEngine ``DenseMatrix``, entry by entry."""
    return load_symengine().DenseMatrix(
        A.rows, A.cols, [to_symengine(A[r, c]) for r in range(A.rows) for c in range(A.cols)]
    )


def to_sympy_matrix(A, symbols) -> sp.Matrix:
    """A SymEngine matrix back in SymPy, its symbols matched by name to ``symbols``
    (SymEngine drops assumptions: ``w_1`` real comes back as the same real ``w_1``)."""
    by_name = {sp.Symbol(x.name): x for x in symbols}
    cells = [sp.sympify(A[r, c], strict=True).xreplace(by_name) for r in range(A.rows) for c in range(A.cols)]
    return sp.Matrix(A.rows, A.cols, cells)


def differs_at_a_point(A, B, seed: int = 0) -> bool:
    """``True`` when some entry of ``A - B`` is clearly non-zero at one random rational point.

    Every symbol gets a random rational in ``[1/9, 9]`` (the same for every
    entry) and each difference is evaluated to 30 digits (SymEngine's MPFR
    arithmetic, 100 bits): a value above
    ``1e-10`` (far above the rounding error) proves that ``A`` and ``B``
    differ as functions.  ``False`` proves nothing (the point may be a
    root); the checks that use this expect ``True``.
    """
    se = load_symengine()
    diffs = [to_symengine(A[r, c]) - to_symengine(B[r, c]) for r in range(A.rows) for c in range(A.cols)]
    names = sorted({x for d in diffs for x in d.free_symbols}, key=str)
    rng = random.Random(seed)
    point = {x: se.Rational(rng.randint(1, 9), rng.randint(1, 9)) for x in names}
    return any(abs(float(d.subs(point).n(100, real=True))) > 1e-10 for d in diffs)  # 100 bits: 30 digits


def substitute(A, old, new):
    """``A`` with each entry of the matrix ``old`` replaced by the matching entry of ``new``."""
    se = load_symengine()
    pairs = {to_symengine(old[r, c]): to_symengine(new[r, c]) for r in range(old.rows) for c in range(old.cols)}
    return se.DenseMatrix(
        A.rows, A.cols, [to_symengine(A[r, c]).subs(pairs) for r in range(A.rows) for c in range(A.cols)]
    )


@functools.cache
def _at_infinity(f, s: sp.Symbol, sign: int) -> sp.Expr:
    return sp.limit(explicit(f(s)), s, sign * sp.oo)


def limit_in(expr, f, s: sp.Symbol, sign: int) -> sp.Expr:
    """``lim expr`` as ``s -> sign * oo`` for ``expr`` a polynomial in ``f(s)`` (``f``: tanh, sigmoid).

    A polynomial is continuous, so the limit is the polynomial at
    ``lim f(s)`` (SymPy's limit of ``f`` alone, taken once per process): the
    same value as ``sp.limit(expr, ...)`` without a series expansion of the
    whole expression.  Anything else than a polynomial in ``f(s)`` raises.

    >>> s = sp.Symbol("s", real=True)
    >>> limit_in(sp.tanh(s) - sp.tanh(s) ** 3 / 3, sp.tanh, s, -1)
    -2/3
    """
    t = sp.Dummy("t")
    poly = sp.Poly(sp.sympify(expr, strict=True).subs(f(s), t), t)  # raises on s outside f(s)
    if s in poly.free_symbols:
        raise ValueError(f"{expr} is not a polynomial in {f(s)}")
    return sp.expand(poly.as_expr().subs(t, _at_infinity(f, s, sign)))


def limit_by_terms(expr, x: sp.Symbol, point, direction: str = "+") -> sp.Expr:
    """``lim expr`` as ``x -> point``, by the limit laws where they apply.

    The limit of a sum is the sum of its terms' limits when every one exists
    in the extended reals and they are not ``+oo`` and ``-oo`` together; in
    any other case (an indeterminate ``oo - oo``, a term without a limit)
    SymPy takes the limit of the whole sum.  The terms' limits are much
    cheaper than the sum's: SymPy's series machinery is not needed for them.

    >>> x = sp.Symbol("x", positive=True)
    >>> limit_by_terms(sp.log(x) + 1 / x**2, x, sp.oo), limit_by_terms(sp.log(x) - x, x, sp.oo)
    (oo, -oo)
    """
    terms = sp.Add.make_args(expr)
    if len(terms) > 1:
        parts = [sp.limit(t, x, point, direction) for t in terms]
        if all(p.is_extended_real for p in parts) and not (sp.oo in parts and -sp.oo in parts):
            return sp.Add(*parts)
    return sp.limit(expr, x, point, direction)


def taylor_polynomial(expr, s: sp.Symbol, order: int) -> sp.Expr:
    """``series(expr, s, 0, order).removeO()`` for ``expr`` analytic at 0, from its derivatives:
    ``sum_k expr^(k)(0) / k! s^k`` for ``k < order``, expanded.

    The same polynomial as SymPy's series, computed without its series
    machinery (which takes tens of times longer on ``1/(1 + exp(-s))``).  A
    derivative that is undefined at 0 by substitution (a removable
    singularity such as ``sin(s)/s``) gives ``nan`` terms: a comparison with
    it fails, it never passes wrongly.

    >>> s = sp.Symbol("s", real=True)
    >>> taylor_polynomial(1 / (1 + sp.exp(-s)), s, 5)
    -s**3/48 + s/4 + 1/2
    """
    out, d = sp.Integer(0), sp.sympify(expr, strict=True)
    for k in range(order):
        out += d.subs(s, 0) / sp.factorial(k) * s**k
        d = sp.diff(d, s)
    return sp.expand(out)


def derivative_positive(f, s: sp.Symbol) -> bool:
    """Whether SymPy's assumptions show ``df/ds > 0`` for every real ``s``, once the derivative
    is written in exponentials and factored (``exp(s)/(exp(s) + 1)**2``: a positive
    numerator over a square).  ``False`` when they cannot show it.

    >>> s = sp.Symbol("s", real=True)
    >>> derivative_positive(sp.tanh(s / 2) / 2, s), derivative_positive(-sp.tanh(s), s)
    (True, False)
    """
    return bool(sp.factor(sp.diff(f, s).rewrite(sp.exp)).is_positive)


def tanh_limit(expr, s: sp.Symbol, sign: int) -> sp.Expr:
    """:func:`limit_in` for polynomials in ``tanh(s)``."""
    return limit_in(expr, sp.tanh, s, sign)
