"""Benchmark: networks built from generated code vs hand-written NumPy.

One command, one process; the contenders of each scenario run interleaved
(A B A B ...) after a warm-up, and the table reports medians::

    python bench/bench_networks.py            # about a minute on a quiet 2-core machine
    python bench/bench_networks.py --quick    # fewer repetitions
    python bench/bench_networks.py --no-deep  # the lecture MLP only

Scenarios:
* a gradient-descent step of the lecture MLP 64-128-10 (tanh, softmax +
  cross-entropy) at batch 32 and at full batch 1797 (the digits), float64
  and float32: the network on its in-place variants (the default, see
  gradproof.numeric.inplace), the same network on the generated modules as
  emitted (``inplace=False``), hand-written NumPy with buffers and without,
  and, when installed (the ``[bench]`` extra), a ``jax.jit`` step (parameters
  donated) and a PyTorch eager step; a peer that is not installed is named
  in a note ("not installed");
* a step of a 10-layer, 500-unit tanh network (linear output, mean squared
  error) at batch 500;
* the cost of the full finite-difference gradient check against the
  directional check for the lecture MLP (P = 9,610 parameters).

Before timing, each contender is run once from identical weights and must
reach the same weights (float64: 1e-10, float32: 1e-5; the comparison is
like for like).  The generated network
sets glibc to keep freed memory (gradproof.numeric.memory); that is process-wide, so
every contender here runs under it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from handwritten import HandwrittenMLP, naive_step

from gradproof.numeric import digits
from gradproof.numeric.network import MLP


def interleaved(contenders: dict, reps: int, warmup: int) -> dict:
    """Run the contenders in turn, ``warmup + reps`` rounds; the per-call times of the timed rounds.

    Each round starts one contender later (A B C, B C A, C A B, ...): a call
    pays for what the call before it left in the caches and the scheduler
    (JAX's and PyTorch's runtimes leave much), so every contender follows
    every other equally often."""
    times = {name: [] for name in contenders}
    order = list(contenders.items())
    for r in range(warmup + reps):
        k = r % len(order)
        for name, fn in order[k:] + order[:k]:
            t0 = time.perf_counter()
            fn()
            dt = time.perf_counter() - t0
            if r >= warmup:
                times[name].append(dt)
    return times


def _fmt(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:8.1f} us"
    if seconds < 1:
        return f"{seconds * 1e3:8.2f} ms"
    return f"{seconds:8.2f} s "


def _pair(net: MLP, loss: str) -> HandwrittenMLP:
    Ws = [net.params[f"W{l}"] for l in range(1, net.depth + 1)]
    bs = [net.params[f"b{l}"] for l in range(1, net.depth + 1)]
    return HandwrittenMLP(Ws, bs, loss=loss)


def _twin(net: MLP, **kw) -> MLP:
    """The same network (same weights) running the generated modules as emitted: no in-place variants."""
    twin = MLP(net.sizes, activation=net.activation, output=net.output, dtype=net.theta.dtype, inplace=False, **kw)
    twin.theta[...] = net.theta
    return twin


def _same_step(net: MLP, other, X, Y, alpha) -> float:
    """Largest difference of the weights after one step of each from identical weights."""
    saved = net.theta.copy()
    net.step(X, Y, alpha)
    other.step(X, Y, alpha)
    Ws = other.Ws if isinstance(other, HandwrittenMLP) else [other.params[f"W{l}"] for l in range(1, net.depth + 1)]
    diff = max(float(np.max(np.abs(net.params[f"W{l}"] - Ws[l - 1]))) for l in range(1, net.depth + 1))
    net.theta[...] = saved
    return diff


def _rows_for(title, times):
    med = {k: statistics.median(v) for k, v in times.items()}
    # the stricter baseline: the faster of the hand-written versions
    base = min(t for k, t in med.items() if k.startswith("hand-written"))
    rows = []
    for i, (name, t) in enumerate(med.items()):
        rows.append((title if i == 0 else "", name, _fmt(t), f"{t / base:5.2f}x", str(len(times[name]))))
    return rows


def _peer_steps(net, X, Y, alpha, loss: str, tol: float, notes: list) -> dict:
    """JAX jit and PyTorch eager steps from the network's weights, each first checked to reach its weights."""
    import peers

    out = {}
    saved = net.theta.copy()
    net.step(X, Y, alpha)
    want = [net.params[f"W{l}"].copy() for l in range(1, net.depth + 1)]
    net.theta[...] = saved
    builders = (
        ("JAX jit(step)", lambda: peers.jax_step(net, X, Y, loss, alpha)[:2]),
        ("PyTorch eager step", lambda: peers.torch_step(net, X, Y, loss, alpha)),
    )
    for name, build in builders:
        try:
            run, weights = build()
        except peers.Missing as err:
            notes.append(f"{name}: {err}")
            continue
        run()
        diff = max(float(np.max(np.abs(a - b))) for a, b in zip(weights(), want))
        if diff > tol:
            notes.append(f"{name} dropped: its step differs from gradproof's by {diff:.2e}")
            continue
        out[name] = run
    return out


def step_scenario(title, net, hand, X, Y, alpha, reps, warmup, naive=True, notes=None):
    """Time one step of each contender, after checking that they all reach the same weights.

    With ``notes`` (a list), JAX jit and PyTorch eager steps join when installed (else a note says so).
    """
    return _rows_for(title, step_times(title, net, hand, X, Y, alpha, reps, warmup, naive, notes))


