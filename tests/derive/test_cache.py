"""The derivation cache (derive/support/cache.py): exact, authenticated, atomic, and off when asked.

Every test gets its own cache folder (``GRADPROOF_CACHE_DIR`` = ``tmp_path``).
"""

from __future__ import annotations

import json
import os
import pickle
import secrets
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gradproof.derive.lecture import registry
from gradproof.derive.support import cache

ROOT = Path(__file__).resolve().parents[2]
CHEAP = "relu"  # a declared topic that derives quickly


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """A fresh, private cache folder for this test; the process forgets earlier trouble."""
    where = tmp_path / "cache"
    monkeypatch.setenv(cache.ENV_DIR, str(where))
    monkeypatch.delenv(cache.ENV_OFF, raising=False)
    monkeypatch.setattr(cache, "_BROKEN", None)
    monkeypatch.setattr(cache, "_STORE", None)
    return where


def run(*args, env=None, **kw):
    full = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=ROOT, env=full, **kw)


def gradproof(*args, env=None):
    return run("-m", "gradproof.reports.cli", *args, env=env)


class Counting:
    """``topic.build`` that counts its calls."""

    def __init__(self, build):
        self.build, self.calls = build, 0

    def __call__(self, topic):
        self.calls += 1
        return self.build(topic)


def entries(where: Path) -> list[Path]:
    return sorted(where.glob("*" + cache.SUFFIX))


# ---------------------------------------------------------------------------
# A cached result is exactly what a fresh run prints (every topic, every format)
# ---------------------------------------------------------------------------

_PRINT_ALL = textwrap.dedent("""
    import json
    from gradproof.derive.support import cache
    from gradproof.derive.lecture import registry
    from gradproof.derive.output.codegen import generate
    from gradproof.derive.output.render import derivation_json, derivation_latex, derivation_text
    from gradproof.reports.errata import attach  # what `gradproof derive` adds to a lecture topic

    out, hits = {}, []
    fresh = __import__("sys").argv[1] == "fresh"
    for t in registry.topics():
        if fresh:  # derived in this process, then stored
            with cache.disabled():
                d = registry.derive(t)
            cache.save(t, d)
        else:
            if cache.lookup(t) is not None:
                hits.append(t.name)
            d = registry.derive(t)
        d = attach(d)
        out[t.name] = {"text": derivation_text(d), "latex": derivation_latex(d),
                       "json": json.dumps(derivation_json(d), indent=2), "passed": d.passed,
                       "code": generate(d) if d.code is not None else None}
    print(json.dumps({"hits": hits, "out": out}))
""")


def test_every_topic_prints_the_same_from_the_cache_as_fresh(folder, capsys, monkeypatch):
    env = {cache.ENV_DIR: str(folder)}
    fresh = run("-c", _PRINT_ALL, "fresh", env=env)
    assert fresh.returncode == 0, fresh.stderr
    fresh = json.loads(fresh.stdout)
    names = [t.name for t in registry.topics()]
    assert fresh["hits"] == [] and sorted(fresh["out"]) == sorted(names)
    assert len(entries(folder)) == len(names)
    assert sum(v["code"] is not None for v in fresh["out"].values()) >= 10  # generated code compared too

    again = run("-c", _PRINT_ALL, "cached", env=env)
    assert again.returncode == 0, again.stderr
    again = json.loads(again.stdout)
    assert sorted(again["hits"]) == sorted(names)  # every derivation came from the cache
    for name in names:
        for fmt in ("text", "latex", "json", "passed", "code"):
            assert again["out"][name][fmt] == fresh["out"][name][fmt], f"{name}: {fmt} differs from the cache"

    # `gradproof derive` itself: the first run prints from the cached derivation
    # and stores what it printed, the second prints that without deriving
    from gradproof.reports import cli

    monkeypatch.setattr(registry, "_CACHE", {})  # this process's derivations: none yet, all from disk
    for name in names:
        for fmt in ("text", "latex", "json"):
            want = fresh["out"][name][fmt] + "\n"
            for _ in range(2):
                assert cli.main(["derive", name, "--format", fmt]) == 0
                assert capsys.readouterr().out == want, f"gradproof derive {name} --format {fmt}"
    assert len(entries(folder)) == 4 * len(names)


