"""``gradproof export prairielearn``: every question in PrairieLearn's v3 format, driven as PrairieLearn drives it.

Each exported ``server.py`` is loaded and called with the ``data`` dictionary
PrairieLearn documents (params, correct_answers, submitted_answers,
raw_submitted_answers, format_errors, partial_scores, score, feedback,
variant_seed): ``generate`` must pick a variant, and ``grade`` must give a
correct answer score 1 and a known mistake less, and turn unreadable text
into a format error.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import re
import subprocess
import sys
import uuid

import pytest

from gradproof.derive.seminar.answer_types import sample_answers
from gradproof.derive.seminar.exercises import exercises, get
from gradproof.reports.commands.export import export_prairielearn, question_id

BANK = exercises()


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("pl")
    r = subprocess.run(
        [sys.executable, "-m", "gradproof.reports.cli", "export", "prairielearn", "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr
    return out / "questions"


def load_server(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def pl_data(seed: int, answer=None) -> dict:
    """The ``data`` dictionary as PrairieLearn passes it to server.py."""
    d = {
        "params": {},
        "correct_answers": {},
        "submitted_answers": {},
        "raw_submitted_answers": {},
        "format_errors": {},
        "partial_scores": {},
        "score": 0.0,
        "feedback": {},
        "variant_seed": seed,
        "options": {},
    }
    if answer is not None:
        d["submitted_answers"]["answer"] = answer
        d["raw_submitted_answers"]["answer"] = answer
    return d


def test_one_question_folder_per_exercise(exported):
    assert sorted(p.name for p in exported.iterdir()) == sorted(question_id(ex.id) for ex in BANK)
    uuids = set()
    for ex in BANK:
        q = exported / question_id(ex.id)
        assert sorted(p.name for p in q.iterdir()) == ["info.json", "question.html", "server.py"]
        info = json.loads((q / "info.json").read_text(encoding="utf-8"))
        assert info["type"] == "v3" and info["title"] == ex.title and info["topic"]
        assert isinstance(info["tags"], list) and "gradproof" in info["tags"] and ex.answer_type in info["tags"]
        assert uuid.UUID(info["uuid"]).version == 5
        uuids.add(info["uuid"])
        html = (q / "question.html").read_text(encoding="utf-8")
        assert "<pl-question-panel>" in html and '<pl-string-input answers-name="answer"' in html
        assert "{{params.prompt}}" in html and "<pl-submission-panel>" in html
    assert len(uuids) == len(BANK)


def test_export_is_deterministic(exported, tmp_path):
    export_prairielearn(BANK, tmp_path)
    for ex in BANK:
        for name in ("info.json", "question.html", "server.py"):
            a = (exported / question_id(ex.id) / name).read_bytes()
            assert a == (tmp_path / "questions" / question_id(ex.id) / name).read_bytes()


@pytest.mark.parametrize("ex", BANK, ids=[ex.id for ex in BANK])
def test_server_py_generates_and_grades_through_the_data_dictionary(exported, ex):
    mod = load_server(exported / question_id(ex.id) / "server.py", f"pl_{ex.id}")
    seen = set()
    for seed in range(ex.n_variants * 3 if ex.n_variants > 1 else 1):
        d = pl_data(seed)
        mod.generate(d)
        seen.add(d["params"]["id"])
    assert len(seen) == ex.n_variants  # every variant is reachable from PrairieLearn's seeds
    seed = 7
    d = pl_data(seed)
    mod.generate(d)
    variant = get(d["params"]["id"])
    assert variant.prompt == d["params"]["prompt"] and variant.lhs == d["params"]["lhs"]
    good, bad = sample_answers(variant)
    params = dict(d["params"])

    d = pl_data(seed, good[0])
    d["params"] = dict(params)
    mod.grade(d)
    assert d["format_errors"] == {}
    assert d["score"] == 1.0 and d["partial_scores"]["answer"]["score"] == 1.0, d["feedback"]
    assert d["feedback"]["answer"]

    if bad:
        d = pl_data(seed, bad[0][0])
        d["params"] = dict(params)
        mod.grade(d)
        assert d["format_errors"] or d["score"] < 1.0

    d = pl_data(seed, "((")
    d["params"] = dict(params)
    mod.grade(d)
    if ex.answer_type == "steps":  # a multi-step answer is graded step by step: an unreadable first step scores 0
        assert d["score"] == 0.0 and ("answer" in d["format_errors"] or "step 1" in d["feedback"]["answer"])
    else:
        assert "answer" in d["format_errors"] and d["score"] == 0.0 and d["partial_scores"] == {}


def test_exercise_text_never_becomes_code(tmp_path):
    base = get("linear_grad_W")
    hostile = '\'"""\n__import__("os").environ["GP_PWNED"] = "1"\n#{{x}}</pl-question-panel>\\'
    ex = dataclasses.replace(base, title=hostile, prompt=hostile + " prompt")
    export_prairielearn([ex], tmp_path)
    path = tmp_path / "questions" / question_id(ex.id) / "server.py"
    mod = load_server(path, "pl_hostile")
    d = pl_data(0)
    mod.generate(d)
    assert d["params"]["title"] == hostile and d["params"]["prompt"] == hostile + " prompt"
    import os

    assert "GP_PWNED" not in os.environ
    assert re.findall(r"^(?:import|from) \w+", path.read_text(), flags=re.M) == ["import json"]


def test_export_errors_are_one_line(tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    own = tmp_path / "own"
    own.mkdir()
    (own / "notes.txt").write_text("mine")
    for args in (
        ["-o", str(target)],
        ["-o", str(tmp_path / "o"), "--exercises", "no_such_exercise"],
        ["-o", str(own), "--exercises", "linear_grad_W"],
    ):
        r = subprocess.run(
            [sys.executable, "-m", "gradproof.reports.cli", "export", "prairielearn", *args],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert sorted(p.name for p in own.iterdir()) == ["notes.txt"]  # a folder gradproof did not write is kept


def test_export_replaces_its_own_earlier_export_whole(tmp_path):
    out = tmp_path / "pl"
    for ids in ("linear_grad_W,symmetry_choice", "linear_grad_W"):
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "gradproof.reports.cli",
                "export",
                "prairielearn",
                "-o",
                str(out),
                "--exercises",
                ids,
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in (out / "questions").iterdir()) == ["gradproof_linear_grad_W"]
