"""Output folders as a careless user or an attacker would use them.

Every case is refused with one line on stderr and exit 2, or handled
exactly (and then checked file by file).  Also: the mode of what codegen and
report write, locking, stale pages, sweeping a killed run's leftovers.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time

import pytest

from gradproof.derive.support.atomic import MARKER, FolderBusy, OutputError, OutputFolder, current_umask, write_atomic
from gradproof.reports.cli import main


def run(argv):
    """Run the command; a success's own output is dropped, so only a refusal's remains to check."""
    rc = main(argv)
    if rc == 0 and _CAPTURE:
        _CAPTURE[-1].readouterr()
    return rc


def codegen(out, *topics, extra=()):
    return run(["codegen", *(topics or ("affine",)), "-o", str(out), *extra])


_CAPTURE: list = []


@pytest.fixture(autouse=True)
def _capture(capsys):
    _CAPTURE.append(capsys)
    yield
    _CAPTURE.pop()


def one_line_exit_2(rc, capsys, *words):
    err = capsys.readouterr().err
    assert rc == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for w in words:
        assert w in err, (w, err)
    return err


def listing(folder):
    return sorted(p.name for p in folder.iterdir())


# ---------------------------------------------------------------------------
# The hostile corpus: refused, one line, exit 2, nothing touched
# ---------------------------------------------------------------------------


def test_symlink_output_is_refused_unless_followed(tmp_path, capsys):
    real = tmp_path / "real"
    assert codegen(real) == 0
    before = (real / "affine.py").read_bytes()
    link = tmp_path / "link"
    link.symlink_to(real)
    one_line_exit_2(codegen(link, "relu"), capsys, "symbolic link", "--follow-symlinks")
    one_line_exit_2(codegen(str(link) + "/", "relu"), capsys, "symbolic link")
    one_line_exit_2(codegen(str(link) + "//", "relu"), capsys, "symbolic link")
    assert listing(real) == [MARKER, "affine.py"] and (real / "affine.py").read_bytes() == before
    assert codegen(link, "relu", extra=("--follow-symlinks",)) == 0
    assert link.is_symlink() and listing(real) == [MARKER, "relu.py"]
    assert listing(tmp_path) == ["link", "real"]


@pytest.mark.parametrize(
    "case",
    [
        "dangling link",
        "link to a file",
        "a file",
        "root",
        "empty name",
        "parent is a file",
        "name too long",
        "link to the root",
        "a device",
    ],
)
def test_impossible_output_paths(case, tmp_path, capsys):
    (tmp_path / "file").write_text("precious")
    target = {
        "dangling link": tmp_path / "dangling",
        "link to a file": tmp_path / "flink",
        "a file": tmp_path / "file",
        "root": "/",
        "empty name": "",
        "parent is a file": tmp_path / "file" / "sub",
        "name too long": tmp_path / ("x" * 300),
        "link to the root": tmp_path / "rootlink",
        "a device": "/dev/null",
    }[case]
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    (tmp_path / "flink").symlink_to(tmp_path / "file")
    (tmp_path / "rootlink").symlink_to("/")
    rc = codegen(target, extra=("--follow-symlinks",) if case == "link to the root" else ())
    one_line_exit_2(rc, capsys)
    assert (tmp_path / "file").read_text() == "precious"
    assert listing(tmp_path) == ["dangling", "file", "flink", "rootlink"]


def test_current_folder_and_its_ancestors_are_refused(tmp_path, capsys, monkeypatch):
    inner = tmp_path / "a" / "b"
    inner.mkdir(parents=True)
    monkeypatch.chdir(inner)
    for target in (".", "..", str(tmp_path), "./"):
        one_line_exit_2(codegen(target), capsys, "current folder")
    assert listing(inner) == [] and listing(tmp_path) == ["a"]


def test_a_users_folder_is_never_replaced(tmp_path, capsys):
    mine = tmp_path / "mine"
    (mine / "notes").mkdir(parents=True)
    (mine / "notes" / "todo.txt").write_text("mine")
    one_line_exit_2(codegen(mine), capsys, "gradproof did not write it")
    assert (mine / "notes" / "todo.txt").read_text() == "mine" and listing(mine) == ["notes"]


def test_a_file_added_to_gradproofs_folder_blocks_the_next_run(tmp_path, capsys):
    out = tmp_path / "out"
    assert codegen(out, "affine", "relu") == 0
    (out / "my_notes.py").write_text("# mine")
    (out / "sub").mkdir()
    err = one_line_exit_2(codegen(out), capsys, "did not write")
    assert "my_notes.py" in err and "sub/" in err
    assert listing(out) == [MARKER, "affine.py", "my_notes.py", "relu.py", "sub"]


def test_bytecode_of_an_imported_module_does_not_block_the_next_run(tmp_path, capsys):
    out = tmp_path / "out"
    assert codegen(out, "affine", "relu") == 0
    (out / "__pycache__").mkdir()
    (out / "__pycache__" / "affine.cpython-311.pyc").write_bytes(b"\x00")  # what importing affine.py leaves
    assert codegen(out, "affine") == 0
    assert listing(out) == [MARKER, "affine.py"]
    (out / "__pycache__").mkdir()
    (out / "__pycache__" / "notes.txt").write_text("mine")  # not bytecode: still someone else's file
    err = one_line_exit_2(codegen(out), capsys, "did not write")
    assert "__pycache__/notes.txt" in err


@pytest.mark.parametrize("marker", ["{not json", '{"kind": "codegen"}', '{"kind": "codegen", "files": 3}', ""])
def test_a_broken_marker_is_not_trusted(marker, tmp_path, capsys):
    out = tmp_path / "out"
    assert codegen(out) == 0
    (out / MARKER).write_text(marker)
    one_line_exit_2(codegen(out), capsys)
    assert (out / "affine.py").exists()


def test_one_commands_folder_is_not_replaced_by_another(tmp_path, capsys):
    out = tmp_path / "out"
    assert codegen(out) == 0
    rc = run(["report", "affine", "-o", str(out), "--format", "html"])
    one_line_exit_2(rc, capsys, "gradproof codegen")
    assert listing(out) == [MARKER, "affine.py"]


def test_a_file_name_with_a_newline_stays_one_line(tmp_path, capsys):
    target = tmp_path / "evil\nname\x1b[2J"
    target.write_text("x")
    err = one_line_exit_2(codegen(target), capsys, "not a folder")
    assert "\x1b" not in err


# ---------------------------------------------------------------------------
# Handled exactly
# ---------------------------------------------------------------------------


def test_stale_pages_of_an_earlier_run_are_removed(tmp_path):
    out = tmp_path / "out"
    assert codegen(out, "affine", "relu", "sigmoid") == 0
    assert codegen(out, "affine") == 0
    assert listing(out) == [MARKER, "affine.py"]
    assert json.loads((out / MARKER).read_text()) == {"gradproof": 1, "command": "codegen", "files": ["affine.py"]}
    assert listing(tmp_path) == ["out"]  # no sibling, no lock file left


def test_an_empty_folder_is_used_and_keeps_its_mode(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o750)
    assert codegen(out) == 0
    assert listing(out) == [MARKER, "affine.py"]
    assert stat.S_IMODE(out.stat().st_mode) == 0o750


def test_leftovers_of_a_killed_run_are_swept(tmp_path):
    out = tmp_path / "out"
    assert codegen(out) == 0
    (tmp_path / ".out.gradproof-new-abc123").mkdir()
    (tmp_path / ".out.gradproof-new-abc123" / "half.html").write_text("<p>half")
    (tmp_path / ".out.gradproof-old-xyz").mkdir()
    (tmp_path / ".out.gradproof-lock").write_text("")  # nobody holds it
    assert codegen(out, "relu") == 0
    assert listing(tmp_path) == ["out"] and listing(out) == [MARKER, "relu.py"]


def test_a_second_run_on_a_locked_folder_is_refused(tmp_path, capsys):
    out = tmp_path / "out"
    assert codegen(out) == 0
    with OutputFolder(out, command="codegen") as held:
        write_atomic(held.path / "affine.py", "# from the first run\n")
        one_line_exit_2(codegen(out, "relu"), capsys, "another gradproof run")
        with pytest.raises(FolderBusy):
            OutputFolder(out, command="codegen").open()
        held.commit()
    assert (out / "affine.py").read_text() == "# from the first run\n"
    assert listing(tmp_path) == ["out"]
    assert codegen(out, "relu") == 0  # the lock went with the first run


def test_two_concurrent_grade_runs_never_mix(tmp_path):
    """Two classes graded into one folder at the same time: one wins whole, the other is refused."""
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    classes = {}
    for who in ("x", "y"):
        src = tmp_path / f"{who}.csv"
        src.write_text(
            "student,exercise,answer\n" + "".join(f"{who}{k},logreg_grad,X^T(yhat - y) + {k} X^T y\n" for k in range(6))
        )
        classes[who] = src
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "gradproof.reports.cli", "grade", str(src), "-o", str(tmp_path / "out")],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for src in classes.values()
    ]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    codes = sorted(rc for rc, _ in results)
    assert codes in ([0, 0], [0, 2]), results
    for rc, err in results:
        if rc == 2:
            assert err.count("\n") == 1 and "another gradproof run" in err
    pages = sorted(f for f in os.listdir(tmp_path / "out") if f.startswith("student-"))
    assert len(pages) == 6 and len({p.split("-")[1][0] for p in pages}) == 1  # one class, whole
    assert sorted(os.listdir(tmp_path)) == ["out", "x.csv", "y.csv"]


# ---------------------------------------------------------------------------
# One atomic writer: permissions from the umask
# ---------------------------------------------------------------------------


@pytest.fixture
def umask_027():
    old = os.umask(0o027)
    yield
    os.umask(old)


def test_write_atomic_takes_the_umask(tmp_path, umask_027):
    assert current_umask() == 0o027
    p = write_atomic(tmp_path / "sub" / "f.txt", "x")
    assert stat.S_IMODE(p.stat().st_mode) == 0o640
    assert stat.S_IMODE((tmp_path / "sub").stat().st_mode) == 0o750
    assert listing(tmp_path / "sub") == ["f.txt"]


def _modes(folder):
    return {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()}


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_codegen_files_take_the_umask(tmp_path, mask):
    """Was 0600 whatever the umask."""
    old = os.umask(mask)
    try:
        assert codegen(tmp_path / "out", "affine", "relu") == 0
    finally:
        os.umask(old)
    assert _modes(tmp_path / "out") == dict.fromkeys((MARKER, "affine.py", "relu.py"), 438 & ~mask)
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o777 & ~mask


def test_report_files_take_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        assert main(["report", "affine", "-o", str(tmp_path / "r"), "--format", "html,latex"]) == 0
    finally:
        os.umask(old)
    modes = _modes(tmp_path / "r")
    assert {"index.html", "report.tex", MARKER} <= set(modes)
    assert set(modes.values()) == {0o644}
    assert stat.S_IMODE((tmp_path / "r").stat().st_mode) == 0o755


def test_regenerated_package_modules_are_not_private():
    """The committed generated modules (written through the same writer) are readable by all."""
    import gradproof.numeric.generated

    folder = os.path.dirname(gradproof.numeric.generated.__file__)
    for name in os.listdir(folder):
        if name.endswith(".py"):
            assert os.stat(os.path.join(folder, name)).st_mode & 0o044 == 0o044, name


# ---------------------------------------------------------------------------
# The writer and the folder as a library
# ---------------------------------------------------------------------------


def test_leaving_without_commit_discards_everything(tmp_path):
    out = tmp_path / "out"
    assert codegen(out) == 0
    before = (out / "affine.py").read_bytes()
    with pytest.raises(RuntimeError), OutputFolder(out, command="codegen") as f:
        write_atomic(f.path / "affine.py", "broken")
        raise RuntimeError("stop")
    assert (out / "affine.py").read_bytes() == before and listing(tmp_path) == ["out"]


def test_a_failing_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    p = write_atomic(tmp_path / "f.txt", "old")
    with pytest.raises(TypeError):
        write_atomic(p, 12345)  # neither text nor bytes
    real_replace = os.replace

    def full_disk(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(OSError, match="No space"):
        write_atomic(p, "new")
    monkeypatch.setattr(os, "replace", real_replace)
    assert p.read_text() == "old" and listing(tmp_path) == ["f.txt"]


def test_the_watcher_removes_the_folder_of_a_run_killed_with_sigkill(tmp_path):
    """A child process opens an output folder and is SIGKILLed: its sibling goes within 3 s."""
    code = (
        "import os, sys, time; sys.path.insert(0, os.getcwd())\n"
        "from gradproof.derive.support.atomic import OutputFolder, write_atomic\n"
        f"f = OutputFolder({str(tmp_path / 'out')!r}, command='codegen').open()\n"
        "write_atomic(f.path / 'half.py', 'x')\n"
        "print('ready', flush=True); time.sleep(60)\n"
    )
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    siblings = [n for n in os.listdir(tmp_path) if n.startswith(".out.")]
    assert any("gradproof-new" in n for n in siblings) and any("gradproof-lock" in n for n in siblings)
    p.kill()
    p.wait()
    p.stdout.close()
    deadline = time.monotonic() + 3
    while os.listdir(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert os.listdir(tmp_path) == []


def test_output_errors_are_one_line_messages(tmp_path):
    with pytest.raises(OutputError, match="not a folder"):
        (tmp_path / "f").write_text("x")
        OutputFolder(tmp_path / "f", command="grade").open()


def test_the_writer_is_sympy_free_and_its_examples_run():
    import doctest
    import importlib

    code = "import sys, gradproof.derive.support.atomic, gradproof.derive.support.lifetime; assert 'sympy' not in sys.modules, 'sympy imported'"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=os.getcwd())
    assert r.returncode == 0, r.stderr
    for name in (
        "gradproof.derive.support.atomic",
        "gradproof.derive.support.lifetime",
        "gradproof.reports.grading",
        "gradproof.reports.cli",
    ):
        result = doctest.testmod(importlib.import_module(name))
        assert result.attempted > 0 and result.failed == 0, name


def test_a_marker_of_an_earlier_version_is_still_read(tmp_path):
    # earlier versions named the writing command "kind" in the marker
    out = tmp_path / "out"
    assert codegen(out, "affine", "relu") == 0
    (out / MARKER).write_text('{"gradproof": 1, "kind": "codegen", "files": ["affine.py", "relu.py"]}')
    assert codegen(out, "affine") == 0
    assert json.loads((out / MARKER).read_text()) == {"gradproof": 1, "command": "codegen", "files": ["affine.py"]}
    (out / MARKER).write_text('{"gradproof": 1, "kind": "report", "files": ["affine.py"]}')
    with pytest.raises(OutputError, match="gradproof report"):
        OutputFolder(out, command="codegen").open()
