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

from reports.cli import CLIError
from reports.progress import Progress



def _bars(values, width: int = 40) -> list[str]:
    """A horizontal bar per (positive) value on a log scale, so the slow tail stays visible."""
    logs = [math.log10(max(v, 1e-300)) for v in values]
    lo, hi = min(logs), max(logs)
    span = (hi - lo) or 1.0
    return ["#" * max(1, int(round((v - lo) / span * width))) for v in logs]


def render_text(run) -> str:
    """The run as plain text: curve table, accuracies, gradient checks."""
    from numeric.gradcheck import all_passed

    c = run.curve
    lines = [
        f"MLP {'-'.join(map(str, run.sizes))} (tanh, softmax + cross-entropy), {run.n_params} parameters, "
        f"full-batch gradient descent, alpha_k = {run.alpha:g} / (1 + k/{run.tau:g}), seed {run.seed}",
        f"digits: {run.n_train} training and {run.n_test} test images (stratified split)",
        "",
        f"{'iteration':>9}  {'loss':>8}  {'train acc':>9}  {'test acc':>8}  loss (log scale)",
    ]
    bars = _bars(c["loss"])
    for k, loss, tr, te, bar in zip(c["iterations"], c["loss"], c["train_accuracy"], c["test_accuracy"], bars):
        lines.append(f"{k:>9}  {loss:8.4f}  {tr:9.2%}  {te:8.2%}  {bar}")
    lines += [
        "",
        f"test accuracy: {run.test_accuracy:.2%}   train accuracy: {run.train_accuracy:.2%}   "
        f"({run.seconds:.1f} s)",
    ]
    for when, recs in (("before training", run.check_before), ("after training", run.check_after)):
        if not recs:
            continue
        worst = max(r.max_rel_error for r in recs)
        status = "passed" if all_passed(recs) else "FAILED"
        lines.append(f"gradient check {when}: {status} ({len(recs)} checks, max relative error {worst:.1e})")
        lines += [f"  {r.detail}" for r in recs if not r.passed]
    return "\n".join(lines)


def cmd_train(args) -> int:
    from numeric import digits

    epochs = args.epochs
    if epochs is not None and epochs < 1:
        raise CLIError("--epochs must be at least 1", 2)
    if args.seed < 0:
        raise CLIError("--seed must be non-negative", 2)
    total = digits.DEFAULTS["epochs"] if epochs is None else epochs
    bar = Progress(total, "train", stream=sys.stderr)

    def progress(k, loss):
        bar.done = k
        bar.note(f"loss {loss:.4f}")

    try:
        run = digits.train_digits(epochs=epochs, seed=args.seed, callback=progress)
    except digits.MissingExtra as err:
        raise CLIError(str(err), 1) from None
    except LookupError as err:  # a generated module is missing
        raise CLIError(str(err), 1) from None
    finally:
        bar.close()
    if args.json:
        print(json.dumps(run.to_json(), indent=2))
    else:
        print(render_text(run))
    return 0 if run.check_passed else 1
