"""Derivation cost: gradproof's symbolic-dimension engine vs scalar-expanded SymPy.

    python bench/bench_derive.py [--sizes 4 16 64] [--cap 60] [--json FILE]

Prints a table:

* the time to derive *and prove* every registered topic, cold (one fresh
  process, SymPy import excluded);
* for the multinomial logistic regression gradient ``dL/dW``: gradproof's
  derivation with symbolic ``m, n, K`` (its dependencies derived too, exact
  proofs included) against SymPy differentiating the explicit, scalar-expanded
  loss entry by entry at ``n = 4, 16, 64`` features (m = 4 samples, K = 4
  classes) and then ``lambdify``-ing the gradient.  Each run happens in its own
  process, capped at ``--cap`` seconds; a capped run is reported as "> cap".

The symbolic derivation does not take ``n`` at all, so it is measured once per
size only to show it side by side.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

ENGINE = r"""
import time, sys
import sympy
t = time.perf_counter()
from gradproof.derive.lecture.registry import derive, topics
names = sys.argv[1:] or [t.name for t in topics()]
for nm in names:
    d = derive(nm)
    assert d.passed, nm
print(time.perf_counter() - t)
"""

SCALAR = r"""
import time, sys
import sympy as sp
n = int(sys.argv[1]); m = 4; K = 4
t = time.perf_counter()
X = sp.Matrix(m, n, lambda a, b: sp.Symbol(f"x{a}_{b}"))
W = sp.Matrix(n, K, lambda a, b: sp.Symbol(f"w{a}_{b}"))
Y = sp.zeros(m, K)
for s in range(m):
    Y[s, s % K] = 1
S = X * W
L = 0
for s in range(m):
    lse = sp.log(sum(sp.exp(S[s, c]) for c in range(K)))
    L += -sum(Y[s, c] * (S[s, c] - lse) for c in range(K))
L = L / m
G = [sp.diff(L, w) for w in W]
t_diff = time.perf_counter() - t
f = sp.lambdify(list(X) + list(W), G, "numpy")
print(t_diff, time.perf_counter() - t)
"""


def _run(code, args, cap):
    t0 = time.perf_counter()
    try:
        r = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, timeout=cap)
    except subprocess.TimeoutExpired:
        return None, time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(r.stderr)
    return [float(x) for x in r.stdout.split()], time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[4, 16, 64])
    ap.add_argument("--cap", type=float, default=60.0, help="seconds per scalar-expanded run")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args(argv)

    out = {"all_topics": None, "rows": []}
    alls = [_run(ENGINE, [], 600)[0][0] for _ in range(args.repeat)]
    out["all_topics"] = statistics.median(alls)
    from gradproof.derive.lecture.registry import topics

    n_topics = len(topics())
    print(
        f"derive + prove all {n_topics} topics, cold: median {out['all_topics']:.2f} s "
        f"(runs: {', '.join(f'{a:.2f}' for a in alls)})"
    )
    print()
    print(f"{'n':>4}  {'gradproof (symbolic m, n, K)':>30}  {'SymPy scalar diff':>18}  {'+ lambdify':>11}")
    for n in args.sizes:
        sym = statistics.median(
            _run(ENGINE, ["multinomial_logistic_regression"], 600)[0][0] for _ in range(args.repeat)
        )
        res, wall = _run(SCALAR, [n], args.cap)
        if res is None:
            diff_s, lam_s = f"> {args.cap:.0f} s", "-"
            row = {"n": n, "symbolic_s": sym, "scalar_diff_s": None, "scalar_total_s": None, "capped": True}
        else:
            diff_s, lam_s = f"{res[0]:.2f} s", f"{res[1]:.2f} s"
            row = {"n": n, "symbolic_s": sym, "scalar_diff_s": res[0], "scalar_total_s": res[1], "capped": False}
        out["rows"].append(row)
        print(f"{n:>4}  {sym:>28.2f} s  {diff_s:>18}  {lam_s:>11}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
