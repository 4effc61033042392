"""Warm, sandboxed answer checking: one fresh process per check, forked from a warm template.

The parent (``gradproof grade``, ``check`` or ``serve``) builds every
exercise's oracle first -- reference values at the probe points, the tutor's
wrong answers, the named mutants, the exact probe points -- from the oracle
cache (:mod:`gradproof.derive.seminar.oracle_cache`) or afresh.  It then
forks one *template* process per lane.  A template never reads a student's
answer: it keeps one check process forked ahead of time, hands it the next
task, waits for its verdict, reaps it and forks the next.  So:

* a check costs its own work, not start-up: SymPy, the bank and the oracles
  are already in memory, shared copy-on-write with the template (the
  template freezes its objects out of the garbage collector's sight, so a
  check does not copy the template's memory by merely collecting);
* every check starts from the same state: whatever an answer does to the
  process that checks it (fills a cache, exhausts memory, is interrupted by
  its CPU limit halfway through an update) dies with that process, and the
  next answer is checked in a fresh fork of the unchanged template;
* the limits are those of a dedicated process: ``RLIMIT_CPU`` (a soft limit
  raises :class:`CpuLimit` in the check, the hard limit one second later kills
  it), ``RLIMIT_AS`` relative to what the fork already maps, and a wall-clock
  limit (the template kills the check).  Running out of any of them gives an
  *undecided* verdict, never *wrong*.  A check process that dies is simply
  replaced by the next fork; a template that stops answering is killed and
  forked again from the parent.
* every process dies with its parent (:func:`gradproof.derive.support.lifetime.die_with_parent`):
  a check with its template, a template with the run.

A class graded at once (``WarmPool(batch=n)``) hands a check process up to
``n`` answers to one exercise, checked one after another, each under its own
CPU and wall-clock limits: a fork costs several milliseconds of CPU (its
page tables), more than most checks.  A batch is trusted only when it ran
*clean*: no answer in it hit a limit, raised, was stopped by a time limit in
the symbolic or exact stage, or changed the state every check relies on
(:func:`_state_mark`).  Otherwise every answer of that batch is checked again
alone, each in its own fresh fork, and only those verdicts count; so a
hostile answer still cannot affect another answer's verdict.

>>> with WarmPool(workers=1) as pool:
...     out = pool.run([("a", "linear_grad_W", "Z^T Delta")])
>>> out["a"].status
'correct'
"""

from __future__ import annotations

import gc
import itertools
import multiprocessing as mp
import os
import pickle
import resource
import signal
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from multiprocessing.connection import wait


@dataclass(frozen=True)
class Budget:
    """Per-check limits.  ``symbolic_seconds`` bounds SymPy's confirmation only."""

    cpu_seconds: int = 10
    memory_mb: int = 1024
    wall_seconds: float = 20.0
    symbolic_seconds: float = 3.0


class CpuLimit(BaseException):
    """SIGXCPU arrived: this check used up its CPU time."""


def _on_xcpu(signum, frame):
    raise CpuLimit()


# A template that has not answered this long after the check's own wall limit is stuck: replace it.
TEMPLATE_GRACE = 10.0
# What a template reports when its check process gave no verdict.
DIED, TIMED_OUT = "died", "timeout"
# The most answers one check process takes (grading a class; the server checks one at a time).
MAX_BATCH = 64


def _vm_bytes() -> int:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _default_check(ex_id: str, answer: str, symbolic_seconds: float):
    from gradproof.derive.seminar.answer_types import check
    from gradproof.derive.seminar.exercises import get

    return check(get(ex_id), answer, symbolic_seconds=symbolic_seconds)


# ---------------------------------------------------------------------------
# The check process: one task, then exit
# ---------------------------------------------------------------------------


def _cpu_used() -> int:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return int(ru.ru_utime + ru.ru_stime)


def _limit(budget: Budget) -> None:
    """This process's memory limit, set before it sees a task."""
    vm = _vm_bytes()
    if vm:
        limit = vm + budget.memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    signal.signal(signal.SIGXCPU, _on_xcpu)


def _limit_cpu(budget: Budget, checks: int) -> None:
    """CPU time for ``checks`` checks (the hard limit), once the task has arrived (the clock started at the fork)."""
    hard = _cpu_used() + checks * (budget.cpu_seconds + 1) + 1
    _, old_hard = resource.getrlimit(resource.RLIMIT_CPU)
    if old_hard != resource.RLIM_INFINITY:
        hard = min(hard, old_hard)
    resource.setrlimit(resource.RLIMIT_CPU, (hard - 1, hard))


