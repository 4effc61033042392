"""Hints for sharing out the report's work: estimated CPU seconds per job, and shared experiment runs.

Read by :mod:`gradproof.reports.build` to hand out the longest jobs first.
They decide only the order of the work, never a result, so they live apart
from the code that derives (a topic named here is no dependency of any
topic's report fragment).
"""

from __future__ import annotations

# For scheduling only (a wrong figure costs time, never changes a result): rough CPU seconds
# of each job in a worker, read from `gradproof report --no-cache --timings` (the CPU column).
JOB_COST = {"training": 0.6, "init": 1.2, "regularisation": 0.15, "activations": 0.05, "networks": 0.06}
# a topic (derive + verify + render views): by category, and for the topics far from their category's figure
TOPIC_COST = {
    "neuron": 0.35,
    "layer": 0.5,
    "activation": 0.19,
    "loss": 0.13,
    "fused": 0.44,
    "penalty": 0.15,
    "model": 0.3,
    "mle": 0.38,
    "map": 0.79,
    "closed_form": 0.37,
    "identity": 0.2,
    "init": 0.42,
    "multinomial_logistic_regression": 0.8,
    "vanishing_gradient": 0.69,
    "softmax": 0.53,
    "bce": 0.42,
    "linear_regression": 0.1,
    "perceptron": 0.06,
    "relu": 0.08,
}

# Topics whose derivation runs an experiment that a report-level source runs too, with the
# same settings (xavier's measured erratum, reports/errata.py, and the initialisation figure).
SHARED_RUNS = {"init": ("xavier",)}