def test_derive_from_the_cache_needs_no_sympy(folder):
    first = gradproof("derive", CHEAP, "--format", "latex")
    assert first.returncode == 0, first.stderr
    code = (
        "import sys; from gradproof.reports.cli import main\n"
        f"rc = main(['derive', {CHEAP!r}, '--format', 'latex'])\n"
        "assert rc == 0 and 'sympy' not in sys.modules, sorted(m for m in sys.modules if 'sympy' in m)[:3]"
    )
    again = run("-c", code)
    assert again.returncode == 0, again.stderr
    assert again.stdout == first.stdout


# ---------------------------------------------------------------------------
# Keys: everything that decides a derivation, and only declared topics
# ---------------------------------------------------------------------------


def test_key_changes_with_source_versions_and_declaration(folder, monkeypatch, tmp_path):
    topic = registry.get(CHEAP)
    key = cache.topic_key(topic)
    assert key == cache.topic_key(topic) and len(key) == 64
    assert cache.topic_key(registry.get("tanh")) != key

    # one byte of one source file changes the source hash
    src = tmp_path / "src"
    for p in Path(cache.__file__).parents[1].rglob("*.py"):
        dest = src / p.relative_to(Path(cache.__file__).parents[1])
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(p.read_bytes())
    assert cache.source_hash(src) == cache.source_hash()
    engine = src / "engine" / "modules.py"
    engine.write_bytes(engine.read_bytes() + b"\n")
    assert cache.source_hash(src) != cache.source_hash()

    real = cache._version
    assert real("sympy") == __import__("sympy").__version__

    def other(dist):
        return lambda d: "0.0.1" if d == dist else real(d)

    for what, target, name, value in [
        ("source", cache, "source_hash", lambda root=None: "0" * 64),
        ("SymPy version", cache, "_version", other("sympy")),
        ("mpmath version", cache, "_version", other("mpmath")),
        ("gradproof version", cache, "_version", other("gradproof")),
        ("Python version", sys, "version", "2.7.18 (planted)"),
    ]:
        with monkeypatch.context() as m:
            m.setattr(cache, "_FINGERPRINT", None)
            m.setattr(target, name, value)
            assert cache.topic_key(topic) != key, f"the key ignores the {what}"
    monkeypatch.setattr(cache, "_FINGERPRINT", None)
    assert cache.topic_key(topic) == key


def test_topics_not_declared_are_never_cached(folder):
    declared = registry.get(CHEAP)
    from dataclasses import replace

    twin = replace(declared)  # same name and declaration, but not the declared object
    build = Counting(declared.build)
    assert cache.topic_key(twin) is None
    cache.fetch(twin, build)
    cache.fetch(twin, build)
    assert build.calls == 2 and entries(folder) == []
    user = registry.Topic(
        "not_from_a_spec", "t", "user", "s", 1.0, "", build=declared.build, declaration=declared.declaration
    )
    assert cache.topic_key(user) is None


def test_spec_modules_are_keyed_by_their_text(folder, tmp_path):
    from gradproof.derive.specs.spec import load_spec_topic

    path = tmp_path / "cube.toml"
    path.write_text('name = "cache_cube"\ncategory = "activation"\nforward = "s^3"\n')
    cube = load_spec_topic(path)  # a spec is derived as it is read: stored once
    assert len(entries(folder)) == 1
    build = Counting(cube.build)
    d = cache.fetch(cube, build)
    assert build.calls == 0  # from the cache
    assert "S^2" in str(d.result("backward").matrix) and d.passed

    for f in entries(folder):  # emptied: the same spec is derived again and stored again
        f.unlink()
    build = Counting(cube.build)
    assert str(cache.fetch(cube, build).result("backward").matrix) == str(d.result("backward").matrix)
    assert build.calls == 1 and len(entries(folder)) == 1

    path.write_text('name = "cache_cube"\ncategory = "activation"\nforward = "s^4"\n')
    quartic = load_spec_topic(path)
    assert cache.topic_key(quartic) != cache.topic_key(cube)
    assert len(entries(folder)) == 2  # another text, another entry
    build = Counting(quartic.build)
    assert "S^3" in str(cache.fetch(quartic, build).result("backward").matrix)
    assert build.calls == 0


