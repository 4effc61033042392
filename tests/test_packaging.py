"""gradproof as it is installed: one import name, a working wheel, the pytest plugin by entry point.

The wheel and the editable wheel are built here from a copy of the sources
(setuptools' build backend, no network), installed into temporary folders
with ``pip install --no-deps --target`` and used from there with the test
environment's dependencies.  The plugin's documentation (docs/byo-module.md)
is run as written: its code blocks become a user's project, run by pytest
against the installed wheel.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("pyproject.toml", "README.md", "__init__.py", "derive", "numeric", "reports", "templates")
# Names gradproof must never put into a user's environment.
GENERIC = ("derive", "numeric", "reports", "templates")
PLUGIN = "gradproof.numeric.pytest_plugin"


def _run(args, **kw) -> subprocess.CompletedProcess:
    kw.setdefault("timeout", 600)
    return subprocess.run(args, capture_output=True, text=True, **kw)


def _build(tmp: Path, hook: str) -> Path:
    """Build with setuptools' backend (``build_wheel`` or ``build_editable``) from a copy of the sources."""
    src, out = tmp / "src", tmp / "dist"
    src.mkdir()
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(path, src / name)
    code = f"from setuptools import build_meta\nprint(build_meta.{hook}({str(out)!r}))"
    proc = _run([sys.executable, "-c", code], cwd=src)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return out / proc.stdout.strip().splitlines()[-1]


def _install(wheel: Path, target: Path) -> Path:
    proc = _run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(wheel)])
    assert proc.returncode == 0, proc.stderr
    return target


def _bare_python(code: str, site_dir: Path, cwd: Path) -> subprocess.CompletedProcess:
    """Python without the environment's site-packages (-S), with ``site_dir`` as its only site folder."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    prelude = f"import site, sys\nsite.addsitedir({str(site_dir)!r})\n"
    return _run([sys.executable, "-S", "-c", prelude + code], cwd=cwd, env=env)


TOP_LEVEL_NAMES = """
import importlib.util, pkgutil
names = sorted(m.name for m in pkgutil.iter_modules([{site!r}]))
print("top-level:", " ".join(n for n in names if not n.startswith("__editable__")))
print("generic:", " ".join(n for n in {generic!r} if importlib.util.find_spec(n) is not None))
import gradproof.derive, gradproof.numeric, gradproof.reports
print("gradproof:", gradproof.__file__)
print("sympy:", "sympy" in sys.modules)
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    return _build(tmp_path_factory.mktemp("wheel"), "build_wheel")


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    return _install(wheel, tmp_path_factory.mktemp("site"))


