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

>>> parse_numbers("[[1, -2.5], [1/2, 3]]")
[[Fraction(1, 1), Fraction(-5, 2)], [Fraction(1, 2), Fraction(3, 1)]]
"""
from __future__ import annotations

import dataclasses
import itertools
import re
import time
import zlib
from dataclasses import dataclass
from fractions import Fraction

# A hint costs this share of the exercise's credit; a viewed solution costs all of it.
HINT_PENALTY = 0.1
NUMERIC_VARIANTS = 16
# Absolute tolerance of a numeric answer, plus this share of the entry's size.
NUMERIC_ATOL = 5e-3
NUMERIC_RTOL = 5e-3
TYPING_EXAMPLE = "A^T (b - c) / k"


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

    from derive.mexpr import MExpr
    from derive.model import Label
    from derive.registry import derive

    want = ex.result[len("step:"):]
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
    pat = re.compile(r"(?<![A-Za-z0-9_\\])(" + "|".join(re.escape(k) for k in sorted(names, key=len, reverse=True))
                     + r")(?![A-Za-z0-9_])")
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
        return dataclasses.replace(ex, id=vid, variant=k, base_id=ex.declared_id,
                                   options=tuple(dataclasses.replace(o, key=key) for o, key in zip(opts, keys)))
    pick = next(itertools.islice(itertools.product(*ex.letters), k, None))
    names = {alts[0]: new for alts, new in zip(ex.letters, pick) if new != alts[0]}
    return rename_exercise(ex, names, vid, k)


def rename_exercise(ex, names: dict, vid: str, k: int):
    taken = set(names.values())

    def decls(ds):
        return tuple(dataclasses.replace(
            d, name=names.get(d.name, d.name), definition=rename_text(d.definition, names),
            aliases=tuple(a for a in d.aliases if a not in taken), call_args=tuple(names.get(a, a) for a in d.call_args))
            for d in ds)

    symbols = decls(ex.symbols)

    def refnames(pairs):
        out = [(eng, names.get(exn, exn)) for eng, exn in pairs]
        mapped = {exn for _, exn in pairs} | {eng for eng, _ in pairs}
        out += [(old, new) for old, new in names.items() if old not in mapped]
        return tuple(out)

    def wrong(ws):
        return tuple(dataclasses.replace(w, answer=rename_text(w.answer, names), message=rename_text(w.message, names))
                     for w in ws)

    stages = tuple(dataclasses.replace(st, lhs=rename_text(st.lhs, names), prompt=rename_text(st.prompt, names),
                                       reference_names=refnames(st.reference_names), wrong=wrong(st.wrong),
                                       symbols=decls(st.symbols))
                   for st in ex.stages)
    return dataclasses.replace(
        ex, id=vid, variant=k, base_id=ex.declared_id, symbols=symbols, prompt=rename_text(ex.prompt, names),
        lhs=rename_text(ex.lhs, names), reference_names=refnames(ex.reference_names), stages=stages,
        accepted=tuple(rename_text(a, names) for a in ex.accepted),
        mistakes=tuple((rename_text(a, names), c) for a, c in ex.mistakes), wrong=wrong(ex.wrong),
        hints=tuple(rename_text(h, names) for h in ex.hints))


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
        out.append("Submit " + str(len(ex.stages)) + " formulas separated by ';', in this order: "
                   + "; ".join(st.lhs for st in ex.stages) + ".")
    elif ex.kind == "numeric":
        out.append("Compute the forward values first, then the messages from the loss backwards; "
                   "keep at least three decimals.")
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
    from derive.model import Label

    def same(a, b):
        try:
            return a is b or (not isinstance(a, Label) and a == b)
        except Exception:  # noqa: BLE001 - SymPy comparisons of odd objects
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
    return list(d.steps[start:stop + 1])


def worked_solution(ex) -> list[dict]:
    """The worked solution, step by step: ``[{"text": ..., "latex": ..., "rule": ...}]``.

    Generated from the derivation's own steps (never typed in); the last line
    is the answer in the exercise's letters.
    """
    from derive.printing import to_latex, to_text
    from derive.registry import derive

    names = {}
    for eng, exn in ex.reference_names:
        if eng != exn:
            names[eng] = exn

    def line(rule, lhs_text, lhs_latex, rhs):
        return {"rule": rule, "text": f"{lhs_text} = {rename_text(to_text(rhs), names)}",
                "latex": f"{lhs_latex} = {to_latex(rhs)}"}

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
                out.append({"rule": "answer", "text": f"({o.key}) {o.text}: {o.explanation}",
                            "latex": ""})
        return out
    if ex.kind == "numeric":
        vals = numeric_values(ex)
        out.append({"rule": "given", "text": "; ".join(given_text(ex)), "latex": ""})
        for ln in ex.numeric.chain:
            d = derive(ln.topic)
            r = d.result(ln.result)
            binds = ", ".join(f"{e} = {s}" for e, s in ln.binds)
            out.append({"rule": f"{d.title}: {r.lhs.text}" + (f" with {binds}" if binds else ""),
                        "text": f"{ln.name} = {_fmt_matrix(vals[ln.name], ex.numeric.decimals)}",
                        "latex": f"{_tex_name(ln.name)} = {to_latex(r.matrix)} = {_tex_matrix(vals[ln.name], ex.numeric.decimals)}"})
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


_TEX_TEXT = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "_": r"\_", "^": r"\^{}", "#": r"\#",
             "$": r"\$", "%": r"\%", "&": r"\&", "~": r"\~{}"}


def _tex_label(text: str) -> str:
    """A plain-text left-hand side as text inside maths, every TeX special character escaped."""
    return r"\text{" + "".join(_TEX_TEXT.get(ch, ch) for ch in text) + "}"


def _tex_name(name: str) -> str:
    return re.sub(r"_(\w+)", r"_{\1}", name)


def _fmt_num(x, decimals: int) -> str:
    v = float(x)
    s = f"{v:.{decimals}f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def _fmt_matrix(m, decimals: int = 3) -> str:
    m = m.tolist() if hasattr(m, "tolist") else m
    rows = [[_fmt_num(x, decimals) for x in row] for row in m]
    if len(rows) == 1 and len(rows[0]) == 1:
        return rows[0][0]
    return "[" + ", ".join("[" + ", ".join(r) + "]" for r in rows) + "]"


def _tex_matrix(m, decimals: int = 3) -> str:
    m = m.tolist() if hasattr(m, "tolist") else m
    rows = [[_fmt_num(x, decimals) for x in row] for row in m]
    return r"\begin{pmatrix}" + r" \\ ".join(" & ".join(r) for r in rows) + r"\end{pmatrix}"


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
        return [key, key.upper(), f"({key})"], [(o.key, o.code or f"option:{o.key}") for o in ex.options
                                                 if not o.correct]
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
        slips = {f"slip:{k}": val for k, (_, _, val) in enumerate(
            [s for s in _numeric_slips(ex, ref)][:len(ex.numeric.slips)])}
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
        ex, id=f"{ex.id}.{k + 1}", kind="formula", lhs=st.lhs, prompt=st.prompt, topic=st.topic, result=st.result,
        form=st.form, reference_names=st.reference_names or ex.reference_names, accepted=(), mistakes=(),
        symbols=st.symbols or ex.symbols,
        wrong=st.wrong, stages=(), hints=(), letters=())


def split_steps(answer: str) -> list[str]:
    parts = [p.strip() for p in re.split(r"[;\n]", answer or "")]
    while parts and not parts[-1]:
        parts.pop()
    return parts


# ---------------------------------------------------------------------------
# Numeric items
# ---------------------------------------------------------------------------

def numeric_inputs(ex) -> dict:
    """The given matrices (exact fractions), seeded by the exercise and its variant."""
    import random

    rng = random.Random(zlib.crc32(f"{ex.declared_id}:{ex.variant}".encode()))
    out = {}
    for g in ex.numeric.given:
        rows, cols = g.shape
        if g.domain == "prob":
            vals = [[Fraction(rng.randint(1, 9), 10) for _ in range(cols)] for _ in range(rows)]
        elif g.domain == "half":
            # small inputs keep a sigmoid away from saturation
            vals = [[Fraction(rng.choice((-2, -1, 1, 2)), 2) for _ in range(cols)] for _ in range(rows)]
        elif g.domain == "binary":
            vals = [[Fraction(rng.randint(0, 1)) for _ in range(cols)] for _ in range(rows)]
        else:
            # nonzero: a zero input sits on the kink of ReLU, L1 or the step function
            vals = [[Fraction(rng.choice((-3, -2, -1, 1, 2, 3))) for _ in range(cols)] for _ in range(rows)]
        out[g.name] = vals
    return out


def _chain_values(ex, chain, base: dict) -> dict:
    import sympy as sp

    from derive import mexpr as mx
    from derive.equivalence import _scalar_symbols
    from derive.registry import derive

    env = dict(base)
    scal = {k: sp.Rational(v) for k, v in ex.numeric.scalars}
    for ln in chain:
        r = derive(ln.topic).result(ln.result)
        expr = r.matrix
        if expr is None:
            raise ValueError(f"{ln.topic} result {ln.result!r} has no matrix form")
        local = {eng: env[src] for eng, src in ln.binds}
        for node in expr.walk():
            if isinstance(node, mx.Sym) and node.name not in local and node.name in env:
                local[node.name] = env[node.name]
        dims = {}
        for node in expr.walk():
            if isinstance(node, mx.Sym) and node.name in local:
                for d, v in zip(node.shape, local[node.name].shape):
                    if isinstance(d, sp.Symbol):
                        dims[d] = sp.Integer(v)
        for s in _scalar_symbols(expr):
            if s.name in scal:
                dims[s] = scal[s.name]
        val = mx.evaluate(expr, local, dims)
        env[ln.name] = sp.Matrix(val).applyfunc(lambda x: sp.nsimplify(x) if x.is_Rational else x)
    return env


def given_text(ex) -> list[str]:
    """The given matrices of a numeric item, one line each (``x = [[1, -2, 3]]``)."""
    if ex.numeric is None:
        return []
    return [f"{k} = " + "[" + ", ".join("[" + ", ".join(str(x) for x in row) + "]" for row in v) + "]"
            for k, v in numeric_inputs(ex).items()]


def numeric_values(ex) -> dict:
    """Every value of the chain (SymPy matrices), given ones included."""
    import sympy as sp

    base = {k: sp.Matrix([[sp.Rational(x.numerator, x.denominator) for x in row] for row in v])
            for k, v in numeric_inputs(ex).items()}
    return _chain_values(ex, ex.numeric.chain, base)


def numeric_reference(ex):
    import numpy as np

    vals = numeric_values(ex)
    return np.array(vals[ex.numeric.chain[-1].name].evalf(30).tolist(), dtype=float)


_NUM = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,3})?(?:/[+-]?(?:\d+(?:\.\d*)?|\.\d+))?$")


class NumberError(ValueError):
    pass


def parse_numbers(text: str, max_len: int = 4000) -> list[list[Fraction]]:
    """A number or a matrix: ``2.5``, ``[[1, 2], [3, 4]]``, ``1 2; 3 4``, ``[1/2, -1]`` (a row)."""
    if text is None or not text.strip():
        raise NumberError("the answer is empty")
    if len(text) > max_len:
        raise NumberError(f"the answer is longer than {max_len} characters")
    t = text.strip().replace("\u2212", "-")
    if t.startswith("[[") and t.endswith("]]"):
        rows = re.split(r"\]\s*,?\s*\[", t[2:-2])
    else:
        t = t[1:-1] if t.startswith("[") and t.endswith("]") else t
        rows = re.split(r"[;\n]", t)
    out = []
    for row in rows:
        cells = [c for c in re.split(r"[,\s]+", row.strip()) if c]
        if not cells:
            continue
        vals = []
        for c in cells:
            if not _NUM.match(c):
                raise NumberError(f"{c[:20]!r} is not a number (write decimals like -0.25 or fractions like 1/4)")
            num, _, den = c.partition("/")
            try:
                v = Fraction(num) / Fraction(den) if den else Fraction(num)
            except ZeroDivisionError:
                raise NumberError(f"{c[:20]!r} divides by zero") from None
            vals.append(v)
        out.append(vals)
    if not out:
        raise NumberError("the answer has no numbers")
    if len({len(r) for r in out}) != 1:
        raise NumberError("the rows have different lengths")
    return out


def _numeric_close(a, b) -> bool:
    import numpy as np

    return a.shape == b.shape and bool(np.all(np.abs(a - b) <= NUMERIC_ATOL + NUMERIC_RTOL * np.abs(b)))


def _numeric_slips(ex, ref):
    """(code, message, values) of the named wrong computations."""
    import numpy as np
    import sympy as sp

    out = []
    base = {k: sp.Matrix([[sp.Rational(x.numerator, x.denominator) for x in row] for row in v])
            for k, v in numeric_inputs(ex).items()}
    for s in ex.numeric.slips:
        if s.given:
            val = np.array(base[s.given].evalf(30).tolist(), dtype=float)
        else:
            env = _chain_values(ex, s.chain, base)
            val = np.array(env[s.chain[-1].name].evalf(30).tolist(), dtype=float)
        out.append((s.code, s.message, val))
    out.append(("sign", "sign error: your numbers are the negatives of the right ones", -ref))
    if ref.shape[0] != ref.shape[1]:
        out.append(("transposed", f"your matrix is transposed: the answer is {ref.shape[0]}x{ref.shape[1]}", ref.T))
    for f, code in ((2.0, "factor:2"), (0.5, "factor:1/2")):
        out.append((code, f"off by a factor of {code.split(':')[1]}", f * ref))
    return out


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
    from derive.exercises import get

    return get(ex.base_id)


def check(ex, answer: str, *, symbolic_seconds: float = 3.0):
    """Check one answer to an exercise of any kind; returns a :class:`derive.equivalence.Verdict`."""
    names = letter_names(ex)
    if names:
        return _check_renamed(ex, answer, names, symbolic_seconds)
    if ex.kind == "steps":
        return _check_steps(ex, answer, symbolic_seconds)
    if ex.kind == "numeric":
        return _check_numeric(ex, answer)
    if ex.kind == "choice":
        return _check_choice(ex, answer)
    from derive.equivalence import decide

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

    from derive.answers import AnswerError, read_answer
    from derive.equivalence import decide

    try:
        read_answer(answer, ex.vocabulary())
    except AnswerError:
        return decide(ex, answer, symbolic_seconds=symbolic_seconds)  # unreadable: no reference needed
    back = {new: old for old, new in names.items()}
    v = check(base, rename_text(answer, back), symbolic_seconds=symbolic_seconds)

    def fwd(t):
        return rename_text(t, names)

    return dc.replace(v, exercise=ex.id, answer=answer, reading=fwd(v.reading),
                      feedback=tuple(fwd(f) for f in v.feedback))


def _verdict(ex, answer, **kw):
    from derive.equivalence import Verdict

    return Verdict(exercise=ex.id, answer=answer, **kw)


def _check_choice(ex, answer):
    t0 = time.perf_counter()
    a = (answer or "").strip().lower()
    m = re.fullmatch(r"(?:option\s*)?\(?\s*([a-z])\s*[).]?", a)
    keys = {o.key.lower(): o for o in ex.options}
    if not m or m.group(1) not in keys:
        return _verdict(ex, answer, status="invalid", decided_by="parser", mistake="syntax",
                        feedback=("answer with one letter: " + ", ".join(o.key for o in ex.options),),
                        seconds=time.perf_counter() - t0)
    o = keys[m.group(1)]
    if o.correct:
        return _verdict(ex, answer, status="correct", decided_by="choice", credit=1.0, reading=o.key,
                        feedback=("correct", o.explanation), seconds=time.perf_counter() - t0)
    return _verdict(ex, answer, status="incorrect", decided_by="choice", reading=o.key,
                    mistake=o.code or f"option:{o.key}", feedback=(o.explanation,),
                    seconds=time.perf_counter() - t0)


def _check_numeric(ex, answer):
    import numpy as np

    t0 = time.perf_counter()
    try:
        rows = parse_numbers(answer)
    except NumberError as err:
        return _verdict(ex, answer, status="invalid", decided_by="parser", mistake="syntax", feedback=(str(err),),
                        seconds=time.perf_counter() - t0)
    got = np.array([[float(x) for x in r] for r in rows], dtype=float)
    ref = ex.oracle().numbers
    reading = _fmt_matrix(got.tolist(), 6)
    if _numeric_close(got, ref):
        err = float(np.max(np.abs(got - ref)))
        return _verdict(ex, answer, status="correct", decided_by="numeric", credit=1.0, reading=reading,
                        feedback=("correct",), detail=f"largest difference {err:.1e} (tolerance {NUMERIC_ATOL:g} "
                                                      f"+ {NUMERIC_RTOL:g} x |entry|)",
                        seconds=time.perf_counter() - t0)
    for code, message, val in _numeric_slips(ex, ref):
        if _numeric_close(got, val) and not _numeric_close(val, ref):
            return _verdict(ex, answer, status="incorrect", decided_by="numeric", reading=reading, mistake=code,
                            feedback=(message,), seconds=time.perf_counter() - t0)
    if got.shape != ref.shape:
        return _verdict(ex, answer, status="incorrect", decided_by="shape", reading=reading, mistake="shape",
                        feedback=(f"your answer is {got.shape[0]}x{got.shape[1]}, but {ex.lhs} is "
                                  f"{ref.shape[0]}x{ref.shape[1]}",), seconds=time.perf_counter() - t0)
    bad = np.argwhere(np.abs(got - ref) > NUMERIC_ATOL + NUMERIC_RTOL * np.abs(ref))
    i, j = (int(x) for x in bad[0])
    return _verdict(ex, answer, status="incorrect", decided_by="numeric", reading=reading,
                    feedback=(f"{len(bad)} of {ref.size} entries are off, first at row {i + 1}, column {j + 1}",),
                    seconds=time.perf_counter() - t0)


def _check_steps(ex, answer, symbolic_seconds):
    t0 = time.perf_counter()
    parts = split_steps(answer)
    n = len(ex.stages)
    if not parts:
        return _verdict(ex, answer, status="invalid", decided_by="parser", mistake="empty",
                        feedback=(f"the answer is empty: give {n} steps separated by ';'",))
    if len(parts) > n:
        return _verdict(ex, answer, status="invalid", decided_by="parser", mistake="too-many-steps",
                        feedback=(f"{len(parts)} steps given, but the exercise has {n}: "
                                  + "; ".join(st.lhs for st in ex.stages),))
    verdicts = []
    # the steps share one symbolic budget: a timeout leaves a step's numeric verdict standing
    per_step = symbolic_seconds / n
    for k in range(n):
        sub = stage_exercise(ex, k)
        names = letter_names(ex)
        if k < len(parts) and parts[k] and names:
            verdicts.append(_renamed(sub, stage_exercise(base_exercise(ex), k), parts[k], names, per_step))
        elif k < len(parts) and parts[k]:
            verdicts.append(check(sub, parts[k], symbolic_seconds=per_step))
        else:
            verdicts.append(_verdict(sub, "", status="invalid", decided_by="parser", mistake="missing",
                                     feedback=("this step is missing",)))
    credit = sum(v.credit for v in verdicts) / n
    statuses = [v.status for v in verdicts]
    partlist = tuple({"step": k + 1, "lhs": ex.stages[k].lhs, "status": v.status, "mistake": v.mistake,
                      "credit": v.credit, "feedback": list(v.feedback)} for k, v in enumerate(verdicts))
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
    return _verdict(ex, answer, status=status, decided_by=by, credit=credit if status != "correct" else 1.0,
                    reading=" ; ".join(v.reading for v in verdicts), feedback=tuple(fb), mistake=mistake,
                    parts=partlist, detail=f"{statuses.count('correct')} of {n} steps correct",
                    seconds=time.perf_counter() - t0)


# ---------------------------------------------------------------------------
# Naming more: double slips and misused shapes
# ---------------------------------------------------------------------------

def _refine(ex, answer, v):
    """An incorrect formula verdict, with a second slip or a shape misuse named where one explains it."""
    import dataclasses as dc

    if v.mistake == "factor":
        better = _sign_and_factor(ex, answer)
        if better is not None:
            return dc.replace(v, mistake=better[0], feedback=(better[1],) + v.feedback)
    if v.mistake in ("", "shape", "transposed"):
        better = _shape_misuse(ex, answer) if v.mistake in ("",) else None
        if better is None and v.decided_by in ("shape", "numeric"):
            better = _double_slip(ex, answer, v)
        if better is not None:
            code, message = better
            keep = tuple(f for f in v.feedback if f != message and v.mistake not in ("", "shape"))
            return dc.replace(v, mistake=code, feedback=(message,) + keep)
    return v


def _shape_misuse(ex, answer):
    """A scalar added to a product that is a vector or matrix (``inv(X^T X) X^T y + lambda``)."""
    from derive import mexpr as mx
    from derive.answers import AnswerError, read_answer
    from derive.printing import to_text

    try:
        r = read_answer(answer, ex.vocabulary())
    except AnswerError:
        return None
    if not isinstance(r.expr, mx.MExpr):
        return None
    for node in r.expr.walk():
        if not isinstance(node, mx.Add):
            continue
        consts = [t for t in node.terms if _is_broadcast_scalar(t)]
        mats = [t for t in node.terms if not _is_broadcast_scalar(t)]
        for m_ in mats:
            core = m_.arg if isinstance(m_, mx.Scale) else m_
            if isinstance(core, (mx.MatMul, mx.Solve)) and consts:
                sc = consts[0]
                shape = ex.shape_at_probe(tuple(m_.shape))
                sym = "x".join(str(d) for d in m_.shape)
                # inv(A) is Solve(A, I): print it as the student wrote it
                term = re.sub(r"\^-1 I\b\s*", "^-1 ", to_text(m_))
                return ("shape-scalar-plus-matrix",
                        f"shape error: the scalar {to_text(sc.value if isinstance(sc, mx.Const) else sc)} is added to "
                        f"{term}, which is {sym} ({shape[0]}x{shape[1]} at the probe sizes); a scalar cannot "
                        "be added to a vector or matrix (a multiple of the identity is written lambda I)")
    return None


def _sign_and_factor(ex, answer):
    """A negative ratio that is a named factor once the sign is taken out: two slips."""
    from derive.answers import AnswerError, read_answer
    from derive.equivalence import _constant_ratio, _name_factor

    try:
        r = read_answer(answer, ex.vocabulary())
        vals = ex.oracle().evaluate(r.expr)
    except (AnswerError, Exception):  # noqa: BLE001 - keeps the first verdict
        return None
    if not isinstance(vals, list):
        return None
    c = _constant_ratio(vals, ex.oracle().ref_values)
    if c is None or c >= 0:
        return None
    named = _name_factor(-c, ex)
    if named is None or named[0] == "sign":
        return None
    return f"sign+{named[0]}", f"two slips: a sign error and {_inverse_msg(named[0], named[1], ex)}"


def _is_broadcast_scalar(t) -> bool:
    from derive import mexpr as mx

    if isinstance(t, mx.Scale):
        return _is_broadcast_scalar(t.arg)
    return isinstance(t, mx.Const)


def _double_slip(ex, answer, v):
    """Two slips at once: transposed and (sign, a factor, a named mutation), or sign/factor on a named mutation."""
    import numpy as np

    from derive import mexpr as mx
    from derive.answers import AnswerError, read_answer
    from derive.equivalence import close

    try:
        r = read_answer(answer, ex.vocabulary())
    except AnswerError:
        return None
    if not isinstance(r.expr, mx.MExpr):
        return None
    o = ex.oracle()
    got = ex.shape_at_probe(tuple(r.shape))
    transposed = got == o.shape[::-1] and got != o.shape
    if got != o.shape and not transposed:
        return None
    try:
        vals = o.evaluate(mx.Transpose(r.expr) if transposed else r.expr)
    except Exception:  # noqa: BLE001 - an answer the evaluator cannot handle keeps its first verdict
        return None
    if not isinstance(vals, list):
        return None
    scales = [(1.0, "", "")] if transposed else []
    scales += [(-1.0, "sign", "a sign error")]
    for f, lab in ((2.0, "2"), (0.5, "1/2")):
        scales.append((f, f"factor:{lab}", f"a factor of {lab}"))
    for name, size in ex.dims:
        scales.append((float(size), f"factor:{name}", ""))
        scales.append((1.0 / size, f"factor:1/{name}", ""))
        scales.append((-1.0 / size, f"sign+factor:1/{name}", ""))
    targets = [("", "", o.ref_values)] + [(c, m, mv) for c, m, mv in o.mutant_values()]
    for tcode, tmsg, tvals in targets:
        for f, scode, smsg in scales:
            if not tcode and not scode and not transposed:
                continue
            if all(close(np.asarray(a, float), f * np.asarray(b, float), 1e-6, 1e-9) for a, b in zip(vals, tvals)):
                codes = [c for c in (("transposed" if transposed else ""), tcode, scode) if c]
                msgs = [m for m in (("a missing or misplaced transpose" if transposed else ""), tmsg,
                                    _inverse_msg(scode, smsg, ex)) if m]
                if len(codes) < 2:
                    return None
                return "+".join(codes), "two slips: " + " and ".join(msgs)
    return None


def _inverse_msg(scode, smsg, ex) -> str:
    """What a student did when the answer is ``f`` times the right one."""
    if not scode:
        return ""
    dims = dict(ex.dims)
    if scode.startswith("factor:1/"):
        n = scode.split("/", 1)[1]
        return f"an extra 1/{n} (the answer is the right one divided by {n})"
    if scode.startswith("factor:") and scode.split(":", 1)[1] in dims:
        n = scode.split(":", 1)[1]
        return f"a missing 1/{n} (the answer is {n} times the right one)"
    if scode.startswith("factor:"):
        n = scode.split(":", 1)[1]
        return f"an extra factor {n}"
    if scode.startswith("sign+factor:1/"):
        n = scode.split("/", 1)[1]
        return f"a sign error and an extra 1/{n}"
    return smsg


def credit_after_help(credit: float, hints: int, solution: bool) -> float:
    """Credit once hints and a viewed solution are accounted for."""
    if solution:
        return 0.0
    return max(0.0, credit * (1.0 - HINT_PENALTY * max(0, hints)))


__all__ = ["Stage", "Given", "Link", "Slip", "NumericSpec", "Option", "check", "hint_ladder", "worked_solution",
           "typing_example", "derivation_link", "make_variant", "n_variants", "parse_numbers", "numeric_inputs",
           "numeric_reference", "credit_after_help"]
