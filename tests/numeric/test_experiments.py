"""The initialisation experiment reproduces the lecture's picture (qualitatively)."""

from __future__ import annotations

import contract_modules as cm
import numpy as np
import pytest

from gradproof.numeric.experiments import initialisation_experiment


@pytest.fixture(scope="module")
def data():
    # the lecture's depth, narrower layers to stay fast; same qualitative behaviour
    return initialisation_experiment(layers=10, units=200, samples=300, bins=20, seed=0)


def test_shape_of_the_data(data):
    assert data["layers"] == 10 and len(data["bin_edges"]) == 21
    for run in data["runs"].values():
        assert len(run["std"]) == len(run["mean"]) == len(run["delta_norm"]) == 10
        assert all(len(h) == 20 and sum(h) == 300 * 200 for h in run["hist"])


def test_sigma_one_saturates(data):
    run = data["runs"]["gaussian sigma_0=1"]
    assert min(run["std"]) > 0.9  # outputs pile up at +-1
    assert min(run["saturated"]) > 0.5
    hist = np.array(run["hist"][-1])
    assert hist[0] + hist[-1] > 0.5 * hist.sum()
    # W^T with unit-size entries outweighs the small tanh derivative: the delta grows downwards
    assert run["delta_norm"][0] > 100 * run["delta_norm"][-1]


def test_small_sigma_collapses_and_its_delta_vanishes(data):
    run = data["runs"]["gaussian sigma_0=0.01"]
    std = run["std"]
    assert all(a > b for a, b in zip(std, std[1:]))
    assert std[-1] < 1e-6
    # the message reaching the first layer is many orders below the one at the top
    assert run["delta_norm"][0] < 1e-4 * run["delta_norm"][-1]


def test_xavier_stays_in_range(data):
    run = data["runs"]["xavier"]
    assert min(run["std"]) > 0.15 and max(run["std"]) < 0.8
    assert run["std"][-1] > 0.3 * run["std"][0]
    d = run["delta_norm"]
    assert 0.1 < d[0] / d[-1] < 10  # neither vanishing nor exploding
    assert max(run["saturated"]) < 0.05


def test_same_inputs_for_every_rule_and_deterministic():
    a = initialisation_experiment(layers=2, units=20, samples=10, bins=4, seed=1)
    b = initialisation_experiment(layers=2, units=20, samples=10, bins=4, seed=1, modules=cm.all_modules())
    for k in a["runs"]:
        np.testing.assert_allclose(a["runs"][k]["std"], b["runs"][k]["std"], rtol=1e-12)
    # sigma_0 = 1 and 0.01 draw the same normal numbers, rescaled
    assert a["runs"]["gaussian sigma_0=1"]["weight_std"] == pytest.approx(
        100 * a["runs"]["gaussian sigma_0=0.01"]["weight_std"]
    )


def test_message_in_is_the_generated_linear_message_to_the_bit():
    from gradproof.numeric.experiments import message_in
    from gradproof.numeric.network import load

    rng = np.random.default_rng(7)
    D, Z, W = rng.standard_normal((9, 5)), rng.standard_normal((9, 6)), rng.standard_normal((6, 5))
    linear = load("linear")
    assert np.array_equal(message_in(linear, D, Z, W), linear.backward(D, Z, W=W)[0])

    class Scaled:  # another linear module: its own backward decides the message
        @staticmethod
        def backward(delta, z, W):
            return 2 * (delta @ W.T), {"W": z.T @ delta}

    assert np.array_equal(message_in(Scaled, D, Z, W), 2 * (D @ W.T))
