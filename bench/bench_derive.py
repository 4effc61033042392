"""Derivation cost: gradproof's symbolic-dimension engine vs scalar-expanded SymPy.

    python bench/bench_derive.py [--sizes 4 16 64] [--cap 60] [--json FILE]
    python bench/bench_derive.py --per-topic [--baseline DIR] [--repeat N] [--jobs 2] [--topics ...]
    python bench/bench_derive.py --same-output DIR

``--same-output DIR`` prints every topic's ``gradproof derive --no-cache
TOPIC --format F`` (text, latex, json) from this checkout and from the
checkout DIR (each in one fresh process, topics in the lecture's order) and
compares them byte for byte: exit 0 when every one is identical, 1 otherwise
(the differing topics named).

``--per-topic`` times ``gradproof derive --no-cache TOPIC`` for every topic,
each in a fresh process (CPU time of the process, user + system, and wall
time), then ``gradproof derive TOPIC`` from a filled cache folder; then
deriving and proving every topic in one process, and over ``--jobs``
processes (``derive_many``); with ``--baseline DIR`` (a checkout of another
revision of the repository) the same runs of that revision are interleaved
with this one's and printed side by side, so both see the same machine load.
Each checkout's bytecode is compiled first, as installing a package does.

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
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ENGINE = r"""
import time, sys
import sympy
t, c = time.perf_counter(), time.process_time()
from gradproof.derive.lecture.registry import derive, topics
names = sys.argv[1:] or [t.name for t in topics()]
for nm in names:
    d = derive(nm)
    assert d.passed, nm
print(time.perf_counter() - t, time.process_time() - c)
"""

PARALLEL = r"""
import resource, time, sys
import sympy
t, c = time.perf_counter(), time.process_time()
from gradproof.derive.lecture.registry import derive_many
ds = derive_many(jobs=int(sys.argv[1]))
assert all(d.passed for d in ds)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(time.perf_counter() - t, time.process_time() - c + r.ru_utime + r.ru_stime)
"""

OUTPUTS = r"""
import contextlib, io, json, sys
from gradproof.reports import cli
from gradproof.derive.lecture.registry import topics
out = {}
for t in topics():
    for fmt in ("text", "latex", "json"):
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            rc = cli.main(["derive", t.name, "--format", fmt, "--no-cache"])
        out[t.name + " " + fmt] = [rc, buf.getvalue()]
json.dump(out, sys.stdout)
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


def _env(root: str | None, cache: str | None = None) -> dict:
    """Child environment: ``root`` (a repository checkout) importable as gradproof;
    no derivation cache, or the cache folder ``cache``.

    Bytecode is written and used (``PYTHONDONTWRITEBYTECODE`` dropped), as in
    an installed package: a run that compiles every module from source pays
    some 0.3 s that no user pays.
    """
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "GRADPROOF_NO_CACHE")}
    if cache is None:
        env["GRADPROOF_NO_CACHE"] = "1"
    else:
        env["GRADPROOF_CACHE_DIR"] = cache
    if root is not None:
        link_dir = tempfile.mkdtemp(prefix="gradproof-baseline-")
        os.symlink(os.path.abspath(root), os.path.join(link_dir, "gradproof"))
        env["PYTHONPATH"] = link_dir
    return env


def _compile(env: dict) -> None:
    """Write the checkout's bytecode before timing (what installing a package does)."""
    code = "import compileall, os, gradproof; compileall.compile_dir(os.path.dirname(gradproof.__file__), quiet=1)"
    subprocess.run([sys.executable, "-c", code], env=env, check=True, stdout=subprocess.DEVNULL)


def _child_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _derive_cli(topic: str, env: dict, cold: bool = True) -> tuple[float, float]:
    """(CPU s, wall s) of ``gradproof derive [--no-cache] TOPIC`` in a fresh process."""
    c0, t0 = _child_cpu(), time.perf_counter()
    cmd = [sys.executable, "-m", "gradproof.reports.cli", "derive", *(["--no-cache"] if cold else []), topic]
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return _child_cpu() - c0, time.perf_counter() - t0


