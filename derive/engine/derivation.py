"""Plain data passed between the pipeline's stages.

``derive(topic)`` returns a :class:`Derivation`; code generation, the
verifier and the reports only read it.  Expressions inside are SymPy scalar
expressions (index form) or :mod:`gradproof.derive.engine.mexpr` nodes (matrix form); both
print through :mod:`gradproof.derive.output.printing`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gradproof.derive.engine.label import Label

__all__ = ["Claim", "Derivation", "Erratum", "Label", "ModuleCode", "Proof", "Result", "Step"]


@dataclass(frozen=True)
class Step:
    """One step of a derivation: the rule applied and the expression after it."""

    rule: str
    lhs: Label
    rhs: Any  # SymPy expression, mexpr.MExpr, or Label (prose maths)
    note: str = ""
    relation: str = "="  # "=", "in", "propto", "<", ">", "<=", ">="


@dataclass(frozen=True)
class Result:
    """A result of a derivation, in index form, matrix form, or both.

    ``origin`` is ``"derived"`` or ``"claimed-and-proved"`` (a lecture claim the
    engine proved equal to its own derived result).
    """

    key: str  # stable identifier: "jacobian", "backward", "grad:W", "loss", ...
    lhs: Label
    index: Any = None  # SymPy expression in index notation (per sample)
    index_lhs: Label | None = None
    matrix: Any = None  # mexpr.MExpr (batched, rows are samples)
    shape: tuple = ()
    origin: str = "derived"
    relation: str = "="  # how lhs and the index form relate ("=", "in", ...)


SOURCES = ("lecture", "gradproof")


@dataclass(frozen=True)
class Claim:
    """A stated result, written once as text; never trusted, always proved.

    ``statement`` is the result as the lecture writes it, ``result = formula``
    (``"Delta^l = Delta ⊙ A ⊙ (1 - A)"``, ``"dz^{l+1}_j/dw_ik = [[j = k]] z^l_i"``):
    the formula right of the ``=`` (or right of ``in`` for a range) is read by
    the one reading pipeline (:mod:`gradproof.derive.reading.claims`) with the
    names its topic declares, into ``matrix`` (the matrix form) or ``index``
    (the index form, or a scalar).  Declarations never set those two: the
    topic's registration reads them, and a text that does not read stops the
    import naming the topic and the claim.  ``note`` is prose printed after
    the statement and never read (``"for s > 0"``).

    ``source`` says who states it: ``"lecture"`` (a slide's own statement,
    ``slide`` then holds that slide's title exactly as the lecture text
    writes it) or ``"gradproof"`` (an addition of this toolkit, ``slide`` is
    empty).  A claim without a slide is gradproof's by default, so nothing is
    attributed to the lecture by accident.
    """

    key: str  # the Result key it is about
    statement: str  # "result = formula", the formula read, the whole printed
    source: str = "gradproof"  # "lecture" or "gradproof"
    slide: str = ""  # the lecture slide's title, verbatim (lecture claims only)
    note: str = ""  # prose printed after the statement, never read
    matrix: Any = None  # mexpr.MExpr read from the statement (filled when the topic registers)
    index: Any = None  # SymPy expression read from the statement (index form or scalar)

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"claim source must be one of {SOURCES}, not {self.source!r}")
        if self.source == "lecture" and not self.slide:
            raise ValueError(f"lecture claim {self.key!r} needs the slide it comes from")
        if self.source == "gradproof" and self.slide:
            raise ValueError(f"gradproof claim {self.key!r} cannot name a lecture slide")

    @property
    def read(self) -> bool:
        """Whether the statement has been read into a matrix or an index form."""
        return self.matrix is not None or self.index is not None

    @property
    def shown(self) -> str:
        """The statement as printed: the text, then its note."""
        return f"{self.statement} {self.note}" if self.note else self.statement


@dataclass(frozen=True)
class Erratum:
    """A place where the lecture is wrong or imprecise, with its evidence.

    ``slide`` is the slide's title verbatim; ``lecture`` quotes or paraphrases
    what the slide says; ``correction`` states what holds instead;
    ``evidence`` is the proof or measurement (plain text lines) printed next
    to it, and ``passed`` whether that evidence was actually obtained.
    """

    slide: str
    lecture: str
    correction: str
    evidence: tuple[str, ...] = ()
    passed: bool = True
    severity: str = "imprecise"  # "wrong", "imprecise" or "not derived"


@dataclass(frozen=True)
class Proof:
    """The outcome of one exact check of one result."""

    key: str  # the Result key (or claim key) checked
    check: str  # "exact: index form", "exact: matrix form", "claim", ...
    sizes: str  # e.g. "m=2, n=3, K=4"
    passed: bool
    detail: str = ""
    undecided: bool = False  # not passed, but not shown false either: neither proof nor counterexample found


@dataclass(frozen=True)
class ModuleCode:
    """What code generation needs: the module's messages in matrix form.

    ``kind`` is the calling contract of the generated module, one of
    :mod:`gradproof.numeric.kinds` (``module``, ``loss``, ``penalty``,
    ``model``, ``solver``); its unit in :mod:`gradproof.derive.engine.kinds`
    emits the code.  ``input``, ``params`` and ``target`` are the matrix
    symbols of the arguments; ``output`` names the forward value reused by
    the backward pass, if any, and ``output_def`` defines it.
    """

    kind: str
    input: Any  # mexpr.Sym: the module input z
    params: tuple = ()  # mexpr.Sym parameters
    target: Any = None  # mexpr.Sym target y for losses
    hyper: tuple = ()  # SymPy scalar symbols (lambda, alpha, ...) as keyword arguments
    forward: Any = None  # mexpr.MExpr of the forward map
    output: Any = None  # mexpr.Sym naming the forward output in backward formulas
    output_def: Any = None  # mexpr.MExpr defining ``output`` from the inputs
    upstream: Any = None  # mexpr.Sym of the incoming message Delta
    backward: Any = None  # mexpr.MExpr of delta_in (or dL/dz for losses)
    grads: tuple = ()  # (param name, mexpr.MExpr) pairs
    kinks: tuple = ()  # human-readable statements of non-differentiable points
    kink_points: tuple = ()  # scalar values of the input where the derivative is undefined
    domain: str = "real"  # where the input's entries live (real, probability, positive, ...)
    target_domain: str = "real"  # where the target's entries live (real, binary, onehot)


@dataclass(frozen=True)
class Derivation:
    """Everything derived about one topic: plain, frozen data."""

    topic: str
    title: str
    category: str
    section: str
    summary: str
    definition: tuple[Step, ...]
    steps: tuple[Step, ...]
    results: tuple[Result, ...]
    claims: tuple[Claim, ...] = ()
    proofs: tuple[Proof, ...] = ()
    notes: tuple[str, ...] = ()
    code: ModuleCode | None = None
    errata: tuple[Erratum, ...] = ()
    extra: dict = field(default_factory=dict, hash=False, compare=False)
    source: str = ""  # where the topic is declared (a file of gradproof's, or a user's spec file)

    @property
    def passed(self) -> bool:
        return all(p.passed for p in self.proofs)

    def result(self, key: str) -> Result:
        for r in self.results:
            if r.key == key:
                return r
        raise KeyError(f"{self.topic} has no result {key!r}")

    # Display helpers (rendering lives in gradproof.derive.output.render).
    def to_latex(self) -> str:
        from gradproof.derive.output.render import derivation_latex

        return derivation_latex(self)

    def to_html(self) -> str:
        from gradproof.derive.output.render import derivation_html

        return derivation_html(self)

    def to_text(self) -> str:
        from gradproof.derive.output.render import derivation_text

        return derivation_text(self)

    def to_json(self) -> dict:
        from gradproof.derive.output.render import derivation_json

        return derivation_json(self)

    def _repr_latex_(self) -> str:
        return self.to_latex()

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/plain": self.to_text(), "text/latex": self.to_latex(), "text/html": self.to_html()}

    # Jupyter and other rich front ends: each representation from the printers above.
    def _repr_html_(self) -> str:
        return self.to_html()

    def _repr_markdown_(self) -> str:
        verdict = "all exact proofs pass" if self.passed else "A PROOF FAILED"
        return (
            f"### {self.title} (`{self.topic}`, {self.category})\n\n{self.summary}\n\n{self.to_latex()}\n\n"
            f"**{verdict}** ({len(self.proofs)} exact checks)"
        )
