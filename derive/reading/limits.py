"""Limits that keep a check cheap before any mathematics happens.

Each limit is checked on the text or the typed tree, never by computing:
``10^10^10``, ``(0.1^60000)^60000`` or ``(x+1)^(10^6)`` are refused from an
*estimate* of the size of their result, made with logarithms so that no big
number is ever formed.

One mechanism for every reader of untrusted formulas -- seminar answers,
spec files, claims and free-form ``diff`` expressions -- all of which reach
it through :func:`gradproof.derive.reading.parse.parse`; the readers differ
only in the numbers of their :class:`Limits` (:data:`DEFAULT` for answers and
``diff``, :data:`SPECS` for spec files).

>>> from gradproof.derive.reading.parse import parse, ParseFailure
>>> try:
...     parse("10^10^10")
... except ParseFailure as err:
...     print(err.code)
too-large
>>> from gradproof.derive.reading import tree as t
>>> check_expression(t.Pow(t.Name("s"), t.Num("64")))
>>> try:
...     check_expression(t.Pow(t.Num("0.1"), t.Num("60000")))
... except LimitExceeded as err:
...     print(err.code)
too-large
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import gradproof.derive.reading.tree as t

__all__ = [
    "DEFAULT",
    "SPECS",
    "LimitExceeded",
    "Limits",
    "check_expression",
    "check_text",
    "check_tree",
    "literal_value",
]


@dataclass(frozen=True)
class Limits:
    """The numbers behind every refusal (tutors may tighten them)."""

    max_length: int = 400  # characters of input
    max_depth: int = 24  # bracket nesting, and depth of the typed tree
    max_nodes: int = 200  # nodes of the typed tree
    max_literal_digits: int = 12  # digits of one number as typed
    max_literal_value: float = 1e12
    max_exponent: int = 64  # |n| in x^n for a non-constant x
    max_constant_magnitude: int = 50  # every constant, after folding, is 0 or within 10^-50 .. 10^50
    max_constant_digits: int = 300  # decimal digits of an exact constant (numerator and denominator)
    max_degree: int = 256  # estimated polynomial degree of any part of the expression
    max_terms: float = 1e6  # estimated monomials if a part were expanded
    max_tower: int = 2  # exponentials of non-constants nested (exp(exp(x)) is 2)
    max_literal_exponent: int = 12  # |e| in a number typed as 1.5e-e
    max_significant_digits: int | None = None  # significant digits of one number, if limited
    noun: str = "answer"  # what the messages call the text


DEFAULT = Limits()
# Spec files: longer expressions, numbers as precise as a double and as small
# as 1e-30 (hyperparameter defaults, eps), but the same constants, degrees and
# towers as answers.
SPECS = Limits(
    max_length=2000,
    max_depth=20,
    max_nodes=400,
    max_literal_digits=60,
    max_literal_value=1e30,
    max_literal_exponent=30,
    max_significant_digits=17,
    noun="expression",
)
# The registry's claims: written by the project, read at import, as long as a spec expression.
CLAIMS = Limits(max_length=2000, max_depth=20, max_nodes=400, noun="claim")
_LN10 = math.log(10)
_MAX_TREE_DEPTH = 400  # the estimate recurses; every reader limits depth far below this first


class LimitExceeded(Exception):
    """One limit was hit: ``code`` (``too-long``, ``too-deep``, ``too-big``, ``too-large``) and a one-line message."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def check_text(text: str, limits: Limits = DEFAULT) -> None:
    """Refuse over-long input and over-deep bracket nesting, before lexing."""
    if len(text) > limits.max_length:
        raise LimitExceeded(
            "too-long", f"the {limits.noun} is {len(text)} characters long; the limit is {limits.max_length}"
        )
    depth = best = 0
    for ch in text:
        if ch in "([{|":
            depth += 1
            best = max(best, depth)
        elif ch in ")]}":
            depth -= 1
    if best > limits.max_depth:
        raise LimitExceeded("too-deep", f"brackets are nested {best} deep; the limit is {limits.max_depth}")


def check_tree(node: t.Node, limits: Limits = DEFAULT) -> None:
    """Refuse trees that are too big, too deep, or whose result would be huge."""
    nodes = sum(1 for _ in t.walk(node))
    d = t.depth(node)
    if d > limits.max_depth * 2:
        raise LimitExceeded("too-deep", f"the {limits.noun} nests more than {limits.max_depth * 2} levels deep")
    if nodes > limits.max_nodes:
        raise LimitExceeded("too-big", f"the {limits.noun} has {nodes} parts; the limit is {limits.max_nodes}")
    for n in t.walk(node):
        if isinstance(n, t.Num):
            _check_literal(n.text, limits)
    check_expression(node, limits)


