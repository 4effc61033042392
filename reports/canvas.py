"""Line plots written straight to SVG and PDF: the report's figures without a plotting library.

The report's figures are a handful of line plots (curves, step outlines,
markers, log axes, a second y axis, a legend).  Drawing them with matplotlib
cost seconds per figure (importing it, laying out text, subsetting fonts);
here a :class:`Canvas` of :class:`Panel` s lays out its panels from the
widths of their labels (Helvetica's metrics) and writes both files in a few
milliseconds.  Nothing in the output depends on the time or the machine:
the same data give the same bytes.

>>> c = Canvas(3.0, 2.0)
>>> p = c.panel()
>>> _ = p.plot([0, 1, 2], [1, 4, 9], label="squares")
>>> p.legend(loc="upper left")
>>> svg, pdf = c.render("fig-demo")
>>> svg.startswith("<svg"), pdf.startswith(b"%PDF"), pdf.rstrip().endswith(b"%%EOF")
(True, True, True)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from gradproof.reports import vector
from gradproof.reports.canvas_layout import paint

__all__ = ["COLORS", "Canvas", "Panel"]

# the ten-colour cycle readers know from matplotlib, in its order
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
NAMED = {"black": "#000000", "tab:green": "#2ca02c", "grey": "#b3b3b3"}


def _color(c) -> str:
    if isinstance(c, tuple):
        return "#" + "".join(f"{min(max(round(v * 255), 0), 255):02x}" for v in c[:3])
    if isinstance(c, str) and c.replace(".", "", 1).isdigit():  # a grey level, as "0.7"
        v = min(max(round(float(c) * 255), 0), 255)
        return f"#{v:02x}{v:02x}{v:02x}"
    return NAMED.get(c, c)


@dataclass(eq=False)  # a series is itself, not its values: legends look series up by identity
class Series:
    """One drawn data series: a curve (``step``: a histogram's outline on ``x`` edges)."""

    x: np.ndarray
    y: np.ndarray
    color: str
    width: float = 1.0
    dash: bool = False
    marker: float = 0.0  # marker diameter in points; 0: none
    line: bool = True
    step: bool = False
    label: str | None = None


@dataclass
class Panel:
    """One pair of axes: series, scales, labels, a legend; ``twin()`` adds a right-hand y axis."""

    series: list = field(default_factory=list)
    title: str = ""
    title_size: float = 8.0
    xlabel: str = ""
    ylabel: str = ""
    label_size: float = 8.0
    tick_size: float = 7.0
    xlog: bool = False
    ylog: bool = False
    ylim: tuple | None = None
    hlines: list = field(default_factory=list)
    vlines: list = field(default_factory=list)
    legend_spec: tuple | None = None
    right: Panel | None = None
    cycle: int = 0

    def plot(self, x, y, *, color=None, width=1.0, dash=False, marker=0.0, line=True, label=None) -> Series:
        """A curve through the points (NaN leaves a gap); ``line=False`` draws markers only."""
        if color is None:
            color, self.cycle = COLORS[self.cycle % len(COLORS)], self.cycle + 1
        s = Series(np.asarray(x, float), np.asarray(y, float), _color(color), width, dash, marker, line, False, label)
        self.series.append(s)
        return s

    def stairs(self, values, edges, *, color, width=1.0, label=None) -> Series:
        """A histogram's outline: ``values[i]`` over ``[edges[i], edges[i + 1]]``."""
        s = Series(np.asarray(edges, float), np.asarray(values, float), _color(color), width, step=True, label=label)
        self.series.append(s)
        return s

    def hline(self, value: float, color="0.7", width: float = 0.6) -> None:
        """A reference line across the panel at ``y = value`` (drawn beneath the data)."""
        self.hlines.append((float(value), _color(color), width))

    def vline(self, value: float, color="0.7", width: float = 0.6) -> None:
        """A reference line across the panel at ``x = value`` (drawn beneath the data)."""
        self.vlines.append((float(value), _color(color), width))

    def twin(self) -> Panel:
        """A second y axis on the right, sharing this panel's x axis (and continuing its colours)."""
        self.right = Panel(label_size=self.label_size, tick_size=self.tick_size, xlog=self.xlog, cycle=self.cycle)
        return self.right

    def legend(self, loc: str = "best", size: float = 7.0, series=None) -> None:
        """A legend of the labelled series (``series``: their order, across both y axes)."""
        self.legend_spec = (loc, size, series)


class Canvas:
    """A figure of ``rows`` x ``cols`` panels, ``width`` x ``height`` inches."""

    def __init__(self, width: float, height: float, rows: int = 1, cols: int = 1):
        self.size = (width * 72.0, height * 72.0)
        self.shape = (rows, cols)
        self.panels: list[Panel] = []

    def panel(self) -> Panel:
        """The next panel, row by row."""
        if len(self.panels) >= self.shape[0] * self.shape[1]:
            raise ValueError("every panel of the canvas is already in use")
        self.panels.append(Panel())
        return self.panels[-1]

    def render(self, name: str) -> tuple[str, bytes]:
        """``(svg_text, pdf_bytes)``; ``name`` keeps the SVG's ids apart from other figures' on one page."""
        ops = paint(self.panels, self.shape, self.size)
        return vector.svg(ops, self.size, name), vector.pdf(ops, self.size)
