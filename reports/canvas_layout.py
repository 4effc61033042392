"""Scales, ticks and layout for :mod:`gradproof.reports.canvas`: from panels to drawing operations.

Limits follow the data with a 5% margin (a histogram's outline sits on its
bin edges and on 0); linear ticks are 1, 2, 2.5 or 5 times a power of ten,
log ticks are decades (with unlabelled minor ticks) or, within one decade,
1, 2 and 5 times a power of ten.  Margins around each panel are measured
from the widths of its tick labels and the heights of its texts, so labels
never overlap a neighbour and nothing is measured twice.

>>> Scale.fit([0.0, 0.93], False, 200.0, 28.0).labels
['0.0', '0.2', '0.4', '0.6', '0.8']
>>> [lab for lab in Scale.fit([0.01, 5.0], True, 200.0, 28.0).labels if lab]
[(('10', False), ('−2', True)), (('10', False), ('−1', True)), (('10', False), ('0', True))]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from gradproof.reports.vector import MINUS, text_width

TICK = 3.5  # tick length, points
PAD = 2.5  # gap between a tick and its label, or between labels, points
FRAME = 0.8  # width of the axes' frame and ticks
OUTER = 5.0  # blank border of the figure, points
INK = "#000000"


@dataclass
class Scale:
    """An axis: limits (log10 of them on a log axis) and ticks as positions in [0, 1]."""

    lo: float
    hi: float
    log: bool
    positions: list
    labels: list  # a string, ``(text, superscript)`` runs, or None for a minor tick

    @classmethod
    def fit(cls, values, log: bool, length: float, per: float, sticky=(), fixed=None) -> Scale:
        """The scale for ``values`` on an axis ``length`` points long, a tick every ``per`` points or more."""
        lo, hi = _limits(values, log, sticky, fixed)
        n_max = max(3, min(9, int(length / per) + 1))
        ticks = _log_ticks(lo, hi, n_max) if log else _linear_ticks(lo, hi, n_max)
        span = hi - lo
        return cls(lo, hi, log, [(t - lo) / span for t, _ in ticks], [lab for _, lab in ticks])

    def fraction(self, v: np.ndarray) -> np.ndarray:
        """Positions in [0, 1] of data values (NaN where a log axis cannot show them)."""
        v = np.asarray(v, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if self.log:
                v = np.where(v > 0, np.log10(np.where(v > 0, v, 1.0)), np.nan)
            f = (v - self.lo) / (self.hi - self.lo)
        # a value that cannot be placed is a gap; one far off the axis stays far off but printable
        return np.clip(np.where(np.isfinite(f), f, np.nan), -1e3, 1e3)


def _limits(values, log: bool, sticky, fixed) -> tuple[float, float]:
    tf = (lambda a: np.log10(a)) if log else (lambda a: a)
    if fixed is not None:
        return float(tf(fixed[0])), float(tf(fixed[1]))
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v) & (v > 0)] if log else v[np.isfinite(v)]
    # far from overflow, so that margins and steps stay finite (nothing drawn is that large)
    v = np.clip(v, 1e-300, 1e300) if log else np.clip(v, -1e300, 1e300)
    if v.size == 0:
        return (0.0, 1.0) if not log else (-1.0, 1.0)
    v = tf(v)
    lo, hi = float(v.min()), float(v.max())
    if hi - lo <= 1e-12 * max(abs(lo), abs(hi), 1e-300):
        lo, hi = lo - (0.5 if log else max(abs(lo) * 0.05, 0.5)), hi + (0.5 if log else max(abs(hi) * 0.05, 0.5))
    m = 0.05 * (hi - lo)
    new_lo, new_hi = lo - m, hi + m
    for s in (tf(np.asarray(x, float)) for x in sticky if not log or x > 0):
        if new_lo <= s <= lo:  # the margin stops at a sticky value (a bin edge, a histogram's 0)
            new_lo = float(s)
        if hi <= s <= new_hi:
            new_hi = float(s)
    return new_lo, new_hi


def _linear_ticks(lo: float, hi: float, n_max: int) -> list:
    span = hi - lo
    mag = 10.0 ** math.floor(math.log10(span / n_max))
    steps = [m * mag for m in (0.5, 1, 2, 2.5, 5, 10, 20)]
    fit = next(i for i, step in enumerate(steps) if span / step <= n_max)
    for step in steps[fit::-1]:  # the widest step that still puts two ticks on the axis
        first, last = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
        if last > first:
            break
    values = [k * step for k in range(first, last + 1)]
    return list(zip(values, _format(values, step)))


def _format(values, step: float) -> list[str]:
    top = max(abs(v) for v in values) if values else 0.0
    out = None
    if top == 0 or 1e-3 <= top < 1e5:  # fixed decimals, as many as the step needs
        d = next((d for d in range(10) if all(abs(round(v, d) - v) <= abs(step) * 1e-6 for v in values)), None)
        out = None if d is None else [f"{v:.{d}f}" for v in values]
    if out is None:
        for digits in range(3, 18):  # as few significant digits as tell the ticks apart
            out = [f"{v:.{digits}g}" for v in values]
            if len(set(out)) == len(out):
                break
    out = [s[1:] if s.startswith("-") and s.strip("-0.") == "" else s for s in out]  # no "-0"
    return [s.replace("-", MINUS) for s in out]


def _log_ticks(lo: float, hi: float, n_max: int) -> list:
    decades = list(range(math.ceil(lo - 1e-9), math.floor(hi + 1e-9) + 1))
    if len(decades) >= 2:
        stride = math.ceil(len(decades) / n_max)
        ticks = [(float(k), _power(k)) for k in decades if k % stride == 0]
        if stride == 1:  # minor ticks at 2..9 times each decade
            for k in range(math.floor(lo), math.ceil(hi) + 1):
                ticks += [(k + math.log10(m), None) for m in range(2, 10) if lo <= k + math.log10(m) <= hi]
        return ticks
    for mults in ((1, 2, 5), range(1, 10)):
        vals = [m * 10.0**k for k in range(math.floor(lo), math.ceil(hi) + 1) for m in mults]
        vals = [v for v in vals if lo - 1e-9 <= math.log10(v) <= hi + 1e-9]
        if len(vals) >= 2:
            return list(zip((math.log10(v) for v in vals), _format(vals, min(vals))))
    # less than a factor of two: evenly spaced values, placed on the log axis
    return [(math.log10(v), lab) for v, lab in _linear_ticks(10.0**lo, 10.0**hi, n_max) if v > 0]


def _power(k: int) -> tuple:
    return (("10", False), (str(k).replace("-", MINUS), True))


# ---------------------------------------------------------------------------
# Layout: each panel's margins from its texts, then one box per panel
# ---------------------------------------------------------------------------


def _xy_values(panel, axis: str):
    """The values a panel's series put on one axis, and the sticky values (histogram edges and 0)."""
    vals, sticky = [], []
    for s in panel.series:
        a = s.x if axis == "x" else s.y
        vals.append(a)
        if s.step:
            sticky += [float(s.x[0]), float(s.x[-1])] if axis == "x" else [0.0]
    return (np.concatenate(vals) if vals else np.zeros(0)), sticky


