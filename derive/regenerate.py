"""Regenerate ``numeric/generated/`` from the registry: ``python -m derive.regenerate``.

The generated files are committed; ``tests/numeric/test_generated_fresh.py``
fails when they differ from what this writes.
"""
from __future__ import annotations

import os
import sys

GENERATED = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "numeric", "generated")


def expected_files() -> dict[str, str]:
    """File name -> source, for every topic with code, in lecture order."""
    from derive.codegen import generate, generated_topics

    return {f"{d.topic}.py": generate(d) for d in generated_topics()}


def main() -> int:
    from derive.codegen import write_module
    from derive.codegen import generated_topics

    keep = {"__init__.py"}
    for d in generated_topics():
        write_module(d, GENERATED)
        keep.add(f"{d.topic}.py")
    for name in os.listdir(GENERATED):
        if name.endswith(".py") and name not in keep:
            os.unlink(os.path.join(GENERATED, name))
            print(f"removed stale {name}", file=sys.stderr)
    print(f"{len(keep) - 1} generated modules in {GENERATED}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
