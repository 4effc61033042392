"""A small progress bar on stderr for long runs.

It draws only when stderr is a terminal, so logs, pipes and CI output stay
clean; the bar is one line redrawn with a carriage return.

>>> import io
>>> bar = Progress(3, "report", stream=io.StringIO())
>>> bar.advance("softmax"); bar.close()
>>> bar.done
1
"""

from __future__ import annotations

import sys
import time


class Progress:
    """Progress over ``total`` units of work, labelled by the current item.

    Use as a context manager or call :meth:`close`; ``enabled`` defaults to
    whether ``stream`` is a TTY.
    """

    def __init__(self, total: int, label: str = "", stream=None, enabled: bool | None = None, width: int = 24):
        self.total = max(int(total), 0)
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        if enabled is None:
            isatty = getattr(self.stream, "isatty", None)
            enabled = bool(isatty and isatty())
        self.enabled = enabled
        self.width = width
        self.done = 0
        self._start = time.perf_counter()
        self._last_len = 0

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def advance(self, item: str = "", n: int = 1) -> None:
        """Count ``n`` units done; ``item`` names what comes next (or just finished)."""
        self.done = min(self.done + n, self.total) if self.total else self.done + n
        self._draw(item)

    def note(self, item: str) -> None:
        """Redraw with a new item name without counting progress."""
        self._draw(item)

    def _draw(self, item: str) -> None:
        if not self.enabled:
            return
        frac = self.done / self.total if self.total else 1.0
        filled = int(round(frac * self.width))
        bar = "#" * filled + "-" * (self.width - filled)
        elapsed = time.perf_counter() - self._start
        line = f"{self.label} [{bar}] {self.done}/{self.total} {elapsed:5.1f}s {item}"[:100]
        pad = " " * max(self._last_len - len(line), 0)
        self.stream.write("\r" + line + pad)
        self.stream.flush()
        self._last_len = len(line)

    def close(self) -> None:
        """Erase the bar so that the next message starts on a clean line."""
        if self.enabled and self._last_len:
            self.stream.write("\r" + " " * self._last_len + "\r")
            self.stream.flush()
            self._last_len = 0
