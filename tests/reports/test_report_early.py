"""The whole lecture's SymPy-free report-level jobs start in a worker forked before the registry loads."""

from __future__ import annotations

import subprocess
import sys

from gradproof.reports import build, incremental


def test_the_early_jobs_import_neither_sympy_nor_the_registry():
    code = (
        "import sys\n"
        "from gradproof.reports import build\n"
        "for task, key in build.EARLY_JOBS:\n"
        "    build._job(task, key)\n"
        "bad = [m for m in ('sympy', 'gradproof.derive.lecture.registry') if m in sys.modules]\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def _figures(report):
    return [(f.name, f.title, f.caption, f.svg, f.pdf) for f in report.figures]


def _records(report):
    return [(r.topic, r.check, r.passed) for r in report.experiment_records]


def test_a_report_with_early_jobs_is_the_report_without(monkeypatch, tmp_path):
    monkeypatch.setenv("GRADPROOF_NO_CACHE", "1")
    early = build.start_early(incremental.Keys())
    assert early is not None and early.tasks == set(build.EARLY_JOBS)
    with_early = build.build_report(["relu"], figures=True, jobs=2, early=early)
    assert early.pool is None or early.pool._shutdown_thread  # taken over and shut down
    spans = [s.label for s in with_early.timeline.spans]
    assert "experiment training" in spans and "networks" in spans and "activations" in spans
    plain = build.build_report(["relu"], figures=True, jobs=2)
    assert _figures(with_early) == _figures(plain) and len(_figures(plain)) >= 3
    assert _records(with_early) == _records(plain) and _records(plain)
    assert with_early.companion_figure == plain.companion_figure is not None
    assert [s.views for s in with_early.sections] == [s.views for s in plain.sections]


def test_early_jobs_of_a_report_without_figures_are_stopped(monkeypatch):
    monkeypatch.setenv("GRADPROOF_NO_CACHE", "1")
    early = build.start_early(incremental.Keys())
    procs = list(early.pool._processes.values())
    report = build.build_report(["relu"], figures=False, jobs=1, early=early)
    assert not report.figures and not report.experiment_records and report.companion_figure is None
    for p in procs:
        p.join(10)
        assert not p.is_alive()


def test_with_every_early_part_stored_no_worker_is_forked(monkeypatch):
    stored = {name: object() for name in ("init", "training", "regularisation", "networks", "activations")}
    monkeypatch.setattr(build, "_stored_sources", lambda parts: stored)
    early = build.start_early(incremental.Keys())
    assert early.pool is None and early.tasks == set() and early.sources is stored
    stored.pop("networks")
    early = build.start_early(incremental.Keys())
    assert early.tasks == {("networks", None)}
    early.stop()
    assert early.pool is None