def per_topic(args) -> int:
    from gradproof.derive.lecture.registry import topics

    roots = {"this": None}
    if args.baseline:
        roots = {"baseline": args.baseline, **roots}
    trees = {k: _env(r) for k, r in roots.items()}
    caches = {k: tempfile.mkdtemp(prefix="gradproof-bench-cache-") for k in roots}
    cached_envs = {k: _env(r, caches[k]) for k, r in roots.items()}
    for env in trees.values():
        _compile(env)
    names = args.topics or [t.name for t in topics()]
    runs = {(k, what): {nm: [] for nm in names} for k in trees for what in ("cpu", "wall", "cached cpu", "cached wall")}
    for rep in range(args.repeat):
        for nm in names:
            for k, env in trees.items():  # interleaved: both trees see the same load
                c, w = _derive_cli(nm, env)
                runs[k, "cpu"][nm].append(c)
                runs[k, "wall"][nm].append(w)
                if rep == 0:
                    _derive_cli(nm, cached_envs[k], cold=False)  # fills the cache
                c, w = _derive_cli(nm, cached_envs[k], cold=False)
                runs[k, "cached cpu"][nm].append(c)
                runs[k, "cached wall"][nm].append(w)
    med = {key: {nm: statistics.median(v) for nm, v in per.items()} for key, per in runs.items()}
    cols = [(k, what) for k in trees for what in ("cpu", "wall", "cached cpu", "cached wall")]
    print(f"{'topic':34s}" + "".join(f"  {k + ' ' + what:>20s}" for k, what in cols))
    for nm in names:
        print(f"{nm:34s}" + "".join(f"  {med[c][nm]:18.2f} s" for c in cols))
    for label, fn in (("median", statistics.median), ("max", max)):
        print(f"{label + ' over topics':34s}" + "".join(f"  {fn(med[c].values()):18.2f} s" for c in cols))
    alls = {k: [] for k in trees}
    pools = {k: [] for k in trees}
    for _ in range(args.repeat):
        for k, env in trees.items():
            alls[k].append(_run(ENGINE, [], 1200, env)[0])
            res, wall = _run(PARALLEL, [args.jobs], 1200, env)
            pools[k].append([*res, wall])
    for k in trees:
        w, c = (statistics.median(x[i] for x in alls[k]) for i in (0, 1))
        print(f"all topics, one process ({k}): {w:.2f} s wall, {c:.2f} s CPU (after importing SymPy)")
        w, c, whole = (statistics.median(x[i] for x in pools[k]) for i in (0, 1, 2))
        print(
            f"all topics, derive_many over {args.jobs} processes ({k}): {w:.2f} s wall, {c:.2f} s CPU "
            f"(after importing SymPy); the whole process {whole:.2f} s wall"
        )
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    for d in caches.values():
        shutil.rmtree(d, ignore_errors=True)
    if args.json:
        with open(args.json, "w") as f:
            out = {f"{k} {what}": v for (k, what), v in med.items()}
            json.dump({**out, "all_topics": alls, "derive_many": pools}, f, indent=2)
    return 0


def _outputs(env: dict) -> dict:
    r = subprocess.run([sys.executable, "-c", OUTPUTS], env=env, capture_output=True, text=True, check=True)
    return json.loads(r.stdout)


def same_output(args) -> int:
    """Every topic printed by this checkout and by ``args.same_output``, compared byte for byte."""
    mine, theirs = _outputs(_env(None)), _outputs(_env(args.same_output))
    differ = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
    for k in differ:
        print(f"differs: {k}")
    topics = {k.rsplit(" ", 1)[0] for k in mine}
    print(
        f"{len(mine) - len(differ)} of {len(mine)} outputs identical ({len(topics)} topics x text, latex, json)"
        + ("" if not differ else f"; {len(differ)} differ")
    )
    return 1 if differ else 0


def _run(code, args, cap, env=None):
    t0 = time.perf_counter()
    try:
        r = subprocess.run(
            [sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, timeout=cap, env=env
        )
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
    ap.add_argument("--per-topic", action="store_true", help="every topic cold, each in a fresh process")
    ap.add_argument("--baseline", metavar="DIR", help="with --per-topic: also time this checkout, side by side")
    ap.add_argument("--topics", nargs="+", metavar="TOPIC", help="with --per-topic: these topics only (default: all)")
    ap.add_argument("--jobs", type=int, default=2, help="with --per-topic: worker processes of derive_many")
    ap.add_argument("--same-output", metavar="DIR", help="compare every topic's printed derivation with DIR's")
    args = ap.parse_args(argv)
    if args.same_output:
        return same_output(args)
    if args.per_topic:
        return per_topic(args)

    out = {"all_topics": None, "rows": []}
    alls = [_run(ENGINE, [], 600, _env(None))[0][0] for _ in range(args.repeat)]
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
            _run(ENGINE, ["multinomial_logistic_regression"], 600, _env(None))[0][0] for _ in range(args.repeat)
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
