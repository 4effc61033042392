"""``gradproof verify``: every verification layer, as a table or JSON records."""

from __future__ import annotations

import json
import math
import sys

from gradproof.reports.commands.topics import load_specs, resolve
from gradproof.reports.errors import CLIError


def cmd_verify(args) -> int:
    from gradproof.reports.console import Bar
    from gradproof.reports.verify import NETWORKS, verify_topic

    user = load_specs(args.spec)
    names = [n for n in args.topics if n not in NETWORKS]
    nets = [n for n in args.topics if n in NETWORKS]
    if args.topics:
        topics = [t.name for t in resolve(names)] if names else []
    else:
        topics = [t.name for t in resolve([])] + list(NETWORKS)
    topics += [t.name for t in user if t.name not in topics]
    topics += nets
    if args.code is not None:
        import os

        if not os.path.isdir(args.code):
            raise CLIError(f"{args.code} is not a folder", 2)
    from gradproof.derive.lecture.registry import derive_many

    derive_many([t for t in topics if t not in NETWORKS])  # over the cores
    records = []
    with Bar(len(topics), "verify") as bar:
        for name in topics:
            records += verify_topic(name, code_dir=args.code)
            bar.advance(name)
    failed = [r for r in records if not r.passed]
    if args.json:
        json.dump([r.to_json() for r in records], sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        _table(records)
        print(f"\n{len(records) - len(failed)} passed, {len(failed)} failed")
    if failed:
        if args.json:
            for r in failed[:5]:
                print(f"FAILED {r.topic}: {r.check}: {r.detail}", file=sys.stderr)
        return 1
    return 0


def _fmt(x) -> str:
    if x is None or not math.isfinite(x):
        return "-"
    return f"{x:.1e}"


def _table(records) -> None:
    tw = max([len(r.topic) for r in records] + [5])
    cw = min(max([len(r.check) for r in records] + [5]), 70)
    print(f"{'topic':<{tw}}  {'check':<{cw}}  {'max rel err':>11}  {'tolerance':>9}  result")
    for r in records:
        check = r.check if len(r.check) <= cw else r.check[: cw - 1] + "~"
        print(
            f"{r.topic:<{tw}}  {check:<{cw}}  {_fmt(r.max_rel_error):>11}  {_fmt(r.tolerance):>9}  "
            f"{'PASS' if r.passed else 'FAIL'}"
        )
        if not r.passed and r.detail:
            print(f"    {r.detail}")
