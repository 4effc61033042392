"""The grammar of free-form matrix expressions, in plain text or a LaTeX subset.

LALR(1): linear time, no backtracking.  A known function name directly
followed by a bracket is the function (``sigma(X w)``); anything the grammar
does not know is refused with the column where reading stopped.

>>> parser().parse("(X w - y)^T (X w - y)").data
'juxt'
"""

from __future__ import annotations

import functools

from lark import Lark

FUNCTIONS = (
    "tr",
    "det",
    "logdet",
    "log",
    "ln",
    "exp",
    "tanh",
    "sigma",
    "sigmoid",
    "softplus",
    "relu",
    "abs",
    "sqrt",
    "sum",
    "norm2",
    "norm1",
    "normF",
    "diag",
    "inv",
    "sign",
    "step",
)

_FN = "|".join(sorted(FUNCTIONS, key=len, reverse=True))

GRAMMAR = r"""
?start: expr

?expr: expr "+" term            -> add
     | expr "-" term            -> sub
     | term

?term: term STAR signed         -> star
     | term "@" signed          -> matmul
     | term HADAMARD signed     -> hadamard
     | term EDIV signed         -> ediv
     | term "/" signed          -> div
     | signed

?signed: "-" signed             -> neg
       | "+" signed
       | SUMIDX signed          -> isum
       | juxt

?juxt: juxt power               -> juxt
     | power

?power: postfix POW exponent    -> pow
      | postfix

?exponent: "-" exponent         -> neg
         | NUMBER               -> number
         | "{" exponent "}"
         | "(" exponent ")"

?postfix: postfix TRANSPOSE     -> transpose
        | postfix INVT          -> invtranspose
        | atom

?atom: NUMBER                               -> number
     | NAME                                 -> name
     | ONES                                 -> ones
     | "(" expr ")"
     | "{" expr "}"
     | FUNC "(" expr ")"                    -> call
     | FUNC "{" expr "}"                    -> call
     | SQRT "{" expr "}"                    -> sqrt
     | FRAC "{" expr "}" "{" expr "}"       -> frac
     | NORMOPEN expr NORMCLOSE NORMSUB?     -> norm
     | "[[" NAME "=" NAME "]]"              -> iverson

STAR.3: "*" | /\\cdot(?![A-Za-z])/ | /\\times(?![A-Za-z])/
HADAMARD.3: ".*" | /\\odot(?![A-Za-z])/ | "\u2299" | /\\circ(?![A-Za-z])/
EDIV.3: "./"
POW.4: "**" | "^"
TRANSPOSE.5: /\^\s*(?:T|\\top|\{\s*(?:T|\\top)\s*\})(?![A-Za-z0-9_])/
           | "'"
INVT.6: /\^\s*\{\s*-\s*(?:T|\\top)\s*\}/
NORMOPEN.3: "\u27e6" | /\\lVert(?![A-Za-z])/
NORMCLOSE.3: "\u27e7" | /\\rVert(?![A-Za-z])/
NORMSUB.3: /_(?:\{\s*)?(?:2|1|F)(?:\s*\})?/
FUNC.3: /(?:\\operatorname\{|\\mathrm\{)(?:%(fn)s)\}|\\?(?:%(fn)s)(?=\s*(?:\(|\{|\\left\s*\())/
SQRT.4: /\\sqrt(?![A-Za-z])/
FRAC.4: /\\[dt]?frac(?![A-Za-z])/
ONES.4: /\\(?:mathbf|mathbb|boldsymbol)\{1\}/ | /\U0001d7d9/
SUMIDX.4: /\\?sum_(?:\{\s*[a-z]\s*(?:=\s*1\s*)?\}|[a-z])(?:\^(?:\{\s*[A-Za-z0-9]+\s*\}|[A-Za-z0-9]))?/
NAME: /\\?[A-Za-z][A-Za-z0-9]*(?:_(?:\{[A-Za-z0-9]+\}|[A-Za-z0-9]+))?/
NUMBER: /(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/

SPACING.3: /\\(?:left|right|big|Big|bigg|Bigg)(?![A-Za-z])/ | /\\[,;:! ]/ | /\\quad(?![A-Za-z])/
%%import common.WS
%%ignore WS
%%ignore SPACING
""".replace("%(fn)s", _FN).replace("%%", "%")


def pair_norm_bars(text: str) -> str:
    """Mark ``||`` / ``\\|`` as opening and closing bars, alternately.

    The replacement keeps every column where it was, so error carets still
    point into the text as typed.
    """
    out, opened, i = [], False, 0
    while i < len(text):
        two = text[i : i + 2]
        if two in ("||", "\\|"):
            out.append("\u27e7 " if opened else "\u27e6 ")
            opened = not opened
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


@functools.lru_cache(maxsize=1)
def parser() -> Lark:
    """The (cached) LALR parser; positions are kept for error carets."""
    return Lark(GRAMMAR, parser="lalr", lexer="contextual", propagate_positions=True)
