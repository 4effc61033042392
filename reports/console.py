"""Progress bars on stderr for long runs, drawn by the maintained ``tqdm``.

A bar draws only when its stream is a terminal (``enabled=None``, tqdm's
``disable=None``), so logs, pipes, CI output and captured output stay clean;
it is one line redrawn with a carriage return and erased when closed.

>>> import io
>>> out = io.StringIO()  # not a terminal: nothing is drawn
>>> with Bar(3, "report", stream=out) as bar:
...     bar.advance("softmax")
>>> out.getvalue(), bar.disable
('', True)
"""

from __future__ import annotations

import sys

from tqdm import tqdm


class Bar(tqdm):
    """tqdm in the project's look: ``label [####----] done/total  1.2s, item``.

    :meth:`advance` counts work done and names the item; :meth:`note` names
    the current item without counting.  Every call redraws (``mininterval=0``)
    so the item shown is the one being worked on.
    """

    # NOTE: no monitor thread: the report forks its worker processes while a
    # bar is open, and forking a multi-threaded process risks a deadlock.
    monitor_interval = 0

    def __init__(self, total: int, label: str = "", stream=None, enabled: bool | None = None):
        super().__init__(
            total=max(int(total), 0),
            desc=label,
            file=stream if stream is not None else sys.stderr,
            disable=None if enabled is None else not enabled,
            leave=False,
            ascii="-#",
            mininterval=0,
            # a fixed size: on a terminal that reports 0 x 0 (a bare pty) tqdm would
            # trim the line away, or not draw it at all
            ncols=100,
            nrows=20,
            bar_format="{desc} [{bar:24}] {n_fmt}/{total_fmt} {elapsed_s:5.1f}s{postfix}",
        )

    def advance(self, item: str = "", n: int = 1) -> None:
        """Count ``n`` units done; ``item`` names what comes next (or just finished)."""
        self.set_postfix_str(item, refresh=False)
        self.update(n)

    def note(self, item: str) -> None:
        """Redraw with a new item name without counting progress."""
        self.set_postfix_str(item)
