"""Benchmark: networks built from generated code vs hand-written NumPy.

The contenders of each scenario run in one process: a training step's
contenders each in blocks of its own (call after call, as a training loop
calls it), the blocks taking turns; the other scenarios' contenders
interleaved call by call, in balanced orders; both after a warm-up.  Then
each contender of the lecture scenarios runs alone in fresh processes of its
own, in turn.  Every call is timed in CPU
time (``time.process_time``: the process's, every thread) and in wall time;
ratios are of CPU medians, because on a loaded machine the wall median of a
call of a few milliseconds jumps by the other processes' time slices once
more than half the calls lose the processor (``--deschedule`` shows it)::

    python bench/bench_networks.py               # about 6 minutes of CPU (16 min at load 10)
    python bench/bench_networks.py --quick       # fewer repetitions, 2 fresh processes
    python bench/bench_networks.py --no-deep     # the lecture MLP only
    python bench/bench_networks.py --processes 0 # no fresh processes
    python bench/bench_networks.py --deschedule  # only: how often calls of a fixed CPU cost lose the processor

Scenarios:
* a gradient-descent step of the lecture MLP 64-128-10 (tanh, softmax +
  cross-entropy) at batch 32 and at full batch 1797 (the digits), float64
  and float32: the network as it chooses its step (the default: compiled,
  gradproof.numeric.ckernel, up to its crossover batch, else the in-place
  variants of gradproof.numeric.inplace), each of those two on its own (when a
  compiler is present), the same network on the generated modules as
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
like for like).  The generated network sets glibc to keep freed memory
(gradproof.numeric.memory); that is process-wide, so in the one-process run
every contender runs under it.  In the fresh processes it is set only where
the generated network runs, as for a user, and the table gives each
contender's minor page faults per step (``getrusage().ru_minflt``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from handwritten import HandwrittenMLP, naive_step

from gradproof.numeric import ckernel, digits
from gradproof.numeric.network import MLP


def balanced_orders(n: int) -> list[list[int]]:
    """Orders of ``n`` contenders in which each one directly follows every other equally often.

    Rotating one order (A B C, B C A, C A B) does not do that: each
    contender keeps the same predecessor.  These are the rows of a balanced
    Latin square (Williams): the first row is 0, 1, n-1, 2, n-2, ...; row
    ``r`` adds ``r`` to every entry, modulo ``n``; for odd ``n`` the
    reversed rows follow.  Within the rows every ordered pair of distinct
    contenders is adjacent exactly once (odd ``n``: twice).

    >>> balanced_orders(4)
    [[0, 1, 3, 2], [1, 2, 0, 3], [2, 3, 1, 0], [3, 0, 2, 1]]
    """
    first, lo, hi = [0], 1, n - 1
    while len(first) < n:
        first.append(lo)
        lo += 1
        if len(first) < n:
            first.append(hi)
            hi -= 1
    rows = [[(x + r) % n for x in first] for r in range(n)]
    return rows + [row[::-1] for row in rows] if n % 2 else rows


def interleaved(contenders: dict, reps: int, warmup: int, clock: str = "wall") -> dict:
    """Run the contenders in turn, ``warmup + reps`` rounds; the per-call times of the timed rounds.

    A call pays for what the call before it left in the caches and the
    scheduler, so the rounds take the orders of :func:`balanced_orders` in
    turn: every contender follows every other equally often (over each
    full cycle of orders).  ``clock`` is ``"wall"``, ``"cpu"`` (the process's
    CPU time, every thread) or ``"both"`` (name -> ``{"cpu": [...], "wall":
    [...]}``)."""
    cpu = {name: [] for name in contenders}
    wall = {name: [] for name in contenders}
    items = list(contenders.items())
    orders = balanced_orders(len(items))
    perf, proc = time.perf_counter, time.process_time
    for r in range(warmup + reps):
        for i in orders[r % len(orders)]:
            name, fn = items[i]
            c0, t0 = proc(), perf()
            fn()
            t1, c1 = perf(), proc()
            if r >= warmup:
                cpu[name].append(c1 - c0)
                wall[name].append(t1 - t0)
    if clock == "both":
        return {name: {"cpu": cpu[name], "wall": wall[name]} for name in contenders}
    return cpu if clock == "cpu" else wall


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


def cache_kernels(notes: list | None = None) -> None:
    """Compile the lecture MLP's kernels into the cache now (a network then takes its compiled step from
    construction, as it does on a machine that has trained before), noting the compile time or why not."""
    for dtype in (np.float64, np.float32):
        t0 = time.process_time()
        try:
            if ckernel.cached("tanh", "softmax_cross_entropy", dtype):
                continue
            ckernel.build("tanh", "softmax_cross_entropy", dtype)
        except ckernel.BuildError as err:
            if notes is not None:
                notes.append(f"no compiled step: {err}")
            return
        if notes is not None:
            notes.append(
                f"compiled step ({np.dtype(dtype).name}) compiled into the cache: {time.process_time() - t0:.2f} s CPU"
            )


def _twin(net: MLP, **kw) -> MLP:
    """The same network (same weights), by default running the generated modules as emitted (no in-place variants)."""
    kw.setdefault("inplace", False)
    twin = MLP(net.sizes, activation=net.activation, output=net.output, dtype=net.theta.dtype, **kw)
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
    """Table rows from ``name -> {"cpu": [...], "wall": [...]}``: CPU median, its ratio, wall median."""
    med = {k: statistics.median(v["cpu"]) for k, v in times.items()}
    wall = {k: statistics.median(v["wall"]) for k, v in times.items()}
    # the stricter baseline: the faster of the hand-written versions
    base = min(t for k, t in med.items() if k.startswith("hand-written"))
    rows = []
    for i, (name, t) in enumerate(med.items()):
        n = str(len(times[name]["cpu"]))
        off = f"{off_cpu(times[name]):4.0%}"
        rows.append((title if i == 0 else "", name, _fmt(t), f"{t / base:5.2f}x", _fmt(wall[name]), off, n))
    return rows


# A call is counted as descheduled when its wall time exceeds its CPU time by more than this:
# a preemption on a loaded machine costs the other runnable processes' time slices (milliseconds).
OFF_CPU = 0.5e-3


def off_cpu(t: dict) -> float:
    """The share of calls that lost the processor for a while (wall - CPU > ``OFF_CPU``)."""
    return sum(w - c > OFF_CPU for c, w in zip(t["cpu"], t["wall"])) / max(len(t["cpu"]), 1)


def _peer_steps(net, X, Y, alpha, loss: str, tol: float, notes: list, only=None) -> dict:
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
        if only is not None and name != only:
            continue
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
    return _rows_for(title, step_times(title, net, hand, X, Y, alpha, reps, warmup, naive, notes, clock="both"))


def contenders_for(
    title, net, hand, X, Y, alpha, naive=True, notes=None, *, only=None, keep_memory=True
) -> tuple[dict, dict]:
    """``(NumPy contenders, peers)``: name -> a zero-argument step, each checked to reach the network's weights.

    ``only`` names the one peer to build (default: every one installed); ``keep_memory`` is the
    setting of the network running the generated modules as emitted (see gradproof.numeric.memory).
    """
    twin = _twin(net, keep_memory=keep_memory)
    tol = 1e-10 if net.theta.dtype == np.float64 else 1e-5
    for other in (hand, twin):
        diff = _same_step(net, other, X, Y, alpha)
        if diff > tol:
            raise SystemExit(f"{title}: generated and {type(other).__name__} steps disagree by {diff:.2e}")
        twin.theta[...] = net.theta
    if not net.inplace.active:
        raise SystemExit(f"{title}: the in-place path is not active: {net.inplace.reason}")
    contenders = {"generated (chosen automatically)": lambda: net.step(X, Y, alpha)}
    if net.inplace.kernel is not None:  # each variant on its own too, reaching the same weights
        compiled = _twin(net, keep_memory=keep_memory, compiled=True, inplace=True)
        compiled.inplace.kernel_rows = max(compiled.inplace.kernel_rows, X.shape[0])
        numpy_twin = _twin(net, keep_memory=keep_memory, compiled=False, inplace=True)
        for name, other in (("generated, compiled step", compiled), ("generated, in-place NumPy", numpy_twin)):
            diff = _same_step(net, other, X, Y, alpha)
            if diff > tol:
                raise SystemExit(f"{title}: the chosen step and the {name} disagree by {diff:.2e}")
            other.theta[...] = net.theta
            contenders[name] = (lambda o: lambda: o.step(X, Y, alpha))(other)
    contenders |= {
        "generated, as emitted": lambda: twin.step(X, Y, alpha),
        "hand-written (buffers)": lambda: hand.step(X, Y, alpha),
    }
    if naive:
        Ws = [net.params[f"W{l}"].copy() for l in range(1, net.depth + 1)]
        bs = [net.params[f"b{l}"].copy() for l in range(1, net.depth + 1)]
        diff = _same_naive_step(net, Ws, bs, X, Y, alpha, hand.loss)
        if diff > tol:
            raise SystemExit(f"{title}: generated and hand-written (plain) steps disagree by {diff:.2e}")
        contenders["hand-written (plain)"] = lambda: naive_step(Ws, bs, X, Y, alpha, hand.loss)
    peers = _peer_steps(net, X, Y, alpha, hand.loss, tol, notes, only) if notes is not None else {}
    return contenders, peers


def _same_naive_step(net: MLP, Ws, bs, X, Y, alpha, loss) -> float:
    """Largest difference of the weights after one step of the network and one :func:`naive_step` (on copies)."""
    saved = net.theta.copy()
    Ws2, bs2 = [W.copy() for W in Ws], [b.copy() for b in bs]
    net.step(X, Y, alpha)
    naive_step(Ws2, bs2, X, Y, alpha, loss)
    diff = max(float(np.max(np.abs(net.params[f"W{l}"] - Ws2[l - 1]))) for l in range(1, net.depth + 1))
    net.theta[...] = saved
    return diff


def step_times(title, net, hand, X, Y, alpha, reps, warmup, naive=True, notes=None, clock="wall") -> dict:
    """:func:`step_scenario`'s per-call times of each contender (name -> list of seconds).

    Every contender runs in blocks of its own, call after call as a training
    loop calls its step, so that each call finds what its own previous call
    left in the caches, and no contender pays for another's (JAX's and
    PyTorch's runtimes also keep working after a call returns).  The blocks
    take turns, four rounds in the orders of :func:`balanced_orders`, so that
    a change of load reaches every contender alike; each block starts with
    warm-up calls that are not timed.
    """
    contenders, peers = contenders_for(title, net, hand, X, Y, alpha, naive, notes)
    items = list({**contenders, **peers}.items())
    orders = balanced_orders(len(items))
    times: dict = {name: None for name, _ in items}
    rounds = 4
    for b in range(rounds):
        n = reps // rounds + (1 if b < reps % rounds else 0)
        for i in orders[b % len(orders)]:
            name, fn = items[i]
            got = interleaved({name: fn}, n, warmup if b == 0 else max(1, warmup // 4), clock)[name]
            if clock == "both":
                times[name] = times[name] or {"cpu": [], "wall": []}
                times[name]["cpu"] += got["cpu"]
                times[name]["wall"] += got["wall"]
            else:
                times[name] = (times[name] or []) + got
    return times


def _setup(threads: int):
    """Limit BLAS, PyTorch and XLA to ``threads`` threads; the BLAS limiter (None without threadpoolctl)."""
    import peers

    peers.set_xla_threads(threads)  # read when JAX is first imported
    try:
        import torch

        torch.set_num_threads(threads)
    except ImportError:
        pass
    try:
        from threadpoolctl import threadpool_limits

        return threadpool_limits(limits=threads, user_api="blas")
    except ImportError:  # timings then use the BLAS default
        return None


def _lecture_data(dtype):
    X, labels = digits.load()
    X = (X - X.mean(axis=0)) / np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0)
    Y = np.eye(10)[labels]
    return X.astype(dtype), Y.astype(dtype)


# The lecture scenarios: (dtype, batch, repetitions, warm-up calls).
LECTURE = [
    (np.float64, 32, 400, 50),
    (np.float64, 1797, 60, 10),
    (np.float32, 32, 400, 50),
    (np.float32, 1797, 60, 10),
]

# --fresh: contender key -> its name in the tables
FRESH = {
    "inplace": "generated (chosen automatically)",
    "emitted": "generated, as emitted",
    "buffers": "hand-written (buffers)",
    "plain": "hand-written (plain)",
    "jax": "JAX jit(step)",
    "torch": "PyTorch eager step",
}


def _child(key: str, dtype, m: int, reps: int, warmup: int) -> dict:
    """One contender alone in this (fresh) process: built, checked against the network's step, timed.

    The generated network sets glibc to keep freed memory, as it does for a user
    (gradproof.numeric.memory); the other contenders run with the C library's
    defaults, as a NumPy, JAX or PyTorch program does.
    """
    X, Y = _lecture_data(dtype)
    X, Y = X[:m], Y[:m]
    alpha = 1e-3
    generated = key in ("inplace", "emitted")
    cache_kernels()
    net = MLP((64, 128, 10), activation="tanh", output="softmax", seed=0, dtype=dtype, keep_memory=generated)
    title = f"{FRESH[key]}, batch {m}, {np.dtype(dtype).name}"
    notes: list = []
    hand = _pair(net, "softmax")
    if key in ("jax", "torch"):
        _, contenders = contenders_for(
            title, net, hand, X, Y, alpha, naive=False, notes=notes, only=FRESH[key], keep_memory=False
        )
    else:
        contenders, _ = contenders_for(title, net, hand, X, Y, alpha, naive=key == "plain", keep_memory=generated)
    fn = contenders.get(FRESH[key])
    if fn is None:
        return {"key": key, "note": "; ".join(notes) or "not available"}
    for _ in range(warmup):
        fn()
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    times = interleaved({key: fn}, reps, 0, "both")[key]
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "key": key,
        "off_cpu": off_cpu(times),
        "cpu": statistics.median(times["cpu"]),
        "wall": statistics.median(times["wall"]),
        "minflt": (r1.ru_minflt - r0.ru_minflt) / reps,
        "load": os.getloadavg()[0],
    }


def fresh_rows(processes: int, q: int, threads: int, notes: list) -> list:
    """Each contender of each lecture scenario in ``processes`` fresh processes of its own, in turn.

    Rows: the median CPU time per step of each process, their median and its
    ratio to the faster hand-written one, the median wall time, and the minor
    page faults per step (the largest over the processes).
    """
    rows = []
    here = os.path.abspath(__file__)
    for dtype, m, reps, warmup in LECTURE:
        name = np.dtype(dtype).name
        got: dict = {k: [] for k in FRESH}
        for p in range(processes):
            keys = list(FRESH)
            keys = keys[p % len(keys) :] + keys[: p % len(keys)]  # each process round starts one later
            for key in keys:
                cmd = [sys.executable, here, "--child", key, "--dtype", name, "--batch", str(m)]
                cmd += ["--reps", str(max(reps // q, 10)), "--warmup", str(warmup // q + 2), "--threads", str(threads)]
                r = subprocess.run(cmd, capture_output=True, text=True)
                if r.returncode != 0:
                    last = (r.stderr.strip().splitlines() or ["no output"])[-1]
                    notes.append(f"fresh process {FRESH[key]}, batch {m}, {name} failed: {last}")
                    continue
                res = json.loads(r.stdout.strip().splitlines()[-1])
                if "note" in res:
                    notes.append(f"{FRESH[key]}: {res['note']}")
                    continue
                got[key].append(res)
        got = {k: v for k, v in got.items() if v}
        med = {k: statistics.median(r["cpu"] for r in v) for k, v in got.items()}
        hands = [t for k, t in med.items() if k in ("buffers", "plain")]
        if not hands:
            continue
        base = min(hands)
        title = f"MLP 64-128-10 step, batch {m}, {name}"
        for i, (k, v) in enumerate(got.items()):
            each = " / ".join(_fmt(r["cpu"]).strip() for r in v)
            wall = statistics.median(r["wall"] for r in v)
            faults = max(r["minflt"] for r in v)
            off = f"{statistics.median(r['off_cpu'] for r in v):4.0%}"
            load = " ".join(f"{r['load']:.1f}" for r in v)
            rows.append(
                (
                    title if i == 0 else "",
                    FRESH[k],
                    _fmt(med[k]),
                    f"{med[k] / base:5.2f}x",
                    _fmt(wall),
                    off,
                    f"{faults:.1f}",
                    each,
                    load,
                )
            )
    return rows


def deschedule_rows(costs=(0.25e-3, 0.5e-3, 1e-3, 1.5e-3, 2e-3, 3e-3), seconds: float = 1.5) -> list:
    """Calls that only spin on the CPU clock for a fixed CPU time: how often each loses the processor.

    Rows: CPU per call, the share of calls descheduled (wall - CPU > ``OFF_CPU``), the wall
    median, and the median time lost by a descheduled call.  On a loaded machine the wall
    median jumps from the CPU time to several milliseconds more once the share passes a half.
    """
    rows = []
    for d in costs:
        cpu, wall = [], []
        for _ in range(max(int(seconds / d), 10)):
            c0, t0 = time.process_time(), time.perf_counter()
            while time.process_time() - c0 < d:
                pass
            t1, c1 = time.perf_counter(), time.process_time()
            cpu.append(c1 - c0)
            wall.append(t1 - t0)
        lost = [w - c for c, w in zip(cpu, wall) if w - c > OFF_CPU]
        share = off_cpu({"cpu": cpu, "wall": wall})
        lost_median = _fmt(statistics.median(lost)) if lost else "-"
        rows.append((_fmt(d), f"{share:4.0%}", _fmt(statistics.median(wall)), lost_median, str(len(cpu))))
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions")
    ap.add_argument("--no-deep", action="store_true", help="skip the 10 x 500 network and the check costs")
    ap.add_argument(
        "--threads", type=int, default=1, help="BLAS threads (default 1: stable timings on a shared machine)"
    )
    ap.add_argument(
        "--processes",
        type=int,
        default=None,
        help="fresh processes per contender for the lecture scenarios (default 3, 2 with --quick; 0: none)",
    )
    ap.add_argument(
        "--deschedule", action="store_true", help="only: how often calls of a fixed CPU cost lose the processor"
    )
    ap.add_argument("--child", choices=sorted(FRESH), help=argparse.SUPPRESS)
    ap.add_argument("--dtype", default="float64", choices=("float64", "float32"), help=argparse.SUPPRESS)
    ap.add_argument("--batch", type=int, default=32, help=argparse.SUPPRESS)
    ap.add_argument("--reps", type=int, default=100, help=argparse.SUPPRESS)
    ap.add_argument("--warmup", type=int, default=10, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    limiter = _setup(args.threads)
    if args.child:
        res = _child(args.child, np.dtype(args.dtype), args.batch, args.reps, args.warmup)
        print(json.dumps(res))
        return 0
    if args.deschedule:
        load = os.getloadavg()[0]
        rows = deschedule_rows()
        print(f"load average {load:.2f} at the start and {os.getloadavg()[0]:.2f} at the end")
        _table(("CPU per call", "descheduled", "wall median", "lost when descheduled (median)", "n"), rows)
        return 0
    q = 4 if args.quick else 1
    processes = args.processes if args.processes is not None else (2 if args.quick else 3)
    rows, notes = [], []
    load_start = os.getloadavg()[0]

    for dtype in (np.float64, np.float32):
        cache_kernels(notes)
        net = MLP((64, 128, 10), activation="tanh", output="softmax", seed=0, dtype=dtype)
        Xd, Yd = _lecture_data(dtype)
        for dt, m, reps, warmup in LECTURE:
            if dt is not dtype:
                continue
            # each scenario starts the hand-written copy from the network's current weights
            title = f"MLP 64-128-10 step, batch {m}, {np.dtype(dtype).name}"
            hand = _pair(net, "softmax")
            rows += step_scenario(title, net, hand, Xd[:m], Yd[:m], 1e-3, reps // q, warmup // q, notes=notes)
    fresh = fresh_rows(processes, q, args.threads, notes) if processes > 0 else []
    if args.no_deep:
        return _print(rows, fresh, args, limiter, notes, load_start)

    net = MLP((64, 128, 10), activation="tanh", output="softmax", seed=0)
    X, Y = _lecture_data(np.float64)
    rng = np.random.default_rng(0)
    deep = MLP((500,) * 11, activation="tanh", output="linear", seed=0)
    Xd, Yd = rng.standard_normal((500, 500)), rng.standard_normal((500, 500))
    rows += step_scenario(
        "10 x 500 tanh step, batch 500, MSE", deep, _pair(deep, "mse"), Xd, Yd, 1e-4, reps=12 // q + 2, warmup=2
    )

    # Gradient-check cost for the lecture MLP at a batch of 32.
    Xb, Yb = X[:32], Y[:32]
    t_dir = interleaved({"d": lambda: net.check(Xb, Yb, methods=("directional",), seeds=8)}, 5, 1, "both")["d"]
    c0, t0 = time.process_time(), time.perf_counter()
    recs = net.check(Xb, Yb, methods=("central",))
    c_full, t_full = time.process_time() - c0, time.perf_counter() - t0
    ok = all(r.passed for r in recs)
    d, dw = statistics.median(t_dir["cpu"]), statistics.median(t_dir["wall"])
    title = f"gradient check, MLP P={net.n_params}, batch 32"
    rows.append((title, "directional (8 seeds)", _fmt(d), " 1.00x", _fmt(dw), "", str(len(t_dir["cpu"]))))
    full = f"full central differences{'' if ok else ' (FAILED)'}"
    rows.append(("", full, _fmt(c_full), f"{c_full / d:5.0f}x", _fmt(t_full), "", "1"))

    return _print(rows, fresh, args, limiter, notes, load_start)


def _table(head, rows) -> None:
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
    print("  ".join(h.ljust(w) for h, w in zip(head, widths)).rstrip())
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())


def _print(rows, fresh, args, limiter, notes=(), load_start=None) -> int:
    print(
        f"numpy {np.__version__}, BLAS threads: {args.threads if limiter is not None else 'default'}, "
        f"load average {load_start:.2f} at the start and {os.getloadavg()[0]:.2f} at the end "
        f"on {os.cpu_count()} cores"
    )
    print(
        "One process, contenders interleaved: CPU time per call (the process's, every thread), "
        "ratio = CPU median / the faster hand-written one (checks: / directional), the wall median, "
        f"and the share of calls descheduled (wall - CPU > {OFF_CPU * 1e3:g} ms)."
    )
    _table(("scenario", "contender", "CPU median", "ratio", "wall median", "off CPU", "n"), rows)
    if fresh:
        print()
        print(
            "Fresh processes, each contender alone in each, in turn: median CPU time per step over the "
            "processes' medians, its ratio, the wall median, the share of calls descheduled, minor page "
            "faults per step (the most of any process), each process's CPU median and the load average after it."
        )
        head = ("scenario", "contender", "CPU median", "ratio", "wall median", "off CPU", "minflt/step")
        head += ("per process", "load")
        _table(head, fresh)
    for note in dict.fromkeys(notes):  # each once, in order
        print(f"note: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