def test_the_wheel_holds_gradproof_alone(wheel):
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        dist_info = next(n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info"))
        assert {n.split("/")[0] for n in names} == {"gradproof", dist_info}
        assert zf.read(f"{dist_info}/top_level.txt").decode().split() == ["gradproof"]
        entry_points = zf.read(f"{dist_info}/entry_points.txt").decode()
    assert re.search(r"\[pytest11\]\s*\n" + re.escape(f"{PLUGIN} = {PLUGIN}"), entry_points)
    assert "gradproof = gradproof.reports.cli:main" in entry_points
    for path in ("__init__.py", "derive/lecture/registry.py", "numeric/generated/softmax.py", "reports/cli.py"):
        assert f"gradproof/{path}" in names
    assert "gradproof/reports/templates/report.html.j2" in names
    assert not [n for n in names if "/tests/" in n or "/bench/" in n or n.endswith(".pyc")]


def test_the_installed_wheel_provides_gradproof_alone(installed, tmp_path):
    proc = _bare_python(TOP_LEVEL_NAMES.format(site=str(installed), generic=GENERIC), installed, tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = dict(line.split(": ", 1) for line in proc.stdout.splitlines())
    assert out["top-level"] == "gradproof"
    assert out["generic"] == ""
    assert Path(out["gradproof"]).parent == installed / "gradproof"
    assert out["sympy"] == "False"


def test_the_editable_install_provides_gradproof_alone(tmp_path_factory, tmp_path):
    editable = _build(tmp_path_factory.mktemp("editable"), "build_editable")
    site_dir = _install(editable, tmp_path_factory.mktemp("editable-site"))
    proc = _bare_python(TOP_LEVEL_NAMES.format(site=str(site_dir), generic=GENERIC), site_dir, tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = dict(line.split(": ", 1) for line in proc.stdout.splitlines())
    assert out["top-level"] == ""  # only setuptools' own __editable__ hook lives there
    assert out["generic"] == ""
    # the sources themselves are imported, from the folder the wheel was built from
    assert Path(out["gradproof"]) == editable.parent.parent / "src" / "__init__.py"
    with zipfile.ZipFile(editable) as zf:
        finder = next(n for n in zf.namelist() if n.endswith("_finder.py"))
        mapping = re.search(r"MAPPING[^=]*=\s*(\{.*?\})", zf.read(finder).decode()).group(1)
    assert {k.split(".")[0] for k in re.findall(r"'([\w.]+)':", mapping)} == {"gradproof"}


def test_the_installed_wheel_runs(installed, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(installed))
    script = installed / "bin" / "gradproof"
    proc = _run([str(script), "--help"], cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: gradproof")
    code = (
        "import gradproof, gradproof.derive\n"
        "d = gradproof.derive('sigmoid')\n"
        "print(gradproof.__file__)\nprint(d.passed, d.result('backward').matrix)"
    )
    proc = _run([sys.executable, "-c", code], cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    where, result = proc.stdout.splitlines()
    assert Path(where) == installed / "gradproof" / "__init__.py"
    assert result.startswith("True ")
    proc = _run([str(script), "derive", "no_such_topic"], cwd=tmp_path, env=env)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


# -- the pytest plugin, registered by the entry point ---------------------------------------------


def _doc_files() -> dict[str, str]:
    """The code blocks of docs/byo-module.md that name their file in a first-line comment."""
    text = (ROOT / "docs" / "byo-module.md").read_text()
    files = {}
    for block in re.findall(r"```python\n(.*?)```", text, re.S):
        name = re.match(r"# (\w+\.py)\n", block)
        if name:
            files[name.group(1)] = block
    return files


@pytest.fixture
def user_project(pytester, installed, monkeypatch):
    """A user's project: the documentation's files, run by pytest with gradproof installed from the wheel."""
    monkeypatch.setenv("PYTHONPATH", str(installed))
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
    monkeypatch.delenv("PYTEST_PLUGINS", raising=False)
    files = _doc_files()
    assert {"my_layer.py", "test_my_layer.py", "test_my_layer_properties.py"} <= set(files)
    for name, text in files.items():
        pytester.path.joinpath(name).write_text(text)
    return pytester


def test_the_documented_examples_pass_as_written(user_project):
    result = user_project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)
    assert not [line for line in result.outlines if "FailedHealthCheck" in line]


def test_the_documented_examples_catch_a_wrong_derivative(user_project):
    layer = user_project.path / "my_layer.py"
    text = layer.read_text()
    # the classic slip: tanh' taken as 1 - a instead of 1 - a^2
    layer.write_text(text.replace("(1 - a**2)", "(1 - a)"))
    assert layer.read_text() != text
    # the failing example need not be shrunk here: a profile without that phase
    user_project.path.joinpath("conftest.py").write_text(
        "from hypothesis import Phase, settings\n"
        "settings.register_profile('no_shrink', phases=[Phase.explicit, Phase.reuse, Phase.generate])\n"
        "settings.load_profile('no_shrink')\n"
    )
    result = user_project.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=2)
    out = "\n".join(result.outlines)
    assert "gradient check failed" in out and "FAIL" in out
    # named like `gradproof verify` names it: the running test, the derivative, the entry
    assert re.search(r"test_my_layer: delta_in wrong at entry z\(\d, \d\) .*analytic .* vs numeric", out)
    assert "FAILED test_my_layer_properties.py::test_gradient_at_any_size" in out  # Hypothesis found it too
    assert "FailedHealthCheck" not in out


def test_the_plugin_can_be_switched_off_and_named_twice(user_project):
    result = user_project.runpytest_subprocess("-p", "no:cacheprovider", "-p", f"no:{PLUGIN}", "test_my_layer.py")
    result.assert_outcomes(errors=2)
    assert "fixture 'gradcheck' not found" in "\n".join(result.outlines)
    # the older way of enabling it, by module path, stays harmless
    user_project.path.joinpath("conftest.py").write_text(f'pytest_plugins = ["{PLUGIN}"]\n')
    result = user_project.runpytest_subprocess("-p", "no:cacheprovider", "-p", PLUGIN, "test_my_layer.py")
    result.assert_outcomes(passed=2)


def test_the_plugin_imports_numpy_only_when_a_check_runs(installed, tmp_path):
    # it is loaded into every pytest run of the environment: loading must cost nothing
    code = f"import sys\nsys.path.insert(0, {str(installed)!r})\nimport {PLUGIN}\nprint('numpy' in sys.modules)"
    proc = _run([sys.executable, "-c", code], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"


def test_every_subpackage_is_listed_for_the_wheel():
    """A folder with an ``__init__.py`` left out of pyproject's package list would be missing from the wheel."""
    import tomllib

    root = Path(__file__).resolve().parent.parent
    listed = set(tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    on_disk = {
        "gradproof." + ".".join(init.parent.relative_to(root).parts)
        for top in ("derive", "numeric", "reports")
        for init in (root / top).rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    assert on_disk - listed == set()
