"""The real run: the generated MLP learns the digits, and the train command reports it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from gradproof.numeric import digits
from gradproof.reports.cli import main


@pytest.fixture(scope="module")
def run():
    return digits.train_digits(seed=0)


def test_generated_mlp_reaches_95_percent_on_held_out_digits(run):
    assert run.sizes == (64, 128, 10)
    assert run.n_params == 64 * 128 + 128 + 128 * 10 + 10
    assert run.n_train + run.n_test == 1797
    assert run.test_accuracy >= 0.95
    # and it learned: the first point of the curve is chance level
    assert run.curve["test_accuracy"][0] < 0.3
    assert run.curve["loss"][-1] < 0.2 * run.curve["loss"][0]


def test_gradient_check_passes_before_and_after_training(run):
    assert run.check_before and run.check_after
    assert run.check_passed, [r.detail for r in run.check_before + run.check_after if not r.passed]
    checked = {r.check for r in run.check_after}
    assert {"directional (8 seeds): dL/dW1", "directional (8 seeds): dL/dW2", "central differences: dL/db2"} <= checked


def test_split_is_stratified_and_deterministic():
    _, labels = digits.load()
    tr, te = digits.stratified_split(labels, 0.25, seed=3)
    tr2, te2 = digits.stratified_split(labels, 0.25, seed=3)
    assert np.array_equal(te, te2) and np.array_equal(tr, tr2)
    assert not set(tr) & set(te)
    frac = np.bincount(labels[te], minlength=10) / np.bincount(labels, minlength=10)
    assert np.all(np.abs(frac - 0.25) < 0.01)
    _, te3 = digits.stratified_split(labels, 0.25, seed=4)
    assert not np.array_equal(te, te3)


def test_train_command_json(capsys):
    assert main(["train", "--json", "--epochs", "3", "--seed", "1"]) == 0
    out = capsys.readouterr()
    data = json.loads(out.out)
    assert data["epochs"] == 3 and data["seed"] == 1
    assert data["curve"]["iterations"] == [0, 3]
    assert len(data["curve"]["loss"]) == len(data["curve"]["test_accuracy"]) == 2
    assert data["gradient_check"]["passed"] is True
    assert out.err == ""  # no progress bar when stderr is not a terminal


def test_train_command_text(capsys):
    assert main(["train", "--epochs", "12"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("MLP 64-128-10")
    rows = [l for l in lines if l.strip().split(" ")[0].isdigit()]
    assert [int(r.split()[0]) for r in rows] == [0, 10, 12]
    assert "test accuracy:" in out and "gradient check before training: passed" in out


def test_train_command_errors(capsys, monkeypatch):
    assert main(["train", "--epochs", "0"]) == 2
    assert capsys.readouterr().err.strip() == "gradproof train: --epochs must be at least 1"

    def missing():
        raise digits.MissingExtra("the digits data needs scikit-learn: pip install 'gradproof[digits]'")

    monkeypatch.setattr(digits, "load", missing)
    assert main(["train", "--epochs", "1"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install 'gradproof[digits]'" in err


def test_train_command_draws_a_progress_bar_only_on_a_terminal(capsys, monkeypatch):
    import io
    import sys

    class Tty(io.StringIO):
        def isatty(self):
            return True

    tty = Tty()
    monkeypatch.setattr(sys, "stderr", tty)
    assert main(["train", "--epochs", "10", "--json"]) == 0
    drawn = tty.getvalue()
    assert "\r" in drawn and "train [" in drawn and "loss" in drawn
    json.loads(capsys.readouterr().out)  # stdout stays pure JSON


def test_the_table_read_directly_is_scikit_learns_digits(monkeypatch):
    datasets = pytest.importorskip("sklearn.datasets")
    assert digits._bundled_table() is not None  # the fast path is the one taken here
    X, labels = digits.load()
    ref = datasets.load_digits()
    assert X.dtype == np.float64 and labels.dtype == np.int64
    assert np.array_equal(X, ref.data) and np.array_equal(labels, ref.target)
    monkeypatch.setattr(digits, "_bundled_table", lambda: None)  # the table moved: scikit-learn's loader
    X2, labels2 = digits.load()
    assert np.array_equal(X2, X) and np.array_equal(labels2, labels)
