"""Numerical checks of the lecture topics declared in ``derive/lecture/topics_lecture.py`` (NumPy only).

Each check measures what the derivation states, on the generated modules
where there is one, and returns :class:`gradproof.numeric.gradcheck.CheckRecord`
records: the vanishing/exploding gain against the initialisation
experiment, randomised inputs against Monte Carlo and against ridge,
gradient descent against the closed form, the linear approximations of
sigma and tanh against their remainder bounds, and the ReLU's dead units on
the generated module.

>>> all(r.passed for r in run_checks("linear_near_zero"))
True
"""

from __future__ import annotations

import numpy as np

from gradproof.numeric.gradcheck import CheckRecord


def _rec(topic, check, err, tol, detail="") -> CheckRecord:
    err = float(err)
    ok = bool(np.isfinite(err) and err <= tol)
    return CheckRecord(topic, check, err, tol, ok, "" if ok else f"{topic}: {check}: {err:.3g} > {tol:.3g}. {detail}")


def check_vanishing_gradient(seed=0, layers=10, width=500, samples=200) -> list[CheckRecord]:
    """Measured per-layer growth of |delta| vs the derived gain sqrt(n Var(w) E[tanh'(s)^2])."""
    from gradproof.numeric.experiments import init_experiment

    t = "vanishing_gradient"
    out = []
    for sigma0, direction in ((1.0, "grows"), (0.01, "vanishes")):
        r = init_experiment(layers=layers, width=width, samples=samples, sigma0=sigma0, seed=seed)
        meas, pred = np.asarray(r["ratio"]), np.asarray(r["predicted"])
        err = float(np.max(np.abs(meas / pred - 1)))
        out.append(
            _rec(
                t,
                f"sigma_0={sigma0:g}: measured |delta^(l-1)|/|delta^l| vs sqrt(n Var(w) E[tanh'(s)^2]) "
                f"(mean ratio {meas.mean():.3g}, predicted {pred.mean():.3g})",
                err,
                0.1,
            )
        )
        geo = float(np.exp(np.mean(np.log(meas))))
        # the direction is the erratum's point: > 1 grows towards the input, < 1 vanishes
        wrong_side = max(0.0, 1.0 - geo) if direction == "grows" else max(0.0, geo - 1.0)
        out.append(
            _rec(
                t,
                f"sigma_0={sigma0:g}: delta {direction} towards the input "
                f"(geometric mean ratio {geo:.3g}; |delta| at layer 1 {r['delta_norm'][0]:.3g}, "
                f"at layer {layers} {r['delta_norm'][-1]:.3g})",
                wrong_side,
                0.0,
            )
        )
    # the saturated gain's asymptotics: E[sech^4(s)] for s ~ N(0, tau^2) vs (4/3)/(sqrt(2 pi) tau)
    tau = np.sqrt(450.0)
    x = np.linspace(-40, 40, 400001)
    dens = np.exp(-(x**2) / (2 * tau**2)) / (np.sqrt(2 * np.pi) * tau)
    quad = float(np.sum(dens / np.cosh(x) ** 4) * (x[1] - x[0]))
    approx = 4.0 / 3.0 / (np.sqrt(2 * np.pi) * tau)
    out.append(
        _rec(
            t,
            f"E[sech^4 s], s ~ N(0, 450), quadrature {quad:.4g} vs (4/3)/(sqrt(2 pi) tau) {approx:.4g}",
            abs(quad / approx - 1),
            0.01,
        )
    )
    return out


def check_randomised_inputs(seed=0) -> list[CheckRecord]:
    """Monte Carlo of E[(y - w^T(x + eps))^2]; least squares on noisy copies approaches ridge."""
    t = "randomised_inputs"
    rng = np.random.default_rng(seed)
    n, se = 5, 0.3
    x, w, y = rng.standard_normal(n), rng.standard_normal(n), 0.7
    eps = rng.standard_normal((400_000, n)) * se
    mc = float(np.mean((y - (x + eps) @ w) ** 2))
    formula = (y - w @ x) ** 2 + se**2 * w @ w
    out = [
        _rec(
            t,
            f"Monte Carlo (400000 draws) {mc:.5g} vs (y - w^T x)^2 + sigma^2 ||w||^2 = {formula:.5g}",
            abs(mc / formula - 1),
            0.01,
        )
    ]
    m = 40
    X = rng.standard_normal((m, n))
    yv = X @ rng.standard_normal(n) + 0.1 * rng.standard_normal(m)
    copies = 2000
    Xn = np.repeat(X, copies, axis=0) + se * rng.standard_normal((m * copies, n))
    w_noise = np.linalg.lstsq(Xn, np.repeat(yv, copies), rcond=None)[0]
    # each copy adds E[L] = ||y - X w||^2 + m sigma^2 ||w||^2: ridge with lambda = m sigma^2
    w_ridge = np.linalg.solve(X.T @ X + m * se**2 * np.eye(n), X.T @ yv)
    err = float(np.linalg.norm(w_noise - w_ridge) / np.linalg.norm(w_ridge))
    out.append(_rec(t, "least squares on 2000 noisy copies of X vs ridge with lambda = m sigma^2", err, 0.02))
    return out