def _limit_next(budget: Budget) -> None:
    """The next check's CPU time: ``cpu_seconds`` from now.  The soft limit lets the check report;
    the hard one ends a check stuck where no signal is handled (for one check alone, a second later)."""
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = min(_cpu_used() + 1 + budget.cpu_seconds, hard - 1)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _memo():
    """The per-process table of verdicts by reading (:func:`gradproof.derive.seminar.deciding.decide`), if any."""
    from gradproof.derive.seminar import deciding

    memo = getattr(deciding, "_DECIDED", None)
    return memo if isinstance(memo, dict) else None


def _state_mark() -> tuple:
    """What every check relies on and no finished check may change: the recursion limit, the
    collector and the interval timer left as found, the bank's exercises, the oracles built so
    far and the verdict table (each the same object as before).  Tables may grow, never change."""
    import sys

    from gradproof.derive.seminar import deciding, exercises, oracles

    return (
        sys.getrecursionlimit(),
        gc.isenabled(),
        signal.getitimer(signal.ITIMER_PROF),
        signal.getsignal(signal.SIGPROF),
        id(getattr(deciding, "_DECIDED", None)),
        {k: id(v) for k, v in exercises._BANK.items()},
        {k: id(v) for k, v in oracles._ORACLES.items()},
    )


def _kept(mark: tuple, now: tuple) -> bool:
    """``now`` (a later :func:`_state_mark`) keeps everything ``mark`` saw; tables may have grown."""
    *fixed, bank, built = mark
    *fixed_now, bank_now, built_now = now
    return (
        fixed == fixed_now
        and all(bank_now.get(k) == v for k, v in bank.items())
        and all(built_now.get(k) == v for k, v in built.items())
    )


def _verdict_of(ex_id: str, answer: str, budget: Budget, check_fn) -> tuple[dict, dict, bool]:
    """The verdict (as JSON), the verdicts this check reached by reading (to share with later
    checks), and whether the check ran clean: no limit hit, nothing raised, no time limit fired."""
    from gradproof.derive.seminar.deciding import time_limit

    memo = _memo()
    before = len(memo) if memo is not None else 0  # new entries come after (a dict keeps insertion order)
    fired = time_limit.fired
    clean = False
    t0 = time.perf_counter()
    try:
        verdict = check_fn(ex_id, answer, budget.symbolic_seconds)
        clean = True
    except CpuLimit:
        verdict = undecided(ex_id, answer, "timeout", f"the check used up its {budget.cpu_seconds} s of CPU time")
    except MemoryError:
        verdict = undecided(ex_id, answer, "limits", f"the check needed more than {budget.memory_mb} MB of memory")
    except RecursionError:
        verdict = undecided(ex_id, answer, "limits", "the answer nests too deeply to check")
    except Exception as err:  # a bug must not take the class down: report it as undecided
        verdict = undecided(ex_id, answer, "error", f"internal error while checking: {type(err).__name__}: {err}")
    d = verdict.to_json()
    d["seconds"] = time.perf_counter() - t0
    learned = {}
    if memo is not None and verdict.status != "undecided":
        learned = dict(itertools.islice(memo.items(), before, None))
    return d, learned, clean and time_limit.fired == fired


def _check_process(conn, budget: Budget, template_pid: int, check_fn) -> None:
    """Body of a check process (never returns): wait for one task (one answer or a batch), check
    its answers one by one, each under its own CPU limit, send each verdict as it is reached, exit.
    A batch stops at its first answer that did not run clean (its verdicts are not used)."""
    code = 0
    try:
        from gradproof.derive.support.lifetime import die_with_parent

        die_with_parent(template_pid)
        _limit(budget)
        try:
            raw = conn.recv_bytes()
        except (EOFError, OSError):
            os._exit(0)
        if not raw:
            os._exit(0)
        tasks, known = pickle.loads(raw)
        _limit_cpu(budget, len(tasks))
        memo = _memo()
        if memo is not None and known:
            memo.update(known)
        mark = _state_mark()
        for _key, ex_id, answer in tasks:
            _limit_next(budget)
            d, learned, clean = _verdict_of(ex_id, answer, budget, check_fn)
            clean = clean and _kept(mark, _state_mark())
            conn.send_bytes(pickle.dumps((d, learned, clean)))
            if not clean:
                break
    except BaseException:  # CpuLimit or MemoryError outside the check: the template reports it
        code = 1
    finally:
        os._exit(code)


