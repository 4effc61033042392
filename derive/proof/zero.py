"""The one exact-zero decider: is a SymPy expression identically zero?

Every exact check of the project asks it -- the proofs of derived results
(:mod:`gradproof.derive.proof.prove`), the statistics and identity
derivations (:mod:`gradproof.derive.lecture.stats`) and the seminar's
symbolic confirmation (:mod:`gradproof.derive.seminar.equivalence`), and
the lecture's network proofs (:mod:`gradproof.derive.lecture.exact`).  Three
answers: :data:`ZERO`, :data:`NONZERO`, :data:`UNDECIDED`; :func:`exact_zero`
is the yes/no form, an undecided case counting as not shown.

How the decision starts is its ``strategy``:

* :data:`FULL` (the default): :func:`decide_zero`'s stages (one exact
  fraction of polynomials, then exponentials as rational generators and
  ``cancel``, exact probes of piecewise
  expressions, high-precision probes for what ``cancel`` leaves);
* :data:`EXPAND_FIRST`: :func:`expands_to_zero` first -- a polynomial in
  symbols and function atoms such as ``tanh(s)`` is decided at once -- and
  the full stages for whatever expansion leaves;
* :data:`EXPAND_ONLY`: expansion alone, for comparisons of two polynomials
  in the same atoms (what is not 0 after expansion counts as not zero).
  SymEngine expressions are expanded by SymEngine first (a C++ core, tens of
  times faster on the networks' nested ``tanh`` of sums of products), then
  by SymPy for what SymEngine leaves (it keeps function arguments as they
  are, SymPy expands them too): expansion is an equivalence-preserving
  rewrite, so a 0 is a proof.

>>> import sympy as sp
>>> from gradproof.derive.lecture.functions import sigmoid
>>> s = sp.Symbol("s", real=True)
>>> exact_zero(sp.tanh(s) - (2 * sigmoid(2 * s) - 1))
True
>>> decide_zero(sp.tanh(s) - 2 * sigmoid(2 * s)) is NONZERO
True
"""

from __future__ import annotations

import random

import sympy as sp

from gradproof.derive.lecture import functions as fn

_PIECEWISE = (sp.Piecewise, sp.Max, sp.Min, sp.DiracDelta) + fn.kinked()


def _exp_to_generators(e: sp.Expr) -> sp.Expr:
    """Replace ``exp(sum c_k x_k)`` by ``prod E_k^{c_k}`` so that an
    expression in exponentials becomes a rational function ``cancel`` decides."""
    gens: dict = {}

    def gen(x):
        if x not in gens:
            gens[x] = sp.Symbol(f"E_{x}", positive=True)
        return gens[x]

    def repl(ex):
        arg = sp.expand(ex.args[0])
        out = sp.Integer(1)
        rest = sp.Integer(0)
        for t in sp.Add.make_args(arg):
            c, x = t.as_coeff_Mul()
            if x.is_Symbol and c.is_Integer:
                out *= gen(x) ** c
            else:
                rest += t
        return out * (sp.exp(rest) if rest != 0 else 1)

    return e.replace(lambda x: isinstance(x, sp.exp), repl)


ZERO, NONZERO, UNDECIDED = True, False, None

# Probing at random rational points, when ``cancel`` cannot decide.
PROBE_POINTS = 6
PROBE_DIGITS = 60  # working precision of each evaluation (decimal digits)
PROBE_ZERO = 40  # |value| below 10^-PROBE_ZERO times the size of its terms counts as 0


# Strategies of exact_zero (see the module's docstring).
FULL, EXPAND_FIRST, EXPAND_ONLY = "full", "expand-first", "expand"
STRATEGIES = (FULL, EXPAND_FIRST, EXPAND_ONLY)


