"""Gradient descent ``theta_{k+1} = theta_k - alpha_k grad L(theta_k)`` with a step-size schedule.

A schedule is any callable ``k -> alpha_k`` (``k = 0, 1, ...``):

>>> [round(inverse_time(0.5, 10)(k), 3) for k in (0, 10, 30)]
[0.5, 0.25, 0.125]
>>> [step_decay(1.0, 0.5, 2)(k) for k in range(5)]
[1.0, 1.0, 0.5, 0.5, 0.25]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["History", "constant", "gradient_descent", "inverse_time", "step_decay"]


def constant(alpha: float) -> Callable[[int], float]:
    """``alpha_k = alpha``."""
    if alpha <= 0:
        raise ValueError("the step size must be positive")
    return lambda k: alpha


def inverse_time(alpha0: float, tau: float) -> Callable[[int], float]:
    """``alpha_k = alpha0 / (1 + k / tau)``: decays like 1/k, as convergence theory asks."""
    if alpha0 <= 0 or tau <= 0:
        raise ValueError("alpha0 and tau must be positive")
    return lambda k: alpha0 / (1.0 + k / tau)


def step_decay(alpha0: float, factor: float, every: int) -> Callable[[int], float]:
    """``alpha_k = alpha0 * factor ** (k // every)``."""
    if alpha0 <= 0 or not 0 < factor <= 1 or every < 1:
        raise ValueError("need alpha0 > 0, 0 < factor <= 1, every >= 1")
    return lambda k: alpha0 * factor ** (k // every)


@dataclass
class History:
    """What a run recorded: iteration numbers, training losses and any extra metrics."""

    iterations: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    metrics: dict[str, list[float]] = field(default_factory=dict)

    def to_json(self) -> dict:
        """Plain lists: ``iterations``, ``loss`` and one list per metric."""
        return {
            "iterations": list(self.iterations),
            "loss": list(self.loss),
            **{k: list(v) for k, v in self.metrics.items()},
        }


def gradient_descent(
    net,
    inputs,
    targets,
    *,
    iterations: int,
    schedule: Callable[[int], float],
    every: int = 10,
    metrics: dict[str, Callable] | None = None,
    callback: Callable[[int, float], None] | None = None,
) -> History:
    """Full-batch gradient descent on ``net`` (an :class:`gradproof.numeric.network.Network`), in place.

    Records the training loss ``L(theta_k)`` (and each ``metrics[name](net)``)
    every ``every`` iterations and after the last one; ``callback(k, loss)``
    is called at the same moments (progress bars).
    """
    if iterations < 0:
        raise ValueError("iterations must be >= 0")
    hist = History()
    metrics = metrics or {}
    for name in metrics:
        hist.metrics[name] = []
    for k in range(iterations + 1):
        record = k % every == 0 or k == iterations
        if record:
            loss = net.loss(inputs, targets)
            hist.iterations.append(k)
            hist.loss.append(loss)
            for name, fn in metrics.items():
                hist.metrics[name].append(float(fn(net)))
            if callback is not None:
                callback(k, loss)
        if k < iterations:
            net.step(inputs, targets, schedule(k))
    return hist
