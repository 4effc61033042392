"""gradproof: verified derivations of neural-network mathematics.

The public API for notebooks and scripts (see ``docs/api.md``)::

    import gradproof

    d = gradproof.derive("softmax_cross_entropy")   # a Derivation; renders in Jupyter
    gradproof.verify("softmax_cross_entropy")        # every verification layer, as records
    gradproof.check("softmax_ce_grad", "(P - Y)/m")  # a seminar answer's verdict
    print(gradproof.codegen("softmax"))              # the generated NumPy module

Everything is imported on first use, so ``import gradproof`` (and the command
line's ``--help``) never imports SymPy.  Subpackages: :mod:`gradproof.derive`
(derivation, proof and code generation), :mod:`gradproof.numeric` (NumPy only)
and :mod:`gradproof.reports` (command line and documents).
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass

__all__ = ["Verification", "check", "codegen", "derive", "load_spec", "numeric", "reports", "verify"]

# ``gradproof.derive`` is the subpackage itself: it is callable, ``gradproof.derive(topic)``.
_SUBPACKAGES = {"derive", "numeric", "reports"}


def __getattr__(name: str):
    if name in _SUBPACKAGES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | _SUBPACKAGES)


@dataclass(frozen=True)
class Verification:
    """The records of :func:`verify`: one per check, each ``{topic, check, max_rel_error, tolerance, passed}``."""

    records: tuple

    @property
    def passed(self) -> bool:
        """True when every check passed (and there was at least one)."""
        return bool(self.records) and all(r.passed for r in self.records)

    @property
    def failed(self) -> tuple:
        """The records of the checks that failed."""
        return tuple(r for r in self.records if not r.passed)

    def __str__(self) -> str:
        from gradproof.numeric.gradcheck import format_records

        failed = len(self.failed)
        return f"{format_records(self.records)}\n{len(self.records) - failed} passed, {failed} failed"

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(str(self))


def _topic_name(topic) -> str:
    return topic if isinstance(topic, str) else topic.topic  # a name or a Derivation


def verify(*topics, code_dir: str | None = None, seed: int = 0) -> Verification:
    """Run every verification layer on the given topics (names or Derivations).

    The layers are those of ``gradproof verify``: the exact proofs, central
    differences, random directions, the complex step, planted mutations and
    high-precision accuracy, on the generated module (or on the modules in
    ``code_dir``, a folder written by :func:`codegen`).  The networks
    ``"network:mlp"``, ``"network:dag"`` and ``"network:rnn"`` are topics too.
    An unknown name raises ``KeyError``.
    """
    if not topics:
        raise TypeError("verify() needs at least one topic, e.g. gradproof.verify('softmax')")
    from gradproof.reports.verify import verify_topic

    records = []
    for topic in topics:
        records += verify_topic(_topic_name(topic), code_dir=code_dir, seed=seed)
    return Verification(tuple(records))


def check(exercise: str, answer: str):
    """Check one seminar answer: a ``Verdict`` (``status``, ``feedback``, ``credit``...).

    The answer is read by gradproof's own grammar, never evaluated as code, and
    decided in a worker process under time and memory limits, exactly as
    ``gradproof check EXERCISE ANSWER`` does.  An unknown exercise raises ``KeyError``.
    """
    from gradproof.derive.seminar.answers.sandbox import CheckPool
    from gradproof.derive.seminar.exercises import get

    ex = get(exercise)
    with CheckPool(workers=1) as pool:
        return pool.run([("answer", ex.id, str(answer))])["answer"]


def codegen(topic, folder: str | os.PathLike | None = None) -> str:
    """The generated NumPy module of a topic (a name or a Derivation).

    Without ``folder`` the module's source text is returned; with it, the
    module is written there as ``<topic>.py`` and its path returned.  A topic
    without code (a statistics result, say) or whose exact proof failed
    raises ``ValueError``.
    """
    from gradproof.derive.lecture.registry import derive as _derive
    from gradproof.derive.output.codegen import generate, write_module

    d = _derive(_topic_name(topic))
    if d.code is None:
        raise ValueError(f"topic {d.topic!r} ({d.category}) has no code to generate")
    if not d.passed:
        failed = next(p for p in d.proofs if not p.passed)
        raise ValueError(f"topic {d.topic!r} failed its exact proof ({failed.key}: {failed.detail})")
    if folder is None:
        return generate(d)
    return write_module(d, os.fspath(folder))


def load_spec(path: str | os.PathLike) -> list[str]:
    """Register the user modules declared in a TOML spec file; returns their topic names.

    They can then be derived, verified and generated like built-in topics.
    A bad spec raises ``ValueError`` naming the file, line and column.
    """
    from gradproof.derive.specs.spec import load_spec_file

    return [t.name for t in load_spec_file(os.fspath(path))]
