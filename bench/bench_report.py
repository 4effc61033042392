"""Benchmark of the main job, ``gradproof report``: cold, unchanged rerun, one topic edited.

Each side -- "after", the gradproof this script belongs to, and optionally
"before", another revision of it (``--before REF``, unpacked with
``git archive``) -- is copied into a scratch folder with a cache folder of
its own, and byte-compiled as an installed package is (pip compiles every
module at install time, so no run below pays for it); then ``gradproof
report`` (the whole lecture, HTML + LaTeX + PDF) runs there in fresh
processes:

    cold      --no-cache: nothing read or written
    first     into an empty cache
    rerun     unchanged
    edit      one topic's declaration edited (its title; ``--topic``, default glorot)
    revert    the edit undone

The two sides run scenario by scenario, one after the other, so that both
see the same load; the table gives wall seconds and CPU seconds (the process
and every process it waited for: workers, pdflatex).  Every run's output
folder is compared with the cold run's, file by file.

    python bench/bench_report.py [--before 7395826] [--topic glorot] [--scenarios cold,first,rerun,edit,revert]
                                 [--repeat N]

``--repeat N`` runs rerun, edit and revert N times each, the two sides
alternating; each edit round is a new edit (" (edited 2)", ...).  The
table gives medians; every run's line gives its load average.
"""

from __future__ import annotations

import argparse
import ast
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = ("__init__.py", "derive", "numeric", "reports", "templates")
SCENARIOS = ("cold", "first", "rerun", "edit", "revert")


def _copy_package(source: Path, dest: Path) -> None:
    dest.mkdir(parents=True)
    for name in PACKAGE:
        src = source / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif src.is_file():
            shutil.copy2(src, dest / name)


def _unpack(ref: str, dest: Path) -> None:
    dest.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", ref], check=True, capture_output=True).stdout
    subprocess.run(["tar", "x", "-C", str(dest)], input=archive, check=True)


