"""The ``gradproof`` command line.

Each command lives in ``reports/commands/<name>.py`` (the table is
:data:`gradproof.reports.commands.COMMANDS`) and is imported only when it
runs, so ``gradproof --help`` stays fast and never imports SymPy.  Commands
raise :class:`gradproof.reports.errors.CLIError`, which this entry point
prints as one line.

>>> build_parser().prog
'gradproof'
"""

from __future__ import annotations

import argparse
import importlib
import sys

from gradproof.reports.commands import CACHED, COMMANDS
from gradproof.reports.errors import CLIError, one_line


class Stopped(KeyboardInterrupt):
    """SIGTERM or SIGINT arrived: the run stops, cleans up and exits 128 + signal."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


_STOPPED: list[int] = []


def _install_stop_handlers() -> dict:
    """SIGINT and SIGTERM raise :class:`Stopped` in the main thread, once.

    Unwinding runs every ``finally`` and ``with`` block: worker pools kill
    and reap their workers, an unfinished output folder is removed.  A second
    signal during that clean-up is ignored (SIGKILL still ends the process).
    """
    import signal

    def on_signal(signum, frame):
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)
        _STOPPED.append(signum)  # remembered even if some callback swallows the exception
        raise Stopped(signum)

    # Installed whatever was inherited (an ignored or blocked SIGINT, as in a
    # background job): stopping cleanly is always safe, and a run that
    # cannot be stopped would leave only SIGKILL.
    old = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    return old  # restored when the command returns (main() may run inside a longer process)


def _stopped(command: str, signum: int) -> int:
    import signal

    name = {signal.SIGINT: "interrupted (SIGINT)", signal.SIGTERM: "terminated (SIGTERM)"}[signum]
    print(f"gradproof {command}: {name}; stopped cleanly, nothing half-written left", file=sys.stderr)
    return 128 + signum


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gradproof",
        description="Derive, generate, verify and report the mathematics of neural networks.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, help_) in COMMANDS.items():
        p = sub.add_parser(name, help=help_, description=help_)
        _ARGS[name](p)
        if name in CACHED:
            p.add_argument(
                "--no-cache", action="store_true", help="derive afresh: neither read nor write the derivation cache"
            )
    return parser


def _spec(p):
    p.add_argument(
        "--spec",
        metavar="FILE",
        action="append",
        default=[],
        help="a user-defined module (TOML), treated like a built-in topic",
    )


def _follow(p):
    p.add_argument(
        "--follow-symlinks",
        action="store_true",
        help="allow -o to be a symbolic link (the folder it points to is replaced)",
    )


def _args_list(p):
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def _args_derive(p):
    p.add_argument("topic", nargs="?", help="topic name (see `gradproof list`)")
    p.add_argument("--format", choices=["text", "latex", "json"], default="text")
    _spec(p)


def _args_codegen(p):
    p.add_argument("topics", nargs="*", metavar="TOPIC", help="topics (default: every module)")
    p.add_argument(
        "-o",
        "--output",
        metavar="DIR",
        required=True,
        help="folder to write into (new, empty, or written by an earlier codegen)",
    )
    _follow(p)
    _spec(p)


def _args_verify(p):
    p.add_argument("topics", nargs="*", metavar="TOPIC", help="topics (default: all, and the networks)")
    p.add_argument("--json", action="store_true", help="print JSON records")
    p.add_argument(
        "--code",
        metavar="DIR",
        default=None,
        help="check the modules in DIR (as written by `gradproof codegen`) instead of the bundled ones",
    )
    _spec(p)


def _args_report(p):
    p.add_argument("topics", nargs="*", metavar="TOPIC", help="topics (default: the whole lecture)")
    p.add_argument(
        "-o",
        "--output",
        metavar="DIR",
        default="gradproof-report",
        help="folder to write into (new, empty, or an earlier report's)",
    )
    p.add_argument("--format", default="html,latex,pdf", help="comma-separated: html, latex, pdf")
    p.add_argument(
        "--timings", action="store_true", help="print where the time went on stderr (also GRADPROOF_TIMINGS=1)"
    )
    _follow(p)
    _spec(p)
    _expr(p)


class _ExprAction(argparse.Action):
    """``--expr EXPR [--wrt VAR] [--hessian]``, repeatable: each --wrt / --hessian belongs to the --expr before it."""

    def __call__(self, parser, namespace, values, option_string=None):
        items = [dict(x) for x in getattr(namespace, self.dest, None) or []]
        if option_string == "--expr":
            items.append({"expr": values, "wrt": None, "hessian": False})
        elif not items:
            parser.error(f"{option_string} belongs to an --expr: write it after one")
        elif option_string == "--wrt":
            if items[-1]["wrt"] is not None:
                parser.error(f"--expr {items[-1]['expr'][:40]!r} has two --wrt")
            items[-1]["wrt"] = values
        else:
            items[-1]["hessian"] = True
        setattr(namespace, self.dest, items)


def _expr(p):
    p.add_argument(
        "--expr",
        metavar="EXPR",
        dest="exprs",
        action=_ExprAction,
        default=[],
        help="your own expression as a verified topic (repeatable; each followed by its --wrt VAR)",
    )
    p.add_argument(
        "--wrt", metavar="VAR", dest="exprs", action=_ExprAction, help="the variable of the --expr before it"
    )
    p.add_argument("--hessian", nargs=0, dest="exprs", action=_ExprAction, help="the Hessian of the --expr before it")
    p.add_argument(
        "--shape",
        metavar="NAME=r,c",
        action="append",
        default=[],
        help="a name's shape in every --expr: NAME=rows,cols or NAME=scalar",
    )


def _args_train(p):
    p.add_argument("--json", action="store_true", help="print the run as JSON")
    p.add_argument("--epochs", type=int, default=None, help="gradient-descent iterations")
    p.add_argument("--seed", type=int, default=0)
    # validated by the command: a bad value is one line on stderr, exit 2
    p.add_argument("--alpha", default=None, help="initial learning rate alpha_0 (default 1)")
    p.add_argument("--init", default=None, help="xavier (default), glorot, he, or gaussian with --sigma0")
    p.add_argument("--sigma0", default=None, help="standard deviation of Gaussian initial weights")
    p.add_argument("--activation", default=None, help="hidden activation: tanh (default), sigmoid, relu, leaky_relu")
    p.add_argument("--hidden", default=None, help="hidden units (default 128)")
    p.add_argument("--l1", default=None, metavar="LAMBDA", help="L1 penalty lambda ||W||_1 on the weights")
    p.add_argument("--l2", default=None, metavar="LAMBDA", help="L2 penalty lambda ||W||^2 on the weights")
    p.add_argument(
        "--validation",
        default=None,
        metavar="FRACTION",
        help="hold out this fraction of the training images as a validation set",
    )
    p.add_argument(
        "--early-stopping",
        default=None,
        metavar="PATIENCE",
        dest="patience",
        help="stop when the validation loss has not improved for PATIENCE evaluations "
        "(every 10 iterations); keep the best parameters",
    )
    p.add_argument("--train-size", default=None, metavar="N", help="use only N training images (to see overfitting)")


def _args_exercises(p):
    p.add_argument("--json", action="store_true")


def _args_check(p):
    p.add_argument("exercise", help="exercise id (see `gradproof exercises`)")
    p.add_argument("answer", nargs="?", default=None, help='the answer, e.g. "A^T (b - c)"')
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
    p.add_argument(
        "-o",
        "--output",
        metavar="DIR",
        default="gradproof-grades",
        help="folder to write into (new, empty, or an earlier grade run's)",
    )
    _follow(p)


def _args_experiment(p):
    # values are validated by the command itself: a bad one is one line on stderr, exit 2
    p.add_argument("experiment", metavar="EXPERIMENT", help="init: the initialisation experiment")
    p.add_argument("--layers", default="10", help="number of layers (default 10)")
    p.add_argument("--width", default="500", help="units per layer (default 500)")
    p.add_argument("--activation", default="tanh", help="tanh, sigmoid, relu or leaky_relu (default tanh)")
    p.add_argument("--sigma0", default=None, help="Gaussian weights N(0, sigma0^2) (default 1)")
    p.add_argument("--init", default=None, help="a named initialisation instead: xavier, glorot or he")
    p.add_argument("--samples", default="1000", help="input samples (default 1000)")
    p.add_argument("--seed", default="0")
    p.add_argument("-o", "--output", metavar="FILE", default=None, help="write the figure (.svg, .pdf or .png)")
    p.add_argument("--json", action="store_true", help="print the measurements as JSON")
    p.add_argument("--hist", action="store_true", help="with --json: include the histograms")


def _args_coverage(p):
    p.add_argument("--write", action="store_true", help="rewrite docs/lecture-coverage.md")
    p.add_argument("--check", action="store_true", help="exit 1 when docs/lecture-coverage.md is stale")


def _args_cache(p):
    p.add_argument("action", choices=["info", "clear"], help="info: folder, entries, size; clear: remove every entry")
    p.add_argument("--json", action="store_true", help="print `info` as JSON")


def _args_diff(p):
    p.add_argument("expr", metavar="EXPR", help='e.g. "(X w - y)^T (X w - y) + lambda w^T w"')
    p.add_argument("--wrt", metavar="VAR", required=True, help="the variable to differentiate by")
    p.add_argument(
        "--shape",
        metavar="NAME=r,c",
        action="append",
        default=[],
        help="override a name's shape: NAME=rows,cols or NAME=scalar",
    )
    p.add_argument("--hessian", action="store_true", help="the Hessian of a scalar expression of a vector")
    p.add_argument("--format", choices=["text", "latex", "json", "numpy"], default="text")


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
    "experiment": _args_experiment,
    "coverage": _args_coverage,
    "sheet": _args_sheet,
    "cache": _args_cache,
    "serve": lambda p: _args_serve(p),
    "export": lambda p: _args_export(p),
    "diff": _args_diff,
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
    _follow(p)


def _derivation_cache(args):
    """Off for the command under --no-cache, or when its folder is unusable (said once, on stderr)."""
    import contextlib

    if args.command not in CACHED:
        return contextlib.nullcontext()
    from gradproof.derive.support import cache

    if args.no_cache or (cache.enabled() and not cache.usable()):
        return cache.disabled()
    return contextlib.nullcontext()


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 0
    import signal
    import threading

    previous = _install_stop_handlers() if threading.current_thread() is threading.main_thread() else {}
    _STOPPED.clear()
    try:
        module = importlib.import_module("gradproof.reports.commands." + COMMANDS[args.command][0])
        handler = getattr(module, "cmd_" + args.command)
        with _derivation_cache(args):
            code = int(handler(args) or 0)
        if _STOPPED:  # the signal came too late to stop the run: it finished, but say so
            raise Stopped(_STOPPED[0])
        return code
    except Stopped as err:
        return _stopped(args.command, err.signum)
    except CLIError as err:
        if _STOPPED:  # the clean-up after a signal failed in its turn: the signal is the news
            return _stopped(args.command, _STOPPED[0])
        print(f"gradproof {args.command}: {one_line(str(err))}", file=sys.stderr)
        return err.code
    except KeyboardInterrupt:
        print(f"gradproof {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return _stopped(args.command, _STOPPED[0]) if _STOPPED else 0
    except Exception:
        if _STOPPED:
            return _stopped(args.command, _STOPPED[0])
        raise
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
