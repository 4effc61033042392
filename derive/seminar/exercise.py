"""An exercise as plain data: what is asked, which symbols an answer may use, where the reference comes from.

Each exercise poses one of the lecture's "see seminar" derivations, declares
the symbols an answer may use (shapes, domains, definitions such as
``yhat := sigma(s)``) and points at the topic and result key whose derived
formula is the reference: reference answers come from the derivation engine,
never typed a second time.  ``accepted`` and ``mistakes`` are examples that
the test suite checks against the engine's reference.

An exercise's **answer type** says what a student gives: one ``formula``,
several ``steps``, ``numeric`` values, or a ``choice`` among options
(:mod:`gradproof.derive.seminar.answer_types` checks each).

The declarations themselves are in :mod:`gradproof.derive.seminar.bank`; the
catalog (:func:`gradproof.derive.seminar.exercises.get`) finds them by id.
"""

from __future__ import annotations

import functools
import zlib
from dataclasses import dataclass, field

import sympy as sp

from gradproof.derive.seminar.answers import Vocabulary

ANSWER_TYPES = ("formula", "steps", "numeric", "choice")

PROBE_DIMS = (("m", 5), ("n", 3), ("K", 4))
# Explicit sizes for the symbolic confirmation: small, to keep SymPy quick.
SYMBOLIC_DIMS = (("m", 2), ("n", 3), ("K", 3))


@dataclass(frozen=True)
class WrongAnswer:
    """A tutor-written wrong answer: when a student's answer equals it, show ``message``."""

    answer: str
    message: str
    credit: float = 0.0


@dataclass(frozen=True)
class Exercise:
    """One seminar exercise.

    ``form`` says which form of the engine's result is the reference:
    ``matrix`` (batched, rows are samples) or ``index`` (per entry, with index
    symbols).  ``reference_names`` maps the engine's symbol names to the
    exercise's.  ``reference_text`` exists only for tutor exercises on
    formulas no topic covers; built-in exercises always name a topic.
    """

    id: str
    title: str
    prompt: str
    lhs: str
    topic: str
    result: str
    symbols: tuple
    form: str = "matrix"
    reference_names: tuple = ()
    accepted: tuple = ()
    mistakes: tuple = ()  # (answer, expected mistake code) examples
    wrong: tuple = ()  # WrongAnswer
    auto_credit: float = 0.0
    dims: tuple = PROBE_DIMS
    symbolic_dims: tuple = SYMBOLIC_DIMS
    section: str = ""
    reference_text: str = ""
    source: str = "built-in"
    forbid: tuple = ()  # functions an answer may not use (tanh when tanh is asked for)
    # what the student gives: "formula" (one expression), "steps" (several, see ``stages``),
    # "numeric" (numbers computed from the derivation, see ``numeric``) or
    # "choice" (a conceptual question, see ``options``); see answer_types.py
    answer_type: str = "formula"
    hints: tuple = ()  # the hint ladder's declared rungs, mildest first
    stages: tuple = ()  # Stage: the steps of a multi-step exercise
    numeric: object = None  # NumericProblem
    options: tuple = ()  # Option: the choices of a conceptual item
    letters: tuple = ()  # (name, alternative, ...): letters a student's variant may use instead
    variant: int = 0  # which variant this is (0: the exercise as declared)
    base_id: str = ""  # the declared id of a variant
    # the declared exercise a variant was made from (not part of its identity)
    declared: object = field(default=None, compare=False, repr=False)

    @property
    def seed(self) -> int:
        return zlib.crc32(self.id.encode())

    @property
    def declared_id(self) -> str:
        return self.base_id or self.id

    @property
    def n_variants(self) -> int:
        from gradproof.derive.seminar.variants import n_variants

        return n_variants(self)

    def variant_for(self, student: str) -> Exercise:
        """This student's variant (the same student always gets the same one)."""
        n = self.n_variants
        return self.make_variant(zlib.crc32(f"{student}\0{self.declared_id}".encode()) % n if n > 1 else 0)

    def make_variant(self, k: int) -> Exercise:
        from gradproof.derive.seminar.variants import make_variant

        return make_variant(self, k)

    def vocabulary(self) -> Vocabulary:
        return _vocabulary(self)

    def reference(self):
        """The reference expression and its symbolic shape, from the engine."""
        if self.reference_text and not self.topic:
            from gradproof.derive.seminar.answers import read_answer

            r = read_answer(self.reference_text, self.vocabulary())
            return r.expr, r.shape
        from gradproof.derive.lecture.registry import derive

        if self.result.startswith("step:"):
            return step_reference(self)
        res = derive(self.topic).result(self.result)
        if self.form == "index":
            if res.index is None:
                raise ValueError(f"{self.topic} result {self.result!r} has no index form")
            return res.index, (sp.Integer(1), sp.Integer(1))
        if res.matrix is None:
            if res.index is not None and not any(isinstance(a, sp.Indexed) for a in res.index.atoms(sp.Indexed)):
                return res.index, (sp.Integer(1), sp.Integer(1))
            raise ValueError(f"{self.topic} result {self.result!r} has no matrix form")
        return res.matrix, tuple(res.matrix.shape)

    def oracle(self):

        from gradproof.derive.seminar.oracles import oracle_of

        return oracle_of(self)

    def shape_at_probe(self, shape) -> tuple:
        """A symbolic shape at the probe sizes, symbols matched by name."""
        dims = dict(self.dims)
        renames = dict(self.reference_names)
        out = []
        for d in shape:
            d = sp.Integer(d) if isinstance(d, int) else d
            sub = {s: sp.Integer(dims.get(renames.get(s.name, s.name), 0)) or s for s in d.free_symbols}
            v = d.xreplace(sub)
            out.append(int(v) if v.is_number else str(v))
        return tuple(out)

    def sizes_text(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.dims)

    def shape_text(self) -> str:
        shape = self.oracle().ref_shape
        renames = dict(self.reference_names)
        return "x".join(renames.get(str(d), str(d)) for d in shape)

    def symbol_table(self) -> list[dict]:
        """The symbols as a student needs to know them."""
        out = []
        for d in self.symbols:
            if d.domain == "index":
                shape = f"index 0..{d.index_range}-1"
            elif d.is_matrix:
                shape = "x".join(str(x) for x in d.shape)
            elif d.is_indexed_vector:
                shape = f"vector of length {d.shape[0]}, written with an index"
            else:
                shape = "scalar"
            out.append(
                {
                    "name": d.name,
                    "shape": shape,
                    "domain": d.domain,
                    "aliases": list(d.aliases),
                    "definition": d.definition,
                    "description": d.description,
                }
            )
        return out

    def to_json(self) -> dict:
        from gradproof.derive.seminar.hints import hint_ladder, typing_example

        d = {
            "id": self.id,
            "title": self.title,
            "answer_type": self.answer_type,
            "prompt": self.prompt,
            "lhs": self.lhs,
            "topic": self.topic,
            "result": self.result,
            "form": self.form,
            "section": self.section,
            "symbols": self.symbol_table(),
            "hints": hint_ladder(self),
            "variants": self.n_variants,
            "example": typing_example(self),
            "source": self.source,
        }
        if self.stages:
            d["steps"] = [{"lhs": st.lhs, "prompt": st.prompt} for st in self.stages]
        if self.options:
            d["options"] = [{"key": o.key, "text": o.text} for o in self.options]
        if self.numeric is not None:
            from gradproof.derive.seminar.numeric_items import numeric_inputs

            d["given"] = {k: [[str(x) for x in row] for row in v] for k, v in numeric_inputs(self).items()}
        return d


