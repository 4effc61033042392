"""Derivation, proof and code generation (the only layer that imports SymPy).

Subpackages, one per subsystem:

* :mod:`~gradproof.derive.lecture` - the lecture's declarations: topics, functions, statements;
* :mod:`~gradproof.derive.reading` - the one grammar for mathematics typed as text;
* :mod:`~gradproof.derive.engine` - index form, matrix form and the expression language;
* :mod:`~gradproof.derive.proof` - exact proofs and high-precision references;
* :mod:`~gradproof.derive.output` - printers and NumPy code generation;
* :mod:`~gradproof.derive.seminar` - exercises, answer checking and grading;
* :mod:`~gradproof.derive.specs` - user modules from TOML spec files;
* :mod:`~gradproof.derive.support` - atomic output, the cache, worker lifetimes.

The package is also callable: ``gradproof.derive("softmax")`` derives and
proves a topic (see :func:`gradproof.derive.lecture.registry.derive`).
"""

from __future__ import annotations

import sys
import types


class _CallablePackage(types.ModuleType):
    """The ``gradproof.derive`` package, callable as ``gradproof.derive(topic)``."""

    def __call__(self, topic, *args, **kwargs):
        from gradproof.derive.lecture.registry import derive

        return derive(topic, *args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
