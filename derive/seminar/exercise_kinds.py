"""Exercise kinds beyond one formula: steps, numbers, choices; variants, hints, solutions.

* **steps** - the student submits the steps of a derivation separated by
  ``;`` (or one per line).  Each step is a formula checked against a step or
  result of the reference derivation (:class:`Stage`), with credit per step;
  the feedback says which step first goes wrong.
* **numeric** - numbers computed from given small matrices.  The reference
  numbers come from evaluating the derivations' own results exactly
  (:class:`Link` chains, e.g. the forward pass and the backward messages of a
  two-layer net); answers are read by a strict number reader, never ``eval``.
* **choice** - a conceptual question with options, each with its explanation.

Every kind also has variants (other letters, numbers or option order per
student), a hint ladder and a worked solution generated from the derivation.
Numeric items are read and computed in :mod:`gradproof.derive.seminar.numeric_items`; two
slips at once and misused shapes are named in :mod:`gradproof.derive.seminar.feedback`.

>>> parse_numbers("[[1, -2.5], [1/2, 3]]")
[[Fraction(1, 1), Fraction(-5, 2)], [Fraction(1, 2), Fraction(3, 1)]]
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import time
from dataclasses import dataclass
from fractions import Fraction

# A hint costs this share of the exercise's credit; a viewed solution costs all of it.
HINT_PENALTY = 0.1
NUMERIC_VARIANTS = 16
TYPING_EXAMPLE = "A^T (b - c) / k"


from gradproof.derive.seminar.feedback import _refine  # noqa: E402
from gradproof.derive.seminar.numeric_items import (  # noqa: E402,F401
    NUMERIC_ATOL,
    NUMERIC_RTOL,
    NumberError,
    _check_numeric,
    _fmt_matrix,
    _fmt_num,
    _numeric_slips,
    _tex_matrix,
    given_text,
    numeric_inputs,
    numeric_reference,
    numeric_values,
    parse_numbers,
    verdict,
)


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
class NumericSpec:
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


# ---------------------------------------------------------------------------
# References from derivation steps
# ---------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------
# Variants
# ---------------------------------------------------------------------------


def n_variants(ex) -> int:
    if ex.kind == "numeric":
        return NUMERIC_VARIANTS
    if ex.kind == "choice":
        return max(1, len(ex.options))
    n = 1
    for alts in ex.letters:
        n *= len(alts)
    return n


def rename_text(text: str, names: dict) -> str:
    """Rename whole words (not inside longer names) in a prompt or an answer."""
    if not names:
        return text
    pat = re.compile(
        r"(?<![A-Za-z0-9_\\])("
        + "|".join(re.escape(k) for k in sorted(names, key=len, reverse=True))
        + r")(?![A-Za-z0-9_])"
    )
    return pat.sub(lambda m: names[m.group(1)], text)


def make_variant(ex, k: int):
    """Variant ``k`` of an exercise (0 is the exercise as declared)."""
    n = n_variants(ex)
    if n <= 1 or k == 0:
        return ex
    if not 0 <= k < n:
        raise ValueError(f"{ex.id} has {n} variants, not {k + 1}")
    vid = f"{ex.declared_id}@{k}"
    if ex.kind == "numeric":
        return dataclasses.replace(ex, id=vid, variant=k, base_id=ex.declared_id)
    if ex.kind == "choice":
        opts = ex.options[k:] + ex.options[:k]
        keys = [o.key for o in ex.options]
        return dataclasses.replace(
            ex,
            id=vid,
            variant=k,
            base_id=ex.declared_id,
            options=tuple(dataclasses.replace(o, key=key) for o, key in zip(opts, keys)),
        )
    pick = next(itertools.islice(itertools.product(*ex.letters), k, None))
    names = {alts[0]: new for alts, new in zip(ex.letters, pick) if new != alts[0]}
    return rename_exercise(ex, names, vid, k)


def rename_exercise(ex, names: dict, vid: str, k: int):
    taken = set(names.values())

    def decls(ds):
        return tuple(
            dataclasses.replace(
                d,
                name=names.get(d.name, d.name),
                definition=rename_text(d.definition, names),
                aliases=tuple(a for a in d.aliases if a not in taken),
                call_args=tuple(names.get(a, a) for a in d.call_args),
            )
            for d in ds
        )

    symbols = decls(ex.symbols)

    def refnames(pairs):
        out = [(eng, names.get(exn, exn)) for eng, exn in pairs]
        mapped = {exn for _, exn in pairs} | {eng for eng, _ in pairs}
        out += [(old, new) for old, new in names.items() if old not in mapped]
        return tuple(out)

    def wrong(ws):
        return tuple(
            dataclasses.replace(w, answer=rename_text(w.answer, names), message=rename_text(w.message, names))
            for w in ws
        )

    stages = tuple(
        dataclasses.replace(
            st,
            lhs=rename_text(st.lhs, names),
            prompt=rename_text(st.prompt, names),
            reference_names=refnames(st.reference_names),
            wrong=wrong(st.wrong),
            symbols=decls(st.symbols),
        )
        for st in ex.stages
    )
    return dataclasses.replace(
        ex,
        id=vid,
        variant=k,
        base_id=ex.declared_id,
        symbols=symbols,
        prompt=rename_text(ex.prompt, names),
        lhs=rename_text(ex.lhs, names),
        reference_names=refnames(ex.reference_names),
        stages=stages,
        accepted=tuple(rename_text(a, names) for a in ex.accepted),
        mistakes=tuple((rename_text(a, names), c) for a, c in ex.mistakes),
        wrong=wrong(ex.wrong),
        hints=tuple(rename_text(h, names) for h in ex.hints),
    )


# ---------------------------------------------------------------------------
# Hints, examples, links, worked solutions
# ---------------------------------------------------------------------------


def typing_example(ex) -> str:
    """How to type an answer, with an example unrelated to the exercise's solution."""
    if ex.kind == "choice":
        return f'gradproof check {ex.id} "{ex.options[-1].key}"   (one letter)'
    if ex.kind == "numeric":
        return f'gradproof check {ex.id} "[[1, -0.5], [2, 0.25]]"   (rows in brackets, or "1 -0.5; 2 0.25")'
    if ex.kind == "steps":
        return f'gradproof check {ex.id} "{TYPING_EXAMPLE}; 2 A b; inv(A) b"   (one formula per step, split by ;)'
    return f'gradproof check {ex.id} "{TYPING_EXAMPLE}"   (any symbols listed above)'


