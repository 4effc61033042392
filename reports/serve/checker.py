"""Checks for the web server: limited worker processes, driven off the event loop.

Each of ``lanes`` threads owns a one-template :class:`~gradproof.derive.seminar.workers.WarmPool`
and takes answers from a shared queue, so an answer that runs into its CPU or
wall-time limit occupies one lane while the others keep serving the class.
The templates are forked once, at start, after the exercises' oracles are
built (or read from the cache) and primed; every answer is then checked in
a fresh process forked from its lane's template, ahead of time.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import queue
import threading


class Checker:
    def __init__(self, lanes: int = 2, budget=None):
        from gradproof.derive.seminar.workers import Budget

        self.budget = budget or Budget(cpu_seconds=5, wall_seconds=8.0, symbolic_seconds=2.0)
        self.lanes = max(1, lanes)
        self.queue: queue.Queue = queue.Queue()
        self.threads: list[threading.Thread] = []
        self.pools: list = []

    def start(self, exercise_ids) -> None:
        from gradproof.derive.seminar.workers import WarmPool

        ids = list(exercise_ids)
        # oracles and priming in this process, before any template forks
        WarmPool(workers=self.lanes, budget=self.budget).warm(ids, primed=True)
        ready = []
        for k in range(self.lanes):
            pool = WarmPool(workers=1, budget=self.budget)
            self.pools.append(pool)
            ev = threading.Event()
            ready.append(ev)
            t = threading.Thread(target=self._lane, args=(pool, ev), name=f"gradproof-check-{k}", daemon=True)
            t.start()
            self.threads.append(t)
        for ev in ready:
            ev.wait()

    def _lane(self, pool, ready) -> None:
        # The lane's template is forked from the lane's own thread, which lives as long as the
        # pool: a process set to die with its parent is tied to the thread that forked it.
        try:
            pool.start()
        finally:
            ready.set()
        while True:
            item = self.queue.get()
            if item is None:
                return
            fut, ex_id, answer = item
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                fut.set_result(pool.run([("a", ex_id, answer)])["a"])
            except BaseException as err:
                fut.set_exception(err)

    def submit(self, ex_id: str, answer: str) -> concurrent.futures.Future:
        fut: concurrent.futures.Future = concurrent.futures.Future()
        self.queue.put((fut, ex_id, answer))
        return fut

    async def check(self, ex_id: str, answer: str):
        return await asyncio.wrap_future(self.submit(ex_id, answer))

    def close(self) -> None:
        for _ in self.threads:
            self.queue.put(None)
        for t in self.threads:
            t.join(30)
        for pool in self.pools:
            pool.close()
        self.threads, self.pools = [], []
