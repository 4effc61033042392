"""Warm checking: templates are reused, every check runs in a fresh process, what dies is replaced."""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
import time

import pytest

from gradproof.derive.seminar import oracles
from gradproof.derive.seminar.equivalence import Verdict
from gradproof.derive.seminar.workers import Budget, WarmPool, _default_check

BUDGET = Budget(cpu_seconds=5, memory_mb=512, wall_seconds=10, symbolic_seconds=1.0)

# State a check may change; a fresh process per check always starts from the template's copy.
_TOUCHED: list = []


def _reporting(ex_id, answer, symbolic_seconds):
    """A check that reports its process and what earlier checks left behind, then leaves something itself."""
    seen = len(_TOUCHED)
    _TOUCHED.append(answer)
    return Verdict(
        exercise=ex_id,
        answer=answer,
        status="correct",
        decided_by="numeric",
        detail=f"{os.getpid()} {seen} {sys.getrecursionlimit()}",
    )


def _run_one(pool, ex_id, answer, key="a"):
    return pool.run([(key, ex_id, answer)])[key]


def test_the_template_is_reused_and_every_check_gets_a_fresh_process():
    with WarmPool(workers=1, budget=BUDGET, check=_reporting) as pool:
        details = []
        for k in range(4):
            details.append(_run_one(pool, "linear_grad_W", f"answer {k}").detail.split())
            if k == 0:
                template = pool.pids()
        assert pool.pids() == template and pool.templates_started == 1
    pids = [d[0] for d in details]
    assert len(set(pids)) == 4 and str(os.getpid()) not in pids and str(template[0]) not in pids
    # each check appended to _TOUCHED, but none saw what an earlier one left
    assert [d[1] for d in details] == ["0", "0", "0", "0"]
    assert _TOUCHED == []  # nor did this process


def _poisoning(ex_id, answer, symbolic_seconds):
    """A check that wrecks its process's state (as a hostile answer that broke a check halfway might)."""
    if answer == "poison":
        for ex in list(oracles._ORACLES):
            oracles._ORACLES[ex] = object()
        from gradproof.derive.seminar import exercises

        exercises._BANK.clear()
        sys.setrecursionlimit(120)
        return Verdict(exercise=ex_id, answer=answer, status="incorrect", decided_by="numeric")
    v = _default_check(ex_id, answer, symbolic_seconds)
    return dataclasses.replace(v, detail=f"{sys.getrecursionlimit()}")


def test_a_hostile_check_cannot_affect_the_next_students_check():
    with WarmPool(workers=1, budget=BUDGET, check=_poisoning) as pool:
        pool.warm(["linear_grad_W"])
        first = _run_one(pool, "linear_grad_W", "Z^T Delta", "before")
        assert _run_one(pool, "linear_grad_W", "poison", "p").status == "incorrect"
        after = _run_one(pool, "linear_grad_W", "Z.T @ Delta", "after")
        wrong = _run_one(pool, "linear_grad_W", "Delta^T Z", "wrong")
    assert (first.status, after.status) == ("correct", "correct")
    assert after.detail == first.detail == str(sys.getrecursionlimit())
    assert (wrong.status, wrong.mistake) == ("incorrect", "transposed")


def _dying(ex_id, answer, symbolic_seconds):
    if answer == "die":
        os.kill(os.getpid(), signal.SIGKILL)
    return _reporting(ex_id, answer, symbolic_seconds)


def test_a_check_process_that_dies_is_undecided_and_the_template_stays():
    with WarmPool(workers=1, budget=BUDGET, check=_dying) as pool:
        ok = _run_one(pool, "linear_grad_W", "fine", "1")
        template = pool.pids()
        died = _run_one(pool, "linear_grad_W", "die", "2")
        again = _run_one(pool, "linear_grad_W", "fine again", "3")
        assert pool.pids() == template and pool.templates_started == 1
    assert ok.status == again.status == "correct"
    assert (died.status, died.decided_by) == ("undecided", "limits")


