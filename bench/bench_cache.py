"""The derivation cache: ``gradproof derive`` and ``gradproof report``, cold against cached.

    python bench/bench_cache.py [--topics NAME ...] [--repeat 3] [--report-formats html] [--no-report] [--json FILE]

Every run is the command line as a user runs it, a fresh subprocess
(``python -m gradproof.reports.cli``), against an empty temporary cache folder
(``GRADPROOF_CACHE_DIR``).  Per topic:

* ``cold``: ``gradproof derive TOPIC --no-cache`` (derive and prove afresh);
* ``first``: ``gradproof derive TOPIC`` into the empty cache (derives, proves, stores);
* ``derivation``: ``gradproof derive TOPIC --format latex``: the stored
  derivation loaded and printed in a format not printed before;
* ``cached``: ``gradproof derive TOPIC`` again, the median of ``--repeat`` runs
  (the printed text comes straight from the cache, without SymPy).

Then ``gradproof report`` (``--report-formats``, HTML by default): ``--no-cache``,
into the empty cache, and an unchanged rerun.  The load average is printed with
the table: on a busy machine every figure grows, the cold ones most.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _time(args, env, cpu: list | None = None) -> float:
    """Wall seconds of one ``gradproof ARGS`` subprocess; its CPU seconds (user + system) go into ``cpu``."""
    before = _children_cpu()
    t0 = time.perf_counter()
    r = subprocess.run(
        [sys.executable, "-m", "gradproof.reports.cli", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    took = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(f"gradproof {' '.join(args)} failed ({r.returncode}): {r.stderr.strip()}")
    if cpu is not None:
        cpu.append(_children_cpu() - before)
    return took


def _children_cpu() -> float:
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Windows
        return 0.0
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _topics() -> list[str]:
    r = subprocess.run(
        [sys.executable, "-m", "gradproof.reports.cli", "list", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return [t["name"] for t in json.loads(r.stdout)]


def _load() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover - platforms without getloadavg
        return "n/a"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--topics", nargs="+", default=None, help="topics (default: every registered topic)")
    ap.add_argument("--repeat", type=int, default=3, help="cached runs per topic (the median is shown)")
    ap.add_argument("--report-formats", default="html", help="formats for the report runs")
    ap.add_argument("--no-report", action="store_true", help="skip the report runs")
    ap.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = ap.parse_args(argv)

    folder = tempfile.mkdtemp(prefix="gradproof-bench-cache-")
    env = dict(os.environ, GRADPROOF_CACHE_DIR=folder)
    env.pop("GRADPROOF_NO_CACHE", None)
    names = args.topics or _topics()
    load_before = _load()
    rows = []
    try:
        for name in names:
            cpu_cold, cpu_cached = [], []
            cold = _time(["derive", name, "--no-cache"], env, cpu_cold)
            first = _time(["derive", name], env)
            derivation = _time(["derive", name, "--format", "latex"], env)
            cached = statistics.median(_time(["derive", name], env, cpu_cached) for _ in range(args.repeat))
            rows.append(
                {
                    "topic": name,
                    "cold": cold,
                    "first": first,
                    "derivation": derivation,
                    "cached": cached,
                    "cold cpu": cpu_cold[0],
                    "cached cpu": statistics.median(cpu_cached),
                }
            )
            print(
                f"  {name:<34} cold {cold:6.2f} s  first {first:6.2f} s  derivation {derivation:6.2f} s"
                f"  cached {cached:6.3f} s",
                file=sys.stderr,
                flush=True,
            )
        report = {}
        if not args.no_report:
            out = Path(folder) / "report"
            fmt = ["--format", args.report_formats]
            shutil.rmtree(folder)
            os.mkdir(folder)
            report["cold (--no-cache)"] = _time(["report", "-o", str(out / "a"), *fmt, "--no-cache"], env)
            report["first (empty cache)"] = _time(["report", "-o", str(out / "b"), *fmt], env)
            report["unchanged rerun"] = _time(["report", "-o", str(out / "c"), *fmt], env)
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    cols = ("cold", "first", "derivation", "cached", "cold cpu", "cached cpu")
    print(
        f"gradproof derive TOPIC, one fresh process each ({len(names)} topics; "
        f"load average {load_before} before, {_load()} after; cached = median of {args.repeat})"
    )
    print()
    print(f"| {'topic':<34} | " + " | ".join(f"{c:>10}" for c in cols) + " |")
    print(f"|{'-' * 36}|" + "|".join("-" * 12 for _ in cols) + "|")
    for r in rows:
        print(f"| {r['topic']:<34} | " + " | ".join(f"{r[c]:>8.3f} s" for c in cols) + " |")
    summary = {}
    for label, fn in (("median", statistics.median), ("max", max)):
        summary[label] = {c: fn(r[c] for r in rows) for c in cols}
        print(f"| {'**' + label + '**':<34} | " + " | ".join(f"{summary[label][c]:>8.3f} s" for c in cols) + " |")
    print()
    print("cold = --no-cache; first = into an empty cache (derive, prove, store); derivation = the stored")
    print("derivation loaded and printed in a new format; cached = the printed text from the cache.")
    print("Wall seconds, except the cpu columns: user + system CPU seconds of the same process, which")
    print("depend far less on what else the machine runs.")
    if report:
        print()
        print(f"gradproof report --format {args.report_formats} (all topics)")
        print()
        for k, v in report.items():
            print(f"  {k:<22} {v:7.2f} s")
    if args.json:
        Path(args.json).write_text(
            json.dumps({"derive": rows, "summary": summary, "report": report, "load": load_before}, indent=2) + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
