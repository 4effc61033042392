"""Mutation testing of the gradient checker: plant faults, show each is caught.

A checker that never fails proves nothing.  This layer takes a module's
*source text*, plants one fault at a time in its ``backward`` function (and
the helpers only it calls) by
transforming the syntax tree, loads each mutant as a fresh module and runs
the gradient checker on it.  Operators (the typical slips of a hand
derivation):

* ``sign flip``        -- ``a + b`` <-> ``a - b``, a returned message negated;
* ``transpose``        -- a ``.T`` dropped, or added to a matrix-product operand;
* ``factor 2``         -- a constant 2 dropped (the squared error's 2);
* ``divisor``          -- a division by a non-constant (the ``1/m``) dropped;
* ``index/axis``       -- ``axis=0`` <-> ``axis=1``, ``shape[0]`` <-> ``shape[1]``;
* ``wrong function``   -- a call of one of the table's smooth functions replaced
  by another (``np.cosh`` for ``np.sinh``; the list is generated from
  ``derive/lecture/functions.py`` into ``numeric/_functions.py``).

A mutant whose backward messages equal the original's on random inputs is
*equivalent* (e.g. the sign of the shift in a shifted softmax): it plants no
fault, and is reported as such rather than counted.  Every other mutant must
be caught; an uncaught one is a failing record.

>>> src = '''
... import numpy as np
... TOPIC, KIND, PARAMS, HYPER, KINKS, ANALYTIC = "mse_demo", "loss", (), {}, (), True
... def forward(z, y):
...     return float(((z - y) ** 2).sum() / z.shape[0])
... def backward(z, y):
...     return 2 * (z - y) / z.shape[0]
... '''
>>> recs = mutation_records(src)
>>> recs[0].check, recs[1].check
('mutation: original passes', 'mutation: sign flip at line 7: 2 * (z - y) / z.shape[0] -> -(2 * (z - y) / z.shape[0])')
>>> sorted({r.check.split(": ")[1].split(" at ")[0] for r in recs[1:]})
['divisor', 'factor 2', 'index/axis', 'sign flip']
>>> all(r.passed for r in recs)
True
"""

from __future__ import annotations

import ast
import math
import types
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gradproof.numeric import gradcheck
from gradproof.numeric.gradcheck import CheckRecord

__all__ = ["OPERATORS", "Mutant", "load_source", "mutants", "mutation_records"]

OPERATORS = ("sign flip", "transpose", "factor 2", "divisor", "index/axis", "wrong function")


def _swaps() -> dict:
    """The wrong-function slips, from the function table (``numeric/_functions.py``)."""
    try:
        from gradproof.numeric._functions import MUTATION_SWAPS
    except ImportError:  # pragma: no cover -- the file is committed with the generated code
        return {}
    return dict(MUTATION_SWAPS)


@dataclass(frozen=True)
class Mutant:
    """One planted fault: which operator, where, and the mutated source."""

    operator: str
    description: str
    source: str


def load_source(source: str, name: str = "mutant") -> types.ModuleType:
    """Execute module source text as a fresh module object (not registered in ``sys.modules``)."""
    mod = types.ModuleType(name)
    exec(compile(source, f"<{name}>", "exec"), mod.__dict__)
    return mod


def _backward(tree: ast.Module) -> ast.FunctionDef:
    for n in tree.body:
        if isinstance(n, ast.FunctionDef) and n.name == "backward":
            return n
    raise ValueError("the source has no top-level backward function")


def _targets(tree: ast.Module) -> list[ast.FunctionDef]:
    """``backward`` and the module's helper functions that only the backward pass calls.

    A helper that ``forward`` also calls (``_log_softmax``) is left alone: a
    fault in it changes both sides alike and a gradient check rightly sees
    nothing wrong.
    """
    funcs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}

    def calls(fn):
        return {c.func.id for c in ast.walk(fn) if isinstance(c, ast.Call) and isinstance(c.func, ast.Name)}

    back = _backward(tree)
    used_by_forward = calls(funcs["forward"]) if "forward" in funcs else set()
    helpers = [
        funcs[name]
        for name in sorted(calls(back))
        if name in funcs and name not in used_by_forward and name not in ("forward", "backward")
    ]
    return [back] + helpers


