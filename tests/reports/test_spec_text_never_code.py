"""Text from a spec file is carried as text: code planted in every text field never runs.

Each payload tries to close the generated module's docstring (or a string,
or a line) and run ``open(SENTINEL, "w")``; the spec goes through derive,
codegen, verify --spec and report --spec in a fresh process, and the
sentinel file must never appear.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _payloads(sentinel: str) -> list[str]:
    act = f"open({sentinel!r}, 'w').write('ran')"
    return [
        f'"""; {act}; """',
        f"'''; {act}; '''",
        f'\\"""\n{act}\n"""',
        f'x"""\n{act}\n#',
        "trailing backslash \\",
        "\\N{LATIN SMALL LETTER A} \\N{ \\x41 \\u0041 \\",
        f"line\n{act}\nline",
        f"sep\u2028{act}\u2029\x0c\x1c\x85{act}",
        f"bidi \u202e{act}\u202c zero\u200bwidth",
        f"{{{act}}} %s %(x)s",
        f"\r\n{act}\r",
    ]


def _toml_string(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid TOML basic string


def _spec(path, name, payload):
    lines = [
        f"name = {_toml_string(name)}",
        f"title = {_toml_string(payload)}",
        'category = "activation"',
        f"summary = {_toml_string(payload)}",
        'forward = "s * sigma(s)"',
        f"kinks = [{_toml_string(payload)}]",
        f"notes = [{_toml_string(payload)}]",
        "",
        "[[claims]]",
        'result = "backward"',
        f"statement = {_toml_string(payload)}",
        'matrix = "Delta .* (sigma(S) + S .* sigma(S) .* (1 - sigma(S)))"',
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _run(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "gradproof.reports.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": ROOT},
    )


def test_planted_code_in_every_text_field_never_runs(tmp_path):
    sentinel = str(tmp_path / "SENTINEL")
    payloads = _payloads(sentinel)
    specs = []
    for k, payload in enumerate(payloads):
        # the file name is text too: it is named in the generated header
        path = tmp_path / (f'evil_{k}_""";x.toml' if k % 2 else f"evil_{k}.toml")
        _spec(path, f"evil_{k}", payload)
        specs += ["--spec", str(path)]
    names = [f"evil_{k}" for k in range(len(payloads))]
    out = tmp_path / "code"
    r = _run("derive", *names[:1], *specs[:2], cwd=ROOT)
    assert r.returncode == 0, r.stderr
    r = _run("codegen", *names, *specs, "-o", str(out), cwd=ROOT)
    assert r.returncode == 0, r.stderr
    for k, payload in enumerate(payloads):
        src = (out / f"evil_{k}.py").read_text(encoding="utf-8")
        tree = ast.parse(src)
        doc = ast.get_docstring(tree, clean=False)
        # the payload is in the docstring as text (whitespace folded), and nowhere else in the code
        assert " ".join(payload.split())[:20] in " ".join(doc.split())
        assert all(isinstance(n, (ast.Expr, ast.Import, ast.Assign, ast.FunctionDef)) for n in tree.body)
        assert not any(
            isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "open" for n in ast.walk(tree)
        )
        assert all(ord(c) < 128 for c in src)  # separators and bidi controls only as escapes
    r = _run("verify", *names, *specs, "--json", cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    recs = json.loads(r.stdout)
    assert {x["topic"] for x in recs} == set(names) and all(x["passed"] for x in recs)
    assert any(x["check"].startswith("accuracy float64") for x in recs)
    r = _run("report", *names[:3], *specs[:6], "-o", str(tmp_path / "report"), "--format", "html", cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    assert not os.path.exists(sentinel)


@pytest.mark.parametrize(
    "name", ["numpy", "os", "__init__", "sys", "OS", "Numpy", "json", "gradproof", "np", "a" * 65, "class"]
)
def test_a_module_name_that_would_shadow_or_break_is_refused(tmp_path, name):
    path = tmp_path / "m.toml"
    path.write_text(f'name = {_toml_string(name)}\ncategory = "activation"\nforward = "s^2"\n', encoding="utf-8")
    r = _run("codegen", "--spec", str(path), "-o", str(tmp_path / "out"), cwd=ROOT)
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_the_code_generator_refuses_unsafe_names_directly():
    from gradproof.derive.output.codegen import CodegenError, check_module_name

    assert check_module_name("gelu_tanh") == "gelu_tanh"
    for bad in ("numpy", "__init__", "os", "Os", "x.y", "../x", "a b", "", "1x", "np", "math"):
        with pytest.raises(CodegenError):
            check_module_name(bad)
