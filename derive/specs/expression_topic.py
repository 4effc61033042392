"""Your own expression as a topic of the report.

``gradproof report --expr "EXPR" --wrt VAR`` and a spec file's
``[[expression]]`` tables declare an expression topic: a registered topic of
category ``"user"`` (tagged ``"expression"``) whose derivation is the one
``gradproof diff`` makes -- the steps, the matrix form, the exact proof entry
by entry at small non-square sizes -- so the report shows it like a lecture
topic, marked as the user's.  The expression is read by the one reading
pipeline (:mod:`gradproof.derive.reading`); nothing in it is ever evaluated.

A spec file of expressions::

    [[expression]]
    name = "ridge"
    expr = "(X w - y)^T (X w - y) + lambda w^T w"
    wrt = "w"

    [[expression]]
    expr = "x^T A x"
    wrt = "x"
    hessian = true
    shape = ["A=3,3"]

>>> t = expression_topic(ExpressionDeclaration("tr(A X B)", "X"), "doc_trace", "given in a docstring")
>>> from gradproof.derive.lecture.registry import derive
>>> d = derive(t)
>>> d.passed, str(d.result("gradient").matrix)
(True, 'A^T B^T')
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from gradproof.derive.engine.derivation import Derivation, Label, Proof, Result, Step

__all__ = ["ExpressionDeclaration", "ExpressionError", "expression_topic", "load_expression_spec", "register"]

NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}\Z")
SECTION = "Your own expressions (not the lecture's)"
MAX_EXPRESSIONS = 50  # per spec file or command line
_KEYS = {"name", "title", "summary", "expr", "wrt", "hessian", "shape"}


@dataclass(frozen=True)
class ExpressionDeclaration:
    """What a user states: the expression as typed, the variable, shape overrides, Hessian or not."""

    text: str
    wrt: str
    shapes: tuple = ()  # ("NAME=r,c" | "NAME=scalar", ...) as on the command line
    hessian: bool = False


class ExpressionError(ValueError):
    """A declared expression cannot be read or differentiated: one line (``caret`` as in ``ReadError``)."""

    def __init__(self, message: str, caret: tuple[str, int] | None = None, pos: int | None = None):
        super().__init__(message)
        self.caret, self.pos = caret, pos


def _derive_diff(decl: ExpressionDeclaration, prove_it: bool = True):
    """The ``diff`` result of a declaration (raises :class:`ExpressionError`)."""
    from gradproof.derive.engine.matcalc import DiffError, differentiate
    from gradproof.derive.reading import ReadError, parse_shape, read

    try:
        if not NAME_RE.match(decl.wrt or ""):
            raise ExpressionError(f"the variable {decl.wrt[:40]!r} is not a name")
        shapes = dict(parse_shape(s) for s in decl.shapes)
        return differentiate(read(decl.text, shapes), decl.wrt, hessian=decl.hessian, prove_it=prove_it)
    except ReadError as err:
        raise ExpressionError(str(err), err.caret, err.pos) from None
    except DiffError as err:
        raise ExpressionError(str(err)) from None
    except RecursionError:
        raise ExpressionError("the expression nests too deeply") from None


def expression_topic(decl: ExpressionDeclaration, name: str, origin: str, title: str = "", summary: str = ""):
    """A (not yet registered) topic for ``decl``; the expression is read and differentiated now,
    so that bad input is refused before anything is built (raises :class:`ExpressionError`)."""
    from gradproof.derive.lecture.registry import Topic

    if not NAME_RE.match(name):
        raise ExpressionError(f"the topic name {name[:40]!r} must be a name (letters, digits, _)")
    r = _derive_diff(decl, prove_it=False)
    what = {"gradient": "gradient", "jacobian": "Jacobian", "hessian": "Hessian"}[r.form]
    return Topic(
        name=name,
        title=title or f"Your expression: the {what} by {decl.wrt}",
        category="user",
        section=SECTION,
        order=1001.0,
        summary=summary or f"Your own expression ({origin}; not part of the lecture): the {what} by {decl.wrt}.",
        build=build_expression,
        declaration=decl,
        tags=("user", "expression"),
        extra={"source": origin},
    )


def _lhs(form: str, wrt: str) -> Label:
    from gradproof.derive.engine.matcalc import latex
    from gradproof.derive.reading.shaped import var

    v = latex(var(wrt, (1, 1)))
    return {
        "gradient": Label(f"df/d{wrt}", rf"\frac{{\partial f}}{{\partial {v}}}"),
        "jacobian": Label(f"df/d{wrt}^T", rf"\frac{{\partial f}}{{\partial {v}^{{\top}}}}"),
        "hessian": Label(f"d2f/d{wrt} d{wrt}^T", rf"\frac{{\partial^2 f}}{{\partial {v}\,\partial {v}^{{\top}}}}"),
    }[form]


def build_expression(topic) -> Derivation:
    """Derive and prove an expression topic: the registry's ``build`` for it."""
    from gradproof.derive.engine.matcalc import latex, text
    from gradproof.derive.proof.matcalc import numpy_module

    decl: ExpressionDeclaration = topic.declaration
    r = _derive_diff(decl)
    f = Label("f", "f")
    definition = (Step("", f, Label(text(r.expr), latex(r.expr))),)
    steps = []
    grad_lhs = _lhs("gradient", r.wrt)
    for (label, value), (_, tex) in zip(r.printed_steps(text), r.printed_steps(latex)):
        if label in ("expression", "shapes"):
            continue
        lhs = grad_lhs if r.form == "hessian" and label.startswith("gradient") else _lhs(r.form, r.wrt)
        steps.append(Step(label, lhs, Label(value, tex)))
    sizes = ", ".join(f"{k}={v}" for k, v in r.sizes.items()) or "scalars"
    proofs = tuple(
        Proof(p.key, "exact: entry against SymPy's scalar derivative", sizes, p.passed, p.detail) for p in r.proofs
    )
    shapes = ", ".join(f"{k}: {_shape_words(s)}" for k, s in r.shapes.items())
    notes = [f"Shapes (inferred, or as you gave them): {shapes}.", _proof_note(r, sizes)]
    results = ()
    extra = {"diff": r}
    if r.proved:
        lhs = _lhs(r.form, r.wrt)
        if r.direction:  # the Hessian column by column: H e_k
            lhs = Label(lhs.text + " e_k", lhs.latex + r" \mathbf{e}_k")
        results = (Result(r.form, lhs, matrix=Label(text(r.result), latex(r.result)), shape=_dims(r)),)
        extra["numpy_source"] = numpy_module(r)
    return Derivation(
        topic=topic.name,
        title=topic.title,
        category=topic.category,
        section=topic.section,
        summary=topic.summary,
        definition=definition,
        steps=tuple(steps),
        results=results,
        proofs=proofs,
        notes=tuple(notes),
        extra=extra,
        source=topic.source,
    )


