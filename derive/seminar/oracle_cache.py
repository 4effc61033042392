"""Exercises' oracles, built once and kept in the derivation cache.

An oracle is everything a check compares an answer with: the reference's
values at the probe points, the tutor's wrong answers and the named mutants
evaluated there, the exact probe points.  Building them for the whole bank
takes SymPy seconds; nothing in them changes unless the exercise's
declaration or gradproof's source does, so they are stored in the derivation
cache (:mod:`gradproof.derive.support.cache`: authenticated entries, atomic
writes, off under ``--no-cache`` / ``GRADPROOF_NO_CACHE=1``) under a key of
the cache's fingerprint (gradproof's version and source hash, SymPy's,
mpmath's, lark's and Python's versions) and the exercise's whole declaration
(its ``repr``: a tutor's exercise from a TOML file is keyed by its content).

A stored oracle is used only when it is an oracle of exactly that exercise;
anything else is built afresh and stored again.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable


def oracle_key(ex) -> str:
    """The cache key of ``ex``'s oracle: what decides it, hashed."""
    from gradproof.derive.support.cache import fingerprint

    h = hashlib.sha256(fingerprint())
    for part in ("seminar-oracle", repr(ex)):
        data = part.encode("utf-8", "surrogatepass")
        h.update(b"\0" + len(data).to_bytes(8, "big") + data)
    return h.hexdigest()


def _store():
    """The cache folder's store, or None when the cache is off or unusable (said once, on stderr)."""
    from gradproof.derive.support import cache

    if not cache.enabled() or not cache.usable():
        return None
    return cache.Cache(cache.cache_dir())


def load(ex):
    """``ex``'s stored oracle, or None."""
    store = _store()
    if store is None:
        return None
    try:
        hit = store.get(oracle_key(ex))
    except OSError:
        return None
    return hit if getattr(hit, "ex", None) == ex and hasattr(hit, "wrong_values") else None


def save(oracle) -> None:
    store = _store()
    if store is None:
        return
    try:
        store.put(oracle_key(oracle.ex), oracle)
    except OSError:
        pass


def build(ex_id: str):
    """Build one exercise's oracle with its wrong answers, mutants and exact points; None if it fails."""
    from gradproof.derive.seminar.exercises import get

    try:
        o = get(ex_id).oracle()
        for part in (o, *getattr(o, "stage_oracles", ())):
            for lazy in ("wrong_values", "mutant_values", "exact_points"):
                if hasattr(part, lazy):
                    getattr(part, lazy)()
        return o
    except Exception:
        return None


def _declared(ids: Iterable[str]) -> list:
    """The exercises (declared ones for letter variants, which share their oracle) still without an oracle here."""
    from gradproof.derive.seminar.exercises import get, has_oracle
    from gradproof.derive.seminar.variants import base_exercise, letter_names

    out = {}
    for ex_id in sorted(set(ids)):
        try:
            ex = get(ex_id)
        except KeyError:
            continue
        if letter_names(ex):
            ex = base_exercise(ex)
        if not has_oracle(ex):
            out[ex.id] = ex
    return list(out.values())


def warm_oracles(ids: Iterable[str], workers: int = 1, ctx=None) -> int:
    """Give these exercises their oracles in this process: from the cache, else built (in parallel
    processes when ``workers`` > 1) and stored.  Returns how many oracles this process gained."""
    from gradproof.derive.seminar.exercises import install_oracle

    todo = []
    gained = 0
    for ex in _declared(ids):
        hit = load(ex)
        if hit is not None:
            install_oracle(hit)
            gained += 1
        else:
            todo.append(ex.id)
    built = _build_all(todo, workers, ctx)
    for ex_id in todo:
        oracle = built.get(ex_id)
        if oracle is not None:
            install_oracle(oracle)
        else:
            oracle = build(ex_id)  # in this process: one left, or a parallel build failed
        if oracle is not None:
            save(oracle)
            gained += 1
    return gained


def _build_all(todo: list, workers: int, ctx) -> dict:
    """Oracles built in ``workers`` parallel processes (that die with this one), by exercise id."""
    if len(todo) < 2 or workers < 2:
        return {}
    import multiprocessing as mp

    from gradproof.derive.support.lifetime import die_with_parent, signals_deferred

    ctx = ctx or mp.get_context("fork")
    out = {}
    try:
        with signals_deferred():  # workers die with this process; signals land after the fork
            pool = ctx.Pool(min(workers, len(todo)), initializer=die_with_parent, initargs=(os.getpid(),))
        with pool:
            for ex_id, oracle in zip(todo, pool.imap(build, todo)):
                if oracle is not None:
                    out[ex_id] = oracle
    except Exception:  # an oracle that does not pickle: built in this process instead
        pass
    return out
