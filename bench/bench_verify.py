"""Benchmark of the verification layers: ``verify_topic`` per topic and per layer, CPU seconds.

Each side -- "after", the gradproof this script belongs to, and "before",
another revision of it (``--before REF``, unpacked with ``git archive``) --
runs in fresh processes with one BLAS thread (as the report's workers do),
alternately (before, after, before, after, ...), so
both see the same load.  A run derives every topic first (from the
derivation cache when it holds them: deriving is not what is measured), then
times :func:`gradproof.reports.verify.verify_topic` for every topic and the
three networks in CPU seconds (``time.process_time``), split by layer:

    exact          the derivation's exact proofs as records
    central        full-Jacobian central differences (small shapes)
    directional    random-direction checks (small shapes)
    complex        the complex step (small shapes)
    dir. large     random-direction checks at m=16, n=24, K=20
    mutation       planted faults, each run through the checker
    acc. refs      the accuracy layer's high-precision references
    acc. compare   the generated code at the accuracy points, compared
    stats          statistical and lecture checks
    networks       MLP, DAG and RNN as wholes
    other          the rest (loading generated modules, ...)

A layer's time excludes the layers called inside it (a mutant's checks count
as mutation).  The table gives the median over ``--rounds`` of each side, the
load average when the runs started and ended, and how the records of the two
sides compare: the same check names in the same order, the same pass/fail,
and how many relative errors differ.

    python bench/bench_verify.py [--before 2743884] [--rounds 3] [--topics a,b] [--profile 30]
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
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LAYERS = (
    "exact",
    "central",
    "directional",
    "complex",
    "dir. large",
    "mutation",
    "acc. refs",
    "acc. compare",
    "stats",
    "networks",
    "other",
)


def _unpack(ref: str, dest: Path) -> None:
    pkg = dest / "gradproof"
    pkg.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", ref], check=True, capture_output=True).stdout
    subprocess.run(["tar", "x", "-C", str(pkg)], input=archive, check=True)


def _link(dest: Path) -> None:
    dest.mkdir(parents=True)
    (dest / "gradproof").symlink_to(REPO)


# ---------------------------------------------------------------------------
# The measuring side (runs in a fresh process with one gradproof on its path).
# ---------------------------------------------------------------------------


class _Layers:
    """Exclusive CPU time per layer, from wrappers around the layers' entry points."""

    def __init__(self):
        self.stack: list[list] = []  # [layer, start, time spent in nested layers]
        self.totals: dict[str, float] = {}

    def wrap(self, owner, attr: str, layer, inside=None):
        orig = getattr(owner, attr)

        def timed(*args, **kwargs):
            name = layer(args, kwargs) if callable(layer) else layer
            if inside is not None and (not self.stack or self.stack[-1][0] not in inside):
                return orig(*args, **kwargs)  # counted by the enclosing layer
            self.stack.append([name, time.process_time(), 0.0])
            try:
                return orig(*args, **kwargs)
            finally:
                n, t0, nested = self.stack.pop()
                spent = time.process_time() - t0
                self.totals[n] = self.totals.get(n, 0.0) + spent - nested
                if self.stack:
                    self.stack[-1][2] += spent

        setattr(owner, attr, timed)


def _instrument() -> _Layers:
    from gradproof.derive.proof import accuracy as proof_accuracy
    from gradproof.numeric import accuracy, gradcheck, mutation
    from gradproof.reports import verify

    lay = _Layers()
    small = ("gradcheck",)
    lay.wrap(gradcheck, "central_differences", "central", inside=small)
    lay.wrap(gradcheck, "directional", "directional", inside=small)
    lay.wrap(gradcheck, "complex_step", "complex", inside=small)

    def which(args, kwargs):
        return "dir. large" if tuple(kwargs.get("methods") or ()) == ("directional",) else "gradcheck"

    lay.wrap(gradcheck, "check_module", which, inside=("numeric",))
    lay.wrap(mutation, "mutation_records", "mutation")
    lay.wrap(proof_accuracy, "reference_values", "acc. refs")
    lay.wrap(accuracy, "accuracy_records", "acc. compare")
    lay.wrap(accuracy, "points", "acc. compare")
    lay.wrap(verify, "exact_records", "exact")
    lay.wrap(verify, "numeric_records", "numeric")
    lay.wrap(verify, "accuracy_records", "accuracy")
    lay.wrap(verify, "stats_records", "stats")
    lay.wrap(verify, "network_records", "networks")
    return lay


def _worker(topics: list[str] | None, profile: int = 0) -> None:
    import cProfile
    import io
    import pstats
    import resource

    from gradproof.derive.lecture import registry
    from gradproof.reports import verify

    names = topics or [t.name for t in registry.topics()] + list(verify.NETWORKS)
    for n in names:
        if n not in verify.NETWORKS:
            registry.derive(n)
    lay = _instrument()
    per_topic, records = {}, []
    prof = cProfile.Profile() if profile else None
    for n in names:
        before = dict(lay.totals)
        t0 = time.process_time()
        if prof:
            prof.enable()
        recs = verify.verify_topic(n)
        if prof:
            prof.disable()
        spent = time.process_time() - t0
        layers = {k: v - before.get(k, 0.0) for k, v in lay.totals.items()}
        per_topic[n] = {"cpu": spent, "layers": {k: v for k, v in layers.items() if v}}
        records += [[r.topic, r.check, r.max_rel_error, r.passed] for r in recs]
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    text = ""
    if prof:
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("cumulative").print_stats(profile)
        text = buf.getvalue()
    json.dump(
        {
            "topics": per_topic,
            "records": records,
            "children_cpu": children.ru_utime + children.ru_stime,
            "profile": text,
        },
        sys.stdout,
    )