# ---------------------------------------------------------------------------
# Authentication: nothing unverified is trusted, or even unpickled
# ---------------------------------------------------------------------------


@pytest.fixture
def stored(folder):
    """A declared topic derived once into the cache: (topic, fresh derivation, its entry)."""
    topic = registry.get(CHEAP)
    build = Counting(topic.build)
    d = cache.fetch(topic, build)
    assert build.calls == 1
    (entry,) = entries(folder)
    assert entry.name == cache.topic_key(topic) + cache.SUFFIX
    return topic, d, entry


def _printed(d) -> tuple:
    from gradproof.derive.output.render import derivation_json, derivation_latex, derivation_text

    return derivation_text(d), derivation_latex(d), json.dumps(derivation_json(d))


def _recomputed(topic, fresh) -> bool:
    """Fetch the topic again: True when it had to be derived afresh (it prints the same either way)."""
    build = Counting(topic.build)
    d = cache.fetch(topic, build)
    assert _printed(d) == _printed(fresh)
    return build.calls == 1


def test_a_clean_entry_is_used(stored):
    topic, fresh, _ = stored
    assert not _recomputed(topic, fresh)


@pytest.mark.parametrize("where", ["magic", "tag", "payload", "last"])
def test_a_flipped_byte_is_detected_and_recomputed(stored, where):
    topic, fresh, entry = stored
    blob = bytearray(entry.read_bytes())
    at = {"magic": 3, "tag": len(cache.MAGIC) + 5, "payload": len(cache.MAGIC) + 40, "last": len(blob) - 1}[where]
    blob[at] ^= 0x01
    entry.write_bytes(bytes(blob))
    assert _recomputed(topic, fresh)
    assert not _recomputed(topic, fresh)  # the recomputed result replaced the bad entry


@pytest.mark.parametrize("keep", [0, 10, len(cache.MAGIC) + 31, -1])
def test_a_truncated_entry_is_detected_and_recomputed(stored, keep):
    topic, fresh, entry = stored
    blob = entry.read_bytes()
    entry.write_bytes(blob[:keep] if keep >= 0 else blob[:-1])
    assert _recomputed(topic, fresh)


