"""The companion's and the report's new figures: drawn from verified code, their captions' claims checked."""

from __future__ import annotations

import copy

import pytest

from gradproof.reports import plots


@pytest.fixture(scope="module")
def regularisation():
    from gradproof.numeric.experiments import regularisation_demo

    return regularisation_demo()


def test_regularisation_source_gives_two_figures_and_passing_records(regularisation):
    figs, records = plots._draw_regularisation(regularisation)
    assert [f.name for f in figs] == ["fig-overfitting", "fig-ridge-path"]
    assert all(f.svg.startswith("<svg") and f.pdf.startswith(b"%PDF") for f in figs)
    assert len(records) == 3 and all(r.passed for r in records)
    assert "test MSE falls" in figs[0].caption


def test_regularisation_records_can_fail(regularisation):
    bad = copy.deepcopy(regularisation)
    bad["path"]["train_mse"][5] = bad["path"]["train_mse"][4] / 2  # a path whose training error dips
    bad["path"]["w_norm"][7] = bad["path"]["w_norm"][6] * 3
    a, b = list(bad["fits"])
    bad["fits"][b]["test_mse"] = 2 * bad["fits"][a]["test_mse"]
    _, records = plots._draw_regularisation(bad)
    assert [r.passed for r in records] == [False, False, False]


def test_finish_sources_accepts_a_list_of_figures(regularisation):
    class Done:
        def __init__(self, v):
            self.v = v

        def result(self):
            return self.v

    figs, recs = plots._draw_regularisation(regularisation)
    figures, unavailable, records = plots.finish_sources({"regularisation": Done({"figure": figs, "records": recs})})
    assert [f.name for f in figures] == ["fig-overfitting", "fig-ridge-path"] and not unavailable
    assert len(records) == 3


def test_activation_figure_uses_the_generated_modules(monkeypatch):
    import numpy as np

    import gradproof.numeric.network as network

    seen = []
    real = network.load

    def spy(name):
        seen.append(name)
        return real(name)

    monkeypatch.setattr(network, "load", spy)
    fig = plots.activation_figure()
    assert seen == list(plots.ACTIVATION_PLOTS)
    assert fig.name == "fig-activations" and fig.svg.count('<g id="axes_') == 4
    assert np.isclose(real("sigmoid").backward(np.ones((1, 1)), np.zeros((1, 1)))[0][0, 0], 0.25)


def test_experiment_figure_and_png_are_deterministic():
    from gradproof.numeric.experiments import init_experiment

    data = init_experiment(layers=3, width=30, samples=20, sigma0=1.0)
    a, b = plots.experiment_figure(data), plots.experiment_figure(data)
    assert a.svg == b.svg and a.pdf == b.pdf
    png = plots.experiment_png(data)
    assert png.startswith(b"\x89PNG") and png == plots.experiment_png(data)
