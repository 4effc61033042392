"""The ``gradproof`` command line.

Each command lives in ``reports/commands/<name>.py`` and is imported only when
it runs, so ``gradproof --help`` stays fast and never imports SymPy.

>>> build_parser().prog
'gradproof'
"""
from __future__ import annotations

import argparse
import importlib
import sys

# command -> (module under reports.commands, one-line help)
COMMANDS = {
    "list": ("topics", "list every topic with its kind"),
    "derive": ("topics", "print a topic's derivation step by step, and its results"),
    "codegen": ("codegen", "write generated NumPy modules into a folder"),
    "verify": ("verify", "run every verification layer (exact and numeric)"),
    "report": ("report", "the main job: the verified lecture as HTML, LaTeX and PDF"),
    "train": ("train", "train a generated MLP on the bundled digits data"),
    "exercises": ("exercises", "list the seminar exercise bank"),
    "check": ("exercises", "check one seminar answer"),
    "grade": ("exercises", "grade a class's answers from a CSV file"),
    "cache": ("cache", "show or clear the derivation cache"),
    "sheet": ("sheet", "printable exercise and solution sheets (HTML, LaTeX, PDF)"),
    "serve": ("serve", "serve the seminar on the web: student pages and the tutor's dashboard"),
    "export": ("export", "export the exercise bank to another platform (prairielearn)"),
}

# commands that derive, and so read and write the derivation cache unless --no-cache
_CACHED = ("derive", "codegen", "verify", "report")


class CLIError(Exception):
    """A user-facing error: one line on stderr and an exit code."""

    def __init__(self, message: str, code: int = 2):
        super().__init__(message)
        self.code = code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gradproof",
        description="Derive, generate, verify and report the mathematics of neural networks.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, help_) in COMMANDS.items():
        p = sub.add_parser(name, help=help_, description=help_)
        _ARGS[name](p)
        if name in _CACHED:
            p.add_argument("--no-cache", action="store_true",
                           help="derive afresh: neither read nor write the derivation cache")
    return parser


def _spec(p):
    p.add_argument("--spec", metavar="FILE", action="append", default=[],
                   help="a user-defined module (TOML), treated like a built-in topic")


def _args_list(p):
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _args_derive(p):
    p.add_argument("topic", nargs="?", help="topic name (see `gradproof list`)")
    p.add_argument("--format", choices=["text", "latex", "json"], default="text")
    _spec(p)


def _args_codegen(p):
    p.add_argument("topics", nargs="*", metavar="TOPIC", help="topics (default: every module)")
    p.add_argument("-o", "--output", metavar="DIR", required=True, help="folder to write into")
    _spec(p)


def _args_verify(p):
    p.add_argument("topics", nargs="*", metavar="TOPIC", help="topics (default: all, and the networks)")
    p.add_argument("--json", action="store_true", help="print JSON records")
    p.add_argument("--code", metavar="DIR", default=None,
                   help="check the modules in DIR (as written by `gradproof codegen`) instead of the bundled ones")
    _spec(p)


def _args_report(p):
    p.add_argument("topics", nargs="*", metavar="TOPIC", help="topics (default: the whole lecture)")
    p.add_argument("-o", "--output", metavar="DIR", default="gradproof-report")
    p.add_argument("--format", default="html,latex,pdf", help="comma-separated: html, latex, pdf")
    _spec(p)


def _args_train(p):
    p.add_argument("--json", action="store_true", help="print the run as JSON")
    p.add_argument("--epochs", type=int, default=None, help="gradient-descent iterations")
    p.add_argument("--seed", type=int, default=0)


def _args_exercises(p):
    p.add_argument("--json", action="store_true")


def _args_check(p):
    p.add_argument("exercise", help="exercise id (see `gradproof exercises`)")
    p.add_argument("answer", nargs="?", default=None, help="the answer, e.g. \"A^T (b - c)\"")
    p.add_argument("--json", action="store_true")
    p.add_argument("--hint", type=int, default=0, metavar="N", help="show the first N hints (recorded)")
    p.add_argument("--solution", action="store_true", help="show the worked solution (recorded: credit 0)")
    p.add_argument("--student", default=None, help="check against this student's variant")


