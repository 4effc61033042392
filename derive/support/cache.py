"""The derivation cache: a derivation and its proofs, stored on disk by what decides them.

Deriving and proving a topic takes SymPy a second or more; nothing in the
result changes unless one of these does, so they make up an entry's key:

* the declaration: a built-in topic's name (its declaration is part of the
  source hash below), or a user module's whole spec text and path;
* gradproof's version and a hash of every ``.py`` file of the ``derive``
  package that runs (the engine, the proofs, the printers' inputs, the
  declarations; ``derive`` never imports ``numeric``, so no file there can
  change a derivation);
* the versions of SymPy, mpmath and lark, and of Python.

Besides derivations, the text ``gradproof derive`` printed is kept, under the
derivation's key plus the format (:func:`lookup_output`), so that a repeated
``derive`` needs neither SymPy nor the declarations.

Entries live in the user's cache folder (``platformdirs``), or in
``GRADPROOF_CACHE_DIR``; ``GRADPROOF_NO_CACHE=1`` (or ``--no-cache`` on the
command line) turns the cache off: it is then neither read nor written.

Every entry is authenticated, not merely checksummed: it carries an
HMAC-SHA256 over its key and its bytes, made with a random secret kept in the
folder (``key``, mode 0600).  An entry whose tag does not verify -- truncated,
flipped, written by another installation, or planted -- is ignored and
recomputed; its bytes are never unpickled, because unpickling runs code.
Entries are written to a temporary file in the same folder and renamed into
place, so a reader sees a whole entry or none, whatever other processes do.

When the folder cannot be used (read-only, missing, not a folder), gradproof
works without the cache and says so once, in one line on stderr.

This module imports neither SymPy nor the engine, so ``gradproof cache``
stays fast.

>>> import tempfile
>>> with tempfile.TemporaryDirectory() as folder:
...     c = Cache(folder)
...     c.put("0" * 64, {"result": 42}), c.get("0" * 64), c.get("1" * 64)
(True, {'result': 42}, None)
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import io
import os
import pickle
import secrets
import sys
import tempfile
from pathlib import Path

__all__ = [
    "Cache",
    "cache_dir",
    "clear",
    "disabled",
    "enabled",
    "fetch",
    "info",
    "load_entry",
    "lookup",
    "lookup_output",
    "save",
    "save_output",
    "store_entry",
    "topic_key",
]

# The first bytes of every entry; bump the number when the layout changes.
MAGIC = b"gradproof-derivation-cache 1\n"
_TAG = 32  # bytes of HMAC-SHA256
_SECRET = 32  # bytes of the per-folder secret
SUFFIX = ".entry"
KEY_FILE = "key"
_TMP_PREFIX = ".tmp-"
# An entry larger than this is not ours (the largest derivation pickles to
# well under a megabyte); it is not even read.
MAX_ENTRY_BYTES = 64 << 20

ENV_DIR = "GRADPROOF_CACHE_DIR"
ENV_OFF = "GRADPROOF_NO_CACHE"


class CacheUnusable(OSError):
    """The cache folder or its key cannot be used; the message says why."""


# -- Where, and whether ----------------------------------------------------------------------------


def cache_dir() -> Path:
    """The cache folder: ``$GRADPROOF_CACHE_DIR``, else the user's cache folder."""
    override = os.environ.get(ENV_DIR)
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("gradproof", appauthor=False)) / "derivations"


def enabled() -> bool:
    """False under ``--no-cache`` / ``GRADPROOF_NO_CACHE=1``."""
    return os.environ.get(ENV_OFF, "").strip().lower() not in ("1", "true", "yes", "on")


@contextlib.contextmanager
def disabled():
    """Within this block the cache is neither read nor written (nor in forked or spawned workers)."""
    old = os.environ.get(ENV_OFF)
    os.environ[ENV_OFF] = "1"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(ENV_OFF, None)
        else:
            os.environ[ENV_OFF] = old


# -- The store: authenticated entries, atomic writes -----------------------------------------------


