"""The answer grammar: what students type, in plain text or a LaTeX subset.

The grammar is LALR(1) (no backtracking, linear time in the input) and its
lexer recognises the LaTeX commands it knows; anything else is a clear error.
Implicit multiplication (``X^T (yhat - y)``) binds tighter than ``*`` and
``/``, and ``^``/``**`` tighter still, as in a textbook.

>>> parser().parse("X^T (yhat - y)").data
'juxt'
"""

from __future__ import annotations

import functools
import unicodedata

from lark import Lark

GRAMMAR = r"""
?start: expr

?expr: expr "+" term            -> add
     | expr "-" term            -> sub
     | term

?term: term STAR signed         -> star
     | term "@" signed          -> matmul
     | term HADAMARD signed     -> hadamard
     | term "/" signed          -> div
     | signed

?signed: "-" signed             -> neg
       | "+" signed
       | juxt

?juxt: juxt power               -> juxt
     | power

?power: postfix POW exponent    -> pow
      | postfix

?exponent: "-" exponent         -> neg
         | postfix POW exponent -> pow
         | postfix

?postfix: postfix TRANSPOSE     -> transpose
        | atom

?atom: NUMBER                               -> number
     | NAME                                 -> name
     | "(" expr ")"                         -> group
     | "{" expr "}"                         -> group
     | FUNC "(" [expr ("," expr)*] ")"      -> call
     | SQRT "{" expr "}"                    -> sqrt
     | FRAC "{" expr "}" "{" expr "}"       -> frac
     | WRAP "{" NAME "}"                    -> wrap
     | WRAP NAME                            -> wrap
     | "[[" expr EQ expr "]]"               -> iverson
     | "[" expr EQ expr "]"                 -> iverson
     | "|" "|" expr "|" "|"                 -> norm

STAR.3: "*" | /\\cdot(?![A-Za-z])/ | /\\times(?![A-Za-z])/
HADAMARD.3: ".*" | /\\odot(?![A-Za-z])/
POW.4: "**" | "^"
EQ: "==" | "="
// As in LaTeX, a superscript takes one token: X^TX is X^T X, Z^TDelta is Z^T Delta.
TRANSPOSE.4: /\^\s*(?:T(?![0-9_])|\\top(?![A-Za-z])|\{\s*(?:T|\\top)\s*\})/
           | "'"
           | /\.T(?![A-Za-z0-9_])/
FUNC.3: /\\?(?:sigma|sigmoid|tanh|cosh|sinh|exp|log|ln|inv|softmax|delta|norm|sqrt)(?=\s*(?:\(|\\left\s*\())/
SQRT.2: /\\sqrt(?![A-Za-z])/
FRAC.3: /\\[dt]?frac(?![A-Za-z])/
WRAP.3: /\\(?:hat|mathbf|boldsymbol|mathrm|text|bm|vec|mathit|operatorname)(?![A-Za-z])/
_SUB: /_(?:\{\\(?:text|mathrm|rm)\{[A-Za-z0-9]+\}\}|\{[A-Za-z0-9, ]*\}|[A-Za-z0-9]+)/
NAME: /\\?[A-Za-z][A-Za-z0-9]*/ _SUB?
NUMBER: /(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/

SPACING.3: /\\(?:left|right|big|Big|bigg|Bigg)(?![A-Za-z])/ | /\\[,;:! ]/ | /\\quad(?![A-Za-z])/
%import common.WS
%ignore WS
%ignore SPACING
"""

# Characters students paste from slides or phones, mapped to what the
# grammar reads.  A leading space keeps a Greek letter from gluing onto a
# previous name (``2σ`` -> ``2 sigma``).
UNICODE = {
    "\u2212": "-",  # minus sign
    "\u2013": "-",
    "\u00b7": "*",
    "\u22c5": "*",
    "\u00d7": "*",
    "\u2299": ".*",  # circled dot: elementwise product
    "\u1d40": "^T",
    "\u22a4": "^T",
    "\u00b2": "^2",
    "\u207b\u00b9": "^-1",
    "\u2019": "'",
    "\u2032": "'",
    "\u03c3": " sigma",
    "\u03bb": " lambda",
    "\u0394": " Delta",
    "\u03b4": " delta",
    "\u0177": " yhat",
    "\u0176": " Yhat",
    "\u2211": " sum",
    "\u221a": " sqrt",
}


def normalise(text: str) -> str:
    """NFC-normalise and map the known Unicode characters to ASCII spellings."""
    text = unicodedata.normalize("NFC", text)
    for k, v in UNICODE.items():
        text = text.replace(k, v)
    return text


@functools.lru_cache(maxsize=1)
def parser() -> Lark:
    """The (cached) LALR parser for answers."""
    return Lark(GRAMMAR, parser="lalr", lexer="contextual", maybe_placeholders=True)