def exact_zero(d, rng: random.Random | None = None, strategy: str = FULL) -> bool:
    """Whether ``d`` is identically zero (an undecided case counts as not shown).

    >>> x = sp.Symbol("x", real=True)
    >>> exact_zero(sp.tanh(x) ** 2 - sp.tanh(x) * sp.tanh(x), strategy=EXPAND_ONLY)
    True
    >>> exact_zero(sp.tanh(x) - (2 * fn.sigmoid(2 * x) - 1), strategy=EXPAND_ONLY)
    False
    >>> exact_zero(sp.tanh(x) - (2 * fn.sigmoid(2 * x) - 1), strategy=EXPAND_FIRST)
    True
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown strategy {strategy!r}: one of {', '.join(STRATEGIES)}")
    if strategy != FULL and expands_to_zero(d):
        return True
    if strategy == EXPAND_ONLY:
        return False
    return decide_zero(d, rng) is ZERO


def load_symengine():
    """SymEngine, imported when a proof first needs it: it costs start-up time every
    ``gradproof`` command would pay otherwise."""
    import symengine

    return symengine


def to_symengine(x):
    """A SymPy expression (or number) as SymEngine's; text is refused, never parsed.

    >>> to_symengine("1 + 1")
    Traceback (most recent call last):
    ...
    TypeError: text is never converted to an expression
    """
    if isinstance(x, (str, bytes)):
        raise TypeError("text is never converted to an expression")
    return load_symengine().sympify(x)  # SymPy objects only (text refused above)


def expands_to_zero(d) -> bool:
    """Whether ``d`` (a SymPy or a SymEngine expression) expands to 0: SymEngine's
    ``expand`` first for a SymEngine expression, SymPy's for what it leaves."""
    if isinstance(d, (str, bytes)):
        raise TypeError("text is never converted to an expression")
    if not isinstance(d, sp.Basic):
        if load_symengine().expand(d) == 0:
            return True
    return sp.expand(sp.sympify(d, strict=True)) == 0


def same_entries(a, b):
    """``True`` when every entry of ``a - b`` expands to 0 (:data:`EXPAND_ONLY`, on
    SymEngine), else ``(False, detail)`` naming the first other entry (1-based)."""
    if tuple(a.shape) != tuple(b.shape):
        return False, f"shape {tuple(a.shape)} vs {tuple(b.shape)}"
    for r in range(a.rows):
        for c in range(a.cols):
            if not exact_zero(to_symengine(a[r, c]) - to_symengine(b[r, c]), strategy=EXPAND_ONLY):
                return False, f"entry ({r + 1}, {c + 1}) differs"
    return True


def decide_zero(d: sp.Expr, rng: random.Random | None = None):
    """Decide whether ``d`` is identically zero: ``ZERO``, ``NONZERO`` or ``UNDECIDED``.

    First ``d`` is computed exactly as one fraction of polynomials in its
    generators (:func:`_field_zero`): a zero numerator proves it zero, and
    most true identities end there.  Otherwise exponentials become rational
    generators and ``cancel`` decides; a
    piecewise expression (ReLU, sign, |w|) is decided at random non-zero
    rational points instead, each exactly.  When ``cancel`` leaves something
    (square roots of sums, as in a normalisation layer, are beyond it), the
    expression is evaluated at random rational points at high precision: a
    value clearly away from zero at one point is a proof that ``d`` is not
    identically zero; zero (to 40 digits, against the size of its terms) at
    every point is taken as zero; if no point can be evaluated, the answer
    is undecided -- never a failure of a true identity.
    """
    d = sp.sympify(d, strict=True)
    if d == 0:
        return ZERO
    # one traversal to see whether any lecture function is there to rewrite
    d = fn.explicit(d) if d.has(*fn.ALL) else d
    if d == 0:
        return ZERO
    if d.has(*_PIECEWISE):
        rng = rng or random.Random(0)
        syms = sorted(d.free_symbols, key=str)
        undecided = False
        for _ in range(6):
            point = {x: sp.Rational(rng.choice([-1, 1]) * rng.randint(1, 40), rng.randint(1, 9)) for x in syms}
            v = d.xreplace(point)
            v = v.rewrite(sp.Piecewise) if v.has(fn.step) else v
            verdict = decide_zero(sp.piecewise_fold(v).doit())
            if verdict is NONZERO:
                return NONZERO
            undecided |= verdict is UNDECIDED
        return UNDECIDED if undecided else ZERO
    d0 = d
    d = d.rewrite(sp.exp) if d.has(sp.tanh, sp.sinh, sp.cosh) else d
    # Each rewrite leaves an expression without its target (log, exp) as it is:
    # skipped, they cost nothing where they would change nothing.
    d = sp.expand_log(d, force=True) if d.has(sp.log) else d
    if _field_zero(d):  # exponentials included (see _exp_factors)
        return ZERO
    if d.has(sp.exp):
        d = _exp_to_generators(d)
        d = sp.expand_log(d, force=True) if d.has(sp.log) else d
        if _field_zero(d):
            return ZERO
    try:
        if sp.cancel(sp.together(d)) == 0:
            return ZERO
    except sp.PolynomialError:
        if sp.simplify(d) == 0:
            return ZERO
    if not d.free_symbols and d.is_Rational:
        return NONZERO  # a rational constant: cancel's answer is exact
    if _is_rational_function(d):
        return NONZERO  # cancel decides rational functions exactly
    return _probe_zero(d0, rng or random.Random(0))