class Cache:
    """One cache folder: ``get(key)`` and ``put(key, obj)`` with ``key`` a hex digest.

    Raises :class:`CacheUnusable` when the folder or its secret cannot be used;
    a bad *entry* is never an error, only a miss.
    """

    def __init__(self, folder):
        self.folder = Path(folder)
        self._secret: bytes | None = None

    # -- the secret ---------------------------------------------------------
    def secret(self, create: bool) -> bytes | None:
        """The folder's HMAC secret; made (mode 0600) when ``create`` and absent."""
        if self._secret is not None:
            return self._secret
        path = self.folder / KEY_FILE
        try:
            secret = self._read_secret(path)
        except FileNotFoundError:
            if not create:
                return None
            secret = self._make_secret(path)
        self._secret = secret
        return secret

    @staticmethod
    def _read_secret(path: Path) -> bytes:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        try:
            st = os.fstat(fd)
            # A secret others can read lets them forge entries; one others own
            # may have been planted.  Either way the folder is not ours to trust.
            if hasattr(os, "getuid") and (st.st_uid != os.getuid() or st.st_mode & 0o077):
                raise CacheUnusable(
                    f"{path} is readable or owned by another user; `gradproof cache clear` starts the cache afresh"
                )
            data = os.read(fd, _SECRET + 1)
        finally:
            os.close(fd)
        if len(data) != _SECRET:
            raise CacheUnusable(f"{path} is not a gradproof cache key; `gradproof cache clear` starts the cache afresh")
        return data

    def _make_secret(self, path: Path) -> bytes:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        secret = secrets.token_bytes(_SECRET)
        fd, tmp = tempfile.mkstemp(prefix=_TMP_PREFIX, dir=self.folder)  # mode 0600
        try:
            os.write(fd, secret)
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            # link, unlike rename, never replaces: when two processes create the
            # key at once, one wins and both then use the winner's secret
            os.link(tmp, path)
        except FileExistsError:
            return self._read_secret(path)
        except OSError:  # a file system without hard links
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                return self._read_secret(path)
            with os.fdopen(fd, "wb") as fh:
                fh.write(secret)
        finally:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        return secret

    def _tag(self, secret: bytes, key: str, payload: bytes) -> bytes:
        return hmac.new(secret, MAGIC + key.encode("ascii") + b"\n" + payload, hashlib.sha256).digest()

    def path(self, key: str) -> Path:
        if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
            raise ValueError("a cache key is a SHA-256 hex digest")
        return self.folder / (key + SUFFIX)

    # -- reading ------------------------------------------------------------
    def get(self, key: str, loads=pickle.loads):
        """The object stored under ``key``, or None (absent, or failing authentication)."""
        path = self.path(key)
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except FileNotFoundError:
            return None
        except OSError as err:
            if not self.folder.is_dir():
                raise CacheUnusable(f"{self.folder}: {err.strerror or err}") from None
            return None  # a symlink or an unreadable entry: not ours
        try:
            st = os.fstat(fd)
            if st.st_size > MAX_ENTRY_BYTES or st.st_size < len(MAGIC) + _TAG:
                return None
            blob = _read_all(fd, st.st_size)
        finally:
            os.close(fd)
        secret = self.secret(create=False)
        if secret is None or not blob.startswith(MAGIC):
            return None
        tag, payload = blob[len(MAGIC) : len(MAGIC) + _TAG], blob[len(MAGIC) + _TAG :]
        if not hmac.compare_digest(tag, self._tag(secret, key, payload)):
            return None
        # Authenticated: these bytes are exactly what this installation wrote.
        try:
            return loads(payload)
        except Exception:  # written by a gradproof whose classes have since moved
            return None

    # -- writing ------------------------------------------------------------
    def put(self, key: str, obj, dumps=None) -> bool:
        """Store ``obj`` under ``key`` atomically; False when it does not pickle."""
        path = self.path(key)
        try:
            payload = (dumps or _dumps)(obj)
        except Exception:  # an unpicklable derivation is simply not cached
            return False
        secret = self.secret(create=True)
        blob = MAGIC + self._tag(secret, key, payload) + payload
        fd, tmp = tempfile.mkstemp(prefix=_TMP_PREFIX, suffix=SUFFIX, dir=self.folder)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(blob)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return True

    # -- housekeeping ---------------------------------------------------------
    def entries(self) -> list[Path]:
        try:
            return sorted(p for p in self.folder.iterdir() if p.name.endswith(SUFFIX) and not p.name.startswith("."))
        except FileNotFoundError:
            return []

    def clear(self) -> int:
        """Remove every entry, stray temporary files and the secret; returns how many entries went.

        Other files in the folder are left alone: it may be a folder the user
        named for other things too.
        """
        n = 0
        try:
            names = list(self.folder.iterdir())
        except FileNotFoundError:
            return 0
        for p in names:
            entry = p.name.endswith(SUFFIX) and not p.name.startswith(".")
            if entry or p.name.startswith(_TMP_PREFIX) or p.name == KEY_FILE:
                try:
                    p.unlink()
                except FileNotFoundError:
                    continue
                n += entry
        self._secret = None
        return n


def _read_all(fd: int, size: int) -> bytes:
    chunks, left = [], size
    while left > 0:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _dumps(obj) -> bytes:
    buf = io.BytesIO()
    _ExactPickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(obj)
    return buf.getvalue()


