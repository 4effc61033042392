"""The pytest plugin as a user runs it: a separate project, its own hand-written module."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

MODULE = '''
import numpy as np


def forward(z, W, b):
    """A tanh dense layer, written by hand."""
    return np.tanh(z @ W + b)


def backward(delta, z, W, b):
    a = np.tanh(z @ W + b)
    d = delta * (1 - a{power})
    return d @ W.T, {{"W": z.T @ d, "b": d.sum(axis=0)}}


def huber(yhat, y, h=1.0):
    r = yhat - y
    return float(np.mean(np.where(np.abs(r) <= h, r ** 2 / 2, h * (np.abs(r) - h / 2))))


def huber_grad(yhat, y, h=1.0):
    r = yhat - y
    return np.where(np.abs(r) <= h, r, h * np.sign(r)) / yhat.shape[0]
'''

TESTS = """
import numpy as np
import mylayer


def test_layer(gradcheck):
    rng = np.random.default_rng(0)
    recs = gradcheck(mylayer.forward, mylayer.backward, rng.normal(size=(4, 3)),
                     {"W": rng.normal(size=(3, 5)), "b": rng.normal(size=5)}, analytic=True)
    assert len(recs) >= 6


def test_loss(gradcheck):
    rng = np.random.default_rng(1)
    gradcheck.loss(mylayer.huber, mylayer.huber_grad, rng.normal(size=(8, 1)) * 2, rng.normal(size=(8, 1)))
"""


def _project(tmp_path, fault: str, conftest: bool):
    (tmp_path / "mylayer.py").write_text(MODULE.format(power="" if fault else " ** 2"))
    (tmp_path / "test_mylayer.py").write_text(TESTS)
    if conftest:
        (tmp_path / "conftest.py").write_text('pytest_plugins = ["gradproof.numeric.pytest_plugin"]\n')


def _run(tmp_path, *extra):
    env = dict(os.environ)
    env.pop("PYTEST_ADDOPTS", None)
    env.pop("PYTEST_PLUGINS", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *extra],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_user_project_passes_without_fault(tmp_path):
    _project(tmp_path, "", conftest=True)
    proc = _run(tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 passed" in proc.stdout


def test_user_project_fails_on_planted_fault(tmp_path):
    # the classic slip: the derivative of tanh taken as 1 - a instead of 1 - a^2
    _project(tmp_path, "planted", conftest=True)
    proc = _run(tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = proc.stdout
    assert "1 failed, 1 passed" in out
    assert "gradient check failed" in out
    # reported like `gradproof verify`: the derivative, the entry, analytic next to numeric
    assert "test_layer: delta_in wrong at entry z(" in out
    assert "analytic" in out and "numeric" in out
    assert "FAIL" in out


def test_plugin_is_not_loaded_unless_asked(tmp_path):
    _project(tmp_path, "", conftest=False)
    proc = _run(tmp_path)
    assert proc.returncode == 1
    assert "fixture 'gradcheck' not found" in proc.stdout
    # ... and `-p gradproof.numeric.pytest_plugin` on the command line enables it
    proc = _run(tmp_path, "-p", "gradproof.numeric.pytest_plugin")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 passed" in proc.stdout


def test_gradcheck_object_in_process():
    import numpy as np

    from gradproof.numeric.pytest_plugin import GradCheck

    g = GradCheck(seed=3, name="square")
    recs = g(lambda z: z**2, lambda d, z: (2 * d * z, {}), np.array([[0.5, -1.5]]))
    assert all(r.passed for r in recs)
    with pytest.raises(pytest.fail.Exception, match=textwrap.dedent("square: delta_in wrong at entry")):
        g(lambda z: z**2, lambda d, z: (d * z, {}), np.array([[0.5, -1.5]]))