def _vertical_needs(p) -> tuple[float, float]:
    top = p.title_size * 1.25 + 3.0 if p.title else p.tick_size * 0.6 + 1.0
    bottom = TICK + PAD + p.tick_size * 0.8 + (PAD + p.label_size * 1.1 if p.xlabel else 0.0) + 2.0
    return top, bottom


def _side_need(p, scale: Scale) -> float:
    widest = max((text_width(lab, p.tick_size) for lab in scale.labels if lab), default=0.0)
    return TICK + PAD + widest + (PAD + p.label_size * 1.1 if p.ylabel else 0.0) + 2.0


def layout(panels, shape, size) -> list:
    """``(panel, box, xscale, yscale, right_yscale)`` per panel; ``box = (x0, y0, w, h)`` in points, y down."""
    rows, cols = shape
    W, H = size
    grid = [[panels[r * cols + c] if r * cols + c < len(panels) else None for c in range(cols)] for r in range(rows)]
    needs = {id(p): _vertical_needs(p) for p in panels}
    tops = [max((needs[id(p)][0] for p in row if p), default=0.0) for row in grid]
    bottoms = [max((needs[id(p)][1] for p in row if p), default=0.0) for row in grid]
    height = (H - 2 * OUTER - sum(tops) - sum(bottoms)) / rows
    yscales = {}
    for p in panels:
        vals, sticky = _xy_values(p, "y")
        yscales[id(p)] = Scale.fit(vals, p.ylog, height, 28.0, sticky, p.ylim)
        if p.right is not None:
            rv, rs = _xy_values(p.right, "y")
            yscales[id(p.right)] = Scale.fit(rv, p.right.ylog, height, 28.0, rs, p.right.ylim)
    lefts, rights = [], []
    for c in range(cols):
        column = [grid[r][c] for r in range(rows) if grid[r][c]]
        lefts.append(max((_side_need(p, yscales[id(p)]) for p in column), default=0.0))
        rights.append(max([8.0] + [_side_need(p.right, yscales[id(p.right)]) for p in column if p.right]))
    width = (W - 2 * OUTER - sum(lefts) - sum(rights)) / cols
    out = []
    for i, p in enumerate(panels):
        r, c = divmod(i, cols)
        x0 = OUTER + sum(lefts[: c + 1]) + sum(rights[:c]) + c * width
        y0 = OUTER + sum(tops[: r + 1]) + sum(bottoms[:r]) + r * height
        xv = [_xy_values(q, "x") for q in (p, p.right) if q is not None]
        xs = Scale.fit(np.concatenate([v for v, _ in xv]), p.xlog, width, 45.0, [s for _, ss in xv for s in ss])
        right = yscales[id(p.right)] if p.right is not None else None
        out.append((p, (x0, y0, width, height), xs, yscales[id(p)], right))
    return out


