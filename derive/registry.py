"""The topic registry: every topic declared once, iterated by everything else.

A :class:`Topic` names *what* is explained; the engine for its ``kind`` says
*how* it is derived.  Declarations live in the ``derive/topics_*.py`` files,
one per part of the lecture, and register themselves on import.

>>> names = [t.name for t in topics()]
>>> "softmax_cross_entropy" in names
True
"""
from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass, field
from typing import Any, Callable

# Kinds, in the order the lecture meets them (used for sorting and listing).
KINDS = (
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
    "derive.topics_modules",
    "derive.topics_stats",
)


@dataclass(frozen=True)
class Topic:
    """One topic of the lecture, declared once.

    ``spec`` is the kind-specific declaration (a :class:`derive.engine.ModuleSpec`
    for modules, losses and models); ``build`` is the function that derives it
    (``build(topic) -> Derivation``).  ``order`` places it in the lecture.
    """

    name: str
    title: str
    kind: str
    section: str
    order: float
    summary: str
    build: Callable[["Topic"], Any]
    spec: Any = None
    claims: tuple = ()
    tags: tuple = ()
    extra: dict = field(default_factory=dict, hash=False, compare=False)


_REGISTRY: dict[str, Topic] = {}
_LOADED = False


def register(topic: Topic) -> Topic:
    if topic.name in _REGISTRY:
        raise ValueError(f"topic {topic.name!r} declared twice")
    if topic.kind not in KINDS:
        raise ValueError(f"topic {topic.name!r}: unknown kind {topic.kind!r}")
    _REGISTRY[topic.name] = topic
    return topic


def _load() -> None:
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    for mod in _DECLARATION_MODULES:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as err:
            # A declaration file not written yet is simply absent; any other
            # missing module is a real error.
            if err.name != mod:
                raise


def topics(kind: str | None = None) -> list[Topic]:
    """Every registered topic in the lecture's order."""
    _load()
    out = sorted(_REGISTRY.values(), key=lambda t: (t.order, t.name))
    return [t for t in out if kind is None or t.kind == kind]


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
    _load()
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
        _CACHE[topic.name] = (topic, topic.build(topic))
    return _CACHE[topic.name][1]


def add_user_topic(topic: Topic) -> Topic:
    """Register a user-defined topic (from a spec file), replacing one of the same name."""
    _load()
    if topic.name in _REGISTRY and _REGISTRY[topic.name].kind != "user":
        raise ValueError(f"a user module cannot replace the built-in topic {topic.name!r}")
    _REGISTRY[topic.name] = topic
    _CACHE.pop(topic.name, None)
    return topic