def _returned_messages(fn: ast.FunctionDef) -> list[ast.AST]:
    """The expressions of the backward messages: tuple elements, dict values, or the plain return."""
    out = []
    for r in ast.walk(fn):
        if not isinstance(r, ast.Return) or r.value is None:
            continue
        v = r.value
        parts = v.elts if isinstance(v, ast.Tuple) else [v]
        for p in parts:
            if isinstance(p, ast.Dict):
                out.extend(p.values)
            else:
                out.append(p)
    return out


def _matmul_operands(fn) -> set[int]:
    ids = set()
    for n in ast.walk(fn):
        if isinstance(n, ast.BinOp) and isinstance(n.op, ast.MatMult):
            for side in (n.left, n.right):
                if isinstance(side, ast.Name):
                    ids.add(id(side))
    return ids


def _sites(fn: ast.FunctionDef):
    """(operator, node, replacement-builder) for every applicable site, in a fixed order."""
    messages = {id(m) for m in _returned_messages(fn)}
    matmul = _matmul_operands(fn)
    swaps = _swaps()
    sites = []
    for node in ast.walk(fn):
        if isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords and ast.unparse(node.func) in swaps:
            other = ast.parse(swaps[ast.unparse(node.func)], mode="eval").body
            sites.append(("wrong function", node, lambda n, other=other: ast.Call(other, n.args, [])))
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
            flip = ast.Sub() if isinstance(node.op, ast.Add) else ast.Add()
            sites.append(("sign flip", node, lambda n, flip=flip: ast.BinOp(n.left, flip, n.right)))
        if id(node) in messages and not (isinstance(node, ast.Name) and node.id == "None"):
            sites.append(("sign flip", node, lambda n: ast.UnaryOp(ast.USub(), n)))
        if isinstance(node, ast.Attribute) and node.attr == "T":
            sites.append(("transpose", node, lambda n: n.value))
        if id(node) in matmul:
            sites.append(("transpose", node, lambda n: ast.Attribute(n, "T", ast.Load())))
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
            for side in ("left", "right"):
                c = getattr(node, side)
                if isinstance(c, ast.Constant) and c.value in (2, 2.0):
                    other = node.right if side == "left" else node.left
                    sites.append(("factor 2", node, lambda n, other=other: other))
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div) and not isinstance(node.right, ast.Constant):
            sites.append(("divisor", node, lambda n: n.left))
        if isinstance(node, ast.keyword) and node.arg == "axis" and isinstance(node.value, (ast.Constant, ast.UnaryOp)):
            val = ast.literal_eval(node.value)
            if isinstance(val, int):
                new = 0 if val in (1, -1) else 1
                sites.append(("index/axis", node, lambda n, new=new: ast.keyword("axis", ast.Constant(new))))
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "shape"
            and isinstance(node.slice, ast.Constant)
            and node.slice.value in (0, 1, -1)
        ):
            new = 1 if node.slice.value == 0 else 0
            sites.append(("index/axis", node, lambda n, new=new: ast.Subscript(n.value, ast.Constant(new), ast.Load())))
    return sites


def _replace(root: ast.AST, target: ast.AST, new: ast.AST) -> None:
    for parent in ast.walk(root):
        for fname, value in ast.iter_fields(parent):
            if value is target:
                setattr(parent, fname, new)
                return
            if isinstance(value, list):
                for i, item in enumerate(value):
                    if item is target:
                        value[i] = new
                        return
    raise AssertionError("site not found")  # pragma: no cover -- sites come from the same tree


def mutants(source: str, operators=OPERATORS) -> list[Mutant]:
    """Every single-fault mutant of the ``backward`` function of ``source``.

    Each fault is planted in the parsed tree, the function holding it printed,
    and the fault taken out again; the mutant's text is the module's text with
    that one function replaced, so nothing else is copied or printed again.

    >>> src = "def backward(delta, z, W):\\n    return delta @ W.T, {'W': z.T @ delta}\\n"
    >>> [m.description for m in mutants(src, operators=('transpose',))][:2]
    ['transpose at line 2: delta -> delta.T', 'transpose at line 2: W.T -> W']
    """
    base = ast.parse(source)
    text = ast.unparse(base)
    out, seen = [], set()
    for fn in _targets(base):
        original = ast.unparse(fn)
        spliced = text.count(original) == 1
        for op, node, build in _sites(fn):
            if op not in operators:
                continue
            before = ast.unparse(node)
            new = build(node)
            after = ast.unparse(new)
            _replace(fn, node, new)
            try:
                if spliced:
                    mutated = text.replace(original, ast.unparse(fn), 1)
                else:  # the function's text occurs twice: print the whole module
                    mutated = ast.unparse(base)
            finally:
                _replace(fn, new, node)  # the next site sees the unmutated function
            if mutated in seen:
                continue
            seen.add(mutated)
            out.append(Mutant(op, f"{op} at line {node.lineno}: {before} -> {after}", mutated))
    return out


