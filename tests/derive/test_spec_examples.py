"""The example specs beyond the lecture: each derives, generates and verifies, and its
generated code agrees with an independent reference written here by hand.

The references are plain NumPy: the forward map as the spec's summary states it
and the backward message derived on paper (a normalisation layer's
``(D - mean(D) - xhat mean(D xhat)) / sigma``, GELU's product rule, ...), never
gradproof's own output.  A reference that is wrong must make the comparison
fail (``test_comparison_can_fail``).
"""

from __future__ import annotations

import math
import pathlib

import numpy as np
import pytest
import tomllib

from gradproof.reports.cli import main

SPECS = pathlib.Path(__file__).resolve().parents[2] / "examples" / "specs"


def _sig(x):
    return 0.5 + 0.5 * np.tanh(0.5 * x)


def _row_mean(a):
    return a.mean(axis=1, keepdims=True)


# --- activations: (f(s), f'(s)) with the default hyperparameters -------------------


def _gelu(c):
    def f(s):
        return 0.5 * s * (1 + np.tanh(c * (s + 0.044715 * s**3)))

    def df(s):
        t = np.tanh(c * (s + 0.044715 * s**3))
        return 0.5 * (1 + t) + 0.5 * s * (1 - t**2) * c * (1 + 3 * 0.044715 * s**2)

    return f, df


ACTIVATIONS = {
    "gelu_tanh": _gelu(0.7978845608028654),
    "gelu_tanh_pi": _gelu(math.sqrt(2 / math.pi)),
    "silu_beta": (
        lambda s: s * _sig(1.702 * s),
        lambda s: _sig(1.702 * s) + 1.702 * s * _sig(1.702 * s) * (1 - _sig(1.702 * s)),
    ),
    "softsign": (lambda s: s / (1 + np.abs(s)), lambda s: 1 / (1 + np.abs(s)) ** 2),
    "tanhshrink": (lambda s: s - np.tanh(s), lambda s: np.tanh(s) ** 2),
    "bent_identity": (lambda s: (np.sqrt(s**2 + 1) - 1) / 2 + s, lambda s: s / (2 * np.sqrt(s**2 + 1)) + 1),
    "log_sigmoid": (lambda s: -np.logaddexp(0, -s), lambda s: _sig(-s)),
    "isru": (lambda s: s / np.sqrt(1 + s**2), lambda s: (1 + s**2) ** -1.5),
}


# --- losses: (per-sample loss l(yhat, y), dl/dyhat); L is the mean ----------------------

LOSSES = {
    "poisson_nll": (lambda z, y: np.exp(z) - y * z, lambda z, y: np.exp(z) - y),
    "log_cosh": (lambda z, y: np.log(np.cosh(z - y)), lambda z, y: np.tanh(z - y)),
    "gaussian_nll": (lambda z, y: (z - y) ** 2 / (2 * 0.5) + np.log(2 * np.pi * 0.5) / 2, lambda z, y: (z - y) / 0.5),
    "sinh_asym": (
        lambda z, y: np.cosh(z - y) - 1 + 0.25 * (np.sinh(z - y) - (z - y)),
        lambda z, y: np.sinh(z - y) + 0.25 * (np.cosh(z - y) - 1),
    ),
}


# --- layers: forward(z, params) and backward(delta, z, params) -> (delta_in, grads) ------


def _ln_fwd(z, eps):
    mu = _row_mean(z)
    sig = np.sqrt(_row_mean((z - mu) ** 2) + eps)
    return (z - mu) / sig, sig


def _ln_back(d, z, eps):
    xhat, sig = _ln_fwd(z, eps)
    return (d - _row_mean(d) - xhat * _row_mean(d * xhat)) / sig


LAYERS = {
    "layer_norm": (lambda z, p: _ln_fwd(z, 1e-5)[0], lambda d, z, p: (_ln_back(d, z, 1e-5), {})),
    "center": (lambda z, p: z - _row_mean(z), lambda d, z, p: (d - _row_mean(d), {})),
    "layer_norm_affine": (
        lambda z, p: p["g"] * _ln_fwd(z, 1e-5)[0] + p["b"],
        lambda d, z, p: (
            _ln_back(d * p["g"], z, 1e-5),
            {"g": (d * _ln_fwd(z, 1e-5)[0]).sum(axis=0), "b": d.sum(axis=0)},
        ),
    ),
}

NEW = sorted([*ACTIVATIONS, *LOSSES, *LAYERS])


def _topic(stem):
    return tomllib.loads((SPECS / f"{stem}.toml").read_text())["name"]


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """Every new example spec generated into one folder, through the command line."""
    folder = tmp_path_factory.mktemp("byo")
    return folder


