"""``gradproof coverage``: the lecture's statements with their verified status (docs/lecture-coverage.md)."""

from __future__ import annotations


def cmd_coverage(args) -> int:
    from gradproof.reports import coverage

    argv = (["--write"] if args.write else []) + (["--check"] if args.check else [])
    return coverage.main(argv)
