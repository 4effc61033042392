"""Everything gradproof writes, written atomically: files and whole folders.

Files.  :func:`write_atomic` writes to a temporary name beside the target and
renames it over the target, so a reader (or a run killed half-way) sees the
old file or the new one, never half of one.  The file gets the permissions an
ordinary ``open(path, "w")`` would give it (``0o666`` less the umask), not
the private ``0o600`` of a temporary file.

Folders.  :class:`OutputFolder` builds a command's whole output in a
temporary sibling folder and, once complete, swaps it into place in one
rename (Linux ``renameat2(RENAME_EXCHANGE)``; elsewhere two renames).  So a
killed run leaves the previous complete output or the new complete one,
pages of an earlier run never linger, and a run that stops cleanly removes
its sibling.  A sibling left by a run killed with SIGKILL is removed by a
small watcher process the moment the run dies, and by the next run into the
same folder otherwise.  A lock file beside the folder keeps two runs from
writing it at once.

An existing folder is replaced only when it is empty or gradproof wrote it:
gradproof leaves a marker file (:data:`MARKER`) listing what it wrote, and
refuses a non-empty folder without one, or one that holds anything not in
its list, so that it never deletes a user's own files.

This module imports no SymPy (``gradproof --help`` and the generated code's
users stay fast) and nothing from ``reports``.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> write_atomic(d / "a.txt", "hello").read_text()
'hello'
>>> sorted(p.name for p in d.iterdir())
['a.txt']
>>> import shutil; shutil.rmtree(d)
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from gradproof.derive.support.lifetime import load_libc, signals_deferred

MARKER = ".gradproof-output"
_NEW, _OLD, _LOCK = "gradproof-new", "gradproof-old", "gradproof-lock"


class OutputError(Exception):
    """The output folder cannot be used as asked (one line for the user)."""


class FolderBusy(OutputError):
    """Another run holds the lock of this output folder."""


# ---------------------------------------------------------------------------
# Permissions and signals
# ---------------------------------------------------------------------------


def current_umask() -> int:
    """This process's umask, read without changing it where the system allows."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # no read-only call elsewhere: set and restore at once
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode a new file gets from the umask (``0o644`` under umask 022)."""
    return 0o666 & ~current_umask()


def dir_mode() -> int:
    """The mode a new folder gets from the umask (``0o755`` under umask 022)."""
    return 0o777 & ~current_umask()


# ---------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------


def write_atomic(path, data: str | bytes, mode: int | None = None) -> Path:
    """Write ``data`` to ``path`` through a temporary sibling and a rename.

    ``mode`` defaults to :func:`file_mode` (the umask's).  The parent folder
    is created (with the umask's mode) when missing.  Returns the path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        payload = data.encode("utf-8")
    elif isinstance(data, (bytes, bytearray, memoryview)):
        payload = bytes(data)
    else:
        raise TypeError(f"write_atomic writes str or bytes, not {type(data).__name__}")
    with signals_deferred():
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            os.fchmod(fd, file_mode() if mode is None else mode)
            with os.fdopen(fd, "wb") as fh:
                fh.write(payload)
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
    return path


# ---------------------------------------------------------------------------
# Folders
# ---------------------------------------------------------------------------


def _exchange(a: str, b: str) -> bool:
    """Swap two paths in one step (Linux renameat2); False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = load_libc()
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), b)


def _remove_lock_file(path: str) -> None:
    """Remove a dead run's lock file, unless another run holds it by now."""
    import fcntl

    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return
    try:
        # The dead run's descriptors close one by one as it exits: give its
        # lock a moment to go; a live run holding it removes the file itself.
        for _ in range(40):
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                time.sleep(0.025)
        else:
            return
        if os.stat(path).st_ino == os.fstat(fd).st_ino:
            os.unlink(path)  # while holding it: see OutputFolder._lock
    except OSError:
        pass
    finally:
        os.close(fd)


class _Janitor:
    """A watcher process that removes registered paths if this process dies.

    It reads ``+path`` / ``-path`` lines from a pipe; at end of file (this
    process exited, however it exited) it removes what is still registered.
    A ``!`` line means the run cleaned up itself: the watcher just exits.
    Forked workers inherit the pipe, so the end of file comes once they are
    gone too.
    """

    def __init__(self):
        r, w = os.pipe()
        with signals_deferred():
            pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            try:  # the signals stay blocked here, and ignored should they be unblocked
                for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                    signal.signal(sig, signal.SIG_IGN)
                os.close(w)
                paths: set[str] = set()
                buf, done = b"", False
                while not done:
                    chunk = os.read(r, 65536)
                    if not chunk:
                        break
                    buf += chunk
                    *lines, buf = buf.split(b"\n")
                    for line in lines:
                        if line == b"!":  # the run finished and cleaned up itself
                            done = True
                            break
                        p = os.fsdecode(line[1:])
                        (paths.add if line[:1] == b"+" else paths.discard)(p)
                for p in [] if done else sorted(paths, key=lambda p: p.endswith(_LOCK)):  # lock file last
                    if p.endswith(_LOCK):
                        _remove_lock_file(p)
                    elif os.path.isdir(p) and not os.path.islink(p):
                        shutil.rmtree(p, ignore_errors=True)
            finally:
                os._exit(0)
        os.close(r)
        self.pid, self.fd = pid, w

    def _send(self, line: bytes) -> None:
        if self.fd is not None:
            try:
                os.write(self.fd, line + b"\n")
            except OSError:  # the watcher is gone (killed alone): the next run sweeps instead
                pass

    def watch(self, path: str) -> None:
        self._send(b"+" + os.fsencode(path))

    def forget(self, path: str) -> None:
        self._send(b"-" + os.fsencode(path))

    def close(self) -> None:
        if self.fd is not None:
            # Say so explicitly: a forked worker still holding the pipe would
            # otherwise delay the end of file.
            self._send(b"!")
            os.close(self.fd)
            self.fd = None
            try:
                os.waitpid(self.pid, 0)
            except ChildProcessError:
                pass


def _walk(root: Path) -> list[str]:
    """Every entry under ``root`` as a relative path (folders end in '/'); links not followed."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        prefix = "" if rel == "." else rel + "/"
        out += [prefix + d + "/" for d in dirnames]
        out += [prefix + f for f in filenames]
    return sorted(out)


def _bytecode(entry: str) -> bool:
    """A cache Python writes when a generated module is imported (``__pycache__/`` and its ``.pyc`` files)."""
    parts = entry.rstrip("/").split("/")
    return "__pycache__" in parts and (entry.endswith("/") or entry.endswith(".pyc"))


class OutputFolder:
    """One command's output folder, built beside it and swapped in when complete.

    >>> import tempfile, pathlib
    >>> base = pathlib.Path(tempfile.mkdtemp())
    >>> with OutputFolder(base / "out", command="demo") as out:
    ...     _ = write_atomic(out.path / "page.html", "<p>new</p>")
    ...     out.commit()
    >>> sorted(p.name for p in (base / "out").iterdir())
    ['.gradproof-output', 'page.html']
    >>> sorted(p.name for p in base.iterdir())
    ['out']
    >>> import shutil; shutil.rmtree(base)

    ``command`` names the command (``grade``, ``report``, ``codegen``): a
    folder written by one is not replaced by another.  Write into
    :attr:`path`, then call :meth:`commit`; leaving the block without a
    commit discards everything written.
    """

    def __init__(self, target, command: str, follow_symlinks: bool = False):
        self.given = str(target)
        self.command = command
        self.follow_symlinks = follow_symlinks
        self.target: Path | None = None
        self.path: Path | None = None  # the staging folder, while open
        self.committed = False
        self._lock_fd = None
        self._lock_path = None
        self._janitor = None

    # -- opening -----------------------------------------------------------
    def _resolve(self) -> Path:
        given = self.given
        if not given or "\x00" in given:
            raise OutputError("the output folder name is empty or holds a NUL character")
        p = Path(os.path.abspath(given))
        bare = given.rstrip("/") or "/"  # "link/" names the link itself, not what it points to
        if os.path.islink(bare):
            if not self.follow_symlinks:
                raise OutputError(
                    f"{given} is a symbolic link; gradproof writes through a link only with --follow-symlinks"
                )
            p = Path(os.path.realpath(bare))
        if p.parent == p:
            raise OutputError(f"{given} is the root of the file system, not an output folder")
        cwd = Path(os.path.realpath(os.getcwd()))
        real = Path(os.path.realpath(p))
        if real == cwd or real in cwd.parents:
            raise OutputError(f"{given} is the current folder or holds it; name a folder inside it instead")
        if p.exists() and not p.is_dir():
            raise OutputError(f"{given} exists and is not a folder")
        return p

    def _lock(self, p: Path) -> None:
        import fcntl

        lock = p.parent / f".{p.name}.{_LOCK}"
        while True:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, file_mode())
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise FolderBusy(
                    f"another gradproof run is writing {self.given}; try again when it has finished"
                ) from None
            try:
                same = os.stat(lock).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:  # not a lock file that its holder removed while we waited
                self._lock_fd, self._lock_path = fd, lock
                return
            os.close(fd)

    def _sweep(self, p: Path) -> None:
        """Remove siblings left by a run that was killed (we hold the lock)."""
        for entry in p.parent.iterdir():
            name = entry.name
            if name.startswith(f".{p.name}.{_NEW}-") or name.startswith(f".{p.name}.{_OLD}-"):
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)

    def _check_existing(self, p: Path) -> None:
        if not p.is_dir():
            return
        entries = _walk(p)
        if not entries:
            return
        marker = p / MARKER
        try:
            info = json.loads(marker.read_text(encoding="utf-8"))
            listed = set(info["files"])
            command = str(info["command"] if "command" in info else info["kind"])  # "kind": its earlier name
        except (OSError, ValueError, KeyError, TypeError):
            raise OutputError(
                f"{self.given} is not empty and gradproof did not write it (no valid {MARKER}); "
                "choose a new or empty folder"
            ) from None
        if command != self.command:
            raise OutputError(
                f"{self.given} holds the output of `gradproof {command}`; write the {self.command} output into another folder"
            )
        foreign = [e for e in entries if e != MARKER and e not in listed and not _bytecode(e)]
        if foreign:
            shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
            raise OutputError(
                f"{self.given} holds files gradproof did not write ({shown}); move them away or choose another folder"
            )

    def open(self) -> OutputFolder:
        p = self._resolve()
        p.parent.mkdir(parents=True, exist_ok=True)  # OSError: the caller says it in its words
        # The watcher first: whatever this process creates from here on is
        # registered with it before it exists, so a SIGKILL at any moment
        # leaves nothing behind.
        self._janitor = _Janitor()
        staging = None
        try:
            self._janitor.watch(str(p.parent / f".{p.name}.{_LOCK}"))
            self._lock(p)
            self._sweep(p)
            self._check_existing(p)
            with signals_deferred():
                staging = tempfile.mkdtemp(prefix=f".{p.name}.{_NEW}-", dir=p.parent)
                self._janitor.watch(staging)
            mode = (p.stat().st_mode & 0o7777) if p.is_dir() else dir_mode()
            os.chmod(staging, mode)
        except BaseException:
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)
            self._release()
            raise
        self.target, self.path = p, Path(staging)
        return self

    def __enter__(self) -> OutputFolder:
        return self.open()

    # -- finishing ---------------------------------------------------------
    def final(self, p) -> Path:
        """Where a file written under :attr:`path` ends up after :meth:`commit` (as the user named it)."""
        return Path(self.given) / Path(p).relative_to(self.path)

    def commit(self) -> None:
        """Record what was written, then swap the new folder into place."""
        entries = [e for e in _walk(self.path) if e != MARKER]
        write_atomic(
            self.path / MARKER, json.dumps({"gradproof": 1, "command": self.command, "files": entries}, indent=1) + "\n"
        )
        staging, target = str(self.path), str(self.target)
        with signals_deferred():
            if os.path.isdir(target):
                if not _exchange(staging, target):
                    old = tempfile.mkdtemp(prefix=f".{self.target.name}.{_OLD}-", dir=self.target.parent)
                    self._janitor.watch(old)
                    os.rename(target, os.path.join(old, "x"))
                    os.rename(staging, target)
                    staging = old
                    self._janitor.forget(str(self.path))
                # ``staging`` now holds the previous output (watched: removed if we die here)
                shutil.rmtree(staging, ignore_errors=True)
            else:
                os.rename(staging, target)
            self._janitor.forget(staging)
            self.committed = True

    def _release(self) -> None:
        if self._lock_fd is not None:
            try:
                os.unlink(self._lock_path)  # while still holding it: see _lock
            except FileNotFoundError:
                pass
        if self._janitor is not None:
            self._janitor.close()
            self._janitor = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def close(self) -> None:
        try:
            if not self.committed and self.path is not None:
                with signals_deferred():
                    shutil.rmtree(self.path, ignore_errors=True)
                    if self._janitor is not None:
                        self._janitor.forget(str(self.path))
        finally:
            self._release()

    def __exit__(self, *exc) -> bool:
        self.close()
        return False
