"""pdflatex started on a document's preamble before the document exists, fed the rest when it is written.

TeX reads its input as it goes.  :class:`EarlyPass` makes the main file in
pdflatex's work folder a named pipe, writes the document's known first
bytes into it (its preamble, up to and including ``\\begin{document}``) and
starts pdflatex: it loads the packages and fonts and then waits, reading
the pipe, while the report is still being derived.  :meth:`EarlyPass.finish`
writes the rest of the document and waits for the pass to end, then leaves
the whole document in the work folder as a regular file.  The pass reads
the same bytes in the same order as a pass over a regular file, so its PDF
and log are the same bytes (:mod:`gradproof.reports.writing` uses it for the
first pass of a compile and continues as for any pass).

Nothing here may hang or outlive the run: pdflatex runs under the guarded
launcher (:func:`gradproof.derive.support.lifetime.guarded_command`, which
kills it when this process dies), a pass that ended before its document was
written whole is :class:`Unusable` (the caller compiles the regular way),
and :meth:`EarlyPass.close` kills whatever still runs and removes the work
folder.  :class:`EarlyPasses` holds the passes of one run until each is
taken or closed.

This module imports no SymPy and nothing of gradproof's but the launcher.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

# how long a blocked write or wait looks again whether pdflatex still runs (seconds)
_POLL = 0.05
# how often, once the document is written, it looks whether pdflatex has read it all (seconds)
_DRAIN = 0.01
# the priority (nice value) of the early passes after the first: report.tex's pass is the run's last step,
# the companion's is shorter and runs beside it
LATER_NICE = 10


class Unusable(Exception):
    """The early pass cannot give this document's first pass (it ended before the document was whole, or
    its pipe failed): compile the regular way."""


class EarlyPass:
    """One pdflatex pass over ``work/tex_name``, a named pipe holding ``prefix`` until :meth:`finish`.

    Make it with :meth:`start`; end it with :meth:`finish` (then
    :meth:`close`) or :meth:`close` alone.  ``started``, ``fed`` and
    ``ended`` (``time.monotonic()``) and ``cpu`` (pdflatex's CPU seconds)
    say where its time went.
    """

    def __init__(self, work: Path, tex_name: str, prefix: bytes, cmd: list[str]):
        self.work, self.tex_name, self.prefix, self.cmd = work, tex_name, prefix, list(cmd)
        self.proc: subprocess.Popen | None = None
        self.fd: int | None = None  # the pipe's end this process writes (opened read-write: never blocks)
        self.out = None  # pdflatex's terminal output (a file: nothing has to drain it while the body is written)
        self.started = self.fed = self.ended = time.monotonic()
        self.cpu = 0.0
        self.done = False  # finish() ran to the end: the work folder holds the whole document
        self.feeding = threading.Event()  # set once the rest is being written, or the pass is closed

    @classmethod
    def start(cls, parent: Path, tex_name: str, prefix: bytes, cmd: list[str], env: dict, nice: int = 0) -> EarlyPass:
        """A work folder made in ``parent``, its ``tex_name`` a pipe holding ``prefix``, pdflatex started on it.

        ``cmd`` is the pass's command without the file name; it must not
        look for a ``%&format`` first line (``-no-parse-first-line``), which
        would read the pipe once before the pass does.  ``nice`` (optional)
        lowers pdflatex's scheduling priority by that much (``nice -n``),
        which changes no byte it writes.  Raises ``OSError`` (nothing left
        behind) when the pipe or the process cannot be made.
        """
        from gradproof.derive.support.lifetime import guarded_command

        work = Path(tempfile.mkdtemp(prefix=".gradproof-pdf-", dir=parent))
        early = cls(work, tex_name, prefix, cmd)
        try:
            pipe = work / tex_name
            os.mkfifo(pipe)
            # read-write: the open does not wait for a reader, and the preamble waits in the pipe's buffer
            early.fd = os.open(pipe, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
            if os.write(early.fd, prefix) != len(prefix):
                raise OSError("the preamble does not fit in the pipe's buffer")
            early.out = tempfile.TemporaryFile()  # noqa: SIM115  (closed by close())
            early.started = time.monotonic()
            niced = ["nice", "-n", str(nice)] if nice and shutil.which("nice") else []
            early.proc = subprocess.Popen(
                guarded_command([*niced, *cmd, tex_name]),
                cwd=work,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=early.out,
                stderr=subprocess.STDOUT,
            )
        except BaseException:
            early.close()
            raise
        return early

    def fits(self, source: bytes, cmd: list[str]) -> bool:
        """Whether this pass can be ``source``'s first pass under ``cmd``: it starts with the bytes fed, the
        command is the same and pdflatex still waits for the rest."""
        return (
            not self.done
            and self.proc is not None
            and self.proc.returncode is None
            and not self._exited()
            and list(cmd) == self.cmd
            and source.startswith(self.prefix)
        )

    def finish(self, source: bytes, timeout: float) -> tuple[int, bytes]:
        """Write the rest of ``source`` (which starts with the prefix) and wait for the pass: its exit status
        and terminal output.  The work folder's ``tex_name`` is then a regular file holding ``source``.

        pdflatex may end before the whole document is written: it stops
        reading at ``\\end{document}`` or at its first error
        (``-halt-on-error``).  It has then read the document from its start
        as far as a pass over the regular file reads, and ended on its own
        (exit status 0 or 1): that is the pass.  Raises :class:`Unusable`
        when it ended otherwise (a signal) before the document was whole,
        ``subprocess.TimeoutExpired`` (pdflatex killed) when the pass takes
        longer than ``timeout`` seconds.
        """
        if not self.fits(source, self.cmd):
            raise Unusable(
                f"the early pass of {self.tex_name} ended, or {self.tex_name} does not start with its prefix"
            )
        deadline = time.monotonic() + timeout
        self.fed = time.monotonic()
        self.feeding.set()
        rest = memoryview(source)[len(self.prefix) :]
        while rest and not self._exited():
            self._expire(deadline, timeout)
            _, ready, _ = select.select([], [self.fd], [], _POLL)
            if ready:
                try:
                    rest = rest[os.write(self.fd, rest) :]
                except BlockingIOError:
                    continue
        # Closing the last end a writer holds discards what the pipe still holds: before pdflatex has opened
        # it (a short document written whole into the buffer), that would be the document. So wait until
        # pdflatex has read it all (or ended); it then reads the end of the file.
        while _unread(self.fd) and not self._exited():
            self._expire(deadline, timeout)
            _sleep_until_exit(self.proc.pid, _DRAIN)
        os.close(self.fd)
        self.fd = None
        code = self._wait(deadline, timeout)
        if rest and code not in (0, 1):
            raise Unusable(f"pdflatex ended (status {code}) before {self.tex_name} was written whole")
        pipe = self.work / self.tex_name
        os.unlink(pipe)  # any further pass reads a regular file
        pipe.write_bytes(source)
        self.done = True
        self.out.seek(0)
        return code, self.out.read()

    def _exited(self) -> bool:
        """Whether pdflatex's launcher has ended (not reaped: :meth:`_wait` takes its CPU seconds)."""
        if self.proc.returncode is not None:
            return True
        try:
            return os.waitid(os.P_PID, self.proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
        except ChildProcessError:  # reaped elsewhere (Popen.poll)
            return True

    def _wait(self, deadline: float, timeout: float) -> int:
        """Reap the pass (its CPU seconds into ``cpu``); kill it at ``deadline``."""
        pid = self.proc.pid
        while True:
            got, status, usage = os.wait4(pid, os.WNOHANG)
            if got:
                break
            self._expire(deadline, timeout)
            _sleep_until_exit(pid, _POLL)
        self.ended = time.monotonic()
        self.cpu = usage.ru_utime + usage.ru_stime  # the launcher and pdflatex, which it waited for
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        return self.proc.returncode

    def _expire(self, deadline: float, timeout: float) -> None:
        """Past ``deadline``: kill the pass and raise ``subprocess.TimeoutExpired`` (``timeout`` seconds)."""
        if time.monotonic() > deadline:
            self._kill()
            raise subprocess.TimeoutExpired(self.proc.args, timeout)

    def _kill(self) -> None:
        """End pdflatex and its launcher (the launcher leads a process group of its own) and reap them."""
        from gradproof.derive.support.lifetime import signals_deferred

        proc = self.proc
        if proc is None or proc.returncode is not None:
            return
        with signals_deferred():
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):  # no group yet: the launcher has not started pdflatex
                proc.kill()
            proc.wait()
        self.ended = time.monotonic()

    def close(self) -> None:
        """Kill pdflatex if it runs, close the pipe and remove the work folder (again: nothing happens)."""
        self.feeding.set()
        self._kill()
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        if self.out is not None:
            self.out.close()
            self.out = None
        shutil.rmtree(self.work, ignore_errors=True)

    def __enter__(self) -> EarlyPass:
        return self

    def __exit__(self, *exc) -> bool:
        self.close()
        return False


def _unread(fd: int) -> int:
    """How many bytes the pipe ``fd`` holds, written and not yet read."""
    import fcntl
    import termios

    buf = bytearray(4)
    fcntl.ioctl(fd, termios.FIONREAD, buf)
    return int.from_bytes(buf, sys.byteorder)


def _sleep_until_exit(pid: int, seconds: float) -> None:
    """Wait up to ``seconds`` for process ``pid`` to end (at once when it does, where pidfds exist)."""
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        time.sleep(seconds / 10)
        return
    try:
        select.select([fd], [], [], seconds)
    finally:
        os.close(fd)


class EarlyPasses:
    """The early passes of one run, by file name: each is :meth:`take`-n by its compile, or closed here.

    Make it before starting any (so that whatever is started is closed
    however the run ends), :meth:`start` them, and :meth:`close` when the
    compiles are done or the run fails.
    """

    def __init__(self):
        self._passes: dict[str, EarlyPass] = {}
        self._lock = threading.Lock()
        self.finished: list[EarlyPass] = []  # the passes taken, for the run's timings

    def start(self, parent: Path, prefixes: dict[str, bytes], cmd: list[str], env: dict) -> list[str]:
        """Start a pass for each file name of ``prefixes`` in a work folder in ``parent``; the names started.

        The first runs at this process's priority; the others at a lower one
        (:data:`LATER_NICE`), so that on a busy machine they take what the
        run and the first pass leave.  A pass that cannot be started is left
        out (its document is compiled the regular way).  Call from the main
        thread, which lives as long as the run (the launcher's guard follows
        the thread that started it).
        """
        from gradproof.derive.support.lifetime import signals_deferred

        for k, (name, prefix) in enumerate(prefixes.items()):
            with signals_deferred():  # a stop lands once the pass is held here, so close() ends it
                try:
                    early = EarlyPass.start(parent, name, prefix, cmd, env, nice=LATER_NICE if k else 0)
                except OSError:
                    continue
                with self._lock:
                    self._passes[name] = early
        return sorted(self._passes)

    def get(self, tex_name: str) -> EarlyPass | None:
        """The pass started for ``tex_name`` and not yet taken (it stays here)."""
        with self._lock:
            return self._passes.get(tex_name)

    def take(self, tex_name: str) -> EarlyPass | None:
        """The pass started for ``tex_name``, now the caller's to finish and close (``None``: none)."""
        with self._lock:
            early = self._passes.pop(tex_name, None)
        if early is not None:
            self.finished.append(early)
        return early

    def drop(self, tex_name: str) -> None:
        """End the pass of ``tex_name``, not needed (e.g. its PDF was read back)."""
        with self._lock:
            early = self._passes.pop(tex_name, None)
        if early is not None:
            early.close()

    def close(self) -> None:
        """End every pass not taken."""
        with self._lock:
            left, self._passes = list(self._passes.values()), {}
        for early in left:
            early.close()
