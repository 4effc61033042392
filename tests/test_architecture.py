"""The shape of the code base, checked statically from the source files.

* no import circle among gradproof's modules (every ``import`` statement counts,
  at module level or inside a function);
* ``numeric/`` never imports SymPy (nor ``derive`` or ``reports``), ``derive/``
  never imports ``numeric``, ``reports`` or Jinja2;
* no module imports a private name (``_x``) from another module;
* in ``derive/``: no file over 600 lines, no function over 80 lines.

Each rule is a plain function over the parsed sources, and the must-fail tests
at the end show each one catches a planted violation.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "gradproof"
SUBPACKAGES = ("derive", "numeric", "reports")
MAX_FILE_LINES = 600
MAX_FUNCTION_LINES = 80


@dataclass(frozen=True)
class Import:
    """One imported name: ``target`` is the module run, ``name`` the attribute taken from it (or None)."""

    importer: str
    target: str
    name: str | None
    line: int


def module_files(root: Path = ROOT) -> dict[str, Path]:
    """Every module of the package by its dotted name (the repository root is ``gradproof`` itself)."""
    mods = {PACKAGE: root / "__init__.py"}
    for top in SUBPACKAGES:
        for path in sorted((root / top).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            mods[".".join((PACKAGE, *parts))] = path
    return mods


def imports_of(name: str, path: Path, source: str | None = None) -> list[Import]:
    """Every import in the file, at any depth, with relative imports made absolute."""
    tree = ast.parse(path.read_text() if source is None else source)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [Import(name, alias.name, None, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                head = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*head, base] if base else head)
            found += [Import(name, base, alias.name, node.lineno) for alias in node.names]
    return found


def _owner(dotted: str, mods) -> str | None:
    """The project module that ``dotted`` lives in (the longest known prefix), or None."""
    while dotted and dotted not in mods:
        dotted = dotted.rpartition(".")[0]
    return dotted or None


def import_graph(mods: dict[str, Path], sources: dict[str, str] | None = None) -> dict[str, set[str]]:
    """Edges module -> module it imports.  ``from p import x`` runs ``p`` and, when ``x`` is a module, ``p.x``."""
    sources = sources or {}
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for mod, path in mods.items():
        for imp in imports_of(mod, path, sources.get(mod)):
            targets = [imp.target] + ([f"{imp.target}.{imp.name}"] if imp.name else [])
            for target in targets:
                owner = _owner(target, mods)
                if owner is not None and owner != mod:
                    graph[mod].add(owner)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (iterative Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return sorted(found)


def forbidden_imports(mods, layer: str, forbidden: tuple[str, ...], root: Path = ROOT) -> list[str]:
    """Imports from modules of ``gradproof.<layer>`` of anything under a forbidden top-level name."""
    bad = []
    for mod, path in mods.items():
        if not mod.startswith(f"{PACKAGE}.{layer}"):
            continue
        for imp in imports_of(mod, path):
            full = f"{imp.target}.{imp.name}" if imp.name else imp.target
            if any(full == f or full.startswith(f + ".") for f in forbidden):
                bad.append(f"{path.relative_to(root)}:{imp.line}: imports {full}")
        for node in ast.walk(ast.parse(path.read_text())):
            # importlib.import_module("sympy") and __import__("sympy") count too
            if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                arg = node.args[0].value
                if called in ("import_module", "__import__") and isinstance(arg, str):
                    if any(arg == f or arg.startswith(f + ".") for f in forbidden):
                        bad.append(f"{path.relative_to(root)}:{node.lineno}: imports {arg} dynamically")
    return bad


def _private(part: str) -> bool:
    return part.startswith("_") and not part.startswith("__")


def private_imports(mods, sources: dict[str, str] | None = None) -> list[str]:
    """Imports of another module's private name (``from m import _x``), or of a private module from outside its package."""
    bad = []
    for mod, path in mods.items():
        for imp in imports_of(mod, path, (sources or {}).get(mod)):
            if _owner(imp.target, mods) is None:
                continue
            full = f"{imp.target}.{imp.name}" if imp.name else imp.target
            parts = full.split(".")
            for i, part in enumerate(parts):
                if not _private(part):
                    continue
                parent = ".".join(parts[:i])
                is_module = ".".join(parts[: i + 1]) in mods
                if is_module and (mod == parent or mod.startswith(parent + ".")):
                    continue  # a private module used inside its own package
                bad.append(f"{mod}:{imp.line}: imports private {full}")
                break
    return bad