def check_expression(node: t.Node, limits: Limits = DEFAULT) -> None:
    """Refuse a typed tree whose constants, degree, exponential towers or expansion would be too large.

    Every constant subexpression is folded in logarithms: its magnitude must
    lie within ``10^±max_constant_magnitude`` (or be 0) and its exact value
    must need at most ``max_constant_digits`` digits; a non-constant raised to
    a constant power takes at most ``max_exponent``; the estimated degree and
    number of monomials of every part are bounded; exponentials of
    non-constants nest at most ``max_tower`` deep.  Raises
    :class:`LimitExceeded`; computes nothing big.
    """
    if t.depth(node) > _MAX_TREE_DEPTH:
        raise LimitExceeded("too-deep", f"the expression nests more than {_MAX_TREE_DEPTH} levels deep")
    _Estimate(limits)(node)


def literal_value(text: str) -> Fraction:
    """The exact value of a number as typed (after :func:`check_text`)."""
    mant, _, exp = text.lower().partition("e")
    value = Fraction(mant if mant[0] != "." else "0" + mant)
    if exp:
        value *= Fraction(10) ** int(exp)
    return value


def _check_literal(text: str, limits: Limits) -> None:
    mant, _, exp = text.lower().partition("e")
    digits = sum(ch.isdigit() for ch in mant)
    if digits > limits.max_literal_digits:
        raise LimitExceeded(
            "too-large", f"the number {text[:20]}... has {digits} digits; the limit is {limits.max_literal_digits}"
        )
    significant = len(mant.replace(".", "").lstrip("0"))
    if limits.max_significant_digits is not None and significant > limits.max_significant_digits:
        raise LimitExceeded(
            "too-large",
            f"the number {text[:24]} has {significant} significant digits; the limit is "
            f"{limits.max_significant_digits} (a double has 17)",
        )
    if exp and (len(exp) > 5 or abs(int(exp)) > limits.max_literal_exponent):
        raise LimitExceeded(
            "too-large",
            f"the number {text[:24]} is out of range, too large or too small "
            f"(|exponent| <= {limits.max_literal_exponent})",
        )
    if abs(literal_value(text)) > limits.max_literal_value:
        raise LimitExceeded("too-large", f"the number {text} is larger than {limits.max_literal_value:g}")


# ---------------------------------------------------------------------------
# The estimate
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Const:
    """A constant, in logarithms: log10 of |value| (-inf for 0), a float approximation when moderate."""

    mag: float
    approx: float | None  # None when |value| is beyond float range
    digits: float  # decimal digits of its exact (rational) representation
    integer: bool = False


@dataclass(frozen=True)
class _Part:
    """A non-constant part: estimated degree, log10 of its monomial count, exponential nesting.

    ``lo`` and ``hi`` bound log10 of the constant coefficients folded into its
    terms (``1e-12 X 1e-12 y`` has a coefficient 1e-24, as SymPy folds it).
    """

    degree: float = 1.0
    terms: float = 0.0
    tower: int = 0
    lo: float = 0.0
    hi: float = 0.0


_EXPONENTIAL = {"exp", "sinh", "cosh"}