def _messages(module, inputs, rng) -> list[np.ndarray]:
    """The backward messages of ``module`` for a random cotangent (for the equivalence test)."""
    hyper = dict(getattr(module, "HYPER", {}) or {})
    f, vjp, args, wrt, _ = gradcheck._adapt(module, inputs, hyper)
    out = np.asarray(f(**args))
    v = rng.standard_normal(out.shape) if out.shape else np.float64(rng.standard_normal())
    g = vjp(v, **args)
    return [np.asarray(g[k], dtype=np.float64) for k in wrt]


def _equivalent(original, mutant, inputs_list) -> bool:
    for s, inputs in enumerate(inputs_list):
        a = _messages(original, inputs, np.random.default_rng(s))
        b = _messages(mutant, inputs, np.random.default_rng(s))
        if len(a) != len(b) or any(
            x.shape != y.shape or not np.allclose(x, y, rtol=1e-12, atol=1e-14) for x, y in zip(a, b)
        ):
            return False
    return True


def mutation_records(
    source: str,
    *,
    topic: str | None = None,
    check: Callable | None = None,
    sizes=None,
    seed: int = 0,
    operators=OPERATORS,
) -> list[CheckRecord]:
    """Plant every fault in ``source`` and report, per mutant, whether the checker caught it.

    ``check(module) -> list[CheckRecord]`` defaults to
    :func:`gradproof.numeric.gradcheck.check_module` with central differences and the
    directional check, run cheapest first: one random direction (the first of
    the directional check's seeds, so a fault it sees the full check sees
    too), and the full check only when that one passes.  The first record
    says whether the unmutated module passes (if it does not, the mutants
    prove nothing).  A mutant record passes when the checker *caught* the
    fault (or the mutant is equivalent to the original); its
    ``max_rel_error`` is the largest error the checks that ran saw.
    """
    original = load_source(source, "original")
    topic = topic or getattr(original, "TOPIC", "module")
    if check is None:

        def check(mod):
            kw = dict(topic=topic, sizes=sizes, seed=seed)
            first = gradcheck.check_module(mod, methods=("directional",), seeds=1, **kw)
            if not gradcheck.all_passed(first):
                return first  # caught by two forward calls and one backward call
            return gradcheck.check_module(mod, methods=("central", "directional"), **kw)

    base = check(original)
    tol = max((r.tolerance for r in base), default=0.0)
    ok = gradcheck.all_passed(base)
    records = [
        CheckRecord(
            topic,
            "mutation: original passes",
            max((r.max_rel_error for r in base), default=0.0),
            tol,
            ok,
            ""
            if ok
            else f"{topic}: the unmutated module fails its check, "
            "so the mutants prove nothing: " + "; ".join(r.detail for r in base if not r.passed),
        )
    ]
    probe = [
        gradcheck.sample_inputs(original, sizes=sizes, rng=np.random.default_rng([seed, 1000 + k])) for k in range(2)
    ]
    for m in mutants(source, operators):
        name = f"mutation: {m.description}"
        try:
            mod = load_source(m.source, f"mutant of {topic}")
        except Exception as e:
            records.append(CheckRecord(topic, name, math.inf, tol, True, f"caught: does not load ({e})"))
            continue
        try:
            if _equivalent(original, mod, probe):
                records.append(
                    CheckRecord(
                        topic,
                        name,
                        0.0,
                        tol,
                        True,
                        "equivalent mutant: same messages as the original, no fault planted",
                    )
                )
                continue
        except Exception:
            pass
        recs = check(mod)
        failed = [r for r in recs if not r.passed]
        worst = max((r.max_rel_error for r in recs), default=0.0)
        if failed:
            detail = f"caught by {failed[0].check}: {failed[0].detail}"
        else:
            detail = f"{topic}: NOT caught: {m.description} (largest relative error {worst:.3g})"
        records.append(CheckRecord(topic, name, worst, tol, bool(failed), detail))
    return records
