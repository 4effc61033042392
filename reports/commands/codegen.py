"""``gradproof codegen``: write generated NumPy modules into a folder."""

from __future__ import annotations

import os
import sys

from gradproof.reports.commands.topics import load_specs, resolve
from gradproof.reports.errors import CLIError


def cmd_codegen(args) -> int:
    from gradproof.derive.lecture.registry import derive
    from gradproof.derive.output.codegen import CodegenError, write_module
    from gradproof.derive.support.atomic import OutputError, OutputFolder, write_atomic

    user = load_specs(args.spec)
    names = list(args.topics) + [t.name for t in user if t.name not in args.topics]
    topics = resolve(names) if names else resolve([])
    ders, sources = [], {}
    for t in topics:
        d = derive(t)
        if d.code is None and d.extra.get("numpy_source") and t.name.isidentifier():
            # a spec file's [[expression]]: the module `gradproof diff --format numpy` prints, once proved
            if not d.passed:
                raise CLIError(f"expression {t.name!r} failed its exact proof; no code generated", 1)
            sources[t.name] = d.extra["numpy_source"]
            continue
        if d.code is None:
            if names:
                raise CLIError(f"topic {t.name!r} ({t.category}) has no code to generate", 2)
            continue
        if not d.passed:
            failed = [p for p in d.proofs if not p.passed]
            raise CLIError(
                f"topic {t.name!r} failed its exact proof ({failed[0].key}: {failed[0].detail}); no code generated", 1
            )
        ders.append(d)
    out = args.output
    try:
        # built beside the folder, swapped in when complete; locked against a second run
        with OutputFolder(out, command="codegen", follow_symlinks=args.follow_symlinks) as folder:
            paths = [write_module(d, folder.path) for d in ders]
            for name, source in sources.items():
                paths.append(write_atomic(os.path.join(folder.path, name + ".py"), source))
            folder.commit()
    except OutputError as err:
        raise CLIError(str(err), 2) from None
    except OSError as err:
        raise CLIError(f"cannot write into {out}: {err.strerror or err}", 2) from None
    except CodegenError as err:
        raise CLIError(str(err), 2) from None
    for p in paths:
        print(os.path.join(out, os.path.basename(p)))
    print(f"{len(paths)} module(s) written to {out}", file=sys.stderr)
    return 0
