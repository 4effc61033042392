"""The pytest plugin's checker in process.

The plugin as a user runs it (registered by its entry point in an installed
wheel, the documentation's examples in a project of their own, a planted
fault caught) is tested in ``tests/test_packaging.py``.
"""

from __future__ import annotations

import textwrap

import pytest


def test_gradcheck_object_in_process():
    import numpy as np

    from gradproof.numeric.pytest_plugin import GradCheck

    g = GradCheck(seed=3, name="square")
    recs = g(lambda z: z**2, lambda d, z: (2 * d * z, {}), np.array([[0.5, -1.5]]))
    assert all(r.passed for r in recs)
    with pytest.raises(pytest.fail.Exception, match=textwrap.dedent("square: delta_in wrong at entry")):
        g(lambda z: z**2, lambda d, z: (d * z, {}), np.array([[0.5, -1.5]]))


def test_failures_name_the_running_test(monkeypatch):
    import numpy as np

    from gradproof.numeric import pytest_plugin

    # as outside any test (the plugin may be running this very test too)
    monkeypatch.setitem(pytest_plugin._running, "name", None)
    g = pytest_plugin.GradCheck(seed=0)
    assert g.label == "user module"

    class Item:
        name = "test_running_now"

    pytest_plugin.pytest_runtest_setup(Item())
    try:
        assert g.label == "test_running_now"
        with pytest.raises(pytest.fail.Exception, match="test_running_now: delta_in wrong at entry"):
            g(np.sin, lambda d, z: (d * np.sin(z), {}), np.array([[0.3, 1.1, -0.7]]))
    finally:
        pytest_plugin.pytest_runtest_teardown(Item())
    assert g.label == "user module"
