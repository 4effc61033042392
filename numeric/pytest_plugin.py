"""A pytest plugin: check your own NumPy ``forward``/``backward`` pairs in your own tests.

Installing gradproof registers it with pytest (a ``pytest11`` entry point
named like this module), so every test suite in that environment has the
``gradcheck`` fixture; ``pytest -p no:gradproof.numeric.pytest_plugin``
switches it off.  Then::

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

The fixture is session-scoped, so it is safe in a Hypothesis ``@given`` test
(Hypothesis refuses function-scoped fixtures there); failures still name the
test that is running.  The plugin imports NumPy and the checker only when a
check runs, so loading it costs an unrelated test suite nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

__all__ = ["GradCheck", "gradcheck"]

# The test being run, for failure messages: set by the runtest hook below, which
# (unlike a function-scoped fixture) is no obstacle to Hypothesis.
_running = {"name": None}


class GradCheck:
    """The object behind the ``gradcheck`` fixture (usable without pytest's fixture too)."""

    def __init__(self, seed: int = 0, name: str | None = None):
        self.seed = seed
        self.name = name

    @property
    def label(self) -> str:
        """The topic name in records: the given name, else the running test's, else ``user module``."""
        return self.name or _running["name"] or "user module"

    def _settle(self, records) -> list:
        from gradproof.numeric import gradcheck as gc

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
        dtype=None,
    ) -> list:
        """Check a module: ``forward(z, **params)``, ``backward(delta, z, **params) -> (delta_in, {p: dL/dp})``."""
        import numpy as np

        from gradproof.numeric import gradcheck as gc

        return self._settle(
            gc.check_callables(
                forward,
                backward,
                np.asarray(z, dtype=np.float64),
                params,
                topic=topic or self.label,
                kinks=kinks,
                analytic=analytic,
                methods=methods,
                seed=self.seed,
                dtype=dtype or np.float64,
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
        dtype=None,
    ) -> list:
        """Check a loss: ``forward(z, y) -> float`` and ``backward(z, y) -> dL/dz`` (the shape of ``z``)."""
        import numpy as np

        from gradproof.numeric import gradcheck as gc

        class _Loss:
            TOPIC, KIND, PARAMS, HYPER, KINKS, ANALYTIC = (
                topic or self.label,
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
                dtype=dtype or np.float64,
            )
        )

    def module(
        self,
        module,
        *,
        inputs: Mapping[str, Any] | None = None,
        sizes: Mapping[str, int] | None = None,
        methods=None,
    ) -> list:
        """Check an object following the generated-module contract (``KIND``, ``PARAMS``, ``forward``, ``backward``...)."""
        from gradproof.numeric import gradcheck as gc

        return self._settle(gc.check_module(module, inputs=inputs, sizes=sizes, methods=methods, seed=self.seed))


def pytest_addoption(parser):
    group = parser.getgroup("gradproof")
    group.addoption(
        "--gradcheck-seed", type=int, default=0, help="seed of gradproof's random-direction gradient checks (default 0)"
    )


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    _running["name"] = item.name


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item):
    _running["name"] = None


@pytest.fixture(scope="session")
def gradcheck(pytestconfig) -> GradCheck:
    """Check a NumPy forward/backward pair; fails the test with gradproof's verification table.

    Session-scoped, hence usable in Hypothesis ``@given`` tests; failures name the running test.
    """
    return GradCheck(seed=pytestconfig.getoption("gradcheck_seed"))
