"""Checks for the web server: limited worker processes, driven off the event loop.

Each of ``lanes`` threads owns a one-worker :class:`~derive.answers.sandbox.CheckPool`
and takes answers from a shared queue, so an answer that runs into its CPU or
wall-time limit occupies one lane while the others keep serving the class.
The worker processes are forked once, at start, after the exercises'
oracles are built.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import queue
import threading


class Checker:
    def __init__(self, lanes: int = 2, budget=None):
        from derive.answers.sandbox import Budget

        self.budget = budget or Budget(cpu_seconds=5, wall_seconds=8.0, symbolic_seconds=2.0)
        self.lanes = max(1, lanes)
        self.queue: queue.Queue = queue.Queue()
        self.threads: list[threading.Thread] = []
        self.pools: list = []

    def start(self, exercise_ids) -> None:
        from derive.answers.sandbox import CheckPool

        ids = list(exercise_ids)
        for _ in range(self.lanes):
            pool = CheckPool(workers=1, budget=self.budget)
            pool.warm(ids)
            pool.workers.append(pool._spawn())  # fork now, from the starting thread
            self.pools.append(pool)
        for k, pool in enumerate(self.pools):
            t = threading.Thread(target=self._lane, args=(pool,), name=f"gradproof-check-{k}", daemon=True)
            t.start()
            self.threads.append(t)

    def _lane(self, pool) -> None:
        while True:
            item = self.queue.get()
            if item is None:
                return
            fut, ex_id, answer = item
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                fut.set_result(pool.run([("a", ex_id, answer)])["a"])
            except BaseException as err:  # noqa: BLE001 - handed to the waiting request
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