def _byte_compile(package: Path) -> None:
    """Compile every module of the copy, as ``pip install`` does: the timed runs then read bytecode."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], check=True)


def _title_literal(tree_root: Path, topic: str) -> tuple[Path, int, int]:
    """The declaration file of ``topic`` and the byte span of its title's string literal.

    The title is the first string after the name in the statement that
    declares the topic (``module("glorot", "Glorot ...", ...)`` or
    ``Topic(name="glorot", title="...")``).
    """
    for path in sorted((tree_root / "derive").rglob("topics_*.py")):
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text)
        for stmt in tree.body:
            consts = [n for n in ast.walk(stmt) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
            consts.sort(key=lambda n: (n.lineno, n.col_offset))
            names = [k for k, n in enumerate(consts) if n.value == topic]
            if isinstance(stmt, ast.Expr) and names and names[0] + 1 < len(consts):
                title = consts[names[0] + 1]
                if title.lineno != title.end_lineno:
                    continue
                line_start = sum(len(ln) for ln in text.encode().splitlines(keepends=True)[: title.lineno - 1])
                return path, line_start + title.col_offset, line_start + title.end_col_offset
    raise SystemExit(f"bench_report: no declaration statement names {topic!r}")


def _edit(tree_root: Path, topic: str, round_: int = 1) -> tuple[Path, bytes]:
    """Append " (edited)" to the topic's title in its declaration (" (edited 2)" in the second round, ...,
    so that every round is a new edit); returns the file and its old bytes."""
    path, start, end = _title_literal(tree_root, topic)
    old = path.read_bytes()
    mark = b" (edited)" if round_ == 1 else f" (edited {round_})".encode()
    path.write_bytes(old[: end - 1] + mark + old[end - 1 :])
    return path, old


def _run(side: dict, out: Path, *extra: str) -> tuple[float, float, int]:
    """One ``gradproof report``: wall seconds, CPU seconds of it and its children, exit status.

    With ``GRADPROOF_TIMINGS=1`` in this script's environment each run prints
    its breakdown (``gradproof report --timings``: its spans, the workers'
    timeline, the stages) before its line; a side too old to print one shows none.
    """
    env = dict(os.environ, PYTHONPATH=str(side["root"]), GRADPROOF_CACHE_DIR=str(side["cache"]))
    env.pop("GRADPROOF_NO_CACHE", None)
    cmd = [sys.executable, "-m", "gradproof.reports.cli", "report", "-o", str(out), *extra]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=side["root"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    breakdown = err[err.find("timings: ") :] if "timings: " in err else ""
    if breakdown:
        print(f"\n### {side['name']}, {out.name}\n\n```\n{breakdown.rstrip()}\n```\n", flush=True)
    if proc.returncode != 0:
        print(
            f"  {side['name']}: exit {proc.returncode}: {err[: len(err) - len(breakdown)].strip()[-300:]}",
            file=sys.stderr,
        )
    return wall, usage.ru_utime + usage.ru_stime, proc.returncode


def _files(folder: Path) -> dict[str, bytes]:
    if not folder.is_dir():
        return {}
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file() and not p.name.startswith(".")}


def _same(a: dict, b: dict) -> str:
    if not a or not b:
        return "-"
    if a.keys() != b.keys():
        return "files differ"
    diff = [k for k in a if a[k] != b[k]]
    return "identical" if not diff else "differ: " + ", ".join(diff)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", metavar="REF", help="git revision to compare with (e.g. main)")
    ap.add_argument("--topic", default="glorot", help="the topic whose declaration the edit changes")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated, in order")
    ap.add_argument("--keep", action="store_true", help="keep the scratch folder (printed)")
    ap.add_argument(
        "--repeat", type=int, default=1, metavar="N", help="run rerun, edit and revert N times each (medians)"
    )
    args = ap.parse_args()
    scenarios = [s for s in args.scenarios.split(",") if s]
    bad = [s for s in scenarios if s not in SCENARIOS]
    if bad:
        ap.error(f"unknown scenario {', '.join(bad)}")
    scratch = Path(tempfile.mkdtemp(prefix="gradproof-bench-report-"))
    sides = []
    for name in (["before"] if args.before else []) + ["after"]:
        root = scratch / name
        if name == "before":
            _unpack(args.before, root / "gradproof")
        else:
            _copy_package(REPO, root / "gradproof")
        _byte_compile(root / "gradproof")
        sides.append({"name": name, "root": root, "cache": scratch / f"{name}-cache", "out": {}, "rows": {}})
    try:
        for scenario in scenarios:
            rounds = max(1, args.repeat) if scenario in ("rerun", "edit", "revert") else 1
            for k in range(1, rounds + 1):
                for side in sides:  # the sides alternate, so that both see the same load
                    pkg = side["root"] / "gradproof"
                    edited = _edit(pkg, args.topic, k) if scenario == "edit" else None
                    out = scratch / f"{side['name']}-{scenario}"
                    if out.exists():
                        shutil.rmtree(out)
                    extra = ("--no-cache",) if scenario == "cold" else ()
                    wall, cpu, code = _run(side, out, *extra)
                    if edited is not None:
                        edited[0].write_bytes(edited[1])  # revert at once: the next scenario starts unedited
                    side["rows"].setdefault(scenario, []).append((wall, cpu, code))
                    side["out"][scenario] = _files(out)
                    load = os.getloadavg()[0]
                    print(
                        f"  {side['name']:6s} {scenario:6s} {wall:7.2f} s wall {cpu:7.2f} s CPU  exit {code}"
                        f"  (load {load:.1f})",
                        flush=True,
                    )
        _table(sides, scenarios)
    finally:
        if args.keep:
            print(f"scratch folder kept: {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    return 0


def _table(sides, scenarios) -> None:
    load = os.getloadavg()
    print(f"\ngradproof report, whole lecture, HTML + LaTeX + PDF; load average {load[0]:.1f} (5 min {load[1]:.1f})")
    print(f"on {os.cpu_count()} CPUs; wall and CPU seconds (CPU: the run and every process it waited for)")
    print("medians of the rounds; each run's load average is printed above it\n")
    head = "| scenario |" + "".join(f" {s['name']} wall | {s['name']} CPU |" for s in sides)
    head += " output vs cold (after) |" if "cold" in scenarios else ""
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    after = sides[-1]
    for scenario in scenarios:
        row = f"| {scenario} |"
        for s in sides:
            runs = s["rows"][scenario]
            wall, cpu = statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
            code = max((r[2] for r in runs), key=abs)
            row += f" {wall:.2f} s{'' if code == 0 else f' (exit {code})'} | {cpu:.2f} s |"
        if "cold" in scenarios:
            row += (
                " - |" if scenario in ("cold", "edit") else f" {_same(after['out']['cold'], after['out'][scenario])} |"
            )
        print(row)


if __name__ == "__main__":
    sys.exit(main())
