"""Expectations of polynomials in independent random variables, by their moments.

The initialisation derivations need ``E`` and ``Var`` of products and sums of
independent zero-mean variables.  ``sympy.stats`` computes each such
expectation by integrating (or summing over) the joint distribution, which
takes seconds for a product of two Gaussians or a uniform law with a
symbolic width.  For a polynomial the algebra is direct: expand it into
monomials, and by independence

    E(prod_i X_i^{k_i}) = prod_i E(X_i^{k_i}),

so only the moments ``E(X^k)`` of each single variable are needed, each
computed once from its law:

* a finite law: ``sum_v p(v) v^k``;
* a Gaussian ``N(0, sigma^2)``: the k-th derivative at 0 of its moment
  generating function ``exp(sigma^2 t^2 / 2)``;
* a uniform law ``U(-a, a)``: ``integral of t^k / (2a) over (-a, a)``.

Exact, and identical to ``sympy.stats`` on the same laws (the tests compare
them on every expectation the derivations take).

>>> import sympy as sp
>>> s, a = sp.symbols("sigma a", positive=True)
>>> w, x = normal("w", s), uniform("x", a)
>>> variance(w.symbol * x.symbol, [w, x])
a**2*sigma**2/3
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sympy as sp

__all__ = ["RandomVariable", "expectation", "finite", "normal", "uniform", "variance"]


@dataclass(frozen=True)
class RandomVariable:
    """A random variable known by its law: a real symbol standing for it and its moments ``E(X^k)``."""

    symbol: sp.Symbol
    law: str
    raw_moment: Callable[[int], sp.Expr]

    def moment(self, k: int) -> sp.Expr:
        """``E(X^k)``, exact."""
        return _moment(self, k)


@functools.cache
def _moment(rv: RandomVariable, k: int) -> sp.Expr:
    return sp.expand(rv.raw_moment(k)) if k else sp.Integer(1)


def finite(name: str, pmf: dict) -> RandomVariable:
    """A finite law ``{value: probability}`` (probabilities may be symbolic)."""
    items = tuple((sp.sympify(v, strict=True), sp.sympify(p, strict=True)) for v, p in pmf.items())
    law = ", ".join(f"P({v}) = {p}" for v, p in items)
    return RandomVariable(sp.Symbol(name, real=True), law, lambda k: sp.Add(*[p * v**k for v, p in items]))


def normal(name: str, sigma) -> RandomVariable:
    """``N(0, sigma^2)``: moments from the moment generating function ``exp(sigma^2 t^2 / 2)``."""
    t = sp.Dummy("t")
    mgf = sp.exp(sigma**2 * t**2 / 2)
    return RandomVariable(sp.Symbol(name, real=True), f"N(0, {sigma}^2)", lambda k: sp.diff(mgf, t, k).subs(t, 0))


def uniform(name: str, a) -> RandomVariable:
    """``U(-a, a)``: moments by integrating ``t^k`` against the density ``1/(2a)``."""
    t = sp.Dummy("t", real=True)
    return RandomVariable(
        sp.Symbol(name, real=True), f"U(-{a}, {a})", lambda k: sp.integrate(t**k, (t, -a, a)) / (2 * a)
    )


def expectation(expr, rvs: Sequence[RandomVariable]) -> sp.Expr:
    """``E(expr)`` for a polynomial ``expr`` in the symbols of the independent ``rvs``."""
    expr = sp.sympify(expr, strict=True)
    syms = [rv.symbol for rv in rvs]
    if len(set(syms)) != len(syms):
        raise ValueError("two random variables share a symbol")
    poly = sp.Poly(sp.expand(expr), *syms)
    total = sp.Integer(0)
    for powers, coeff in poly.terms():
        term = coeff
        for rv, k in zip(rvs, powers):
            term *= rv.moment(k)
        total += term
    return sp.expand(total)


def variance(expr, rvs: Sequence[RandomVariable]) -> sp.Expr:
    """``Var(expr) = E((expr - E(expr))^2)``."""
    mean = expectation(expr, rvs)
    return sp.factor(expectation((sp.sympify(expr, strict=True) - mean) ** 2, rvs))
