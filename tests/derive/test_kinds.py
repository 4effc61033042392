"""One place per kind, one copy of each mechanism: the kind table, the emitter,
the tree map, the exact-zero decider, the composed model oracle, the source
carried as data."""

import ast
import dataclasses
from pathlib import Path

import pytest
import sympy as sp

from gradproof.derive.engine import mexpr as mx
from gradproof.derive.engine.derivation import Claim
from gradproof.derive.engine.kinds import table
from gradproof.derive.engine.notation import K, m, n
from gradproof.derive.lecture import registry
from gradproof.derive.lecture.declare import model_symbols
from gradproof.derive.lecture.models import ModelDeclaration, build_model
from gradproof.derive.output import codegen
from gradproof.derive.output.codegen_numpy.emitter import Block, Function, ModuleSource
from gradproof.numeric import gradcheck, kinds

ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------------------
# One table of kinds, one vocabulary
# ---------------------------------------------------------------------------


def test_every_kind_has_one_unit_and_every_unit_its_parts():
    assert set(table.UNITS) == set(kinds.ALL)
    for name, unit in table.UNITS.items():
        assert name == unit.NAME and callable(unit.emit)
        if name != kinds.SOLVER:  # closed forms derive themselves; the unit only emits
            assert callable(unit.derive) and callable(unit.prove), name
    with pytest.raises(ValueError, match="unknown kind 'tensor'"):
        table.unit("tensor")


def test_gradient_checker_adapts_exactly_the_contract_kinds():
    assert tuple(gradcheck._ADAPTERS) == kinds.CONTRACT_KINDS
    with pytest.raises(ValueError, match="unknown KIND"):
        gradcheck._adapt(type("M", (), {"KIND": "tensor", "forward": None, "backward": None}), {}, {})


def test_generated_modules_name_a_kind_of_the_table():
    for d in codegen.generated_topics():
        assert d.code.kind in table.UNITS, d.topic
        assert f"KIND = {d.code.kind!r}" in codegen.generate(d)


# ---------------------------------------------------------------------------
# The structured emitter
# ---------------------------------------------------------------------------


def test_emitter_indents_by_nesting_and_lays_out_a_module():
    inner = Block("if flag:", ["x = 2", Block("for i in range(3):", ["x += i"])])
    f = Function("forward", "z, flag=True", ["Forward.", "", "More words."], ["x = 1", inner, "return x * z"])
    src = ModuleSource('"doc"\n', ["import numpy as np"], [("KIND", "'module'")], [], [f]).render()
    assert src.splitlines()[-6:] == [
        "    x = 1",
        "    if flag:",
        "        x = 2",
        "        for i in range(3):",
        "            x += i",
        "    return x * z",
    ]
    assert '    """Forward.\n\n    More words.\n    """\n' in src
    assert "import numpy as np\n\n\nKIND = 'module'\n\n\ndef forward" in src
    tree = ast.parse(src)  # the emitted source is valid Python, nested as built
    (fn,) = [x for x in tree.body if isinstance(x, ast.FunctionDef)]
    assert [type(x).__name__ for x in fn.body] == ["Expr", "Assign", "If", "Return"]
    assert [type(x).__name__ for x in fn.body[2].body] == ["Assign", "For"]


def test_guard_wraps_the_whole_body_one_level_deeper():
    f = Function("backward", "z", ["Gradient."], ["m = z.shape[0]", "return z / m"])
    lines = f.guarded(Block("with np.errstate(over='ignore'):")).render()
    assert lines[2:] == ["    with np.errstate(over='ignore'):", "        m = z.shape[0]", "        return z / m"]


# ---------------------------------------------------------------------------
# One tree map on the expression language
# ---------------------------------------------------------------------------


def _every_node():
    Z, W, D = mx.Sym("Z", (m, n)), mx.Sym("W", (n, K), role="param"), mx.Sym("Delta", (m, K))
    u, v = sp.symbols("u v")
    ZW = mx.MatMul(Z, W)
    return mx.Add(
        (
            mx.Map(u * v, ((u, ZW), (v, mx.Softmax(ZW)))),
            mx.Scale(2, mx.LogSoftmax(mx.MatMul(mx.Transpose(mx.Transpose(Z)), W))),
            mx.MatMul(mx.RowSum(mx.Map(u, ((u, D),))), mx.ColSum(ZW)),
            mx.Map(u * v, ((u, mx.MatMul(mx.Solve(mx.Identity(m), Z), W)), (v, mx.Total(Z)))),
            mx.Map(u, ((u, mx.MatMul(Z, mx.Lstsq(mx.MatMul(mx.Transpose(Z), Z), W))),)),
        )
    )


def test_substitute_reaches_every_node_type():
    e = _every_node()
    kinds_seen = {type(x).__name__ for x in e.walk()}
    assert {
        "Add",
        "Map",
        "Scale",
        "MatMul",
        "Softmax",
        "LogSoftmax",
        "RowSum",
        "ColSum",
        "Transpose",
        "Lstsq",
    } <= kinds_seen
    Q = mx.Sym("Q", (m, n))
    out = mx.substitute(e, {"Z": Q})
    names = [x.name for x in out.walk() if isinstance(x, mx.Sym)]
    assert "Z" not in names and names.count("Q") == [x.name for x in e.walk() if isinstance(x, mx.Sym)].count("Z")
    assert mx.transform(e, lambda c: c) == e  # the identity map rebuilds the same tree


