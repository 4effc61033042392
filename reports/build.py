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
from contextlib import contextmanager
from pathlib import Path

from gradproof.reports.document import Record, Report, TopicSection
from gradproof.reports.schedule_hints import JOB_COST, SHARED_RUNS, TOPIC_COST

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

    ``timings`` (optional) accumulates CPU seconds under ``derive`` and ``verify``.
    """
    from gradproof.derive.lecture.registry import derive

    timings = {} if timings is None else timings
    t0 = time.process_time()
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
        timings["derive"] = timings.get("derive", 0.0) + time.process_time() - t0
    t0 = time.process_time()
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
        timings["verify"] = timings.get("verify", 0.0) + time.process_time() - t0
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

    from gradproof.derive.output.reuse import reuse_printed
    from gradproof.reports import companion, render_html, render_latex

    with reuse_printed():  # the three views print the same expressions: each is printed once
        views = {
            "html": render_html.section_view(sec),
            "latex": render_latex.section_view(sec),
            "facts": companion.facts(sec),
        }
    return replace(sec, views=views, exact_failed=sec.exact_failures(), derivation=None)


_LIMITS = []
# what OpenBLAS, OpenMP (libgomp) and MKL read their thread count from when they load
_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _worker_init(parent_pid: int | None = None) -> None:
    """Worker start-up: die with the parent, ignore Ctrl-C, one BLAS and OpenMP thread.

    NOTE: OpenBLAS (and libgomp) threads busy-wait; with two of them per
    worker next to another busy worker on two cores, the numeric experiments
    took about three times longer than single-threaded.  The libraries are
    usually loaded in the worker, after the fork (NumPy is not imported before
    it), and read their thread count from the environment when they load:
    hence the variables.  threadpoolctl (it comes with scikit-learn, the
    digits extra) limits the libraries loaded already.
    """
    from gradproof.derive.support.lifetime import die_with_parent

    die_with_parent(parent_pid)
    for var in _THREAD_VARIABLES:
        os.environ[var] = "1"
    try:
        from threadpoolctl import threadpool_limits

        _LIMITS.append(threadpool_limits(limits=1))
    except Exception:
        pass


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


# Report-level jobs that import neither SymPy nor the registry (measured: numeric/ and plotting only)
EARLY_JOBS = (("source", "training"), ("source", "regularisation"), ("networks", None), ("activations", None))


class EarlyJobs:
    """The jobs handed to a worker forked before this process loads the registry.

    Loading the registry (SymPy and every declaration) takes this process
    about a second, during which the other core would idle.  A worker forked
    before it runs meanwhile: the whole lecture's report-level jobs that
    need neither, and the topics whose fragments are not stored when they
    are few (an edited topic: the worker declares and derives them while
    this process loads the registry and reads the other fragments back).
    :func:`build_report` takes their results (and the worker) over; until
    then :meth:`stop` ends them.
    """

    def __init__(self, pool, futures: dict, sources: dict, topics: tuple = (), declarations: str | None = None):
        self.pool, self.futures, self.sources, self.topics = pool, futures, sources, tuple(topics)
        self.declarations = declarations  # the declaration files' digest before the fork (warm_start)

    @property
    def tasks(self) -> set:
        return set(self.futures.values())

    def stop(self) -> None:
        if self.pool is not None:
            _kill_pool(self.pool)
            self.pool = None


# Topics handed to the early worker when their estimated CPU seconds (schedule_hints.TOPIC_COST) add up to
# at most this; more are shared out over every worker once the registry has loaded, as in a cold run
EARLY_TOPICS_BUDGET = 1.0


def early_topics(names, categories: dict[str, str] | None = None) -> tuple[str, ...]:
    """``names`` (topics guessed to be built) if they are few enough for the early worker, else none.

    ``categories`` (a name's category, :func:`gradproof.reports.incremental.remembered_topics`)
    refine the estimate of their cost.
    """
    if default_jobs() < 2:
        return ()  # one worker: the topics are built in this process
    categories = categories or {}
    cost = sum(TOPIC_COST.get(n, TOPIC_COST.get(categories.get(n, ""), 0.3)) for n in names)
    return tuple(names) if cost <= EARLY_TOPICS_BUDGET else ()


def warm_start(topics) -> str:
    """Load, before the early worker is forked, what it needs to build ``topics`` and this process needs too.

    Looking each topic up declares only the files that declare it
    (:func:`gradproof.derive.lecture.registry.get`): SymPy and what those
    files import are loaded once, here, and the worker shares them; this
    process declares the other files once it has forked.  Returns the digest
    of the declaration files read before any was imported
    (:func:`gradproof.reports.incremental.declarations_digest`).
    """
    from gradproof.derive.lecture import registry
    from gradproof.reports import incremental

    before = incremental.declarations_digest()
    for name in topics:
        try:
            registry.get(name)
        except registry.UnknownTopic:
            continue  # no longer declared (every file is declared now): skipped by the worker too
    return before


def start_early(parts, topics=(), figures: bool = True, declarations: str | None = None) -> EarlyJobs:
    """Fork one worker and hand it ``topics`` and, with ``figures`` (the whole lecture), the report-level jobs
    that need no SymPy and are not stored.

    Call before the registry loads.  The worker derives ``topics`` (built-in
    topics' names, see :func:`early_topics`) first, declaring only the files
    that declare them (if :func:`warm_start`, whose result is
    ``declarations``, has not); the report-level jobs need no SymPy.  The
    stored report-level parts, read here, are handed over too; with nothing
    to hand out no worker is forked.
    """
    sources = _stored_sources(parts) if figures else {}
    todo = [(task, key) for task, key in EARLY_JOBS if (key or task) not in sources] if figures else []
    todo.sort(key=lambda job: -JOB_COST.get(job[1] or job[0], 1.0))  # longest first
    if topics:
        todo.insert(0, ("early topics", tuple(topics)))
    if not todo:
        return EarlyJobs(None, {}, sources)
    pool = _pool(1)
    try:
        from gradproof.derive.support.lifetime import signals_deferred

        with signals_deferred():  # the worker is forked here; a signal lands after the fork
            futures = {pool.submit(_job, task, key): (task, key) for task, key in todo}
    except BaseException:
        _kill_pool(pool)
        raise
    return EarlyJobs(pool, futures, sources, topics, declarations)


def build_report(
    names: list[str] | None = None,
    progress=None,
    figures: bool | None = None,
    jobs: int | None = None,
    parts=None,
    timeline=None,
    prepare: Callable[[], None] | None = None,
    early: EarlyJobs | None = None,
) -> Report:
    """Derive, verify and collect every selected topic, plus the report-level parts.

    The report-level parts (the experiments' figures, the composed networks'
    checks) belong to the whole lecture: by default they are built only when
    no topic is named.  With ``jobs > 1`` (default: :func:`default_jobs`)
    the built-in topics and the report-level parts run in that many worker
    processes, the longest jobs first, so that the workers end together; a
    topic is derived together with the topics its derivation derives, so
    that each derivation happens once.  User topics (registered in this
    process only) are derived here while the workers run.  ``progress`` is a
    :class:`gradproof.reports.console.Bar` (or ``None``); it advances once
    per topic and once for the figures.

    Every part whose key (:mod:`gradproof.reports.incremental`) finds an
    authentic stored copy is read back instead of built; what is built is
    stored.  ``parts`` is that run's :class:`~gradproof.reports.incremental.Keys`
    (made here when not given); under ``--no-cache`` nothing is read or written.
    ``timeline`` (a :class:`gradproof.reports.timings.Timeline`, optional)
    receives every span of work, the workers' included; ``prepare`` (optional)
    runs here while the workers run (e.g. compiling the templates the report
    will be written with); ``early`` (from :func:`start_early`, whole lecture
    only) holds report-level jobs already running, whose results and worker
    are taken over here.
    """
    from gradproof.reports import incremental
    from gradproof.reports.timings import Timeline

    timeline = Timeline() if timeline is None else timeline
    pool = None
    try:
        with timeline.span("registry: the selected topics"):
            selected = select_topics(names)  # unknown names raise before any work starts
        figures = not names if figures is None else figures
        jobs = default_jobs() if jobs is None else max(1, int(jobs))
        parts = incremental.Keys() if parts is None else parts
        if early is not None and not figures and not early.topics:
            early.stop()  # report-level jobs of a report without the figures: not wanted
            early = None
        with timeline.span("stored parts read back"):
            stored = _stored_sections(selected, parts)
            sources = (
                (early.sources if early is not None and early.sources else _stored_sources(parts)) if figures else {}
            )
        started = early.tasks if early is not None else set()
        taken = set(early.topics) if early is not None else set()
        plan = _plan([t for t in selected if t.name not in stored and t.name not in taken], sources, figures, jobs)
        plan = [job for job in plan if (job[0], job[1]) not in started]
        pool = _pool(min(jobs, len(plan))) if plan else None
        from gradproof.derive.support.lifetime import signals_deferred

        with signals_deferred():  # the workers are forked here; a signal lands after the fork
            futures = {pool.submit(_job, task, key): (task, key) for task, key, _ in plan}
        if early is not None:
            futures.update(early.futures)
        declared = early.declarations if early is not None else None
        built, level = _gather(selected, stored, futures, parts, progress, timeline, prepare, declared)
        report = Report(sections=[stored.get(t.name) or built[t.name] for t in selected])
        if figures:
            _report_level(report, sources, level, parts, progress)
    except BaseException:
        if pool is not None:
            _kill_pool(pool)
            pool = None
        if early is not None:
            early.stop()
        raise
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        if early is not None and early.pool is not None:
            early.pool.shutdown(wait=True, cancel_futures=True)
    report.timeline = timeline
    report.timings = timeline.stages()
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
    """The topics whose fragment is stored and authentic, by name.

    The built-in topics' keys (:meth:`gradproof.reports.incremental.Keys.fragment`)
    are computed only when a fragment made from this source may be stored.
    """
    out = {}
    builtin = any(t.category != "user" for t in selected) and parts.builtin_fragments_stored()
    for topic in selected:
        if topic.category != "user" and not builtin:
            continue  # none can be stored: no key is worth computing before the workers start
        sec = parts.load(parts.fragment(topic), TopicSection, _is_fragment_of(topic.name))
        if sec is not None:
            out[topic.name] = sec
    return out


def _plan(todo, sources: dict, figures: bool, jobs: int) -> list[tuple[str, object, float]]:
    """The workers' jobs as ``(task, key, estimated seconds)``, longest first.

    Tasks: ``topics`` (a bundle of built-in topics, each after the topics its
    derivation derives: :func:`gradproof.derive.lecture.registry.schedule`),
    ``source`` (an experiment and its figure), ``activations`` (the companion's
    plot) and ``networks`` (the composed networks' checks).  The topics stay
    here when ``jobs`` is 1.
    """
    plan = []
    pooled = [t for t in todo if t.category != "user"] if jobs > 1 else []
    if pooled:
        from gradproof.derive.lecture import registry

        for bundle in registry.schedule([t.name for t in pooled]):
            plan.append(("topics", bundle, sum(_topic_cost(registry.get(n)) for n in bundle)))
    if figures:
        from gradproof.reports import plots

        plan += [("source", k, JOB_COST.get(k, 1.0)) for k in plots.SOURCES if k not in sources]
        plan += [(k, None, JOB_COST[k]) for k in ("activations", "networks") if k not in sources]
    return sorted(_paired(plan), key=lambda job: -job[2])


def _paired(plan: list) -> list:
    """``plan`` with each source of :data:`gradproof.reports.schedule_hints.SHARED_RUNS` and the bundle of its topics made one
    ``source+topics`` job, so that their common experiment runs once (:func:`_runs_shared`)."""
    out = list(plan)
    for source, names in SHARED_RUNS.items():
        src = next((job for job in out if job[:2] == ("source", source)), None)
        bundle = next((job for job in out if job[0] == "topics" and set(names) & set(job[1])), None)
        if src is not None and bundle is not None:
            out.remove(src)
            out.remove(bundle)
            out.append(("source+topics", (source, bundle[1]), src[2] + bundle[2]))
    return out


def _topic_cost(topic) -> float:
    return TOPIC_COST.get(topic.name, TOPIC_COST.get(topic.category, 0.2))


def _lane() -> str:
    return f"worker {os.getpid()}"


def _job(task: str, key) -> tuple[object, list]:
    """Worker side: run one job of :func:`_plan`; its plain-data result and the spans of work it took."""
    from gradproof.reports.timings import Span, now

    if task == "topics":
        return _topics_job(key)
    if task == "early topics":
        return _early_topics_job(key)
    if task == "source+topics":
        with _runs_shared():
            outcome, spans = _job("source", key[0])
            sections, more = _topics_job(key[1])
        return (outcome, sections), spans + more
    t0, c0 = now(), time.process_time()
    if task == "source":
        from gradproof.reports.plots import load_source

        result = load_source(key)
    elif task == "activations":
        from gradproof.reports.plots import activation_figure

        result = activation_figure()
    else:
        result = _network_records(None)
    label = f"experiment {key}" if task == "source" else task
    return result, [Span(_lane(), label, t0, now(), time.process_time() - c0)]


@contextmanager
def _runs_shared():
    """Within the block, the initialisation experiment runs once per setting.

    The report's figure (:mod:`gradproof.reports.plots`) and xavier's measured
    erratum (:mod:`gradproof.reports.errata`) both run
    :func:`gradproof.numeric.experiments.initialisation_experiment`, looked up
    when called; equal calls (the same arguments once defaults are filled in)
    share one run, and each caller gets its own copy of the seeded,
    deterministic result.  Different settings simply run twice.
    """
    import copy
    import inspect

    from gradproof.numeric import experiments

    real = experiments.initialisation_experiment
    runs: dict = {}

    def shared(*args, **kwargs):
        bound = inspect.signature(real).bind(*args, **kwargs)
        bound.apply_defaults()
        key = repr(sorted(bound.arguments.items()))
        if key not in runs:
            runs[key] = real(*args, **kwargs)
        return copy.deepcopy(runs[key])

    experiments.initialisation_experiment = shared
    try:
        yield
    finally:
        experiments.initialisation_experiment = real


def _topics_job(names: tuple, verify=None) -> tuple[list[TopicSection], list]:
    """Worker side: derive, verify and render a bundle of registry topics to plain data.

    The bundle lists each topic after the topics its derivation derives, so
    each derivation happens once, in this process, which renders the views
    too (SymPy expressions do not survive pickling unchanged, strings do).
    """
    from gradproof.derive.lecture import registry
    from gradproof.reports.timings import Span, now

    verify = _verifier() if verify is None else verify
    sections, spans = [], []
    for name in names:
        t0, c0 = now(), time.process_time()
        timings: dict = {}
        sec = build_section(registry.get(name), verify, timings)
        t1 = time.process_time()
        sections.append(rendered(sec))
        timings["render views"] = time.process_time() - t1
        spans.append(Span(_lane(), f"topic {name}", t0, now(), time.process_time() - c0, tuple(timings.items())))
    return sections, spans


def _early_topics_job(names: tuple) -> tuple[tuple[str, list[TopicSection]], list]:
    """Worker side: :func:`_topics_job` on the registered topics among ``names``, declared lazily.

    Only the declaration files that declare them (and the topics their
    derivations derive) are imported.  In one process each derivation
    happens once whatever the order.  The result carries the digest of the
    declaration files as read once they were imported
    (:func:`gradproof.reports.incremental.declarations_digest`), so that a
    file changed meanwhile never stores a fragment under another text's key.
    """
    from gradproof.reports.timings import Span, now

    t0, c0 = now(), time.process_time()
    from gradproof.derive.lecture import registry
    from gradproof.reports import incremental

    found = []
    for name in names:
        try:
            found.append(registry.get(name).name)
        except registry.UnknownTopic:
            continue  # no longer declared: the report will not ask for it
    verify = _verifier()
    first = Span(_lane(), "the topics looked up, the verifier loaded", t0, now(), time.process_time() - c0)
    sections, spans = _topics_job(tuple(found), verify)
    return (incremental.declarations_digest(), sections), [first, *spans]


def _gather(selected, stored, futures, parts, progress, timeline, prepare=None, declared=None) -> tuple[dict, dict]:
    """Every section not stored, by name, and the report-level jobs' results, by ``(task, key)``.

    This process builds the topics no worker builds (user topics; every topic
    without workers) while the workers run, then takes each job's result as it
    ends: its sections are stored at once, so only the last job's are left
    for the end.  The early worker's topics are stored only when the
    declaration files they were declared from (``declared``, read before the
    fork, and the worker's own reading after) are those the keys were made from.
    """
    from concurrent.futures import as_completed

    by_name = {t.name: t for t in selected}
    pooled = {
        n
        for task, key in futures.values()
        for n in (key if task in ("topics", "early topics") else key[1] if task == "source+topics" else ())
        if n in by_name and n not in stored
    }
    sections, level = {}, {}

    def keep(sec: TopicSection, store: bool = True) -> None:
        if sec.name not in pooled or sec.name in sections:
            return  # built early but read back after all, or not in this report
        sections[sec.name] = sec
        if not sec.error and store:  # a failure to run may be passing trouble: built afresh next time
            parts.save(parts.fragment(by_name[sec.name]), sec)
        if progress:
            progress.advance(sec.name)

    verify = _verifier() if any(t.name not in stored and t.name not in pooled for t in selected) else None
    for topic in selected:
        if topic.name in stored:
            if progress:
                progress.advance(topic.name)
        elif topic.name not in pooled:
            if progress:
                progress.note(topic.name)
            sections[topic.name] = _built_here(topic, verify, timeline, parts, progress)
    if prepare is not None:
        with timeline.span("prepared to write (while the workers run)"):
            prepare()
    if pooled and parts.on:
        with timeline.span("part keys computed (while the workers run)"):
            parts.prime()  # the fragments' keys, needed when the first result is stored
    for future in as_completed(futures):
        task, key = futures[future]
        result, spans = future.result()
        for span in spans:
            timeline.add(span)
        if task == "source+topics":
            level["source", key[0]], result = result
        if task == "early topics":
            seen, result = result
            same = seen == parts.declarations and declared in (None, parts.declarations)
            if parts.on and not same:  # a declaration file changed meanwhile: used, never stored
                parts.complete = False
            for sec in result:
                keep(sec, store=same)
        elif task in ("topics", "source+topics"):
            for sec in result:
                keep(sec)
        else:
            level[task, key] = result
    for topic in selected:  # guessed for the early worker, and no longer declared there: built here
        if topic.name not in stored and topic.name not in sections:
            sections[topic.name] = _built_here(topic, _verifier(), timeline, parts, progress)
    return sections, level


def _built_here(topic, verify, timeline, parts, progress) -> TopicSection:
    """One topic derived, verified and rendered in this process, and stored."""
    with timeline.span(f"topic {topic.name}") as timings:
        sec = build_section(topic, verify, timings)
        t1 = time.process_time()
        sec = rendered(sec)
        timings["render views"] = time.process_time() - t1
    if not sec.error:
        parts.save(parts.fragment(topic), sec)
    if progress:
        progress.advance(sec.name)
    return sec


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


def _report_level(report: Report, sources: dict, level: dict, parts, progress) -> None:
    """The experiments' figures and records and the networks' checks: stored ones, or the workers' results."""
    from gradproof.reports import plots

    if "networks" in sources:
        report.experiment_records += sources["networks"]
    elif ("networks", None) in level:
        report.experiment_records += level["networks", None]
        if all(r.passed for r in report.experiment_records):
            parts.save(parts.source("networks"), list(report.experiment_records))
    if ("activations", None) in level:
        report.companion_figure = level["activations", None]
        parts.save(parts.source("activations"), report.companion_figure)
    else:
        report.companion_figure = sources.get("activations")
    outcomes = {k: v for k, v in sources.items() if k in plots.SOURCES}
    for key in plots.SOURCES:
        if ("source", key) in level:
            outcomes[key] = dict(level["source", key])
            outcomes[key].pop("seconds", None)
            if "error" not in outcomes[key]:
                parts.save(parts.source(key), outcomes[key])
    report.figures, report.unavailable, extra = plots.finish_sources(outcomes)
    report.experiment_records += extra
    if progress:
        progress.advance("figures")


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
