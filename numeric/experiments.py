"""The lecture's initialisation experiment, as data a report can plot.

An MLP of 10 tanh layers of 500 units (no biases) is fed inputs drawn from
N(0, 1); its weights are drawn from N(0, sigma_0^2) with sigma_0 = 1 and
sigma_0 = 0.01, and by Xavier's rule Var(w) = 1/n_in.  For each layer the
experiment records the distribution of the layer's outputs (mean, standard
deviation, histogram counts on fixed bins over [-1, 1]) and, after one
backward pass of a random unit-variance message from the top, the norm of
the backward message delta arriving at the layer.

* sigma_0 = 1: pre-activations have variance ~500, tanh saturates at +-1
  (about 90% of the outputs beyond 0.99 in magnitude), its derivative is ~0
  there.  NOTE: the backward message is also multiplied by W^T, whose
  entries are of size 1 (a factor ~sqrt(500) in norm), so measured here the
  delta *grows* towards the input (about x3.5 per layer) rather than
  vanishing: saturation makes the gradient useless, not small;
* sigma_0 = 0.01: each layer scales the signal by ~0.01 * sqrt(500) ~ 0.22,
  outputs collapse to 0 and the deltas vanish towards the input (x0.22 per
  layer), as the lecture says;
* Xavier: the standard deviation decays only slowly with depth (0.63 to
  0.23 over ten layers, since tanh is contracting) and the deltas stay
  within a factor of three.

>>> d = initialisation_experiment(layers=3, units=50, samples=40, bins=5)
>>> sorted(d["runs"]), len(d["runs"]["xavier"]["std"])
(['gaussian sigma_0=0.01', 'gaussian sigma_0=1', 'xavier'], 3)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from gradproof.numeric.init import initialise, std
from gradproof.numeric.network import _resolve

__all__ = [
    "ACTIVATIONS",
    "INITIALISATIONS",
    "NAMED_INITS",
    "init_experiment",
    "initialisation_experiment",
    "message_in",
]

# label -> (initialiser, sigma_0)
INITIALISATIONS = {
    "gaussian sigma_0=1": ("gaussian", 1.0),
    "gaussian sigma_0=0.01": ("gaussian", 0.01),
    "xavier": ("xavier", None),
}


def initialisation_experiment(
    *,
    layers: int = 10,
    units: int = 500,
    samples: int = 1000,
    bins: int = 50,
    seed: int = 0,
    modules: Mapping[str, Any] | None = None,
) -> dict:
    """Per-layer output statistics and delta norms for each initialisation; plain data.

    Returns ``{"layers", "units", "samples", "bin_edges", "runs"}`` where
    ``runs[label]`` holds lists indexed by layer (1..layers):
    ``mean``, ``std``, ``hist`` (counts per bin), ``saturated`` (fraction of
    outputs with ``|z| > 0.99``) and ``delta_norm`` (Frobenius norm of the
    backward message dL/dz arriving at the layer's output).  The same inputs
    and the same top message are used for every initialisation.  Layers are
    the generated ``linear`` and ``tanh`` modules (or those given in
    ``modules``); a linear layer's message is :func:`message_in`.
    """
    linear = _resolve("linear", modules)
    tanh = _resolve("tanh", modules)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((samples, units))
    top = rng.standard_normal((samples, units)) / samples  # a message as a mean loss would send
    edges = np.linspace(-1.0, 1.0, bins + 1)
    # Every rule rescales the same standard-normal draws, so they are drawn
    # once: initialise(rule, ...) is exactly such a draw times std(rule, ...).
    wrng = np.random.default_rng([seed, 1])
    draws = [wrng.standard_normal((units, units)) for _ in range(layers)]
    runs = {}
    for label, (rule, sigma0) in INITIALISATIONS.items():
        scale = std(rule, units, units, sigma0)
        Ws = [d * scale for d in draws]
        zs, ss = [X], []
        for W in Ws:
            s = linear.forward(zs[-1], W=W)
            ss.append(s)
            zs.append(tanh.forward(s))
        outs = zs[1:]
        delta = top
        delta_norm = [0.0] * layers
        for l in range(layers - 1, -1, -1):
            delta_norm[l] = float(np.linalg.norm(delta))
            d_s, _ = tanh.backward(delta, ss[l])
            delta = message_in(linear, d_s, zs[l], Ws[l])
        runs[label] = {
            "init": rule,
            "sigma0": sigma0,
            "weight_std": float(np.std(Ws[0])),
            "mean": [float(z.mean()) for z in outs],
            "std": [float(z.std()) for z in outs],
            "saturated": [float(np.mean(np.abs(z) > 0.99)) for z in outs],
            "hist": [_hist(z, bins) for z in outs],
            "delta_norm": delta_norm,
        }
    return {"layers": layers, "units": units, "samples": samples, "bin_edges": edges.tolist(), "runs": runs}


def message_in(linear, delta: np.ndarray, z: np.ndarray, W: np.ndarray) -> np.ndarray:
    """A linear layer's backward message ``Delta W^T``, without its weight gradient.

    The experiments follow the message only.  The generated ``backward`` of
    topic ``linear`` also returns ``dL/dW = Z^T Delta``, as costly as the
    message and never read here; its message is exactly the product below
    (``delta @ W.T``, the same numbers to the bit), so for that module the
    product is taken directly.  Any other linear module (``modules``) is
    asked for its own message.

    >>> from gradproof.numeric.network import load
    >>> D, Z, W = np.ones((2, 3)), np.ones((2, 4)), np.arange(12.0).reshape(4, 3)
    >>> bool((message_in(load("linear"), D, Z, W) == load("linear").backward(D, Z, W=W)[0]).all())
    True
    """
    if getattr(linear, "__name__", "") == "gradproof.numeric.generated.linear":
        return delta @ W.T
    return linear.backward(delta, z, W=W)[0]


def _hist(z: np.ndarray, bins: int) -> list:
    # bins and range rather than the edges: numpy's equal-width path counts
    # exactly as on np.linspace(-1, 1, bins + 1) without sorting the values
    return np.histogram(np.clip(z, -1.0, 1.0), bins=bins, range=(-1.0, 1.0))[0].tolist()


ACTIVATIONS = ("tanh", "sigmoid", "relu", "leaky_relu")
NAMED_INITS = ("xavier", "glorot", "he")


def init_experiment(
    *,
    layers: int = 10,
    width: int = 500,
    activation: str = "tanh",
    init: str = "gaussian",
    sigma0: float | None = None,
    samples: int = 1000,
    seed: int = 0,
    bins: int = 50,
    modules: Mapping[str, Any] | None = None,
) -> dict:
    """The lecture's experiment with one setting: per-layer output statistics and delta norms.

    ``layers`` linear layers of ``width`` units (no biases), each followed by
    ``activation``; inputs N(0, 1); weights by rule ``init`` (``gaussian``
    with ``sigma0``, or ``xavier``/``glorot``/``he``).  A random top message
    is sent down once.  Per layer ``l = 1..layers`` the result holds
    ``std`` and ``mean`` of the layer's output, ``delta_norm`` (norm of the
    message arriving at the layer's output), ``fprime2`` (mean of f'(s)^2
    over the layer's potentials) and, ``ratio`` (measured
    ``|delta^{l-1}| / |delta^l|``, the first layer's towards the input) next to ``predicted`` =
    ``sqrt(width Var(w) E[f'(s)^2])``, the gain derived in topic
    ``vanishing_gradient``.

    >>> r = init_experiment(layers=3, width=40, samples=30, sigma0=1.0)
    >>> len(r["std"]), len(r["ratio"])
    (3, 3)
    """
    if layers < 1 or width < 1 or samples < 1:
        raise ValueError("layers, width and samples must be at least 1")
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}: one of {', '.join(ACTIVATIONS)}")
    if init == "gaussian" and (sigma0 is None or not sigma0 > 0):
        raise ValueError("gaussian initialisation needs sigma0 > 0")
    linear = _resolve("linear", modules)
    act = _resolve(activation, modules)
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((samples, width))
    top = rng.standard_normal((samples, width)) / samples
    wrng = np.random.default_rng([seed, 1])
    Ws = [initialise(init, (width, width), wrng, sigma0=sigma0) for _ in range(layers)]
    zs, ss = [X], []
    for W in Ws:
        s = linear.forward(zs[-1], W=W)
        ss.append(s)
        zs.append(act.forward(s))
    outs = zs[1:]
    ones = np.ones_like(ss[0])
    fprime2 = [float(np.mean(act.backward(ones, s_)[0] ** 2)) for s_ in ss]
    delta = top
    delta_norm = [0.0] * layers
    for l in range(layers - 1, -1, -1):
        delta_norm[l] = float(np.linalg.norm(delta))
        d_s, _ = act.backward(delta, ss[l])
        delta = message_in(linear, d_s, zs[l], Ws[l])
    delta_in = float(np.linalg.norm(delta))
    # ratio[l]: |message leaving layer l+1 towards the input| / |message arriving at its output|
    ratio = [float((delta_norm[l - 1] if l > 0 else delta_in) / delta_norm[l]) for l in range(layers)]
    var_w = [float(np.var(W)) for W in Ws]
    predicted = [float(np.sqrt(width * var_w[l] * fprime2[l])) for l in range(layers)]
    edges = np.linspace(-1.0, 1.0, bins + 1) if activation == "tanh" else None
    out = {
        "layers": layers,
        "width": width,
        "activation": activation,
        "init": init,
        "sigma0": sigma0,
        "samples": samples,
        "seed": seed,
        "weight_std": float(np.std(Ws[0])),
        "mean": [float(z.mean()) for z in outs],
        "std": [float(z.std()) for z in outs],
        "fprime2": fprime2,
        "delta_norm": delta_norm,
        "delta_input": delta_in,
        "ratio": ratio,
        "predicted": predicted,
    }
    if edges is not None:
        out["bin_edges"] = edges.tolist()
        out["hist"] = [_hist(z, bins) for z in outs]
    return out


# ---------------------------------------------------------------------------
# Training with the lecture's knobs: initialisation, learning rate,
# activation, L1/L2, validation split with early stopping
# ---------------------------------------------------------------------------

TRAIN_INITS = ("xavier", "glorot", "he", "gaussian")
TRAIN_ACTIVATIONS = ACTIVATIONS


def train_digits_with(
    *,
    epochs: int = 100,
    seed: int = 0,
    hidden: int = 128,
    alpha: float = 1.0,
    init: str = "xavier",
    sigma0: float | None = None,
    activation: str = "tanh",
    l1: float = 0.0,
    l2: float = 0.0,
    validation: float = 0.0,
    patience: int | None = None,
    every: int = 10,
    callback=None,
    check: bool = True,
    train_size: int | None = None,
):
    """Train the digits MLP with the given settings; returns a :class:`gradproof.numeric.digits.DigitsRun`.

    ``validation`` (a fraction of the training images, stratified) is held
    out and its loss recorded every ``every`` iterations (``curve
    ["validation_loss"]``).  With ``patience`` (needs a validation split)
    training stops once the validation loss has not improved for that many
    evaluations, and the parameters with the lowest validation loss are
    restored (``curve["stopped_at"]``, ``None`` if it never stopped early, and
    ``curve["best_iteration"]``).  ``l1``
    or ``l2`` penalise the weights (never the biases) by the generated
    penalty modules.  ``train_size`` keeps only that many training images
    (to make a network overfit).
    """
    import time

    from gradproof.numeric import digits, optim
    from gradproof.numeric.network import MLP

    if init not in TRAIN_INITS:
        raise ValueError(f"unknown initialisation {init!r}: one of {', '.join(TRAIN_INITS)}")
    if activation not in TRAIN_ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}: one of {', '.join(TRAIN_ACTIVATIONS)}")
    if l1 and l2:
        raise ValueError("choose one penalty: L1 or L2")
    if l1 < 0 or l2 < 0:
        raise ValueError("the penalty weight must be non-negative")
    if not 0 <= validation < 1:
        raise ValueError("the validation fraction must be in [0, 1)")
    if patience is not None and (patience < 1 or validation == 0):
        raise ValueError("early stopping needs a validation split and a patience of at least 1")
    if alpha <= 0 or epochs < 1 or hidden < 1:
        raise ValueError("the learning rate, the iterations and the width must be positive")
    t0 = time.perf_counter()
    X, labels = digits.load()
    tr, te = digits.stratified_split(labels, digits.DEFAULTS["test_fraction"], seed)
    if train_size is not None:
        tr = np.sort(np.random.default_rng([seed, 2]).permutation(tr)[:train_size])
    va = np.empty(0, dtype=np.int64)
    if validation:
        sub_tr, sub_va = digits.stratified_split(labels[tr], validation, seed + 1)
        tr, va = tr[sub_tr], tr[sub_va]
    mu, sd = X[tr].mean(axis=0), X[tr].std(axis=0)
    sd[sd == 0] = 1.0
    X = (X - mu) / sd
    K = int(labels.max()) + 1
    Y = np.eye(K)[labels]
    penalty, lam = ("l1_penalty", l1) if l1 else (("l2_penalty", l2) if l2 else (None, 0.0))
    net = MLP(
        (X.shape[1], hidden, K),
        activation=activation,
        output="softmax",
        init=init,
        sigma0=sigma0,
        seed=seed,
        penalty=penalty,
        lam=lam,
    )
    Xtr, Ytr, Xva, Yva = X[tr], Y[tr], X[va], Y[va]
    rng = np.random.default_rng(seed)
    probe = rng.choice(tr.size, size=min(32, tr.size), replace=False)
    before = digits._check(net, Xtr[probe], Ytr[probe], seed) if check else []
    schedule = optim.inverse_time(alpha, digits.DEFAULTS["tau"])

    def acc(idx):
        return float(np.mean(net.predict(X[idx]) == labels[idx]))

    curve = {"iterations": [], "loss": [], "train_accuracy": [], "test_accuracy": []}
    if validation:
        curve["validation_loss"] = []
    best = (np.inf, 0, net.theta.copy())
    waited = 0
    stopped = None
    for k in range(epochs + 1):
        if k % every == 0 or k == epochs:
            loss = net.loss(Xtr, Ytr)
            curve["iterations"].append(k)
            curve["loss"].append(loss)
            curve["train_accuracy"].append(acc(tr))
            curve["test_accuracy"].append(acc(te))
            if callback is not None:
                callback(k, loss)
            if validation:
                # the data loss only: the penalty is not part of how well the model predicts
                vl = float(net._data_loss(Xva, Yva))
                curve["validation_loss"].append(vl)
                if vl < best[0]:
                    best, waited = (vl, k, net.theta.copy()), 0
                else:
                    waited += 1
                    if patience is not None and waited >= patience:
                        stopped = k
                        break
        if k < epochs:
            net.step(Xtr, Ytr, schedule(k))
    if patience is not None:
        net.theta[:] = best[2]  # the parameters at the lowest validation loss
        curve["stopped_at"] = stopped  # None: the validation loss kept improving
        curve["best_iteration"] = best[1]
    after = digits._check(net, Xtr[probe], Ytr[probe], seed) if check else []
    return digits.DigitsRun(
        sizes=net.sizes,
        seed=seed,
        epochs=epochs,
        alpha=alpha,
        tau=digits.DEFAULTS["tau"],
        n_train=int(tr.size),
        n_test=int(te.size),
        n_params=net.n_params,
        curve=curve,
        train_accuracy=acc(tr),
        test_accuracy=acc(te),
        check_before=before,
        check_after=after,
        seconds=time.perf_counter() - t0,
    )


# ---------------------------------------------------------------------------
# Overfitting with and without L2, and the ridge lambda path
# ---------------------------------------------------------------------------


def _poly(x, degree):
    return np.vander(x, degree + 1, increasing=True)


def regularisation_demo(
    *, degree: int = 12, m: int = 15, noise: float = 0.15, seed: int = 0, lam: float = 1e-3, lambdas=None, ridge=None
) -> dict:
    """Polynomial regression of a noisy sine: least squares overfits, L2 does not; the ridge lambda path.

    Fits ``degree``-polynomials to ``m`` noisy samples of sin(2 pi x) on
    [0, 1] with the generated ``ridge`` closed form (lambda = 0 is least
    squares, solved with a tiny lambda only when X^T X is singular).  Returns
    the fits on a grid, and for each lambda of the path the training and
    test mean squared errors and ||w||.
    """
    from gradproof.numeric.network import load

    ridge = load("ridge") if ridge is None else ridge
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(0, 1, m))
    y = np.sin(2 * np.pi * x) + noise * rng.standard_normal(m)
    xt = np.linspace(0, 1, 400)
    yt = np.sin(2 * np.pi * xt)
    X, Xt = _poly(2 * x - 1, degree), _poly(2 * xt - 1, degree)
    lambdas = np.geomspace(1e-10, 1e2, 49) if lambdas is None else np.asarray(lambdas, dtype=float)

    def fit(l):
        return ridge.solve(X, y, lam=float(l)) if l > 0 else np.linalg.lstsq(X, y, rcond=None)[0]

    def mse(A, b, w):
        return float(np.mean((A @ w - b) ** 2))

    fits = {}
    for label, l in (("least squares (no L2)", 0.0), (f"L2, lambda = {lam:g}", lam)):
        w = fit(l)
        fits[label] = {
            "lam": l,
            "grid": (Xt @ w).tolist(),
            "train_mse": mse(X, y, w),
            "test_mse": mse(Xt, yt, w),
            "w_norm": float(np.linalg.norm(w)),
        }
    path = {"lambda": lambdas.tolist(), "train_mse": [], "test_mse": [], "w_norm": []}
    for l in lambdas:
        w = fit(l)
        path["train_mse"].append(mse(X, y, w))
        path["test_mse"].append(mse(Xt, yt, w))
        path["w_norm"].append(float(np.linalg.norm(w)))
    best = int(np.argmin(path["test_mse"]))
    return {
        "degree": degree,
        "m": m,
        "noise": noise,
        "x": x.tolist(),
        "y": y.tolist(),
        "grid": xt.tolist(),
        "truth": yt.tolist(),
        "fits": fits,
        "path": path,
        "best_lambda": float(lambdas[best]),
    }
