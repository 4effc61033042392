"""Numerical verification of the statistical topics (NumPy only).

Closed forms are compared with ``numpy.linalg.lstsq`` and with their own
stationarity condition on random and ill-conditioned data (cond >= 1e10),
always through ``solve``/``lstsq``, never an explicit inverse; MLE estimates
are compared with the parameters that generated simulated data; the
initialisation variances are checked by Monte Carlo.  Every check returns
:class:`gradproof.numeric.gradcheck.CheckRecord` records.

>>> recs = run_checks("least_squares")
>>> all(r.passed for r in recs)
True
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from gradproof.numeric.gradcheck import CheckRecord


def _rec(topic, check, err, tol, detail_ok="", detail_bad="") -> CheckRecord:
    err = float(err)
    ok = bool(np.isfinite(err) and err <= tol)
    return CheckRecord(
        topic, check, err, tol, ok, "" if ok else f"{topic}: {check}: error {err:.3g} > {tol:.3g}. {detail_bad}"
    )


def _rel(a, b) -> float:
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)) / max(np.linalg.norm(b), 1e-300))


def ill_conditioned(rng, m: int, n: int, cond: float) -> np.ndarray:
    """A matrix with singular values spread geometrically from 1 to 1/cond."""
    U, _ = np.linalg.qr(rng.standard_normal((m, n)))
    V, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return (U * np.geomspace(1.0, 1.0 / cond, n)) @ V.T


# ---------------------------------------------------------------------------
# Closed forms
# ---------------------------------------------------------------------------


def least_squares_solution(X, y):
    """The derived closed form ``(X^T X)^{-1} X^T y``, by solving."""
    return np.linalg.solve(X.T @ X, X.T @ y)


def ridge_solution(X, y, lam):
    """The derived closed form ``(X^T X + lambda I)^{-1} X^T y``, by solving."""
    return np.linalg.solve(X.T @ X + lam * np.eye(X.shape[1]), X.T @ y)


def _generated(topic: str):
    import importlib

    return importlib.import_module("gradproof.numeric.generated." + topic)


def check_least_squares(seed=0, solver: Callable = least_squares_solution) -> list[CheckRecord]:
    rng = np.random.default_rng(seed)
    t = "least_squares"
    out = []
    X = rng.standard_normal((60, 5))
    y = rng.standard_normal(60)
    w = solver(X, y)
    ref = np.linalg.lstsq(X, y, rcond=None)[0]
    out.append(_rec(t, "random X: closed form vs numpy.linalg.lstsq", _rel(w, ref), 1e-10))
    g = 2 * X.T @ (X @ w - y)
    out.append(_rec(t, "random X: |dL/dw| / |2 X^T y| at w*", np.linalg.norm(g) / np.linalg.norm(2 * X.T @ y), 1e-10))
    # Ill-conditioned X: the normal equations square the condition number
    # (1e20 here), so the generated code solves by lstsq; its solution must
    # still be stationary.
    Xc = ill_conditioned(rng, 60, 5, 1e10)
    w_true = rng.standard_normal(5)
    yc = Xc @ w_true + 1e-3 * rng.standard_normal(60)
    wl = solver(Xc, yc)
    gl = Xc.T @ (Xc @ wl - yc)
    scale = np.linalg.norm(Xc, 2) * np.linalg.norm(yc)
    # lstsq is backward stable: the stationarity residual is of the order of
    # eps * cond(X) relative to |X| |y|, never of eps * cond(X)^2.
    kappa = np.linalg.cond(Xc)
    out.append(
        _rec(
            t,
            f"cond(X) = {kappa:.1e}: |X^T (X w - y)| / (|X| |y|) at the closed form",
            np.linalg.norm(gl) / scale,
            np.finfo(float).eps * kappa,
        )
    )
    yc0 = Xc @ w_true
    w0 = solver(Xc, yc0)
    out.append(
        _rec(
            t,
            "cond(X) = 1e10, consistent y: relative residual |X w - y| / |y|",
            np.linalg.norm(Xc @ w0 - yc0) / np.linalg.norm(yc0),
            1e-10,
        )
    )
    return out


def check_ridge(seed=0, solver: Callable = ridge_solution) -> list[CheckRecord]:
    rng = np.random.default_rng(seed)
    t = "ridge"
    out = []
    lam = 0.7
    for label, X in (
        ("random X", rng.standard_normal((40, 6))),
        ("cond(X) = 1e10", ill_conditioned(rng, 40, 6, 1e10)),
    ):
        y = rng.standard_normal(40)
        w = solver(X, y, lam)
        # independent oracle: ridge is least squares on [X; sqrt(lambda) I] w = [y; 0]
        aug = np.vstack([X, np.sqrt(lam) * np.eye(6)])
        ref = np.linalg.lstsq(aug, np.concatenate([y, np.zeros(6)]), rcond=None)[0]
        out.append(_rec(t, f"{label}: closed form vs lstsq of the augmented system", _rel(w, ref), 1e-9))
        g = 2 * (X.T @ (X @ w - y) + lam * w)
        out.append(
            _rec(t, f"{label}: |dL/dw| / |2 X^T y| at w*", np.linalg.norm(g) / np.linalg.norm(2 * X.T @ y), 1e-10)
        )
    # Rank-deficient X (a repeated column): X^T X is singular, ridge is not.
    X = rng.standard_normal((40, 5))
    X = np.hstack([X, X[:, :1]])
    y = rng.standard_normal(40)
    G = X.T @ X
    eig = np.linalg.eigvalsh(G)
    out.append(
        _rec(t, "rank-deficient X: smallest eigenvalue of X^T X / largest (singular)", abs(eig[0]) / eig[-1], 1e-12)
    )
    for lam_r in (1e-6, 1e-3, 1.0):
        w = solver(X, y, lam_r)
        aug = np.vstack([X, np.sqrt(lam_r) * np.eye(6)])
        ref = np.linalg.lstsq(aug, np.concatenate([y, np.zeros(6)]), rcond=None)[0]
        out.append(_rec(t, f"rank-deficient X, lambda = {lam_r:g}: closed form vs augmented lstsq", _rel(w, ref), 1e-6))
    return out


def check_logistic(seed=0) -> list[CheckRecord]:
    rng = np.random.default_rng(seed)
    t = "logistic_no_closed_form"
    # Separable data: the loss keeps decreasing as |w| grows; no stationary point.
    X = np.array([[1.0, -2.0], [1.0, -1.0], [1.0, 1.0], [1.0, 2.0]])
    y = np.array([0.0, 0.0, 1.0, 1.0])
    grads = []
    for scale in (1.0, 5.0, 15.0):
        sv = X @ (scale * np.array([0.0, 1.0]))
        # sigma(s) - y without cancellation: -sigma(-s) for y = 1, sigma(s) for y = 0
        r = np.where(y == 1, -1 / (1 + np.exp(sv)), 1 / (1 + np.exp(-sv)))
        grads.append(np.linalg.norm(X.T @ r))
    decreasing = all(g > 0 for g in grads) and all(a > b for a, b in zip(grads, grads[1:]))
    out = [
        _rec(
            t,
            "separable data: |dL/dw| > 0 and decreasing along w = c (0, 1); ratio at c = 15 vs c = 1",
            grads[-1] / grads[0] if decreasing else np.inf,
            1e-4,
        )
    ]
    # Non-separable data: Newton's method finds the stationary point numerically.
    Xr = np.hstack([np.ones((2000, 1)), rng.standard_normal((2000, 2))])
    w_true = np.array([0.3, -1.0, 2.0])
    yr = (rng.random(2000) < 1 / (1 + np.exp(-Xr @ w_true))).astype(float)
    w = _newton_logistic(Xr, yr)
    g = Xr.T @ (1 / (1 + np.exp(-Xr @ w)) - yr)
    out.append(_rec(t, "non-separable data: |X^T (yhat - y)| / m after Newton", np.linalg.norm(g) / len(yr), 1e-10))
    return out


def iterate(step: Callable[[np.ndarray], np.ndarray], x: np.ndarray, iters: int) -> np.ndarray:
    """``step`` applied ``iters`` times to ``x``, exactly as a plain loop would.

    An iteration in floating point ends in a fixed point or a short cycle of
    rounding; once an iterate repeats bit for bit, every later one is known
    (the step is deterministic), so the ``iters``-th is read off the cycle
    instead of being computed.

    >>> float(iterate(lambda v: np.floor(v / 2), np.array([100.0]), 1000)[0])
    0.0
    >>> float(iterate(lambda v: 1 - v, np.array([0.25]), 7)[0])  # a cycle of two: 0.25, 0.75, 0.25, ...
    0.75
    """

    def key(v):  # the bits and the memory layout (a matrix product may round differently for another layout)
        return v.tobytes(), v.strides, v.dtype.str

    index = {key(x): 0}
    trail = [x]
    for k in range(1, iters + 1):
        x = step(x)
        j = index.setdefault(key(x), k)
        if j != k:  # x is iterate j again: the sequence repeats with period k - j from there
            return trail[j + (iters - j) % (k - j)]
        trail.append(x)
    return x


def _newton_logistic(X, y, iters=30):
    def step(w):
        p = 1 / (1 + np.exp(-X @ w))
        H = X.T @ (X * (p * (1 - p))[:, None])
        return w - np.linalg.solve(H, X.T @ (p - y))

    return iterate(step, np.zeros(X.shape[1]), iters)


# ---------------------------------------------------------------------------
# MLE and MAP on simulated data
# ---------------------------------------------------------------------------


def check_mle_gaussian(seed=0) -> list[CheckRecord]:
    rng = np.random.default_rng(seed)
    m, sigma = 20000, 0.5
    X = np.hstack([np.ones((m, 1)), rng.standard_normal((m, 3))])
    w_true = np.array([1.0, -2.0, 0.5, 3.0])
    y = X @ w_true + sigma * rng.standard_normal(m)
    w = np.linalg.lstsq(X, y, rcond=None)[0]
    # the standard error of each coefficient is about sigma / sqrt(m)
    err = np.max(np.abs(w - w_true)) / (sigma / np.sqrt(m))
    return [_rec("mle_gaussian", "least squares on simulated data: max |w - w_true| in standard errors", err, 5.0)]


def check_mle_sigma2(seed=0) -> list[CheckRecord]:
    rng = np.random.default_rng(seed)
    m, sigma = 20000, 0.5
    X = np.hstack([np.ones((m, 1)), rng.standard_normal((m, 3))])
    y = X @ np.array([1.0, -2.0, 0.5, 3.0]) + sigma * rng.standard_normal(m)
    w = np.linalg.lstsq(X, y, rcond=None)[0]
    s2 = np.sum((y - X @ w) ** 2) / m
    # relative standard error of a variance estimate: sqrt(2/m)
    err = abs(s2 / sigma**2 - 1) / np.sqrt(2 / m)
    return [_rec("mle_sigma2", "RSS/m on simulated data: |s2/sigma^2 - 1| in standard errors", err, 5.0)]


def check_mle_bernoulli(seed=0) -> list[CheckRecord]:
    rng = np.random.default_rng(seed)
    m = 20000
    X = np.hstack([np.ones((m, 1)), rng.standard_normal((m, 2))])
    w_true = np.array([0.3, -1.0, 2.0])
    y = (rng.random(m) < 1 / (1 + np.exp(-X @ w_true))).astype(float)
    w = _newton_logistic(X, y)
    return [
        _rec(
            "mle_bernoulli",
            "cross-entropy minimiser on simulated data: max |w - w_true|",
            np.max(np.abs(w - w_true)),
            0.15,
        )
    ]


def check_mle_categorical(seed=0) -> list[CheckRecord]:
    rng = np.random.default_rng(seed)
    m, K = 20000, 3
    X = np.hstack([np.ones((m, 1)), rng.standard_normal((m, 2))])
    W_true = np.array([[0.5, -0.5, 0.0], [1.0, -1.0, 0.0], [-0.5, 1.5, 0.0]])
    S = X @ W_true
    P = np.exp(S - S.max(1, keepdims=True))
    P /= P.sum(1, keepdims=True)
    cls = (rng.random((m, 1)) > np.cumsum(P, 1)).sum(1)
    Y = np.eye(K)[cls]
    # Newton on the free columns (the last class is the reference: W is only
    # identified up to adding a vector to every column).
    n = X.shape[1]

    def newton(Wf):
        S = np.hstack([X @ Wf, np.zeros((m, 1))])
        P = np.exp(S - S.max(1, keepdims=True))
        P /= P.sum(1, keepdims=True)
        G = (X.T @ (P - Y))[:, : K - 1]
        H = np.zeros((n * (K - 1), n * (K - 1)))
        for a in range(K - 1):
            for b in range(K - 1):
                wgt = P[:, a] * ((a == b) - P[:, b])
                H[a * n : (a + 1) * n, b * n : (b + 1) * n] = X.T @ (X * wgt[:, None])
        return Wf - np.linalg.solve(H, G.T.reshape(-1)).reshape(K - 1, n).T

    Wf = iterate(newton, np.zeros((n, K - 1)), 25)
    return [
        _rec(
            "mle_categorical",
            "multinomial cross-entropy minimiser on simulated data: max |W - W_true|",
            np.max(np.abs(Wf - W_true[:, : K - 1])),
            0.15,
        )
    ]


def _num_grad(f, x, h=1e-6):
    g = np.zeros_like(x)
    for k in range(x.size):
        e = np.zeros_like(x)
        e[k] = h
        g[k] = (f(x + e) - f(x - e)) / (2 * h)
    return g


def map_gaussian_solution(X, y, sigma, sigma0, lam_rule=lambda s, s0: s**2 / s0**2):
    """Minimiser of (y - Xw - b)^T (y - Xw - b) + lambda w^T w, bias unpenalised."""
    m, n = X.shape
    A = np.hstack([np.ones((m, 1)), X])
    D = np.eye(n + 1)
    D[0, 0] = 0.0  # the bias has no prior
    theta = np.linalg.solve(A.T @ A + lam_rule(sigma, sigma0) * D, A.T @ y)
    return theta[0], theta[1:]


def check_map_gaussian(seed=0, lam_rule=lambda s, s0: s**2 / s0**2) -> list[CheckRecord]:
    rng = np.random.default_rng(seed)
    m, n, sigma, sigma0 = 30, 4, 0.8, 0.5
    X = rng.standard_normal((m, n))
    y = X @ (sigma0 * rng.standard_normal(n)) + 2.0 + sigma * rng.standard_normal(m)
    b, w = map_gaussian_solution(X, y, sigma, sigma0, lam_rule)

    def neg_log_post(theta):
        # Gaussian log-densities written out: the oracle does not use lambda.
        r = y - X @ theta[1:] - theta[0]
        return np.sum(r**2) / (2 * sigma**2) + np.sum(theta[1:] ** 2) / (2 * sigma0**2)

    theta = np.concatenate([[b], w])
    g = _num_grad(neg_log_post, theta)
    scale = np.linalg.norm(_num_grad(neg_log_post, np.zeros_like(theta)))
    return [
        _rec(
            "map_gaussian",
            "ridge minimiser with lambda = sigma^2/sigma_0^2 (bias free): "
            "|grad of -log posterior| (central differences) / its size at 0",
            np.linalg.norm(g) / scale,
            1e-6,
        )
    ]


def check_map_laplace(seed=0) -> list[CheckRecord]:
    rng = np.random.default_rng(seed)
    m, n, sigma, beta = 50, 5, 0.5, 0.3
    X = rng.standard_normal((m, n))
    y = X @ np.array([1.5, 0.0, -2.0, 0.0, 0.05]) + sigma * rng.standard_normal(m)
    lam = 2 * sigma**2 / beta
    # Proximal gradient (ISTA) on (y - Xw)^T (y - Xw) + lambda |w|_1.
    step = 1 / (2 * np.linalg.norm(X, 2) ** 2)

    def ista(w):
        z = w - step * 2 * X.T @ (X @ w - y)
        return np.sign(z) * np.maximum(np.abs(z) - step * lam, 0)

    w = iterate(ista, np.zeros(n), 5000)

    def neg_log_post(v):
        return np.sum((y - X @ v) ** 2) / (2 * sigma**2) + np.sum(np.abs(v)) / beta

    # A minimiser of a convex function: no coordinate direction decreases it.
    f0, h = neg_log_post(w), 1e-5
    worst = 0.0
    for k in range(n):
        for sgn in (1, -1):
            e = np.zeros(n)
            e[k] = sgn * h
            worst = max(worst, (f0 - neg_log_post(w + e)) / h)
    zeros = int(np.sum(w == 0))
    return [
        _rec(
            "map_laplace",
            f"L1 minimiser with lambda = 2 sigma^2/beta ({zeros} weights exactly 0): "
            "largest decrease of -log posterior per unit step along any coordinate",
            worst,
            1e-3,
        )
    ]


# ---------------------------------------------------------------------------
# Initialisation variance by Monte Carlo
# ---------------------------------------------------------------------------


def check_xavier(seed=0, var_rule=lambda n_in, n_out: 1 / n_in) -> list[CheckRecord]:
    rng = np.random.default_rng(seed)
    # s sums 200 products, so it is nearly Gaussian and its sample variance has a
    # relative standard error of about sqrt(2/trials) = 0.016 at 8000 trials: the
    # tolerance 0.12 is 7.5 of them, and a rule off by more than 12 % is caught.
    n_in, trials = 200, 8000
    x = rng.laplace(0, 1 / np.sqrt(2), (trials, n_in))  # Var(x) = 1, not Gaussian
    w = rng.uniform(-1, 1, (trials, n_in)) * np.sqrt(3 * var_rule(n_in, 50))
    s = np.sum(w * x, axis=1)
    ratio = s.var() / x.var()
    return [
        _rec(
            "xavier",
            f"Monte Carlo: Var(s)/Var(x) = {ratio:.4f} with Var(w) = 1/n_in (n_in = {n_in})",
            abs(ratio - 1),
            0.12,
        )
    ]


def check_glorot(seed=0) -> list[CheckRecord]:
    rng = np.random.default_rng(seed)
    # The spread comes mostly from the 10 drawn W (30000 entries each): with 1000
    # inputs per W the ratios' relative error is about 0.002 (0.0044 at worst over
    # 20 seeds), a fifteenth of the tolerance 0.03.
    n_in, n_out, trials = 300, 100, 1000
    v = 2 / (n_in + n_out)
    ratios_f, ratios_b = [], []
    for _ in range(10):
        W = rng.normal(0, np.sqrt(v), (n_in, n_out))
        X = rng.standard_normal((trials, n_in))
        D = rng.standard_normal((trials, n_out))
        ratios_f.append((X @ W).var() / X.var())
        ratios_b.append((D @ W.T).var() / D.var())
    f, b = np.mean(ratios_f), np.mean(ratios_b)
    return [
        _rec(
            "glorot",
            f"Monte Carlo forward: Var(s)/Var(x) = {f:.4f} vs n_in Var(w) = {n_in * v:.4f}",
            abs(f / (n_in * v) - 1),
            0.03,
        ),
        _rec(
            "glorot",
            f"Monte Carlo backward: Var(delta_in)/Var(delta) = {b:.4f} vs n_out Var(w) = {n_out * v:.4f}",
            abs(b / (n_out * v) - 1),
            0.03,
        ),
    ]


def check_he(seed=0, var_rule=lambda n_in: 2 / n_in) -> list[CheckRecord]:
    rng = np.random.default_rng(seed)
    # Ten layers multiply ten random gains: the spread of the depth-10 ratio comes from
    # the drawn W, not from the inputs (the rows of z grow correlated with depth).  One
    # network of 2000 inputs gave |log ratio| up to 0.70 over 40 seeds, above the
    # tolerance log 1.5 = 0.41; the mean ratio over 12 independent networks of 200
    # inputs has a standard deviation of 0.09 in log (at most 0.24 over 40 seeds),
    # and a rule 10 % too large gives |log ratio| >= 0.71 at every one of those seeds.
    # float32 halves the cost; the variances are summed in float64.
    n, trials, layers, networks = 256, 200, 10, 12
    sd = np.float32(np.sqrt(var_rule(n)))
    ratios = []
    for _ in range(networks):
        z = rng.standard_normal((trials, n), dtype=np.float32)
        v0 = z.var(dtype=np.float64)
        for _ in range(layers):
            W = rng.standard_normal((n, n), dtype=np.float32)
            W *= sd
            z = np.maximum(z, 0) @ W
        ratios.append(z.var(dtype=np.float64) / v0)
    ratio = float(np.mean(ratios))
    return [
        _rec(
            "he",
            f"Monte Carlo: Var(s) after {layers} ReLU layers / Var(s) at the input = {ratio:.3f}"
            f" (mean over {networks} networks)",
            abs(np.log(ratio)),
            np.log(1.5),
        )
    ]


# ---------------------------------------------------------------------------
# Identities
# ---------------------------------------------------------------------------


def _sigmoid(s):
    return 0.5 * (1 + np.tanh(0.5 * s))


def check_identities(seed=0) -> dict[str, list[CheckRecord]]:
    rng = np.random.default_rng(seed)
    s = np.linspace(-30, 30, 2001)
    out = {}
    out["tanh_sigmoid"] = [
        _rec(
            "tanh_sigmoid",
            "max |tanh(s) - (2 sigma(2s) - 1)| on [-30, 30]",
            np.max(np.abs(np.tanh(s) - (2 / (1 + np.exp(-2 * s)) - 1))),
            1e-15,
        )
    ]
    h = 1e-5
    fd = (1 / (1 + np.exp(-(s + h))) - 1 / (1 + np.exp(-(s - h)))) / (2 * h)
    sig = 1 / (1 + np.exp(-s))
    out["sigmoid_derivative"] = [
        _rec(
            "sigmoid_derivative",
            "max |central difference - sigma (1 - sigma)|",
            np.max(np.abs(fd - sig * (1 - sig))),
            1e-9,
        )
    ]
    S = rng.standard_normal((100, 5)) * 50
    P = np.exp(S - S.max(1, keepdims=True))
    P /= P.sum(1, keepdims=True)
    out["softmax_simplex"] = [
        _rec("softmax_simplex", "max |sum_k softmax_k - 1| (logits up to +-200)", np.max(np.abs(P.sum(1) - 1)), 1e-14),
        _rec("softmax_simplex", "outputs outside [0, 1]", float(np.sum((P < 0) | (P > 1))), 0.0),
    ]
    z = rng.standard_normal(4)
    y = np.eye(4)[1]

    def ce(v):
        return -np.sum(y * (v - np.log(np.sum(np.exp(v)))))

    sm = np.exp(z) / np.exp(z).sum()
    e1 = np.max(np.abs(_num_grad(ce, z) - (sm - y)))
    t = rng.standard_normal()
    yb = 1.0

    def bce(v):
        return -(yb * np.log(_sigmoid(v[0])) + (1 - yb) * np.log(1 - _sigmoid(v[0])))

    e2 = abs(_num_grad(bce, np.array([t]))[0] - (_sigmoid(t) - yb))
    out["fused_gradients"] = [
        _rec("fused_gradients", "softmax + CE: central differences vs yhat - y", e1, 1e-8),
        _rec("fused_gradients", "sigmoid + BCE: central differences vs yhat - y", e2, 1e-8),
    ]
    # Symmetry: a constant-initialised two-layer tanh network.
    x = rng.standard_normal((8, 3))
    yt = rng.standard_normal((8, 2))
    W, V = np.full((3, 4), 0.3), np.full((4, 2), -0.2)
    Hh = np.tanh(x @ W)
    D2 = 2 * (Hh @ V - yt)
    D1 = (D2 @ V.T) * (1 - Hh**2)
    spread = np.max(np.abs(D1 - D1[:, :1]))
    out["symmetry"] = [_rec("symmetry", "constant init: max difference between hidden deltas", spread, 0.0)]
    return out


_CHECKS: dict[str, Callable[[int], list[CheckRecord]]] = {
    # the closed forms are checked as generated (numeric/generated/), not as retyped here
    "least_squares": lambda seed: check_least_squares(seed, solver=_generated("least_squares").solve),
    "ridge": lambda seed: check_ridge(seed, solver=lambda X, y, lam: _generated("ridge").solve(X, y, lam=lam)),
    "logistic_no_closed_form": check_logistic,
    "mle_gaussian": check_mle_gaussian,
    "mle_sigma2": check_mle_sigma2,
    "mle_bernoulli": check_mle_bernoulli,
    "mle_categorical": check_mle_categorical,
    "map_gaussian": lambda seed: check_map_gaussian(seed),
    "map_laplace": check_map_laplace,
    "xavier": lambda seed: check_xavier(seed),
    "glorot": check_glorot,
    "he": check_he,
}
for _name in ("tanh_sigmoid", "sigmoid_derivative", "softmax_simplex", "fused_gradients", "symmetry"):
    _CHECKS[_name] = lambda seed, _n=_name: check_identities(seed)[_n]

TOPICS_WITH_CHECKS = tuple(_CHECKS)


def run_checks(topic_name: str, seed: int = 0) -> list[CheckRecord]:
    """Run the numerical checks of one statistical topic.

    Raises ``KeyError`` for a topic without checks here (see
    :data:`TOPICS_WITH_CHECKS`).
    """
    return _CHECKS[topic_name](seed)
