"""``gradproof experiment init``: the lecture's initialisation experiment with your settings.

Prints, per layer, the standard deviation and mean of the layer's output,
the norm of the backward message delta arriving at it and the measured
per-layer ratio |delta^(l-1)| / |delta^l| next to the derived gain
sqrt(n Var(w) E[f'(s)^2]) (topic ``vanishing_gradient``); ``-o FILE``
writes the figure (.svg, .pdf or .png).  Bad values: one line, exit 2.
"""

from __future__ import annotations

import json
import os

from gradproof.reports.errors import CLIError

EXPERIMENTS = ("init",)
FIGURE_TYPES = (".svg", ".pdf", ".png")


def _int(name: str, text: str, lo: int, hi: int) -> int:
    try:
        v = int(text)
    except (TypeError, ValueError):
        raise CLIError(f"{name} must be a whole number, not {text!r}", 2) from None
    if not lo <= v <= hi:
        raise CLIError(f"{name} must be between {lo} and {hi}, not {v}", 2)
    return v


def _float(name: str, text: str, lo: float, hi: float, *, open_lo: bool = True) -> float:
    import math

    try:
        v = float(text)
    except (TypeError, ValueError):
        raise CLIError(f"{name} must be a number, not {text!r}", 2) from None
    if not math.isfinite(v) or (v <= lo if open_lo else v < lo) or v > hi:
        raise CLIError(f"{name} must be {'>' if open_lo else '>='} {lo:g} and <= {hi:g}, not {text}", 2)
    return v


def _choice(name: str, text: str, options) -> str:
    if text not in options:
        raise CLIError(f"{name} must be one of {', '.join(options)}, not {text!r}", 2)
    return text


def parse_settings(args) -> dict:
    """The validated settings of ``experiment init`` (raises CLIError, exit 2)."""
    from gradproof.numeric.experiments import ACTIVATIONS, NAMED_INITS

    if args.experiment not in EXPERIMENTS:
        raise CLIError(f"unknown experiment {args.experiment!r}; choose from {', '.join(EXPERIMENTS)}", 2)
    layers = _int("--layers", args.layers, 1, 100)
    width = _int("--width", args.width, 1, 4000)
    samples = _int("--samples", args.samples, 1, 100_000)
    seed = _int("--seed", args.seed, 0, 2**32 - 1)
    if width * samples > 20_000_000:
        raise CLIError(f"--width x --samples = {width * samples} is too large (at most 20,000,000 values per layer)", 2)
    activation = _choice("--activation", args.activation, ACTIVATIONS)
    if args.init is not None and args.sigma0 is not None:
        raise CLIError("give either --sigma0 (Gaussian) or --init NAME, not both", 2)
    if args.init is not None:
        init, sigma0 = _choice("--init", args.init, NAMED_INITS), None
    else:
        init, sigma0 = "gaussian", _float("--sigma0", "1" if args.sigma0 is None else args.sigma0, 0.0, 1e3)
    out = args.output
    if out is not None:
        ext = os.path.splitext(out)[1].lower()
        if ext not in FIGURE_TYPES:
            raise CLIError(f"-o must end in {', '.join(FIGURE_TYPES)}, not {os.path.basename(out)!r}", 2)
        parent = os.path.dirname(os.path.abspath(out))
        if not os.path.isdir(parent):
            raise CLIError(f"cannot write {out}: folder {parent} does not exist", 2)
    return {
        "layers": layers,
        "width": width,
        "samples": samples,
        "seed": seed,
        "activation": activation,
        "init": init,
        "sigma0": sigma0,
    }


def render_table(data: dict) -> str:
    setting = f"sigma_0 = {data['sigma0']:g}" if data["init"] == "gaussian" else f"{data['init']} initialisation"
    lines = [
        f"{data['layers']} {data['activation']} layers of {data['width']} units, {setting} "
        f"(weight std {data['weight_std']:.3g}), {data['samples']} N(0, 1) samples, seed {data['seed']}",
        "",
        f"{'layer':>5}  {'output std':>10}  {'output mean':>11}  {'|delta|':>10}  {'ratio':>7}  {'derived':>7}",
    ]
    for l in range(data["layers"]):
        lines.append(
            f"{l + 1:>5}  {data['std'][l]:10.4g}  {data['mean'][l]:11.3g}  {data['delta_norm'][l]:10.4g}  "
            f"{data['ratio'][l]:7.3f}  {data['predicted'][l]:7.3f}"
        )
    lines += [
        "",
        "|delta| is the norm of the backward message arriving at the layer's output; ratio = |delta| one layer "
        "nearer the input / |delta| here; derived = sqrt(n Var(w) E[f'(s)^2]) (topic vanishing_gradient).",
        f"|delta| at the input: {data['delta_input']:.4g}",
    ]
    import math

    geo = math.exp(sum(math.log(r) for r in data["ratio"]) / len(data["ratio"]))
    verdict = "grows" if geo > 1 else "vanishes"
    lines.append(f"towards the input delta {verdict}: x{geo:.3g} per layer on average")
    return "\n".join(lines)


def cmd_experiment(args) -> int:
    settings = parse_settings(args)
    from gradproof.numeric.experiments import init_experiment

    data = init_experiment(**settings)
    if args.json:
        print(
            json.dumps(
                data if args.hist else {k: v for k, v in data.items() if k not in ("hist", "bin_edges")}, indent=2
            )
        )
    else:
        print(render_table(data))
    if args.output is not None:
        from gradproof.reports.plots import experiment_figure
        from gradproof.reports.writing import write_atomic

        fig = experiment_figure(data)
        ext = os.path.splitext(args.output)[1].lower()
        if ext == ".svg":
            payload = fig.svg
        elif ext == ".pdf":
            payload = fig.pdf
        else:
            from gradproof.reports.plots import experiment_png

            payload = experiment_png(data)
        try:
            write_atomic(args.output, payload)
        except OSError as err:
            raise CLIError(f"cannot write {args.output}: {err.strerror or err}", 2) from None
        if not args.json:
            print(f"figure: {args.output}")
    return 0