def simplifies_to_zero(d) -> bool:
    """Whether ``sp.simplify(d) == 0``, at the cost of ``cancel`` where that decides.

    A rational function of plain symbols with rational coefficients is zero
    exactly when ``cancel`` makes it 0, and ``simplify`` then answers 0 (its
    candidates include ``cancel``'s result, and it keeps the shortest): the
    same answer, without ``simplify``'s other rewrites.  Anything else (a
    function, a root, a sum, an indexed entry) goes to ``simplify`` itself.

    >>> y, z = sp.symbols("y z", real=True)
    >>> simplifies_to_zero(y / z + (1 - y) / z - 1 / z)
    True
    >>> simplifies_to_zero(sp.exp(y) * sp.exp(-y) - 1), simplifies_to_zero(y / z - 1)
    (True, False)
    """
    d = sp.sympify(d, strict=True)
    if d == 0:
        return True
    if _is_polynomial_fraction(d):
        return sp.cancel(sp.together(d)) == 0
    return sp.simplify(d) == 0


def _is_polynomial_fraction(d) -> bool:
    """Built of symbols and rational numbers by sums, products and integer powers only."""
    stack = [d]
    while stack:
        e = stack.pop()
        if e.is_Add or e.is_Mul:
            stack.extend(e.args)
        elif e.is_Pow:
            if not e.exp.is_Integer:
                return False
            stack.append(e.base)
        elif not (e.is_Rational or isinstance(e, sp.Symbol)):
            return False
    return True


def _is_rational_function(d) -> bool:
    """A rational function of its symbols with rational coefficients (what ``cancel`` decides)."""
    for a in sp.preorder_traversal(d):
        if isinstance(a, sp.Pow) and not a.exp.is_Integer:
            return False
        if isinstance(a, (sp.Function, sp.NumberSymbol)) or (a.is_Number and not a.is_Rational):
            return False
    return True


def _probe_zero(d, rng):
    """Evaluate ``d`` at random rational points, each at ``PROBE_DIGITS`` digits."""
    syms = sorted(d.free_symbols, key=str)
    terms = sp.Add.make_args(sp.expand(d, deep=False)) if d.is_Add else (d,)
    evaluated = 0
    for _ in range(PROBE_POINTS * 3):
        if evaluated >= PROBE_POINTS:
            break
        point = {}
        for x in syms:
            v = sp.Rational(rng.randint(1, 97), rng.randint(1, 13) + 17)
            point[x] = v if x.is_positive or x.is_nonnegative or rng.random() < 0.5 else -v
        try:
            vals = [sp.N(t.xreplace(point), PROBE_DIGITS, maxn=4 * PROBE_DIGITS) for t in terms]
            total = sp.N(d.xreplace(point), PROBE_DIGITS, maxn=4 * PROBE_DIGITS)
        except (ValueError, TypeError, ZeroDivisionError, ArithmeticError):
            continue
        if not all(v.is_number for v in vals + [total]) or total.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
            continue
        try:
            tot = complex(total)
            scale = max([1.0] + [abs(complex(v)) for v in vals])
        except (TypeError, ValueError, OverflowError):
            continue
        if any(abs(complex(v).imag) > 0 for v in vals):
            continue  # outside the real domain at this point (a root of a negative number): try another
        if not (abs(tot) < float("inf")):
            continue
        evaluated += 1
        if abs(tot) > 10.0 ** (-PROBE_ZERO) * scale:
            return NONZERO
    return ZERO if evaluated >= PROBE_POINTS else UNDECIDED


# ---------------------------------------------------------------------------
# The fast path: it may only answer ZERO; anything else goes on to ``cancel``
# ---------------------------------------------------------------------------


