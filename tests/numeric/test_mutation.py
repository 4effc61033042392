"""The mutation layer: planted faults in generated source are all caught."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import contract_modules as cm
import numpy as np
import pytest

import gradproof.numeric.generated
from gradproof.numeric import gradcheck, mutation

# every generated file with forward/backward messages (closed-form solvers have none)
GENERATED = sorted(
    m.name
    for m in pkgutil.iter_modules(gradproof.numeric.generated.__path__)
    if not m.name.startswith("_")
    and getattr(importlib.import_module("gradproof.numeric.generated." + m.name), "KIND", "")
    in gradcheck.CONTRACT_KINDS
)


def _source(topic):
    return inspect.getsource(importlib.import_module("gradproof.numeric.generated." + topic))


@pytest.mark.parametrize("topic", GENERATED, ids=GENERATED)
def test_every_mutant_of_every_generated_module_is_caught(topic):
    recs = mutation.mutation_records(_source(topic))
    assert recs[0].check == "mutation: original passes" and recs[0].passed, recs[0].detail
    planted = [r for r in recs[1:] if "equivalent" not in r.detail]
    uncaught = [r.detail for r in planted if not r.passed]
    assert not uncaught, uncaught
    assert all(r.check.startswith("mutation: ") for r in recs)


def test_the_operators_the_lecture_slips_are_made_of_all_occur():
    ops = set()
    for topic in ("affine", "mse_multi", "softmax_cross_entropy", "linear", "tanh"):
        ops |= {m.operator for m in mutation.mutants(_source(topic))}
    assert ops == set(mutation.OPERATORS)


def _find(recs, operator, change):
    hits = [r for r in recs if r.check.startswith(f"mutation: {operator} at line ") and r.check.endswith(change)]
    assert len(hits) == 1, [r.check for r in recs]
    return hits[0]


def test_named_faults_are_planted_and_caught():
    recs = mutation.mutation_records(_source("affine"))
    # dropped transpose in delta_in = Delta W^T
    r = _find(recs, "transpose", ": W.T -> W")
    assert r.passed and r.detail.startswith("caught by ")
    # wrong axis in the bias gradient
    axis = [r for r in recs if "index/axis" in r.check]
    assert axis and all(r.passed for r in axis)
    recs = mutation.mutation_records(_source("mse_multi"))
    assert _find(recs, "factor 2", ": 2 * (z - y) -> z - y").passed
    assert _find(recs, "divisor", ": 2 * (z - y) / m -> 2 * (z - y)").passed


def test_an_uncaught_mutant_is_a_failing_record():
    # a checker that cannot fail catches nothing: every non-equivalent mutant must then fail
    def blind(mod):
        return [gradcheck.CheckRecord("x", "blind", 0.0, 1e-6, True)]

    recs = mutation.mutation_records(cm.source("affine"), check=blind)
    planted = [r for r in recs[1:] if "equivalent" not in r.detail]
    assert planted and not any(r.passed for r in planted)
    assert all("NOT caught" in r.detail for r in planted)


def test_equivalent_mutants_are_recognised_not_counted_as_faults():
    # the sign of the shift in a shifted softmax does not matter
    recs = mutation.mutation_records(cm.source("softmax"))
    eq = [r for r in recs if "equivalent" in r.detail]
    assert [r.check for r in eq] == [
        "mutation: sign flip at line 7: z - z.max(axis=1, keepdims=True) -> z + z.max(axis=1, keepdims=True)"
    ]


def test_a_broken_original_is_reported():
    src = cm.source("tanh").replace("1 - t * t", "1 - t")
    recs = mutation.mutation_records(src)
    assert not recs[0].passed and "prove nothing" in recs[0].detail


def test_mutants_load_as_independent_modules():
    ms = mutation.mutants(_source("tanh"))
    mods = [mutation.load_source(m.source) for m in ms]
    z = np.random.default_rng(0).standard_normal((2, 3))
    outs = [mod.backward(np.ones_like(z), z)[0] for mod in mods]
    assert any(not np.allclose(outs[0], o) for o in outs[1:])  # each mutant its own module, its own fault
    import gradproof.numeric.generated.tanh as original

    assert np.allclose(original.backward(np.ones_like(z), z)[0], 1 - np.tanh(z) ** 2)  # untouched


@pytest.mark.parametrize("topic", GENERATED, ids=GENERATED)
def test_the_quick_direction_first_decides_as_the_full_check(topic):
    """One direction first, the full check only when it passes: the same verdict on every mutant."""
    src = _source(topic)
    sizes = {"m": 16} if "np.where(" in src else None

    def full(mod):
        return gradcheck.check_module(mod, topic=topic, sizes=sizes, methods=("central", "directional"))

    quick = mutation.mutation_records(src, topic=topic, sizes=sizes)
    slow = mutation.mutation_records(src, topic=topic, sizes=sizes, check=full)
    assert [(r.check, r.passed) for r in quick] == [(r.check, r.passed) for r in slow]
    for q, s in zip(quick, slow):
        if "caught by directional (1 seed)" in q.detail:
            assert "caught by " in s.detail and q.max_rel_error > q.tolerance
        else:  # the full check ran: the same record
            assert q == s


def _mutants_by_copying(source, operators=mutation.OPERATORS):
    """The plain construction: copy the whole tree per site, plant, print the whole module."""
    import ast
    import copy

    base = ast.parse(source)
    n_sites = sum(len(mutation._sites(fn)) for fn in mutation._targets(base))
    out, seen = [], set()
    for k in range(n_sites):
        tree = copy.deepcopy(base)
        op, node, build = [s for fn in mutation._targets(tree) for s in mutation._sites(fn)][k]
        if op not in operators:
            continue
        before, new = ast.unparse(node), build(node)
        after = ast.unparse(new)
        mutation._replace(tree, node, new)
        text = ast.unparse(tree)
        if text not in seen:
            seen.add(text)
            out.append(mutation.Mutant(op, f"{op} at line {node.lineno}: {before} -> {after}", text))
    return out


@pytest.mark.parametrize("topic", GENERATED, ids=GENERATED)
def test_planting_in_place_gives_the_mutants_of_the_plain_construction(topic):
    src = _source(topic)
    assert mutation.mutants(src) == _mutants_by_copying(src)
    assert mutation.mutants(src) == mutation.mutants(src)  # the tree is left as it was found


def test_a_function_whose_text_occurs_twice_is_mutated_once():
    # the module's docstring quotes backward word for word: only the function itself may change
    body = "def backward(z, y):\n    return 2 * (z - y)"
    src = f'"""{body}"""\n\n{body}\n\n\ndef forward(z, y):\n    return 0.0\n'
    ms = mutation.mutants(src)
    assert ms and ms == _mutants_by_copying(src)
    assert all(m.source.count(body) == 1 for m in ms)  # the docstring's copy, untouched