# ---------------------------------------------------------------------------
# Painting: panels to drawing operations
# ---------------------------------------------------------------------------


def paint(panels, shape, size) -> list:
    """The drawing operations of every panel (see :mod:`gradproof.reports.vector`)."""
    ops = []
    for i, (p, box, xs, ys, rs) in enumerate(layout(panels, shape, size), 1):
        ops.append(("group", i))
        ops += _data(p, box, xs, ys, rs)
        ops += _frame(box)
        ops += _x_axis(p, box, xs)
        ops += _y_axis(p, box, ys, left=True)
        if rs is not None:
            ops += _y_axis(p.right, box, rs, left=False)
        ops += _title(p, box)
        if p.legend_spec is not None:
            ops += _legend(p, box, xs, ys, rs)
        ops.append(("ungroup",))
    return ops


def _points(s, box, xs: Scale, ys: Scale) -> np.ndarray:
    x0, y0, w, h = box
    x, y = s.x, s.y
    if s.step:
        x, y = np.repeat(s.x, 2)[1:-1], np.repeat(s.y, 2)
    return np.column_stack([x0 + xs.fraction(x) * w, y0 + h - ys.fraction(y) * h])


def _pieces(pts: np.ndarray) -> list:
    """Runs of finite points (a NaN leaves a gap in the curve)."""
    ok = np.all(np.isfinite(pts), axis=1)
    out, start = [], None
    for i, good in enumerate(np.append(ok, False)):
        if good and start is None:
            start = i
        elif not good and start is not None:
            out.append(tuple((float(a), float(b)) for a, b in pts[start:i]))
            start = None
    return out


def _data(p, box, xs, ys, rs) -> list:
    x0, y0, w, h = box
    ops = [("clip", x0, y0, w, h)]
    for value, color, width in p.hlines:
        y = y0 + h - float(ys.fraction(value)) * h
        if math.isfinite(y):  # 0 on a log axis has no place
            ops.append(("line", ((x0, y), (x0 + w, y)), color, width, False))
    for value, color, width in p.vlines:
        x = x0 + float(xs.fraction(value)) * w
        if math.isfinite(x):
            ops.append(("line", ((x, y0), (x, y0 + h)), color, width, False))
    for panel, scale in ((p, ys), (p.right, rs)):
        for s in panel.series if panel is not None else ():
            pts = _points(s, box, xs, scale)
            if s.line:
                ops += [("line", piece, s.color, s.width, s.dash) for piece in _pieces(pts) if len(piece) > 1]
            if s.marker:
                dots = tuple((float(a), float(b)) for a, b in pts if np.isfinite(a) and np.isfinite(b))
                ops.append(("dots", dots, s.color, s.marker))
    ops.append(("unclip",))
    return ops


def _frame(box) -> list:
    x0, y0, w, h = box
    corners = ((x0, y0), (x0 + w, y0), (x0 + w, y0 + h), (x0, y0 + h), (x0, y0))
    return [("line", corners, INK, FRAME, False)]


