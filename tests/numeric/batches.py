"""Random batches for the network tests: targets of the shape and kind each output layer expects."""

from __future__ import annotations

import numpy as np


def targets(output, rng, m, K, dtype=np.float64):
    """m rows of K targets: one-hot rows (softmax), 0/1 entries (sigmoid), else standard normal values."""
    if output == "softmax":
        return np.eye(K, dtype=dtype)[rng.integers(0, K, m)]
    if output == "sigmoid":
        return (rng.random((m, K)) < 0.5).astype(dtype)
    return rng.standard_normal((m, K)).astype(dtype)