@functools.cache
def _vocabulary(ex: Exercise) -> Vocabulary:
    return Vocabulary(dims=dict(ex.dims), symbols=ex.symbols)


@dataclass(frozen=True)
class Stage:
    """One step of a multi-step exercise: what to write, and which derived formula it must equal.

    ``result`` is a result key of ``topic``, or ``step:LHS`` for the last step
    of the derivation whose left-hand side reads ``LHS``.
    """

    lhs: str
    prompt: str
    topic: str
    result: str
    form: str = "matrix"
    reference_names: tuple = ()
    wrong: tuple = ()  # WrongAnswer
    symbols: tuple = ()  # SymbolDecl; the exercise's when empty


@dataclass(frozen=True)
class Given:
    """A matrix given to the student in a numeric item (small exact values, seeded)."""

    name: str
    shape: tuple  # (rows, cols), integers
    domain: str = "int"  # int (-3..3, no 0), half (-1, -1/2, 1/2, 1), prob (tenths in 0.1..0.9), binary (0/1)


@dataclass(frozen=True)
class Link:
    """One derived formula evaluated in a numeric item: ``name := topic.result(binds)``.

    ``binds`` pairs the engine's symbol names with given or earlier names.
    """

    name: str
    topic: str
    result: str
    binds: tuple = ()


@dataclass(frozen=True)
class Slip:
    """A named wrong computation in a numeric item: another chain, or a given passed through."""

    code: str
    message: str
    chain: tuple = ()  # Link...; the last one's value is the slip's answer
    given: str = ""


@dataclass(frozen=True)
class NumericProblem:
    given: tuple  # Given
    chain: tuple  # Link; the last one is the answer
    scalars: tuple = ()  # (name, value as text) for the engine's scalar symbols (alpha, lam...)
    slips: tuple = ()  # Slip
    decimals: int = 3


@dataclass(frozen=True)
class Option:
    key: str
    text: str
    correct: bool
    explanation: str
    code: str = ""


def step_reference(ex):
    """The right-hand side of the derivation step named by ``step:LHS`` (the last with that LHS)."""
    import sympy as sp

    from gradproof.derive.engine.derivation import Label
    from gradproof.derive.engine.mexpr import MExpr
    from gradproof.derive.lecture.registry import derive

    want = ex.result[len("step:") :]
    d = derive(ex.topic)
    found = [st for st in d.steps if st.lhs.text == want and not isinstance(st.rhs, Label)]
    if not found:
        raise ValueError(f"{ex.topic} has no derivation step for {want!r}")
    rhs = found[-1].rhs
    if isinstance(rhs, MExpr):
        return rhs, tuple(rhs.shape)
    return rhs, (sp.Integer(1), sp.Integer(1))