def step_times(title, net, hand, X, Y, alpha, reps, warmup, naive=True, notes=None) -> dict:
    """:func:`step_scenario`'s per-call times of each contender (name -> list of seconds)."""
    twin = _twin(net)
    tol = 1e-10 if net.theta.dtype == np.float64 else 1e-5
    for other in (hand, twin):
        diff = _same_step(net, other, X, Y, alpha)
        if diff > tol:
            raise SystemExit(f"{title}: generated and {type(other).__name__} steps disagree by {diff:.2e}")
        twin.theta[...] = net.theta
    if not net.inplace.active:
        raise SystemExit(f"{title}: the in-place path is not active: {net.inplace.reason}")
    contenders = {
        "generated, in-place variants": lambda: net.step(X, Y, alpha),
        "generated, as emitted": lambda: twin.step(X, Y, alpha),
        "hand-written (buffers)": lambda: hand.step(X, Y, alpha),
    }
    if naive:
        Ws = [W.copy() for W in hand.Ws]
        bs = [b.copy() for b in hand.bs]
        contenders["hand-written (plain)"] = lambda: naive_step(Ws, bs, X, Y, alpha, hand.loss)
    peers = _peer_steps(net, X, Y, alpha, hand.loss, tol, notes) if notes is not None else {}
    if not peers:
        return interleaved(contenders, reps, warmup)
    # A peer's runtime (XLA's and PyTorch's thread pools) keeps working after its call returns
    # and slows whatever runs next: the NumPy contenders are interleaved among themselves, and
    # each peer runs in blocks of its own, the blocks taking turns.
    times: dict = {name: [] for name in list(contenders) + list(peers)}
    blocks = 4
    for b in range(blocks):
        n = reps // blocks + (1 if b < reps % blocks else 0)
        groups = [contenders] + [{name: fn} for name, fn in peers.items()]
        for group in groups[b % len(groups) :] + groups[: b % len(groups)]:
            for name, t in interleaved(group, n, warmup if b == 0 else max(1, warmup // 4)).items():
                times[name] += t
    return times


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions")
    ap.add_argument("--no-deep", action="store_true", help="skip the 10 x 500 network and the check costs")
    ap.add_argument(
        "--threads", type=int, default=1, help="BLAS threads (default 1: stable timings on a shared machine)"
    )
    args = ap.parse_args(argv)
    import peers

    peers.set_xla_threads(args.threads)  # read when JAX is first imported
    try:
        import torch

        torch.set_num_threads(args.threads)
    except ImportError:
        pass
    try:
        from threadpoolctl import threadpool_limits

        limiter = threadpool_limits(limits=args.threads, user_api="blas")
    except ImportError:  # timings then use the BLAS default
        limiter = None
    q = 4 if args.quick else 1
    rows, notes = [], []

    X, labels = digits.load()
    X = (X - X.mean(axis=0)) / np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0)
    Y = np.eye(10)[labels]
    for dtype in (np.float64, np.float32):
        net = MLP((64, 128, 10), activation="tanh", output="softmax", seed=0, dtype=dtype)
        Xd, Yd = X.astype(dtype), Y.astype(dtype)
        name = np.dtype(dtype).name
        # each scenario starts the hand-written copy from the network's current weights
        rows += step_scenario(
            f"MLP 64-128-10 step, batch 32, {name}",
            net,
            _pair(net, "softmax"),
            Xd[:32],
            Yd[:32],
            1e-3,
            reps=400 // q,
            warmup=50 // q,
            notes=notes,
        )
        rows += step_scenario(
            f"MLP 64-128-10 step, batch 1797, {name}",
            net,
            _pair(net, "softmax"),
            Xd,
            Yd,
            1e-3,
            reps=60 // q,
            warmup=10 // q,
            notes=notes,
        )
    net = MLP((64, 128, 10), activation="tanh", output="softmax", seed=0)
    if args.no_deep:
        return _print(rows, args, limiter, notes)

    rng = np.random.default_rng(0)
    deep = MLP((500,) * 11, activation="tanh", output="linear", seed=0)
    Xd, Yd = rng.standard_normal((500, 500)), rng.standard_normal((500, 500))
    rows += step_scenario(
        "10 x 500 tanh step, batch 500, MSE", deep, _pair(deep, "mse"), Xd, Yd, 1e-4, reps=12 // q + 2, warmup=2
    )

    # Gradient-check cost for the lecture MLP at a batch of 32.
    Xb, Yb = X[:32], Y[:32]
    t_dir = interleaved({"d": lambda: net.check(Xb, Yb, methods=("directional",), seeds=8)}, 5, 1)["d"]
    t0 = time.perf_counter()
    recs = net.check(Xb, Yb, methods=("central",))
    t_full = time.perf_counter() - t0
    ok = all(r.passed for r in recs)
    d = statistics.median(t_dir)
    title = f"gradient check, MLP P={net.n_params}, batch 32"
    rows.append((title, "directional (8 seeds)", _fmt(d), " 1.00x", str(len(t_dir))))
    rows.append(("", f"full central differences{'' if ok else ' (FAILED)'}", _fmt(t_full), f"{t_full / d:5.0f}x", "1"))

    return _print(rows, args, limiter, notes)


def _print(rows, args, limiter, notes=()) -> int:
    head = ("scenario", "contender", "median", "ratio", "n")
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(5)]
    print(
        f"numpy {np.__version__}, BLAS threads: {args.threads if limiter is not None else 'default'}, "
        f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; "
        f"ratio = median / the faster hand-written median (checks: / directional)"
    )
    print("  ".join(h.ljust(w) for h, w in zip(head, widths)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    for note in dict.fromkeys(notes):  # each once, in order
        print(f"note: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
