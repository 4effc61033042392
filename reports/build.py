"""Report building: from the registry to one plain :class:`Report` object.

The builder derives every topic (in the lecture's order), collects its
verification records and its generated NumPy code, and gathers the
report-level figures.  Renderers (:mod:`gradproof.reports.render_html`,
:mod:`gradproof.reports.render_latex`) only read the result;
:func:`gradproof.reports.writing.write_report` writes the files atomically
and compiles the PDF.

The report's data classes live in :mod:`gradproof.reports.document`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from gradproof.reports.document import Record, Report, TopicSection

# ---------------------------------------------------------------------------
# Collecting
# ---------------------------------------------------------------------------


def _record(obj) -> Record:
    get = obj.get if isinstance(obj, dict) else (lambda k, d=None: getattr(obj, k, d))
    err, tol = get("max_rel_error"), get("tolerance")
    return Record(
        topic=str(get("topic")),
        check=str(get("check")),
        max_rel_error=None if err is None else float(err),
        tolerance=None if tol is None else float(tol),
        passed=bool(get("passed")),
        detail=str(get("detail", "") or ""),
    )


def _verifier() -> Callable[[str], list] | None:
    """The library verifier when it is installed; exact proofs only otherwise."""
    try:
        from gradproof.reports.verify import verify_topic
    except ModuleNotFoundError as err:
        if err.name != "gradproof.reports.verify":
            raise
        return None
    return verify_topic


def records_from_proofs(derivation) -> list[Record]:
    """The exact layer as records: what the derivation itself proved."""
    return [
        Record(derivation.topic, f"exact: {p.key} — {p.check} at {p.sizes}", None, None, p.passed, p.detail)
        for p in derivation.proofs
    ]


def generated_code_path(name: str) -> Path:
    """Where code generation writes (and commits) a topic's NumPy module."""
    import gradproof.numeric.generated

    return Path(gradproof.numeric.generated.__file__).resolve().parent / f"{name}.py"


def build_section(topic, verify: Callable[[str], list] | None = None, timings: dict | None = None) -> TopicSection:
    """Derive and verify one topic; an exception becomes a failed section.

    ``timings`` (optional) accumulates seconds under ``derive`` and ``verify``.
    """
    from gradproof.derive.lecture.registry import derive

    timings = {} if timings is None else timings
    t0 = time.perf_counter()
    try:
        d = derive(topic)
        if topic.category != "user":
            from gradproof.reports.errata import attach

            d = attach(d)  # where the lecture is wrong or imprecise, with the evidence
    except Exception as err:  # the report must say which topic broke, not crash
        return TopicSection(
            topic.name,
            topic.title,
            topic.category,
            topic.section,
            error=f"derivation failed: {type(err).__name__}: {err}",
        )
    finally:
        timings["derive"] = timings.get("derive", 0.0) + time.perf_counter() - t0
    t0 = time.perf_counter()
    try:
        records = [_record(r) for r in verify(topic.name)] if verify else records_from_proofs(d)
    except Exception as err:
        return TopicSection(
            topic.name,
            topic.title,
            topic.category,
            topic.section,
            derivation=d,
            records=tuple(records_from_proofs(d)),
            error=f"verification failed to run: {type(err).__name__}: {err}",
        )
    finally:
        timings["verify"] = timings.get("verify", 0.0) + time.perf_counter() - t0
    path = generated_code_path(topic.name)
    code = path.read_text(encoding="utf-8") if path.is_file() else None
    code_path = f"numeric/generated/{topic.name}.py" if code is not None else ""
    if code is None and d.extra.get("numpy_source"):  # a user's expression: the module `diff --format numpy` prints
        code, code_path = d.extra["numpy_source"], f"{topic.name}.py (gradproof diff --format numpy)"
    return TopicSection(
        topic.name,
        topic.title,
        topic.category,
        topic.section,
        derivation=d,
        records=tuple(records),
        code=code,
        code_path=code_path,
    )


def rendered(sec: TopicSection) -> TopicSection:
    """``sec`` with its HTML and LaTeX views computed and the derivation dropped.

    Run where the derivation lives (a worker process): SymPy expressions do
    not survive pickling unchanged, the views' strings do.
    """
    from dataclasses import replace

    from gradproof.reports import companion, render_html, render_latex

    return replace(
        sec,
        views={
            "html": render_html.section_view(sec),
            "latex": render_latex.section_view(sec),
            "facts": companion.facts(sec),
        },
        exact_failed=sec.exact_failures(),
        derivation=None,
    )


