"""gradproof's benchmark suite: the generated code against the tools a user would pick instead.

One command runs every case, prints the table, writes JSON and regenerates
``docs/benchmarks.md``::

    python bench/run.py                 # the full run (about 10 minutes on a quiet 2-core machine)
    python bench/run.py --quick         # fewer repetitions, derivation cap 20 s
    python bench/run.py --cases ab      # some cases only (docs are then not rewritten)
    make bench                          # a venv with the [bench] extra, then the full run

Cases:

(a) the lecture MLP 64-128-10 (tanh, softmax + cross-entropy) on the digits:
    one training-step gradient (forward + every parameter gradient) at batch
    32 and 1797, float64 and float32; gradproof's generated code, hand-written
    NumPy (buffers, fused ``(P - Y)/m``), PyTorch eager, JAX ``jit(grad)``
    (compile time reported apart), HIPS autograd;
(b) the lecture's deep net: 10 tanh layers of 500 units (and a linear
    read-out), batch 500, squared error, float64;
(c) gradient-check cost on (a) at batch 32 in float64: gradproof's full
    central-difference check and its directional check against
    ``torch.autograd.gradcheck`` (default and ``fast_mode=True``) on the same
    function of the flat parameter vector;
(d) derivation cost: gradproof's symbolic-dimension derivation against SymPy
    differentiating the scalar-expanded loss, n = 4 ... 64 (bench/bench_derive.py);
(e) the main job cold (``gradproof report``, all topics, HTML + LaTeX + PDF)
    and ``gradproof --help``;
(s) a whole training step (gradient and update) of (a)'s MLP: the network
    on its in-place variants, on the generated modules as emitted,
    hand-written NumPy with and without buffers, a ``jax.jit`` step and a
    PyTorch eager step (bench/bench_networks.py);
(g) grading 200 generated students answering the whole exercise bank, in
    batches and (the baseline, not with ``--quick``) one answer per process,
    every row's verdict compared between the two; then one warm check at a
    time over the bank (bench/bench_grade.py).

Method: the contenders of a case run in one process after a warm-up:
interleaved call by call in balanced orders (each contender follows every
other equally often), except the training steps of case (s), where each
contender runs in blocks of its own, call after call as a training loop
calls it, the blocks taking turns; the table gives medians of many
repetitions and ratios to hand-written NumPy.  Every contender's gradient is first compared
with gradproof's: a contender computing something else would be rejected,
not timed.  BLAS, OpenMP, PyTorch and XLA run ``--threads`` threads (default
1: stable figures on a shared machine).  A peer that is not installed is
skipped with a note.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
if ROOT not in sys.path:
    sys.path.insert(1, ROOT)

CORETYPE_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


# ---------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------


def interleaved(contenders: dict, reps: int, warmup: int) -> dict:
    """Call the contenders in turn, ``warmup + reps`` rounds; per-call wall times of the timed rounds.

    A call pays for what the call before it left in the caches (JAX's and
    PyTorch's runtimes leave much), so the rounds take the orders of
    ``bench_networks.balanced_orders`` in turn: every contender follows every
    other equally often."""
    from bench_networks import balanced_orders

    times = {name: [] for name in contenders}
    clock = time.perf_counter
    items = list(contenders.items())
    orders = balanced_orders(len(items))
    for r in range(warmup + reps):
        for i in orders[r % len(orders)]:
            name, fn = items[i]
            t0 = clock()
            fn()
            dt = clock() - t0
            if r >= warmup:
                times[name].append(dt)
    return times


def fmt_time(s: float | None) -> str:
    if s is None:
        return "-"
    if s < 1e-3:
        return f"{s * 1e6:.1f} µs"
    if s < 1:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.2f} s"


# ---------------------------------------------------------------------------
# Machine
# ---------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info(threads: int, xla_flags: str) -> dict:
    import numpy as np

    info = {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "threads": threads,
        "env": {k: os.environ.get(k) for k in CORETYPE_VARS + ("OMP_NUM_THREADS",)},
        "xla_flags": xla_flags,
        "load_before": os.getloadavg()[0],
    }
    try:
        import threadpoolctl

        info["threadpools"] = [
            {
                k: p.get(k)
                for k in (
                    "user_api",
                    "internal_api",
                    "prefix",
                    "version",
                    "num_threads",
                    "threading_layer",
                    "architecture",
                )
            }
            for p in threadpoolctl.threadpool_info()
        ]
    except ImportError:
        info["threadpools"] = None
    for name in ("torch", "jax", "jaxlib", "autograd", "sympy", "sklearn"):
        try:
            mod = __import__(name)
            info[name] = getattr(mod, "__version__", "installed")
        except ImportError:
            info[name] = None
    return info


def blas_line(info: dict) -> str:
    pools = info.get("threadpools")
    if pools is None:
        return "threadpoolctl not installed: BLAS kernel and threads unknown"
    parts = []
    for p in pools:
        s = f"{p['internal_api']} {p.get('version') or ''}".strip() + f" ({p['prefix']}, {p['num_threads']} threads"
        if p.get("architecture"):
            s += f", kernel {p['architecture']}"
        parts.append(s + ")")
    return "; ".join(parts)


# ---------------------------------------------------------------------------
# Cases (a) and (b): one training-step gradient
# ---------------------------------------------------------------------------


def _max_rel_diff(ref, got) -> float:
    import numpy as np

    worst = 0.0
    for a, b in zip(ref, got):
        a = np.asarray(a, dtype=np.float64)
        b = np.asarray(b, dtype=np.float64)
        if a.shape != b.shape:
            return float("inf")
        scale = max(float(np.max(np.abs(a))), 1e-30)
        worst = max(worst, float(np.max(np.abs(a - b))) / scale)
    return worst


def gradient_case(
    title: str, key: str, net, X, Y, loss: str, threads: int, reps: int, warmup: int, notes: list
) -> dict:
    """Build every contender for one network and batch, check it against gradproof, time them interleaved."""
    import numpy as np
    import peers

    dtype = np.dtype(net.theta.dtype).name
    tol = 1e-9 if dtype == "float64" else 2e-4
    built, compile_s = {}, {}
    fn, conv = peers.gradproof_grad(net, X, Y)
    built["gradproof generated"] = (fn, conv)
    built["hand-written NumPy"] = peers.handwritten_grad(net, X, Y, loss)
    try:
        built["PyTorch eager"] = peers.torch_grad(net, X, Y, loss, threads)
    except peers.Missing as e:
        notes.append(f"{key}: PyTorch skipped: {e}")
    try:
        fn, conv, cs = peers.jax_grad(net, X, Y, loss)
        built["JAX jit(grad)"] = (fn, conv)
        compile_s["JAX jit(grad)"] = cs
    except peers.Missing as e:
        notes.append(f"{key}: JAX skipped: {e}")
    try:
        built["autograd"] = peers.autograd_grad(net, X, Y, loss)
    except peers.Missing as e:
        notes.append(f"{key}: autograd skipped: {e}")

    ref = built["gradproof generated"][1](built["gradproof generated"][0]())
    agree = {}
    for name, (fn, conv) in list(built.items()):
        d = _max_rel_diff(ref, conv(fn()))
        agree[name] = d
        if not d <= tol:
            notes.append(f"{key}: {name} dropped: its gradient differs from gradproof's by {d:.2e} (> {tol:g})")
            del built[name]
    times = interleaved({n: f for n, (f, _) in built.items()}, reps, warmup)
    med = {n: statistics.median(t) for n, t in times.items()}
    base = med["hand-written NumPy"]
    rows = [
        {
            "contender": n,
            "median_s": med[n],
            "ratio": med[n] / base,
            "n": len(times[n]),
            "max_rel_diff": agree[n],
            "compile_s": compile_s.get(n),
        }
        for n in med
    ]
    return {"case": key, "title": title, "dtype": dtype, "batch": int(X.shape[0]), "rows": rows}


def case_a(args, notes) -> list:
    import numpy as np

    from gradproof.numeric import digits
    from gradproof.numeric.network import MLP

    X, labels = digits.load()
    X = (X - X.mean(axis=0)) / np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0)
    Y = np.eye(10)[labels]
    out = []
    for dtype in (np.float64, np.float32):
        net = MLP((64, 128, 10), activation="tanh", output="softmax", seed=0, dtype=dtype)
        Xd, Yd = X.astype(dtype), Y.astype(dtype)
        for m, reps, warmup in ((32, 400, 50), (1797, 60, 10)):
            reps = max(reps // args.q, 10)
            title = f"(a) MLP 64-128-10, batch {m}, {np.dtype(dtype).name}"
            out.append(
                gradient_case(
                    title,
                    f"a/{m}/{np.dtype(dtype).name}",
                    net,
                    Xd[:m],
                    Yd[:m],
                    "softmax",
                    args.threads,
                    reps,
                    warmup // args.q + 2,
                    notes,
                )
            )
            _progress(out[-1])
    return out


def case_b(args, notes) -> list:
    import numpy as np

    from gradproof.numeric.network import MLP

    rng = np.random.default_rng(0)
    net = MLP((500,) * 12, activation="tanh", output="linear", seed=0)
    X, Y = rng.standard_normal((500, 500)), rng.standard_normal((500, 500))
    res = gradient_case(
        "(b) 10 tanh layers x 500, batch 500, squared error, float64",
        "b",
        net,
        X,
        Y,
        "mse",
        args.threads,
        max(20 // args.q, 5),
        2,
        notes,
    )
    _progress(res)
    return [res]


def _progress(res) -> None:
    print(
        f"  {res['title']}: " + ", ".join(f"{r['contender']} {fmt_time(r['median_s'])}" for r in res["rows"]),
        file=sys.stderr,
        flush=True,
    )


# ---------------------------------------------------------------------------
# Case (c): gradient-check cost
# ---------------------------------------------------------------------------


def case_c(args, notes) -> dict:
    import numpy as np
    import peers

    from gradproof.numeric import digits
    from gradproof.numeric.network import MLP

    X, labels = digits.load()
    X = (X - X.mean(axis=0)) / np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0)
    Y = np.eye(10)[labels]
    Xb, Yb = X[:32], Y[:32]
    net = MLP((64, 128, 10), activation="tanh", output="softmax", seed=0)
    seeds = 8

    def worst(records):
        return max(r.max_rel_error for r in records), all(r.passed for r in records)

    full = {"gradproof full central differences": lambda: net.check(Xb, Yb, methods=("central",))}
    # fast_mode checks one random direction; gradproof's directional check takes
    # one per parameter array and seed: one seed is the like-for-like setting,
    # the default (8 seeds) is shown too.
    direc = {
        f"gradproof directional (1 seed x {len(net.keys)} parameter arrays)": lambda: net.check(
            Xb, Yb, methods=("directional",), seeds=1
        ),
        f"gradproof directional ({seeds} seeds x {len(net.keys)} parameter arrays, the default)": lambda: net.check(
            Xb, Yb, methods=("directional",), seeds=seeds
        ),
    }
    reported = {}
    for name, fn in list(full.items()) + list(direc.items()):
        err, ok = worst(fn())
        reported[name] = f"max rel. error {err:.1e}" + ("" if ok else " (FAILED)")
    try:
        torch = peers._torch()
        torch.set_num_threads(args.threads)
        f, theta = peers.torch_flat_loss(net, Xb, Yb)
        gc = torch.autograd.gradcheck

        def tg(fast):
            ok = gc(f, (theta,), fast_mode=fast, raise_exception=False)
            if not ok:
                raise RuntimeError("torch.autograd.gradcheck failed")
            return ok

        for fast, group in ((False, full), (True, direc)):
            name = "torch.autograd.gradcheck" + (" fast_mode=True" if fast else " (default)")
            group[name] = lambda fast=fast: tg(fast)
            ok = tg(fast)
            reported[name] = ("passed" if ok else "FAILED") + " at atol 1e-5, rtol 1e-3 (pass/fail only)"
    except peers.Missing as e:
        notes.append(f"c: torch.autograd.gradcheck skipped: {e}")
    out = {
        "case": "c",
        "title": f"(c) gradient check, MLP 64-128-10 at batch 32 (P = {net.n_params}), float64",
        "rows": [],
    }
    for group, reps, warmup, base_name in (
        (full, max(3 // args.q, 1), 0, "full"),
        (direc, max(30 // args.q, 5), 2, "directional"),
    ):
        times = interleaved(group, reps, warmup)
        med = {n: statistics.median(t) for n, t in times.items()}
        first = next(iter(med.values()))
        for n, t in med.items():
            out["rows"].append(
                {
                    "contender": n,
                    "median_s": t,
                    "ratio": t / first,
                    "n": len(times[n]),
                    "group": base_name,
                    "reported": reported[n],
                }
            )
    print(
        "  (c): " + ", ".join(f"{r['contender']} {fmt_time(r['median_s'])}" for r in out["rows"]),
        file=sys.stderr,
        flush=True,
    )
    return out


# ---------------------------------------------------------------------------
# Case (d): derivation cost (bench/bench_derive.py)
# ---------------------------------------------------------------------------


def case_d(args, notes) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "derive.json")
        cmd = [
            sys.executable,
            os.path.join(HERE, "bench_derive.py"),
            "--sizes",
            "4",
            "8",
            "16",
            "32",
            "64",
            "--cap",
            str(args.cap),
            "--repeat",
            "1" if args.q > 1 else "3",
            "--json",
            path,
        ]
        r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=_child_env())
        if r.returncode != 0:
            notes.append(f"d: bench_derive.py failed: {r.stderr.strip().splitlines()[-1:]}")
            return {"case": "d", "rows": [], "all_topics_s": None}
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    res = {
        "case": "d",
        "title": "(d) derivation of dL/dW, multinomial logistic regression (m = K = 4)",
        "all_topics_s": data["all_topics"],
        "cap_s": args.cap,
        "rows": data["rows"],
    }
    parts = []
    for r in res["rows"]:
        scalar = "> cap" if r["capped"] else f"{r['scalar_diff_s']:.2f} s"
        parts.append(f"n={r['n']}: {r['symbolic_s']:.2f} s vs {scalar}")
    print("  (d): " + ", ".join(parts), file=sys.stderr, flush=True)
    return res


# ---------------------------------------------------------------------------
# Case (e): the main job cold, and --help
# ---------------------------------------------------------------------------


def _child_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _wall(cmd, **kw) -> tuple[float, int]:
    t0 = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)
    return time.perf_counter() - t0, r.returncode


def case_e(args, notes) -> dict:
    cli = [sys.executable, "-m", "gradproof.reports.cli"]
    env = _child_env()
    helps = [_wall(cli + ["--help"], cwd=ROOT, env=env)[0] for _ in range(5)]
    with tempfile.TemporaryDirectory() as tmp:
        # cold: a cache folder of its own, empty (the user's cache may hold every derivation already)
        cold_env = dict(env, GRADPROOF_CACHE_DIR=os.path.join(tmp, "cache"))
        cold_env.pop("GRADPROOF_NO_CACHE", None)
        cold, rc = _wall(cli + ["report", "-o", os.path.join(tmp, "report")], cwd=tmp, env=cold_env)
        formats = sorted(os.listdir(os.path.join(tmp, "report"))) if os.path.isdir(os.path.join(tmp, "report")) else []
    if rc != 0:
        notes.append(f"e: gradproof report exited {rc}")
    res = {
        "case": "e",
        "help_median_s": statistics.median(helps),
        "help_runs": helps,
        "report_cold_s": cold,
        "report_exit": rc,
        "report_files": formats,
    }
    print(
        f"  (e): --help {fmt_time(res['help_median_s'])}, report cold {fmt_time(cold)} (exit {rc})",
        file=sys.stderr,
        flush=True,
    )
    return res


# ---------------------------------------------------------------------------
# Case (s): a whole training step, the in-place path (bench/bench_networks.py)
# ---------------------------------------------------------------------------


def case_s(args, notes) -> list:
    import bench_networks
    import numpy as np

    from gradproof.numeric import digits
    from gradproof.numeric.network import MLP

    X, labels = digits.load()
    X = (X - X.mean(axis=0)) / np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0)
    Y = np.eye(10)[labels]
    out = []
    bench_networks.cache_kernels(notes)
    for dtype in (np.float64, np.float32):
        net = MLP((64, 128, 10), activation="tanh", output="softmax", seed=0, dtype=dtype)
        for m, reps, warmup in ((32, 400, 50), (1797, 60, 10)):
            title = f"(s) MLP 64-128-10 step, batch {m}, {np.dtype(dtype).name}"
            step_notes: list = []
            times = bench_networks.step_times(
                title,
                net,
                bench_networks._pair(net, "softmax"),
                X[:m].astype(dtype),
                Y[:m].astype(dtype),
                1e-3,
                max(reps // args.q, 10),
                warmup // args.q + 2,
                notes=step_notes,
                clock="cpu",  # a wall median of a ~2 ms step flips with the scheduler (docs/benchmarks.md)
            )
            notes += [f"s/{m}/{np.dtype(dtype).name}: {n}" for n in step_notes]
            med = {k: statistics.median(v) for k, v in times.items()}
            base = min(t for k, t in med.items() if k.startswith("hand-written"))
            rows = [{"contender": k, "median_s": t, "ratio": t / base, "n": len(times[k])} for k, t in med.items()]
            out.append({"case": f"s/{m}/{np.dtype(dtype).name}", "title": title, "rows": rows})
            _progress(out[-1])
    return out


# ---------------------------------------------------------------------------
# Case (g): grading a class and one warm check (bench/bench_grade.py)
# ---------------------------------------------------------------------------


def case_g(args, notes) -> dict:
    import bench_grade

    from gradproof.derive.seminar.exercises import get
    from gradproof.derive.seminar.workers import WarmPool

    rows = bench_grade.generate(200, 0)
    t0 = time.perf_counter()
    WarmPool(workers=2).warm({get(r.exercise).variant_for(r.student).id for r in rows})
    warm_s = time.perf_counter() - t0
    runs = [bench_grade.run_class(rows, 2, None)]
    if args.q == 1:  # the baseline, every answer in a process of its own
        runs.append(bench_grade.run_class(rows, 2, 1))
    differ = None
    if len(runs) == 2:
        diffs = bench_grade.compare(
            bench_grade.verdict_rows(runs[0]["result"]), bench_grade.verdict_rows(runs[1]["result"])
        )
        differ = len({d[0] for d in diffs})
    # one check at a time in a process of its own, as the server's: this one now holds two classes' results
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "latency.json")
        cmd = [sys.executable, os.path.join(HERE, "bench_grade.py"), "--skip-class", "--json", path]
        r = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=_child_env())
        if r.returncode != 0:
            notes.append(f"g: bench_grade.py failed: {r.stderr.strip().splitlines()[-1:]}")
            lat = {"answers": 0, "median_s": float("nan"), "p90_s": float("nan"), "max_s": float("nan")}
            lat["own_median_s"] = float("nan")
        else:
            with open(path, encoding="utf-8") as fh:
                lat = json.load(fh)
    res = {
        "case": "g",
        "answers": len(rows),
        "distinct": runs[0]["result"].unique_checks,
        "oracles_s": warm_s,
        "runs": [
            {
                "batch": r["batch"],
                "grade_s": r["grade_s"],
                "write_s": r["write_s"],
                "total_s": r["grade_s"] + r["write_s"],
                "cpu_s": r["cpu_parent_s"] + r["cpu_checks_s"] + r["cpu_write_s"],
            }
            for r in runs
        ],
        "rows_differ": differ,
        "latency": lat,
        "load_end": os.getloadavg()[0],
    }
    print(
        "  (g): "
        + ", ".join(f"batch {r['batch']}: {r['total_s']:.1f} s ({r['cpu_s']:.1f} s CPU)" for r in res["runs"])
        + f"; one warm check {fmt_time(res['latency']['median_s'])} median",
        file=sys.stderr,
        flush=True,
    )
    return res


def step_table(results) -> list[str]:
    rows = []
    for res in results:
        for i, r in enumerate(res["rows"]):
            rows.append(
                (res["title"] if i == 0 else "", r["contender"], fmt_time(r["median_s"]), f"{r['ratio']:.2f}x", r["n"])
            )
    return _table(("case", "contender", "median", "vs faster hand-written", "reps"), rows)


def grade_table(g) -> list[str]:
    rows = []
    for r in g["runs"]:
        name = f"batches of {r['batch']}" if r["batch"] > 1 else "one answer per process (before)"
        rows.append(
            (name, f"{r['grade_s']:.2f} s", f"{r['write_s']:.2f} s", f"{r['total_s']:.2f} s", f"{r['cpu_s']:.2f} s")
        )
    lines = [
        f"{g['answers']} answers (200 students x the whole bank), {g['distinct']} distinct checks, 2 lanes; "
        f"oracles {g['oracles_s']:.2f} s before grading; load average {g['load_end']:.2f} at the end.",
        "",
    ]
    lines += _table(("grading", "grade (wall)", "write (wall)", "total (wall)", "CPU, all processes"), rows)
    if g["rows_differ"] is not None:
        lines += ["", f"Verdicts of the two runs: {g['answers'] - g['rows_differ']} of {g['answers']} rows identical."]
    lat = g["latency"]
    lines += [
        "",
        f"One warm check at a time ({lat['answers']} answers, primed one-template pool, each 0.05 s after the "
        f"last verdict): median {fmt_time(lat['median_s'])}, 90th percentile {fmt_time(lat['p90_s'])}, "
        f"max {fmt_time(lat['max_s'])}; the checks' own time {fmt_time(lat['own_median_s'])} median.",
    ]
    return lines


# ---------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------


def _table(head, rows) -> list[str]:
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
    out = [
        "| " + " | ".join(str(h).ljust(w) for h, w in zip(head, widths)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    out += ["| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |" for r in rows]
    return out


def gradient_table(results) -> list[str]:
    rows = []
    for res in results:
        first = True
        for r in res["rows"]:
            extra = f"compile {fmt_time(r['compile_s'])}" if r.get("compile_s") is not None else ""
            rows.append(
                (
                    res["title"] if first else "",
                    r["contender"],
                    fmt_time(r["median_s"]),
                    f"{r['ratio']:.2f}x",
                    r["n"],
                    extra,
                )
            )
            first = False
    return _table(("case", "contender", "median", "vs hand NumPy", "reps", "note"), rows)


def check_table(res) -> list[str]:
    rows = []
    for r in res["rows"]:
        rows.append((r["group"], r["contender"], fmt_time(r["median_s"]), f"{r['ratio']:.2f}x", r["n"], r["reported"]))
    return _table(("check", "contender", "median", "vs gradproof", "reps", "reports"), rows)


def derive_table(res) -> list[str]:
    rows = []
    for r in res["rows"]:
        scal = f"> {res['cap_s']:.0f} s (capped)" if r["capped"] else fmt_time(r["scalar_diff_s"])
        lam = "-" if r["capped"] else fmt_time(r["scalar_total_s"])
        rows.append((r["n"], fmt_time(r["symbolic_s"]), scal, lam))
    return _table(("n", "gradproof (symbolic m, n, K)", "SymPy scalar diff", "scalar diff + lambdify"), rows)


def targets(results: dict) -> list[tuple[str, bool, str]]:
    """The issue's targets, each with its measured ratio."""
    out = []

    def med(res, name):
        for r in res["rows"]:
            if r["contender"] == name:
                return r["median_s"]
        return None

    for res in results.get("a", []) + results.get("b", []):
        g, h, j = med(res, "gradproof generated"), med(res, "hand-written NumPy"), med(res, "JAX jit(grad)")
        if res["case"].startswith("a"):
            out.append((f"{res['title']}: generated <= 1.0x hand-written", g / h <= 1.0, f"{g / h:.2f}x"))
            if j is not None:
                out.append((f"{res['title']}: generated <= 1.0x JAX jit", g / j <= 1.0, f"{g / j:.2f}x"))
        elif j is not None:
            out.append((f"{res['title']}: generated <= 1.1x JAX jit", g / j <= 1.1, f"{g / j:.2f}x"))
    c = results.get("c")
    if c:
        by = {r["contender"]: r["median_s"] for r in c["rows"]}
        full = next((t for n, t in by.items() if n.startswith("gradproof full")), None)
        direc = next((t for n, t in by.items() if n.startswith("gradproof directional (1 seed")), None)
        tdef, tfast = by.get("torch.autograd.gradcheck (default)"), by.get("torch.autograd.gradcheck fast_mode=True")
        if tdef is not None:
            out.append(("(c) full check faster than gradcheck default", full < tdef, f"{full / tdef:.2f}x"))
        if tfast is not None:
            out.append(
                (
                    "(c) directional check (1 seed) faster than gradcheck fast_mode",
                    direc < tfast,
                    f"{direc / tfast:.2f}x",
                )
            )
    for res in results.get("s", []):
        by = {r["contender"]: r for r in res["rows"]}
        gen = by.get("generated (chosen automatically)")
        if gen is None:
            continue
        out.append((f"{res['title']}: generated <= 1.0x hand-written", gen["ratio"] <= 1.0, f"{gen['ratio']:.2f}x"))
        jax_step = by.get("JAX jit(step)")
        if jax_step is not None and "batch 32," in res["title"]:
            r = gen["median_s"] / jax_step["median_s"]
            out.append((f"{res['title']}: generated <= 1.0x JAX jit", r <= 1.0, f"{r:.2f}x"))
    g = results.get("g")
    if g:
        total = g["oracles_s"] + g["runs"][0]["total_s"]
        out.append(("(g) grading 200 students x the whole bank <= 60 s", total <= 60, f"{total:.1f} s"))
        m = g["latency"]["median_s"]
        out.append(("(g) one warm check <= 0.1 s median", m <= 0.1, fmt_time(m)))
    d = results.get("d")
    if d and d["rows"]:
        sym = [r["symbolic_s"] for r in d["rows"]]
        spread = max(sym) / min(sym)
        out.append(("(d) derivation time flat in n (max/min over n within 1.5x)", spread <= 1.5, f"{spread:.2f}x"))
    return out


def render(results: dict, info: dict, notes: list, args) -> str:
    lines = []
    if results.get("a") or results.get("b"):
        lines += ["### (a), (b): one training-step gradient (forward + every parameter gradient)", ""]
        lines += gradient_table(results.get("a", []) + results.get("b", [])) + [""]
    if results.get("c"):
        lines += [f"### {results['c']['title']}", ""] + check_table(results["c"]) + [""]
    if results.get("d"):
        d = results["d"]
        lines += [f"### {d.get('title', '(d) derivation cost')}", ""]
        if d.get("all_topics_s") is not None:
            lines += [f"Deriving and proving every registered topic, cold: {d['all_topics_s']:.2f} s.", ""]
        lines += derive_table(d) + [""]
    if results.get("e"):
        e = results["e"]
        lines += [
            "### (e) the main job",
            "",
            f"- `gradproof --help`: {fmt_time(e['help_median_s'])} (median of 5)",
            f"- `gradproof report` cold, into an empty cache (all topics, HTML + LaTeX + PDF): {fmt_time(e['report_cold_s'])}"
            f" (exit {e['report_exit']}; wrote {', '.join(e['report_files']) or 'nothing'})",
            "",
        ]
    if results.get("s"):
        lines += ["### (s) one whole training step (gradient and update)", ""] + step_table(results["s"]) + [""]
    if results.get("g"):
        lines += ["### (g) seminar: grading a class, one warm check", ""] + grade_table(results["g"]) + [""]
    tg = targets(results)
    if tg:
        lines += (
            ["### Targets", ""]
            + _table(("target", "met", "measured"), [(t, "yes" if ok else "NO", m) for t, ok, m in tg])
            + [""]
        )
    if notes:
        lines += ["### Notes", ""] + [f"- {n}" for n in notes] + [""]
    return "\n".join(lines)


def machine_text(info: dict) -> str:
    env = (
        ", ".join(f"{k}={v}" for k, v in info["env"].items() if v is not None)
        or "none of OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE, OMP_NUM_THREADS set"
    )
    peers_v = ", ".join(f"{k} {info[k]}" for k in ("torch", "jax", "jaxlib", "autograd", "sympy") if info.get(k))
    return "\n".join(
        [
            f"- CPU: {info['cpu']}, {info['cores']} cores; {info['platform']}",
            f"- Python {info['python']}, NumPy {info['numpy']}; {peers_v}",
            f"- BLAS: {blas_line(info)}",
            f"- threads: {info['threads']} for BLAS/OpenMP (threadpoolctl), PyTorch (set_num_threads) and XLA "
            f"(XLA_FLAGS `{info['xla_flags']}`)",
            f"- environment: {env}",
            f"- load average (1 min) before / after the run: {info['load_before']:.2f} / {info.get('load_after', float('nan')):.2f}"
            f" on {info['cores']} cores; run took {info.get('duration_s', 0):.0f} s",
        ]
    )


# The sections this script writes; any other section of the file (other
# benchmarks' results, written by hand from their own scripts) is kept.
_GENERATED = ("# Benchmarks", "## Machine", "## Results", "## What is measured")


def _kept_sections(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        return ""
    kept, keep = [], False
    for line in text.splitlines(keepends=True):
        if line.startswith("# ") or line.startswith("## "):
            keep = not line.startswith(_GENERATED)
        if keep:
            kept.append(line)
    return "".join(kept)


def write_docs(path: str, table: str, info: dict, argv: list[str]) -> None:
    cmd = "python bench/run.py" + ("" if not argv else " " + " ".join(argv))
    text = DOC_HEAD.format(cmd=cmd) + "\n## Machine\n\n" + machine_text(info) + "\n\n## Results\n\n" + table + DOC_TAIL
    kept = _kept_sections(path)
    if kept:
        text = text.rstrip("\n") + "\n\n" + kept
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


DOC_HEAD = """# Benchmarks

Generated by `{cmd}` (or `make bench`, which installs the `[bench]` extra
into a virtual environment first); do not edit by hand: rerun the command
(it rewrites the sections up to "What is measured" and keeps the others,
which other benchmark scripts' figures fill).

Every case runs its contenders in one process after a warm-up: interleaved
call by call in balanced orders (each contender follows every other equally
often), except the training steps of case (s), where each contender runs in
blocks of its own, call after call as a training loop calls it, the blocks
taking turns.  The figures are medians of wall times (case (s): of CPU
times), and ratios are to hand-written NumPy in the same run.  Before timing, every contender's
gradient is compared with gradproof's (float64: 1e-9, float32: 2e-4
relative). JAX runs on arrays already on its device and its compile time
is reported apart. Timings on a shared machine are noisy: compare ratios
within a run, not figures across runs.
"""

DOC_TAIL = """
## What is measured

- **Training-step gradient**: the forward pass and every parameter gradient
  (no parameter update). gradproof: `MLP.gradient(..., copy=False)` over the
  generated modules (`numeric/generated/affine.py`, `tanh.py`,
  `softmax_cross_entropy.py`, `mse_multi.py`) through the network's verified
  in-place variants (`numeric/inplace.py`), the gradient left in the
  network's buffer as the hand-written contender leaves its. Hand-written NumPy:
  `bench/peers.py`, every intermediate in a buffer kept across calls, the
  fused output delta `(softmax(S) - Y)/m`. PyTorch: eager mode,
  `torch.autograd.grad` of `cross_entropy` (or the squared error).
  JAX: `jit(grad(loss))`, compiled ahead. autograd: `grad(loss)`.
- **(b)** is `MLP((500,) * 12)`: 10 tanh layers of 500 units and a linear
  500-unit read-out, squared error `sum((S - Y)^2)/m`.
- **(c)** gradproof's checks are `MLP.check(X, Y, methods=("central",))` (every
  parameter entry: one plain central difference, 2 loss evaluations, and
  Richardson extrapolation, 4 more, only where the plain difference does not
  agree to a tenth of the tolerance) and `methods=("directional",)` (one random
  direction per parameter array and seed, refined the same way: 1 seed is the
  like-for-like setting for fast mode's single direction, 8 is the default);
  torch's are `gradcheck(f, (theta,))` on the
  same loss as a function of the flat float64 parameter vector (2 evaluations
  per entry, plus its analytic Jacobian twice) and `fast_mode=True` (one random
  direction).
- **(d)** runs `bench/bench_derive.py`: each measurement in a fresh process;
  a scalar-expanded run still going at the cap is reported as capped.
- **(e)** times `python -m gradproof.reports.cli` (the `gradproof` command) in fresh
  processes.
- **(s)** is `MLP.step` (gradient and update, `numeric/inplace.py`), timed
  in CPU time per call (on a loaded machine the wall median of a step of
  about 2 ms flips between its CPU time and several milliseconds more, as
  more or fewer than half the calls lose the processor), each
  contender first checked to reach the same weights from the same start;
  ratios to the faster of the two hand-written steps (`bench/handwritten.py`).
  JAX: `jit` of the whole step with the parameters donated.
- **(g)** runs `bench/bench_grade.py`'s class and its one-check-at-a-time
  latency; "CPU, all processes" is this process and every template and check
  process it started.
"""


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="a quarter of the repetitions, derivation cap 20 s")
    ap.add_argument("--threads", type=int, default=1, help="threads for BLAS, PyTorch and XLA (default 1)")
    ap.add_argument("--cases", default="abcdesg", help="which cases to run (default: abcdesg)")
    ap.add_argument("--cap", type=float, default=None, help="seconds per scalar-expanded derivation (default 60)")
    ap.add_argument(
        "--json",
        default=None,
        help="where to write the JSON (default: docs/benchmarks.json when every case runs, else nowhere)",
    )
    ap.add_argument(
        "--docs",
        default=os.path.join(ROOT, "docs", "benchmarks.md"),
        help="the Markdown page to regenerate (only when every case runs)",
    )
    ap.add_argument("--no-docs", action="store_true", help="do not rewrite the Markdown page")
    ap.add_argument(
        "--default-blas-kernel",
        action="store_true",
        help="rerun this command with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (this command only)",
    )
    args = ap.parse_args(argv)
    if args.default_blas_kernel and any(v in os.environ for v in CORETYPE_VARS):
        env = {k: v for k, v in os.environ.items() if k not in CORETYPE_VARS}
        rest = [a for a in argv if a != "--default-blas-kernel"]
        return subprocess.call([sys.executable, os.path.abspath(__file__), *rest], env=env)
    args.q = 4 if args.quick else 1
    args.cap = args.cap if args.cap is not None else (20.0 if args.quick else 60.0)

    import peers

    # XLA reads its flags when JAX is first imported; BLAS and OpenMP are limited from here on.
    xla = peers.set_xla_threads(args.threads)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        threadpool_limits = None
    notes: list[str] = []
    if threadpool_limits is None:
        notes.append("threadpoolctl not installed: BLAS runs its default thread count")
    else:
        import numpy  # noqa: F401 -- load the BLAS before limiting it

        try:
            import torch  # noqa: F401 -- its OpenMP pool too
        except ImportError:
            pass
        threadpool_limits(limits=args.threads)
    info = machine_info(args.threads, xla)
    t_start = time.perf_counter()
    print(f"gradproof benchmarks: {blas_line(info)}; load {info['load_before']:.2f}", file=sys.stderr)
    results: dict = {}
    if "a" in args.cases:
        results["a"] = case_a(args, notes)
    if "b" in args.cases:
        results["b"] = case_b(args, notes)
    if "c" in args.cases:
        results["c"] = case_c(args, notes)
    if "d" in args.cases:
        results["d"] = case_d(args, notes)
    if "e" in args.cases:
        results["e"] = case_e(args, notes)
    if "s" in args.cases:
        results["s"] = case_s(args, notes)
    if "g" in args.cases:
        results["g"] = case_g(args, notes)
    info["load_after"] = os.getloadavg()[0]
    info["duration_s"] = time.perf_counter() - t_start
    table = render(results, info, notes, args)
    print()
    print(machine_text(info))
    print()
    print(table)
    if args.json is None and set("abcdesg") <= set(args.cases):
        args.json = os.path.join(ROOT, "docs", "benchmarks.json")
    if args.json is None:
        return 0
    with open(args.json + ".tmp", "w") as f:
        json.dump(
            {
                "machine": info,
                "results": results,
                "notes": notes,
                "quick": bool(args.quick),
                "targets": [{"target": t, "met": ok, "measured": m} for t, ok, m in targets(results)],
            },
            f,
            indent=2,
        )
    os.replace(args.json + ".tmp", args.json)
    if not args.no_docs and set("abcdesg") <= set(args.cases):
        write_docs(args.docs, table, info, [a for a in argv if a not in ("--no-docs",)])
        print(f"wrote {os.path.relpath(args.docs)} and {os.path.relpath(args.json)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
