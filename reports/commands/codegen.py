"""``gradproof codegen``: write generated NumPy modules into a folder."""
from __future__ import annotations

import os
import sys

from reports.cli import CLIError
from reports.commands.topics import load_specs, resolve


def cmd_codegen(args) -> int:
    from derive.codegen import CodegenError, write_module
    from derive.registry import derive

    user = load_specs(args.spec)
    names = list(args.topics) + [t.name for t in user if t.name not in args.topics]
    topics = resolve(names) if names else resolve([])
    ders = []
    for t in topics:
        d = derive(t)
        if d.code is None:
            if names:
                raise CLIError(f"topic {t.name!r} ({t.kind}) has no code to generate", 2)
            continue
        if not d.passed:
            failed = [p for p in d.proofs if not p.passed]
            raise CLIError(f"topic {t.name!r} failed its exact proof ({failed[0].key}: {failed[0].detail}); "
                           "no code generated", 1)
        ders.append(d)
    out = args.output
    if os.path.exists(out) and not os.path.isdir(out):
        raise CLIError(f"{out} exists and is not a folder", 2)
    try:
        os.makedirs(out, exist_ok=True)
        for d in ders:
            path = write_module(d, out)
            print(path)
    except OSError as err:
        raise CLIError(f"cannot write into {out}: {err.strerror or err}", 2) from None
    except CodegenError as err:
        raise CLIError(str(err), 2) from None
    print(f"{len(ders)} module(s) written to {out}", file=sys.stderr)
    return 0
