"""The report's keys: the shortcuts taken in computing them decide exactly what the long way decides."""

from __future__ import annotations

import ast
import re
from importlib import metadata
from pathlib import Path

import pytest

from gradproof.derive.lecture import registry
from gradproof.reports import incremental


def _distributions_the_long_way() -> str:
    """gradproof's requirements and the digits extra's, transitively, read through ``importlib.metadata``."""
    installed = {}
    for dist in metadata.distributions():
        installed.setdefault(incremental._canonical(dist.metadata["Name"] or ""), dist)
    seen, todo = {}, ["gradproof"]
    while todo:
        name = todo.pop()
        if name in seen or name not in installed:
            continue
        seen[name] = installed[name].version
        for req in installed[name].requires or ():
            marker = req.partition(";")[2]
            if "extra" in marker and not (name == "gradproof" and '"digits"' in marker.replace("'", '"')):
                continue
            todo.append(incremental._canonical(re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", req).group(0)))
    return "\n".join(f"{n}=={v}" for n, v in sorted(seen.items()))


def test_distributions_read_from_the_headers_are_importlib_metadatas():
    if incremental._installed("gradproof") is None:
        pytest.skip("gradproof is not installed here: the site listing stands in")
    assert incremental._distributions() == _distributions_the_long_way()


def test_metadata_headers_folded_and_blank_continuations(tmp_path):
    folder = tmp_path / "demo_pkg-1.2.dist-info"
    folder.mkdir()
    (folder / "METADATA").write_text(
        "Metadata-Version: 2.1\n"
        "Name: demo-pkg\n"
        "Version: 1.2\n"
        "License: first line\n"
        "        \n"  # a whitespace-only continuation, not the end of the headers
        "        second paragraph\n"
        "Requires-Dist: numpy>=1.20\n"
        "requires-dist: sympy ; extra == 'symbolic'\n"
        "\n"
        "Requires-Dist: not-a-header (the description)\n",
        encoding="utf-8",
    )
    ours, theirs = incremental._Dist(folder), metadata.PathDistribution(folder)
    assert ours.version == theirs.version == "1.2"
    assert [r.split(";")[0].strip() for r in ours.requires] == [r.split(";")[0].strip() for r in theirs.requires]
    assert len(ours.requires) == 2


def _walked(tree):
    """The three statement-level facts, found by walking every node."""
    kinds = (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    docs = {
        id(n.body[0].value)
        for n in ast.walk(tree)
        if isinstance(n, kinds)
        and n.body
        and isinstance(n.body[0], ast.Expr)
        and isinstance(n.body[0].value, ast.Constant)
    }
    imports = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
    return docs, sorted(id(n) for n in imports)


def test_statement_walk_finds_what_a_full_walk_finds():
    base = incremental.root()
    files = sorted((base / "derive").rglob("*.py")) + sorted((base / "reports").rglob("*.py"))
    files.append(Path(ast.__file__))  # the standard library's own: every kind of statement nesting
    sample = "try:\n    pass\nexcept E:\n    import a\nmatch x:\n    case 1:\n        import b\n"
    trees = [ast.parse(p.read_text(encoding="utf-8")) for p in files] + [ast.parse(sample)]
    for tree in trees:
        docs, imports = _walked(tree)
        found = sorted(id(n) for n in incremental._statements(tree) if isinstance(n, (ast.Import, ast.ImportFrom)))
        assert incremental._docstrings(tree) == docs
        assert found == imports
    assert len(_walked(trees[-1])[1]) == 2


def test_no_fragment_is_looked_up_before_the_code_chains_are_stored(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADPROOF_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("GRADPROOF_NO_CACHE", raising=False)
    monkeypatch.setattr(incremental, "_CHAINS", {})
    names = [t.name for t in registry.topics() if t.category != "user"]
    assert not incremental.fragments_may_be_stored(names)
    keys = incremental.Keys()
    assert not keys.builtin_fragments_stored()
    assert keys.fragment(registry.get("relu")) is not None  # computes, and stores, the chains
    monkeypatch.setattr(incremental, "_CHAINS", {})  # a new process: only the stored entry tells
    assert incremental.fragments_may_be_stored(names)
    monkeypatch.setenv("GRADPROOF_NO_CACHE", "1")
    assert not incremental.fragments_may_be_stored(names)
