"""Editing the lecture's own source, then ``gradproof report`` with the cache of the run before.

A copy of the package is edited the way a lecturer edits it (a title, a
claim, a statement shared by a file's topics, a module that several topics
use) and the report runs as a user runs it, in fresh processes.  Each
incremental run must produce exactly what a cold run (``--no-cache``) of the
same source produces, file by file, and build only what the edit changed:
the topics guessed before the registry loads go to a worker at once
(``reports/build.py``, :func:`gradproof.reports.build.start_early`); a wrong
guess (a deleted or corrupted part) is found once the registry has loaded,
and that part built then.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gradproof.derive.support import cache
from gradproof.reports import incremental
from gradproof.reports.document import TopicSection
from gradproof.reports.writing import latex_engine

TOPICS = ["relu", "relu_properties", "sigmoid", "glorot"]
FORMATS = "html,latex,pdf" if latex_engine()[0] else "html,latex"
GLOROT_TITLE = 'title="Glorot initialisation: Var(w) = 2/(n_in + n_out)"'
GLOROT_CLAIM = 'Claim("var_w", "Var(w) = 2/(n_in + n_out)")'
RELU_TITLE = '    "relu",\n    "Rectified linear unit",\n'
EARLY = "the topics looked up, the verifier loaded"
SPAN = re.compile(r"^(parent|worker \d+)\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+(.*)$", re.M)


class Lab:
    """A copy of the package with a cache folder of its own; edits are made and undone in the copy."""

    def __init__(self, base: Path):
        self.base, self.cache = base, base / "cache"
        self.pkg = base / "src" / "gradproof"
        self.pkg.mkdir(parents=True)
        src = incremental.root()
        for name in ("derive", "numeric", "reports", "templates"):
            shutil.copytree(src / name, self.pkg / name, ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy2(src / "__init__.py", self.pkg / "__init__.py")
        self.runs = 0
        self.cold: dict[str, tuple] = {}

    def source(self) -> str:
        """A digest of the copy's source as it stands (its .py files' paths and bytes)."""
        h = hashlib.sha256()
        for p in sorted(p for p in self.pkg.rglob("*.py") if "__pycache__" not in p.parts):
            h.update(p.relative_to(self.pkg).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
        return h.hexdigest()

    def edit(self, rel: str, old: str, new: str) -> bytes:
        path = self.pkg / rel
        before = path.read_bytes()
        assert before.decode().count(old) == 1, f"{old!r} not found once in {rel}"
        path.write_bytes(before.decode().replace(old, new).encode())
        return before

    def undo(self, rel: str, before: bytes) -> None:
        (self.pkg / rel).write_bytes(before)

    def report(self, *extra: str) -> tuple[int, dict[str, bytes], str]:
        """One ``gradproof report`` of :data:`TOPICS`: exit status, the output folder's files, stderr."""
        self.runs += 1
        out = self.base / f"out-{self.runs}"
        env = dict(os.environ, PYTHONPATH=str(self.pkg.parent), GRADPROOF_CACHE_DIR=str(self.cache))
        env.update(GRADPROOF_JOBS="2", GRADPROOF_TIMINGS="1")  # two workers: the early one is used
        env.pop("GRADPROOF_NO_CACHE", None)
        cmd = [sys.executable, "-m", "gradproof.reports.cli", "report", *TOPICS, "-o", str(out), "--format", FORMATS]
        proc = subprocess.run([*cmd, *extra], env=env, cwd=self.base, capture_output=True, text=True, timeout=600)
        files = {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.is_file() and not p.name.startswith(".")}
        return proc.returncode, files, proc.stderr

    def fragment_entry(self, topic: str) -> Path:
        """The stored fragment of ``topic`` (found by reading the entries back)."""
        store = cache.Cache(self.cache)
        for path in store.entries():
            obj = store.get(path.name.removesuffix(cache.SUFFIX))
            if isinstance(obj, TopicSection) and obj.name == topic:
                return path
        raise AssertionError(f"no stored fragment of {topic}")


def built(stderr: str) -> dict[str, str]:
    """The topics a run built, each with the process that built it (from its --timings spans)."""
    return {label.split()[1]: lane for lane, label in SPAN.findall(stderr) if label.startswith("topic ")}


def early(stderr: str) -> bool:
    return any(lane != "parent" and label.strip() == EARLY for lane, label in SPAN.findall(stderr))


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    lab = Lab(tmp_path_factory.mktemp("edits"))
    code, files, err = lab.report()
    assert code == 0, err
    assert set(built(err)) >= set(TOPICS)
    return lab


