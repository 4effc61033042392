"""Shared machinery of the statistical topics (MLE, MAP, closed forms,
identities, initialisation variance).

Three pieces live here:

* :class:`Builder`, which collects a derivation's definition, steps, results,
  claims and proofs and freezes them into a :class:`gradproof.derive.engine.derivation.Derivation`.
  Every proof runs through :meth:`Builder.prove`, so a proof that raises is
  recorded as a *failing* proof (a wrong claim must be rejected, never crash
  the derivation);
* the small linear-matrix-equation routine :func:`collect_linear` /
  :func:`solve_linear`: SymPy's ``solve`` cannot solve ``dL/dw = 0`` when the
  shapes are symbolic, so the gradient is split into ``A w - b`` term by term
  and the solution returned as ``A^{-1} b`` (a :class:`gradproof.derive.engine.mexpr.Solve`
  node: computed by solving, never by inverting);
* :func:`to_mexpr`, the translation of SymPy matrix-symbol expressions into
  the project's own matrix language, whose evaluator the exact proofs use.

>>> import sympy as sp
>>> m, n = sp.symbols("m n", positive=True, integer=True)
>>> X, w, y = sp.MatrixSymbol("X", m, n), sp.MatrixSymbol("w", n, 1), sp.MatrixSymbol("y", m, 1)
>>> A, b = collect_linear(2 * X.T * X * w - 2 * X.T * y, w)
>>> A, b
(X.T*X, X.T*y)
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import sympy as sp
from sympy.matrices.expressions import MatAdd, MatMul, MatrixExpr, MatrixSymbol, Transpose
from sympy.matrices.expressions.special import Identity, ZeroMatrix

from gradproof.derive.engine import mexpr as mx
from gradproof.derive.engine.derivation import Claim, Derivation, Label, Proof, Result, Step

# ---------------------------------------------------------------------------
# Derivation builder
# ---------------------------------------------------------------------------


@dataclass
class Builder:
    """Accumulates one derivation; :meth:`freeze` returns the plain data."""

    topic: Any
    definition: list = field(default_factory=list)
    steps: list = field(default_factory=list)
    results: list = field(default_factory=list)
    proofs: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    extra: dict = field(default_factory=dict)
    code: Any = None  # gradproof.derive.engine.derivation.ModuleCode, when the topic has code to generate

    def define(self, text: str, latex: str, rhs, note: str = "", relation: str | None = None) -> None:
        """State an assumption or a part of the model.  A definition headed by a
        word (``assumptions``, ``prior``, ``model``) reads ``word: statement``."""
        if relation is None:
            relation = ":" if latex.startswith(r"\text{") else "="
        self.definition.append(Step("definition", Label(text, latex), rhs, note, relation))

    def step(self, rule: str, text: str, latex: str, rhs, note: str = "", relation: str = "=") -> Step:
        """Record one step: the rule applied and the expression it gives."""
        s = Step(rule, Label(text, latex), rhs, note, relation)
        self.steps.append(s)
        return s

    def result(
        self, key: str, text: str, latex: str, *, index=None, matrix=None, shape=(), index_lhs=None, relation: str = "="
    ) -> Result:
        r = Result(
            key,
            Label(text, latex),
            index=index,
            index_lhs=index_lhs,
            matrix=matrix,
            shape=tuple(shape),
            relation=relation,
        )
        self.results.append(r)
        return r

    def prove(self, key: str, check: str, sizes: str, fn: Callable[[], Any]) -> bool:
        """Run one exact check.

        ``fn`` returns ``True``/``False`` or a pair ``(passed, detail)``.  An
        exception inside ``fn`` is a failed proof whose detail names it.
        """
        try:
            out = fn()
        except Exception as err:  # a proof that cannot be carried out has failed
            out = (False, f"{type(err).__name__}: {err}")
        passed, detail = out if isinstance(out, tuple) else (out, "")
        self.proofs.append(Proof(key, check, sizes, bool(passed), detail))
        return bool(passed)

    def prove_claims(self, compare: Callable[[Claim], Any], sizes: str) -> None:
        """Prove each of the topic's claims equal to the derived result.

        A claim that is proved turns its result's origin into
        ``"claimed-and-proved"``; a claim that fails leaves the derived result
        as it is and adds a failing proof.
        """
        for claim in self.topic.claims:
            ok = self.prove("claim:" + claim.key, "claim equals derived result", sizes, lambda c=claim: compare(c))
            if ok:
                self.results = [
                    replace(r, origin="claimed-and-proved") if r.key == claim.key else r for r in self.results
                ]

    def freeze(self) -> Derivation:
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
            proofs=tuple(self.proofs),
            notes=tuple(self.notes),
            extra=dict(self.extra),
            code=self.code,
        )


def prose(text: str, latex: str | None = None) -> Label:
    """Mathematics that is stated rather than computed (an assumption, a rule)."""
    return Label(text, latex if latex is not None else r"\text{%s}" % text)


# ---------------------------------------------------------------------------
# Exact comparison helpers
# ---------------------------------------------------------------------------


def is_zero(expr) -> bool:
    """Exactly zero: the project's one decider, :func:`gradproof.derive.proof.zero.exact_zero`."""
    from gradproof.derive.proof.zero import exact_zero

    return exact_zero(expr)