class _Planted:
    """Unpickling this creates a file: the proof that bytes were unpickled."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_planted_pickle_with_a_wrong_tag_is_never_unpickled(stored, tmp_path):
    topic, fresh, entry = stored
    marker = tmp_path / "unpickled"
    payload = pickle.dumps(_Planted(marker))
    pickle.loads(payload).close()  # the planted payload does run code when unpickled
    assert marker.exists()
    marker.unlink()
    entry.write_bytes(cache.MAGIC + secrets.token_bytes(32) + payload)
    assert _recomputed(topic, fresh)
    assert not marker.exists()


def test_an_authentic_entry_of_another_topic_is_rejected(stored, folder):
    topic, fresh, entry = stored
    other = registry.derive("tanh")
    assert cache.Cache(folder).put(cache.topic_key(topic), other)  # under relu's key
    assert _recomputed(topic, fresh)


def test_an_entry_moved_to_another_key_is_foreign(stored, folder):
    topic, fresh, entry = stored
    tanh = registry.get("tanh")
    moved = folder / (cache.topic_key(tanh) + cache.SUFFIX)
    moved.write_bytes(entry.read_bytes())  # authentic bytes, but made for the relu key
    build = Counting(tanh.build)
    d = cache.fetch(tanh, build)
    assert build.calls == 1 and d.topic == "tanh"


def test_an_entry_from_another_cache_is_foreign(stored, tmp_path):
    topic, fresh, entry = stored
    other = cache.Cache(tmp_path / "elsewhere")
    key = cache.topic_key(topic)
    other.put(key, fresh)
    entry.write_bytes((other.folder / entry.name).read_bytes())
    assert _recomputed(topic, fresh)


def test_a_replaced_key_file_invalidates_every_entry(stored, folder, monkeypatch):
    topic, fresh, entry = stored
    (folder / cache.KEY_FILE).write_bytes(secrets.token_bytes(32))
    monkeypatch.setattr(cache, "_STORE", None)  # a new process reads the new key
    assert _recomputed(topic, fresh)
    assert not _recomputed(topic, fresh)


def test_the_key_file_is_private(stored, folder):
    mode = (folder / cache.KEY_FILE).stat().st_mode & 0o777
    assert mode == 0o600
    assert len((folder / cache.KEY_FILE).read_bytes()) == 32


@pytest.mark.parametrize("bad", ["short", "shared"])
def test_a_bad_key_file_means_working_without_the_cache(stored, folder, monkeypatch, capsys, bad):
    topic, fresh, entry = stored
    key = folder / cache.KEY_FILE
    if bad == "short":
        key.write_bytes(b"12345")
    else:
        key.chmod(0o644)  # others could read it and forge entries
    monkeypatch.setattr(cache, "_STORE", None)
    assert _recomputed(topic, fresh)
    assert _recomputed(topic, fresh)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "working without the derivation cache" in err and str(key) in err


@given(data=st.data())
def test_any_damage_to_an_entry_is_a_miss(tmp_path_factory, data):
    c = cache.Cache(tmp_path_factory.mktemp("c"))
    key = "ab" * 32
    value = {"W": [1.5, -2.0], "text": "Delta W^T"}
    assert c.put(key, value)
    path = c.path(key)
    blob = bytearray(path.read_bytes())
    how = data.draw(st.sampled_from(["flip", "truncate", "extend"]))
    if how == "flip":
        at = data.draw(st.integers(0, len(blob) - 1))
        blob[at] ^= data.draw(st.integers(1, 255))
    elif how == "truncate":
        blob = blob[: data.draw(st.integers(0, len(blob) - 1))]
    else:
        blob += data.draw(st.binary(min_size=1, max_size=16))
    path.write_bytes(bytes(blob))
    assert c.get(key) is None
    assert c.put(key, value) and c.get(key) == value


def test_keys_are_hex_digests_only(tmp_path):
    c = cache.Cache(tmp_path)
    for bad in ["../" + "a" * 61, "A" * 64, "a" * 63, "/etc/passwd"]:
        with pytest.raises(ValueError):
            c.path(bad)


# ---------------------------------------------------------------------------
# Concurrency and unusable folders
# ---------------------------------------------------------------------------

_WRITER = textwrap.dedent("""
    import sys
    from gradproof.derive.support.cache import Cache
    c = Cache(sys.argv[1])
    value = [sys.argv[2]] * int(sys.argv[3])
    for _ in range(int(sys.argv[4])):
        assert c.put("cd" * 32, value)
    print("done")
