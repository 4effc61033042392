"""``gradproof cache info`` and ``gradproof cache clear``: the derivation cache (derive/support/cache.py)."""

from __future__ import annotations

import json
import sys

from gradproof.reports.errors import CLIError


def _size(n: int) -> str:
    for unit in ("bytes", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return str(n)  # pragma: no cover


def cmd_cache(args) -> int:
    from gradproof.derive.support import cache

    folder = cache.cache_dir()
    try:
        if args.action == "clear":
            from gradproof.numeric import ckernel

            n = cache.clear()
            print(f"removed {n} entr{'y' if n == 1 else 'ies'} from {folder}")
            folder = ckernel.kernel_dir()
            k = ckernel.clear()
            print(f"removed {k} compiled step{'' if k == 1 else 's'} from {folder}")
            return 0
        facts = cache.info()
    except OSError as err:
        verb = "read" if args.action == "info" else "clear"
        raise CLIError(f"cannot {verb} the cache at {folder}: {err.strerror or err}", 2) from None
    if args.json:
        json.dump(facts, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    print(f"path:    {facts['path']}")
    print(f"entries: {facts['entries']}")
    print(f"size:    {_size(facts['bytes'])}")
    if not facts["enabled"]:
        print(f"(off in this environment: {cache.ENV_OFF} is set)")
    return 0
