"""Checking answers in worker processes with CPU-time and memory limits.

A check that runs out of CPU time, memory or wall time is *undecided*, never
wrong.  Workers are forked after the parent has built the exercises'
oracles, so each inherits the probe points and reference values and a check
costs only the answer's own work.

>>> with CheckPool(workers=1) as pool:
...     out = pool.run([("a", "linear_grad_W", "Z^T Delta")])
>>> out["a"].status
'correct'
"""

from __future__ import annotations

import multiprocessing as mp
import os
import resource
import signal
import time
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


def _vm_bytes() -> int:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _worker(conn, budget: Budget, parent_pid: int | None = None) -> None:
    from gradproof.derive.support.lifetime import die_with_parent

    die_with_parent(parent_pid)  # SIGKILL when the parent dies; Ctrl-C is the parent's
    # Address-space limit relative to what the fork already maps: a check may
    # allocate memory_mb more, then MemoryError.
    vm = _vm_bytes()
    if vm:
        limit = vm + budget.memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    signal.signal(signal.SIGXCPU, _on_xcpu)
    from gradproof.derive.seminar.exercise_kinds import check
    from gradproof.derive.seminar.exercises import get

    while True:
        try:
            task = conn.recv()
        except (EOFError, KeyboardInterrupt):
            return
        if task is None:
            return
        key, ex_id, answer = task
        ru = resource.getrusage(resource.RUSAGE_SELF)
        used = int(ru.ru_utime + ru.ru_stime) + 1
        _, hard = resource.getrlimit(resource.RLIMIT_CPU)
        soft = used + budget.cpu_seconds
        if hard != resource.RLIM_INFINITY:
            soft = min(soft, hard)
        resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
        t0 = time.perf_counter()
        try:
            verdict = check(get(ex_id), answer, symbolic_seconds=budget.symbolic_seconds)
        except CpuLimit:
            verdict = _undecided(ex_id, answer, "timeout", f"the check used up its {budget.cpu_seconds} s of CPU time")
        except MemoryError:
            verdict = _undecided(ex_id, answer, "limits", f"the check needed more than {budget.memory_mb} MB of memory")
        except RecursionError:
            verdict = _undecided(ex_id, answer, "limits", "the answer nests too deeply to check")
        except Exception as err:  # a bug must not take the class down: report it as undecided
            verdict = _undecided(ex_id, answer, "error", f"internal error while checking: {type(err).__name__}: {err}")
        d = verdict.to_json()
        d["seconds"] = time.perf_counter() - t0
        try:
            conn.send((key, d))
        except (BrokenPipeError, EOFError):
            return


def _build_oracle(ex_id: str):
    """Build (or fetch) one exercise's oracle with its wrong answers and mutants; None if it fails."""
    from gradproof.derive.seminar.exercises import get

    try:
        o = get(ex_id).oracle()
        o.wrong_values()
        o.mutant_values()
        o.exact_points()
        return o
    except Exception:
        return None


def _undecided(ex_id, answer, by, message):
    from gradproof.derive.seminar.equivalence import Verdict

    return Verdict(exercise=ex_id, answer=answer, status="undecided", decided_by=by, feedback=(message,))


class CheckPool:
    """A small pool of limited worker processes (fork; Linux and macOS)."""

    def __init__(self, workers: int = 2, budget: Budget = Budget()):
        self.budget = budget
        self.ctx = mp.get_context("fork")
        self.nworkers = max(1, workers)
        self.workers: list = []

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.kill()  # stopped or failed: no point waiting for the checks under way
        self.close()
        return False

    def warm(self, exercise_ids: Iterable[str]) -> None:
        """Build oracles (probe points, reference values, mutants) before forking.

        Deriving the references is most of the cost, so with several workers
        the oracles are built in parallel processes and sent back.
        """
        from gradproof.derive.seminar.exercises import get, has_oracle, install_oracle

        todo = []
        for ex_id in sorted(set(exercise_ids)):
            try:
                ex = get(ex_id)
            except KeyError:
                continue
            if not has_oracle(ex):
                todo.append(ex_id)
        if len(todo) > 1 and self.nworkers > 1:
            try:
                from gradproof.derive.support.lifetime import die_with_parent, signals_deferred

                with signals_deferred():  # workers die with this process; signals land after the fork
                    pool = self.ctx.Pool(
                        min(self.nworkers, len(todo)), initializer=die_with_parent, initargs=(os.getpid(),)
                    )
                with pool:
                    for oracle in pool.imap_unordered(_build_oracle, todo):
                        if oracle is not None:
                            install_oracle(oracle)
            except Exception:
                pass
        for ex_id in todo:
            _build_oracle(ex_id)

    def _spawn(self):
        parent, child = self.ctx.Pipe()
        from gradproof.derive.support.lifetime import signals_deferred

        p = self.ctx.Process(target=_worker, args=(child, self.budget, os.getpid()), daemon=True)
        with signals_deferred():  # a Ctrl-C lands after the fork, in the parent's own code
            p.start()
        child.close()
        return {"proc": p, "conn": parent, "task": None, "start": 0.0}

    def run(self, tasks: list, on_result: Callable | None = None) -> dict:
        """Check ``(key, exercise_id, answer)`` tasks; returns ``{key: Verdict}``."""
        from gradproof.derive.seminar.equivalence import Verdict

        self.warm(t[1] for t in tasks)
        while len(self.workers) < min(self.nworkers, max(1, len(tasks))):
            self.workers.append(self._spawn())
        pending = list(reversed(tasks))
        results: dict = {}
        while pending or any(w["task"] for w in self.workers):
            for w in self.workers:
                if w["task"] is None and pending:
                    w["task"] = pending.pop()
                    w["start"] = time.monotonic()
                    w["conn"].send(w["task"])
            busy = [w for w in self.workers if w["task"]]
            ready = wait([w["conn"] for w in busy], timeout=0.5)
            now = time.monotonic()
            for i, w in enumerate(self.workers):
                if not w["task"]:
                    continue
                key, ex_id, answer = w["task"]
                verdict = None
                if w["conn"] in ready:
                    try:
                        _, d = w["conn"].recv()
                        verdict = Verdict.from_json(d)
                    except (EOFError, OSError):
                        verdict = _undecided(ex_id, answer, "limits", "the check was stopped by a resource limit")
                        self._replace(i)
                elif now - w["start"] > self.budget.wall_seconds:
                    verdict = _undecided(
                        ex_id, answer, "timeout", f"the check took longer than {self.budget.wall_seconds:g} s"
                    )
                    self._replace(i)
                if verdict is not None:
                    self.workers[i]["task"] = None
                    results[key] = verdict
                    if on_result:
                        on_result(key, verdict)
        return results

    def _replace(self, i: int) -> None:
        w = self.workers[i]
        w["proc"].kill()  # only our own worker, by its handle
        w["proc"].join(5)
        w["conn"].close()
        self.workers[i] = self._spawn()

    def kill(self) -> None:
        """Stop every worker now (our own, by handle) and reap it."""
        for w in self.workers:
            w["proc"].kill()
        for w in self.workers:
            w["proc"].join(5)
            w["conn"].close()
        self.workers = []

    def close(self) -> None:
        for w in self.workers:
            try:
                w["conn"].send(None)
            except (BrokenPipeError, OSError):
                pass
        for w in self.workers:
            w["proc"].join(2)
            if w["proc"].is_alive():
                w["proc"].kill()
                w["proc"].join(2)
            w["conn"].close()
        self.workers = []