class _ExactPickler(pickle.Pickler):
    """Pickles SymPy trees node for node, so that they load exactly as they were built.

    NOTE: SymPy's own pickling stores a node's arguments and calls its
    constructor on them when loading; the constructor evaluates, so a step
    the derivation shows unevaluated (a product not yet multiplied out) would
    come back rewritten, and with evaluation switched off instead, ``Sum``
    comes back as ``Sum(1*f, ...)``.  A compound node is therefore stored as
    its class, its arguments and its slots, and rebuilt without its
    constructor (:func:`_node`); atoms (symbols, numbers) and classes with
    their own pickling keep SymPy's.
    """

    def reducer_override(self, obj):
        basic = _sympy_basic()
        if basic is None or not isinstance(obj, basic) or obj.is_Atom:
            return NotImplemented
        cls = type(obj)
        # only nodes whose whole state is their arguments (SymPy's default pickling)
        if (
            cls.__reduce_ex__ is not basic.__reduce_ex__
            or cls.__getnewargs__ is not basic.__getnewargs__
            or cls.__getstate__ is not basic.__getstate__
            or getattr(cls, "args", None) is not basic.args
        ):
            return NotImplemented
        slots = {}
        for klass in cls.__mro__:
            for name in getattr(klass, "__slots__", ()):
                if name not in _BASIC_SLOTS and name not in slots and hasattr(obj, name):
                    slots[name] = getattr(obj, name)
        return _node, (cls, obj._args, slots, dict(getattr(obj, "__dict__", {})))


# Rebuilt by _node itself: the arguments, the hash (recomputed), the derived
# assumptions (recomputed on demand from the class's defaults).
_BASIC_SLOTS = {"_args", "_mhash", "_assumptions", "__weakref__", "__dict__"}


def _sympy_basic():
    sympy = sys.modules.get("sympy")
    return None if sympy is None else sympy.Basic


def _node(cls, args, slots, state):
    """A SymPy node with exactly these arguments and slots (no constructor, no evaluation)."""
    from sympy import Basic

    obj = Basic.__new__(cls, *args)
    for name, value in slots.items():
        object.__setattr__(obj, name, value)
    if state:
        obj.__dict__.update(state)
    return obj


# -- Keys ------------------------------------------------------------------------------------------

_FINGERPRINT: bytes | None = None
_DECLARED: dict = {}  # name -> topic, told by the registry (declare), so the cache never imports it


def _version(dist: str) -> str:
    """The installed version of a distribution, from its ``*.dist-info`` folder name on ``sys.path``.

    NOTE: ``importlib.metadata`` answers the same but costs more to import
    than the whole of a cached ``gradproof derive``; a folder listing does not.
    """
    want = dist.lower().replace("-", "_") + "-"
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            low = name.lower()
            for suffix in (".dist-info", ".egg-info"):
                if low.startswith(want) and low.endswith(suffix):
                    return name[len(want) : -len(suffix)]
    return "absent"


