"""The lecture's notation, shared by every declaration, derivation and proof.

Symbolic dimensions ``m`` (samples), ``n`` (a module's inputs), ``K`` (its
outputs); the index symbols; and the declaration records: :class:`Arg` (one
argument of a module, in index and matrix notation), :class:`OutputName`
(naming the forward output inside derivatives) and :class:`ModuleDeclaration` (the
declaration of a module, loss or penalty).  Nothing here derives anything:
the engine (:mod:`gradproof.derive.engine.modules`), the kind units
(:mod:`gradproof.derive.engine.kinds`) and the proofs
(:mod:`gradproof.derive.proof.prove`) all read it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import sympy as sp

from gradproof.derive.engine import mexpr as mx

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
class ModuleDeclaration:
    """The declaration of a module, loss or penalty (see ``topics_modules``)."""

    kind: str  # a kind of gradproof.numeric.kinds: module | loss | penalty (its unit derives, proves, emits)
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
