"""Helpers for the fault tests: run gradproof, stop it, inspect what is left.

A run is started in a session of its own, so that every process it forks
(workers, the folder watcher, pdflatex) shares its process-group id; a scan
of /proc for that group finds every survivor, wherever it was reparented.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "gradproof.reports.cli", *args]


def run_env() -> dict:
    """The environment of a command run by a test: PYTHONPATH names the folder this gradproof is imported from."""
    import gradproof

    here = str(Path(gradproof.__file__).parent.parent)
    return dict(os.environ, PYTHONPATH=os.pathsep.join([here, *filter(None, [os.environ.get("PYTHONPATH")])]))


def start(args: list[str], cwd: Path = ROOT) -> subprocess.Popen:
    """``args`` in a session of its own (its processes found by it), running this gradproof."""
    return subprocess.Popen(
        args,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env=run_env(),
    )


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes in process group or session ``pgid`` (a run
    started by :func:`start` leads both; a launcher may make a group of its own)."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, pgrp, session = fields[0], int(fields[2]), int(fields[3])
        if pgid in (pgrp, session) and state not in ("Z", "X"):
            out.append(int(entry))
    return out


def survivors_after(pgid: int, seconds: float = 3.0) -> list[int]:
    """Wait up to ``seconds`` for the group to empty; whoever is left then."""
    deadline = time.monotonic() + seconds
    while True:
        left = group_members(pgid)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def reap_group(pgid: int) -> None:
    """Test hygiene only: kill what a failed run left (the test has already failed)."""
    for pid in group_members(pgid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (relative path -> sha256); folders end in '/'."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        rel = os.path.relpath(dirpath, folder)
        prefix = "" if rel == "." else rel + "/"
        for d in dirnames:
            out[prefix + d + "/"] = ""
        for f in filenames:
            out[prefix + f] = hashlib.sha256((Path(dirpath) / f).read_bytes()).hexdigest()
    return out


def debris(parent: Path) -> list[str]:
    """Temporary files anywhere under ``parent``, and any sibling that is not the output."""
    bad = []
    for dirpath, dirnames, filenames in os.walk(parent):
        for name in dirnames + filenames:
            if (
                name.endswith(".tmp")
                or ".gradproof-new-" in name
                or ".gradproof-old-" in name
                or name.endswith(".gradproof-lock")
            ):
                bad.append(os.path.relpath(os.path.join(dirpath, name), parent))
    return bad
