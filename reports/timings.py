"""Where a report's time goes: spans of work per process, and their timeline.

``gradproof report --timings`` (or ``GRADPROOF_TIMINGS=1``) prints, on
stderr, every span of work the command did -- the parent process's serial
parts, each worker's jobs -- with its wall and CPU seconds, a timeline of the
processes (busy and idle), and the totals per stage.  Spans are measured on
the system-wide monotonic clock, so spans recorded in forked workers line up
with the parent's.

>>> tl = Timeline(origin=10.0)
>>> tl.add(Span("parent", "registry", 10.0, 11.0, 0.9))
>>> tl.add(Span("worker 7", "topic relu", 11.0, 12.0, 1.0))
>>> print(tl.chart(width=4))
parent    ##..
worker 1  ..##
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

PARENT = "parent"
# a lane named so is an external program's run (its own name is shown), not a worker
PROGRAM = "pdflatex"


def now() -> float:
    """The clock every span uses: monotonic and system-wide (the same in forked workers)."""
    return time.monotonic()


def process_start() -> float | None:
    """When this process started, on :func:`now`'s clock (Linux); ``None`` where that is unknown."""
    try:
        with open("/proc/self/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()  # the command name may hold spaces
        since_boot = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22: start time in clock ticks after boot
        return now() - (time.clock_gettime(time.CLOCK_BOOTTIME) - since_boot)
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def wanted(flag: bool = False) -> bool:
    """True when ``--timings`` was given or ``GRADPROOF_TIMINGS`` is set to a true value."""
    return flag or os.environ.get("GRADPROOF_TIMINGS", "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Span:
    """One piece of work: which process (``lane``), what, when (monotonic seconds) and its CPU seconds."""

    lane: str
    label: str
    start: float
    end: float
    cpu: float
    parts: tuple = ()  # (stage, seconds) pairs inside the span, e.g. (("derive", 0.4), ("verify", 0.2))

    @property
    def wall(self) -> float:
        return self.end - self.start


@dataclass
class Timeline:
    """The spans of one command, in the order they were recorded."""

    origin: float = field(default_factory=now)
    spans: list[Span] = field(default_factory=list)

    def add(self, span: Span) -> None:
        self.spans.append(span)

    @contextmanager
    def span(self, label: str, lane: str = PARENT):
        """Record the ``with`` block as a span of this process (``lane``); it yields a dict of stage seconds to fill."""
        parts: dict[str, float] = {}
        t0, c0 = now(), time.process_time()
        try:
            yield parts
        finally:
            self.spans.append(Span(lane, label, t0, now(), time.process_time() - c0, tuple(parts.items())))

    def lanes(self) -> dict[str, str]:
        """Each lane's display name: the parent, then the workers numbered by first appearance (a
        :data:`PROGRAM` lane keeps its own name)."""
        names = {PARENT: PARENT}
        for s in sorted(self.spans, key=lambda s: s.start):
            if s.lane not in names:
                workers = sum(1 for lane in names if lane != PARENT and not lane.startswith(PROGRAM))
                names[s.lane] = s.lane if s.lane.startswith(PROGRAM) else f"worker {workers + 1}"
        return names

    def chart(self, width: int = 72, now: float | None = None) -> str:
        """One row per process: ``#`` where it worked, ``.`` where it did not (each cell its share of time)."""
        end = max([s.end for s in self.spans] + [now or 0.0])
        total = max(end - self.origin, 1e-9)
        step = total / width
        rows = []
        for lane, name in self.lanes().items():
            busy = [0.0] * width
            for s in self.spans:
                if s.lane != lane:
                    continue
                for k in range(width):
                    lo, hi = self.origin + k * step, self.origin + (k + 1) * step
                    busy[k] += max(0.0, min(hi, s.end) - max(lo, s.start))
            rows.append(f"{name:9s} " + "".join("#" if b >= step / 2 else "." for b in busy))
        return "\n".join(rows)

    def idle(self) -> dict[str, float]:
        """Each worker's idle seconds between the first worker's start and the last worker's end."""
        work = [s for s in self.spans if s.lane != PARENT and not s.lane.startswith(PROGRAM)]
        if not work:
            return {}
        first, last = min(s.start for s in work), max(s.end for s in work)
        names = self.lanes()
        return {
            names[lane]: (last - first) - sum(s.wall for s in work if s.lane == lane)
            for lane in names
            if lane != PARENT and not lane.startswith(PROGRAM)
        }

    def stages(self) -> dict[str, float]:
        """Seconds per stage, summed over every span (e.g. derive, verify, render views)."""
        out: dict[str, float] = {}
        for s in self.spans:
            for stage, seconds in s.parts:
                out[stage] = out.get(stage, 0.0) + seconds
        return out

    def text(self, width: int = 72) -> str:
        """The whole breakdown: spans, chart, idle time, stages, CPU and the load it was measured at."""
        names = self.lanes()
        load = " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "unknown"
        end = max((s.end for s in self.spans), default=self.origin)
        lines = [
            f"timings: {end - self.origin:.2f} s wall; load average {load}; {os.cpu_count()} CPUs",
            f"{'process':9s} {'start':>6s} {'end':>6s} {'wall':>6s} {'CPU':>6s}  what",
        ]
        for s in sorted(self.spans, key=lambda s: (s.start, s.lane)):
            parts = ", ".join(f"{k} {v:.2f}" for k, v in s.parts)
            lines.append(
                f"{names[s.lane]:9s} {s.start - self.origin:6.2f} {s.end - self.origin:6.2f} "
                f"{s.wall:6.2f} {s.cpu:6.2f}  {s.label}" + (f" ({parts})" if parts else "")
            )
        lines += ["", f"timeline, one column = {(end - self.origin) / width:.2f} s (# working, . not):"]
        lines.append(self.chart(width))
        idle = self.idle()
        if idle:
            lines.append("idle between the first job's start and the last job's end: " + _pairs(idle))
        stages = self.stages()
        if stages:
            lines.append(
                "stages, summed over processes (a topic's: CPU; the files': wall): "
                + _pairs(dict(sorted(stages.items(), key=lambda kv: -kv[1])))
            )
        cpu: dict[str, float] = {}
        for s in self.spans:
            cpu[names[s.lane]] = cpu.get(names[s.lane], 0.0) + s.cpu
        lines.append("CPU in the spans: " + _pairs(cpu))
        lines.append(_rusage())
        return "\n".join(lines)


def _rusage() -> str:
    try:
        import resource
    except ImportError:  # pragma: no cover - not a Unix
        return ""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return (
        f"CPU of the command: {me.ru_utime + me.ru_stime:.2f} s in this process, "
        f"{kids.ru_utime + kids.ru_stime:.2f} s in the processes it waited for (workers, pdflatex)"
    )


def _pairs(d: dict) -> str:
    return ", ".join(f"{k} {v:.2f} s" for k, v in d.items())
