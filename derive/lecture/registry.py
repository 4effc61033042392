"""The topic registry: every topic declared once, iterated by everything else.

A :class:`Topic` names *what* is explained; its ``build`` says *how* it is
derived, reading its ``declaration``.  Declarations live in the
``derive/lecture/topics_*.py`` files,
one per part of the lecture, and register themselves on import.

>>> names = [t.name for t in topics()]
>>> "softmax_cross_entropy" in names
True
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

# Categories, in the order the lecture meets them (used for sorting and listing).
CATEGORIES = (
    "neuron",
    "layer",
    "activation",
    "loss",
    "fused",
    "penalty",
    "model",
    "mle",
    "map",
    "closed_form",
    "identity",
    "init",
    "user",
)

# Declaration files, in the lecture's order; each calls register().
_DECLARATION_MODULES = (
    "gradproof.derive.lecture.topics_modules",
    "gradproof.derive.lecture.topics_stats",
    "gradproof.derive.lecture.topics_lecture",
)


@dataclass(frozen=True)
class Topic:
    """One topic of the lecture, declared once.

    ``category`` groups it (neuron, loss, identity, ...); ``declaration`` is what its
    engine reads (a :class:`gradproof.derive.engine.notation.ModuleDeclaration`
    for modules, losses and penalties, a
    :class:`gradproof.derive.lecture.models.ModelDeclaration` for models); ``build`` is the function that derives it
    (``build(topic) -> Derivation``).  ``order`` places it in the lecture.
    ``claims`` are :class:`gradproof.derive.engine.derivation.Claim` texts,
    read when the topic is made (so also by ``dataclasses.replace``) with the
    names in ``symbols``.
    """

    name: str
    title: str
    category: str
    section: str
    order: float
    summary: str
    build: Callable[[Topic], Any]
    declaration: Any = None
    claims: tuple = ()
    tags: tuple = ()
    extra: dict = field(default_factory=dict, hash=False, compare=False)
    source: str = ""  # where it is declared; recorded at registration, carried by its Derivation
    # the names its claims may use (gradproof.derive.reading.claims.Symbols); modules build theirs from their declaration
    symbols: Any = field(default=None, hash=False, compare=False)

    def __post_init__(self) -> None:
        if not self.source and isinstance(self.extra.get("source"), str):
            object.__setattr__(self, "source", self.extra["source"])  # a user's spec file
        if any(not c.read for c in self.claims):
            # claims are text: read here, so that a claim that does not read stops the import
            from gradproof.derive.reading.claims import read_claims

            object.__setattr__(self, "claims", read_claims(self.name, self.claims, self.symbols))


_REGISTRY: dict[str, Topic] = {}
_LOADED = False
# The topics the declaration files registered (what derive/support/cache.py may store).
_DECLARED: dict[str, Topic] = {}


def register(topic: Topic) -> Topic:
    """Register a declared topic, recording its source; returns the topic as registered."""
    if topic.name in _REGISTRY:
        raise ValueError(f"topic {topic.name!r} declared twice")
    if topic.category not in CATEGORIES:
        raise ValueError(f"topic {topic.name!r}: unknown category {topic.category!r}")
    if not topic.source:
        topic = replace(topic, source=_declared_source(topic))
    _REGISTRY[topic.name] = topic
    return topic


# Builders shared by many declarations: the declaration file is the topic's source.
_SHARED_BUILDERS = {
    "gradproof.derive.engine.modules": "derive/lecture/topics_modules.py",
    "gradproof.derive.lecture.models": "derive/lecture/topics_modules.py (composed in derive/lecture/models.py)",
}


def _declared_source(topic: Topic) -> str:
    """Where a built-in topic is declared, as generated files name it in their header."""
    module = getattr(topic.build, "__module__", "") or ""
    if module in _SHARED_BUILDERS:
        return _SHARED_BUILDERS[module]
    # gradproof.derive.lecture.closed_forms -> derive/lecture/closed_forms.py
    return "/".join(module.split(".")[1:]) + ".py"


def _load() -> None:
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    for mod in _DECLARATION_MODULES:
        _load_module(mod)


_IMPORTED: set[str] = set()  # the declaration files imported so far


def _load_module(mod: str) -> None:
    """Import one declaration file and record the topics it declared (their text is in the cache's source hash)."""
    if mod in _IMPORTED:
        return
    _IMPORTED.add(mod)
    before = set(_REGISTRY)
    try:
        importlib.import_module(mod)
    except ModuleNotFoundError as err:
        # A declaration file not written yet is simply absent; any other
        # missing module is a real error.
        if err.name != mod:
            raise
    new = {n: t for n, t in _REGISTRY.items() if t.category != "user" and n not in before}
    _DECLARED.update(new)
    from gradproof.derive.support import cache

    cache.declare(new.values())


def _load_declaring(name: str) -> None:
    """Import only the declaration files that quote ``name``, in the lecture's order, until it is registered.

    NOTE: ``gradproof derive TOPIC`` needs one topic (and those its derivation
    derives, looked up the same way), not every declaration; a name no file
    declares loads them all, so that the error suggests from every topic.
    """
    from importlib.util import find_spec

    for mod in _DECLARATION_MODULES:
        if name in _REGISTRY:
            return
        spec = find_spec(mod)
        if spec is None or not spec.origin:
            continue
        with open(spec.origin, encoding="utf-8") as fh:
            text = fh.read()
        if f'"{name}"' in text or f"'{name}'" in text:
            _load_module(mod)
    if name not in _REGISTRY:
        _load()


def topics(category: str | None = None) -> list[Topic]:
    """Every registered topic in the lecture's order."""
    _load()
    out = sorted(_REGISTRY.values(), key=lambda t: (t.order, t.name))
    return [t for t in out if category is None or t.category == category]


class UnknownTopic(KeyError):
    def __init__(self, name: str, suggestions: list[str]):
        super().__init__(name)
        self.name = name
        self.suggestions = suggestions

    def __str__(self) -> str:
        msg = f"unknown topic {self.name!r}"
        if self.suggestions:
            msg += "; did you mean " + ", ".join(self.suggestions) + "?"
        return msg + " (see `gradproof list`)"


def get(name: str) -> Topic:
    if not _LOADED and name not in _REGISTRY:
        _load_declaring(name)
    try:
        return _REGISTRY[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(_REGISTRY), n=3, cutoff=0.5)
        if not close:
            close = [n for n in _REGISTRY if name.lower() in n][:3]
        raise UnknownTopic(name, close) from None


_CACHE: dict[str, Any] = {}


def derive(name_or_topic) -> Any:
    """Derive a topic (cached per process): returns a frozen Derivation."""
    topic = name_or_topic if isinstance(name_or_topic, Topic) else get(name_or_topic)
    if topic.name not in _CACHE or _CACHE[topic.name][0] is not topic:
        # str() of a result's matrix prints through the text printer, which registers itself when its
        # module is imported: a derivation read from the disk cache must print as a fresh one does,
        # whichever declaration files this process happened to import
        from gradproof.derive.output import printing  # noqa: F401
        from gradproof.derive.support import cache  # on disk, across runs (derive/support/cache.py)

        _CACHE[topic.name] = (topic, _carrying_source(topic, cache.fetch(topic, topic.build)))
    return _CACHE[topic.name][1]


def _carrying_source(topic: Topic, d):
    """The derivation with its topic's source (plain data for the later stages)."""
    if getattr(d, "source", topic.source) == topic.source:
        return d
    return replace(d, source=topic.source)


def add_user_topic(topic: Topic) -> Topic:
    """Register a user-defined topic (from a spec file), replacing one of the same name."""
    _load()
    if topic.name in _REGISTRY and _REGISTRY[topic.name].category != "user":
        raise ValueError(f"a user module cannot replace the built-in topic {topic.name!r}")
    _REGISTRY[topic.name] = topic
    _CACHE.pop(topic.name, None)
    return topic


def remove_user_topic(name: str) -> None:
    """Forget a user-defined topic (one whose spec turned out not to derive)."""
    if name in _REGISTRY and _REGISTRY[name].category == "user":
        del _REGISTRY[name]
    _CACHE.pop(name, None)


def _derive_in_worker(names: tuple) -> list:
    """Derive a bundle of topics in order (a topic after the topics its derivation uses)."""
    import pickle

    return [(name, pickle.dumps(derive(name))) for name in names]


def derive_many(names=None, jobs: int | None = None) -> list:
    """Derive several topics (all by default), over ``jobs`` processes.

    SymPy is single-threaded; the exact proofs dominate the cost, and topics
    are independent, so forked workers (each keeping its own cache for shared
    dependencies) roughly divide the wall time by the core count.  Results
    land in this process's cache, in the order asked for.

    NOTE: the derivations cross the process boundary pickled, and unpickling
    re-evaluates unevaluated SymPy expressions (a displayed step such as an
    unevaluated product may come back multiplied out).  Results, proofs and
    matrix forms are unaffected; code that *prints steps* should derive in
    the process that prints (the report renders inside its workers).
    """
    import os
    import pickle

    ts = [name if isinstance(name, Topic) else get(name) for name in names] if names is not None else topics()
    todo = [t.name for t in ts if (t.name not in _CACHE or _CACHE[t.name][0] is not t) and not _stored(t)]
    if jobs is None:
        jobs = min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1, 8)
    if jobs > 1 and len(todo) > 2:
        import multiprocessing as mp

        try:
            ctx = mp.get_context("fork")
        except ValueError:  # pragma: no cover - platforms without fork
            ctx = None
        if ctx is not None:
            from gradproof.derive.support.lifetime import die_with_parent, signals_deferred

            with signals_deferred():  # workers die with this process; signals land after the fork
                pool = ctx.Pool(jobs, initializer=die_with_parent, initargs=(os.getpid(),))
            with pool:
                for done in pool.imap_unordered(_derive_in_worker, schedule(todo)):
                    for name, blob in done:
                        _CACHE[name] = (get(name), pickle.loads(blob))
    return [derive(t) for t in ts]