def check_gradient_descent(seed=0) -> list[CheckRecord]:
    """GD on least squares: monotone decrease, the closed form reached; a too-large step diverges."""
    t = "gradient_descent"
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((50, 4))
    y = rng.standard_normal(50)
    lam_max = float(np.linalg.eigvalsh(2 * X.T @ X).max())

    def run(alpha, iters):
        w = np.zeros(4)
        losses = []
        for _ in range(iters):
            r = X @ w - y
            losses.append(float(r @ r))
            w = w - alpha * 2 * X.T @ r
        return w, np.asarray(losses)

    w, losses = run(1.0 / lam_max, 3000)
    ref = np.linalg.lstsq(X, y, rcond=None)[0]
    rises = float(np.max(np.maximum(np.diff(losses), 0.0)) / losses[0])
    out = [
        _rec(t, "alpha = 1/lambda_max(H): the loss never increases", rises, 1e-12),
        _rec(
            t,
            "alpha = 1/lambda_max(H): 3000 steps reach the closed form (relative error)",
            np.linalg.norm(w - ref) / np.linalg.norm(ref),
            1e-8,
        ),
    ]
    _, bad = run(2.2 / lam_max, 60)
    # beyond alpha = 2/lambda_max the step overshoots: the loss must blow up (the check can fail)
    out.append(
        _rec(
            t,
            "alpha = 2.2/lambda_max(H) diverges (loss after 60 steps / first loss >= 1e3)",
            1e3 / max(bad[-1] / bad[0], 1e-300),
            1.0,
        )
    )
    return out


def _sigmoid(s):
    return 0.5 * (1.0 + np.tanh(0.5 * s))


def check_linear_near_zero(seed=0) -> list[CheckRecord]:
    """The series behind "linear near zero", term by term, on 0.05 <= |s| <= 1/2.

    After the linear part the next term is -s^3/48 (sigma) and -s^3/3 (tanh);
    both series alternate with shrinking terms there, so what is left after
    that cubic term is bounded by the following one, s^5/480 and 2 s^5/15.
    """
    t = "linear_near_zero"
    # from |s| = 0.05 up: nearer 0 the fifth-order remainder (< 1e-9) starts to drown in rounding
    s = np.concatenate([-np.geomspace(0.05, 0.5, 5000), np.geomspace(0.05, 0.5, 5000)])
    e_sig = np.max(np.abs(_sigmoid(s) - (0.5 + s / 4 - s**3 / 48)) / (np.abs(s) ** 5 / 480))
    e_tanh = np.max(np.abs(np.tanh(s) - (s - s**3 / 3)) / (2 * np.abs(s) ** 5 / 15))
    return [
        _rec(
            t,
            "max |sigma(s) - (1/2 + s/4 - s^3/48)| / (|s|^5/480) on 0.05 <= |s| <= 1/2 (<= 1: the next term bounds it)",
            e_sig,
            1.0,
        ),
        _rec(t, "max |tanh(s) - (s - s^3/3)| / (2|s|^5/15) on 0.05 <= |s| <= 1/2", e_tanh, 1.0),
    ]


def check_relu_properties(seed=0) -> list[CheckRecord]:
    """The generated relu module: the message passes unchanged for s > 0, is blocked for s < 0."""
    from gradproof.numeric.network import load

    t = "relu_properties"
    relu = load("relu")
    rng = np.random.default_rng(seed)
    Z = np.abs(rng.standard_normal((8, 3))) + 0.1
    Z[:, 1] = -Z[:, 1]  # unit 2 is negative on every sample: dead
    D = rng.standard_normal((8, 3))
    d_in, _ = relu.backward(D, Z)
    lin = load("linear")
    W = rng.standard_normal((5, 3))
    Xin = rng.standard_normal((8, 5))
    _, g = lin.backward(d_in, Xin, W=W)
    return [
        _rec(
            t,
            "generated relu: message for s > 0 equals the incoming one",
            np.max(np.abs(d_in[:, [0, 2]] - D[:, [0, 2]])),
            0.0,
        ),
        _rec(t, "generated relu: dead unit (s < 0 on every sample) passes no message", np.max(np.abs(d_in[:, 1])), 0.0),
        _rec(t, "dead unit's weight gradient dL/dW[:, 2] = 0 (it never learns)", np.max(np.abs(g["W"][:, 1])), 0.0),
        _rec(t, "relu is unbounded: relu(1e6) = 1e6", abs(relu.forward(np.array([[1e6]]))[0, 0] - 1e6), 0.0),
    ]


_CHECKS = {
    "vanishing_gradient": check_vanishing_gradient,
    "randomised_inputs": check_randomised_inputs,
    "gradient_descent": check_gradient_descent,
    "linear_near_zero": check_linear_near_zero,
    "relu_properties": check_relu_properties,
}

TOPICS_WITH_CHECKS = tuple(_CHECKS)


def run_checks(topic: str, seed: int = 0) -> list[CheckRecord]:
    """The numerical checks of one lecture topic (``[]`` for a topic without any)."""
    fn = _CHECKS.get(topic)
    return [] if fn is None else list(fn(seed))
