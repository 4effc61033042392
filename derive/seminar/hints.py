"""What a student may ask for besides a verdict: how to type, hints, the worked solution, the link.

A hint costs ``HINT_PENALTY`` of the exercise's credit; a viewed solution
costs all of it (:func:`credit_after_help`).  No hint and no typing example
contains an accepted answer; the worked solution is generated from the
derivation's own steps.
"""

from __future__ import annotations

import re

from gradproof.derive.seminar.numeric_items import _fmt_matrix, _tex_matrix, given_text, numeric_values
from gradproof.derive.seminar.variants import rename_text, stage_exercise

# A hint costs this share of the exercise's credit; a viewed solution costs all of it.
HINT_PENALTY = 0.1
TYPING_EXAMPLE = "A^T (b - c) / k"


def typing_example(ex) -> str:
    """How to type an answer, with an example unrelated to the exercise's solution."""
    if ex.answer_type == "choice":
        return f'gradproof check {ex.id} "{ex.options[-1].key}"   (one letter)'
    if ex.answer_type == "numeric":
        return f'gradproof check {ex.id} "[[1, -0.5], [2, 0.25]]"   (rows in brackets, or "1 -0.5; 2 0.25")'
    if ex.answer_type == "steps":
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
    if ex.answer_type == "steps":
        out.append(
            "Submit "
            + str(len(ex.stages))
            + " formulas separated by ';', in this order: "
            + "; ".join(st.lhs for st in ex.stages)
            + "."
        )
    elif ex.answer_type == "numeric":
        out.append(
            "Compute the forward values first, then the messages from the loss backwards; keep at least three decimals."
        )
    elif ex.answer_type == "choice":
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
            "text": f"{lhs_text} = {rename_text(to_text(rhs, lecture=False), names)}",
            "latex": f"{lhs_latex} = {to_latex(rhs, lecture=False)}",
        }

    out = []
    if ex.answer_type == "steps":
        for k, st in enumerate(ex.stages):
            sub = stage_exercise(ex, k)
            out.extend(worked_solution(sub)[:-1] if sub.topic else [])
            expr, _ = sub.reference()
            out.append(line(f"step {k + 1}: {st.prompt}", st.lhs, _tex_label(st.lhs), expr))
        return out
    if ex.answer_type == "choice":
        if ex.topic:
            d = derive(ex.topic)
            out += [line(st.rule, st.lhs.text, st.lhs.latex, st.rhs) for st in d.steps]
        for o in ex.options:
            if o.correct:
                out.append({"rule": "answer", "text": f"({o.key}) {o.text}: {o.explanation}", "latex": ""})
        return out
    if ex.answer_type == "numeric":
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


def credit_after_help(credit: float, hints: int, solution: bool) -> float:
    """Credit once hints and a viewed solution are accounted for."""
    if solution:
        return 0.0
    return max(0.0, credit * (1.0 - HINT_PENALTY * max(0, hints)))