def source_hash(root=None) -> str:
    """SHA-256 over every ``.py`` file (path and bytes) under ``root``, the running ``gradproof.derive`` package by default."""
    root = Path(root) if root is not None else Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for p in sorted(root.rglob("*.py")):
        rel = p.relative_to(root).as_posix()
        if "__pycache__" in rel:
            continue
        h.update(rel.encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


def fingerprint() -> bytes:
    """Everything besides the declaration that decides a derivation (computed once per process)."""
    global _FINGERPRINT
    if _FINGERPRINT is None:
        parts = [
            "gradproof " + _version("gradproof"),
            "source " + source_hash(),
            "sympy " + _version("sympy"),
            "mpmath " + _version("mpmath"),
            "lark " + _version("lark"),
            "python " + sys.implementation.name + " " + sys.version,
        ]
        _FINGERPRINT = "\n".join(parts).encode()
    return _FINGERPRINT


def topic_key(topic) -> str | None:
    """The cache key of a topic's derivation, or None when the topic cannot be cached.

    Cached are the topics the registry's declaration files declared (their
    text is in the source hash) and user modules read from spec text.  A topic
    built some other way -- in a test, or by a caller's own code -- is derived
    afresh every time: nothing on disk identifies what it would derive.
    """
    if topic.category == "user":
        text = topic.extra.get("spec_text")
        if not isinstance(text, str):
            return None
        return _digest("spec", text, str(topic.extra.get("spec_path", "")))
    if _DECLARED.get(topic.name) is not topic:
        return None
    return _builtin_key(topic.name)


def declare(topics) -> None:
    """Record the topics gradproof's declaration files registered (their text is in the source hash)."""
    _DECLARED.update({t.name: t for t in topics})


def _builtin_key(name: str) -> str:
    return _digest("topic", name)


def _digest(*parts: str) -> str:
    h = hashlib.sha256(fingerprint())
    for part in parts:
        data = part.encode("utf-8", "surrogatepass")
        h.update(b"\0" + len(data).to_bytes(8, "big") + data)
    return h.hexdigest()


def _output_key(key: str, fmt: str) -> str:
    return hashlib.sha256(b"output\0" + key.encode() + b"\0" + fmt.encode("utf-8", "surrogatepass")).hexdigest()


# -- The entry point the registry uses -------------------------------------------------------------

_STORE: Cache | None = None
_BROKEN: str | None = None  # why the folder is unusable, once found


def _store() -> Cache:
    global _STORE
    folder = cache_dir()
    if _STORE is None or _STORE.folder != folder:
        _STORE = Cache(folder)
    return _STORE


def _give_up(err: BaseException) -> None:
    """Work on without the cache, saying so once per process (one line, no traceback)."""
    global _BROKEN
    if _BROKEN is None:
        if isinstance(err, OSError) and err.strerror and not isinstance(err, CacheUnusable):
            why = f"{err.filename or cache_dir()}: {err.strerror}"
        else:
            why = str(err)
        _BROKEN = why
        print(f"gradproof: working without the derivation cache: {why}", file=sys.stderr)


def usable() -> bool:
    """Whether the cache folder can be read and written; says once on stderr when it cannot.

    Commands check this before they start workers, so that an unusable
    folder is reported once, not once per process.
    """
    if _BROKEN is not None:
        return False
    store = _store()
    try:
        if store.folder.exists() and not store.folder.is_dir():
            raise CacheUnusable(f"{store.folder} is not a folder")
        store.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        store.secret(create=True)
        fd, tmp = tempfile.mkstemp(prefix=_TMP_PREFIX, dir=store.folder)
        os.close(fd)
        os.unlink(tmp)
    except OSError as err:
        _give_up(err)
        return False
    return True


def fetch(topic, build):
    """``build(topic)``, or the stored result of an earlier identical call.

    A fresh result is stored for the next run.  Nothing here raises because
    of the cache: an unusable folder means deriving afresh.
    """
    hit = lookup(topic)
    if hit is not None:
        return hit
    d = build(topic)
    save(topic, d)
    return d


def lookup(topic):
    """The stored derivation of ``topic``, or None (absent, not authentic, or cache off)."""
    key = _key(topic)
    hit = None if key is None else load_entry(key)
    return hit if _is_derivation_of(hit, topic) else None


def save(topic, derivation) -> None:
    """Store a fresh derivation of ``topic`` (no-op when the cache is off or unusable)."""
    key = _key(topic)
    if key is not None:
        store_entry(key, derivation)


def load_entry(key: str):
    """The object stored under ``key`` (a hex digest), or None; the caller checks what it got back."""
    if enabled() and _BROKEN is None:
        try:
            return _store().get(key)
        except OSError as err:
            _give_up(err)
    return None


def store_entry(key: str, obj) -> None:
    """Store ``obj`` under ``key`` atomically (no-op when the cache is off or unusable)."""
    if enabled() and _BROKEN is None:
        try:
            _store().put(key, obj)
        except OSError as err:
            _give_up(err)


def lookup_output(name: str, fmt: str) -> str | None:
    """What ``gradproof derive NAME`` printed last time in ``fmt`` (the format and whatever else decides it), or None.

    Keyed by the declared topic's name: found without loading the
    declarations or SymPy, so a repeated ``derive`` prints in a blink.  Only
    outputs of declared topics are ever stored (:func:`save_output`), and the
    key holds the source hash, so a name that is not a declared topic of
    this very source never matches.
    """
    if not enabled() or _BROKEN is not None:
        return None  # before the key: a disabled cache costs no source hash
    out = load_entry(_output_key(_builtin_key(name), fmt))
    return out if isinstance(out, str) else None


def save_output(topic, fmt: str, text: str) -> None:
    """Store the printed derivation of a declared topic (user modules are not stored)."""
    key = _key(topic)
    if key is not None and topic.category != "user":
        store_entry(_output_key(key, fmt), text)


def _key(topic) -> str | None:
    if not enabled() or _BROKEN is not None:
        return None
    return topic_key(topic)


def _is_derivation_of(obj, topic) -> bool:
    from gradproof.derive.engine.derivation import Derivation

    return isinstance(obj, Derivation) and obj.topic == topic.name


# -- ``gradproof cache`` ---------------------------------------------------------------------------


def info() -> dict:
    """Where the cache is, how many entries it holds and their size in bytes (creates nothing)."""
    c = Cache(cache_dir())
    entries = c.entries()
    size = 0
    for p in entries:
        with contextlib.suppress(OSError):
            size += p.stat().st_size
    return {"path": str(c.folder), "entries": len(entries), "bytes": size, "enabled": enabled()}


def clear() -> int:
    """Remove every entry; returns how many."""
    return Cache(cache_dir()).clear()