# ---------------------------------------------------------------------------
# The template: never checks, only forks, hands over and reaps
# ---------------------------------------------------------------------------


class _Ahead:
    """The check process forked ahead of its task, and the template's end of its pipe."""

    def __init__(self, budget: Budget, check_fn, template_conn):
        from gradproof.derive.support.lifetime import signals_deferred

        ours, theirs = mp.Pipe()
        me = os.getpid()
        with signals_deferred():
            pid = os.fork()
        if pid == 0:
            ours.close()
            template_conn.close()  # a check talks to its template only, never to the run
            _check_process(theirs, budget, me, check_fn)
        theirs.close()
        self.pid, self.conn = pid, ours

    def finish(self, kill: bool) -> None:
        if kill:
            try:
                os.kill(self.pid, signal.SIGKILL)  # our own child, by its pid
            except ProcessLookupError:
                pass
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass
        self.conn.close()


def _hand_over(ahead: _Ahead, raw: bytes, budget: Budget) -> tuple[bytes, bool]:
    """Give the task (as sent, never unpickled here) to the check process; its verdicts as they
    come, each within the wall-clock limit, and why the rest did not come, if they did not;
    and whether the check process must be killed (it is reaped by the caller, after it replied)."""
    count, task = int.from_bytes(raw[:4], "big"), raw[4:]
    try:
        ahead.conn.send_bytes(task)
    except (BrokenPipeError, OSError):
        return pickle.dumps(([], DIED)), True
    answers, failure = [], None
    while len(answers) < count:
        if not wait([ahead.conn], timeout=budget.wall_seconds):
            failure = TIMED_OUT
            break
        try:
            answers.append(ahead.conn.recv_bytes())
        except (EOFError, OSError):
            failure = DIED  # died, or stopped after an answer that did not run clean
            break
    return pickle.dumps((answers, failure)), failure is not None


def _template(conn, budget: Budget, parent_pid: int, check_fn) -> None:
    from gradproof.derive.support.lifetime import die_with_parent

    die_with_parent(parent_pid)  # SIGKILL when the run dies; Ctrl-C is the parent's
    # Everything built so far (SymPy, the bank, the oracles) stays as it is: out of the
    # collector's sight, a check does not write to (and so copy) the shared pages by collecting.
    gc.collect()
    gc.freeze()
    ahead = _Ahead(budget, check_fn, conn)
    while True:
        try:
            raw = conn.recv_bytes()
        except (EOFError, OSError, KeyboardInterrupt):
            raw = b""
        if not raw:  # the parent is done
            ahead.finish(kill=True)
            return
        data, kill = _hand_over(ahead, raw, budget)
        try:
            # the verdicts first: neither the check process's exit (tearing down its copy of the
            # template's memory) nor the next fork is on the way to them
            conn.send_bytes(data)
        except (BrokenPipeError, OSError):
            ahead.finish(kill=True)  # the run is gone
            return
        ahead.finish(kill=kill)
        ahead = _Ahead(budget, check_fn, conn)  # the next check's process, ready before its task arrives


def _exercise_id(memo_key) -> str:
    """The exercise a verdict-by-reading entry is about (its key starts with the exercise)."""
    ex = memo_key[0] if isinstance(memo_key, tuple) and memo_key else None
    return getattr(ex, "declared_id", "") or ""


def undecided(ex_id, answer, by, message):
    from gradproof.derive.seminar.equivalence import Verdict

    return Verdict(exercise=ex_id, answer=answer, status="undecided", decided_by=by, feedback=(message,))


# ---------------------------------------------------------------------------
# The parent's side
# ---------------------------------------------------------------------------