def schedule(names) -> list[tuple]:
    """Bundles of topics for the workers of :func:`derive_many`, costliest first.

    A topic whose derivation derives others (a model its modules, a lecture
    proof the modules it composes) is bundled with them, so that each is
    derived once, in the worker that needs it; a bundle lists its topics in
    an order that derives what is used first.  Handing out the costliest
    bundles first lets the workers finish together.  Only the time depends
    on this: a topic derived in another bundle too is simply derived twice.

    >>> [b for b in schedule(["sigmoid", "multinomial_logistic_regression", "linear", "softmax"]) if len(b) > 1]
    [('linear', 'softmax', 'multinomial_logistic_regression')]
    """
    _load()  # every declaration: a topic's uses are found among the registered topics
    names = list(dict.fromkeys(names))
    wanted = set(names)
    group = {n: n for n in names}  # union-find over "derives the other"

    def root(n):
        while group[n] != n:
            group[n] = group[group[n]]
            n = group[n]
        return n

    for n in names:
        for used in _uses(get(n)):
            if used in wanted:
                group[root(used)] = root(n)
    bundles: dict = {}
    for n in sorted(names, key=lambda n: (_depth(get(n)), names.index(n))):
        bundles.setdefault(root(n), []).append(n)
    return sorted((tuple(b) for b in bundles.values()), key=lambda b: -sum(_cost(get(n)) for n in b))