def _x_axis(p, box, xs: Scale) -> list:
    x0, y0, w, h = box
    ops, base = [], y0 + h
    for pos, lab in zip(xs.positions, xs.labels):
        x = x0 + pos * w
        ops.append(("line", ((x, base), (x, base + (TICK if lab else TICK * 0.6))), INK, FRAME, False))
        if lab:
            ops.append(("text", x, base + TICK + PAD + p.tick_size * 0.75, lab, p.tick_size, "middle", False, INK))
    if p.xlabel:
        y = base + TICK + PAD + p.tick_size * 0.8 + PAD + p.label_size * 0.8
        ops.append(("text", x0 + w / 2, y, p.xlabel, p.label_size, "middle", False, INK))
    return ops


def _y_axis(p, box, ys: Scale, left: bool) -> list:
    x0, y0, w, h = box
    edge, sign = (x0, -1.0) if left else (x0 + w, 1.0)
    ops, widest = [], 0.0
    for pos, lab in zip(ys.positions, ys.labels):
        y = y0 + h - pos * h
        ops.append(("line", ((edge, y), (edge + sign * (TICK if lab else TICK * 0.6), y)), INK, FRAME, False))
        if lab:
            widest = max(widest, text_width(lab, p.tick_size))
            anchor = "end" if left else "start"
            ops.append(
                ("text", edge + sign * (TICK + PAD), y + p.tick_size * 0.35, lab, p.tick_size, anchor, False, INK)
            )
    if p.ylabel:
        x = edge + sign * (TICK + PAD + widest + PAD) + (0.0 if left else p.label_size * 0.8)
        ops.append(("text", x, y0 + h / 2, p.ylabel, p.label_size, "middle", True, INK))
    return ops


def _title(p, box) -> list:
    if not p.title:
        return []
    x0, y0, w, _ = box
    size = p.title_size
    full = text_width(p.title, size)
    if full > w + 12:  # a long title shrinks to its panel's width rather than run into the next one
        size = max(5.0, size * (w + 12) / full)
    return [("text", x0 + w / 2, y0 - 4.0, p.title, size, "middle", False, INK)]


# matplotlib's order of preference for a legend placed where it covers the fewest points
_BEST = (
    "upper right",
    "upper left",
    "lower left",
    "lower right",
    "right",
    "center left",
    "center right",
    "lower center",
    "upper center",
    "center",
)


def _legend_box(loc: str, box, lw: float, lh: float, inset: float) -> tuple[float, float]:
    x0, y0, w, h = box
    vert, _, horiz = loc.partition(" ") if " " in loc else ("center", "", loc)
    if loc == "center":
        vert, horiz = "center", "center"
    x = {"left": x0 + inset, "right": x0 + w - inset - lw, "center": x0 + (w - lw) / 2}[horiz]
    y = {"upper": y0 + inset, "lower": y0 + h - inset - lh, "center": y0 + (h - lh) / 2}[vert]
    return x, y


def _legend(p, box, xs, ys, rs) -> list:
    loc, size, chosen = p.legend_spec
    pool = list(p.series) + (list(p.right.series) if p.right is not None else [])
    entries = [s for s in (chosen if chosen is not None else pool) if s.label]
    if not entries:
        return []
    handle, gap, pitch = 2.0 * size, 0.8 * size, 1.45 * size
    lw = handle + gap + max(text_width(s.label, size) for s in entries)
    lh = pitch * len(entries)
    if loc == "best":
        pts = [_points(s, box, xs, rs if p.right is not None and s in p.right.series else ys) for s in pool]
        allpts = np.concatenate(pts) if pts else np.zeros((0, 2))
        loc = min(_BEST, key=lambda c: _covered(allpts, _legend_box(c, box, lw, lh, 0.9 * size), lw, lh))
    x, y = _legend_box(loc, box, lw, lh, 0.9 * size)
    ops = []
    for k, s in enumerate(entries):
        yc = y + pitch * (k + 0.5)
        if s.line:
            ops.append(("line", ((x, yc), (x + handle, yc)), s.color, s.width, s.dash))
        if s.marker:
            ops.append(("dots", ((x + handle / 2, yc),), s.color, s.marker))
        ops.append(("text", x + handle + gap, yc + size * 0.35, s.label, size, "start", False, INK))
    return ops


def _covered(pts: np.ndarray, corner, lw: float, lh: float) -> int:
    x, y = corner
    inside = (pts[:, 0] >= x) & (pts[:, 0] <= x + lw) & (pts[:, 1] >= y) & (pts[:, 1] <= y + lh)
    return int(np.count_nonzero(inside))