def _section_job(name: str) -> tuple[TopicSection, dict]:
    """Worker side: derive, verify and render one registry topic to plain data."""
    from gradproof.derive.lecture import registry

    timings: dict = {}
    sec = build_section(registry.get(name), _verifier(), timings)
    t0 = time.perf_counter()
    sec = rendered(sec)
    timings["render views"] = time.perf_counter() - t0
    return sec, timings


_LIMITS = []


def _worker_init(parent_pid: int | None = None) -> None:
    """Worker start-up: die with the parent, ignore Ctrl-C, one BLAS thread.

    NOTE: OpenBLAS threads busy-wait; with two of them per worker next to
    another busy worker on two cores, the numeric experiments took about
    three times longer than single-threaded.  threadpoolctl comes with
    scikit-learn (the digits extra); without it the workers keep the default.
    """
    from gradproof.derive.support.lifetime import die_with_parent

    die_with_parent(parent_pid)
    try:
        from threadpoolctl import threadpool_limits

        _LIMITS.append(threadpool_limits(limits=1))
    except Exception:
        pass


# rough relative cost of deriving and verifying a topic, by category (scheduling only)
_COST = {"model": 5, "closed_form": 5, "mle": 3, "map": 3, "init": 3, "identity": 2, "fused": 2}


def default_jobs() -> int:
    """Worker processes for the report: ``$GRADPROOF_JOBS``, else the number of CPUs."""
    env = os.environ.get("GRADPROOF_JOBS", "").strip()
    if env.isdigit() and int(env) > 0:
        return int(env)
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def select_topics(names: list[str] | None = None) -> list:
    """Registry topics in the lecture's order, or the named ones (validated)."""
    from gradproof.derive.lecture import registry

    if not names:
        return registry.topics()
    chosen = {n: registry.get(n) for n in dict.fromkeys(names)}  # raises UnknownTopic
    order = {t.name: k for k, t in enumerate(registry.topics())}
    return sorted(chosen.values(), key=lambda t: order.get(t.name, len(order)))


def build_report(
    names: list[str] | None = None,
    progress=None,
    figures: bool | None = None,
    jobs: int | None = None,
    parts=None,
) -> Report:
    """Derive, verify and collect every selected topic, plus the report-level parts.

    The report-level parts (the experiments' figures, the composed networks'
    checks) belong to the whole lecture: by default they are built only when
    no topic is named.  With ``jobs > 1`` (default: :func:`default_jobs`)
    the experiments and the built-in topics run in that many worker
    processes, longest first; user topics (registered in this process only)
    are derived here.  ``progress`` is a :class:`gradproof.reports.console.Bar`
    (or ``None``); it advances once per topic and once for the figures.

    Every part whose key (:mod:`gradproof.reports.incremental`) finds an
    authentic stored copy is read back instead of built; what is built is
    stored.  ``parts`` is that run's :class:`~gradproof.reports.incremental.Keys`
    (made here when not given); under ``--no-cache`` nothing is read or written.
    """
    from gradproof.reports import incremental

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    selected = select_topics(names)  # unknown names raise before any work starts
    timings["registry"] = time.perf_counter() - t0
    if figures is None:
        figures = not names
    jobs = default_jobs() if jobs is None else max(1, int(jobs))
    parts = incremental.Keys() if parts is None else parts
    t0 = time.perf_counter()
    stored = _stored_sections(selected, parts)
    sources = _stored_sources(parts) if figures else {}
    timings["stored parts"] = time.perf_counter() - t0
    missing = [k for k in _source_names() if k not in sources and k != "networks"] if figures else []  # in workers
    pooled = [t for t in selected if t.category != "user" and t.name not in stored] if jobs > 1 else []
    pool = _pool(jobs if pooled else 1) if pooled or missing else None
    try:
        from gradproof.derive.support.lifetime import signals_deferred

        started, futures = {}, {}
        with signals_deferred():  # the workers are forked here; a signal lands after the fork
            if missing:
                from gradproof.reports import plots

                started = plots.start_sources(pool, [k for k in missing if k in plots.SOURCES])
                if "activations" in missing:
                    started["activations"] = pool.submit(plots.activation_figure)
            # costly kinds first, so that the workers finish together
            costly = sorted(pooled, key=lambda t: -_COST.get(t.category, 1))
            futures = {t.name: pool.submit(_section_job, t.name) for t in costly}
        sections = _collect_sections(selected, stored, futures, parts, progress, timings)
        report = Report(sections=sections, timings=timings)
        if figures:
            _report_level(report, sources, started, parts, progress, timings)
    except BaseException:
        if pool is not None:
            _kill_pool(pool)
            pool = None
        raise
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
    return report


