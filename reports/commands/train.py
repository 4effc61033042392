"""``gradproof train``: train a generated MLP on the bundled digits data.

Prints the learning curve as a text table with a small plot of the loss, the
final accuracies and the gradient checks made before and after training;
``--json`` gives the same as data.  A progress bar is drawn on stderr only
when stderr is a terminal.  Exit 0, or 1 when a gradient check failed.
"""

from __future__ import annotations

import json
import math
import sys

from gradproof.reports.console import Bar
from gradproof.reports.errors import CLIError


def _bars(values, width: int = 40) -> list[str]:
    """A horizontal bar per (positive) value on a log scale, so the slow tail stays visible."""
    logs = [math.log10(max(v, 1e-300)) for v in values]
    lo, hi = min(logs), max(logs)
    span = (hi - lo) or 1.0
    return ["#" * max(1, int(round((v - lo) / span * width))) for v in logs]


def render_text(run, knobs: dict | None = None) -> str:
    """The run as plain text: curve table, accuracies, gradient checks."""
    from gradproof.numeric.gradcheck import all_passed

    knobs = knobs or {}
    c = run.curve
    act = knobs.get("activation", "tanh")
    init = knobs.get("init", "xavier")
    init_text = f"Gaussian N(0, {knobs['sigma0']:g}^2)" if init == "gaussian" else init
    extras = [f"{init_text} initialisation"]
    if knobs.get("l1"):
        extras.append(f"L1 lambda = {knobs['l1']:g}")
    if knobs.get("l2"):
        extras.append(f"L2 lambda = {knobs['l2']:g}")
    lines = [
        f"MLP {'-'.join(map(str, run.sizes))} ({act}, softmax + cross-entropy), {run.n_params} parameters, "
        f"full-batch gradient descent, alpha_k = {run.alpha:g} / (1 + k/{run.tau:g}), seed {run.seed}",
        f"digits: {run.n_train} training and {run.n_test} test images (stratified split)"
        + (
            f", {knobs['validation']:g} of the training images held out for validation"
            if "validation_loss" in c
            else ""
        )
        + "; "
        + ", ".join(extras),
        "",
        f"{'iteration':>9}  {'loss':>8}  {'train acc':>9}  {'test acc':>8}"
        + (f"  {'val loss':>8}" if "validation_loss" in c else "")
        + "  loss (log scale)",
    ]
    bars = _bars(c["loss"])
    vals = c.get("validation_loss")
    for n, (k, loss, tr, te, bar) in enumerate(
        zip(c["iterations"], c["loss"], c["train_accuracy"], c["test_accuracy"], bars)
    ):
        val = f"  {vals[n]:8.4f}" if vals is not None else ""
        lines.append(f"{k:>9}  {loss:8.4f}  {tr:9.2%}  {te:8.2%}{val}  {bar}")
    if "stopped_at" in c:
        when = (
            f"stopped at iteration {c['stopped_at']}"
            if c["stopped_at"] is not None
            else f"the validation loss kept improving for {run.epochs} iterations"
        )
        lines += [
            "",
            f"early stopping: {when}; parameters from iteration {c['best_iteration']} (lowest validation loss)",
        ]
    lines += [
        "",
        f"test accuracy: {run.test_accuracy:.2%}   train accuracy: {run.train_accuracy:.2%}   ({run.seconds:.1f} s)",
    ]
    for when, recs in (("before training", run.check_before), ("after training", run.check_after)):
        if not recs:
            continue
        worst = max(r.max_rel_error for r in recs)
        status = "passed" if all_passed(recs) else "FAILED"
        lines.append(f"gradient check {when}: {status} ({len(recs)} checks, max relative error {worst:.1e})")
        lines += [f"  {r.detail}" for r in recs if not r.passed]
    return "\n".join(lines)


_KNOBS = ("alpha", "init", "sigma0", "activation", "hidden", "l1", "l2", "validation", "patience", "train_size")


def parse_knobs(args) -> dict:
    """The validated training settings beyond --epochs/--seed (raises CLIError, exit 2)."""
    from gradproof.numeric.experiments import TRAIN_ACTIVATIONS, TRAIN_INITS
    from gradproof.reports.commands.experiment import _choice, _float, _int

    given = {k: getattr(args, k, None) for k in _KNOBS}
    out: dict = {}
    if given["alpha"] is not None:
        out["alpha"] = _float("--alpha", given["alpha"], 0.0, 1e3)
    if given["init"] is not None:
        out["init"] = _choice("--init", given["init"], TRAIN_INITS)
    if given["sigma0"] is not None:
        if out.get("init", "gaussian") != "gaussian":
            raise CLIError("--sigma0 goes with --init gaussian (or no --init)", 2)
        out["init"] = "gaussian"
        out["sigma0"] = _float("--sigma0", given["sigma0"], 0.0, 1e3)
    elif out.get("init") == "gaussian":
        raise CLIError("--init gaussian needs --sigma0", 2)
    if given["activation"] is not None:
        out["activation"] = _choice("--activation", given["activation"], TRAIN_ACTIVATIONS)
    if given["hidden"] is not None:
        out["hidden"] = _int("--hidden", given["hidden"], 1, 4096)
    if given["l1"] is not None and given["l2"] is not None:
        raise CLIError("choose one penalty: --l1 or --l2", 2)
    for k in ("l1", "l2"):
        if given[k] is not None:
            out[k] = _float(f"--{k}", given[k], 0.0, 1e3, open_lo=False)
    if given["validation"] is not None:
        out["validation"] = _float("--validation", given["validation"], 0.0, 0.9)
    if given["patience"] is not None:
        if "validation" not in out:
            raise CLIError("--early-stopping needs a validation split (--validation FRACTION)", 2)
        out["patience"] = _int("--early-stopping", given["patience"], 1, 10_000)
    if given["train_size"] is not None:
        out["train_size"] = _int("--train-size", given["train_size"], 20, 1347)
    return out


def cmd_train(args) -> int:
    from gradproof.numeric import digits

    epochs = args.epochs
    if epochs is not None and epochs < 1:
        raise CLIError("--epochs must be at least 1", 2)
    if args.seed < 0:
        raise CLIError("--seed must be non-negative", 2)
    knobs = parse_knobs(args)
    total = digits.DEFAULTS["epochs"] if epochs is None else epochs
    bar = Bar(total, "train", stream=sys.stderr)

    def progress(k, loss):
        bar.set_postfix_str(f"loss {loss:.4f}", refresh=False)
        bar.update(k - bar.n)

    try:
        if knobs:
            from gradproof.numeric.experiments import train_digits_with

            run = train_digits_with(epochs=total, seed=args.seed, callback=progress, **knobs)
        else:
            run = digits.train_digits(epochs=epochs, seed=args.seed, callback=progress)
    except digits.MissingExtra as err:
        raise CLIError(str(err), 1) from None
    except LookupError as err:  # a generated module is missing
        raise CLIError(str(err), 1) from None
    finally:
        bar.close()
    if args.json:
        data = run.to_json()
        data["settings"] = knobs
        print(json.dumps(data, indent=2))
    else:
        print(render_text(run, knobs))
    return 0 if run.check_passed else 1