def long_functions(path: Path, source: str | None = None, root: Path = ROOT) -> list[str]:
    """Functions (methods, nested ones too) longer than ``limit`` lines from ``def`` to their last line."""
    tree = ast.parse(path.read_text() if source is None else source)
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            length = node.end_lineno - node.lineno + 1
            if length > MAX_FUNCTION_LINES:
                bad.append(f"{path.relative_to(root)}:{node.lineno}: {node.name} has {length} lines")
    return bad


MODS = module_files()
DERIVE_FILES = sorted(p for m, p in MODS.items() if m.startswith(f"{PACKAGE}.derive"))


def test_the_module_list_is_the_package():
    # a typo in the walk would make every rule below vacuous
    assert f"{PACKAGE}.derive.lecture.registry" in MODS
    assert f"{PACKAGE}.numeric.gradcheck" in MODS
    assert f"{PACKAGE}.reports.cli" in MODS
    assert len(DERIVE_FILES) > 40


def test_no_import_circles():
    found = cycles(import_graph(MODS))
    assert not found, "import circles:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_numeric_never_imports_sympy_derive_or_reports():
    bad = forbidden_imports(MODS, "numeric", ("sympy", f"{PACKAGE}.derive", f"{PACKAGE}.reports"))
    assert not bad, "\n".join(bad)


def test_derive_never_imports_numeric_reports_or_jinja2():
    bad = forbidden_imports(MODS, "derive", (f"{PACKAGE}.numeric", f"{PACKAGE}.reports", "jinja2"))
    assert not bad, "\n".join(bad)


def test_no_private_names_imported_across_modules():
    bad = private_imports(MODS)
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("path", DERIVE_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_derive_file_size(path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_FILE_LINES, f"{path.relative_to(ROOT)} has {lines} lines (at most {MAX_FILE_LINES})"


@pytest.mark.parametrize("path", DERIVE_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_derive_function_size(path):
    bad = long_functions(path)
    assert not bad, "\n".join(bad)


# -- each rule can fail ---------------------------------------------------------------------------


def _planted(tmp_path, files: dict[str, str]):
    mods = {}
    for name, text in files.items():
        path = tmp_path / (name.replace(".", "_") + ".py")
        path.write_text(text)
        mods[name] = path
    return mods, files


def test_a_planted_circle_is_found_even_inside_a_function(tmp_path):
    mods, src = _planted(
        tmp_path,
        {
            "gradproof.a": "from gradproof.b import f\n",
            "gradproof.b": "def f():\n    from gradproof.c import g\n",
            "gradproof.c": "import gradproof.a\n",
            "gradproof.d": "import gradproof.a\n",
        },
    )
    assert cycles(import_graph(mods, src)) == [["gradproof.a", "gradproof.b", "gradproof.c"]]


def test_relative_imports_are_resolved(tmp_path):
    pkg = tmp_path / "p"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from . import m\n")
    (pkg / "m.py").write_text("from .. import p\nfrom .n import _x\n")
    (pkg / "n.py").write_text("_x = 1\n")
    mods = {"gradproof.p": pkg / "__init__.py", "gradproof.p.m": pkg / "m.py", "gradproof.p.n": pkg / "n.py"}
    assert cycles(import_graph(mods)) == [["gradproof.p", "gradproof.p.m"]]
    assert private_imports(mods) == ["gradproof.p.m:2: imports private gradproof.p.n._x"]


def test_a_planted_private_import_is_found(tmp_path):
    mods, src = _planted(
        tmp_path,
        {
            "gradproof.a": "_x = 1\n__version__ = 2\n",
            "gradproof.b": "from gradproof.a import __version__\nimport gradproof.a as _alias\n",
            "gradproof.c": "def f():\n    from gradproof.a import _x as x\n",
        },
    )
    assert private_imports(mods, src) == ["gradproof.c:2: imports private gradproof.a._x"]


def test_a_planted_sympy_import_in_numeric_is_found(tmp_path):
    numeric = tmp_path / "numeric"
    numeric.mkdir()
    bad = numeric / "bad.py"
    bad.write_text("import importlib\n\ndef f():\n    import sympy.core\n    importlib.import_module('sympy')\n")
    mods = {f"{PACKAGE}.numeric.bad": bad}
    found = forbidden_imports(mods, "numeric", ("sympy",), root=tmp_path)
    assert found == ["numeric/bad.py:4: imports sympy.core", "numeric/bad.py:5: imports sympy dynamically"]


def test_a_planted_long_function_is_found(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES - 1))
    ok = f"def f():\n{body}\n"
    path = tmp_path / "f.py"
    assert long_functions(path, source=ok, root=tmp_path) == []
    too_long = "class C:\n    def f(self):\n" + body.replace("    ", "        ") + "\n        return 1\n"
    assert long_functions(path, source=too_long, root=tmp_path) == [f"f.py:2: f has {MAX_FUNCTION_LINES + 1} lines"]
