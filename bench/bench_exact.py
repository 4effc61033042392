"""Benchmark the exact probes of the answer checker.

For every exercise: the precision the first accepted form needs, the time to
build the probe points and reference at that precision (once per exercise),
and the time to compare one answer exactly; then a few near-misses whose
hidden part forces a higher precision.  Run: ``python bench/bench_exact.py``.
"""

from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

NEAR_MISSES = [
    ("logreg_grad", "X^T (yhat - y) + 1e-12 X^T y"),
    ("sigmoid_derivative", "sigma(s)(1 - sigma(s)) + exp(-300 (s^2 + 1))"),
    ("sigmoid_derivative", "sigma(s)(1 - sigma(s)) + (1 - tanh(1000 (s^2 + 1)))"),
    ("least_squares", "(X^T X + 1e-9 I)^{-1} X^T y"),
]


def main() -> int:
    from gradproof.derive.seminar.answers import read_answer
    from gradproof.derive.seminar.exercises import exercises, get

    rows = []
    for ex in exercises():
        oracle = ex.oracle()
        expr = read_answer(ex.accepted[0], ex.vocabulary()).expr
        dps, _ = oracle.exact_plan(expr)
        t0 = time.perf_counter()
        oracle.exact_points(dps)
        build = time.perf_counter() - t0
        t0 = time.perf_counter()
        oracle.exact_difference(expr, dps)
        rows.append((ex.id, ex.accepted[0], dps, build, time.perf_counter() - t0))
    for ex_id, answer in NEAR_MISSES:
        oracle = get(ex_id).oracle()
        expr = read_answer(answer, get(ex_id).vocabulary()).expr
        t0 = time.perf_counter()
        dps, _ = oracle.exact_plan(expr)
        oracle.exact_points(dps)
        build = time.perf_counter() - t0
        t0 = time.perf_counter()
        oracle.exact_difference(expr, dps)
        rows.append((ex_id, answer, dps, build, time.perf_counter() - t0))
    print(f"{'exercise':<24} {'answer':<52} {'digits':>6} {'points+ref':>11} {'compare':>9}")
    print("-" * 24, "-" * 52, "-" * 6, "-" * 11, "-" * 9)
    for ex_id, answer, dps, build, compare in rows:
        print(f"{ex_id:<24} {answer[:52]:<52} {dps:>6} {build * 1000:>8.1f} ms {compare * 1000:>6.1f} ms")
    print(f"load average (1 min) {os.getloadavg()[0]:.2f} at the end (other work on the machine slows every row)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
