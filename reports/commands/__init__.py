"""The ``gradproof`` commands: one module each, loaded only when it runs.

:data:`COMMANDS` is the command table the entry point
(:mod:`gradproof.reports.cli`) builds its parser from; a command module
defines ``cmd_<name>(args)`` and raises
:class:`gradproof.reports.errors.CLIError` for a user-facing error.  Nothing
here imports a command, so ``gradproof --help`` stays fast and never imports
SymPy.

>>> COMMANDS["report"][0]
'report'
"""

from __future__ import annotations

# command -> (module under gradproof.reports.commands, one-line help)
COMMANDS = {
    "list": ("topics", "list every topic with its category"),
    "derive": ("topics", "print a topic's derivation step by step, and its results"),
    "codegen": ("codegen", "write generated NumPy modules into a folder"),
    "verify": ("verify", "run every verification layer (exact and numeric)"),
    "report": ("report", "the main job: the verified lecture as HTML, LaTeX and PDF"),
    "train": ("train", "train a generated MLP on the bundled digits data"),
    "exercises": ("exercises", "list the seminar exercise bank"),
    "check": ("exercises", "check one seminar answer"),
    "grade": ("exercises", "grade a class's answers from a CSV file"),
    "experiment": ("experiment", "run one of the lecture's experiments with your settings (init)"),
    "coverage": ("coverage", "the lecture's statements, slide by slide, with their verified status"),
    "sheet": ("sheet", "printable exercise and solution sheets (HTML, LaTeX, PDF)"),
    "cache": ("cache", "show or clear the derivation cache"),
    "serve": ("serve", "serve the seminar on the web: student pages and the tutor's dashboard"),
    "export": ("export", "export the exercise bank to another platform (prairielearn)"),
    "diff": ("diff", "differentiate a matrix expression, proved entry by entry"),
}

# commands that derive, and so read and write the derivation cache unless --no-cache
CACHED = ("derive", "codegen", "verify", "report")
