"""Reading spec files: the key-to-line lookup and the read-time limits.

    PYTHONPATH=. python bench/bench_spec_read.py      # from the repository root

Prints a table: for TOML texts with N keys under ``[hyper]``, the time to
build the line table (:class:`gradproof.derive.specs.spec._Lines`, one pass) and to look up
every key, and the time ``parse_spec`` takes to read a spec with that many
hyperparameters (above ``MAX_HYPER`` it is refused with one line).  A lookup
that scanned the file for every key would grow with N^2; this one grows
with N.
"""

from __future__ import annotations

import time


def text_with(n: int) -> str:
    rows = ['name = "many"', 'category = "activation"', 'forward = "s * h1"', "[hyper]"]
    rows += [f"h{k} = 0.5" for k in range(n)]
    return "\n".join(rows) + "\n"


def main() -> None:
    from gradproof.derive.specs.spec import SpecError, _Lines, parse_spec

    print(f"{'keys':>6}  {'bytes':>7}  {'line table + all lookups':>24}  {'parse_spec':>10}  outcome")
    for n in (100, 200, 1000, 5000, 20000):
        text = text_with(n)
        t0 = time.perf_counter()
        lines = _Lines(text)
        for k in range(n):
            lines.of(f"h{k}", "hyper")
        t1 = time.perf_counter()
        try:
            parse_spec(text, "many.toml")
            outcome = "read"
        except SpecError as err:
            outcome = "refused: " + err.problem
        t2 = time.perf_counter()
        print(f"{n:>6}  {len(text):>7}  {t1 - t0:>22.4f} s  {t2 - t1:>8.3f} s  {outcome}")


if __name__ == "__main__":
    main()
