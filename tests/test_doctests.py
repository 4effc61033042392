"""Every runnable example in a docstring of gradproof stays true.

The modules are found from the source files (every module of
``gradproof.derive``, ``gradproof.numeric``, ``gradproof.reports`` and the
package itself whose text holds a ``>>>`` example), so a new example is
collected without naming it here.
"""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("derive", "numeric", "reports")


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(("gradproof", *parts))


def _modules_with_examples() -> list[str]:
    paths = [ROOT / "__init__.py"]
    for package in PACKAGES:
        paths += sorted(p for p in (ROOT / package).rglob("*.py") if "generated" not in p.parts)
    return [_module_name(p) for p in paths if ">>> " in p.read_text(encoding="utf-8")]


MODULES = _modules_with_examples()


def test_every_package_has_examples():
    for package in PACKAGES:
        assert any(m.startswith(f"gradproof.{package}.") for m in MODULES), package


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    tests = finder.find(module, name)
    attempted = 0
    failures = []
    for test in sorted(tests, key=lambda t: t.name):
        out: list[str] = []
        result = runner.run(test, out=out.append)
        attempted += result.attempted
        if result.failed:
            failures.append("".join(out))
    assert attempted > 0, f"{name} mentions '>>> ' but has no runnable example"
    assert not failures, "\n".join(failures)
