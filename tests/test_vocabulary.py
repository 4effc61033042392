"""One meaning per word, checked statically from the source files.

* "kind" is only the calling contract of generated code (module, loss,
  penalty, model, solver): outside the modules that define or dispatch on the
  contract, no variable, parameter, dictionary key or keyword is named
  ``kind``, and an attribute ``.kind`` is read only from a generated module's
  code (``code.kind``) or a declaration (``declaration.kind``, ``decl.kind``),
  whose ``kind`` is the contract;
* "spec" is only a user's TOML spec file: no class or name ending in ``Spec``
  outside ``derive/specs/`` (but :class:`SpecError`), no keyword ``spec=``
  and no attribute ``.spec`` but the command line's ``args.spec`` (the
  ``--spec`` files).

``docs/design.md``'s glossary says what each word means.  Each rule is a plain
function over parsed source; the must-fail tests at the end plant a violation.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCANNED = ("derive", "numeric", "reports", "tests", "bench")

# The modules that define the contract or dispatch on it: "kind" is theirs.
CONTRACT = (
    "derive/engine/kinds/",
    "derive/engine/notation.py",  # ModuleDeclaration.kind: the contract its unit implements
    "derive/engine/derivation.py",  # ModuleCode.kind
    "derive/lecture/models.py",  # ModelDeclaration.kind
    "derive/output/codegen.py",
    "derive/output/codegen_numpy/",
    "derive/proof/accuracy.py",
    "numeric/kinds.py",
    "numeric/gradcheck.py",
    "numeric/accuracy.py",
    "numeric/strategies.py",
    "tests/derive/test_kinds.py",
)
# A ``kind=`` keyword is the contract when it builds one of these.
CONTRACT_CALLS = {"ModuleDeclaration", "ModuleCode"}
# ``x.kind`` is the contract when ``x`` is one of these.
CONTRACT_HOLDERS = {"code", "declaration", "decl"}
# Other libraries' words: NumPy's ``dtype.kind``.
FOREIGN_KIND_HOLDERS = {"dtype"}
SPEC_HOME = "derive/specs/"
SPEC_NAMES_ANYWHERE = {"SpecError"}


def _files() -> list[Path]:
    out = [ROOT / "__init__.py"]
    for d in SCANNED:
        out += sorted(p for p in (ROOT / d).rglob("*.py") if "generated" not in p.parts)
    return out


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _holder_name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def kind_misuses(source: str, where: str) -> list[str]:
    """Every use of the word ``kind`` in ``source`` that is not the calling contract."""
    if where.startswith(CONTRACT):
        return []
    out = []
    tree = ast.parse(source, where)
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Name) and node.id in ("kind", "KINDS"):
            out.append(f"{where}:{line}: name {node.id}")
        elif isinstance(node, ast.arg) and node.arg == "kind":
            out.append(f"{where}:{line}: parameter kind")
        elif isinstance(node, ast.Attribute) and node.attr == "kind":
            if _holder_name(node.value) not in CONTRACT_HOLDERS | FOREIGN_KIND_HOLDERS:
                out.append(f"{where}:{line}: attribute .kind of {ast.unparse(node.value)}")
        elif isinstance(node, ast.Call):
            callee = _holder_name(node.func)
            for kw in node.keywords:
                if kw.arg == "kind" and callee not in CONTRACT_CALLS:
                    out.append(f"{where}:{line}: keyword kind= in a call to {callee or '?'}")
        elif isinstance(node, ast.Dict):
            for key in node.keys:
                if isinstance(key, ast.Constant) and key.value == "kind":
                    out.append(f"{where}:{line}: dictionary key 'kind'")
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == "kind":
            out.append(f"{where}:{line}: function kind")
    return out


def spec_misuses(source: str, where: str) -> list[str]:
    """Every use of the word "spec" in ``source`` for something other than a user's spec file."""
    out = []
    tree = ast.parse(source, where)
    home = where.startswith(SPEC_HOME)
    for node in ast.walk(tree):
        line = getattr(node, "lineno", 0)
        names = []
        if isinstance(node, ast.ClassDef):
            names.append(node.name)
        elif isinstance(node, ast.Name):
            names.append(node.id)
        elif isinstance(node, ast.alias):
            names.append(node.asname or node.name.rsplit(".", 1)[-1])
        elif isinstance(node, ast.Attribute):
            names.append(node.attr)
            if node.attr == "spec" and _holder_name(node.value) != "args":  # args.spec: the --spec files
                out.append(f"{where}:{line}: attribute .spec of {ast.unparse(node.value)}")
        elif isinstance(node, ast.Call):
            out += [f"{where}:{line}: keyword spec=" for kw in node.keywords if kw.arg == "spec"]
        if not home:
            out += [
                f"{where}:{line}: {n} (a Spec is a user's spec file)"
                for n in names
                if n.endswith("Spec") and n not in SPEC_NAMES_ANYWHERE
            ]
    return out