def derivation_link(ex) -> str:
    """Where the topic's derivation is: the command and the report page's anchor."""
    if not ex.topic:
        return ""
    return f"derivation: `gradproof derive {ex.topic}` (report: index.html#{ex.topic})"


def hint_ladder(ex) -> list[str]:
    """The hints, mildest first: the declared ones, then generic rungs that never give the answer away."""
    out = list(ex.hints)
    if ex.kind == "steps":
        out.append(
            "Submit "
            + str(len(ex.stages))
            + " formulas separated by ';', in this order: "
            + "; ".join(st.lhs for st in ex.stages)
            + "."
        )
    elif ex.kind == "numeric":
        out.append(
            "Compute the forward values first, then the messages from the loss backwards; keep at least three decimals."
        )
    elif ex.kind == "choice":
        out.append("Decide which step of the derivation the question is about, then test each option against it.")
    else:
        names = ", ".join(d.name for d in ex.symbols if d.domain != "index")
        out.append(f"Use only the listed symbols ({names}); check that the shape of your answer is that of {ex.lhs}.")
    if ex.topic:
        out.append(f"Follow the method (not the result) of the lecture's derivation: gradproof derive {ex.topic}.")
    return out


def _segment(d, key: str):
    """The derivation steps that lead to result ``key`` (from the previous result's step on)."""
    from gradproof.derive.engine.derivation import Label

    def same(a, b):
        try:
            return a is b or (not isinstance(a, Label) and a == b)
        except Exception:
            return False

    ends = {}
    for r in d.results:
        for i, st in enumerate(d.steps):
            if any(x is not None and same(st.rhs, x) for x in (r.matrix, r.index)):
                ends[r.key] = i
    if key not in ends:
        return list(d.steps)
    stop = ends[key]
    start = max([e + 1 for k, e in ends.items() if e < stop], default=0)
    return list(d.steps[start : stop + 1])