def matrices_equal(a: sp.Matrix, b: sp.Matrix) -> tuple[bool, str]:
    """Entrywise exact equality; the detail names the first differing entry."""
    if a.shape != b.shape:
        return False, f"shape {a.shape} vs {b.shape}"
    for r in range(a.rows):
        for c in range(a.cols):
            if not is_zero(a[r, c] - b[r, c]):
                return False, f"entry ({r}, {c}): {a[r, c]} vs {b[r, c]}"
    return True, ""


def random_rational_matrix(rng: random.Random, rows: int, cols: int, lo: int = -9, hi: int = 9) -> sp.Matrix:
    """Small random rationals: exact arithmetic, generic (non-special) values."""
    return sp.Matrix(rows, cols, lambda r, c: sp.Rational(rng.randint(lo, hi), rng.randint(1, 4)))


def symbolic_matrix(name: str, rows: int, cols: int, **assumptions) -> sp.Matrix:
    """An explicit matrix of scalar symbols ``name_r_c`` (1-based, as the lecture)."""
    if cols == 1:
        return sp.Matrix(rows, 1, lambda r, c: sp.Symbol(f"{name}_{r + 1}", **assumptions))
    return sp.Matrix(rows, cols, lambda r, c: sp.Symbol(f"{name}_{r + 1}_{c + 1}", **assumptions))


def gradient(scalar: sp.Expr, wrt: sp.Matrix) -> sp.Matrix:
    """SymPy's scalar differentiation entry by entry: the independent oracle."""
    return sp.Matrix(wrt.rows, wrt.cols, lambda r, c: sp.diff(scalar, wrt[r, c]))


# ---------------------------------------------------------------------------
# SymPy matrix expressions -> mexpr
# ---------------------------------------------------------------------------


def to_mexpr(expr, roles: dict[str, str] | None = None) -> mx.MExpr:
    """Translate a SymPy matrix-symbol expression into :mod:`gradproof.derive.engine.mexpr`.

    Handles what the closed forms produce: symbols, transposes, products
    (a leading scalar becomes :class:`~gradproof.derive.engine.mexpr.Scale`), sums and
    identities.  ``roles`` gives each symbol's role (``input``, ``param``,
    ``target``).
    """
    roles = roles or {}
    if isinstance(expr, MatrixSymbol):
        return mx.Sym(expr.name, tuple(expr.shape), roles.get(expr.name, "input"))
    if isinstance(expr, Identity):
        return mx.Identity(expr.shape[0])
    if isinstance(expr, Transpose):
        return mx.Transpose(to_mexpr(expr.arg, roles))
    if isinstance(expr, MatAdd):
        return mx.Add(tuple(to_mexpr(a, roles) for a in _ordered_terms(expr)))
    if isinstance(expr, MatMul):
        coeff, mats = expr.as_coeff_matrices()
        out = to_mexpr(mats[0], roles)
        for f in mats[1:]:
            out = mx.MatMul(out, to_mexpr(f, roles))
        return out if coeff == 1 else mx.Scale(coeff, out)
    raise TypeError(f"no matrix-language form for {type(expr).__name__}: {expr}")


