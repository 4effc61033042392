"""Worker processes that never outlive the run that started them.

A worker calls :func:`die_with_parent` first thing: on Linux the kernel then
sends it SIGKILL the moment its parent dies, however the parent died
(SIGKILL, a crash, the out-of-memory killer).  Workers also ignore SIGINT,
so a Ctrl-C in the terminal reaches the parent alone, which stops its
workers itself and reports one line.

External programs (pdflatex) get the same promise through
:func:`guarded_command`, a tiny launcher that sets the death signal and then
executes the program.

This module imports no SymPy and nothing from gradproof.

>>> cmd = guarded_command(["true"])
>>> cmd[-1]
'true'
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
from contextlib import contextmanager

_PR_SET_PDEATHSIG = 1


def _prctl_pdeathsig(sig: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
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


_LAUNCHER = (
    "import ctypes,ctypes.util,os,sys\n"
    "try:\n"
    " ctypes.CDLL(ctypes.util.find_library('c') or None).prctl(1,9,0,0,0)\n"
    "except Exception:\n"
    " pass\n"
    "if os.getppid()!=int(sys.argv[1]):\n"
    " sys.exit(1)\n"
    "os.execvp(sys.argv[2],sys.argv[2:])\n"
)


def guarded_command(cmd: list[str]) -> list[str]:
    """``cmd`` wrapped so that the program is killed when this process dies (Linux)."""
    if not sys.platform.startswith("linux"):
        return list(cmd)
    return [sys.executable, "-I", "-c", _LAUNCHER, str(os.getpid()), *cmd]
