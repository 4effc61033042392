"""The report's data model: plain, picklable records of what was built.

:mod:`gradproof.reports.build` fills a :class:`Report` (deriving and verifying
every topic, in worker processes); the renderers and the figure makers only
read these classes, so none of them needs the orchestrator.

>>> rec = Record("relu", "exact: matrix form", None, None, True)
>>> rec.error_text
'exact'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Record:
    """One verification record, the ``gradproof verify --json`` format.

    ``max_rel_error`` and ``tolerance`` are ``None`` for exact (symbolic)
    checks, which either hold identically or fail.
    """

    topic: str
    check: str
    max_rel_error: float | None
    tolerance: float | None
    passed: bool
    detail: str = ""

    @property
    def error_text(self) -> str:
        if self.max_rel_error is None:
            return "exact"
        if self.max_rel_error == 0:
            return "0"
        return f"{self.max_rel_error:.1e}"

    @property
    def tolerance_text(self) -> str:
        if self.tolerance is None:
            return "identical"
        return "0 (exact)" if self.tolerance == 0 else f"{self.tolerance:.0e}"


@dataclass(frozen=True)
class TopicSection:
    """Everything the report says about one topic."""

    name: str
    title: str
    category: str
    section: str
    derivation: Any = None  # gradproof.derive.engine.derivation.Derivation, None if deriving failed or once rendered
    records: tuple[Record, ...] = ()
    code: str | None = None  # the generated NumPy module's source
    code_path: str = ""
    error: str = ""  # why the topic could not be derived or verified
    # Set by build.rendered(): the renderers' views, computed where the derivation
    # lives (SymPy expressions do not survive pickling unchanged, strings do).
    views: dict | None = None
    exact_failed: tuple[str, ...] | None = None

    @property
    def derived(self) -> bool:
        return self.derivation is not None or self.views is not None

    def exact_failures(self) -> tuple[str, ...]:
        if self.exact_failed is not None:
            return self.exact_failed
        if self.derivation is None:
            return ()
        return tuple(p.key for p in self.derivation.proofs if not p.passed)

    @property
    def passed(self) -> bool:
        if self.error or not self.derived:
            return False
        return not self.exact_failures() and all(r.passed for r in self.records)

    @property
    def failures(self) -> list[str]:
        out = []
        if self.error:
            out.append(f"{self.name}: {self.error}")
        out += [f"{self.name}: {r.check}" for r in self.records if not r.passed]
        if self.exact_failures() and not out:
            # The records came from a verifier that does not repeat the exact layer.
            out.append(f"{self.name}: exact proof failed for {', '.join(self.exact_failures())}")
        return out


@dataclass(frozen=True)
class Figure:
    """A report-level figure: inline SVG for HTML, a PDF file for LaTeX."""

    name: str  # file stem, e.g. "init-distributions"
    title: str
    caption: str
    svg: str
    pdf: bytes


@dataclass(frozen=True)
class Unavailable:
    """A report-level part that could not be produced, and why (shown as such)."""

    title: str
    reason: str


@dataclass
class Report:
    """The whole report: topic sections, figures, and timings per stage."""

    sections: list[TopicSection]
    figures: list[Figure] = field(default_factory=list)
    unavailable: list[Unavailable] = field(default_factory=list)
    experiment_records: list[Record] = field(default_factory=list)  # e.g. the digits MLP's gradient checks
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage, summed over processes
    companion_figure: Figure | None = None  # the activation plot, drawn beside the topics (whole lecture only)
    timeline: Any = None  # gradproof.reports.timings.Timeline: every span of work that built it

    @property
    def passed(self) -> bool:
        return (
            bool(self.sections)
            and all(s.passed for s in self.sections)
            and all(r.passed for r in self.experiment_records)
        )

    @property
    def failures(self) -> list[str]:
        return [f for s in self.sections for f in s.failures] + [
            f"{r.topic}: {r.check}" for r in self.experiment_records if not r.passed
        ]

    def closed_form_records(self) -> list[Record]:
        """Numeric checks of the closed-form solutions (a report-level table; the
        exact proofs stay in each topic's own table)."""
        return [
            r
            for s in self.sections
            if s.category == "closed_form"
            for r in s.records
            if not r.check.startswith("exact")
        ]
