"""The incremental report: stored parts are reused, found when corrupt, and change nothing.

Every run here goes through ``gradproof report`` as a user runs it (in this
process, with its own cache folder), over two built-in topics and a module
of the user's own, and the output folders are compared file by file.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from gradproof.derive.support import cache
from gradproof.reports import incremental
from gradproof.reports.cli import main
from gradproof.reports.writing import latex_engine

SPEC = """\
name = "cubic_unit"
title = "Cubic unit"
category = "activation"
summary = "f(s) = s^3 / 3 + s, a smooth activation of our own."
forward = "s**3 / 3 + s"
"""
EDITED = SPEC.replace("a smooth activation of our own", "a smooth activation, edited")
TOPICS = ["relu", "sigmoid"]
FORMATS = "html,latex,pdf" if latex_engine()[0] else "html,latex"


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file() and not p.name.startswith(".")}


def entries(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in Cache(folder).entries()}


def Cache(folder):
    return cache.Cache(folder)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Cold (``--no-cache``), into an empty cache, rerun, edited spec (incremental and cold), reverted spec."""
    base = tmp_path_factory.mktemp("incremental")
    folder = base / "cache"
    spec = base / "cubic.toml"
    mp = pytest.MonkeyPatch()
    mp.setenv("GRADPROOF_CACHE_DIR", str(folder))
    mp.delenv("GRADPROOF_NO_CACHE", raising=False)
    out = {}

    def report(name, *extra):
        args = ["report", *TOPICS, "--spec", str(spec), "-o", str(base / name), "--format", FORMATS, *extra]
        assert main(args) == 0
        out[name] = files_of(base / name)
        out[name + " entries"] = entries(folder)

    try:
        spec.write_text(SPEC)
        report("cold", "--no-cache")
        report("first")
        report("rerun")
        spec.write_text(EDITED)
        report("edited")
        report("edited cold", "--no-cache")
        spec.write_text(SPEC)
        report("reverted")
    finally:
        mp.undo()
    out["base"], out["folder"], out["spec"] = base, folder, spec
    yield out
    from gradproof.derive.lecture.registry import remove_user_topic

    remove_user_topic("cubic_unit")  # the runs registered it in this process: other tests list the registry


def test_no_cache_neither_reads_nor_writes(runs):
    assert runs["cold entries"] == {}, "a --no-cache run wrote into the cache folder"


def test_cold_and_incremental_runs_are_byte_identical(runs):
    cold = runs["cold"]
    assert {"index.html", "report.tex"} <= set(cold)
    if "pdf" in FORMATS:
        assert {"report.pdf", "report.log"} <= set(cold)
    for name in ("first", "rerun", "reverted"):
        assert runs[name].keys() == cold.keys(), name
        for f in cold:
            assert runs[name][f] == cold[f], f"{f} differs between the cold run and the {name} run"


def test_an_incremental_run_after_an_edit_equals_a_cold_run_of_the_edit(runs):
    edited, cold = runs["edited"], runs["edited cold"]
    assert edited.keys() == cold.keys()
    for f in cold:
        assert edited[f] == cold[f], f"{f} differs between the incremental and the cold run of the edited spec"


def test_an_unchanged_rerun_stores_nothing_new(runs):
    assert runs["first entries"], "the first cached run stored nothing"
    assert runs["rerun entries"] == runs["first entries"]


def test_an_edited_spec_changes_its_topic_only(runs):
    cold, edited = runs["cold"], runs["edited"]
    html = edited["index.html"].decode()
    assert "a smooth activation, edited" in html and "a smooth activation, edited" not in cold["index.html"].decode()
    assert runs["edited cold entries"] == runs["edited entries"], "a --no-cache run changed the cache folder"
    new = set(runs["edited entries"]) - set(runs["rerun entries"])
    # the user's derivation, its fragment, the output folder, and the PDF of the changed .tex
    assert 2 <= len(new) <= 4 + ("pdf" in FORMATS), sorted(new)


def test_editing_one_spec_rebuilds_one_fragment(runs, monkeypatch):
    """In the library: the edited topic is the only part built; the others are read back."""
    from gradproof.reports.build import build_report, select_topics
    from gradproof.reports.commands.topics import load_specs

    monkeypatch.setenv("GRADPROOF_CACHE_DIR", str(runs["folder"]))
    runs["spec"].write_text(EDITED.replace("edited", "edited twice"))
    try:
        user = [t.name for t in load_specs([str(runs["spec"])])]
        parts = incremental.Keys()
        report = build_report(TOPICS + user, parts=parts, jobs=1)
        keys = {t.name: parts.fragment(t) for t in select_topics(TOPICS + user)}
    finally:
        runs["spec"].write_text(SPEC)
        from gradproof.derive.lecture.registry import remove_user_topic

        remove_user_topic("cubic_unit")
    assert report.passed
    built = set(parts.written)
    assert built == {keys["cubic_unit"]}, "only the edited topic's fragment is new"
    assert {keys["relu"], keys["sigmoid"]} <= set(parts.read)


