"""How the report's work is shared out: every job once, longest first, nothing computed twice, views unchanged."""

from __future__ import annotations

import inspect

import pytest

from gradproof.derive.lecture import registry
from gradproof.reports import build


def _flat(plan) -> list[str]:
    out = []
    for task, key, _ in plan:
        out += list(key) if task == "topics" else list(key[1]) if task == "source+topics" else []
    return out


def test_the_plan_holds_every_job_once_longest_first():
    from gradproof.reports.plots import SOURCES

    topics = registry.topics()
    plan = build._plan(topics, {}, True, 2)
    names = _flat(plan)
    # each built-in topic exactly once (a user topic another test registered is derived in the main process)
    assert sorted(names) == sorted(t.name for t in topics if t.category != "user")
    costs = [cost for _, _, cost in plan]
    assert costs == sorted(costs, reverse=True) and all(c > 0 for c in costs)
    sources = [k for task, k, _ in plan if task == "source"] + [k[0] for task, k, _ in plan if task == "source+topics"]
    assert sorted(sources) == sorted(SOURCES)
    assert {task for task, _, _ in plan} >= {"topics", "activations", "networks"}
    # a topic's bundle holds the topics its derivation derives, before it: derived once, where it is used
    for task, key, _ in plan:
        bundle = key if task == "topics" else key[1] if task == "source+topics" else ()
        for k, name in enumerate(bundle):
            used = set(registry._uses(registry.get(name)))
            assert used <= set(bundle[:k]), (name, bundle)


def test_the_init_experiment_and_xavier_share_a_job():
    plan = build._plan(registry.topics(), {}, True, 2)
    (shared,) = [key for task, key, _ in plan if task == "source+topics"]
    assert shared[0] == "init" and "xavier" in shared[1]
    # without the figure (stored, or a report of named topics) xavier is an ordinary bundle
    alone = [(task, key) for task, key, _ in build._plan([registry.get("xavier")], {"init": {}}, True, 2)]
    assert ("topics", ("xavier",)) in alone and ("source", "training") in alone
    assert not [key for task, key in alone if task == "source+topics" or key == "init"]


def test_stored_parts_and_one_job_keep_topics_out_of_the_workers():
    assert _flat(build._plan(registry.topics(), {}, True, 1)) == []  # one job: topics are built in this process
    stored = {"training": {}, "init": {}, "regularisation": {}, "activations": object(), "networks": []}
    plan = build._plan([registry.get("relu")], stored, True, 2)
    assert plan == [("topics", ("relu",), build._topic_cost(registry.get("relu")))]
    assert build._plan([], {}, False, 2) == []


def test_a_bundle_derives_each_of_its_topics_once(monkeypatch):
    from gradproof.derive.support import cache

    built = []
    real = cache.fetch
    monkeypatch.setattr(cache, "fetch", lambda topic, build_: built.append(topic.name) or real(topic, build_))
    monkeypatch.setattr(registry, "_CACHE", {})
    monkeypatch.setattr(build, "_verifier", lambda: None)  # the exact layer only: this test is about deriving
    bundle = ("relu", "leaky_relu", "relu_properties")  # relu_properties derives relu and leaky_relu
    assert set(registry._uses(registry.get("relu_properties"))) == {"relu", "leaky_relu"}
    with cache.disabled():
        sections, spans = build._topics_job(bundle)
    assert sorted(built) == sorted(bundle)  # each once, although relu_properties uses the other two
    assert [s.name for s in sections] == list(bundle)
    assert all(s.views is not None and s.derivation is None and s.passed for s in sections)
    assert [s.label for s in spans] == [f"topic {n}" for n in bundle]
    assert all(dict(s.parts).keys() == {"derive", "verify", "render views"} and s.end >= s.start for s in spans)


def test_equal_experiment_runs_are_shared_within_a_job(monkeypatch):
    from gradproof.numeric import experiments

    calls = []

    def fake(*, layers: int = 10, units: int = 500, samples: int = 1000, seed: int = 0, modules=None) -> dict:
        calls.append((layers, units, samples, seed))
        return {"layers": layers, "runs": {"a": [1.0, 2.0]}}

    monkeypatch.setattr(experiments, "initialisation_experiment", fake)
    with build._runs_shared():
        a = experiments.initialisation_experiment(samples=500)
        b = experiments.initialisation_experiment(layers=10, units=500, samples=500, seed=0)
        assert calls == [(10, 500, 500, 0)] and a == b
        a["runs"]["a"].append(3.0)  # each caller has its own copy
        assert b["runs"]["a"] == [1.0, 2.0]
        experiments.initialisation_experiment(samples=200)  # another setting: another run
        assert calls == [(10, 500, 500, 0), (10, 500, 200, 0)]
    assert experiments.initialisation_experiment is fake
    experiments.initialisation_experiment(samples=500)  # outside the block nothing is shared
    assert len(calls) == 3