def _shape_words(s) -> str:
    return "scalar" if s == (1, 1) else (f"vector of length {s[0]}" if s[1] == 1 else f"{s[0]} x {s[1]}")


def _dims(r) -> tuple:
    import sympy as sp

    return tuple(sp.Integer(d) if isinstance(d, int) else sp.Symbol(d) for d in r.result.shape)


def _proof_note(r, sizes: str) -> str:
    if r.proved:
        return (
            f"Each of the {len(r.proofs)} entries of the derived matrix form equals SymPy's scalar derivative "
            f"of the expression written out at {sizes}."
        )
    bad = r.failed()[0]
    return f"The derived matrix form FAILED its exact proof at {bad.key} ({bad.detail}); it is not shown as a result."


def register(topics) -> list:
    """Register expression topics (replacing a user topic of the same name); each is derived now."""
    from gradproof.derive.lecture.registry import add_user_topic, derive, remove_user_topic

    out = []
    for t in topics:
        try:
            add_user_topic(t)
        except ValueError as err:
            raise ExpressionError(str(err)) from None
        try:
            derive(t)
        except ExpressionError:
            remove_user_topic(t.name)
            raise
        out.append(t)
    return out


# ---------------------------------------------------------------------------
# [[expression]] tables in a spec file
# ---------------------------------------------------------------------------