def _pool(workers: int):
    """Worker processes, forked where the platform can.

    Fork: the workers start with the registry and SymPy already imported
    (spawn would re-import them, and re-run an unguarded __main__ script).
    All workers are forked at the first submit, before the pool starts its
    own thread.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    methods = multiprocessing.get_all_start_methods()
    return ProcessPoolExecutor(
        max_workers=workers,
        initializer=_worker_init,
        initargs=(os.getpid(),),
        mp_context=multiprocessing.get_context("fork" if "fork" in methods else "spawn"),
    )


def _is_fragment_of(name: str):
    return lambda sec: sec.name == name and sec.views is not None


def _stored_sections(selected, parts) -> dict[str, TopicSection]:
    """The topics whose fragment is stored and authentic, by name."""
    out = {}
    for topic in selected:
        sec = parts.load(parts.fragment(topic), TopicSection, _is_fragment_of(topic.name))
        if sec is not None:
            out[topic.name] = sec
    return out


def _collect_sections(selected, stored, futures, parts, progress, timings) -> list[TopicSection]:
    """Every section in the lecture's order: read back, from a worker, or built here; new ones stored."""
    verify = _verifier()
    sections = []
    t0 = time.perf_counter()
    for topic in selected:
        if progress:
            progress.note(topic.name)
        if topic.name in stored:
            sec = stored[topic.name]
        else:
            if topic.name in futures:
                sec, worker_times = futures[topic.name].result()
                for k, v in worker_times.items():
                    timings[k + " (workers)"] = timings.get(k + " (workers)", 0.0) + v
            else:
                sec = build_section(topic, verify, timings)
                t1 = time.perf_counter()
                sec = rendered(sec)
                timings["render views"] = timings.get("render views", 0.0) + time.perf_counter() - t1
            if not sec.error:  # a failure to run may be passing trouble: built afresh next time
                parts.save(parts.fragment(topic), sec)
        sections.append(sec)
        if progress:
            progress.advance(topic.name)
    timings["topics (wall)"] = time.perf_counter() - t0
    return sections


def _source_names() -> tuple[str, ...]:
    from gradproof.reports.plots import SOURCES

    return (*SOURCES, "networks", "activations")


def _stored_sources(parts) -> dict:
    """The report-level parts stored and authentic: experiment outcomes, the networks' records, the activation plot."""
    from gradproof.reports.document import Figure

    kinds = {"networks": list, "activations": Figure}
    out = {}
    for name in _source_names():
        obj = parts.load(parts.source(name), kinds.get(name, dict))
        if obj is not None:
            out[name] = obj
    return out


def _report_level(report: Report, sources: dict, started: dict, parts, progress, timings) -> None:
    """The experiments' figures and records and the networks' checks, stored ones read back."""
    from gradproof.reports import plots

    if "networks" in sources:
        report.experiment_records += sources["networks"]
    else:
        t0 = time.perf_counter()
        report.experiment_records += _network_records(progress)
        if all(r.passed for r in report.experiment_records):
            parts.save(parts.source("networks"), list(report.experiment_records))
        timings["networks"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    if progress:
        progress.note("experiments (training, initialisation)")
    if "activations" in started:
        report.companion_figure = started.pop("activations").result()
        parts.save(parts.source("activations"), report.companion_figure)
    else:
        report.companion_figure = sources.get("activations")
    outcomes = {k: v for k, v in sources.items() if k in plots.SOURCES}
    for key, future in started.items():
        outcomes[key] = dict(future.result())
        seconds = outcomes[key].pop("seconds", None)
        if seconds is not None:
            timings[f"{key} (worker)"] = seconds
        if "error" not in outcomes[key]:
            parts.save(parts.source(key), outcomes[key])
    report.figures, report.unavailable, extra = plots.finish_sources(outcomes, timings)
    report.experiment_records += extra
    if progress:
        progress.advance("figures")
    timings["experiments (wait + draw)"] = time.perf_counter() - t0


def _network_records(progress) -> list[Record]:
    verify = _verifier()
    if verify is None:
        return []
    from gradproof.reports.verify import NETWORKS

    out = []
    for net in NETWORKS:
        if progress:
            progress.note(net)
        try:
            out += [_record(r) for r in verify(net)]
        except Exception as err:  # a broken network check is a failed check, shown as such
            out.append(Record(net, f"check failed to run: {type(err).__name__}: {err}", None, None, False))
    return out


def _kill_pool(pool) -> None:
    """Stop a process pool's workers now (a stopped or failed run) and reap them."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    for p in procs:
        try:
            p.kill()  # our own workers, by handle
        except (OSError, ValueError):
            pass
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        try:
            p.join(5)
        except (OSError, ValueError, AssertionError):
            pass
