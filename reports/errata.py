"""The measured erratum: backward messages under Gaussian initialisation.

The slide "Vanishing Gradient" says that for large and for small sigma_0 the
backward messages delta vanish "in both cases".  The lecture's own experiment
("Gaussian Initialization Example": 10 tanh layers of 500 units, inputs
N(0, 1)) run with gradproof's generated modules shows that for sigma_0 = 1
they *grow* towards the input: each layer multiplies the message by W^T,
whose entries have size sigma_0 = 1, and by tanh'(s), small but not small
enough.  In variance, Var(delta_in) ~ n sigma_0^2 E[tanh'(s)^2] Var(delta);
the factor is measured here, layer by layer, next to the prediction.

This lives in ``reports`` because it runs :mod:`gradproof.numeric.experiments`
(``derive`` never imports ``numeric``).
"""

from __future__ import annotations

import functools
import math

from gradproof.derive.engine.derivation import Erratum
from gradproof.derive.lecture import slides as sl

# the experiment as the report's figure runs it (reports/plots.py)
SETTINGS = {"layers": 10, "units": 500, "samples": 500, "seed": 0}
LARGE, SMALL = "gaussian sigma_0=1", "gaussian sigma_0=0.01"


def growth(norms) -> float:
    """The mean factor per layer by which the message's norm changes towards
    the input (geometric mean of first/last over the layers in between)."""
    first, last = float(norms[0]), float(norms[-1])
    if first <= 0 or last <= 0 or len(norms) < 2:
        return 0.0
    return (first / last) ** (1.0 / (len(norms) - 1))


def predicted_factor(units: int, sigma0: float, std_out: float) -> float:
    """sqrt(n sigma_0^2 E[tanh'(s)^2]) for s ~ N(0, n sigma_0^2 E[z^2]), the
    layer input z having second moment ``std_out**2`` (zero mean): the growth
    per layer that the variance rule predicts.  tanh'(s)^2 is a narrow peak
    when s is wide, so the expectation is integrated on a fine grid around it
    (the Gaussian density is smooth there), not by Gaussian quadrature."""
    import numpy as np

    var_s = max(units * sigma0**2 * std_out**2, 1e-300)
    width = min(40.0, 12.0 * math.sqrt(var_s))
    s = np.linspace(-width, width, 200001)
    pdf = np.exp(-(s**2) / (2 * var_s)) / math.sqrt(2 * math.pi * var_s)
    f = (1.0 - np.tanh(s) ** 2) ** 2 * pdf
    e = float(np.sum((f[1:] + f[:-1]) * np.diff(s)) / 2)
    return math.sqrt(units * sigma0**2 * e)


def describe(data: dict) -> dict:
    """The figures the erratum prints, from one run of the experiment."""
    runs = data["runs"]
    out = {}
    for label in (LARGE, SMALL):
        r = runs[label]
        norms = r["delta_norm"]
        out[label] = {
            "first": norms[0],
            "last": norms[-1],
            "growth": growth(norms),
            "predicted": predicted_factor(data["units"], r["sigma0"], float(sum(r["std"]) / len(r["std"]))),
        }
    return out


def caption_sentence(data: dict) -> str:
    """One sentence for the figure caption: what the lecture says, what is measured."""
    norms = data["runs"][LARGE]["delta_norm"]
    f = {"first": norms[0], "last": norms[-1], "growth": growth(norms)}
    verb = "grows" if f["growth"] > 1 else "shrinks"
    return (
        f"For sigma_0 = 1 the backward message {verb} towards the input, about x{f['growth']:.2f} per layer "
        f"(norm {f['first']:,.4g} at layer 1 against {f['last']:,.4g} at layer {data['layers']}), where the slide "
        f"'{sl.VANISHING}' says delta vanishes in both cases (see Errata)."
    )


@functools.cache
def vanishing_gradient_erratum() -> Erratum:
    """Run the experiment and state the erratum with its figures; a run that
    cannot be made or that does not show the growth is failed evidence."""
    try:
        from gradproof.numeric.experiments import initialisation_experiment

        data = initialisation_experiment(**SETTINGS)
    except Exception as err:
        return Erratum(
            slide=sl.VANISHING,
            severity="wrong",
            lecture="In both cases: delta -> 0",
            correction="(the measurement could not be made)",
            evidence=(f"{type(err).__name__}: {err}",),
            passed=False,
        )
    return erratum_from(data, SETTINGS["seed"])


def erratum_from(data: dict, seed: int = 0) -> Erratum:
    """The erratum stated from one run of the experiment: passed only when the
    run shows what it claims (growth for sigma_0 = 1, decay for 0.01)."""
    f = describe(data)
    big, small = f[LARGE], f[SMALL]
    L = data["layers"]
    return Erratum(
        slide=sl.VANISHING,
        severity="wrong",
        lecture="for large sigma_0 (saturation) and for small sigma_0: 'In both cases: delta -> 0 as the number of layers increases'",
        correction=f"for large sigma_0 the backward messages grow towards the input: saturation makes tanh'(s) "
        "small, but W^T multiplies the message by weights of size sigma_0, Var(delta_in) ~ n sigma_0^2 "
        f"E[tanh'(s)^2] Var(delta); only small sigma_0 makes delta vanish (measured for sigma_0 = 1: "
        f"x{big['growth'] ** 2:.1f} in variance, x{big['growth']:.2f} in norm per layer)",
        evidence=(
            f"measured (gradproof.numeric.experiments, {L} tanh layers of {data['units']} units, {data['samples']} samples, "
            f"seed {seed}), sigma_0 = 1: ||delta|| = {big['first']:,.6g} at layer 1 and "
            f"{big['last']:,.6g} at layer {L}: x{big['growth']:.3f} per layer towards the input "
            f"(the variance rule predicts x{big['predicted']:.3f})",
            f"measured, sigma_0 = 0.01: ||delta|| = {small['first']:.3g} at layer 1 and {small['last']:.3g} at "
            f"layer {L}: x{small['growth']:.3f} per layer, it vanishes as the slide says (the variance rule "
            f"predicts x{small['predicted']:.3f})",
        ),
        passed=big["growth"] > 1.0 and small["growth"] < 1.0,
    )


def measured_errata(topic: str) -> tuple:
    """The measured errata that belong to a topic."""
    return (vanishing_gradient_erratum(),) if topic == "xavier" else ()


def attach(d):
    """A derivation with every erratum of its topic: derive-side and measured."""
    from gradproof.derive.lecture.errata import with_errata

    return with_errata(d, measured_errata(d.topic))
