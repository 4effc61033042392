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


def init_figure(data: dict) -> Figure:
    """The lecture's initialisation experiment: per-layer output distributions
    and per-layer delta norms, one row per initialisation.

    ``data`` is :func:`numeric.experiments.initialisation_experiment`'s
    result: ``bin_edges`` and, per initialisation label in ``runs``, the
    per-layer histogram counts ``hist``, ``std`` and ``delta_norm``.
    """
    import numpy as np

    edges = np.asarray(data["bin_edges"], dtype=float)
    labels = list(data["runs"])
    fig = _new_figure(7.0, 2.0 * len(labels))
    axes = fig.subplots(len(labels), 2, squeeze=False)
    for row, label in enumerate(labels):
        run = data["runs"][label]
        hists = [np.asarray(h, dtype=float) for h in run["hist"]]
        n = len(hists)
        ax = axes[row][0]
        for k, h in enumerate(hists):
            total = h.sum() * np.diff(edges)
            density = h / total if total.all() else h
            shade = 0.15 + 0.8 * k / max(n - 1, 1)
            ax.stairs(density, edges, color=(shade * 0.2, shade * 0.45, shade), linewidth=0.9,
                      label=f"layer {k + 1}" if k in (0, n - 1) else None)
        stds = ", ".join(f"{v:.2g}" for v in (run["std"][0], run["std"][-1]))
        ax.set_title(f"{label}: layer outputs (std first, last: {stds})", fontsize=8)
        ax.set_xlabel("output value", fontsize=8)
        ax.set_ylabel("density", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7, frameon=False)
        ax = axes[row][1]
        norms = np.asarray(run["delta_norm"], dtype=float)
        layers = np.arange(1, len(norms) + 1)
        ax.plot(layers, norms, marker="o", markersize=3, linewidth=1)
        if np.all(norms > 0) and norms.max() / norms.min() > 50:
            ax.set_yscale("log")
        ax.set_title(f"{label}: norm of delta per layer", fontsize=8)
        ax.set_xlabel("layer", fontsize=8)
        ax.set_ylabel("norm", fontsize=8)
        ax.tick_params(labelsize=7)
    return _finish(
        fig, "fig-init", "Initialisation experiment",
        f"A network of {data.get('layers', n)} tanh layers of {data.get('units', '?')} units fed N(0, 1) inputs: "
        "per-layer output distributions (left, light = deeper) and per-layer norms of the backward message "
        "delta (right), for each initialisation. " + _erratum_sentence(data),
    )


def _erratum_sentence(data: dict) -> str:
    """What the measurement says against the slide 'Vanishing Gradient' (empty
    when the run lacks the sigma_0 = 1 series)."""
    from reports.errata import LARGE, caption_sentence

    run = data.get("runs", {}).get(LARGE, {})
    return caption_sentence(data) if len(run.get("delta_norm", ())) >= 2 else ""


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
    handles = [h for a in fig.axes for h in a.get_lines()]
    ax.legend(handles, [h.get_label() for h in handles], fontsize=7, frameon=False, loc="center right")
    return _finish(fig, "fig-training", "Digits training curve", caption)


# ---------------------------------------------------------------------------
# Data sources (other parts of gradproof); absent ones are reported as such
# ---------------------------------------------------------------------------
#
# Each loader runs, and its figure is drawn, in a worker process (the
# training run takes seconds of NumPy while other workers derive with SymPy);
# what comes back is plain data: SVG text, PDF bytes and records.

def _init_data() -> dict:
    import importlib

    # 500 samples x 500 units = 250,000 outputs per layer: histograms as smooth
    # as with more, at half the cost while the topic workers share the cores
    return importlib.import_module("numeric.experiments").initialisation_experiment(samples=500)


def _training_data() -> dict:
    from numeric.digits import train_digits

    run = train_digits(seed=0).to_json()
    return {"curve": run["curve"], "test_accuracy": run["test_accuracy"], "sizes": run["sizes"],
            "epochs": run["epochs"],
            "records": run["gradient_check"]["before"] + run["gradient_check"]["after"]}


def _draw_init(data):
    return init_figure(data), []


def _draw_training(data):
    from reports.build import Record

    c = data["curve"]
    fig = training_figure({"iteration": c["iterations"], "loss": c["loss"],
                           "test_accuracy": c.get("test_accuracy", data["test_accuracy"])})
    sizes = "-".join(str(s) for s in data["sizes"])
    fig = Figure(fig.name, fig.title,
                 f"Training loss and test accuracy of the generated {sizes} MLP (tanh, softmax + cross-entropy, "
                 f"Xavier initialisation) trained by gradient descent for {data['epochs']} iterations on the "
                 f"digits data; final test accuracy {100 * data['test_accuracy']:.1f}%.", fig.svg, fig.pdf)
    records = []
    for k, r in enumerate(data["records"]):
        when = "before training" if k < len(data["records"]) // 2 else "after training"
        records.append(Record(str(r["topic"]), f"{r['check']} ({when})", r["max_rel_error"], r["tolerance"],
                              bool(r["passed"]), str(r.get("detail") or "")))
    return fig, records


SOURCES = {
    "init": ("Initialisation experiment", _init_data, _draw_init),
    "training": ("Digits training curve", _training_data, _draw_training),
}


def load_source(key: str) -> dict:
    """Run one data source; never raises (the outcome says what happened)."""
    import time

    title, loader, draw = SOURCES[key]
    t0 = time.perf_counter()
    try:
        # drawn here too: figures cross the process boundary as SVG and PDF bytes
        fig, records = draw(loader())
        return {"figure": fig, "records": records, "seconds": time.perf_counter() - t0}
    except ModuleNotFoundError as err:
        return {"unavailable": f"its data source is not available ({err.name} is missing)"}
    except Exception as err:  # noqa: BLE001  the report must show a broken experiment, not crash
        if type(err).__name__ == "MissingExtra":
            return {"unavailable": str(err)}
        return {"error": f"{title} failed: {type(err).__name__}: {err}"}


def start_sources(executor, keys=tuple(SOURCES)):
    """Start every data source on ``executor`` (a process pool), longest first; returns the futures."""
    order = sorted(keys, key=lambda k: k != "training")
    return {k: executor.submit(load_source, k) for k in order}


def finish_sources(started, timings: dict | None = None) -> tuple[list[Figure], list[Unavailable], list]:
    """Collect the sources started by :func:`start_sources` and draw their figures.

    ``timings`` (optional) receives each source's seconds in the worker.
    """
    from reports.build import Record

    figures, unavailable, records = [], [], []
    for key, (title, _, _) in SOURCES.items():
        if key not in started:
            continue
        outcome = started[key].result()
        if timings is not None and "seconds" in outcome:
            timings[f"{key} (worker)"] = outcome["seconds"]
        if "figure" in outcome:
            figures.append(outcome["figure"])
            records += outcome["records"]
        elif "unavailable" in outcome:
            unavailable.append(Unavailable(title, outcome["unavailable"]))
        else:
            records.append(Record(key, outcome["error"], None, None, False))
    return figures, unavailable, records
