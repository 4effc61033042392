"""A pytest plugin: check your own NumPy ``forward``/``backward`` pairs in your own tests.

Enable it in your project (it is deliberately *not* auto-loaded into every
pytest run)::

    # conftest.py
    pytest_plugins = ["gradproof.numeric.pytest_plugin"]

or ``pytest -p gradproof.numeric.pytest_plugin``.  Then::

    def test_my_layer(gradcheck):
        gradcheck(my.forward, my.backward, z, {"W": W})        # a module
        gradcheck.loss(my.loss, my.loss_grad, yhat, y)          # a loss
        gradcheck.module(my_module)                             # the generated-module contract

Each call runs gradproof's numeric layers (central differences on the full
Jacobian, random-direction checks over several seeds, and the complex step
when ``analytic=True``) and, on any failure, fails the test with the same
table and detail lines ``gradproof verify`` prints: the derivative, the
worst entry, analytic next to numeric.  It returns the records on success.
``--gradcheck-seed N`` changes the seed of the random directions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pytest

from gradproof.numeric import gradcheck as gc

__all__ = ["GradCheck", "gradcheck"]


class GradCheck:
    """The object behind the ``gradcheck`` fixture (usable without pytest's fixture too)."""

    def __init__(self, seed: int = 0, name: str = "user module"):
        self.seed = seed
        self.name = name

    def _settle(self, records) -> list:
        records = list(records)
        if not gc.all_passed(records):
            failed = sum(1 for r in records if not r.passed)
            pytest.fail(
                f"gradient check failed ({failed} of {len(records)} checks):\n" + gc.format_records(records),
                pytrace=False,
            )
        return records

    def __call__(
        self,
        forward: Callable,
        backward: Callable,
        z,
        params: Mapping[str, Any] | None = None,
        *,
        topic: str | None = None,
        kinks=(),
        analytic: bool = False,
        methods=None,
        dtype=np.float64,
    ) -> list:
        """Check a module: ``forward(z, **params)``, ``backward(delta, z, **params) -> (delta_in, {p: dL/dp})``."""
        return self._settle(
            gc.check_callables(
                forward,
                backward,
                np.asarray(z, dtype=np.float64),
                params,
                topic=topic or self.name,
                kinks=kinks,
                analytic=analytic,
                methods=methods,
                seed=self.seed,
                dtype=dtype,
            )
        )

    def loss(
        self,
        forward: Callable,
        backward: Callable,
        z,
        y,
        *,
        topic: str | None = None,
        hyper: Mapping[str, Any] | None = None,
        kinks=(),
        methods=None,
        dtype=np.float64,
    ) -> list:
        """Check a loss: ``forward(z, y) -> float`` and ``backward(z, y) -> dL/dz`` (the shape of ``z``)."""

        class _Loss:
            TOPIC, KIND, PARAMS, HYPER, KINKS, ANALYTIC = (
                topic or self.name,
                "loss",
                (),
                dict(hyper or {}),
                tuple(kinks),
                False,
            )

        _Loss.forward = staticmethod(forward)
        _Loss.backward = staticmethod(backward)
        rng = np.random.default_rng(self.seed)
        z = np.asarray(z, dtype=np.float64)
        if kinks:
            z = gc.away_from_kinks(z, kinks, rng)
        return self._settle(
            gc.check_module(
                _Loss,
                inputs={"z": z, "y": np.asarray(y, dtype=np.float64)},
                methods=methods or ("central", "directional"),
                seed=self.seed,
                dtype=dtype,
            )
        )

    def module(
        self,
        module,
        *,
        inputs: Mapping[str, np.ndarray] | None = None,
        sizes: Mapping[str, int] | None = None,
        methods=None,
    ) -> list:
        """Check an object following the generated-module contract (``KIND``, ``PARAMS``, ``forward``, ``backward``...)."""
        return self._settle(gc.check_module(module, inputs=inputs, sizes=sizes, methods=methods, seed=self.seed))


def pytest_addoption(parser):
    group = parser.getgroup("gradproof")
    group.addoption(
        "--gradcheck-seed", type=int, default=0, help="seed of gradproof's random-direction gradient checks (default 0)"
    )


@pytest.fixture
def gradcheck(request) -> GradCheck:
    """Check a NumPy forward/backward pair; fails the test with gradproof's verification table."""
    return GradCheck(seed=request.config.getoption("gradcheck_seed"), name=request.node.name)
