"""Benchmark of the PDF step: the passes a cold compile of report.tex and companion.tex takes, and their CPU.

For each ``--tex`` folder given (an output folder of ``gradproof report``,
e.g. one written by this source and one by an older revision), the script
compiles ``report.tex`` and ``companion.tex`` with
:func:`gradproof.reports.writing.compile_document` from nothing, the folders
alternating round by round so that both see the same load, and prints per
file: the passes (draft ones in brackets), the median and minimum CPU
seconds of pdflatex over the rounds (this process's children), and the
median wall seconds; each round's line gives the load average it ran at.

    python bench/bench_pdf.py OUTDIR [OUTDIR ...] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import tempfile
import time
from pathlib import Path


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _compile(folder: Path, tex: str) -> tuple[int, int, float, float]:
    from gradproof.reports.writing import compile_document

    with tempfile.TemporaryDirectory(prefix="bench-pdf-") as work:
        shutil.copy2(folder / tex, Path(work) / tex)
        for fig in folder.glob("fig-*.pdf"):
            shutil.copy2(fig, Path(work) / fig.name)
        cpu, wall = _children_cpu(), time.perf_counter()
        done = compile_document(Path(work), tex)
        return done.passes, done.drafts, _children_cpu() - cpu, time.perf_counter() - wall


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    runs: dict[tuple[str, str], list[tuple[int, int, float, float]]] = {}
    for k in range(args.rounds):
        for folder in args.folders:
            for tex in ("report.tex", "companion.tex"):
                if (folder / tex).exists():
                    runs.setdefault((str(folder), tex), []).append(_compile(folder, tex))
        print(f"round {k + 1}: load average {os.getloadavg()[0]:.2f}")
    print(f"{'folder':40s} {'file':14s} {'passes':12s}  CPU median  CPU min  wall median")
    for (folder, tex), rows in runs.items():
        passes = {f"{p}" + (f" ({d} draft)" if d else "") for p, d, _, _ in rows}
        cpu = [c for _, _, c, _ in rows]
        wall = [w for _, _, _, w in rows]
        print(
            f"{folder[-40:]:40s} {tex:14s} {'/'.join(sorted(passes)):12s}"
            f"  {statistics.median(cpu):8.2f} s  {min(cpu):5.2f} s  {statistics.median(wall):9.2f} s"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
