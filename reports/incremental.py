"""The report, incrementally: every part stored under a key of everything that decides it.

A report is assembled from parts that rarely change together: one fragment
per topic (its rendered HTML and LaTeX views, its verification records, the
facts the companion reads), the experiments' figures and records, the
activation plot, and the two PDFs.  Each part is kept in the derivation
cache's authenticated, atomic store (:func:`gradproof.derive.support.cache.load_entry`)
under a SHA-256 key of its inputs:

* :func:`environment` -- every file of ``numeric/`` (the generated code
  included) and ``reports/``, the templates, the installed distributions
  (names and versions) and Python: what verifies, draws and renders;
* for a built-in topic, :func:`topic_digests` -- the ``derive`` package
  without its declaration files, the parts of the declaration files that
  declare no single topic (imports, shared arguments, helpers), and the
  statements that declare the topic and every topic it names;
* for a user's module, its derivation key (the spec's text and path, and
  all of ``derive``);
* for a PDF, the bytes of its ``.tex`` and of the figures beside it, and the
  TeX engine.

Editing one topic's declaration therefore changes the keys of that topic
and of the topics that depend on it; the others are read back.  A topic
depends on the topics its declaration statement names, and on those that
code it runs names where that code can reach the registry (the proof
``relu_properties`` builds derives ``relu``): :func:`code_uses` follows the
functions named in a declaration statement, and the functions referring to
a function, by name.  Statements are attributed to a topic only when they
bind no name (a bare call such as ``module("relu", ...)``); anything else
in a declaration file is shared by every topic, and so is the declaration
of a topic that code every topic may run names (module-level code, a
function nothing names, which may be reached by dispatch): a change there
recomputes every topic.  That errs towards recomputing, never towards
reusing a stale part.

A whole unchanged rerun is one more entry: the files of the output folder,
stored under a key of the source, the options and the spec files' bytes,
together with the keys of the parts they were assembled from; it is used
only while every one of those parts still authenticates.

Nothing here is trusted that did not authenticate, and under ``--no-cache``
nothing is read or written.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import os
import re
import sys
from pathlib import Path

from gradproof.derive.support import cache

LAYOUT = b"gradproof-report-parts 1\n"  # bump when a stored part's layout changes
DECLARATIONS = "derive/lecture/topics_*.py"  # the registry's declaration files


def root() -> Path:
    """The gradproof package folder (the checkout, or the installed package)."""
    return Path(__file__).resolve().parents[1]


def active() -> bool:
    """Whether parts are read and written (not under ``--no-cache`` / ``GRADPROOF_NO_CACHE``)."""
    return cache.enabled()


def _digest(*parts) -> str:
    h = hashlib.sha256(LAYOUT)
    for part in parts:
        data = part if isinstance(part, bytes) else str(part).encode("utf-8", "surrogatepass")
        h.update(len(data).to_bytes(8, "big") + data)
    return h.hexdigest()


def _hash_files(h, base: Path, files) -> None:
    for p in files:
        rel = p.relative_to(base).as_posix()
        if "__pycache__" not in rel:
            h.update(rel.encode() + b"\0" + p.read_bytes() + b"\0")


@functools.cache
def _distributions() -> str:
    """What the report runs on: gradproof's requirements and the ``digits`` extra's, transitively, as ``name==version``.

    NOTE: these, not everything installed: a package installed for something
    else (a benchmark's contender) must not make every stored part stale.
    Without an installed gradproof (a bare checkout), every distribution in
    the site folders stands in.
    """
    if _installed("gradproof") is None:
        return _site_listing()
    seen: dict[str, str] = {}
    todo = ["gradproof"]
    while todo:
        name = todo.pop()
        dist = None if name in seen else _installed(name)
        if dist is None:
            continue  # absent is a state too: the key holds it by omission
        seen[name] = dist.version
        for req in dist.requires or ():
            marker = req.partition(";")[2]
            if "extra" in marker and not (name == "gradproof" and '"digits"' in marker.replace("'", '"')):
                continue  # another extra: not what the report runs on
            found = _REQUIREMENT.match(req)
            if found:
                todo.append(_canonical(found.group(0)))
    return "\n".join(f"{n}=={v}" for n, v in sorted(seen.items()))


class _Dist:
    """An installed distribution's version and requirements, read from its ``.dist-info`` metadata headers."""

    def __init__(self, folder: Path):
        headers: list[str] = []
        with open(folder / "METADATA", encoding="utf-8", errors="surrogateescape") as fh:
            for line in fh:
                if line in ("\n", "\r\n"):
                    break  # the headers end at the first blank line; the description follows
                if line[0] in " \t" and headers:
                    headers[-1] += " " + line.strip()  # a folded header continues
                else:
                    headers.append(line.rstrip("\r\n"))
        fields = [h.partition(":") for h in headers]
        self.version = next((v.strip() for k, _, v in fields if k.lower() == "version"), None)
        self.requires = [v.strip() for k, _, v in fields if k.lower() == "requires-dist"]


def _installed(name: str):
    """The distribution ``name`` as installed (the first on ``sys.path``), or None.

    NOTE: looked up by name, so that only the distributions the report runs
    on have their metadata read, not every installed one; a ``.dist-info``
    folder's headers are read here (importing ``importlib.metadata`` costs
    as much as reading them all), anything else through ``importlib.metadata``.
    """
    folders = _info_folders()
    folder = folders.get(name)
    if folder is not None and folder.name.endswith(".dist-info") and (folder / "METADATA").is_file():
        dist = _Dist(folder)
        if dist.version is not None:
            return dist
    from importlib import metadata

    try:
        return metadata.distribution(name)
    except (metadata.PackageNotFoundError, ValueError):
        return None


@functools.cache
def _info_folders() -> dict[str, Path]:
    """Canonical name -> the first ``*.dist-info`` / ``*.egg-info`` folder of that name on ``sys.path``."""
    out: dict[str, Path] = {}
    for entry in sys.path:
        try:
            names = sorted(os.listdir(entry or "."))
        except OSError:
            continue
        for n in names:
            if n.endswith((".dist-info", ".egg-info")):
                out.setdefault(_canonical(n.rpartition(".")[0].partition("-")[0]), Path(entry or ".") / n)
    return out


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


_REQUIREMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def _site_listing() -> str:
    """Every distribution folder in this interpreter's site folders (the current folder is not one)."""
    import site
    import sysconfig

    folders = {sysconfig.get_paths()[k] for k in ("purelib", "platlib")}
    if site.ENABLE_USER_SITE:
        folders.add(site.getusersitepackages())
    names = set()
    for folder in sorted(folders):
        try:
            names.update(n for n in os.listdir(folder) if n.endswith((".dist-info", ".egg-info")))
        except OSError:
            continue
    return "\n".join(sorted(names))


@functools.cache
def environment() -> str:
    """What decides every part besides the derivations: the code that verifies, draws and renders."""
    base = root()
    h = hashlib.sha256(LAYOUT)
    files = [base / "__init__.py"] if (base / "__init__.py").is_file() else []
    for sub in ("numeric", "reports"):
        files += sorted((base / sub).rglob("*.py"))
    files += sorted(p for p in (base / "templates").rglob("*") if p.is_file())
    _hash_files(h, base, files)
    h.update(_distributions().encode())
    h.update(f"{sys.implementation.name} {sys.version}".encode())
    return h.hexdigest()


def _declaration_files() -> list[Path]:
    return sorted(root().glob(DECLARATIONS))


@functools.cache
def engine_hash() -> str:
    """``derive/`` without the declaration files, and the distributions it runs on."""
    base = root()
    skip = set(_declaration_files())
    h = hashlib.sha256(LAYOUT)
    _hash_files(h, base, [p for p in sorted((base / "derive").rglob("*.py")) if p not in skip])
    h.update(_distributions().encode())
    return h.hexdigest()


# -- Built-in topics: which statements declare which topic ------------------------------------------


@functools.lru_cache(maxsize=16)
def _scanned(fname: str, text: str) -> tuple[tuple, str | None]:
    """A declaration file's top-level statements, read once per text.

    Each statement is ``(piece, binds nothing, its strings, what it refers
    to)``: its text from the end of the statement before (comments and
    blank lines included, prefixed with ``fname``), whether it is a bare
    expression binding no name, every string constant in it, and the
    identifiers it refers to (:func:`_references`).  Then the text after the
    last statement, or None.
    """
    tree = ast.parse(text)
    skip = _docstrings(tree)
    data = text.encode("utf-8")  # ast's columns count UTF-8 bytes
    offsets = _line_offsets(data)
    out, start = [], 0
    for stmt in tree.body:
        end = offsets[stmt.end_lineno - 1] + stmt.end_col_offset
        piece = f"{fname}\0{data[start:end].decode('utf-8')}"
        start = end
        walrus, strings, refs = False, set(), set()
        for n in ast.walk(stmt):  # one walk for the three (a declaration file is read on every run)
            if isinstance(n, ast.Name):
                refs.add(n.id)
            elif isinstance(n, ast.Attribute):
                refs.add(n.attr)
            elif isinstance(n, ast.Constant) and isinstance(n.value, str):
                strings.add(n.value)
                if id(n) not in skip:
                    refs.add(n.value)
            elif isinstance(n, ast.NamedExpr):
                walrus = True
        out.append((piece, isinstance(stmt, ast.Expr) and not walrus, frozenset(strings), frozenset(refs)))
    tail = f"{fname}\0{data[start:].decode('utf-8')}" if start < len(data) else None
    return tuple(out), tail


def declaration_parts(texts: dict[str, str], names) -> tuple[dict[str, list[str]], list[str]]:
    """Split declaration files into each topic's statements and the shared rest.

    ``texts`` maps a file's name to its text; ``names`` are the registered
    topics.  A top-level statement that binds nothing and holds a topic's
    name as a string belongs to every topic it names; every other statement
    (imports, assignments, definitions, loops), and the comments between
    statements, is shared.  Together the pieces are the whole text:

    >>> owned, shared = declaration_parts({"t.py": "import x\\nmodule('a', 1)\\n"}, {"a", "b"})
    >>> owned["a"], owned["b"], shared
    (["t.py\\x00\\nmodule('a', 1)"], [], ['t.py\\x00import x', 't.py\\x00\\n'])
    """
    names = set(names)
    owned: dict[str, list[str]] = {n: [] for n in names}
    shared: list[str] = []
    for fname, text in sorted(texts.items()):
        statements, tail = _scanned(fname, text)
        for piece, binds_nothing, strings, _ in statements:
            mentioned = strings & names if binds_nothing else set()
            for n in sorted(mentioned):
                owned[n].append(piece)
            if not mentioned:
                shared.append(piece)
        if tail is not None:
            shared.append(tail)
    return owned, shared


def _line_offsets(data: bytes) -> list[int]:
    """The byte offset at which each line starts."""
    offsets, pos = [], 0
    for line in data.splitlines(keepends=True):
        offsets.append(pos)
        pos += len(line)
    return offsets + [pos]


_REGISTRY_DOORS = ("gradproof", "gradproof.derive", "gradproof.derive.lecture.registry")
_DOOR_TEXTS = ("registry", "from gradproof import", "gradproof.derive import", "import gradproof\n")


_BLOCKS = (ast.stmt, ast.excepthandler, ast.match_case)


def _statements(tree):
    """``tree`` and every statement in it, at any depth (plus ``except`` and ``case`` clauses).

    Expressions are not entered: no statement is ever inside one, and they
    are most of a tree's nodes.
    """
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        for name in node._fields:
            value = getattr(node, name, None)
            if isinstance(value, list):
                todo.extend(v for v in value if isinstance(v, _BLOCKS))


def _opens_registry(tree) -> bool:
    """Whether a module imports the registry (or the API that derives by name), so it can reach any topic."""
    for node in _statements(tree):
        if isinstance(node, ast.Import) and any(a.name in _REGISTRY_DOORS for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module in _REGISTRY_DOORS or any(f"{node.module}.{a.name}" in _REGISTRY_DOORS for a in node.names):
                return True
    return False


def _docstrings(tree) -> set[int]:
    kinds = (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return {
        id(n.body[0].value)
        for n in _statements(tree)
        if isinstance(n, kinds)
        and n.body
        and isinstance(n.body[0], ast.Expr)
        and isinstance(n.body[0].value, ast.Constant)
    }


# -- Built-in topics: which topics code names, and for which topics that code runs -------------------

EVERYONE = "*"  # code every topic may run: a topic it names is every topic's dependency


def _units(tree):
    """``(name, node)`` for every function of a module: top-level ones and the methods of top-level classes.

    ``name`` is ``None`` for code outside them (module level, class bodies),
    which runs for everyone.
    """
    for stmt in tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield stmt.name, stmt
        elif isinstance(stmt, ast.ClassDef):
            rest = []
            for sub in stmt.body:
                if isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    yield sub.name, sub
                else:
                    rest.append(sub)
            yield None, ast.Module(body=rest + stmt.decorator_list + stmt.bases, type_ignores=[])
        else:
            yield None, stmt


def _numeric_names(tree) -> set[str]:
    """Names a module imports from ``gradproof.numeric`` (which never imports ``derive``)."""
    out = set()
    for node in _statements(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("gradproof.numeric"):
            out |= {a.asname or a.name for a in node.names}
    return out


def _looked_up(node, names, skip, numeric, out) -> None:
    """Collect the topic names in ``node`` that may reach the registry.

    Not counted: a name only compared (``decl.activation == "sigmoid"``), a
    name handed to a class or function of ``gradproof.numeric`` (a network's
    node kind), a name keying a table of numbers (a scheduling cost): none
    of them looks up a declaration.
    """
    if isinstance(node, ast.Constant):
        if isinstance(node.value, str) and node.value in names and id(node) not in skip:
            out.add(node.value)
        return
    inert: list = []
    if isinstance(node, ast.Compare) and all(isinstance(op, (ast.Eq, ast.NotEq, ast.In, ast.NotIn)) for op in node.ops):
        inert = [node.left, *node.comparators]
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in numeric:
        inert = [*node.args, *(k.value for k in node.keywords)]
    elif isinstance(node, ast.Dict) and node.values and all(_is_number(v) for v in node.values):
        inert = [k for k in node.keys if k is not None]  # a table of figures by topic (a cost estimate)
    for sub in inert:
        _mark_literal(sub, skip, numeric)
    for child in ast.iter_child_nodes(node):
        _looked_up(child, names, skip, numeric, out)


def _is_number(node) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) in (int, float)


def _mark_literal(node, skip, numeric) -> None:
    """Mark the strings of a literal (nested tuples, lists, sets, dicts, numeric calls) as not looked up."""
    if isinstance(node, ast.Constant):
        skip.add(id(node))
    elif isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        for e in node.elts:
            _mark_literal(e, skip, numeric)
    elif isinstance(node, ast.Dict):
        for e in [*node.keys, *node.values]:
            if e is not None:
                _mark_literal(e, skip, numeric)
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in numeric:
        for e in [*node.args, *(k.value for k in node.keywords)]:
            _mark_literal(e, skip, numeric)


class _Code:
    """The project's code (``derive/`` without the declaration files, and ``reports/``), parsed on demand.

    :meth:`named` finds the topics each function names where it may reach
    the registry; :meth:`chain` finds the functions that may run it: those
    referring to it by name, and those referring to them, and so on.  Names
    are matched without resolving imports, so a function stands for every
    function of that name; module-level code and class bodies run for
    everyone.  Each rule errs towards more dependencies.
    """

    def __init__(self, names):
        base = root()
        skip = set(_declaration_files())
        self.names = set(names)
        self.sources: dict[str, str] = {}
        for sub in ("derive", "reports"):
            for p in sorted((base / sub).rglob("*.py")):
                if p not in skip and "__pycache__" not in p.parts:
                    self.sources[p.relative_to(base).as_posix()] = p.read_text(encoding="utf-8")
        self._trees: dict[str, ast.Module] = {}
        self._refs: dict[str, list] = {}

    def tree(self, rel: str) -> ast.Module:
        if rel not in self._trees:
            self._trees[rel] = ast.parse(self.sources[rel])
        return self._trees[rel]

    def named(self) -> list[tuple[str | None, set[str]]]:
        """``(function or None, topics it names)`` over every module that opens the registry."""
        out = []
        for rel, text in self.sources.items():
            if not any(d in text for d in _DOOR_TEXTS) or not _opens_registry(self.tree(rel)):
                continue
            tree = self.tree(rel)
            skip, numeric = _docstrings(tree), _numeric_names(tree)
            for name, node in _units(tree):
                found: set[str] = set()
                _looked_up(node, self.names, skip, numeric, found)
                if found:
                    decorated = name is not None and bool(getattr(node, "decorator_list", None))
                    out.append((None if decorated else name, found))  # a decorator may register it anywhere
        return out

    def chain(self, function: str):
        """``(functions, unreferred)``: ``function`` and every function that may run it, and those of them
        nothing here refers to; :data:`EVERYONE` when code that runs for everyone refers to one."""
        seen, todo, unreferred = {function}, [function], set()
        while todo:
            f = todo.pop()
            refs = self._referred_by(f)
            if None in refs:
                return EVERYONE
            if not refs:
                unreferred.add(f)  # a declaration may name it; if none does, it runs for everyone
            for owner in refs:
                if owner not in seen:
                    seen.add(owner)
                    todo.append(owner)
        return sorted(seen), sorted(unreferred)

    def _referred_by(self, function: str) -> set:
        """The functions (by name) referring to ``function``, with ``None`` for code that runs for everyone."""
        word = re.compile(rf"\b{re.escape(function)}\b")
        out = set()
        for rel, text in self.sources.items():
            if function in text and word.search(text):
                out |= {key for key, refs in self._unit_references(rel) if function in refs}
        return out

    def _unit_references(self, rel: str) -> list:
        """``(function or None, identifiers it refers to)`` for every unit of a module (computed once)."""
        if rel not in self._refs:
            tree = self.tree(rel)
            skip = _docstrings(tree) | _exports(tree)
            self._refs[rel] = [(key, _references(node, skip)) for key, node in _units(tree)]
        return self._refs[rel]


def _exports(tree) -> set[int]:
    """The strings of ``__all__`` (an export is no call)."""
    return {
        id(c)
        for n in tree.body
        if isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in n.targets)
        for c in ast.walk(n.value)
    }


def _references(node, skip: set[int]) -> set[str]:
    """Every identifier ``node`` refers to: names, attributes, and strings (``getattr(module, "name")``)."""
    out = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Name):
            out.add(n.id)
        elif isinstance(n, ast.Attribute):
            out.add(n.attr)
        elif isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in skip:
            out.add(n.value)
    return out


def _code_chains(names) -> list:
    """For every function of ``derive/`` and ``reports/`` naming topics: the topics and its :meth:`_Code.chain`.

    Stored under a key of that code and the topics' names: a rerun, or an
    edit of a declaration file, reads it back instead of parsing the code.
    """
    key = _chains_key(names)
    if key in _CHAINS:
        return _CHAINS[key]
    stored = _stored_chains(key)
    if stored is None:
        code = _Code(names)
        stored = [(sorted(found), EVERYONE if f is None else code.chain(f)) for f, found in code.named()]
        if active():
            cache.store_entry(key, stored)
    _CHAINS[key] = stored
    return stored


_CHAINS: dict[str, list] = {}  # this process's, by key (the code is read once per process, as environment() is)


def _chains_key(names) -> str:
    return _digest("code chains", engine_hash(), environment(), *sorted(set(names)))


def _stored_chains(key: str) -> list | None:
    """The code chains stored under ``key`` (kept for this process), or None."""
    stored = cache.load_entry(key) if active() else None
    if not isinstance(stored, list):
        return None
    _CHAINS[key] = stored
    return stored


def fragments_may_be_stored(names) -> bool:
    """Whether a stored fragment of a built-in topic (``names``: every built-in topic) can be found at all.

    Every such fragment's key is made from the code chains
    (:func:`_code_chains`), which are stored before the first fragment
    keyed by them; when they are not stored under this source's key (an
    empty cache, a new source), no fragment of this source is either, and
    looking one up would only cost the chains' parsing.  A lost or corrupt
    chains entry makes every fragment rebuilt: wasted work, never a stale
    part.
    """
    if not active():
        return False
    key = _chains_key(names)
    return key in _CHAINS or _stored_chains(key) is not None


def code_uses(names, texts: dict[str, str]) -> tuple[set[str], dict[str, set[str]]]:
    """Which topics' declarations code reaches: for everyone, and per topic.

    A topic named, where it may reach the registry, by a function that only
    some topics' derivations run (``derive("relu")`` in the proof that only
    ``relu_properties`` builds) is a dependency of those topics; named by
    code every topic may run, it is everyone's dependency.
    """
    names = set(names)
    statements = []  # per declaration statement: what it refers to, and its topics (or EVERYONE)
    for fname, text in texts.items():
        for _, binds_nothing, strings, refs in _scanned(fname, text)[0]:
            statements.append((refs, (strings & names if binds_nothing else set()) or EVERYONE))
    everyone: set[str] = set()
    uses: dict[str, set[str]] = {}
    for found, chain in _code_chains(names):
        runs = _runs_for(chain, statements)
        if runs == EVERYONE:
            everyone.update(found)
        else:
            for t in runs:
                uses.setdefault(t, set()).update(set(found) - {t})
    return everyone, uses


def _runs_for(chain, statements):
    """The topics whose declaration statements refer to a function of ``chain``, or :data:`EVERYONE`."""
    if chain == EVERYONE:
        return EVERYONE
    functions, unreferred = chain
    topics: set[str] = set()
    for f in functions:
        owners = [owner for refs, owner in statements if f in refs]
        if EVERYONE in owners or (f in unreferred and not owners):
            return EVERYONE  # shared declaration code, or nothing names it (an entry point, a dispatch)
        for owner in owners:
            topics |= owner
    return topics


def declaration_texts() -> dict[str, str]:
    """The declaration files' texts, by path inside the package."""
    return {p.relative_to(root()).as_posix(): p.read_text(encoding="utf-8") for p in _declaration_files()}


def declarations_digest(texts: dict[str, str] | None = None) -> str:
    """A digest of the declaration files' texts (read now unless given): what a process declared its topics from."""
    texts = declaration_texts() if texts is None else texts
    return _digest("declarations", *(p for name in sorted(texts) for p in (name, texts[name])))


def topic_digests(names, texts: dict[str, str] | None = None) -> dict[str, str]:
    """Per built-in topic, a digest of everything in ``derive/`` that can decide its derivation."""
    names = sorted(set(names))
    if texts is None:
        texts = declaration_texts()
    owned, shared = declaration_parts(texts, names)
    everyone, uses = code_uses(names, texts) if names else (set(), {})
    # a topic that code every topic may run names is everyone's dependency: its declaration is shared
    common = _digest(engine_hash(), *shared, *(p for n in sorted(everyone) for p in owned[n]))
    out = {}
    for n in names:
        closure, todo = set(), [n]
        while todo:  # the topic, every topic its statements name and its code reaches, transitively
            t = todo.pop()
            if t not in closure:
                closure.add(t)
                todo += [m for piece in owned[t] for m in names if m not in closure and _quotes(piece, m)]
                todo += sorted(uses.get(t, set()) - closure)
        out[n] = _digest(common, n, *(p for t in sorted(closure) for p in owned[t]))
    return out


def _quotes(piece: str, name: str) -> bool:
    return f'"{name}"' in piece or f"'{name}'" in piece


# -- Before the registry loads: which built-in topics a run will build --------------------------------


def _names_key() -> str:
    # not keyed by the declaration files: an edit of one still finds the names the last run declared
    return _digest("built-in topic names", engine_hash(), environment())


def remembered_topics() -> dict[str, str]:
    """The built-in topics the last run on this code declared, each with its category (empty when none)."""
    topics = cache.load_entry(_names_key()) if active() else None
    if isinstance(topics, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in topics.items()):
        return topics
    return {}


def remember_topics(categories: dict[str, str]) -> None:
    """Keep the built-in topics' names and categories for the next run, which guesses its work from them
    (:func:`predict_builds`)."""
    categories = dict(sorted(categories.items()))
    if active() and remembered_topics() != categories:
        cache.store_entry(_names_key(), categories)


def predict_builds(wanted=None) -> list[str] | None:
    """The built-in topics (of ``wanted``, or all) whose fragment is not stored, guessed without SymPy or the registry.

    The guess takes the built-in topics' names from the last run on this
    code (:func:`remember_topics`; the declaration files may have changed
    since) and looks for the fragments their keys name, by the entries'
    presence alone.  It decides only where the work starts, never what is
    reused: a topic guessed wrongly either way is read back or built once
    the registry has loaded, as without a guess.  ``None`` when nothing can
    be guessed (the cache off or empty, a new code, a first run).
    """
    names = tuple(remembered_topics())
    if not names or not fragments_may_be_stored(names):
        return None
    digests = topic_digests(names)
    env = environment()
    todo = [n for n in dict.fromkeys(wanted or names) if n in digests]
    return [n for n in todo if not _present(_fragment_key(env, digests[n]))]


def _present(key: str) -> bool:
    """Whether an entry is stored under ``key`` (not whether it authenticates: :meth:`Keys.load` checks that)."""
    try:
        return (cache.cache_dir() / (key + cache.SUFFIX)).is_file()
    except (OSError, ValueError):
        return False


def _fragment_key(env: str, part: str) -> str:
    return _digest("fragment", env, part)


# -- Keys of the parts -----------------------------------------------------------------------------


class Keys:
    """The keys of one report's parts, computed once per run; what the run read back and what it stored.

    With the cache off every key is ``None``: nothing is read or written.
    """

    def __init__(self):
        self.on = active()
        self._builtin: dict[str, str] | None = None
        self.read: list[str] = []
        self.written: list[str] = []
        self.complete = True  # False once a part had no key: the run as a whole cannot be stored
        self.declarations: str | None = None  # the digest of the declaration files the keys were made from

    def builtin_names(self) -> list[str]:
        return list(self._builtin_categories())

    def _builtin_categories(self) -> dict[str, str]:
        from gradproof.derive.lecture import registry

        return {t.name: t.category for t in registry.topics() if t.category != "user"}

    def builtin_fragments_stored(self) -> bool:
        """Whether looking up built-in topics' fragments can find one (:func:`fragments_may_be_stored`)."""
        return self.on and fragments_may_be_stored(self.builtin_names())

    def prime(self) -> None:
        """Compute the built-in topics' fragment keys now (e.g. while workers run), not at the first store."""
        if self.on and self._builtin is None:
            texts, categories = declaration_texts(), self._builtin_categories()
            self._builtin = topic_digests(categories, texts)
            self.declarations = declarations_digest(texts)
            remember_topics(categories)

    def fragment(self, topic) -> str | None:
        """A topic's fragment: its derivation's inputs, the verifying and rendering code."""
        if not self.on:
            return None
        key = None
        if cache.topic_key(topic) is None:
            pass  # a topic nothing on disk identifies is built afresh every time
        elif topic.category == "user":
            # the name too: one spec file may declare several topics
            key = _digest("fragment", environment(), "user", topic.name, cache.topic_key(topic))
        else:
            self.prime()
            part = self._builtin.get(topic.name)
            key = None if part is None else _fragment_key(environment(), part)
        self.complete = self.complete and key is not None
        return key

    def source(self, name: str) -> str | None:
        """A report-level part (an experiment, the activation plot, the networks' checks)."""
        # derive's engine is in: the figures' captions quote the errata's slides
        return _digest("source", environment(), engine_hash(), name) if self.on else None

    def load(self, key: str | None, expected: type, check=None):
        """The part stored under ``key`` if it authenticates and is an ``expected`` (and passes ``check``)."""
        if key is None:
            return None
        obj = cache.load_entry(key)
        if not isinstance(obj, expected) or (check is not None and not check(obj)):
            return None
        self.read.append(key)
        return obj

    def save(self, key: str | None, obj) -> None:
        if key is not None:
            cache.store_entry(key, obj)
            self.written.append(key)

    @property
    def used(self) -> list[str]:
        """Every key read or written, once each, sorted."""
        return sorted(set(self.read) | set(self.written))


def pdf_key(tex: bytes, figures: dict[str, bytes], engine: list[str]) -> str | None:
    """A compiled PDF: its .tex, the figures beside it and the TeX engine that compiles it."""
    if not active():
        return None
    parts = [tex, " ".join(engine)] + [p for name in sorted(figures) for p in (name, figures[name])]
    return _digest("pdf", _tool_identity(engine[0]), *parts)


def aux_key(tex_name: str, engine: list[str]) -> str | None:
    """The auxiliary files of the last compile of a document named ``tex_name``: a seed for the next, never output.

    Not keyed by the document's text, nor its folder: an edited document,
    or the same one in another output folder, is seeded with them, and the
    compile runs on to the fixed point of its own (see
    :func:`gradproof.reports.writing.compile_document`).
    """
    if not active():
        return None
    return _digest("pdf aux", _tool_identity(engine[0]), " ".join(engine), tex_name)


def load_seed(key: str | None, check) -> dict | None:
    """A stored seed, if it authenticates and passes ``check``."""
    obj = cache.load_entry(key) if key is not None else None
    return obj if isinstance(obj, dict) and check(obj) else None


def store_seed(key: str | None, aux: dict) -> None:
    if key is not None:
        cache.store_entry(key, aux)


def _tool_identity(command: str) -> str:
    """The TeX tools as installed: their resolved paths, sizes and dates (a new TeX Live is a new key)."""
    import shutil

    out = []
    for tool in (command, "pdflatex"):
        path = shutil.which(tool)
        if path:
            st = os.stat(os.path.realpath(path))
            out.append(f"{os.path.realpath(path)} {st.st_size} {st.st_mtime_ns}")
    return "\n".join(out)


def output_key(topics, formats, specs, tex: list[str] | None) -> str | None:
    """The whole output folder of ``gradproof report``: the source, the options, the spec files' bytes.

    ``tex`` is the command that compiles the PDFs (``None``: no TeX
    installed).  ``None`` when the cache is off or a spec file cannot be
    read (the run itself then says why).
    """
    if not active():
        return None
    parts = ["output", environment(), cache.fingerprint().decode(), "|".join(topics), "|".join(formats)]
    for spec in specs:
        try:
            parts += [spec, os.path.realpath(spec), Path(spec).read_bytes()]
        except OSError:
            return None
    parts.append(_tool_identity(tex[0]) if tex else "no TeX")
    return _digest(*parts)


def load_output(key: str | None) -> dict | None:
    """A stored output folder, if it and every part it was assembled from authenticate."""
    if key is None:
        return None
    memo = cache.load_entry(key)
    if not (isinstance(memo, dict) and isinstance(memo.get("files"), dict) and isinstance(memo.get("parts"), list)):
        return None
    # the parts must still be there: a corrupted one is found, and rebuilt, now
    if not all(cache.load_entry(k) is not None for k in memo["parts"]):
        return None
    return memo