def declares_expressions(text: str) -> bool:
    """Whether a spec file's text has ``[[expression]]`` tables."""
    return re.search(r"^\s*\[\[\s*expression\s*\]\]", text, re.M) is not None


def load_expression_spec(text: str, path: str) -> list:
    """Read, register and derive every ``[[expression]]`` of a spec file (raises ``SpecError``)."""
    from gradproof.derive.specs.toml_text import SpecError, _Lines, parse_toml

    data = parse_toml(text, path)
    lines = _Lines(text)
    others = sorted(k for k in data if k != "expression")
    if others:
        raise SpecError(
            path,
            lines.of(others[0]),
            f"a spec declares either one module (category = ...) or [[expression]] tables, not both ({others[0]!r})",
        )
    tables = data.get("expression")
    if not isinstance(tables, list) or not tables or not all(isinstance(x, dict) for x in tables):
        raise SpecError(path, lines.of("expression"), "expression must be tables: [[expression]] expr = ... wrt = ...")
    if len(tables) > MAX_EXPRESSIONS:
        raise SpecError(path, None, f"{len(tables)} expressions; the limit is {MAX_EXPRESSIONS}")
    stem = re.sub(r"[^A-Za-z0-9_]", "_", os.path.splitext(os.path.basename(path))[0]) or "spec"
    topics = []
    for k, tab in enumerate(tables):
        topics.append(_table_topic(tab, k, path, lines, stem))
    names = [t.name for t in topics]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup:
        raise SpecError(path, None, f"two expressions are named {dup!r}")
    out = []
    for k, t in enumerate(topics):
        try:
            out += register([t])
        except ExpressionError as err:
            where = lines.where("name", "expression", k) or lines.where("expr", "expression", k)
            raise SpecError(path, where[0] if where else None, f"expression {k + 1}: {err}") from None
    return out


def _table_topic(tab: dict, k: int, path: str, lines, stem: str):
    from gradproof.derive.specs.toml_text import SpecError

    def err(problem, key=None, col=None):
        hit = lines.where(key, "expression", k) if key else None
        line = hit[0] if hit else lines._table_start("expression", k) or None
        raise SpecError(path, line, f"expression {k + 1}: {problem}", col or (hit[1] if hit else None))

    for key in tab:
        if key not in _KEYS:
            err(f"unknown key {key!r} (use {', '.join(sorted(_KEYS))})", key)
    for key in ("expr", "wrt"):
        if not isinstance(tab.get(key), str):
            err(f"{key} must be a string", key if key in tab else None)
    for key in ("name", "title", "summary"):
        if key in tab and not isinstance(tab[key], str):
            err(f"{key} must be a string", key)
    hessian = tab.get("hessian", False)
    if not isinstance(hessian, bool):
        err("hessian must be true or false", "hessian")
    shape = tab.get("shape", [])
    if not isinstance(shape, list) or not all(isinstance(s, str) for s in shape):
        err('shape is a list of strings: shape = ["A=3,n", "s=scalar"]', "shape")
    name = tab.get("name", f"{stem}_{k + 1}")
    decl = ExpressionDeclaration(tab["expr"], tab["wrt"], tuple(shape), hessian)
    origin = f"spec file {os.path.basename(path)}"
    try:
        return expression_topic(decl, name, origin, tab.get("title", ""), tab.get("summary", ""))
    except ExpressionError as e:
        col = lines.expr_column("expr", "expression", k, e.pos + 1) if e.pos is not None else None
        err(str(e), "expr" if e.pos is not None else None, col)
