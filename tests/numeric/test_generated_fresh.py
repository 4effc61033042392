"""The committed generated code is exactly what the generator writes now."""

import os

import pytest

from gradproof.derive.output.regenerate import FUNCTIONS_FILE, GENERATED, expected_files, functions_source

EXPECTED = expected_files()


@pytest.mark.parametrize("name", sorted(EXPECTED), ids=sorted(EXPECTED))
def test_generated_file_is_fresh(name):
    path = os.path.join(GENERATED, name)
    assert os.path.exists(path), f"{name} missing: run `python -m gradproof.derive.output.regenerate`"
    with open(path, encoding="utf-8") as f:
        committed = f.read()
    assert committed == EXPECTED[name], f"{name} is stale: run `python -m gradproof.derive.output.regenerate`"


def test_no_stray_generated_files():
    present = {f for f in os.listdir(GENERATED) if f.endswith(".py") and f != "__init__.py"}
    assert present == set(EXPECTED)


def test_regenerating_is_deterministic():
    assert expected_files() == EXPECTED


def test_generated_code_imports_without_sympy():
    import subprocess
    import sys

    code = (
        "import sys, importlib\n"
        f"names = {sorted(n[:-3] for n in EXPECTED)!r}\n"
        "for n in names: importlib.import_module('gradproof.numeric.generated.' + n)\n"
        "assert 'sympy' not in sys.modules, 'sympy imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_function_table_file_is_fresh():
    """``numeric/_functions.py`` (read by the mutation layer) is what the function table generates."""
    with open(FUNCTIONS_FILE, encoding="utf-8") as f:
        assert f.read() == functions_source(), (
            "numeric/_functions.py is stale: run `python -m gradproof.derive.output.regenerate`"
        )