def _ordered_terms(expr: MatAdd) -> list:
    # Deterministic order, positive terms first, so that printing reads
    # "X^T X + lambda I" rather than SymPy's internal order.
    terms = list(expr.args)
    return sorted(terms, key=lambda t: (_sign(t) < 0, t.has(Identity), sp.default_sort_key(t)))


def _sign(t) -> int:
    if isinstance(t, MatMul):
        c, _ = t.as_coeff_matrices()
        return -1 if (c.is_number and c < 0) else 1
    return 1


def mexpr_add(*terms: mx.MExpr) -> mx.MExpr:
    return terms[0] if len(terms) == 1 else mx.Add(tuple(terms))


# ---------------------------------------------------------------------------
# The linear-matrix-equation routine
# ---------------------------------------------------------------------------


class NotAffine(ValueError):
    """The stationarity equation is not of the form ``A w = b``."""


def _split(term, w) -> tuple[str, Any]:
    """Classify a gradient term as ``('A', coefficient)`` or ``('b', constant)``."""
    if not term.has(w):
        return "b", term
    if term == w:
        return "A", sp.Integer(1)
    if isinstance(term, MatMul):
        coeff, mats = term.as_coeff_matrices()
        if mats[-1] == w and not any(f.has(w) for f in mats[:-1]) and not coeff.has(w):
            rest = mats[:-1]
            if not rest:
                return "A", coeff
            return "A", (coeff * MatMul(*rest)).doit() if coeff != 1 else (MatMul(*rest) if len(rest) > 1 else rest[0])
    raise NotAffine(f"term {term} is not a constant matrix times {w}")


def collect_linear(grad, w) -> tuple[Any, Any]:
    """Collect ``grad = A w - b`` and return ``(A, b)``, common factors removed.

    See :func:`affine_parts`, which also returns the removed factor.
    """
    return affine_parts(grad, w)[1:]


def affine_parts(grad, w) -> tuple[Any, Any, Any]:
    """Split ``grad = c (A w - b)``; returns ``(c, A, b)``.

    ``c A`` is the Jacobian of ``grad`` in ``w`` (the Hessian when ``grad`` is
    a gradient).

    A scalar coefficient of ``w`` alone becomes that scalar times the
    identity.  A term that depends on ``w`` other than as ``C w`` raises
    :class:`NotAffine`: then ``dL/dw = 0`` is not a linear equation and this
    routine has nothing to say.
    """
    grad = sp.expand(grad)
    terms = list(grad.args) if isinstance(grad, MatAdd) else [grad]
    a_parts, b_parts = [], []
    for t in terms:
        side, val = _split(t, w)
        (a_parts if side == "A" else b_parts).append(val)
    if not a_parts:
        raise NotAffine(f"{grad} does not depend on {w}")
    n = w.shape[0]
    a_parts = [Identity(n) * p if not isinstance(p, MatrixExpr) else p for p in a_parts]
    # The common scalar factor of every term cancels from A w = b.
    coeffs = [_coeff(p) for p in a_parts + b_parts]
    common = sp.gcd_list(coeffs) if len(coeffs) > 1 else coeffs[0]
    if _is_negative(coeffs[0]):
        common = -common
    A = MatAdd(*[(p / common) for p in a_parts]).doit() if len(a_parts) > 1 else (a_parts[0] / common).doit()
    if b_parts:
        b = MatAdd(*[(-p / common) for p in b_parts]).doit() if len(b_parts) > 1 else (-b_parts[0] / common).doit()
    else:
        b = ZeroMatrix(n, 1)
    return common, A, b


def _coeff(p) -> sp.Expr:
    if isinstance(p, MatMul):
        return p.as_coeff_matrices()[0]
    return sp.Integer(1)


def _is_negative(c) -> bool:
    return bool(c.is_number and c < 0) or (
        c.could_extract_minus_sign() if hasattr(c, "could_extract_minus_sign") else False
    )


def solve_linear(grad, w, roles: dict[str, str] | None = None) -> tuple[Any, Any, mx.Solve]:
    """Solve ``grad = 0`` for ``w``: returns ``(A, b, Solve(A, b))``.

    The solution is the matrix-language node ``A^{-1} b``, evaluated and
    printed as a linear solve.  It assumes ``A`` is invertible; each caller
    states (and proves) when it is.
    """
    A, b = collect_linear(grad, w)
    return A, b, mx.Solve(to_mexpr(A, roles), to_mexpr(b, roles))
