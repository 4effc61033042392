"""Looking up one topic imports only the declaration files that declare what it needs, with the same result."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from gradproof.derive.lecture import registry
from gradproof.derive.output.render import derivation_text

LAZY = """
import json, sys
from gradproof.derive.lecture import registry
from gradproof.derive.output.render import derivation_text
name = sys.argv[1]
try:
    topic = registry.get(name)
except registry.UnknownTopic as err:
    print(json.dumps({"error": str(err), "loaded": registry._LOADED}))
    raise SystemExit(0)
imported = sorted(m.rsplit(".", 1)[1] for m in registry._IMPORTED)
fields = [topic.name, topic.title, topic.category, topic.order, topic.source]
text = derivation_text(registry.derive(name))
print(json.dumps({"imported": imported, "loaded": registry._LOADED, "fields": fields, "text": text}))
"""


def _lazy(name: str, monkeypatch) -> dict:
    monkeypatch.setenv("GRADPROOF_NO_CACHE", "1")
    out = subprocess.run([sys.executable, "-c", LAZY, name], capture_output=True, text=True, check=True).stdout
    return json.loads(out)


@pytest.mark.parametrize("name", ["glorot", "sigmoid", "mlp_backprop"])
def test_one_topic_looked_up_alone_is_the_topic_of_the_whole_registry(name, monkeypatch):
    got = _lazy(name, monkeypatch)
    registry.topics()  # this process: every declaration
    topic = registry.get(name)
    assert got["fields"] == [topic.name, topic.title, topic.category, topic.order, topic.source]
    with monkeypatch.context() as m:
        m.setenv("GRADPROOF_NO_CACHE", "1")
        assert got["text"] == derivation_text(registry.derive(name))
    assert not got["loaded"]  # not every declaration file was imported ...
    assert len(got["imported"]) < len(registry._DECLARATION_MODULES)  # ... only what it needed


def test_an_unknown_name_still_suggests_from_every_topic(monkeypatch):
    got = _lazy("glorott", monkeypatch)
    assert got["loaded"] and "unknown topic 'glorott'" in got["error"] and "glorot" in got["error"]


PRINT_RESULTS = """
import json, sys
import gradproof
d = gradproof.derive(sys.argv[1])
print(json.dumps([[r.key, str(r.matrix), str(r.index)] for r in d.results]))
"""


@pytest.mark.parametrize("name", ["softmax_cross_entropy", "sigmoid"])
def test_a_result_read_from_the_disk_cache_prints_as_a_fresh_one(name, tmp_path, monkeypatch):
    """str() of a result's matrix goes through the text printer even when no declaration file imported it."""
    monkeypatch.delenv("GRADPROOF_NO_CACHE", raising=False)
    monkeypatch.setenv("GRADPROOF_CACHE_DIR", str(tmp_path / "cache"))

    def run() -> list:
        out = subprocess.run([sys.executable, "-c", PRINT_RESULTS, name], capture_output=True, text=True, check=True)
        return json.loads(out.stdout)

    fresh, cached = run(), run()
    assert any((tmp_path / "cache").rglob("*")), "the first run stored nothing"
    assert cached == fresh
    assert not any("Map(expr=" in m or "Sym(" in m for _, m, _ in cached), cached