class WarmPool:
    """Warm templates (fork; Linux and macOS), one check process per answer.

    ``check`` (``(exercise_id, answer, symbolic_seconds) -> Verdict``) is what a
    check process runs; the default checks against the exercise bank.

    The one thing that passes from one check to another is a verdict by
    reading: when an answer's reading (its parsed expression, whatever its
    spelling) was decided by an earlier check that hit no limit, a later
    answer that reads the same gets that verdict (in its own words) instead of
    being decided again.  The pool keeps these per declared exercise and hands
    them to each check process with its task.

    ``batch``: how many answers to one exercise a check process may take at
    once (1, the default: every answer in a fresh process; at most
    :data:`MAX_BATCH`).  A batch that did not run clean is checked again one
    answer per process, and only those verdicts count.
    """

    def __init__(self, workers: int = 2, budget: Budget = Budget(), check: Callable | None = None, batch: int = 1):
        self.budget = budget
        self.batch = min(max(1, batch), MAX_BATCH)
        self.rechecked = 0  # answers checked again alone because their batch did not run clean
        self.ctx = mp.get_context("fork")
        self.nworkers = max(1, workers)
        self.check_fn = check or _default_check
        self.workers: list = []
        self.templates_started = 0  # templates forked from this process (replacements included)
        self.known: dict = {}  # declared exercise id -> {reading key: Verdict}
        self._canon: dict = {}  # exercise -> the one copy used in reading keys
        self._stale = False

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.kill()  # stopped or failed: no point waiting for the checks under way
        self.close()
        return False

    def warm(self, exercise_ids: Iterable[str], primed: bool = False) -> int:
        """Build (or load) the oracles of these exercises in this process; returns how many were new.

        With ``primed``, also check the bank's own accepted answers and planted
        mistakes once here (see :func:`prime`).  Templates forked earlier do
        not have what is new: they are replaced at the next :meth:`run`.
        """
        from gradproof.derive.seminar.oracle_cache import warm_oracles

        ids = list(exercise_ids)
        new = warm_oracles(ids, workers=self.nworkers, ctx=self.ctx)
        if primed:
            new += prime(ids, self.budget)
        if new:
            self._stale = True
        return new

    def _spawn(self) -> dict:
        from gradproof.derive.support.lifetime import signals_deferred

        parent, child = self.ctx.Pipe()
        p = self.ctx.Process(target=_template, args=(child, self.budget, os.getpid(), self.check_fn), daemon=True)
        with signals_deferred():  # a Ctrl-C lands after the fork, in the parent's own code
            p.start()
        child.close()
        self.templates_started += 1
        return {"proc": p, "conn": parent, "task": None, "start": 0.0}

    def start(self, n: int | None = None) -> None:
        """Fork the templates now (at most ``n``); :meth:`run` does it when needed."""
        if self._stale:
            self.close()
            self._stale = False
        while len(self.workers) < min(self.nworkers, n or self.nworkers):
            self.workers.append(self._spawn())

    def pids(self) -> list[int]:
        """The templates' process ids."""
        return [w["proc"].pid for w in self.workers]

    def run(self, tasks: list, on_result: Callable | None = None) -> dict:
        """Check ``(key, exercise_id, answer)`` tasks; returns ``{key: Verdict}``."""
        self.warm(t[1] for t in tasks)
        self.start(max(1, len(tasks)))
        pending = deque(self._batches(tasks))
        results: dict = {}
        while pending or any(w["task"] for w in self.workers):
            for i, w in enumerate(self.workers):
                if w["task"] is None and pending:
                    w["task"] = pending.popleft()
                    w["start"] = time.monotonic()
                    self._send(i)
            busy = [w["conn"] for w in self.workers if w["task"]]
            ready = wait(busy, timeout=0.5) if busy else []
            for i in range(len(self.workers)):
                if not self.workers[i]["task"]:
                    continue
                batch, verdicts = self._collect(i, ready)
                if verdicts is None:
                    continue
                if len(verdicts) < len(batch):  # not clean: each answer again, alone in its own process
                    self.rechecked += len(batch)
                    pending.extendleft([t] for t in reversed(batch))
                    continue
                for (key, _, _), verdict in zip(batch, verdicts):
                    results[key] = verdict
                    if on_result:
                        on_result(key, verdict)
        return results

    def _batches(self, tasks: list) -> list[list]:
        """The tasks in batches of at most ``batch`` answers to one declared exercise (its variants included)."""
        if self.batch == 1:
            return [[t] for t in tasks]
        by_family: dict = {}
        for t in tasks:
            by_family.setdefault(self._declared(t[1]), []).append(t)
        return [ts[k : k + self.batch] for ts in by_family.values() for k in range(0, len(ts), self.batch)]

    def _declared(self, ex_id: str) -> str:
        return ex_id.partition("@")[0]

    def _send(self, i: int) -> None:
        w = self.workers[i]
        if not w["proc"].is_alive():  # died while idle (killed from outside): a new one takes the task
            task = w["task"]
            self._replace(i)
            w = self.workers[i]
            w["task"], w["start"] = task, time.monotonic()
        batch = w["task"]
        known: dict = {}
        for family in {self._declared(t[1]) for t in batch}:
            known.update(self.known.get(family, {}))
        payload = pickle.dumps(([tuple(t) for t in batch], known))
        try:
            w["conn"].send_bytes(len(batch).to_bytes(4, "big") + payload)
        except (BrokenPipeError, OSError):
            pass  # died just now: _collect sees the closed pipe and replaces it

    def _collect(self, i: int, ready: list):
        """``(batch, verdicts)`` of worker ``i``'s task, verdicts None while it runs; a dead or stuck
        template is replaced.  A batch of several answers that did not run clean gives fewer
        verdicts than answers (and none is used); one answer alone always gets its verdict."""
        from gradproof.derive.seminar.equivalence import Verdict

        w = self.workers[i]
        batch = w["task"]
        if w["conn"] in ready:
            try:
                raw, failure = pickle.loads(w["conn"].recv_bytes())
                answers = [pickle.loads(r) for r in raw]
            except (EOFError, OSError):
                answers, failure = [], DIED
                self._replace(i)
        elif time.monotonic() - w["start"] > self.budget.wall_seconds * len(batch) + TEMPLATE_GRACE:
            answers, failure = [], TIMED_OUT
            self._replace(i)
        else:
            return batch, None
        self.workers[i]["task"] = None
        if len(batch) > 1:
            if failure is not None or len(answers) < len(batch) or not all(clean for _, _, clean in answers):
                return batch, []
        elif failure is not None and not answers:
            _, ex_id, answer = batch[0]
            if failure == TIMED_OUT:
                why = f"the check took longer than {self.budget.wall_seconds:g} s"
                return batch, [undecided(ex_id, answer, "timeout", why)]
            return batch, [undecided(ex_id, answer, "limits", "the check was stopped by a resource limit")]
        for (_, ex_id, _), (_, learned, _) in zip(batch, answers):
            self._learn(ex_id, learned)
        return batch, [Verdict.from_json(d) for d, _, _ in answers]

    def _learn(self, ex_id: str, learned: dict) -> None:
        # only verdicts on this exercise (or its steps) are kept for it
        family = self._declared(ex_id)
        table = self.known.setdefault(family, {})
        for k, v in learned.items():
            if _exercise_id(k).partition(".")[0] == family:
                # one copy of each exercise in the keys, so that a task's table pickles it once
                table[(self._canon.setdefault(k[0], k[0]), *k[1:])] = v

    def _replace(self, i: int) -> None:
        w = self.workers[i]
        w["proc"].kill()  # only our own template, by its handle; its check process dies with it
        w["proc"].join(5)
        w["conn"].close()
        self.workers[i] = self._spawn()

    def kill(self) -> None:
        """Stop every template now (our own, by handle; their check processes die with them) and reap it."""
        for w in self.workers:
            w["proc"].kill()
        for w in self.workers:
            w["proc"].join(5)
            w["conn"].close()
        self.workers = []

    def close(self) -> None:
        for w in self.workers:
            try:
                w["conn"].send_bytes(b"")
            except (BrokenPipeError, OSError):
                pass
        for w in self.workers:
            w["proc"].join(2)
            if w["proc"].is_alive():
                w["proc"].kill()
                w["proc"].join(2)
            w["conn"].close()
        self.workers = []


def prime(exercise_ids: Iterable[str], budget: Budget = Budget()) -> int:
    """Check the bank's own answers once in this process, before the templates fork.

    A check builds some state lazily: the answer parser's tables and
    scanners, each exercise's vocabulary, SymPy's caches and the assumptions
    on the oracles' symbols.  Built here, once, from declared text (the
    built-in bank's first accepted answer and first planted mistake; never a
    student's), every check process inherits it.  Returns how many checks ran.
    """
    from gradproof.derive.seminar.answer_types import check, sample_answers
    from gradproof.derive.seminar.exercises import get

    done, seen = 0, set()
    for ex_id in sorted(set(exercise_ids)):
        try:
            ex = get(ex_id)
            ex.vocabulary()
        except (KeyError, ValueError):
            continue
        if ex.declared_id in seen or ex.source != "built-in":
            continue
        seen.add(ex.declared_id)
        accepted, mistakes = sample_answers(ex)
        for answer in accepted[:1] + [m[0] for m in mistakes[:1]]:
            try:
                check(ex, answer, symbolic_seconds=budget.symbolic_seconds)
                done += 1
            except Exception:  # priming is an optimisation: a failure here shows again in the real check
                pass
    return done
