"""CPU cost of the report's experiments and figures: each source's data and its drawing, before and after.

Each side -- "after", the gradproof this script belongs to, and "before",
another revision of it (``--before REF``, unpacked with ``git archive``) --
runs every report-level source in one fresh process, one BLAS thread, in the
report's order: the initialisation experiment, the digits training, the
regularisation demo, then the activation plot.  A source's "data" is its
loader, its "draw" the figures and records made from that data; imports land
where the source first needs them (the plotting library's in the first
drawing), as in a report worker.  The sides alternate round by round so that
both see the same load, and the table gives the median CPU seconds
(``time.process_time``) per part, the whole process's CPU (start-up
included), and whether both sides printed the same captions and records.

    python bench/bench_experiments.py [--before 2743884] [--rounds 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Run in a child process whose sys.path finds one side's gradproof first.
CHILD = r"""
import hashlib, json, resource, sys, time
import numpy
from threadpoolctl import threadpool_limits
threadpool_limits(limits=1)
from gradproof.reports import plots

out, seen = {}, []
for key, (title, loader, draw) in plots.SOURCES.items():
    t0 = time.process_time()
    data = loader()
    t1 = time.process_time()
    figs, records = draw(data)
    t2 = time.process_time()
    out[key] = {"data": t1 - t0, "draw": t2 - t1}
    figs = list(figs) if isinstance(figs, (list, tuple)) else [figs]
    seen += [(f.name, f.title, f.caption) for f in figs]
    seen += [(r.topic, r.check, r.max_rel_error, r.tolerance, r.passed) for r in records]
t0 = time.process_time()
fig = plots.activation_figure()
out["activations"] = {"data": 0.0, "draw": time.process_time() - t0}
seen.append((fig.name, fig.title, fig.caption))
ru = resource.getrusage(resource.RUSAGE_SELF)
out["process"] = ru.ru_utime + ru.ru_stime
out["printed"] = hashlib.sha256(json.dumps(seen, default=repr).encode()).hexdigest()
print(json.dumps(out))
"""

PARTS = ("init", "training", "regularisation", "activations")


def _unpack(ref: str, dest: Path) -> None:
    dest.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", ref], check=True, capture_output=True).stdout
    subprocess.run(["tar", "x", "-C", str(dest)], input=archive, check=True)


def _side_root(scratch: Path, name: str, tree: Path) -> Path:
    """A folder whose ``gradproof`` is ``tree`` (the repository root is the package)."""
    root = scratch / name
    root.mkdir()
    (root / "gradproof").symlink_to(tree, target_is_directory=True)
    return root


def _run(root: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(root), GRADPROOF_NO_CACHE="1")
    code = f"import sys; sys.path.insert(0, {str(root)!r})\n" + CHILD
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=root)
    if proc.returncode != 0:
        raise SystemExit(f"bench_experiments: a run failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _table(results: dict, sides: list[str]) -> list[str]:
    def med(side, part, what):
        return statistics.median(r[part][what] for r in results[side])

    head = f"{'part':26s}" + "".join(f"{s:>10s}" for s in sides) + ("     ratio" if len(sides) == 2 else "")
    lines = [head]
    rows = [
        (f"{p} {w}", lambda s, p=p, w=w: med(s, p, w))
        for p in PARTS
        for w in ("data", "draw")
        if p != "activations" or w == "draw"
    ]
    rows.append(("sum of the parts", lambda s: sum(med(s, p, w) for p in PARTS for w in ("data", "draw"))))
    rows.append(("whole process", lambda s: statistics.median(r["process"] for r in results[s])))
    for name, f in rows:
        vals = [f(s) for s in sides]
        ratio = f"{vals[1] / vals[0]:10.2f}" if len(vals) == 2 and vals[0] > 0 else ""
        lines.append(f"{name:26s}" + "".join(f"{v:10.2f}" for v in vals) + ratio)
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", default="2743884", help="the revision to compare with ('' for none)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", action="store_true", help="print the raw runs as JSON")
    args = ap.parse_args(argv)
    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="gp-bench-exp-") as tmp:
        scratch = Path(tmp)
        roots = {"after": _side_root(scratch, "after", REPO)}
        if args.before:
            _unpack(args.before, scratch / "tree-before")
            roots = {"before": _side_root(scratch, "before", scratch / "tree-before"), **roots}
        sides = list(roots)
        results = {s: [] for s in sides}
        for k in range(args.rounds):
            for side in sides if k % 2 == 0 else sides[::-1]:
                results[side].append(_run(roots[side]))
    load1 = os.getloadavg()
    if args.json:
        print(json.dumps(results, indent=1))
        return 0
    print(f"CPU seconds, median of {args.rounds} rounds, one BLAS thread (before = {args.before or '-'})")
    print("\n".join(_table(results, sides)))
    printed = {s: {r["printed"] for r in results[s]} for s in sides}
    same = len(set().union(*printed.values())) == 1
    print(
        f"captions and records identical across runs{' and sides' if len(sides) == 2 else ''}: {'yes' if same else 'no'}"
    )
    print(
        f"load average (1, 5, 15 min): start {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}, end {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