def _uses(topic: Topic) -> tuple:
    """The topics ``topic``'s derivation derives (a model: its modules)."""
    declaration = topic.declaration
    composed = tuple(getattr(declaration, part, None) for part in ("layer", "activation", "loss"))
    return tuple(n for n in composed if isinstance(n, str) and n in _REGISTRY) + _USES.get(topic.name, ())


def _depth(topic: Topic) -> int:
    uses = [get(n) for n in _uses(topic)]
    return 1 + max(map(_depth, uses)) if uses else 0


def _cost(topic: Topic) -> float:
    return _COST_HINT.get(topic.name, _COST_HINT.get(topic.category, 0.15))


def _stored(topic: Topic) -> bool:
    """Take the topic's derivation from the disk cache into this process's; True if it was there."""
    from gradproof.derive.support import cache

    d = cache.lookup(topic)
    if d is not None:
        _CACHE[topic.name] = (topic, _carrying_source(topic, d))
    return d is not None


# For scheduling only (a wrong entry costs time, never changes a result):
# rough CPU seconds of a topic's own derivation and proofs, by category, and for the
# topics far from their category's figure (`python bench/bench_derive.py --per-topic`).
_COST_HINT = {
    "model": 0.3,
    "closed_form": 0.4,
    "mle": 0.35,
    "map": 0.25,
    "identity": 0.2,
    "init": 0.15,
    "softmax": 0.65,
    "multinomial_logistic_regression": 0.55,
    "mle_sigma2": 0.55,
    "logistic_no_closed_form": 0.45,
    "linear": 0.35,
    "softmax_cross_entropy": 0.35,
    "symmetry": 0.35,
    "rnn_bptt": 0.3,
}
# Lecture proofs that derive other topics (models name theirs in their declaration).
_USES = {
    "relu_properties": ("relu", "leaky_relu"),
    "mlp_backprop": ("affine", "tanh", "softmax_cross_entropy"),
}
