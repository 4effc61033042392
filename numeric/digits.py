"""The real run: a generated MLP trained by gradient descent on handwritten digits.

The data are scikit-learn's bundled 8x8 digits (1797 images, 10 classes,
no download).  The network is the lecture's MLP ``64-128-10``, tanh hidden
layer, softmax output with the fused cross-entropy, Xavier initialisation,
trained by full-batch gradient descent.  Its gradient is checked against
finite differences before and after training.
"""

from __future__ import annotations

import gzip
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradproof.numeric import gradcheck, optim
from gradproof.numeric.network import MLP

__all__ = ["DEFAULTS", "DigitsRun", "MissingExtra", "load", "stratified_split", "train_digits"]

# Chosen so the run takes seconds and clears 95% test accuracy with margin.
DEFAULTS = {"hidden": 128, "epochs": 100, "alpha": 1.0, "tau": 100.0, "test_fraction": 0.25, "every": 10}


class MissingExtra(RuntimeError):
    """An optional dependency is not installed (the message says how to install it)."""


def load() -> tuple[np.ndarray, np.ndarray]:
    """``(X, labels)``: the 1797 digit images as rows of 64 pixel values, and their classes."""
    path = _bundled_table()
    if path is not None:
        # The table scikit-learn's load_digits reads, read without importing
        # scikit-learn (a second of CPU); tests/numeric/test_digits.py checks
        # that both give the same arrays.
        with gzip.open(path, "rt", encoding="utf-8") as f:
            table = np.loadtxt(f, delimiter=",")
        return table[:, :-1].astype(np.float64), table[:, -1].astype(np.int64)
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise MissingExtra("the digits data needs scikit-learn: pip install 'gradproof[digits]'") from None
    data = load_digits()
    return np.asarray(data.data, dtype=np.float64), np.asarray(data.target, dtype=np.int64)


def _bundled_table():
    """The path of scikit-learn's ``digits.csv.gz`` (found without importing it), or None."""
    import importlib.util
    from pathlib import Path

    try:
        spec = importlib.util.find_spec("sklearn")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data" / "digits.csv.gz"
    return path if path.is_file() else None


def stratified_split(labels: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Train and test indices with every class split in the same proportion (deterministic per seed).

    >>> tr, te = stratified_split(np.array([0, 0, 0, 0, 1, 1, 1, 1]), 0.25, 0)
    >>> sorted(np.bincount(np.array([0, 0, 0, 0, 1, 1, 1, 1])[te]).tolist())
    [1, 1]
    """
    if not 0 < test_fraction < 1:
        raise ValueError("test_fraction must be between 0 and 1")
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        n_test = int(round(test_fraction * idx.size))
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


@dataclass
class DigitsRun:
    """Everything a report or the CLI needs about one training run (plain data)."""

    sizes: tuple
    seed: int
    epochs: int
    alpha: float
    tau: float
    n_train: int
    n_test: int
    n_params: int
    curve: dict  # iterations, loss, train_accuracy, test_accuracy
    train_accuracy: float
    test_accuracy: float
    check_before: list = field(default_factory=list)
    check_after: list = field(default_factory=list)
    seconds: float = 0.0

    @property
    def check_passed(self) -> bool:
        """Whether every gradient check, before and after training, passed."""
        return gradcheck.all_passed(self.check_before) and gradcheck.all_passed(self.check_after)

    def to_json(self) -> dict:
        """The run as JSON-ready data (what ``gradproof train --json`` prints)."""
        return {
            "sizes": list(self.sizes),
            "seed": self.seed,
            "epochs": self.epochs,
            "alpha": self.alpha,
            "tau": self.tau,
            "n_train": self.n_train,
            "n_test": self.n_test,
            "n_params": self.n_params,
            "train_accuracy": self.train_accuracy,
            "test_accuracy": self.test_accuracy,
            "curve": self.curve,
            "gradient_check": {
                "passed": self.check_passed,
                "before": [r.to_json() for r in self.check_before],
                "after": [r.to_json() for r in self.check_after],
            },
            "seconds": self.seconds,
        }


def _check(net: MLP, X, Y, seed: int) -> list:
    # A small batch keeps the check cheap; the directional check covers every
    # parameter at a cost independent of their number, central differences
    # every entry of the output bias.
    recs = net.check(X, Y, topic="digits MLP", methods=("directional",), seeds=8, seed=seed)
    recs += net.check(X, Y, topic="digits MLP", methods=("central",), wrt=[f"b{net.depth}"], seed=seed)
    return recs


def train_digits(
    *,
    epochs: int | None = None,
    seed: int = 0,
    hidden: int | None = None,
    alpha: float | None = None,
    modules: Mapping[str, Any] | None = None,
    callback: Callable[[int, float], None] | None = None,
    check: bool = True,
) -> DigitsRun:
    """Train the lecture MLP on the digits; return the learning curve, accuracies and gradient checks.

    Inputs are standardised with the training set's mean and standard
    deviation (the lecture: "do not forget to standardize ANN input data").
    """
    t0 = time.perf_counter()
    epochs = DEFAULTS["epochs"] if epochs is None else int(epochs)
    hidden = DEFAULTS["hidden"] if hidden is None else int(hidden)
    alpha = DEFAULTS["alpha"] if alpha is None else float(alpha)
    X, labels = load()
    tr, te = stratified_split(labels, DEFAULTS["test_fraction"], seed)
    mu = X[tr].mean(axis=0)
    sd = X[tr].std(axis=0)
    sd[sd == 0] = 1.0  # constant pixels (always blank) carry no information
    X = (X - mu) / sd
    K = int(labels.max()) + 1
    Y = np.eye(K)[labels]
    Xtr, Ytr, Xte = X[tr], Y[tr], X[te]
    net = MLP((X.shape[1], hidden, K), activation="tanh", output="softmax", init="xavier", seed=seed, modules=modules)
    rng = np.random.default_rng(seed)
    probe = rng.choice(tr.size, size=32, replace=False)
    before = _check(net, Xtr[probe], Ytr[probe], seed) if check else []

    def acc(Xs, labs):
        return lambda n: float(np.mean(n.predict(Xs) == labs))

    hist = optim.gradient_descent(
        net,
        Xtr,
        Ytr,
        iterations=epochs,
        schedule=optim.inverse_time(alpha, DEFAULTS["tau"]),
        every=DEFAULTS["every"],
        metrics={"train_accuracy": acc(Xtr, labels[tr]), "test_accuracy": acc(Xte, labels[te])},
        callback=callback,
    )
    after = _check(net, Xtr[probe], Ytr[probe], seed) if check else []
    curve = hist.to_json()
    return DigitsRun(
        sizes=net.sizes,
        seed=seed,
        epochs=epochs,
        alpha=alpha,
        tau=DEFAULTS["tau"],
        n_train=int(tr.size),
        n_test=int(te.size),
        n_params=net.n_params,
        curve=curve,
        train_accuracy=curve["train_accuracy"][-1],
        test_accuracy=curve["test_accuracy"][-1],
        check_before=before,
        check_after=after,
        seconds=time.perf_counter() - t0,
    )
