"""Parameter initialisers from the lecture's initialisation slides.

Weights are drawn from zero-mean Gaussians whose variance is chosen so that
signals neither explode nor vanish with depth; biases start at zero.

=========  ==========================  ==============================
name       Var(w)                      why
=========  ==========================  ==============================
constant   0 (every weight = value)    shows the symmetry problem
gaussian   sigma_0^2                   "small random numbers"
xavier     1 / n_in                    Var(s) = n_in Var(x) Var(w)
glorot     2 / (n_in + n_out)          also keeps the backward pass
he         2 / n_in                    ReLU halves the variance
=========  ==========================  ==============================

>>> W = initialise("xavier", (500, 300), np.random.default_rng(0))
>>> bool(abs(W.var() * 500 - 1) < 0.05)
True
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["INITIALISERS", "initialise", "std"]

INITIALISERS = ("constant", "gaussian", "xavier", "glorot", "he")


def std(name: str, n_in: int, n_out: int, sigma0: float | None = None) -> float:
    """Standard deviation of the weights of an ``(n_in, n_out)`` layer under rule ``name``.

    >>> std("glorot", 3, 5)
    0.5
    """
    if name == "constant":
        return 0.0
    if name == "gaussian":
        if sigma0 is None:
            raise ValueError("gaussian initialisation needs sigma0")
        return float(sigma0)
    if name == "xavier":
        return math.sqrt(1.0 / n_in)
    if name == "glorot":
        return math.sqrt(2.0 / (n_in + n_out))
    if name == "he":
        return math.sqrt(2.0 / n_in)
    raise ValueError(f"unknown initialiser {name!r}: one of {', '.join(INITIALISERS)}")


def initialise(
    name: str,
    shape: tuple,
    rng: np.random.Generator,
    *,
    sigma0: float | None = None,
    value: float = 0.5,
    dtype=np.float64,
) -> np.ndarray:
    """A weight matrix of ``shape = (n_in, n_out)`` drawn by rule ``name``.

    ``constant`` fills every entry with ``value``: every neuron of the layer
    then computes the same thing and receives the same delta, so gradient
    descent can never make them differ.

    >>> initialise("constant", (2, 3), np.random.default_rng(0), value=0.1).tolist()
    [[0.1, 0.1, 0.1], [0.1, 0.1, 0.1]]
    """
    if name == "constant":
        return np.full(shape, value, dtype=dtype)
    n_in = shape[0]
    n_out = shape[1] if len(shape) > 1 else 1
    w = rng.standard_normal(shape)
    w *= std(name, n_in, n_out, sigma0)  # in place: the same numbers as a product, without a second array
    return w.astype(dtype, copy=False)
