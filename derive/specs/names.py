"""The names and shapes a spec may declare: identifiers that hide nothing, dimensions the engine knows."""

from __future__ import annotations

import builtins
import keyword
import re

from gradproof.derive.lecture.functions import spelled
from gradproof.derive.specs.toml_text import SpecError

# Dimensions a spec's shapes may use (the engine's symbols; m is the sample count).
_DIMS = ("n", "K")
# Names a user may not take for a hyperparameter or parameter: the engine's
# and the generated code's own names.
_RESERVED = {
    "s",
    "z",
    "y",
    "yhat",
    "delta",
    "Delta",
    "m",
    "n",
    "K",
    "np",
    "z_next",
    "sum",
    "e",
    "pi",
    "exp",
    "log",
    "sqrt",
    "tanh",
    "sigma",
    "sigmoid",
    "softplus",
    "abs",
    "Piecewise",
    "True",
    "otherwise",
    "forward",
    "backward",
    "delta_in",
    "float",
} | set(spelled("specs"))


def _ident(path, lines, value, what, line):
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", value):
        raise SpecError(path, line, f"{what} {value!r} must be a name (letters, digits, _; not starting with a digit)")
    if keyword.iskeyword(value):
        raise SpecError(path, line, f"{what} {value!r} is a Python keyword; choose another name (e.g. {value[:3]}_)")
    if what in ("hyperparameter", "parameter") and (value.startswith("_") or value in _BUILTIN_NAMES):
        # the name becomes an argument of the generated functions: it must not hide
        # their helpers (_sigmoid) or the builtins they call (float)
        raise SpecError(path, line, f"{what} {value!r} would hide a name the generated code uses; choose another")
    return value


_BUILTIN_NAMES = frozenset(dir(builtins))


def _dims(path, line, value, what):
    items = [value] if isinstance(value, (str, int)) else value
    if not isinstance(items, list) or len(items) > 2:
        raise SpecError(path, line, f'{what}: a shape is "n", "K" or ["n", "K"]')
    from gradproof.derive.engine.modules import K, n

    table = {"n": n, "K": K}
    out = []
    for d in items:
        if d not in table:
            raise SpecError(
                path,
                line,
                f"{what}: unknown dimension {d!r}; use {' or '.join(_DIMS)} (m, the number of samples, is implicit)",
            )
        out.append(table[d])
    return tuple(out)