def _wait_gone(pid: int, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                if fh.read().split(") ", 1)[1].startswith("Z"):
                    return
        except FileNotFoundError:
            return
        time.sleep(0.05)
    raise AssertionError(f"process {pid} still alive")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_template_that_dies_is_replaced_without_losing_a_check():
    with WarmPool(workers=1, budget=BUDGET, check=_reporting) as pool:
        _run_one(pool, "linear_grad_W", "one", "1")
        [old] = pool.pids()
        os.kill(old, signal.SIGKILL)  # our own template, by its pid
        _wait_gone(old)
        v = _run_one(pool, "linear_grad_W", "two", "2")
        assert v.status == "correct"
        assert pool.templates_started == 2 and pool.pids() != [old]


def test_a_check_over_its_wall_time_is_undecided_and_the_next_one_runs():
    def slow(ex_id, answer, symbolic_seconds):
        if answer == "slow":
            time.sleep(60)
        return _reporting(ex_id, answer, symbolic_seconds)

    budget = dataclasses.replace(BUDGET, wall_seconds=1.0)
    with WarmPool(workers=1, budget=budget, check=slow) as pool:
        late = _run_one(pool, "linear_grad_W", "slow", "1")
        fine = _run_one(pool, "linear_grad_W", "quick", "2")
        assert pool.templates_started == 1
    assert (late.status, late.decided_by) == ("undecided", "timeout")
    assert fine.status == "correct"


def test_readings_decided_once_are_shared_with_later_checks_of_that_exercise_only(monkeypatch):
    from gradproof.derive.seminar import deciding

    monkeypatch.setattr(deciding, "_DECIDED", {})  # nothing decided yet, here or in the templates
    with WarmPool(workers=1, budget=BUDGET) as pool:
        a = _run_one(pool, "linear_grad_W", "Z^T Delta", "1")
        assert set(pool.known) == {"linear_grad_W"} and pool.known["linear_grad_W"]
        b = _run_one(pool, "linear_grad_W", "Z.T @ Delta", "2")  # another spelling, the same reading
        c = _run_one(pool, "linear_backward", "Delta W^T", "3")
    assert a.status == b.status == c.status == "correct"
    assert a.decided_by == b.decided_by and b.answer == "Z.T @ Delta"
    assert set(pool.known) == {"linear_grad_W", "linear_backward"}
    assert all(k[0].declared_id == "linear_grad_W" for k in pool.known["linear_grad_W"])


def test_a_cached_oracle_decides_as_a_fresh_one(tmp_path, monkeypatch):
    from gradproof.derive.seminar import deciding, oracle_cache
    from gradproof.derive.seminar.answer_types import check, sample_answers
    from gradproof.derive.seminar.exercises import get

    monkeypatch.setenv("GRADPROOF_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("GRADPROOF_NO_CACHE", raising=False)
    monkeypatch.setattr(oracles, "_ORACLES", {})
    ex = get("logreg_grad")
    accepted, mistakes = sample_answers(ex)
    answers = accepted[:2] + [m[0] for m in mistakes[:3]]
    assert oracle_cache.warm_oracles([ex.id]) == 1  # built and stored
    assert list(tmp_path.glob("*.entry"))
    fresh = [check(ex, a, symbolic_seconds=1.0).to_json() for a in answers]
    monkeypatch.setattr(oracles, "_ORACLES", {})
    monkeypatch.setattr(deciding, "_DECIDED", {})  # decided afresh, not remembered
    loaded = oracle_cache.load(ex)
    assert loaded is not None
    oracles.install_oracle(loaded)
    again = [check(ex, a, symbolic_seconds=1.0).to_json() for a in answers]
    for d in fresh + again:
        d.pop("seconds")
    assert again == fresh


def test_a_corrupted_oracle_entry_is_not_used(tmp_path, monkeypatch):
    from gradproof.derive.seminar import oracle_cache
    from gradproof.derive.seminar.exercises import get

    monkeypatch.setenv("GRADPROOF_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("GRADPROOF_NO_CACHE", raising=False)
    monkeypatch.setattr(oracles, "_ORACLES", {})
    ex = get("linear_grad_W")
    oracle_cache.warm_oracles([ex.id])
    entry = tmp_path / (oracle_cache.oracle_key(ex) + ".entry")
    data = bytearray(entry.read_bytes())
    data[-5] ^= 0xFF
    entry.write_bytes(bytes(data))
    assert oracle_cache.load(ex) is None
    monkeypatch.setattr(oracles, "_ORACLES", {})
    assert oracle_cache.warm_oracles([ex.id]) == 1  # rebuilt (and stored again)
    assert oracle_cache.load(ex) is not None


def test_no_cache_means_no_oracle_entry(tmp_path, monkeypatch):
    from gradproof.derive.seminar import oracle_cache

    monkeypatch.setenv("GRADPROOF_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("GRADPROOF_NO_CACHE", "1")
    monkeypatch.setattr(oracles, "_ORACLES", {})
    assert oracle_cache.warm_oracles(["linear_grad_W"]) == 1
    assert not list(tmp_path.glob("*.entry"))


# ---------------------------------------------------------------------------
# Batches: several answers to one exercise in one process, trusted only when clean
# ---------------------------------------------------------------------------

_MIXED = [
    "Z^T Delta",
    "Delta^T Z",
    "2 Z^T Delta",
    "bomb",  # burns CPU until its limit: the batch did not run clean
    "-Z^T Delta",
    "__import__('os').system('id')",
    "((9^9)^9999)^9999",
    "poison",  # finishes, but wrecks what later checks rely on
    "Z.T @ Delta",
    "Z^T Delta / m",
    "X^T (",
]


def _hostile(ex_id, answer, symbolic_seconds):
    """The real check, except for a CPU bomb and an answer that poisons its process without hitting a limit."""
    if answer == "bomb":
        while True:
            pass
    if answer == "poison":
        sys.setrecursionlimit(120)
        for ex in list(oracles._ORACLES):
            oracles._ORACLES[ex] = object()
        return Verdict(exercise=ex_id, answer=answer, status="incorrect", decided_by="numeric")
    return _default_check(ex_id, answer, symbolic_seconds)


def _verdicts(batch: int, answers: list, check=_hostile):
    budget = dataclasses.replace(BUDGET, cpu_seconds=1)
    with WarmPool(workers=1, budget=budget, check=check, batch=batch) as pool:
        pool.warm(["linear_grad_W"])
        out = pool.run([(k, "linear_grad_W", a) for k, a in enumerate(answers)])
        rechecked = pool.rechecked
    return [{**out[k].to_json(), "seconds": None} for k in range(len(answers))], rechecked


def test_a_batch_with_a_bomb_and_a_poison_in_the_middle_gives_the_verdicts_of_one_by_one():
    alone, rechecked_alone = _verdicts(1, _MIXED)
    batched, rechecked = _verdicts(len(_MIXED), _MIXED)
    assert batched == alone
    assert rechecked_alone == 0 and rechecked == len(_MIXED)  # the batch was checked again, answer by answer
    by_answer = {d["answer"]: d for d in batched}
    assert (by_answer["bomb"]["status"], by_answer["bomb"]["decided_by"]) == ("undecided", "timeout")
    assert by_answer["Z.T @ Delta"]["status"] == "correct"  # checked after the poison, unaffected
    assert by_answer["Delta^T Z"]["mistake"] == "transposed"


def test_a_clean_batch_is_checked_in_one_process_with_the_verdicts_of_one_by_one():
    answers = [a for a in _MIXED if a not in ("bomb", "poison")]
    alone, _ = _verdicts(1, answers)
    batched, rechecked = _verdicts(len(answers), answers)
    assert batched == alone and rechecked == 0

    with WarmPool(workers=1, budget=BUDGET, check=_reporting, batch=3) as pool:
        out = pool.run([(k, "linear_grad_W", f"answer {k}") for k in range(7)])
    pids = [out[k].detail.split()[0] for k in range(7)]
    assert len(set(pids)) == 3  # batches of 3, 3 and 1
    assert pids[0] == pids[1] == pids[2] != pids[3] and str(os.getpid()) not in pids


def test_a_batch_over_its_wall_time_is_checked_again_one_by_one():
    def slow(ex_id, answer, symbolic_seconds):
        if answer == "slow":
            time.sleep(60)
        return _reporting(ex_id, answer, symbolic_seconds)

    budget = dataclasses.replace(BUDGET, wall_seconds=1.0)
    with WarmPool(workers=1, budget=budget, check=slow, batch=4) as pool:
        out = pool.run([(k, "linear_grad_W", a) for k, a in enumerate(["one", "slow", "two", "three"])])
        assert pool.rechecked == 4
    assert [out[k].status for k in range(4)] == ["correct", "undecided", "correct", "correct"]
    assert out[1].decided_by == "timeout"
    # checked alone: each answer in a process of its own, none saw another's leftovers
    assert len({out[k].detail.split()[0] for k in (0, 2, 3)}) == 3
    assert {out[k].detail.split()[1] for k in (0, 2, 3)} == {"0"}


def test_batches_hold_answers_to_one_exercise_and_keep_every_task():
    pool = WarmPool(workers=1, batch=2)
    tasks = [(k, ex, "a") for k, ex in enumerate(["e1", "e2", "e1@3", "e1", "e2"])]
    batches = pool._batches(tasks)
    assert sorted(t for b in batches for t in b) == sorted(tasks)
    assert all(len(b) <= 2 and len({pool._declared(t[1]) for t in b}) == 1 for b in batches)
    assert WarmPool(workers=1)._batches(tasks) == [[t] for t in tasks]
