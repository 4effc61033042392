"""Benchmark: the compiled training step (gradproof.numeric.ckernel) against the in-place NumPy step.

Prints, for the lecture MLP 64-128-10 (tanh, softmax + cross-entropy) on the digits:

* agreement: the largest relative difference of W and b between the compiled
  and the NumPy step after 1 and after 100 steps from the same weights
  (relative to the largest entry of the NumPy step's array);
* the crossover: CPU time per step of both at several batch sizes,
  interleaved in one process (A B, B A, ...), BLAS on 1 thread;
* with ``--base DIR`` (a checkout of another revision, e.g. made with
  ``git worktree add``): ``MLP.step`` as that revision runs it against this
  one, in fresh processes taking turns, each timing its steps in CPU time.

Every figure is printed with the load average::

    python bench/bench_compiled.py
    python bench/bench_compiled.py --base /tmp/gradproof-base --rounds 4
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import bench_networks  # noqa: E402

from gradproof.numeric import ckernel  # noqa: E402
from gradproof.numeric.network import MLP  # noqa: E402

SIZES = (64, 128, 10)


def _load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def agreement(dtype) -> list[str]:
    X, Y = bench_networks._lecture_data(dtype)
    X, Y = np.ascontiguousarray(X[:32]), np.ascontiguousarray(Y[:32])
    net = MLP(SIZES, seed=0, dtype=dtype, compiled=True)
    if net.inplace.kernel is None:
        return [f"{np.dtype(dtype).name}: no compiled step ({net.inplace.compiled_reason})"]
    ref = MLP(SIZES, seed=0, dtype=dtype, compiled=False)
    out, done = [], 0
    for n in (1, 100):
        for _ in range(n - done):
            net.step(X, Y, 0.1)
            ref.step(X, Y, 0.1)
        done = n
        diffs = []
        for key in net.keys:
            want = ref.params[key]
            diffs.append(f"{key} {float(np.max(np.abs(net.params[key] - want)) / np.max(np.abs(want))):.2e}")
        out.append(f"{np.dtype(dtype).name}, after {n} step(s): max relative difference " + ", ".join(diffs))
    return out


def crossover(batches, reps_per_row: int) -> list[str]:
    lines = ["| dtype | batch | compiled | in-place NumPy | ratio |", "|---|---|---|---|---|"]
    for dtype in (np.float64, np.float32):
        X, Y = bench_networks._lecture_data(dtype)
        fast = MLP(SIZES, seed=0, dtype=dtype, compiled=True)
        if fast.inplace.kernel is None:
            return [f"no compiled step: {fast.inplace.compiled_reason}"]
        fast.inplace.kernel_rows = max(batches)  # every batch compiled, to find where it stops paying
        slow = MLP(SIZES, seed=0, dtype=dtype, compiled=False)
        for m in batches:
            Xb, Yb = np.ascontiguousarray(X[:m]), np.ascontiguousarray(Y[:m])
            reps = max(20, reps_per_row // m)
            step = lambda n, Xs, Ys: lambda: n.step(Xs, Ys, 1e-3)  # each bound now
            times = bench_networks.interleaved(
                {"compiled": step(fast, Xb, Yb), "numpy": step(slow, Xb, Yb)},
                reps,
                max(3, reps // 10),
                "cpu",
            )
            a, b = statistics.median(times["compiled"]), statistics.median(times["numpy"])
            lines.append(
                f"| {np.dtype(dtype).name} | {m} | {bench_networks._fmt(a)} | {bench_networks._fmt(b)} | {a / b:.2f}x |"
            )
    return lines


_CHILD = """
import json, sys, time
import numpy as np
sys.path.insert(0, {bench!r})
import bench_networks
from gradproof.numeric.network import MLP
out = {{}}
for name in ("float64", "float32"):
    dtype = np.dtype(name)
    X, Y = bench_networks._lecture_data(dtype)
    net = MLP({sizes!r}, seed=0, dtype=dtype)
    for m, n in ((32, {n32}), (1797, {n1797})):
        Xb, Yb = np.ascontiguousarray(X[:m]), np.ascontiguousarray(Y[:m])
        for _ in range(max(5, n // 10)):
            net.step(Xb, Yb, 1e-3)
        times = []
        for _ in range(n):
            t0 = time.process_time()
            net.step(Xb, Yb, 1e-3)
            times.append(time.process_time() - t0)
        out[f"{{name}}/{{m}}"] = sorted(times)[len(times) // 2]
print(json.dumps(out))
"""


def versus_base(base: str, rounds: int, n32: int, n1797: int) -> list[str]:
    """``MLP.step`` in fresh processes, this tree and ``base`` taking turns (base, this, this, base, ...)."""
    here = os.path.dirname(HERE)
    trees = {"base": os.path.abspath(base), "this": here}
    got: dict = {"base": [], "this": []}
    with tempfile.TemporaryDirectory() as tmp:
        links = {}
        for name, tree in trees.items():
            os.makedirs(os.path.join(tmp, name))
            os.symlink(tree, os.path.join(tmp, name, "gradproof"))
            links[name] = os.path.join(tmp, name)
        for r in range(rounds):
            for name in ("base", "this") if r % 2 == 0 else ("this", "base"):
                env = dict(os.environ, PYTHONPATH=links[name], OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
                code = _CHILD.format(bench=os.path.join(trees[name], "bench"), sizes=SIZES, n32=n32, n1797=n1797)
                done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
                if done.returncode != 0:
                    raise SystemExit(f"{name}: {done.stderr.strip().splitlines()[-1]}")
                got[name].append(json.loads(done.stdout))
    lines = ["| case | base (median of rounds) | this | ratio |", "|---|---|---|---|"]
    for case in got["this"][0]:
        a = statistics.median(r[case] for r in got["base"])
        b = statistics.median(r[case] for r in got["this"])
        lines.append(f"| {case} | {bench_networks._fmt(a)} | {bench_networks._fmt(b)} | {b / a:.2f}x |")
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", help="a checkout of the revision to compare MLP.step with")
    ap.add_argument("--rounds", type=int, default=4, help="fresh processes per tree with --base (default 4)")
    ap.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = ap.parse_args(argv)
    bench_networks._setup(1)
    q = 4 if args.quick else 1
    print(f"gcc: {ckernel.compiler() or 'missing'}; {_load()}")
    t0 = time.process_time()
    for dtype in (np.float64, np.float32):
        ckernel.build("tanh", "softmax_cross_entropy", dtype)
    print(f"kernels built or read from the cache: {time.process_time() - t0:.2f} s CPU")
    print("\nAgreement with the in-place NumPy step, batch 32, alpha 0.1:")
    for dtype in (np.float64, np.float32):
        for line in agreement(dtype):
            print("  " + line)
    print(f"\nCrossover, CPU time per step (median), interleaved in one process; {_load()} at the start")
    for line in crossover((8, 16, 32, 64, 128, 256, 512, 1797), 40000 // q):
        print(line)
    print(_load() + " at the end")
    if args.base:
        print(f"\nMLP.step, {args.base} against this tree, fresh processes taking turns; {_load()} at the start")
        for line in versus_base(args.base, args.rounds, 2000 // q, 60 // q):
            print(line)
        print(_load() + " at the end")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
