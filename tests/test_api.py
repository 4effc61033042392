"""The public Python API as a notebook or a script uses it (docs/api.md)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import gradproof

ROOT = Path(__file__).resolve().parent.parent


def _python(code: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=cwd, env=dict(os.environ)
    )


def test_import_and_help_never_import_sympy():
    code = (
        "import sys, gradproof\n"
        "gradproof.derive, gradproof.verify, gradproof.check, gradproof.codegen, gradproof.numeric\n"
        "assert callable(gradproof.derive)\n"
        "assert 'sympy' not in sys.modules, 'import gradproof imported sympy'\n"
        "from gradproof.reports.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit as exit:\n    assert exit.code == 0\n"
        "assert 'sympy' not in sys.modules, 'gradproof --help imported sympy'\n"
        "print('ok')"
    )
    proc = _python(code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.rstrip().endswith("ok")


def test_the_api_is_what_the_documentation_lists():
    documented = set(re.findall(r"`gradproof\.(\w+)\(", (ROOT / "docs" / "api.md").read_text()))
    assert documented == {"derive", "verify", "check", "codegen", "load_spec"}
    assert documented <= set(gradproof.__all__)
    for name in documented:
        assert callable(getattr(gradproof, name)), name
    assert not hasattr(gradproof, "no_such_function")


def test_derive_returns_a_proved_derivation_that_renders():
    d = gradproof.derive("softmax_cross_entropy")
    assert d.topic == "softmax_cross_entropy" and d.passed
    from gradproof.derive.output.printing import to_text

    assert to_text(d.result("backward").matrix) == "(P - Y)/m"
    html = d._repr_html_()
    assert "<math" in html and d.title in html
    assert d._repr_latex_().startswith("$$\\begin{aligned}")
    md = d._repr_markdown_()
    assert md.startswith(f"### {d.title}") and "$$\\begin{aligned}" in md and "all exact proofs pass" in md
    with pytest.raises(KeyError, match="unknown topic"):
        gradproof.derive("softmax_cross_entropyy")


def test_verify_returns_records_and_says_when_one_fails():
    v = gradproof.verify("sigmoid")
    assert v.passed and not v.failed
    checks = [r.check for r in v.records]
    assert any(c.startswith("exact") for c in checks) and any(c.startswith("central differences") for c in checks)
    assert any(c.startswith("mutation") for c in checks)
    assert f"{len(v.records)} passed, 0 failed" in str(v)
    with pytest.raises(TypeError):
        gradproof.verify()
    with pytest.raises(KeyError):
        gradproof.verify("no_such_topic")


def test_verify_fails_for_wrong_code(tmp_path):
    # the same module with its derivative's sign flipped: verify must not pass it
    source = gradproof.codegen("sigmoid")
    planted = source.replace("delta_in = delta*", "delta_in = -delta*", 1)
    assert planted != source
    (tmp_path / "sigmoid.py").write_text(planted)
    v = gradproof.verify("sigmoid", code_dir=str(tmp_path))
    assert not v.passed
    assert any(r.check.startswith("central differences") for r in v.failed)
    assert "FAIL" in str(v)


def test_codegen_text_and_folder(tmp_path):
    source = gradproof.codegen("softmax")
    assert source.startswith('"""Softmax') and "do not edit" in source and "sympy" not in source
    path = gradproof.codegen(gradproof.derive("softmax"), tmp_path)
    assert Path(path) == tmp_path / "softmax.py"
    assert Path(path).read_text() == source
    with pytest.raises(ValueError, match="no code"):
        gradproof.codegen("erm")


def test_check_gives_a_verdict():
    right = gradproof.check("softmax_ce_grad", "(P - Y)/m")
    assert right.status == "correct" and right.credit == 1.0
    wrong = gradproof.check("softmax_ce_grad", "(Y - P)/m")
    assert wrong.status == "incorrect" and "sign" in wrong.feedback[0]
    with pytest.raises(KeyError, match="unknown exercise"):
        gradproof.check("no_such_exercise", "x")


def test_load_spec_registers_a_user_module():
    from gradproof.derive.lecture.registry import remove_user_topic

    names = gradproof.load_spec(ROOT / "examples" / "specs" / "softplus.toml")
    try:
        assert names == ["softplus"]
        assert gradproof.derive("softplus").category == "user"
    finally:
        for name in names:
            remove_user_topic(name)


def _readme_python_block() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("## From Python and Jupyter", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_example_runs_verbatim(tmp_path):
    proc = _python(_readme_python_block(), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "(P - Y)/m"
    assert re.fullmatch(r"True \d+ checks", lines[1])
    assert lines[2].startswith("sign error")


def test_notebook_cells_run_in_order():
    nb = json.loads((ROOT / "examples" / "notebook.ipynb").read_text())
    assert nb["nbformat"] == 4
    cells = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    assert len(cells) >= 4
    namespace: dict = {}
    for k, cell in enumerate(cells):
        # our own notebook, run the way a kernel runs it: one cell after another
        exec(compile(cell, f"notebook cell {k + 1}", "exec"), namespace)
    assert namespace["d"].passed
    assert namespace["verification"].passed
    assert namespace["right"].status == "correct" and namespace["wrong"].status == "incorrect"
    grad, S, Y = namespace["grad"], namespace["S"], namespace["Y"]
    P = np.exp(S) / np.exp(S).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(grad, (P - Y) / S.shape[0], rtol=1e-12)