def worked_solution(ex) -> list[dict]:
    """The worked solution, step by step: ``[{"text": ..., "latex": ..., "rule": ...}]``.

    Generated from the derivation's own steps (never typed in); the last line
    is the answer in the exercise's letters.
    """
    from gradproof.derive.lecture.registry import derive
    from gradproof.derive.output.printing import to_latex, to_text

    names = {}
    for eng, exn in ex.reference_names:
        if eng != exn:
            names[eng] = exn

    def line(rule, lhs_text, lhs_latex, rhs):
        return {
            "rule": rule,
            "text": f"{lhs_text} = {rename_text(to_text(rhs), names)}",
            "latex": f"{lhs_latex} = {to_latex(rhs)}",
        }

    out = []
    if ex.kind == "steps":
        for k, st in enumerate(ex.stages):
            sub = stage_exercise(ex, k)
            out.extend(worked_solution(sub)[:-1] if sub.topic else [])
            expr, _ = sub.reference()
            out.append(line(f"step {k + 1}: {st.prompt}", st.lhs, _tex_label(st.lhs), expr))
        return out
    if ex.kind == "choice":
        if ex.topic:
            d = derive(ex.topic)
            out += [line(st.rule, st.lhs.text, st.lhs.latex, st.rhs) for st in d.steps]
        for o in ex.options:
            if o.correct:
                out.append({"rule": "answer", "text": f"({o.key}) {o.text}: {o.explanation}", "latex": ""})
        return out
    if ex.kind == "numeric":
        vals = numeric_values(ex)
        out.append({"rule": "given", "text": "; ".join(given_text(ex)), "latex": ""})
        for ln in ex.numeric.chain:
            d = derive(ln.topic)
            r = d.result(ln.result)
            binds = ", ".join(f"{e} = {s}" for e, s in ln.binds)
            out.append(
                {
                    "rule": f"{d.title}: {r.lhs.text}" + (f" with {binds}" if binds else ""),
                    "text": f"{ln.name} = {_fmt_matrix(vals[ln.name], ex.numeric.decimals)}",
                    "latex": f"{_tex_name(ln.name)} = {to_latex(r.matrix)} = {_tex_matrix(vals[ln.name], ex.numeric.decimals)}",
                }
            )
        return out
    if not ex.topic:
        expr, _ = ex.reference()
        return [line("reference", ex.lhs, _tex_label(ex.lhs), expr)]
    d = derive(ex.topic)
    key = ex.result
    steps = _segment(d, key) if not key.startswith("step:") else list(d.steps)
    out += [line(st.rule, st.lhs.text, st.lhs.latex, st.rhs) for st in steps]
    expr, _ = ex.reference()
    out.append(line("so", ex.lhs, _tex_label(ex.lhs), expr))
    return out


_TEX_TEXT = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "_": r"\_",
    "^": r"\^{}",
    "#": r"\#",
    "$": r"\$",
    "%": r"\%",
    "&": r"\&",
    "~": r"\~{}",
}


def _tex_label(text: str) -> str:
    """A plain-text left-hand side as text inside maths, every TeX special character escaped."""
    return r"\text{" + "".join(_TEX_TEXT.get(ch, ch) for ch in text) + "}"


def _tex_name(name: str) -> str:
    return re.sub(r"_(\w+)", r"_{\1}", name)


# ---------------------------------------------------------------------------
# Steps
# ---------------------------------------------------------------------------


def sample_answers(ex) -> tuple[list[str], list[tuple[str, str]]]:
    """Correct answers and (wrong answer, mistake code) pairs for an exercise of any kind.

    Formula and step exercises declare theirs; numeric items derive them from
    the reference numbers (three spellings; sign, transpose, factors and the
    declared slips); choice items from the options.
    """
    if ex.kind == "choice":
        key = next(o.key for o in ex.options if o.correct)
        return [key, key.upper(), f"({key})"], [
            (o.key, o.code or f"option:{o.key}") for o in ex.options if not o.correct
        ]
    if ex.kind == "numeric":
        import numpy as np

        ref = numeric_reference(ex)
        vals = numeric_values(ex)[ex.numeric.chain[-1].name]

        def brackets(a, d=4):
            return "[" + ", ".join("[" + ", ".join(_fmt_num(x, d) for x in row) + "]" for row in a) + "]"

        rows = "; ".join(" ".join(_fmt_num(x, 6) for x in row) for row in ref)
        if all(x.is_Rational for x in vals):
            exact = "; ".join(", ".join(str(x) for x in vals.row(i)) for i in range(vals.rows))
        else:  # one row per line, commas between entries
            exact = "\n".join(", ".join(_fmt_num(x, 5) for x in row) for row in ref)
        ok = [brackets(ref, 3), rows, exact]
        slips = {
            f"slip:{k}": val for k, (_, _, val) in enumerate(list(_numeric_slips(ex, ref))[: len(ex.numeric.slips)])
        }
        bad = []
        for spec, code in ex.mistakes:
            if spec == "sign":
                val = -ref
            elif spec == "transposed":
                val = ref.T
            elif spec.startswith("factor:"):
                val = float(Fraction(spec.split(":")[1])) * ref
            else:
                val = slips[spec]
            bad.append((brackets(np.asarray(val), 6), code))
        return ok, bad
    return list(ex.accepted), list(ex.mistakes)


