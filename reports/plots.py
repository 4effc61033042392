"""Report-level figures with matplotlib: inline SVG for HTML, PDF beside the .tex.

Figures are drawn on bare :class:`matplotlib.figure.Figure` objects (no
pyplot state, no GUI backend) and saved deterministically: a fixed SVG hash
salt and no dates in the metadata, so two runs give identical bytes.

>>> fig = training_figure({"iteration": [0, 1, 2], "loss": [2.3, 1.0, 0.5]})
>>> fig.name, fig.svg.startswith("<svg")
('fig-training', True)
"""
from __future__ import annotations

import io
import math
import re
from typing import Any

from reports.build import Figure, Unavailable

_SALT = "gradproof"


def _new_figure(width: float, height: float):
    import matplotlib

    matplotlib.rcParams["svg.hashsalt"] = _SALT
    matplotlib.rcParams["svg.fonttype"] = "path"  # glyphs as paths: no font needed to view
    matplotlib.rcParams["pdf.fonttype"] = 42
    from matplotlib.figure import Figure as MplFigure

    return MplFigure(figsize=(width, height), layout="constrained")


def _finish(fig, name: str, title: str, caption: str) -> Figure:
    svg = io.BytesIO()
    fig.savefig(svg, format="svg", metadata={"Date": None, "Creator": None})
    pdf = io.BytesIO()
    fig.savefig(pdf, format="pdf", metadata={"CreationDate": None, "ModDate": None, "Creator": None,
                                             "Producer": None})
    text = svg.getvalue().decode("utf-8")
    # Inline SVG needs no XML prolog or DOCTYPE inside an HTML page.
    text = text[text.index("<svg"):]
    # The RDF metadata block only names the tool; it is noise inside a page.
    text = re.sub(r"\s*<metadata>.*?</metadata>", "", text, flags=re.S)
    return Figure(name=name, title=title, caption=caption, svg=text, pdf=pdf.getvalue())


def init_figure(runs: dict[str, dict]) -> Figure:
    """The lecture's initialisation experiment: per-layer output distributions
    and per-layer delta norms, one row per initialisation.

    ``runs`` maps an initialisation's label to ``{"outputs": [per-layer
    arrays of activations], "delta_norms": [per-layer norms]}``.
    """
    import numpy as np

    labels = list(runs)
    fig = _new_figure(7.0, 2.1 * len(labels))
    axes = fig.subplots(len(labels), 2, squeeze=False)
    for row, label in enumerate(labels):
        outputs = [np.asarray(a, dtype=float).ravel() for a in runs[label]["outputs"]]
        ax = axes[row][0]
        n = len(outputs)
        lo = min(float(a.min()) for a in outputs)
        hi = max(float(a.max()) for a in outputs)
        if hi - lo < 1e-12:
            lo, hi = lo - 1, hi + 1
        bins = np.linspace(lo, hi, 61)
        for k, a in enumerate(outputs):
            hist, edges = np.histogram(a, bins=bins, density=True)
            shade = 0.15 + 0.8 * k / max(n - 1, 1)
            ax.stairs(hist, edges, color=(shade * 0.2, shade * 0.4, shade), linewidth=0.9,
                      label=f"layer {k + 1}" if k in (0, n - 1) else None)
        ax.set_title(f"{label}: layer outputs", fontsize=9)
        ax.set_xlabel("activation value", fontsize=8)
        ax.set_ylabel("density", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7, frameon=False)
        ax = axes[row][1]
        norms = np.asarray(runs[label]["delta_norms"], dtype=float)
        layers = np.arange(1, len(norms) + 1)
        ax.plot(layers, norms, marker="o", markersize=3, linewidth=1)
        if np.all(norms > 0) and norms.max() / max(norms.min(), 1e-300) > 50:
            ax.set_yscale("log")
        ax.set_title(f"{label}: delta norms", fontsize=9)
        ax.set_xlabel("layer", fontsize=8)
        ax.set_ylabel(r"$\|\delta\|$", fontsize=8)
        ax.tick_params(labelsize=7)
    return _finish(
        fig, "fig-init", "Initialisation experiment",
        "Per-layer output distributions (left) and per-layer norms of the backward message delta "
        "(right) of a deep tanh network, for each initialisation.",
    )


def training_figure(curve: dict[str, Any]) -> Figure:
    """The digits training curve: loss per iteration (and accuracy if recorded).

    ``curve`` has ``iteration`` and ``loss`` lists, optionally
    ``test_accuracy`` (a list per iteration or one final number).
    """
    fig = _new_figure(6.0, 2.6)
    ax = fig.subplots()
    ax.plot(curve["iteration"], curve["loss"], linewidth=1.2, label="training loss")
    ax.set_xlabel("gradient-descent iteration", fontsize=8)
    ax.set_ylabel("cross-entropy loss", fontsize=8)
    if all(v > 0 for v in curve["loss"]) and max(curve["loss"]) / min(curve["loss"]) > 20:
        ax.set_yscale("log")
    ax.tick_params(labelsize=7)
    acc = curve.get("test_accuracy")
    caption = "Training loss of the generated MLP on the digits data."
    if isinstance(acc, (list, tuple)) and len(acc) == len(curve["iteration"]):
        ax2 = ax.twinx()
        ax2.plot(curve["iteration"], acc, color="tab:green", linewidth=1, label="test accuracy")
        ax2.set_ylabel("test accuracy", fontsize=8)
        ax2.tick_params(labelsize=7)
    elif isinstance(acc, (int, float)) and not math.isnan(acc):
        caption += f" Final test accuracy: {100 * acc:.1f}%."
    ax.legend(fontsize=7, frameon=False)
    return _finish(fig, "fig-training", "Digits training curve", caption)


# ---------------------------------------------------------------------------
# Data sources (other parts of gradproof); absent ones are reported as such
# ---------------------------------------------------------------------------

def _missing(err: ModuleNotFoundError, module: str) -> bool:
    return err.name is not None and (err.name == module or module.startswith(err.name + "."))


def report_figures() -> tuple[list[Figure], list[Unavailable]]:
    """Every report-level figure whose data source is installed."""
    figures: list[Figure] = []
    unavailable: list[Unavailable] = []
    for title, loader, draw in _SOURCES:
        try:
            data = loader()
        except ModuleNotFoundError as err:
            unavailable.append(Unavailable(title, f"its data source is not available ({err.name} is missing)"))
            continue
        figures.append(draw(data))
    return figures, unavailable


def _init_data():
    import importlib

    return importlib.import_module("numeric.experiments").init_experiment_data()


def _training_data():
    import importlib

    return importlib.import_module("numeric.train").training_curve()


_SOURCES = (
    ("Initialisation experiment", _init_data, init_figure),
    ("Digits training curve", _training_data, training_figure),
)
