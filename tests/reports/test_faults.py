"""Fault tests: SIGKILL and SIGTERM at random moments of `grade`, `report` and `codegen`.

For each command, an output folder first holds a complete earlier result A.
The command is then started on other input B and stopped by a signal after
a seeded random delay spread over a whole run.  Afterwards:

* no process of the run is alive 3 s later (workers, the folder watcher);
* no temporary file or sibling folder is left anywhere;
* the folder holds A byte for byte, or B complete (its marker lists exactly
  the files present, and the file set is a finished run's);
* SIGTERM ends the run with exit 143 and one line (or the run had already
  finished, exit 0), never a traceback.

Runs go four at a time, each into a folder of its own: 20 per command by
default (10 per signal), more with ``GRADPROOF_FAULT_RUNS``.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from faultlib import cli, debris, reap_group, snapshot, start, survivors_after

# 10 SIGKILL + 10 SIGTERM per command by default (about a minute on two
# cores); GRADPROOF_FAULT_RUNS=20 doubles it.
RUNS_PER_SIGNAL = max(10, int(os.environ.get("GRADPROOF_FAULT_RUNS", "10")))
PARALLEL = 4

CLASS_A = "student,exercise,answer\nann,logreg_grad,X^T(yhat - y)\nabe,linear_grad_W,Z^T Delta\n"
CLASS_B = "student,exercise,answer\n" + "".join(
    f"b{k},{ex},{ans}\n"
    for k, (ex, ans) in enumerate(
        [
            ("logreg_grad", "X^T(yhat - y)"),
            ("logreg_grad", "X^T(y - yhat)"),
            ("linear_grad_W", "Delta^T Z"),
            ("linear_grad_W", "Z^T Delta"),
            ("sigmoid_bce_grad", "yhat - y"),
            ("logreg_grad", "X (yhat - y)"),
            ("linear_grad_W", "Z Delta"),
            ("logreg_grad", "2 X^T(yhat - y)"),
        ]
    )
)

COMMANDS = {
    # command: (args for A, args for B); "{out}" is the output folder, "{dir}" the run's folder
    "grade": (["grade", "{dir}/a.csv", "-o", "{out}"], ["grade", "{dir}/b.csv", "-o", "{out}"]),
    "report": (  # --no-cache: every run derives (a stored report would be published in a blink)
        ["report", "affine", "-o", "{out}", "--format", "html", "--no-cache"],
        ["report", "relu", "sigmoid", "-o", "{out}", "--format", "html,latex", "--no-cache"],
    ),
    "codegen": (
        ["codegen", "affine", "-o", "{out}"],
        ["codegen", "relu", "sigmoid", "tanh", "softmax", "mse", "-o", "{out}"],
    ),
}


def _args(template, folder):
    return cli(*[a.format(out=folder / "out", dir=folder) for a in template])


def _prepare(folder):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "a.csv").write_text(CLASS_A)
    (folder / "b.csv").write_text(CLASS_B)


def _complete_run(args) -> float:
    t0 = time.monotonic()
    p = start(args)
    out, err = p.communicate(timeout=300)
    assert p.returncode == 0, err
    return time.monotonic() - t0


@pytest.fixture(scope="module")
def references(tmp_path_factory):
    """Per command: A's exact files, B's file set, and how long a B run takes."""
    refs = {}
    for name, (a_args, b_args) in COMMANDS.items():
        base = tmp_path_factory.mktemp(f"ref-{name}")
        _prepare(base / "a")
        _complete_run(_args(a_args, base / "a"))
        _prepare(base / "b")
        seconds = _complete_run(_args(b_args, base / "b"))
        refs[name] = {
            "a_dir": base / "a" / "out",
            "a": snapshot(base / "a" / "out"),
            "b": set(snapshot(base / "b" / "out")),
            "seconds": seconds,
        }
        assert refs[name]["a"].keys() != refs[name]["b"]
    return refs


def _one_run(name, ref, folder, sig, delay):
    """Start a B run over a folder holding A, signal it after ``delay`` s; return what went wrong."""
    _prepare(folder)
    shutil.copytree(ref["a_dir"], folder / "out", symlinks=True)
    p = start(_args(COMMANDS[name][1], folder))
    time.sleep(delay)
    if p.poll() is None:
        os.kill(p.pid, sig)  # the main process only: the workers must notice by themselves
    try:
        _, err = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        reap_group(p.pid)
        return [f"{name}: {sig.name} at {delay:.2f} s: the run did not stop within 60 s"]
    problems = []
    left = survivors_after(p.pid, 3.0)
    if left:
        reap_group(p.pid)
        problems.append(f"processes alive 3 s after {sig.name}: {left}")
    bad = debris(folder)
    if bad:
        problems.append(f"left behind: {bad}")
    files = snapshot(folder / "out") if (folder / "out").is_dir() else None
    if files is None:
        problems.append("the output folder is gone")
    elif files != ref["a"]:
        if set(files) != ref["b"]:
            problems.append(f"a mixture: {sorted(set(files) ^ ref['b'])[:5]} differ from a complete new run")
        else:
            marker = json.loads((folder / "out" / ".gradproof-output").read_text())
            if set(marker["files"]) | {".gradproof-output"} != set(files):
                problems.append("the marker does not list the files present")
    if "Traceback" in err:
        problems.append(f"a traceback: {err[-500:]}")
    if sig == signal.SIGTERM:
        if p.returncode == 143:
            lines = err.splitlines()
            # a signal that came after the run finished (cli.main: "it finished, but say so") follows the
            # run's own summary line; the folder then holds the complete new run
            late = len(lines) == 2 and files is not None and set(files) == ref["b"] and "gradproof" not in lines[0]
            if not (len(lines) == 1 or late) or "terminated" not in lines[-1] or not err.endswith("\n"):
                problems.append(f"SIGTERM: not one line: {err!r}")
        elif p.returncode not in (0, -signal.SIGTERM):  # finished first / before Python took the signal
            problems.append(f"SIGTERM: exit {p.returncode}: {err[-300:]!r}")
    return [f"{name}: {sig.name} at {delay:.2f} s: {x}" for x in problems]


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_killed_runs_leave_old_or_new_never_a_mixture(name, references, tmp_path):
    ref = references[name]
    rng = random.Random(f"faults-{name}")
    # spread over a whole run (four runs share the cores: a run takes longer than alone)
    span = ref["seconds"] * 1.6
    plan = [(sig, rng.uniform(0.05, span)) for sig in (signal.SIGKILL, signal.SIGTERM) for _ in range(RUNS_PER_SIGNAL)]
    with ThreadPoolExecutor(PARALLEL) as pool:
        results = list(pool.map(lambda k: _one_run(name, ref, tmp_path / f"run{k}", *plan[k]), range(len(plan))))
    problems = [p for r in results for p in r]
    assert not problems, "\n".join(problems)
    assert len(plan) >= 20


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read()
    except OSError:
        return b""


def _wait_for_workers(p, at_least: int, timeout: float = 120.0, forks_only: bool = True) -> list[int]:
    """Wait until the run has more than ``at_least`` processes; with ``forks_only``,
    count only forks of the run itself (its workers and folder watcher), not a
    short-lived helper program."""
    from faultlib import group_members

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and p.poll() is None:
        members = group_members(p.pid)
        if forks_only:
            own = _cmdline(p.pid)
            members = [m for m in members if _cmdline(m) == own]
        if len(members) > at_least:
            return members
        time.sleep(0.02)
    raise AssertionError(f"the run never had {at_least} workers (exit {p.poll()})")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


SLOW_CLASS = "student,exercise,answer\n" + "".join(f"s{k},logreg_grad,X^T(yhat - y) + {k} X^T y\n" for k in range(40))


@pytest.mark.parametrize(
    "sig, group",
    [(signal.SIGINT, False), (signal.SIGTERM, False), (signal.SIGINT, True)],
    ids=["SIGINT", "SIGTERM", "Ctrl-C to the whole group"],
)
def test_a_signal_while_workers_check_answers_stops_grade_cleanly(sig, group, tmp_path):
    (tmp_path / "c.csv").write_text(SLOW_CLASS)
    p = start(cli("grade", str(tmp_path / "c.csv"), "-o", str(tmp_path / "out")))
    workers = _wait_for_workers(p, 2)  # the run, its folder watcher, a worker
    (os.killpg if group else os.kill)(p.pid, sig)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 128 + sig, (out, err)
    assert err.count("\n") == 1 and "stopped cleanly" in err and "Traceback" not in err, err
    assert survivors_after(p.pid, 3.0) == []
    assert not [w for w in workers if _alive(w)]
    assert os.listdir(tmp_path) == ["c.csv"]  # no folder, no sibling, no lock file


def test_sigterm_while_the_report_derives_stops_cleanly(tmp_path):
    p = start(cli("report", "affine", "relu", "sigmoid", "-o", str(tmp_path / "r"), "--format", "html", "--no-cache"))
    _wait_for_workers(p, 2)
    os.kill(p.pid, signal.SIGTERM)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 143, err
    assert err.count("\n") == 1 and "terminated" in err and "Traceback" not in err, err
    assert survivors_after(p.pid, 3.0) == []
    assert os.listdir(tmp_path) == []


def test_sigkill_of_the_run_takes_its_workers_along(tmp_path):
    (tmp_path / "c.csv").write_text(SLOW_CLASS)
    p = start(cli("grade", str(tmp_path / "c.csv"), "-o", str(tmp_path / "out")))
    _wait_for_workers(p, 2)
    os.kill(p.pid, signal.SIGKILL)
    p.communicate(timeout=60)
    assert survivors_after(p.pid, 3.0) == []
    assert os.listdir(tmp_path) == ["c.csv"]


def test_an_external_program_and_its_children_die_with_the_run(tmp_path):
    """pdflatex's stand-in: a shell that starts a child of its own; the run is SIGKILLed."""
    code = (
        "import os, sys, subprocess; sys.path.insert(0, os.getcwd())\n"
        "from gradproof.derive.support.lifetime import run_guarded\n"
        "print('ready', flush=True)\n"
        "run_guarded(['sh', '-c', 'sleep 60 & sleep 60'])\n"
    )
    p = start([sys.executable, "-c", code])
    assert p.stdout.readline().strip() == "ready"
    _wait_for_workers(p, 3, forks_only=False)  # the run, the launcher, sh, the sleeps
    os.kill(p.pid, signal.SIGKILL)
    p.communicate(timeout=60)
    assert survivors_after(p.pid, 3.0) == []


def test_a_timeout_kills_the_program_and_its_children():
    from gradproof.derive.support.lifetime import run_guarded

    marker = f"61.{os.getpid()}"  # a duration no other process sleeps
    with pytest.raises(subprocess.TimeoutExpired):
        run_guarded(["sh", "-c", f"sleep {marker} & sleep {marker}"], timeout=0.5)
    assert run_guarded(["sh", "-c", "exit 3"]).returncode == 3
    deadline = time.monotonic() + 3
    while _named(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _named(marker)


def _named(text):
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as fh:
                    if text.encode() in fh.read() and _alive(int(entry)):
                        found.append(int(entry))
            except OSError:
                pass
    return found