""")


def test_concurrent_writers_of_one_key_never_leave_a_corrupt_entry(tmp_path):
    where = tmp_path / "shared"
    size, rounds = 20000, 150
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(where), tag, str(size), str(rounds)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for tag in ("first", "second")
    ]
    reader = cache.Cache(where)
    reads = 0
    while any(p.poll() is None for p in procs):
        try:
            got = reader.get("cd" * 32)
        except OSError:  # the folder may not exist yet
            got = None
        if got is not None:
            assert got in (["first"] * size, ["second"] * size)  # a whole entry, never a torn one
            reads += 1
        time.sleep(0.002)
    for p in procs:
        out, err = p.communicate()
        assert p.returncode == 0 and out.strip() == "done", err
    final = reader.get("cd" * 32)
    assert final in (["first"] * size, ["second"] * size)
    assert [p.name for p in where.iterdir() if p.name.startswith(".")] == []  # no temporary file left
    assert sorted(p.name for p in where.iterdir()) == sorted([cache.KEY_FILE, "cd" * 32 + cache.SUFFIX])


def test_concurrent_first_use_agrees_on_one_key(tmp_path):
    where = tmp_path / "new"
    code = (
        "import sys\nfrom gradproof.derive.support.cache import Cache\n"
        "c = Cache(sys.argv[1]); c.put(sys.argv[2] * 64, sys.argv[2]); print(c.secret(False).hex())"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(where), ch],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for ch in "0123"
    ]
    secrets_seen = {p.communicate()[0].strip() for p in procs}
    assert len(secrets_seen) == 1 and all(p.returncode == 0 for p in procs)
    reader = cache.Cache(where)
    assert [reader.get(ch * 64) for ch in "0123"] == list("0123")


def _unusable(tmp_path, how):
    if how == "under a file":
        blocker = tmp_path / "file"
        blocker.write_text("not a folder")
        return blocker / "cache"
    if how == "a file":
        blocker = tmp_path / "file"
        blocker.write_text("not a folder")
        return blocker
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders; the other cases cover an unusable folder")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    return ro


@pytest.mark.parametrize("how", ["under a file", "a file", "read-only"])
def test_an_unusable_folder_means_one_warning_and_the_same_output(tmp_path, how):
    where = _unusable(tmp_path, how)
    fresh = gradproof("derive", CHEAP, "--no-cache")
    r = gradproof("derive", CHEAP, env={cache.ENV_DIR: str(where)})
    assert r.returncode == 0 and r.stdout == fresh.stdout
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("gradproof: working without the derivation cache:")
    assert "Traceback" not in r.stderr


def test_an_unusable_folder_in_process_warns_once(tmp_path, monkeypatch, capsys):
    where = _unusable(tmp_path, "under a file")
    monkeypatch.setenv(cache.ENV_DIR, str(where))
    monkeypatch.setattr(cache, "_BROKEN", None)
    monkeypatch.setattr(cache, "_STORE", None)
    for name in (CHEAP, "tanh", CHEAP):
        t = registry.get(name)
        build = Counting(t.build)
        assert cache.fetch(t, build).topic == name and build.calls == 1
    assert cache.lookup_output(CHEAP, "text") is None
    assert capsys.readouterr().err.count("\n") == 1


def test_verify_with_an_unusable_folder_warns_once(tmp_path):
    where = _unusable(tmp_path, "under a file")
    r = gradproof("verify", CHEAP, "tanh", "--json", env={cache.ENV_DIR: str(where)})
    assert r.returncode == 0, r.stderr
    assert all(rec["passed"] for rec in json.loads(r.stdout))
    assert r.stderr.count("working without the derivation cache") == 1 and "Traceback" not in r.stderr


# ---------------------------------------------------------------------------
# --no-cache, and `gradproof cache`
# ---------------------------------------------------------------------------


def test_no_cache_neither_creates_nor_writes(tmp_path):
    where = tmp_path / "cache"
    env = {cache.ENV_DIR: str(where)}
    for args in (
        ["derive", CHEAP],
        ["derive", CHEAP, "--format", "json"],
        ["codegen", CHEAP, "-o", str(tmp_path / "code")],
        ["verify", CHEAP, "--json"],
    ):
        r = gradproof(*args, "--no-cache", env=env)
        assert r.returncode == 0, (args, r.stderr)
        assert not where.exists(), f"gradproof {' '.join(args)} --no-cache created the cache folder"


def test_no_cache_never_reads_a_planted_entry(folder):
    env = {cache.ENV_DIR: str(folder)}
    fresh = gradproof("derive", CHEAP)
    assert fresh.returncode == 0 and len(entries(folder)) == 2  # the derivation, the printed text
    # plant an authentic entry with other text under the printed text's key
    store = cache.Cache(folder)
    planted = "PLANTED: not what a derivation prints\n"
    before = set(entries(folder))
    from gradproof.reports.commands.topics import _printed_as

    how = _printed_as("text")
    store.put(cache._output_key(cache._builtin_key(CHEAP), how), planted)
    assert set(entries(folder)) == before  # the planted entry replaced the printed text
    assert gradproof("derive", CHEAP, env=env).stdout == planted  # the cache is read ...
    stamps = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.iterdir()}
    again = gradproof("derive", CHEAP, "--no-cache", env=env)
    assert again.returncode == 0 and again.stdout == fresh.stdout  # ... but not under --no-cache
    assert {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.iterdir()} == stamps


def test_no_cache_report_leaves_the_cache_alone(folder, tmp_path):
    env = {cache.ENV_DIR: str(folder)}
    assert gradproof("derive", CHEAP, env=env).returncode == 0
    stamps = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.iterdir()}
    r = gradproof("report", CHEAP, "-o", str(tmp_path / "out"), "--format", "html", "--no-cache", env=env)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out" / "index.html").is_file()
    assert {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.iterdir()} == stamps
    # and without --no-cache the report stores the derivations it made
    r = gradproof("report", "tanh", "-o", str(tmp_path / "out2"), "--format", "html", env=env)
    assert r.returncode == 0, r.stderr
    assert (folder / (cache.topic_key(registry.get("tanh")) + cache.SUFFIX)).is_file()


def test_environment_switch_turns_it_off(folder, monkeypatch):
    monkeypatch.setenv(cache.ENV_OFF, "1")
    t = registry.get(CHEAP)
    build = Counting(t.build)
    cache.fetch(t, build)
    cache.fetch(t, build)
    assert build.calls == 2 and not folder.exists()


def test_cache_info_and_clear(folder, tmp_path):
    env = {cache.ENV_DIR: str(folder)}
    r = gradproof("cache", "info", "--json", env=env)
    assert r.returncode == 0 and json.loads(r.stdout) == {
        "path": str(folder),
        "entries": 0,
        "bytes": 0,
        "enabled": True,
    }
    assert not folder.exists()  # info creates nothing
    assert gradproof("derive", CHEAP, env=env).returncode == 0
    (folder / "notes.txt").write_text("the user's own file")
    info = json.loads(gradproof("cache", "info", "--json", env=env).stdout)
    assert info["entries"] == 2 and info["bytes"] == sum(p.stat().st_size for p in entries(folder))
    text = gradproof("cache", "info", env=env).stdout
    assert f"path:    {folder}" in text and "entries: 2" in text
    kernels = folder / "kernels"  # compiled training steps live beside the entries (numeric/ckernel.py)
    (kernels / ".build-x").mkdir(parents=True)
    for name in ("step-ab.so", "step-ab.sha256", "step-cd.so", "mine.so"):
        (kernels / name).write_bytes(b"x")
    r = gradproof("cache", "clear", env=env)
    assert r.returncode == 0 and r.stdout.splitlines() == [
        f"removed 2 entries from {folder}",
        f"removed 2 compiled steps from {kernels}",
    ]
    assert sorted(p.name for p in folder.iterdir()) == ["kernels", "notes.txt"]
    assert sorted(p.name for p in kernels.iterdir()) == ["mine.so"]
    code = (
        "import sys; from gradproof.reports.cli import main\nrc = main(['cache', 'info'])\n"
        "assert rc == 0 and 'sympy' not in sys.modules"
    )
    assert run("-c", code, env=env).returncode == 0


def test_cache_command_on_a_file_is_one_line_exit_2(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for action in ("info", "clear"):
        r = gradproof("cache", action, env={cache.ENV_DIR: str(blocker / "sub")})
        assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr


def test_docstring_example():
    import doctest

    result = doctest.testmod(cache)
    assert result.attempted > 0 and result.failed == 0