# ---------------------------------------------------------------------------
# The driving side.
# ---------------------------------------------------------------------------


def _layer_of(name: str) -> str:
    return {"gradcheck": "other", "numeric": "other", "accuracy": "other"}.get(name, name)


def _run(root: Path, topics: str, profile: int = 0) -> dict:
    # one BLAS thread, as in the report's workers (reports/build.py)
    env = {**os.environ, "PYTHONPATH": str(root), "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--topics", topics, "--profile", str(profile)]
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True, cwd=tempfile.gettempdir())
    return json.loads(out.stdout)


def _summary(runs: list[dict]) -> tuple[dict, dict, float]:
    topics = runs[0]["topics"]
    per_topic = {t: statistics.median(r["topics"][t]["cpu"] for r in runs) for t in topics}
    per_layer = {}
    for lay in LAYERS:
        sums = []
        for r in runs:
            total = 0.0
            for t in topics:
                rec = r["topics"][t]
                layered = {}
                for k, v in rec["layers"].items():
                    layered[_layer_of(k)] = layered.get(_layer_of(k), 0.0) + v
                layered["other"] = layered.get("other", 0.0) + rec["cpu"] - sum(rec["layers"].values())
                total += layered.get(lay, 0.0)
            sums.append(total)
        per_layer[lay] = statistics.median(sums)
    return per_topic, per_layer, statistics.median(sum(r["topics"][t]["cpu"] for t in topics) for r in runs)


def _compare(before: list, after: list) -> list[str]:
    """How the records of the two sides differ, record by record (they come in the same order)."""
    if len(before) != len(after) or [r[0] for r in before] != [r[0] for r in after]:
        return [f"records DIFFER in number or topics: {len(before)} before, {len(after)} after"]
    renamed = [(b[1], a[1]) for b, a in zip(before, after) if b[1] != a[1]]
    flips = [a[:2] for b, a in zip(before, after) if b[3] != a[3]]
    differ = [(b, a) for b, a in zip(before, after) if b[2] != a[2]]
    mut = sum(1 for b, _ in differ if b[1].startswith("mutation"))
    lines = [
        f"{len(after)} records in the same order; pass/fail differs in {len(flips)}; "
        f"relative error differs in {len(differ)} ({mut} of them mutation records); "
        f"check name differs in {len(renamed)}:"
    ]
    lines += [f"  - {b}\n  + {a}" for b, a in renamed]
    lines += [f"  pass/fail differs: {t}: {c}" for t, c in flips]
    lines += [f"  {b[0]}: {b[1]}: {b[2]!r} -> {a[2]!r}" for b, a in differ if not b[1].startswith("mutation")]
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", default="2743884", help="git revision measured as 'before'")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--topics", default="", help="comma-separated topics (default: all and the networks)")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--json", help="also write the raw runs to this file")
    ap.add_argument(
        "--profile", type=int, default=0, metavar="N", help="then one cProfile run of 'after': its top N functions"
    )
    args = ap.parse_args(argv)
    if args.worker:
        _worker([t for t in args.topics.split(",") if t] or None, args.profile)
        return 0
    with tempfile.TemporaryDirectory(prefix="bench_verify_") as tmp:
        sides = {"before": Path(tmp) / "before", "after": Path(tmp) / "after"}
        _unpack(args.before, sides["before"])
        _link(sides["after"])
        runs: dict[str, list] = {"before": [], "after": []}
        load0 = os.getloadavg()
        for _ in range(args.rounds):
            for side in ("before", "after"):
                runs[side].append(_run(sides[side], args.topics))
        load1 = os.getloadavg()
        profiled = _run(sides["after"], args.topics, args.profile)["profile"] if args.profile else ""
    if args.json:
        Path(args.json).write_text(json.dumps(runs), encoding="utf-8")
    tb, lb, sb = _summary(runs["before"])
    ta, la, sa = _summary(runs["after"])
    print(f"verify_topic CPU seconds, median of {args.rounds} runs per side, before = {args.before}")
    print(
        f"load average at start {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}, at end {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}"
    )
    print()
    print(f"{'layer':14s} {'before':>8s} {'after':>8s} {'ratio':>6s}")
    for lay in LAYERS:
        ratio = la[lay] / lb[lay] if lb[lay] > 0 else float("nan")
        print(f"{lay:14s} {lb[lay]:8.3f} {la[lay]:8.3f} {ratio:6.2f}")
    print(f"{'total':14s} {sb:8.3f} {sa:8.3f} {sa / sb:6.2f}")
    print()
    print(f"{'topic':34s} {'before':>8s} {'after':>8s}")
    for t in sorted(tb, key=lambda k: -tb[k]):
        if tb[t] >= 0.005 or ta[t] >= 0.005:
            print(f"{t:34s} {tb[t]:8.3f} {ta[t]:8.3f}")
    print()
    print("records:", "\n".join(_compare(runs["before"][-1]["records"], runs["after"][-1]["records"])))
    if profiled:
        print()
        print("cProfile of 'after' (cumulative; the profiler's own overhead included):")
        print(profiled)
    return 0


if __name__ == "__main__":
    sys.exit(main())