def _field_zero(d: sp.Expr) -> bool:
    """``True`` when ``d`` is 0 as a rational function of its generators.

    The generators are the symbols and every other atom that is not a rational
    number (``E_x``, ``exp(x^2)``, ``sqrt(x)``, ``pi``), taken as independent
    indeterminates: an expression that is zero for *every* value of them is
    zero at their actual values.  ``d`` is computed as one fraction
    :class:`_Fraction` over SymPy's sparse polynomials, its denominator kept
    as a product of powers of the polynomials it met: a sum brings fractions
    to the least common multiple of those products and no polynomial ``gcd``
    is ever computed (``together`` and ``cancel`` compute one at each step).
    The numerator is zero exactly when ``d`` is.  ``False`` says nothing
    (dependent generators such as ``x`` and ``sqrt(x)``): ``cancel`` decides then.
    """
    from sympy.polys.domains import QQ
    from sympy.polys.rings import PolyRing

    if d.has(sp.zoo, sp.nan, sp.oo, -sp.oo):
        return False
    gens: dict = {}
    # exp(c u) -> [(c, exp(u))], once per distinct exponential (a sum repeats them)
    factors: dict = {}
    seen: set = set()
    stack = [d]
    while stack:
        e = stack.pop()
        if e.is_Rational or e in seen:
            continue
        seen.add(e)
        if e.is_Add or e.is_Mul:
            stack.extend(e.args)
        elif e.is_Pow and e.exp.is_Integer:
            stack.append(e.base)
        elif isinstance(e, sp.exp):
            factors[e] = [(k, sp.exp(t)) for k, t in _exp_factors(e)]
            gens.update((g, None) for _, g in factors[e])
        else:
            gens.setdefault(e, None)
    if not gens:
        return False  # a rational number: cancel's comparison is as quick
    ring = PolyRing(tuple(gens), QQ)
    images = {g: _Fraction(x) for g, x in zip(gens, ring.gens)}
    memo: dict = {}

    def image(e) -> _Fraction:
        if e in memo:
            return memo[e]
        if e in images:
            r = images[e]
        elif e.is_Rational:
            r = _Fraction(ring(QQ(int(e.p), int(e.q))))
        elif e.is_Add:
            r = _Fraction.sum([image(a) for a in e.args])
        elif e.is_Mul:
            r = _Fraction.product([image(a) for a in e.args])
        elif isinstance(e, sp.exp):
            r = _Fraction.product([images[g].power(k) for k, g in factors[e]])
        else:  # an integer power
            r = image(e.base).power(int(e.exp))
        memo[e] = r
        return r

    try:
        return not image(d).numerator
    except ZeroDivisionError:  # a denominator zero as a rational function: cancel decides
        return False


class _Fraction:
    """``numerator / prod(base ** k)``: polynomials over the rationals, the
    denominator as a map ``base -> k`` (bases non-constant and nonzero)."""

    __slots__ = ("denominator", "numerator")

    def __init__(self, numerator, denominator=None):
        self.numerator = numerator
        self.denominator = denominator or {}

    @staticmethod
    def product(factors: list) -> _Fraction:
        num = factors[0].numerator
        den = dict(factors[0].denominator)
        for f in factors[1:]:
            num = num * f.numerator
            for b, k in f.denominator.items():
                den[b] = den.get(b, 0) + k
        return _Fraction(num, den)

    @staticmethod
    def sum(terms: list) -> _Fraction:
        den: dict = {}
        for t in terms:
            for b, k in t.denominator.items():
                den[b] = max(den.get(b, 0), k)
        num = terms[0].numerator.ring.zero
        for t in terms:
            part = t.numerator
            for b, k in den.items():
                missing = k - t.denominator.get(b, 0)
                if missing:
                    part = part * b**missing
            num = num + part
        return _Fraction(num, den)

    def power(self, k: int) -> _Fraction:
        if k >= 0:
            return _Fraction(self.numerator**k, {b: e * k for b, e in self.denominator.items()})
        num = self.numerator
        if not num:
            raise ZeroDivisionError("a power of zero with a negative exponent")
        top = num.ring.one
        for b, e in self.denominator.items():
            top = top * b**e
        if num.is_ground:
            return _Fraction(top * (1 / num.LC), {}).power(-k)
        return _Fraction(top, {num: 1}).power(-k)


def _exp_factors(e: sp.exp) -> list:
    """``exp(c u) = exp(u)^c`` with ``c`` the integer content of the argument
    (its sign included): ``[(c, u)]``, or ``[(1, argument)]`` when the
    content is not an integer.  ``exp(-u)`` and ``exp(2 u)`` so become
    powers of the one generator ``exp(u)``."""
    c, u = e.args[0].as_content_primitive()
    if u.could_extract_minus_sign():
        c, u = -c, -u
    if not c.is_Integer or u == 1:
        return [(1, e.args[0])]
    return [(int(c), u)]
