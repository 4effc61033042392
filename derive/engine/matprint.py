"""Printing the shaped matrix tree: plain text (the language read back) and LaTeX.

>>> from gradproof.derive.reading import read
>>> text(read("(X w - y)^T (X w - y)"))
'(X w - y)^T (X w - y)'
>>> print(latex(read("tr(A X)")))
\\operatorname{tr}\\left(A X\\right)
"""

from __future__ import annotations

from gradproof.derive.engine.matresult import DiffError
from gradproof.derive.reading.shaped import E


def text(e: E, parent: int = 0) -> str:
    """Plain-text matrix notation, the language read back."""
    op = e.op
    if op == "scale" and e.args[0].op == "num" and e.args[1].op == "ones":
        # c 1 reads back as the number c, broadcast
        return text(e.args[0], parent)
    if op == "num":
        v = e.value
        s = str(v.numerator) if v.denominator == 1 else f"{v.numerator}/{v.denominator}"
        if not e.is_scalar():
            s = "0" if v == 0 else s
        return f"({s})" if (v < 0 or v.denominator != 1) and parent > 1 else s
    if op == "var":
        return e.name
    if op == "eye":
        return "I"
    if op == "ones":
        return "1"
    if op == "add":
        l, r = e.args
        rs = text(r, 1)
        if r.op == "neg":
            s = f"{text(l, 1)} - {text(r.args[0], 2)}"
        elif r.op == "scale" and r.args[0].op == "num" and r.args[0].value < 0:
            s = f"{text(l, 1)} - {text(_positive(-r.args[0].value, r.args[1]), 2)}"
        else:
            s = f"{text(l, 1)} + {rs}"
        return f"({s})" if parent > 1 else s
    if op == "neg":
        s = "-" + text(e.args[0], 2)
        return f"({s})" if parent > 1 else s
    if op in ("scale", "mul"):
        s = f"{text(e.args[0], 3)} {text(e.args[1], 3)}"
        return f"({s})" if parent > 3 else s
    if op == "had":
        s = f"{text(e.args[0], 4)} .* {text(e.args[1], 4)}"
        return f"({s})" if parent > 2 else s
    if op == "ediv":
        by_scalar = e.args[1].is_scalar()
        sep = " / " if by_scalar else " ./ "
        # "/" binds looser than juxtaposition when read back: 2 X^T r / m is (2 X^T r) / m
        s = f"{text(e.args[0], 3 if by_scalar else 4)}{sep}{text(e.args[1], 5)}"
        return f"({s})" if parent > 2 else s
    if op == "pow":
        k = e.value
        ks = str(k) if k.denominator == 1 and k >= 0 else f"({k})"
        return f"{text(e.args[0], 6)}^{ks}"
    if op == "T":
        inner_ = e.args[0]
        if inner_.op == "inv":
            return f"{text(inner_.args[0], 6)}^{{-T}}"
        return f"{text(inner_, 6)}^T"
    if op == "inv":
        return f"{text(e.args[0], 6)}^{{-1}}"
    if op == "fn":
        return f"{e.name}({text(e.args[0])})"
    if op in ("tr", "det", "logdet", "sum", "norm2", "norm1", "normF"):
        return f"{op}({text(e.args[0])})"
    if op in ("diagm", "diagv"):
        return f"diag({text(e.args[0])})"
    raise DiffError(f"cannot print {op}")


_GREEK_TEX = {
    "lambda",
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "eta",
    "theta",
    "kappa",
    "mu",
    "nu",
    "rho",
    "sigma",
    "tau",
    "phi",
    "omega",
    "xi",
    "zeta",
    "chi",
    "psi",
    "Gamma",
    "Delta",
    "Theta",
    "Lambda",
    "Sigma",
    "Phi",
    "Psi",
    "Omega",
}


def latex(e: E, parent: int = 0) -> str:
    op = e.op
    if op == "scale" and e.args[0].op == "num" and e.args[1].op == "ones":
        return latex(e.args[0], parent)  # c 1 is the number c, broadcast (as in text)
    if op == "num":
        v = e.value
        s = str(v.numerator) if v.denominator == 1 else rf"\frac{{{v.numerator}}}{{{v.denominator}}}"
        if v < 0 and v.denominator != 1:
            s = rf"-\frac{{{-v.numerator}}}{{{v.denominator}}}"
        return f"\\left({s}\\right)" if v < 0 and parent > 1 else s
    if op == "var":
        nm = e.name
        return "\\" + nm if nm in _GREEK_TEX else (nm if len(nm) == 1 else rf"\mathrm{{{nm}}}")
    if op == "eye":
        return "I"
    if op == "ones":
        return r"\mathbf{1}"
    if op == "add":
        l, r = e.args
        s = f"{latex(l, 1)} - {latex(r.args[0], 2)}" if r.op == "neg" else f"{latex(l, 1)} + {latex(r, 1)}"
        return rf"\left({s}\right)" if parent > 1 else s
    if op == "neg":
        s = "-" + latex(e.args[0], 2)
        return rf"\left({s}\right)" if parent > 1 else s
    if op in ("scale", "mul"):
        s = f"{latex(e.args[0], 3)} {latex(e.args[1], 3)}"  # products associate: A (B C) is A B C
        return rf"\left({s}\right)" if parent > 3 else s
    if op == "had":
        s = rf"{latex(e.args[0], 4)} \odot {latex(e.args[1], 4)}"
        return rf"\left({s}\right)" if parent > 2 else s
    if op == "ediv":
        if e.args[1].is_scalar():
            return rf"\frac{{{latex(e.args[0])}}}{{{latex(e.args[1])}}}"
        s = rf"{latex(e.args[0], 4)} \oslash {latex(e.args[1], 5)}"
        return rf"\left({s}\right)" if parent > 2 else s
    if op == "pow":
        k = e.value
        return f"{latex(e.args[0], 6)}^{{{k}}}"
    if op == "T":
        if e.args[0].op == "inv":
            return f"{latex(e.args[0].args[0], 6)}^{{-\\top}}"
        return f"{latex(e.args[0], 6)}^{{\\top}}"
    if op == "inv":
        return f"{latex(e.args[0], 6)}^{{-1}}"
    names = {
        "sigma": r"\sigma",
        "log": r"\log",
        "exp": r"\exp",
        "tanh": r"\tanh",
        "sqrt": r"\sqrt",
        "abs": r"\operatorname{abs}",
        "tr": r"\operatorname{tr}",
        "det": r"\det",
        "logdet": r"\log\det",
        "sum": r"\operatorname{sum}",
        "sign": r"\operatorname{sign}",
        "step": r"\operatorname{step}",
        "softplus": r"\operatorname{softplus}",
        "relu": r"\operatorname{relu}",
        "diagm": r"\operatorname{diag}",
        "diagv": r"\operatorname{diag}",
    }
    if op == "fn" and e.name == "sqrt":
        return rf"\sqrt{{{latex(e.args[0])}}}"
    if op in ("norm2", "norm1", "normF"):
        return rf"\left\lVert {latex(e.args[0])} \right\rVert_{{{ {'norm2': '2', 'norm1': '1', 'normF': 'F'}[op] }}}"
    key = e.name if op == "fn" else op
    if key in names:
        return rf"{names[key]}\left({latex(e.args[0])}\right)"
    raise DiffError(f"cannot print {op}")


def _positive(v, m: E) -> E:
    """``v m`` for the positive coefficient ``v`` of a subtracted term (``1 m`` is ``m``)."""
    return m if v == 1 else E("scale", (E("num", value=v), m), m.shape)
