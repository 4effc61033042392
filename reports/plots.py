"""Report-level figures: inline SVG for HTML, PDF beside the .tex.

The report's figures are drawn on a :class:`gradproof.reports.canvas.Canvas`
and written straight to SVG and PDF (milliseconds per figure, nothing in
them depends on the time or the machine, so two runs give identical bytes).
The command ``gradproof experiment init`` draws its one figure with
matplotlib on a bare :class:`matplotlib.figure.Figure` (no pyplot state, no
GUI backend), since it can also write PNG: a fixed SVG hash salt and no
dates in the metadata keep those bytes identical too.

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

    from gradproof.reports.canvas import Canvas

    edges = np.asarray(data["bin_edges"], dtype=float)
    labels = list(data["runs"])
    canvas = Canvas(7.0, 2.0 * len(labels), rows=len(labels), cols=2)
    n = 0
    for label in labels:
        run = data["runs"][label]
        hists = [np.asarray(h, dtype=float) for h in run["hist"]]
        n = len(hists)
        ax = canvas.panel()
        for k, h in enumerate(hists):
            total = h.sum() * np.diff(edges)
            density = h / total if total.all() else h
            shade = 0.15 + 0.8 * k / max(n - 1, 1)
            ax.stairs(
                density,
                edges,
                color=(shade * 0.2, shade * 0.45, shade),
                width=0.9,
                label=f"layer {k + 1}" if k in (0, n - 1) else None,
            )
        stds = ", ".join(f"{v:.2g}" for v in (run["std"][0], run["std"][-1]))
        ax.title = f"{label}: layer outputs (std first, last: {stds})"
        ax.xlabel, ax.ylabel = "output value", "density"
        ax.legend()
        ax = canvas.panel()
        norms = np.asarray(run["delta_norm"], dtype=float)
        ax.plot(np.arange(1, len(norms) + 1), norms, marker=3.0, width=1.0)
        ax.ylog = bool(np.all(norms > 0) and norms.max() / norms.min() > 50)
        ax.title = f"{label}: norm of delta per layer"
        ax.xlabel, ax.ylabel = "layer", "norm"
    return _drawn(
        canvas,
        "fig-init",
        "Initialisation experiment",
        f"A network of {data.get('layers', n)} tanh layers of {data.get('units', '?')} units fed N(0, 1) inputs: "
        "per-layer output distributions (left, light = deeper) and per-layer norms of the backward message "
        "delta (right), for each initialisation. " + _erratum_sentence(data),
    )


def _drawn(canvas, name: str, title: str, caption: str) -> Figure:
    svg, pdf = canvas.render(name)
    return Figure(name=name, title=title, caption=caption, svg=svg, pdf=pdf)


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
    from gradproof.reports.canvas import Canvas

    canvas = Canvas(6.0, 2.6)
    ax = canvas.panel()
    ax.plot(curve["iteration"], curve["loss"], width=1.2, label="training loss")
    ax.xlabel, ax.ylabel = "gradient-descent iteration", "cross-entropy loss"
    ax.ylog = all(v > 0 for v in curve["loss"]) and max(curve["loss"]) / min(curve["loss"]) > 20
    acc = curve.get("test_accuracy")
    caption = "Training loss of the generated MLP on the digits data."
    if isinstance(acc, (list, tuple)) and len(acc) == len(curve["iteration"]):
        ax2 = ax.twin()
        ax2.plot(curve["iteration"], acc, color="tab:green", width=1.0, label="test accuracy")
        ax2.ylabel = "test accuracy"
    elif isinstance(acc, (int, float)) and not math.isnan(acc):
        caption += f" Final test accuracy: {100 * acc:.1f}%."
    ax.legend(loc="center right")
    return _drawn(canvas, "fig-training", "Digits training curve", caption)


ACTIVATION_PLOTS = ("sigmoid", "tanh", "relu", "leaky_relu")


def activation_figure(names=ACTIVATION_PLOTS) -> Figure:
    """Each activation and its derivative, both computed by the generated modules.

    The derivative is the module's backward message for an incoming message
    of ones (the same code the networks run), so the plot shows what was
    verified.  Kinks (ReLU, leaky ReLU at 0) are left as a gap.
    """
    import numpy as np

    from gradproof.numeric.network import load
    from gradproof.reports.canvas import Canvas

    s = np.linspace(-6.0, 6.0, 601)
    canvas = Canvas(7.0, 4.6, rows=2, cols=2)
    for name in list(names)[:4]:
        ax = canvas.panel()
        mod = load(name)
        z = s.reshape(-1, 1)
        f = mod.forward(z).ravel()
        d = mod.backward(np.ones_like(z), z)[0].ravel()
        kinks = getattr(mod, "KINKS", ())
        if kinks:
            f, d = f.copy(), d.copy()
            d[np.isclose(s, 0.0)] = np.nan  # the derivative is undefined at the kink
        ax.hline(0.0)
        ax.vline(0.0)
        ax.plot(s, f, width=1.4, label="f(s)")
        ax.plot(s, d, width=1.2, dash=True, label="f'(s)")
        ax.title, ax.title_size = name.replace("_", " "), 9.0
        ax.xlabel = "s"
        ax.legend(loc="upper left")
    return _drawn(
        canvas,
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

    from gradproof.reports.canvas import Canvas

    canvas = Canvas(6.0, 2.8)
    ax = canvas.panel()
    ax.plot(data["grid"], data["truth"], color="0.5", width=1.0, label="sin(2 pi x)")
    ax.plot(data["x"], data["y"], color="black", marker=3.5, line=False, label=f"{data['m']} noisy samples")
    for label, f in data["fits"].items():
        ax.plot(
            data["grid"], f["grid"], width=1.2, label=f"{label}: test MSE {f['test_mse']:.3g}, |w| {f['w_norm']:.3g}"
        )
    ax.ylim = (-2.0, 2.0)
    ax.xlabel = "x"
    ax.legend(loc="lower left", size=6.5)
    fits = list(data["fits"].values())
    over = _drawn(
        canvas,
        "fig-overfitting",
        "Overfitting with and without L2",
        f"A degree-{data['degree']} polynomial fitted to {data['m']} noisy samples by the generated ridge closed "
        f"form. Without L2 the fit passes near every sample (training MSE {fits[0]['train_mse']:.2g}) and "
        f"oscillates between them (test MSE {fits[0]['test_mse']:.3g}); with lambda = {fits[1]['lam']:g} the "
        f"training MSE rises to {fits[1]['train_mse']:.2g} and the test MSE falls to {fits[1]['test_mse']:.3g}.",
    )
    canvas = Canvas(6.0, 2.8)
    ax = canvas.panel()
    p = data["path"]
    ax.xlog = ax.ylog = True
    ax.plot(p["lambda"], p["train_mse"], label="training MSE")
    ax.plot(p["lambda"], p["test_mse"], label="test MSE")
    ax.xlabel, ax.ylabel = "lambda", "mean squared error"
    ax2 = ax.twin()
    ax2.ylog = True
    ax2.plot(p["lambda"], p["w_norm"], color="tab:green", dash=True, label="|w|")
    ax2.ylabel = "|w|"
    ax.legend(loc="upper center")
    best = int(np.argmin(p["test_mse"]))
    path = _drawn(
        canvas,
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
        with _one_blas_thread():
            fig, records = draw(loader())
        return {"figure": fig, "records": records, "seconds": time.perf_counter() - t0}
    except ModuleNotFoundError as err:
        return {"unavailable": f"its data source is not available ({err.name} is missing)"}
    except Exception as err:
        if type(err).__name__ == "MissingExtra":
            return {"unavailable": str(err)}
        return {"error": f"{title} failed: {type(err).__name__}: {err}"}


def _one_blas_thread():
    """Limit the BLAS to one thread while a source runs (a no-op without threadpoolctl).

    NOTE: OpenBLAS threads busy-wait; next to another busy worker on two
    cores, a second BLAS thread costs CPU and gains no time.  The pool's
    workers start before NumPy is imported, and only a loaded BLAS can be
    limited, so the limit is set here, after importing NumPy.
    """
    import contextlib

    try:
        import numpy  # noqa: F401  (loads the BLAS)
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1)


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