def stage_exercise(ex, k: int):
    """Step ``k`` of a multi-step exercise, as a formula exercise of its own."""
    st = ex.stages[k]
    return dataclasses.replace(
        ex,
        id=f"{ex.id}.{k + 1}",
        kind="formula",
        lhs=st.lhs,
        prompt=st.prompt,
        topic=st.topic,
        result=st.result,
        form=st.form,
        reference_names=st.reference_names or ex.reference_names,
        accepted=(),
        mistakes=(),
        symbols=st.symbols or ex.symbols,
        wrong=st.wrong,
        stages=(),
        hints=(),
        letters=(),
    )


def split_steps(answer: str) -> list[str]:
    parts = [p.strip() for p in re.split(r"[;\n]", answer or "")]
    while parts and not parts[-1]:
        parts.pop()
    return parts


# ---------------------------------------------------------------------------
# Checking any kind
# ---------------------------------------------------------------------------


class KindOracle:
    """Warm state for a non-formula exercise: its steps' oracles, or its reference numbers."""

    def __init__(self, ex):
        self.ex = ex
        self.stage_oracles = []
        self.numbers = None
        if ex.kind == "steps":
            self.stage_oracles = [stage_exercise(ex, k).oracle() for k in range(len(ex.stages))]
        elif ex.kind == "numeric":
            self.numbers = numeric_reference(ex)

    def wrong_values(self):
        return [o.wrong_values() for o in self.stage_oracles]

    def mutant_values(self):
        return [o.mutant_values() for o in self.stage_oracles]


def letter_names(ex) -> dict:
    """The renaming of a letter variant (declared name -> variant name); empty for other exercises."""
    if not ex.variant or not ex.letters or ex.kind not in ("formula", "steps"):
        return {}
    pick = next(itertools.islice(itertools.product(*ex.letters), ex.variant, None))
    return {alts[0]: new for alts, new in zip(ex.letters, pick) if new != alts[0]}


def base_exercise(ex):
    """The declared exercise a letter variant renames."""
    from gradproof.derive.seminar.exercises import get

    return get(ex.base_id)


def check(ex, answer: str, *, symbolic_seconds: float = 3.0):
    """Check one answer to an exercise of any kind; returns a :class:`gradproof.derive.seminar.equivalence.Verdict`."""
    names = letter_names(ex)
    if names:
        return _check_renamed(ex, answer, names, symbolic_seconds)
    if ex.kind == "steps":
        return _check_steps(ex, answer, symbolic_seconds)
    if ex.kind == "numeric":
        return _check_numeric(ex, answer)
    if ex.kind == "choice":
        return _check_choice(ex, answer)
    from gradproof.derive.seminar.equivalence import decide

    v = decide(ex, answer, symbolic_seconds=symbolic_seconds)
    if v.status == "incorrect":
        v = _refine(ex, answer, v)
    return v


def _check_renamed(ex, answer, names, symbolic_seconds):
    """A letter variant is the declared exercise with other names: an answer that reads in the
    variant's own letters is renamed back and checked against the declared exercise (one oracle
    for all variants), and the verdict is told in the variant's letters."""
    if ex.kind == "steps":
        return _check_steps(ex, answer, symbolic_seconds)
    return _renamed(ex, base_exercise(ex), answer, names, symbolic_seconds)


def _renamed(ex, base, answer, names, symbolic_seconds):
    import dataclasses as dc

    from gradproof.derive.seminar.answers import AnswerError, read_answer
    from gradproof.derive.seminar.equivalence import decide

    try:
        read_answer(answer, ex.vocabulary())
    except AnswerError:
        return decide(ex, answer, symbolic_seconds=symbolic_seconds)  # unreadable: no reference needed
    back = {new: old for old, new in names.items()}
    v = check(base, rename_text(answer, back), symbolic_seconds=symbolic_seconds)

    def fwd(t):
        return rename_text(t, names)

    return dc.replace(
        v, exercise=ex.id, answer=answer, reading=fwd(v.reading), feedback=tuple(fwd(f) for f in v.feedback)
    )


_verdict = verdict


