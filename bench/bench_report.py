"""Benchmark of the main job: ``gradproof report`` cold, with its breakdown by stage.

Runs the whole report (all topics, HTML + LaTeX + PDF) in a fresh
subprocess, so imports and SymPy's caches are cold as on a user's first
run, then the same job in-process to break the time down by stage; and
times ``gradproof --help``.

    python bench/bench_report.py [-o DIR] [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

_STAGES = r"""
import json, sys, time
t0 = time.perf_counter()
from gradproof.reports.build import build_report, write_report
t_import = time.perf_counter() - t0
report = build_report(None)
written = write_report(report, sys.argv[1])
total = time.perf_counter() - t0
print(json.dumps({"import": t_import, **report.timings, **written.timings, "total": total,
                  "passed": report.passed, "topics": len(report.sections)}))
"""


def _run(cmd, **kw) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, **kw)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", default=None, help="report folder (default: a temporary one)")
    ap.add_argument("--repeat", type=int, default=1, help="cold runs of the whole job")
    args = ap.parse_args()
    out = args.output or tempfile.mkdtemp(prefix="gradproof-bench-")

    import shutil

    # the console script, as a user runs it; and the bare interpreter for scale
    exe = shutil.which("gradproof")
    cmd = [exe] if exe else [sys.executable, "-m", "gradproof.reports.cli"]
    helps = sorted(_run(cmd + ["--help"]) for _ in range(7))
    bare = sorted(_run([sys.executable, "-c", "pass"]) for _ in range(7))
    print(
        f"gradproof --help: median {helps[3]:.3f} s (min {helps[0]:.3f} s, 7 runs); "
        f"python -c pass: median {bare[3]:.3f} s"
    )

    colds = [_run([sys.executable, "-m", "gradproof.reports.cli", "report", "-o", out]) for _ in range(args.repeat)]
    print(
        f"cold main job (all topics, html+latex+pdf): {min(colds):.1f} s"
        + (f" (runs: {', '.join(f'{c:.1f}' for c in colds)})" if len(colds) > 1 else "")
    )

    proc = subprocess.run([sys.executable, "-c", _STAGES, out], check=True, capture_output=True, text=True)
    stages = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"breakdown ({stages.pop('topics')} topics, passed={stages.pop('passed')}):")
    total = stages.pop("total")
    for name, sec in stages.items():
        print(f"  {name:28s} {sec:6.2f} s")
    print(f"  {'total (in one process)':28s} {total:6.2f} s")
    print(f"  load average now: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