def _load(stem, folder):
    from gradproof.reports.verify import load_module

    path = str(SPECS / f"{stem}.toml")
    assert main(["codegen", "--spec", path, "-o", str(folder), _topic(stem)]) == 0
    return load_module(_topic(stem), str(folder))


def close(a, b, rtol=1e-10, atol=1e-12):
    """Entrywise |a - b| <= rtol |b| + atol * max(1, max |b|), and the same shape."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        return False
    scale = max(1.0, float(np.max(np.abs(b)))) if b.size else 1.0
    return bool(np.all(np.abs(a - b) <= rtol * np.abs(b) + atol * scale))


def test_at_least_twelve_new_examples():
    assert len(NEW) >= 12
    for stem in NEW:
        assert (SPECS / f"{stem}.toml").exists(), stem
    params = {s: tomllib.loads((SPECS / f"{s}.toml").read_text()).get("params", {}) for s in LAYERS}
    assert sum(1 for s in LAYERS if not params[s]) >= 2  # parameter-free normalisation (layer norm, centring)
    assert any(set(params[s]) == {"g", "b"} for s in LAYERS)  # a gain and a shift
    assert tomllib.loads((SPECS / "poisson_nll.toml").read_text())["target"] == "count"


@pytest.mark.parametrize("stem", NEW)
def test_example_derives_codegens_and_verifies(stem, tmp_path, capsys):
    path = str(SPECS / f"{stem}.toml")
    assert main(["derive", "--spec", path]) == 0
    out = capsys.readouterr().out
    assert "PASS" in out and "FAIL" not in out and "UNDECIDED" not in out
    assert main(["codegen", "--spec", path, "-o", str(tmp_path), _topic(stem)]) == 0
    assert main(["verify", "--spec", path, _topic(stem)]) == 0, capsys.readouterr().out
    table = capsys.readouterr().out
    assert " 0 failed" in table and "exact" in table and "mutation" in table


@pytest.mark.parametrize("stem", sorted(ACTIVATIONS))
def test_activation_matches_hand_reference(stem, generated):
    mod = _load(stem, generated)
    f, df = ACTIVATIONS[stem]
    rng = np.random.default_rng(7)
    z = np.concatenate([rng.normal(0, 2, (4, 5)), np.linspace(-6, 6, 5)[None, :]])
    delta = rng.normal(size=z.shape)
    assert close(mod.forward(z), f(z))
    d_in, grads = mod.backward(delta, z)
    assert grads == {}
    assert close(d_in, delta * df(z))


@pytest.mark.parametrize("stem", sorted(LOSSES))
def test_loss_matches_hand_reference(stem, generated):
    mod = _load(stem, generated)
    ell, dl = LOSSES[stem]
    rng = np.random.default_rng(11)
    m = 6
    z = rng.normal(0, 1.5, (m, 1))
    y = rng.integers(0, 8, (m, 1)).astype(float) if stem == "poisson_nll" else rng.normal(size=(m, 1))
    assert close(mod.forward(z, y), ell(z, y).mean())
    assert close(mod.backward(z, y), dl(z, y) / m)


@pytest.mark.parametrize("stem", sorted(LAYERS))
def test_layer_matches_hand_reference(stem, generated):
    mod = _load(stem, generated)
    fwd, back = LAYERS[stem]
    rng = np.random.default_rng(3)
    m, n = 5, 7
    # a large common offset: a variance computed as E[z^2] - E[z]^2 would lose digits here
    z = rng.normal(0, 1, (m, n)) + np.array([[0.0], [3.0], [-40.0], [1e3], [0.5]])
    delta = rng.normal(size=(m, n))
    p = {"g": rng.normal(1, 0.3, n), "b": rng.normal(0, 0.3, n)} if stem == "layer_norm_affine" else {}
    assert close(mod.forward(z, **p), fwd(z, p), rtol=1e-9)
    d_in, grads = mod.backward(delta, z, **p)
    ref_in, ref_grads = back(delta, z, p)
    assert close(d_in, ref_in, rtol=1e-8, atol=1e-10)
    assert set(grads) == set(ref_grads)
    for k in grads:
        assert close(grads[k], ref_grads[k], rtol=1e-8, atol=1e-10), k


def test_comparison_can_fail(generated):
    """A wrong hand reference (GELU without the cubic term's slope) is caught."""
    mod = _load("gelu_tanh", generated)
    z = np.linspace(-3, 3, 12).reshape(3, 4)
    c = 0.7978845608028654
    t = np.tanh(c * (z + 0.044715 * z**3))
    wrong = 0.5 * (1 + t) + 0.5 * z * (1 - t**2) * c
    d_in, _ = mod.backward(np.ones_like(z), z)
    assert not close(d_in, wrong)
    assert close(d_in, _gelu(c)[1](z))