def test_transform_maps_direct_children_only():
    Z, W = mx.Sym("Z", (m, n)), mx.Sym("W", (n, K))
    e = mx.MatMul(mx.Transpose(Z), W)
    seen = []
    mx.transform(e, lambda c: seen.append(c) or c)
    assert seen == [mx.Transpose(Z), W]
    solve = mx.Solve(mx.Identity(n), W)
    assert mx.transform(solve, lambda c: mx.Scale(2, c)) == mx.Solve(mx.Scale(2, mx.Identity(n)), mx.Scale(2, W))


# ---------------------------------------------------------------------------
# One exact-zero decider
# ---------------------------------------------------------------------------


def test_every_exact_comparison_asks_the_one_decider(monkeypatch):
    from gradproof.derive.lecture import stats
    from gradproof.derive.proof import zero
    from gradproof.derive.seminar import equivalence

    asked = []
    real = zero.decide_zero
    monkeypatch.setattr(zero, "decide_zero", lambda d, rng=None: asked.append(d) or real(d, rng))
    s = sp.Symbol("s", real=True)
    assert stats.is_zero(sp.tanh(s) - (sp.exp(2 * s) - 1) / (sp.exp(2 * s) + 1))
    assert not stats.is_zero(sp.tanh(s) - sp.exp(s))
    assert equivalence._zero(sp.cosh(s) ** 2 - sp.sinh(s) ** 2 - 1)
    assert not equivalence._zero(sp.cosh(s) - sp.sinh(s))
    assert len(asked) == 4


# ---------------------------------------------------------------------------
# Models: the oracle composed from the modules' declarations
# ---------------------------------------------------------------------------


def _sigmoid_squared_error(claims=()):
    decl = ModelDeclaration(
        layer="linear_neuron",
        activation="sigmoid",
        loss="squared_error",
        reduction="sum",
        output="yhat",
        output_matrix="yhat",
    )
    topic = registry.Topic(
        "sigmoid_squared_error",
        "Sigmoid neuron, squared error",
        "model",
        "models",
        99.0,
        "",
        build=build_model,
        declaration=decl,
        symbols=model_symbols(decl),
    )
    return dataclasses.replace(topic, claims=tuple(claims))


def test_a_model_the_lecture_does_not_have_is_proved_against_its_own_modules():
    # a sigmoid neuron with the squared error: no oracle was ever written for it
    d = build_model(_sigmoid_squared_error([Claim("grad:w", "dL/dw = X^T (yhat - y)")]))
    by_key = {(p.key, p.check): p for p in d.proofs}
    for key in ("forward", "loss", "grad:w"):
        assert by_key[(key, "exact: matrix form")].passed, by_key[(key, "exact: matrix form")].detail
    wrong = by_key[("claim:grad:w", "claim")]
    assert not wrong.passed and "entry" in wrong.detail  # the logistic gradient is not this model's
    assert d.result("grad:w").origin == "derived"


# ---------------------------------------------------------------------------
# Plain data between stages
# ---------------------------------------------------------------------------


def test_the_derivation_carries_its_source_and_codegen_never_asks_the_registry(monkeypatch):
    relu, model, closed = (registry.derive(t) for t in ("relu", "logistic_regression", "least_squares"))
    assert relu.source == "derive/lecture/topics_modules.py"
    assert model.source.startswith("derive/lecture/topics_modules.py (composed")
    assert closed.source == "derive/lecture/closed_forms.py"

    def no_callbacks(*a, **k):
        raise AssertionError("code generation called back into the registry")

    monkeypatch.setattr(registry, "get", no_callbacks)
    monkeypatch.setattr(registry, "derive", no_callbacks)
    assert "generated by gradproof from derive/lecture/topics_modules.py" in codegen.generate(relu)
    assert "from derive/lecture/closed_forms.py" in codegen.generate(closed)
    # every named source is a file of the checkout
    root = Path(__file__).resolve().parents[2]
    for d in (relu, model, closed):
        assert (root / d.source.split(" ")[0]).is_file(), d.source


def test_the_modules_that_broke_circles_import_no_printer_nor_registry():
    def imported(rel):
        tree = ast.parse((ROOT / rel).read_text())
        out = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                out.add(node.module)
                out.update(f"{node.module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.Import):
                out.update(a.name for a in node.names)
        return out

    for rel in ("derive/engine/mexpr.py", "derive/engine/label.py", "derive/engine/notation.py"):
        assert not any("printing" in x for x in imported(rel)), rel
    assert not any("engine.modules" in x or "kinds" in x for x in imported("derive/proof/prove.py"))
    assert not any("registry" in x for x in imported("derive/support/cache.py"))


def test_derive_and_numeric_name_the_same_kinds():
    """derive never imports numeric, so each spells the kind names; they must agree."""
    from gradproof.derive.engine.kinds import table

    assert sorted(table.ALL) == sorted(kinds.ALL)
    for name in kinds.ALL:
        assert name == table.unit(name).NAME