def _check_choice(ex, answer):
    t0 = time.perf_counter()
    a = (answer or "").strip().lower()
    m = re.fullmatch(r"(?:option\s*)?\(?\s*([a-z])\s*[).]?", a)
    keys = {o.key.lower(): o for o in ex.options}
    if not m or m.group(1) not in keys:
        return _verdict(
            ex,
            answer,
            status="invalid",
            decided_by="parser",
            mistake="syntax",
            feedback=("answer with one letter: " + ", ".join(o.key for o in ex.options),),
            seconds=time.perf_counter() - t0,
        )
    o = keys[m.group(1)]
    if o.correct:
        return _verdict(
            ex,
            answer,
            status="correct",
            decided_by="choice",
            credit=1.0,
            reading=o.key,
            feedback=("correct", o.explanation),
            seconds=time.perf_counter() - t0,
        )
    return _verdict(
        ex,
        answer,
        status="incorrect",
        decided_by="choice",
        reading=o.key,
        mistake=o.code or f"option:{o.key}",
        feedback=(o.explanation,),
        seconds=time.perf_counter() - t0,
    )


def _check_steps(ex, answer, symbolic_seconds):
    t0 = time.perf_counter()
    parts = split_steps(answer)
    n = len(ex.stages)
    if not parts:
        return _verdict(
            ex,
            answer,
            status="invalid",
            decided_by="parser",
            mistake="empty",
            feedback=(f"the answer is empty: give {n} steps separated by ';'",),
        )
    if len(parts) > n:
        return _verdict(
            ex,
            answer,
            status="invalid",
            decided_by="parser",
            mistake="too-many-steps",
            feedback=(f"{len(parts)} steps given, but the exercise has {n}: " + "; ".join(st.lhs for st in ex.stages),),
        )
    verdicts = []
    # the steps share the symbolic budget, but each keeps at least a second: a timeout leaves a
    # step's numeric verdict standing, and very short timers fire mid-SymPy far more often
    per_step = min(symbolic_seconds, max(symbolic_seconds / n, 1.0))
    for k in range(n):
        sub = stage_exercise(ex, k)
        names = letter_names(ex)
        if k < len(parts) and parts[k] and names:
            verdicts.append(_renamed(sub, stage_exercise(base_exercise(ex), k), parts[k], names, per_step))
        elif k < len(parts) and parts[k]:
            verdicts.append(check(sub, parts[k], symbolic_seconds=per_step))
        else:
            verdicts.append(
                _verdict(
                    sub,
                    "",
                    status="invalid",
                    decided_by="parser",
                    mistake="missing",
                    feedback=("this step is missing",),
                )
            )
    credit = sum(v.credit for v in verdicts) / n
    statuses = [v.status for v in verdicts]
    partlist = tuple(
        {
            "step": k + 1,
            "lhs": ex.stages[k].lhs,
            "status": v.status,
            "mistake": v.mistake,
            "credit": v.credit,
            "feedback": list(v.feedback),
        }
        for k, v in enumerate(verdicts)
    )
    fb = []
    first_bad = next((k for k, v in enumerate(verdicts) if v.status != "correct"), None)
    for k, v in enumerate(verdicts):
        label = f"step {k + 1} ({ex.stages[k].lhs})"
        if v.status == "correct":
            fb.append(f"{label}: correct")
        else:
            lead = "first goes wrong" if k == first_bad else v.status
            fb.append(f"{label}: {lead}: " + "; ".join(v.feedback))
    if all(s == "correct" for s in statuses):
        status, mistake = "correct", ""
    elif any(s == "incorrect" for s in statuses) or any(v.mistake == "missing" for v in verdicts):
        status = "incorrect"
        mistake = f"step{first_bad + 1}:{verdicts[first_bad].mistake or 'wrong'}"
    elif any(s == "invalid" for s in statuses):
        status, mistake = "invalid", f"step{first_bad + 1}:{verdicts[first_bad].mistake}"
    else:
        status, mistake = "undecided", ""
    by = "steps"
    return _verdict(
        ex,
        answer,
        status=status,
        decided_by=by,
        credit=credit if status != "correct" else 1.0,
        reading=" ; ".join(v.reading for v in verdicts),
        feedback=tuple(fb),
        mistake=mistake,
        parts=partlist,
        detail=f"{statuses.count('correct')} of {n} steps correct",
        seconds=time.perf_counter() - t0,
    )


def credit_after_help(credit: float, hints: int, solution: bool) -> float:
    """Credit once hints and a viewed solution are accounted for."""
    if solution:
        return 0.0
    return max(0.0, credit * (1.0 - HINT_PENALTY * max(0, hints)))


__all__ = [
    "Given",
    "Link",
    "NumericSpec",
    "Option",
    "Slip",
    "Stage",
    "check",
    "credit_after_help",
    "derivation_link",
    "hint_ladder",
    "make_variant",
    "n_variants",
    "numeric_inputs",
    "numeric_reference",
    "parse_numbers",
    "typing_example",
    "worked_solution",
]