def same_as_cold(lab: Lab, incremental_run, code: int = 0) -> None:
    got_code, got, err = incremental_run
    source = lab.source()
    if source not in lab.cold:  # one cold run per state of the source
        lab.cold[source] = lab.report("--no-cache")
    cold_code, cold, cold_err = lab.cold[source]
    assert (got_code, cold_code) == (code, code), err + cold_err
    assert {"index.html", "report.tex"} <= set(cold)
    assert got.keys() == cold.keys()
    assert [f for f in cold if got[f] != cold[f]] == [], "the incremental run differs from a cold run of the edit"


def test_an_edited_title_is_built_by_the_early_worker_alone(lab):
    before = lab.edit("derive/lecture/topics_stats.py", GLOROT_TITLE, GLOROT_TITLE[:-1] + ' (edited)"')
    try:
        run = lab.report()
        code, files, err = run
        assert code == 0, err
        assert "(edited)" in files["index.html"].decode()
        assert early(err), "the edited topic was not handed to a worker before the registry loaded"
        assert list(built(err)) == ["glorot"] and built(err)["glorot"] != "parent"
        same_as_cold(lab, run)
        # a deleted part: guessed missing, built early too
        lab.fragment_entry("sigmoid").unlink()
        run = lab.report()
        assert early(run[2]) and set(built(run[2])) == {"sigmoid"}, run[2]
        same_as_cold(lab, run)
        # a corrupted part is guessed present (only its entry's presence is looked at): found
        # not authentic once the registry has loaded, and built then
        entry = lab.fragment_entry("relu")
        data = bytearray(entry.read_bytes())
        data[len(data) // 2] ^= 0x01
        entry.write_bytes(bytes(data))
        run = lab.report()
        assert set(built(run[2])) == {"relu"} and not early(run[2]), run[2]
        same_as_cold(lab, run)
    finally:
        lab.undo("derive/lecture/topics_stats.py", before)


def test_an_edit_in_a_file_declaring_several_topics_rebuilds_its_dependants(lab):
    before = lab.edit("derive/lecture/topics_modules.py", RELU_TITLE, RELU_TITLE.replace("unit", "unit (edited)"))
    try:
        run = lab.report()
        assert early(run[2]) and set(built(run[2])) == {"relu", "relu_properties"}, run[2]
        same_as_cold(lab, run)
    finally:
        lab.undo("derive/lecture/topics_modules.py", before)


def test_an_edit_shared_by_a_files_topics_rebuilds_every_topic(lab):
    # a comment between statements belongs to every topic's key
    text = (lab.pkg / "derive/lecture/topics_modules.py").read_text()
    first = next(line for line in text.splitlines(keepends=True) if line.startswith("from gradproof"))
    before = lab.edit("derive/lecture/topics_modules.py", first, first + "# an edited shared part\n")
    try:
        run = lab.report()
        assert set(built(run[2])) == set(TOPICS), run[2]
        same_as_cold(lab, run)
    finally:
        lab.undo("derive/lecture/topics_modules.py", before)


def test_an_edit_to_a_module_several_topics_use_rebuilds_them(lab):
    rel = "derive/lecture/init_variance.py"
    text = (lab.pkg / rel).read_text()
    first = next(line for line in text.splitlines(keepends=True) if line.startswith("from __future__"))
    before = lab.edit(rel, first, first + "# an edited module\n")
    try:
        run = lab.report()
        assert set(built(run[2])) == set(TOPICS), run[2]
        same_as_cold(lab, run)
    finally:
        lab.undo(rel, before)


def test_an_edit_that_breaks_a_claim_fails_that_topic_as_a_cold_run_does(lab):
    wrong = GLOROT_CLAIM.replace("2/(n_in", "3/(n_in")
    before = lab.edit("derive/lecture/topics_stats.py", GLOROT_CLAIM, wrong)
    try:
        run = lab.report()
        code, files, err = run
        assert code == 1 and "VERIFICATION FAILED" in err and "FAIL glorot" in err, err
        assert early(err) and list(built(err)) == ["glorot"], err
        same_as_cold(lab, run, code=1)
        assert lab.report()[0] == 1, "a failed topic was stored as if it had passed"
    finally:
        lab.undo("derive/lecture/topics_stats.py", before)


# -- The guess and the early worker, in this process ------------------------------------------------


def _edited_texts(texts: dict[str, str], old: str, new: str) -> dict[str, str]:
    (name,) = [n for n, text in texts.items() if old in text]
    return dict(texts, **{name: texts[name].replace(old, new)})


def test_the_guess_names_the_topics_an_edit_rebuilds(tmp_path, monkeypatch):
    from gradproof.derive.lecture import registry

    monkeypatch.setenv("GRADPROOF_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("GRADPROOF_NO_CACHE", raising=False)
    assert incremental.predict_builds() is None, "nothing remembered yet: no guess"
    parts = incremental.Keys()
    for topic in registry.topics():
        if topic.category != "user":
            parts.save(parts.fragment(topic), "present")  # the guess looks at presence only
    assert incremental.predict_builds() == []
    assert incremental.remembered_topics()["glorot"] == "init"
    texts = incremental.declaration_texts()
    edited = _edited_texts(texts, GLOROT_TITLE, GLOROT_TITLE[:-1] + ' (edited)"')
    monkeypatch.setattr(incremental, "declaration_texts", lambda: edited)
    assert incremental.predict_builds() == ["glorot"]
    assert incremental.predict_builds(["relu", "glorot", "not_a_topic"]) == ["glorot"]
    assert incremental.predict_builds(["relu"]) == []
    edited = _edited_texts(texts, RELU_TITLE, RELU_TITLE.replace("unit", "unit (edited)"))
    monkeypatch.setattr(incremental, "declaration_texts", lambda: edited)
    assert set(incremental.predict_builds()) == {"relu", "relu_properties"}
    monkeypatch.setenv("GRADPROOF_NO_CACHE", "1")
    assert incremental.predict_builds() is None, "--no-cache reads nothing, not even to guess"


def test_few_guessed_topics_go_early_and_many_do_not(monkeypatch):
    from gradproof.reports import build

    monkeypatch.setenv("GRADPROOF_JOBS", "2")
    assert build.early_topics(["glorot"]) == ("glorot",)
    assert build.early_topics(["relu"] * 100) == ()
    maps = {"map_a": "map", "map_b": "map"}  # a category's estimate stands in for a topic not listed by name
    assert build.early_topics(["map_a"], maps) == ("map_a",) and build.early_topics(["map_a", "map_b"], maps) == ()
    monkeypatch.setenv("GRADPROOF_JOBS", "1")
    assert build.early_topics(["glorot"]) == (), "one worker: the topics are built in the main process"


def _lanes(report) -> dict[str, str]:
    return {s.label.split()[1]: s.lane for s in report.timeline.spans if s.label.startswith("topic ")}


def test_a_report_with_early_topics_is_the_report_without(monkeypatch):
    from gradproof.reports import build

    monkeypatch.setenv("GRADPROOF_NO_CACHE", "1")
    early = build.start_early(incremental.Keys(), ("glorot", "not_a_topic"), figures=False)
    with_early = build.build_report(["relu", "glorot"], figures=False, jobs=2, early=early)
    labels = [(s.lane, s.label) for s in with_early.timeline.spans]
    worker = next(lane for lane, label in labels if label == EARLY)
    assert _lanes(with_early)["glorot"] == worker
    assert _lanes(with_early)["relu"] != worker, "relu was not guessed: built by a worker forked later"
    plain = build.build_report(["relu", "glorot"], figures=False, jobs=2)
    assert [s.name for s in with_early.sections] == ["relu", "glorot"]
    assert [s.views for s in with_early.sections] == [s.views for s in plain.sections]
    assert [s.records for s in with_early.sections] == [s.records for s in plain.sections]


def test_a_topic_built_early_but_stored_after_all_is_read_back(tmp_path, monkeypatch):
    from dataclasses import replace

    from gradproof.reports import build

    monkeypatch.setenv("GRADPROOF_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("GRADPROOF_NO_CACHE", raising=False)
    first = build.build_report(["relu"], figures=False, jobs=1)
    parts = incremental.Keys()
    assert first.passed
    key = parts.fragment(build.select_topics(["relu"])[0])
    stored = cache.load_entry(key)
    planted = replace(stored, views=dict(stored.views, html=dict(stored.views["html"], title="PLANTED")))
    cache.store_entry(key, planted)  # what the run must show: the stored part, not the worker's
    early = build.start_early(parts, ("relu",), figures=False)
    report = build.build_report(["relu"], figures=False, jobs=2, parts=parts, early=early)
    assert report.sections[0].views["html"]["title"] == "PLANTED"
    assert parts.written == [] and key in parts.read
