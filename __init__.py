"""gradproof: verified derivations of neural-network mathematics.

The public API is filled in lazily, so ``import gradproof`` (and the command
line's ``--help``) never imports SymPy.  Subpackages: :mod:`gradproof.derive`
(derivation, proof and code generation), :mod:`gradproof.numeric` (NumPy only)
and :mod:`gradproof.reports` (command line and documents).
"""

from __future__ import annotations

import importlib

__all__ = ["derive", "numeric", "reports"]

_SUBPACKAGES = {"derive", "numeric", "reports"}


def __getattr__(name: str):
    if name in _SUBPACKAGES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