def _args_sheet(p):
    p.add_argument("exercises", nargs="*", metavar="EXERCISE", help="exercise ids (default: the whole bank)")
    p.add_argument("-o", "--output", metavar="DIR", default="gradproof-sheets")
    p.add_argument("--variant-for", metavar="STUDENT", default=None, help="this student's variants")
    p.add_argument("--format", default="html,latex,pdf", help="comma-separated: html, latex, pdf")


def _args_grade(p):
    p.add_argument("answers", metavar="ANSWERS.csv", help="CSV with columns student, exercise, answer")
    p.add_argument("-o", "--output", metavar="DIR", default="gradproof-grades")


def _args_cache(p):
    p.add_argument("action", choices=["info", "clear"], help="info: folder, entries, size; clear: remove every entry")
    p.add_argument("--json", action="store_true", help="print `info` as JSON")


_ARGS = {
    "list": _args_list,
    "derive": _args_derive,
    "codegen": _args_codegen,
    "verify": _args_verify,
    "report": _args_report,
    "train": _args_train,
    "exercises": _args_exercises,
    "check": _args_check,
    "grade": _args_grade,
    "cache": _args_cache,
    "sheet": _args_sheet,
    "serve": lambda p: _args_serve(p),
    "export": lambda p: _args_export(p),
}


def _args_serve(p):
    p.add_argument("--roster", metavar="CSV", required=True, help="class roster: columns student[,name]")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: this machine only)")
    p.add_argument("--data", metavar="DIR", default="seminar-data", help="folder of the SQLite database")
    p.add_argument("--codes-out", metavar="FILE", help="write new access codes to FILE (CSV) instead of printing")
    p.add_argument("--new-codes", action="store_true", help="issue every student a new code (old ones stop working)")
    p.add_argument("--new-tutor-secret", action="store_true", help="issue a new tutor secret")
    p.add_argument("--exercises", metavar="IDS", help="comma-separated exercise ids (default: the whole bank)")
    p.add_argument("--lanes", type=int, default=2, help="checks run at the same time (worker processes)")
    p.add_argument("--secure-cookies", action="store_true", help="mark cookies Secure (behind an HTTPS proxy)")
    p.add_argument("--proxy-headers", action="store_true", help="trust X-Forwarded-* from --forwarded-allow-ips")
    p.add_argument("--forwarded-allow-ips", default="127.0.0.1", metavar="IPS")
    p.add_argument("--init-only", action="store_true", help="create the database and codes, then exit")


def _args_export(p):
    p.add_argument("platform", choices=["prairielearn"])
    p.add_argument("-o", "--output", metavar="DIR", required=True, help="folder to write the questions into")
    p.add_argument("--exercises", metavar="IDS", help="comma-separated exercise ids (default: the whole bank)")


def _derivation_cache(args):
    """Off for the command under --no-cache, or when its folder is unusable (said once, on stderr)."""
    import contextlib

    if args.command not in _CACHED:
        return contextlib.nullcontext()
    from derive import cache

    if args.no_cache or (cache.enabled() and not cache.usable()):
        return cache.disabled()
    return contextlib.nullcontext()


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 0
    module = importlib.import_module("reports.commands." + COMMANDS[args.command][0])
    handler = getattr(module, "cmd_" + args.command)
    try:
        with _derivation_cache(args):
            return int(handler(args) or 0)
    except CLIError as err:
        print(f"gradproof {args.command}: {err}", file=sys.stderr)
        return err.code
    except KeyboardInterrupt:
        print(f"gradproof {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    # run as `python -m reports.cli`: use the importable module, so that the
    # commands' CLIError is the class this entry point catches
    from reports.cli import main as _main

    sys.exit(_main())