def test_the_figure_and_xavier_call_the_experiment_with_the_settings_that_are_shared():
    """Guards the sharing: if the two settings drift apart, the experiment silently runs twice."""
    from gradproof.numeric import experiments
    from gradproof.reports import errata, plots

    signature = inspect.signature(experiments.initialisation_experiment)
    seen = []

    def spy(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        seen.append(dict(bound.arguments))
        raise _Stop

    class _Stop(Exception):
        pass

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(experiments, "initialisation_experiment", spy)
        with pytest.raises(_Stop):
            plots.SOURCES["init"][1]()
        with pytest.raises(_Stop):
            experiments.initialisation_experiment(**errata.SETTINGS)
    assert len(seen) == 2 and seen[0] == seen[1]


@pytest.mark.parametrize("name", ["softmax_cross_entropy", "xavier", "ridge"])
def test_views_printed_once_are_the_views_printed_each_time(name, monkeypatch):
    from gradproof.derive.output import mathml
    from gradproof.reports import companion, render_html, render_latex

    monkeypatch.setattr(build, "_verifier", lambda: None)
    sec = build.build_section(registry.get(name))
    reused = build.rendered(sec).views
    mathml.latex_to_mathml.cache_clear()
    plain = {
        "html": render_html.section_view(sec),
        "latex": render_latex.section_view(sec),
        "facts": companion.facts(sec),
    }
    assert repr(reused) == repr(plain)
    assert reused["html"]["steps"] and reused["latex"]["results"]


def test_module_code_is_lexed_once_and_highlighted_as_pygments_does():
    from pygments import highlight
    from pygments.lexers import PythonLexer

    from gradproof.reports import highlight as hl
    from gradproof.reports import render_html, render_latex

    source = build.generated_code_path("softmax").read_text(encoding="utf-8")
    hl.python_tokens.cache_clear()
    assert str(render_html.highlight_python(source)) == highlight(source, PythonLexer(), render_html._code_formatter())
    assert render_latex.highlight_python(source) == highlight(source, PythonLexer(), render_latex._code_formatter())
    info = hl.python_tokens.cache_info()
    assert (info.misses, info.hits) == (1, 1)


def test_the_timeline_counts_idle_time_and_stages():
    from gradproof.reports.timings import Span, Timeline

    tl = Timeline(origin=0.0)
    tl.add(Span("parent", "registry", 0.0, 1.0, 0.9))
    tl.add(Span("worker 11", "topic a", 1.0, 4.0, 2.8, (("derive", 2.0), ("verify", 0.8))))
    tl.add(Span("worker 12", "experiment init", 1.5, 3.0, 1.5))
    tl.add(Span("worker 12", "topic b", 3.0, 3.5, 0.5, (("derive", 0.5),)))
    assert tl.lanes() == {"parent": "parent", "worker 11": "worker 1", "worker 12": "worker 2"}
    assert tl.idle() == {"worker 1": 0.0, "worker 2": 1.0}  # from the first job's start to the last job's end
    assert tl.stages() == {"derive": 2.5, "verify": 0.8}
    rows = tl.chart(width=8).splitlines()
    assert rows == ["parent    ##......", "worker 1  ..######", "worker 2  ...####."]
    text = tl.text()
    assert "topic a (derive 2.00, verify 0.80)" in text and "worker 2 1.00 s" in text


def test_workers_run_blas_single_threaded_when_numpy_loads_after_the_fork():
    import subprocess
    import sys

    pytest.importorskip("threadpoolctl")
    code = "\n".join(
        [
            "import sys",
            "from threadpoolctl import threadpool_info",
            "from gradproof.reports import build",
            "assert 'numpy' not in sys.modules",
            "pool = build._pool(1)",
            "pool.submit(exec, 'import numpy').result()",
            "print(sorted({i['num_threads'] for i in pool.submit(threadpool_info).result() if i['user_api'] == 'blas'}))",
            "pool.shutdown()",
        ]
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[1]"
