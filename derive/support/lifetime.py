"""Worker processes that never outlive the run that started them.

A worker calls :func:`die_with_parent` first thing: on Linux the kernel then
sends it SIGKILL the moment its parent dies, however the parent died
(SIGKILL, a crash, the out-of-memory killer).  Workers also ignore SIGINT,
so a Ctrl-C in the terminal reaches the parent alone, which stops its
workers itself and reports one line.

External programs (pdflatex, latexmk) get the same promise through
:func:`run_guarded`: a tiny launcher leads a process group, runs the program,
and kills the whole group when this process dies.

This module imports no SymPy and nothing from gradproof.

>>> cmd = guarded_command(["true"])
>>> cmd[-1]
'true'
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
from contextlib import contextmanager

_PR_SET_PDEATHSIG = 1


def load_libc():
    """The C library, from the symbols already loaded (no search: finding it by
    name would start ldconfig, a process of its own, in every worker)."""
    return ctypes.CDLL(None, use_errno=True)


def _prctl_pdeathsig(sig: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = load_libc()
        return libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


@contextmanager
def signals_deferred():
    """Hold SIGINT/SIGTERM back until the block ends (then they act at once).

    Used around writes and renames (each happens whole or not at all) and
    around every fork: a signal handled inside the fork hooks of the
    interpreter would be reported and lost instead of stopping the run.
    Only the main thread receives Python's signals; elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def die_with_parent(parent_pid: int | None = None) -> None:
    """Make this (forked) process die when its parent dies; ignore Ctrl-C.

    ``parent_pid`` is the pid the worker expects as its parent: if that
    parent already died between the fork and this call, exit at once.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if hasattr(signal, "pthread_sigmask"):  # forked under signals_deferred(): take signals again
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
    _prctl_pdeathsig(signal.SIGKILL)
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(1)


# The launcher leads a process group of its own and runs the program as its
# child.  When the launcher's parent dies, the kernel sends it SIGTERM
# (PR_SET_PDEATHSIG) and it kills its whole group: the program and whatever
# the program started (latexmk's pdflatex runs).
_LAUNCHER = """
import ctypes, os, signal, sys
def stop(*_):
    try:
        os.killpg(0, signal.SIGKILL)
    finally:
        os._exit(137)
os.setpgid(0, 0)
signal.signal(signal.SIGTERM, stop)
try:
    ctypes.CDLL(None).prctl(1, signal.SIGTERM, 0, 0, 0)
except Exception:
    pass
if os.getppid() != int(sys.argv[1]):
    stop()
pid = os.fork()
if pid == 0:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    except OSError as err:
        print(f"cannot run {sys.argv[2]}: {err.strerror}", file=sys.stderr)
    os._exit(127)
code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
sys.exit(code if code >= 0 else 128 - code)
"""


def guarded_command(cmd: list[str]) -> list[str]:
    """``cmd`` wrapped so that it and its children are killed when this process dies (Linux)."""
    if not sys.platform.startswith("linux"):
        return list(cmd)
    return [sys.executable, "-I", "-c", _LAUNCHER, str(os.getpid()), *cmd]


def run_guarded(cmd: list[str], timeout: float | None = None, **kwargs):
    """``subprocess.run`` for an external program that must never outlive the run.

    The program runs under :func:`guarded_command`; on a timeout, a signal or
    any other exception here, its whole process group is killed and reaped
    before the exception goes on.
    """
    import subprocess

    proc = subprocess.Popen(guarded_command(cmd), **kwargs)
    try:
        out, err = proc.communicate(timeout=timeout)
    except BaseException:
        with signals_deferred():
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # the launcher's own group
            except (ProcessLookupError, PermissionError):
                proc.kill()
            proc.wait()
        raise
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