def test_a_corrupted_fragment_is_detected_and_rebuilt(runs, monkeypatch):
    from gradproof.reports.build import select_topics

    monkeypatch.setenv("GRADPROOF_CACHE_DIR", str(runs["folder"]))
    key = incremental.Keys().fragment(select_topics(["relu"])[0])
    entry = runs["folder"] / (key + cache.SUFFIX)
    good = entry.read_bytes()
    bad = bytearray(good)
    bad[len(bad) // 2] ^= 0x01
    entry.write_bytes(bytes(bad))
    assert cache.load_entry(key) is None, "a flipped byte must fail authentication"
    out = runs["base"] / "after-corruption"
    args = ["report", *TOPICS, "--spec", str(runs["spec"]), "-o", str(out), "--format", FORMATS]
    assert main(args) == 0
    assert files_of(out) == runs["cold"], "the rebuilt report differs from the cold one"
    assert entry.read_bytes() != bytes(bad) and cache.load_entry(key) is not None, "the fragment was not rebuilt"


def test_a_stored_part_is_what_the_report_shows(runs, monkeypatch, tmp_path):
    """The store is really read (a planted, authentic fragment shows) and --no-cache really ignores it."""
    from dataclasses import replace

    from gradproof.reports.build import select_topics

    monkeypatch.setenv("GRADPROOF_CACHE_DIR", str(runs["folder"]))
    topic = select_topics(["sigmoid"])[0]
    key = incremental.Keys().fragment(topic)
    sec = cache.load_entry(key)
    views = dict(sec.views, html=dict(sec.views["html"], title="PLANTED TITLE"))
    cache.store_entry(key, replace(sec, views=views))
    try:
        args = ["report", "sigmoid", "-o", str(tmp_path / "a"), "--format", "html"]
        assert main(args) == 0
        assert "PLANTED TITLE" in (tmp_path / "a" / "index.html").read_text()
        assert main(["report", "sigmoid", "-o", str(tmp_path / "b"), "--format", "html", "--no-cache"]) == 0
        assert "PLANTED TITLE" not in (tmp_path / "b" / "index.html").read_text()
    finally:
        cache.store_entry(key, sec)


# -- Which declaration statements decide which topic -------------------------------------------------

TOY = '''\
"""Toy declarations."""
import sympy as sp

SHARED = 1

module("toy_a", "A", forward="s")
module("toy_b", "B", forward="2 * s")
model("toy_c", layer="toy_a")
'''


def test_the_pieces_of_a_declaration_file_are_the_whole_file():
    root = incremental.root()
    for path in sorted(root.glob(incremental.DECLARATIONS)):
        text = path.read_text(encoding="utf-8")
        names = {n.value for n in ast.walk(ast.parse(text)) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
        owned, shared = incremental.declaration_parts({"f": text}, names)
        # a piece owned by several topics is the same string in each owner's list
        pieces = {id(p): p for p in shared + [p for ps in owned.values() for p in ps]}
        assert sum(len(p.encode()) - 2 for p in pieces.values()) == len(text.encode()), path.name


def test_editing_one_declaration_changes_its_key_and_its_dependants_only():
    names = ["toy_a", "toy_b", "toy_c"]
    base = incremental.topic_digests(names, {"t.py": TOY})
    assert len(set(base.values())) == 3
    b_edited = incremental.topic_digests(names, {"t.py": TOY.replace('"2 * s"', '"3 * s"')})
    assert [b_edited[n] == base[n] for n in names] == [True, False, True]
    a_edited = incremental.topic_digests(names, {"t.py": TOY.replace('forward="s"', 'forward="s + 1"')})
    assert [a_edited[n] == base[n] for n in names] == [False, True, False], "toy_c names toy_a"
    shared_edited = incremental.topic_digests(names, {"t.py": TOY.replace("SHARED = 1", "SHARED = 2")})
    assert all(shared_edited[n] != base[n] for n in names)


def test_a_statement_that_binds_a_name_is_shared():
    text = 'A = module("toy_a")\n(B := module("toy_b"))\nmodule("toy_c")\n'
    owned, shared = incremental.declaration_parts({"t.py": text}, {"toy_a", "toy_b", "toy_c"})
    assert owned["toy_a"] == [] and owned["toy_b"] == [] and len(owned["toy_c"]) == 1
    assert sum("module(" in p for p in shared) == 2


# -- Topics that code derives: a dependency of the topics that run that code, not of everyone --------


def _lecture():
    from gradproof.derive.lecture import registry

    names = [t.name for t in registry.topics() if t.category != "user"]
    root = incremental.root()
    texts = {
        p.relative_to(root).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(root.glob(incremental.DECLARATIONS))
    }
    return names, texts


def _edit_own_statement(texts, names, topic):
    """``texts`` with the statement that declares ``topic`` alone changed (its name literal parenthesised)."""
    owned, _ = incremental.declaration_parts(texts, names)
    others = {p for n in names if n != topic for p in owned[n]}
    piece = next(p for p in owned[topic] if p not in others and f'"{topic}"' in p)
    fname, body = piece.split("\0", 1)
    assert texts[fname].count(body) == 1
    edited = body.replace(f'"{topic}"', f'("{topic}")', 1)
    return dict(texts, **{fname: texts[fname].replace(body, edited)})


def _rebuilt(names, texts, topic):
    base = incremental.topic_digests(names, texts)
    after = incremental.topic_digests(names, _edit_own_statement(texts, names, topic))
    return {n for n in names if after[n] != base[n]}


def test_no_topic_is_every_topics_dependency():
    names, texts = _lecture()
    everyone, uses = incremental.code_uses(names, texts)
    derived_by_proofs = {
        "relu",
        "leaky_relu",
        "affine",
        "tanh",
        "softmax_cross_entropy",
        "sigmoid",
        "linear",
        "softmax",
    }
    assert not everyone & derived_by_proofs, f"code that every topic may run names {sorted(everyone)}"
    assert {"relu", "leaky_relu"} <= uses["relu_properties"]
    assert {"affine", "tanh", "softmax_cross_entropy"} <= uses["mlp_backprop"]
    assert "glorot" not in {u for us in uses.values() for u in us}


@pytest.mark.parametrize(
    "topic, rebuilt",
    [
        ("relu", {"relu", "relu_properties"}),  # relu_properties' proof derives relu
        ("leaky_relu", {"leaky_relu", "relu_properties"}),
        ("affine", {"affine", "bias_trick", "mlp_backprop"}),  # bias_trick's claims name affine
        ("softmax_cross_entropy", {"softmax_cross_entropy", "mlp_backprop", "fused_gradients", "sigmoid_bce"}),
        ("glorot", {"glorot"}),
        ("mlp_backprop", {"mlp_backprop"}),
    ],
)
def test_editing_one_declaration_rebuilds_exactly_its_dependants(topic, rebuilt):
    names, texts = _lecture()
    assert _rebuilt(names, texts, topic) == rebuilt


def test_every_topic_a_derivation_looks_up_is_in_its_key(monkeypatch):
    """A stale part is never used: each topic's page, built afresh, looks up only topics whose edit changes its key."""
    from gradproof.derive.lecture import registry
    from gradproof.reports.build import build_section, rendered

    names, texts = _lecture()
    monkeypatch.setenv("GRADPROOF_NO_CACHE", "1")
    looked_up: set[str] = set()
    real_get, real_topics = registry.get, registry.topics

    def get(name):
        looked_up.add(name)
        return real_get(name)

    def topics(category=None):
        looked_up.add("every topic")
        return real_topics(category)

    memo = dict(registry._CACHE)
    monkeypatch.setattr(registry, "get", get)
    monkeypatch.setattr(registry, "topics", topics)
    uses = {}
    try:
        for name in names:
            registry._CACHE.clear()  # derive afresh: a memoised derivation hides what it looks up
            looked_up.clear()
            sec = rendered(build_section(real_get(name)))
            assert not sec.error, sec.error
            uses[name] = looked_up - {name}
    finally:
        registry._CACHE.clear()
        registry._CACHE.update(memo)
    assert all("every topic" not in u for u in uses.values())
    assert uses["relu_properties"] == {"relu", "leaky_relu"}, "the trace must see the lookups it checks"
    rebuilt = {u: _rebuilt(names, texts, u) for u in set().union(*uses.values())}
    missed = [(n, u) for n, us in uses.items() for u in sorted(us) if n not in rebuilt[u]]
    assert missed == [], "editing these topics would leave a stale part: (topic, what it looks up)"
