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

from gradproof.reports.document import Figure, Unavailable

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
    # The layout the SVG was drawn with serves the PDF too: constrained layout
    # measures every text again on each save, a third of a figure's cost.
    fig.set_layout_engine("none")
    pdf = io.BytesIO()
    fig.savefig(pdf, format="pdf", metadata={"CreationDate": None, "ModDate": None, "Creator": None, "Producer": None})
    text = svg.getvalue().decode("utf-8")
    # Inline SVG needs no XML prolog or DOCTYPE inside an HTML page.
    text = text[text.index("<svg") :]
    # The RDF metadata block only names the tool; it is noise inside a page.
    text = re.sub(r"\s*<metadata>.*?</metadata>", "", text, flags=re.S)
    return Figure(name=name, title=title, caption=caption, svg=text, pdf=pdf.getvalue())


def init_figure(data: dict) -> Figure:
    """The lecture's initialisation experiment: per-layer output distributions
    and per-layer delta norms, one row per initialisation.

    ``data`` is :func:`gradproof.numeric.experiments.initialisation_experiment`'s
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
            ax.stairs(
                density,
                edges,
                color=(shade * 0.2, shade * 0.45, shade),
                linewidth=0.9,
                label=f"layer {k + 1}" if k in (0, n - 1) else None,
            )
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
        fig,
        "fig-init",
        "Initialisation experiment",
        f"A network of {data.get('layers', n)} tanh layers of {data.get('units', '?')} units fed N(0, 1) inputs: "
        "per-layer output distributions (left, light = deeper) and per-layer norms of the backward message "
        "delta (right), for each initialisation. " + _erratum_sentence(data),
    )


def _erratum_sentence(data: dict) -> str:
    """What the measurement says against the slide 'Vanishing Gradient' (empty
    when the run lacks the sigma_0 = 1 series)."""
    from gradproof.reports.errata import LARGE, caption_sentence

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


ACTIVATION_PLOTS = ("sigmoid", "tanh", "relu", "leaky_relu")


def activation_figure(names=ACTIVATION_PLOTS) -> Figure:
    """Each activation and its derivative, both computed by the generated modules.

    The derivative is the module's backward message for an incoming message
    of ones (the same code the networks run), so the plot shows what was
    verified.  Kinks (ReLU, leaky ReLU at 0) are left as a gap.
    """
    import numpy as np

    from gradproof.numeric.network import load

    s = np.linspace(-6.0, 6.0, 601)
    fig = _new_figure(7.0, 4.6)
    axes = fig.subplots(2, 2).ravel()
    for ax, name in zip(axes, names):
        mod = load(name)
        z = s.reshape(-1, 1)
        f = mod.forward(z).ravel()
        d = mod.backward(np.ones_like(z), z)[0].ravel()
        kinks = getattr(mod, "KINKS", ())
        if kinks:
            f, d = f.copy(), d.copy()
            d[np.isclose(s, 0.0)] = np.nan  # the derivative is undefined at the kink
        ax.plot(s, f, linewidth=1.4, label="f(s)")
        ax.plot(s, d, linewidth=1.2, linestyle="--", label="f'(s)")
        ax.axhline(0, color="0.7", linewidth=0.6)
        ax.axvline(0, color="0.7", linewidth=0.6)
        ax.set_title(name.replace("_", " "), fontsize=9)
        ax.set_xlabel("s", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7, frameon=False, loc="upper left")
    return _finish(
        fig,
        "fig-activations",
        "Activation functions and their derivatives",
        "Each activation f(s) (solid) and its derivative f'(s) (dashed), both computed by the generated "
        "NumPy modules (the derivative is the backward message of a message of ones). The sigmoid's "
        "derivative never exceeds 1/4 and tanh's never exceeds 1; both vanish in saturation, while the "
        "ReLU's is 1 for every s > 0 and 0 for s < 0 (undefined at the kink s = 0).",
    )


def experiment_figure(data: dict) -> Figure:
    """One run of :func:`gradproof.numeric.experiments.init_experiment`: output distributions and delta norms."""
    fig, caption = _experiment_axes(data)
    return _finish(fig, "fig-init-experiment", "Initialisation experiment", caption)


def experiment_png(data: dict, dpi: int = 150) -> bytes:
    """The same figure as PNG bytes (no metadata: deterministic)."""
    fig, _ = _experiment_axes(data)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()


def _experiment_axes(data: dict):
    import numpy as np

    fig = _new_figure(7.0, 2.6)
    ax1, ax2 = fig.subplots(1, 2)
    L = data["layers"]
    layers = np.arange(1, L + 1)
    if "hist" in data:
        edges = np.asarray(data["bin_edges"], dtype=float)
        for k, h in enumerate(data["hist"]):
            h = np.asarray(h, dtype=float)
            total = h.sum() * np.diff(edges)
            shade = 0.15 + 0.8 * k / max(L - 1, 1)
            ax1.stairs(
                h / total if total.all() else h,
                edges,
                color=(shade * 0.2, shade * 0.45, shade),
                linewidth=0.9,
                label=f"layer {k + 1}" if k in (0, L - 1) else None,
            )
        ax1.set_xlabel("output value", fontsize=8)
        ax1.set_ylabel("density", fontsize=8)
        ax1.legend(fontsize=7, frameon=False)
        ax1.set_title("layer output distributions (light = deeper)", fontsize=8)
    else:
        ax1.plot(layers, data["std"], marker="o", markersize=3, linewidth=1)
        ax1.set_xlabel("layer", fontsize=8)
        ax1.set_ylabel("std of the layer output", fontsize=8)
        ax1.set_title("layer output standard deviation", fontsize=8)
    norms = np.asarray(data["delta_norm"], dtype=float)
    ax2.plot(layers, norms, marker="o", markersize=3, linewidth=1, label="measured |delta|")
    # the derived gain, chained from the top layer down
    pred = [norms[-1]]
    for l in range(L - 1, 0, -1):
        pred.append(pred[-1] * data["predicted"][l])
    ax2.plot(layers, pred[::-1], linestyle="--", linewidth=1, label="derived gain, chained")
    if np.all(norms > 0) and norms.max() / norms.min() > 50:
        ax2.set_yscale("log")
    ax2.set_xlabel("layer", fontsize=8)
    ax2.set_ylabel("norm of delta at the layer output", fontsize=8)
    ax2.set_title("backward message per layer", fontsize=8)
    ax2.legend(fontsize=7, frameon=False)
    for ax in (ax1, ax2):
        ax.tick_params(labelsize=7)
    setting = f"sigma_0 = {data['sigma0']:g}" if data["init"] == "gaussian" else data["init"]
    return fig, (
        f"{L} {data['activation']} layers of {data['width']} units, weights by {setting}, {data['samples']} "
        "N(0, 1) input samples: the layers' output distributions and the norm of the backward message delta per "
        "layer, measured and as the derived per-layer gain sqrt(n Var(w) E[f'(s)^2]) predicts."
    )


def regularisation_figures(data: dict) -> list[Figure]:
    """The overfitting demo (with and without L2) and the ridge lambda path."""
    import numpy as np

    fig = _new_figure(6.0, 2.8)
    ax = fig.subplots()
    ax.plot(data["grid"], data["truth"], color="0.5", linewidth=1, label="sin(2 pi x)")
    ax.plot(data["x"], data["y"], "o", markersize=3.5, color="black", label=f"{data['m']} noisy samples")
    for label, f in data["fits"].items():
        ax.plot(
            data["grid"],
            f["grid"],
            linewidth=1.2,
            label=f"{label}: test MSE {f['test_mse']:.3g}, |w| {f['w_norm']:.3g}",
        )
    ax.set_ylim(-2, 2)
    ax.set_xlabel("x", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=6.5, frameon=False, loc="lower left")
    fits = list(data["fits"].values())
    over = _finish(
        fig,
        "fig-overfitting",
        "Overfitting with and without L2",
        f"A degree-{data['degree']} polynomial fitted to {data['m']} noisy samples by the generated ridge closed "
        f"form. Without L2 the fit passes near every sample (training MSE {fits[0]['train_mse']:.2g}) and "
        f"oscillates between them (test MSE {fits[0]['test_mse']:.3g}); with lambda = {fits[1]['lam']:g} the "
        f"training MSE rises to {fits[1]['train_mse']:.2g} and the test MSE falls to {fits[1]['test_mse']:.3g}.",
    )
    fig = _new_figure(6.0, 2.8)
    ax = fig.subplots()
    p = data["path"]
    ax.loglog(p["lambda"], p["train_mse"], label="training MSE")
    ax.loglog(p["lambda"], p["test_mse"], label="test MSE")
    ax.set_xlabel("lambda", fontsize=8)
    ax.set_ylabel("mean squared error", fontsize=8)
    ax2 = ax.twinx()
    ax2.loglog(p["lambda"], p["w_norm"], color="tab:green", linestyle="--", label="|w|")
    ax2.set_ylabel("|w|", fontsize=8)
    for a in (ax, ax2):
        a.tick_params(labelsize=7)
    handles = [h for a in (ax, ax2) for h in a.get_lines()]
    ax.legend(handles, [h.get_label() for h in handles], fontsize=7, frameon=False, loc="upper center")
    best = int(np.argmin(p["test_mse"]))
    path = _finish(
        fig,
        "fig-ridge-path",
        "Ridge lambda path",
        f"Training and test MSE and the weight norm |w| of the same polynomial fit as lambda grows: the training "
        f"error only rises, |w| only falls, and the test error is lowest at lambda = {p['lambda'][best]:.2g}.",
    )
    return [over, path]


def _regularisation_data() -> dict:
    import importlib

    return importlib.import_module("gradproof.numeric.experiments").regularisation_demo()


def _draw_regularisation(data):
    """The two figures, and records for what their captions state (each can fail)."""
    import numpy as np

    from gradproof.reports.document import Record

    p = data["path"]
    tr, wn = np.asarray(p["train_mse"]), np.asarray(p["w_norm"])
    # relative violations of monotonicity (0 when the caption's statement holds)
    rise = float(np.max(np.maximum(-np.diff(tr), 0.0) / np.maximum(tr[:-1], 1e-300)))
    fall = float(np.max(np.maximum(np.diff(wn), 0.0) / np.maximum(wn[:-1], 1e-300)))
    fits = list(data["fits"].values())
    gain = fits[1]["test_mse"] / fits[0]["test_mse"]
    tol = 1e-9
    records = [
        Record(
            "regularisation", "ridge path: the training MSE never decreases as lambda grows", rise, tol, rise <= tol
        ),
        Record("regularisation", "ridge path: |w| never increases as lambda grows", fall, tol, fall <= tol),
        Record(
            "regularisation", "overfitting demo: L2 lowers the test MSE (ratio with / without)", gain, 1.0, gain < 1.0
        ),
    ]
    return regularisation_figures(data), records


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
    return importlib.import_module("gradproof.numeric.experiments").initialisation_experiment(samples=500)


def _training_data() -> dict:
    from gradproof.numeric.digits import train_digits

    run = train_digits(seed=0).to_json()
    return {
        "curve": run["curve"],
        "test_accuracy": run["test_accuracy"],
        "sizes": run["sizes"],
        "epochs": run["epochs"],
        "records": run["gradient_check"]["before"] + run["gradient_check"]["after"],
    }


def _draw_init(data):
    return init_figure(data), []


def _draw_training(data):
    from gradproof.reports.document import Record

    c = data["curve"]
    fig = training_figure(
        {
            "iteration": c["iterations"],
            "loss": c["loss"],
            "test_accuracy": c.get("test_accuracy", data["test_accuracy"]),
        }
    )
    sizes = "-".join(str(s) for s in data["sizes"])
    fig = Figure(
        fig.name,
        fig.title,
        f"Training loss and test accuracy of the generated {sizes} MLP (tanh, softmax + cross-entropy, "
        f"Xavier initialisation) trained by gradient descent for {data['epochs']} iterations on the "
        f"digits data; final test accuracy {100 * data['test_accuracy']:.1f}%.",
        fig.svg,
        fig.pdf,
    )
    records = []
    for k, r in enumerate(data["records"]):
        when = "before training" if k < len(data["records"]) // 2 else "after training"
        records.append(
            Record(
                str(r["topic"]),
                f"{r['check']} ({when})",
                r["max_rel_error"],
                r["tolerance"],
                bool(r["passed"]),
                str(r.get("detail") or ""),
            )
        )
    return fig, records


SOURCES = {
    "init": ("Initialisation experiment", _init_data, _draw_init),
    "training": ("Digits training curve", _training_data, _draw_training),
    "regularisation": ("Overfitting and the ridge lambda path", _regularisation_data, _draw_regularisation),
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
    except Exception as err:
        if type(err).__name__ == "MissingExtra":
            return {"unavailable": str(err)}
        return {"error": f"{title} failed: {type(err).__name__}: {err}"}


def start_sources(executor, keys=tuple(SOURCES)):
    """Start every data source on ``executor`` (a process pool), longest first; returns the futures."""
    order = sorted(keys, key=lambda k: k != "training")
    return {k: executor.submit(load_source, k) for k in order}


def finish_sources(started, timings: dict | None = None) -> tuple[list[Figure], list[Unavailable], list]:
    """Collect the sources started by :func:`start_sources` (or their stored outcomes), in a fixed order.

    ``timings`` (optional) receives each source's seconds in the worker.
    """
    from gradproof.reports.document import Record

    figures, unavailable, records = [], [], []
    for key, (title, _, _) in SOURCES.items():
        if key not in started:
            continue
        outcome = started[key]
        outcome = outcome.result() if hasattr(outcome, "result") else outcome  # a future, or a stored outcome
        if timings is not None and "seconds" in outcome:
            timings[f"{key} (worker)"] = outcome["seconds"]
        if "figure" in outcome:
            fig = outcome["figure"]
            figures += list(fig) if isinstance(fig, (list, tuple)) else [fig]
            records += outcome["records"]
        elif "unavailable" in outcome:
            unavailable.append(Unavailable(title, outcome["unavailable"]))
        else:
            records.append(Record(key, outcome["error"], None, None, False))
    return figures, unavailable, records