@pytest.mark.parametrize("path", _files(), ids=_rel)
def test_kind_is_only_the_calling_contract(path):
    assert kind_misuses(path.read_text(encoding="utf-8"), _rel(path)) == []


@pytest.mark.parametrize("path", _files(), ids=_rel)
def test_spec_is_only_a_users_spec_file(path):
    assert spec_misuses(path.read_text(encoding="utf-8"), _rel(path)) == []


def test_the_glossary_names_every_word():
    text = (ROOT / "docs" / "design.md").read_text(encoding="utf-8")
    glossary = text[text.index("## Glossary") :]
    for word in ("kind", "category", "declaration", "spec", "severity", "form", "claim", "topic", "exercise"):
        assert f"**{word}**" in glossary, word


def test_the_renamed_words_are_gone_from_the_public_api():
    import gradproof.derive.engine.notation as notation
    import gradproof.derive.lecture.models as models
    from gradproof.derive.lecture.registry import CATEGORIES, Topic, topics

    assert not hasattr(notation, "ModuleSpec") and not hasattr(models, "ModelSpec")
    fields = Topic.__dataclass_fields__
    assert "category" in fields and "declaration" in fields and "kind" not in fields and "spec" not in fields
    assert {t.category for t in topics()} <= set(CATEGORIES)
    assert [t.name for t in topics(category="penalty")] and all(t.category == "penalty" for t in topics("penalty"))


# ---------------------------------------------------------------------------
# Must-fail: each rule catches a planted violation
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "def f(topic):\n    return topic.kind\n",
        "Topic(name='x', kind='loss')\n",
        "row = {'kind': 'user'}\n",
        "def f(kind):\n    return 1\n",
        "for kind in 'ab':\n    pass\n",
        "KINDS = ()\n",
    ],
)
def test_a_planted_kind_is_caught(source):
    assert kind_misuses(source, "reports/planted.py")
    assert kind_misuses(source, "numeric/kinds.py") == []  # the contract's own module may use it


def test_the_contract_kind_passes():
    ok = "ModuleCode(kind='loss')\nModuleDeclaration(kind='module')\nd.code.kind\ntopic.declaration.kind\n"
    assert kind_misuses(ok, "reports/planted.py") == []


@pytest.mark.parametrize(
    "source",
    [
        "class ModuleSpec:\n    pass\n",
        "from gradproof.x import NumericSpec\n",
        "topic.spec\n",
        "Topic(spec=1)\n",
    ],
)
def test_a_planted_spec_is_caught(source):
    assert spec_misuses(source, "derive/lecture/planted.py")


def test_spec_names_are_at_home_in_the_spec_reader():
    assert spec_misuses("class TomlSpec:\n    pass\n", "derive/specs/planted.py") == []
    assert spec_misuses("raise SpecError('p', 1, 'x')\n", "reports/planted.py") == []