class _Estimate:
    """Bound each subtree: a :class:`_Const` for constants, a :class:`_Part` otherwise."""

    def __init__(self, limits: Limits):
        self.limits = limits

    def __call__(self, n: t.Node):
        method = getattr(self, "_" + type(n).__name__, None)
        if method is None:
            return self._generic(n)
        return method(n)

    # -- helpers ------------------------------------------------------------
    def _const(self, mag: float, approx, digits: float, integer: bool = False) -> _Const:
        lim = self.limits
        if mag != -math.inf and abs(mag) > lim.max_constant_magnitude:
            size = "large" if mag > 0 else "small"
            raise LimitExceeded(
                "too-large",
                f"a constant in the expression is far too {size} (about 10^{mag:.0f}); "
                f"constants must lie between 10^-{lim.max_constant_magnitude} and "
                f"10^{lim.max_constant_magnitude}",
            )
        if digits > lim.max_constant_digits:
            raise LimitExceeded(
                "too-large",
                f"a constant in the expression would need about {digits:.0f} digits "
                f"to write exactly; the limit is {lim.max_constant_digits}",
            )
        if approx is not None and mag != -math.inf and abs(mag) > 300:
            approx = None
        return _Const(mag, approx, digits, integer)

    def _part(self, degree: float, terms: float, tower: int, lo: float = 0.0, hi: float = 0.0) -> _Part:
        lim = self.limits
        if min(lo, -hi) < -lim.max_constant_magnitude:
            size = "small" if lo < -lim.max_constant_magnitude else "large"
            mag = lo if size == "small" else hi
            raise LimitExceeded(
                "too-large",
                f"a constant factor in the expression is far too {size} once folded "
                f"(about 10^{mag:.0f}); constants must lie between 10^-{lim.max_constant_magnitude} "
                f"and 10^{lim.max_constant_magnitude}",
            )
        if degree > lim.max_degree:
            raise LimitExceeded(
                "too-large", f"the expression would expand to degree about {degree:g}; the limit is {lim.max_degree}"
            )
        if terms > math.log10(lim.max_terms):
            raise LimitExceeded(
                "too-large",
                f"the expression would expand to about 10^{terms:.0f} terms; the limit is {lim.max_terms:g}",
            )
        if tower > lim.max_tower:
            raise LimitExceeded("too-large", f"exponentials are nested {tower} deep; the limit is {lim.max_tower}")
        return _Part(degree, terms, tower, lo, hi)

    @staticmethod
    def _as_part(v) -> _Part:
        if isinstance(v, _Const):
            mag = 0.0 if v.mag == -math.inf else v.mag
            return _Part(0.0, 0.0, 0, mag, mag)
        return v

    def _from_float(self, value: float, digits: float, integer: bool = False) -> _Const:
        mag = math.log10(abs(value)) if value != 0 else -math.inf
        return self._const(mag, value, digits, integer)

    # -- leaves ---------------------------------------------------------------
    def _Num(self, n: t.Num):
        try:
            v = literal_value(n.text)
        except (ValueError, ZeroDivisionError, OverflowError):
            raise LimitExceeded("too-large", f"the number {n.text[:20]} cannot be read") from None
        if v == 0:
            return _Const(-math.inf, 0.0, 1, True)
        mag = math.log10(v.numerator) - math.log10(v.denominator)
        digits = len(str(v.numerator)) + len(str(v.denominator))
        return self._const(mag, float(v) if abs(mag) < 300 else None, digits, v.denominator == 1)

    def _Name(self, n: t.Name):
        return _Part(1.0, 0.0, 0)

    def _generic(self, n: t.Node):
        # Calls of unknown effect, brackets, norms, indicators: not constant;
        # their children are checked and their size carried through.
        kids = [self._as_part(self(c)) for c in n.children()]
        if not kids:
            return _Part(1.0, 0.0, 0)
        return self._part(max(1.0, max(k.degree for k in kids)), sum(k.terms for k in kids), max(k.tower for k in kids))

    # -- structure ------------------------------------------------------------
    def _Group(self, n):
        return self(n.arg)

    def _Transpose(self, n):
        return self(n.arg)

    def _Neg(self, n):
        v = self(n.arg)
        if isinstance(v, _Const):
            return _Const(v.mag, -v.approx if v.approx is not None else None, v.digits, v.integer)
        return v

    def _sum(self, n, sign):
        a, b = self(n.left), self(n.right)
        if isinstance(a, _Const) and isinstance(b, _Const):
            digits = a.digits + b.digits
            if a.approx is not None and b.approx is not None:
                return self._from_float(a.approx + sign * b.approx, digits, a.integer and b.integer)
            return self._const(max(a.mag, b.mag) + 0.31, None, digits, a.integer and b.integer)
        pa, pb = self._as_part(a), self._as_part(b)
        terms = math.log10(10 ** min(pa.terms, 300) + 10 ** min(pb.terms, 300))
        return self._part(
            max(pa.degree, pb.degree), terms, max(pa.tower, pb.tower), min(pa.lo, pb.lo), max(pa.hi, pb.hi)
        )

    def _Add(self, n):
        return self._sum(n, +1)

    def _Sub(self, n):
        return self._sum(n, -1)

    def _Mul(self, n):
        a, b = self(n.left), self(n.right)
        if isinstance(a, _Const) and isinstance(b, _Const):
            approx = a.approx * b.approx if a.approx is not None and b.approx is not None else None
            return self._const(a.mag + b.mag, approx, a.digits + b.digits, a.integer and b.integer)
        pa, pb = self._as_part(a), self._as_part(b)
        # a matrix product sums over an inner dimension (at most 3 at the explicit sizes)
        inner = (
            math.log10(3)
            if n.op in ("@", "juxt", "*") and not (isinstance(a, _Const) or isinstance(b, _Const))
            else 0.0
        )
        return self._part(
            pa.degree + pb.degree, pa.terms + pb.terms + inner, max(pa.tower, pb.tower), pa.lo + pb.lo, pa.hi + pb.hi
        )

    def _Div(self, n):
        a, b = self(n.left), self(n.right)
        if isinstance(a, _Const) and isinstance(b, _Const):
            if b.mag == -math.inf:  # division by zero: undefined, judged later
                return _Part(0.0, 0.0, 0)
            approx = a.approx / b.approx if a.approx is not None and b.approx is not None else None
            return self._const(a.mag - b.mag, approx, a.digits + b.digits)
        pa, pb = self._as_part(a), self._as_part(b)
        return self._part(
            pa.degree + pb.degree, pa.terms + pb.terms, max(pa.tower, pb.tower), pa.lo - pb.hi, pa.hi - pb.lo
        )

    def _Pow(self, n):
        base, ex = self(n.base), self(n.exp)
        lim = self.limits
        if not isinstance(ex, _Const):
            # a symbolic exponent: nothing is expanded, but b^(...) is an exponential
            pb = self._as_part(base)
            return self._part(max(pb.degree, 1.0), pb.terms, max(pb.tower, ex.tower) + 1)
        e = ex.approx
        if e is None or abs(e) > lim.max_exponent * 1000:
            raise LimitExceeded("too-large", "an exponent is far too large to compute")
        if isinstance(base, _Const):
            if base.mag == -math.inf:
                return _Const(-math.inf, 0.0, 1, True)
            mag = base.mag * e
            frac = Fraction(e).limit_denominator(1000)
            digits = base.digits * max(1, abs(frac.numerator)) + ex.digits
            approx = None
            if abs(mag) < 300 and base.approx is not None and (base.approx > 0 or float(e).is_integer()):
                approx = math.copysign(10**mag, base.approx if float(e) % 2 == 1 else 1.0)
            return self._const(mag, approx, digits, base.integer and ex.integer and e >= 0)
        if abs(e) > lim.max_exponent:
            raise LimitExceeded("too-large", f"the exponent {e:g} is larger than {lim.max_exponent}")
        lo, hi = sorted((base.lo * e, base.hi * e))
        if not float(e).is_integer():
            return self._part(base.degree, base.terms, base.tower, lo, hi)
        k = abs(int(e))
        # monomials of (t terms)^k: at most C(t + k - 1, k)
        tcount = min(10 ** min(base.terms, 300), 1e300)
        terms = (math.lgamma(tcount + k) - math.lgamma(k + 1) - math.lgamma(tcount)) / _LN10 if k else 0.0
        return self._part(base.degree * k, max(terms, base.terms), base.tower, lo, hi)

    def _Call(self, n: t.Call):
        args = [self(a) for a in n.args]
        f = n.func.lstrip("\\")
        if len(args) == 1 and isinstance(args[0], _Const):
            c = args[0]
            folded = self._call_const(f, c)
            if folded is not None:
                return folded
        parts = [self._as_part(a) for a in args]
        if not parts:
            return _Part(1.0, 0.0, 0)
        tower = max(p.tower for p in parts)
        if f in _EXPONENTIAL and any(not isinstance(a, _Const) for a in args):
            tower += 1
        return self._part(max(1.0, max(p.degree for p in parts)), sum(p.terms for p in parts), tower)

    def _call_const(self, f: str, c: _Const):
        """A function of a constant, folded by its size (SymPy keeps most of them symbolic)."""
        x = c.approx
        if f == "exp":
            if x is None:
                raise LimitExceeded("too-large", "exp of a constant that is far too large")
            return self._const(x / _LN10, None if abs(x) > 690 else math.exp(x), c.digits)
        if f in ("sinh", "cosh"):
            if x is None:
                raise LimitExceeded("too-large", f"{f} of a constant that is far too large")
            if abs(x) > 690:
                return self._const(abs(x) / _LN10 - math.log10(2), None, c.digits)
            v = math.sinh(x) if f == "sinh" else math.cosh(x)
            return self._from_float(v, c.digits)
        if f in ("sigma", "sigmoid"):
            if x is None:
                raise LimitExceeded("too-large", f"{f} of a constant that is far too large")
            if x < -690:
                return self._const(x / _LN10, None, c.digits)
            return self._from_float(1 / (1 + math.exp(-x)) if x > -690 else 0.0, c.digits)
        if f in ("log", "ln"):
            if c.mag == -math.inf:
                return _Part(0.0, 0.0, 0)  # log(0): undefined, judged later
            v = c.mag * _LN10
            return self._from_float(v, c.digits) if v != 0 else _Const(-math.inf, 0.0, 1, True)
        if f == "sqrt":
            return self._const(c.mag / 2, math.sqrt(x) if x is not None and x >= 0 else None, c.digits)
        if f == "tanh":
            return self._from_float(math.tanh(x), c.digits) if x is not None else self._const(0.0, None, c.digits)
        if f == "inv":
            if c.mag == -math.inf:
                return _Part(0.0, 0.0, 0)
            return self._const(-c.mag, 1 / x if x else None, c.digits)
        return None
