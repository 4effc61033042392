"""The one grammar of every piece of mathematics gradproof reads.

Seminar answers, spec files, the registry's claims and ``gradproof diff``
expressions are all read by this LALR(1) grammar (linear time, no
backtracking): matrix notation (juxtaposition and ``@`` for the product,
``.*`` / ``\\odot`` elementwise, ``./``, ``^T``, ``'``, ``^{-1}``, ``^{-T}``),
the LaTeX subset students type (``\\frac``, ``\\operatorname{tr}``, ``\\top``,
``\\lVert``), the lecture's Σ-index notation (``sum_i x_i (yhat_i - y_i)``,
``\\sum_{i=1}^{m}``, ``delta_{jk}``, ``[[j = k]]``, ``[[Z > 0]]``) and the spec files' index
notation (``W[i, j]``, ``sum(body, i)``, ``Piecewise((value, cond), ...)``).

Implicit multiplication (``X^T (yhat - y)``) binds tighter than ``*`` and
``/``, and ``^`` tighter still, as in a textbook.  A known function name
directly followed by a bracket is the function (``sigma(X w)``); a name
directly followed by ``[`` is an indexed array.  What the grammar does not
know is refused at the column where reading stopped.

>>> parser().parse("X^T (yhat - y)").data
'juxt'
>>> parser().parse("sum(W[i, j] * z[i], i)").data
'call'
"""

from __future__ import annotations

import functools
import hashlib
import os
import pathlib
import unicodedata

from lark import Lark

# Functions of matrices and vectors, and elementwise functions of ``diff``;
# the scalar functions of the function table are added to these.
MATRIX_FUNCTIONS = (
    "tr",
    "det",
    "logdet",
    "relu",
    "abs",
    "sum",
    "norm2",
    "norm1",
    "normF",
    "diag",
    "inv",
    "sign",
    "step",
    "softmax",
    "delta",
    "norm",
)

# Spellings of one function (the canonical name is the value).
FUNC_ALIAS = {"ln": "log", "sigmoid": "sigma"}

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
     | juxt SUMIDX signed       -> juxtsum
     | power

?power: postfix POW exponent    -> pow
      | postfix

?exponent: "-" exponent         -> neg
         | "+" exponent
         | postfix POW exponent -> pow
         | postfix

?postfix: postfix TRANSPOSE     -> transpose
        | postfix INVT          -> invtranspose
        | atom

?atom: NUMBER                               -> number
     | NAME                                 -> name
     | ONES                                 -> ones
     | INDEXED NAME ("," NAME)* "]"         -> indexed
     | "(" expr ")"                         -> group
     | "(" expr ("," expr)+ ")"             -> tuple
     | "{" expr "}"                         -> group
     | FUNC "(" [expr ("," expr)*] ")"      -> call
     | FUNC "{" expr "}"                    -> call
     | SQRT "{" expr "}"                    -> sqrt
     | FRAC "{" expr "}" "{" expr "}"       -> frac
     | WRAP "{" NAME "}"                    -> wrap
     | WRAP NAME                            -> wrap
     | NORMOPEN expr NORMCLOSE NORMSUB?     -> norm
     | "[[" expr EQ expr "]]"               -> iverson
     | "[[" expr REL expr "]]"              -> iverson
     | "[" expr EQ expr "]"                 -> iverson
     | PIECEWISE "(" piece ("," piece)* ")" -> piecewise

piece: "(" expr "," cond ")"

?cond: cond "&" rel             -> and_
     | rel

?rel: expr REL expr             -> rel
    | TRUE                      -> true

STAR.3: "*" | /\\cdot(?![A-Za-z])/ | /\\times(?![A-Za-z])/
HADAMARD.3: ".*" | /\\odot(?![A-Za-z])/ | "\u2299" | /\\circ(?![A-Za-z])/
EDIV.3: "./"
POW.4: "**" | "^"
EQ: "==" | "="
REL: "<=" | ">=" | "<" | ">"
// As in LaTeX, a superscript takes one token: X^TX is X^T X, Z^TDelta is Z^T Delta.
TRANSPOSE.5: /\^\s*(?:T(?![0-9_])|\\top(?![A-Za-z])|\{\s*(?:T|\\top)\s*\})/
           | "'"
           | /\.T(?![A-Za-z0-9_])/
INVT.6: /\^\s*\{\s*-\s*(?:T|\\top)\s*\}/
NORMOPEN.3: "\u27e6" | /\\lVert(?![A-Za-z])/
NORMCLOSE.3: "\u27e7" | /\\rVert(?![A-Za-z])/
NORMSUB.3: /_(?:\{\s*)?(?:2|1|F)(?:\s*\})?/
FUNC.3: /(?:\\operatorname\{|\\mathrm\{)(?:%(fn)s)\}|\\?(?:%(fn)s)(?=\s*(?:\(|\{|\\left\s*\())/
SQRT.4: /\\sqrt(?![A-Za-z])/
FRAC.4: /\\[dt]?frac(?![A-Za-z])/
ONES.4: /\\(?:mathbf|mathbb|boldsymbol)\{1\}/ | /\U0001d7d9/
WRAP.3: /\\(?:hat|mathbf|boldsymbol|mathrm|text|bm|vec|mathit|operatorname)(?![A-Za-z])/
SUMIDX.4: /\\?sum_(?:\{\s*[a-z]\s*(?:=\s*1\s*)?\}|[a-z])(?:\^(?:\{\s*[A-Za-z0-9]+\s*\}|[A-Za-z0-9]))?/
PIECEWISE.4: "Piecewise"
TRUE.2: "True" | "otherwise"
INDEXED.4: /[A-Za-z][A-Za-z0-9_]*\[(?!\[)/
_SUB: /_(?:\{\\(?:text|mathrm|rm)\{[A-Za-z0-9]+\}\}|\{[A-Za-z0-9, ]*\}|[A-Za-z0-9]+)/
NAME: /\\?[A-Za-z][A-Za-z0-9]*/ _SUB*
NUMBER: /(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/

SPACING.3: /\\(?:left|right|big|Big|bigg|Bigg)(?![A-Za-z])/ | /\\[,;:! ]/ | /\\quad(?![A-Za-z])/
%%import common.WS
%%ignore WS
%%ignore SPACING
"""

# Characters pasted from slides or phones, mapped to what the grammar reads.
# A leading space keeps a Greek letter from gluing onto a previous name
# (``2σ`` -> ``2 sigma``).
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
    "\u0177": " yhat",
    "\u0176": " Yhat",
    "\u2211": " sum",
    "\u221a": " sqrt",
    "\u0394": " Delta",
}
GREEK = {
    "\u03b1": "alpha",
    "\u03b2": "beta",
    "\u03b3": "gamma",
    "\u03b4": "delta",
    "\u03b5": "epsilon",
    "\u03b7": "eta",
    "\u03b8": "theta",
    "\u03ba": "kappa",
    "\u03bb": "lambda",
    "\u03bc": "mu",
    "\u03bd": "nu",
    "\u03c1": "rho",
    "\u03c3": "sigma",
    "\u03c4": "tau",
    "\u03c6": "phi",
    "\u03c9": "omega",
}


def normalise(text: str) -> str:
    """NFC-normalise and map the known Unicode characters to ASCII spellings.

    >>> normalise("X\u1d40(\u0177 \u2212 y)")
    'X^T( yhat - y)'
    """
    text = unicodedata.normalize("NFC", text)
    for k, v in UNICODE.items():
        text = text.replace(k, v)
    for k, v in GREEK.items():
        text = text.replace(k, " " + v)
    return text


def pair_norm_bars(text: str) -> str:
    """Mark ``||`` / ``\\|`` as opening and closing bars, alternately.

    The replacement keeps every column where it was, so error carets still
    point into the text as typed.

    >>> pair_norm_bars("||x||_2")
    '\u27e6 x\u27e7 _2'
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


def function_names() -> tuple:
    """Every function name the grammar reads as a function when a bracket follows."""
    from gradproof.derive.lecture.functions import spelled

    names = set(MATRIX_FUNCTIONS) | set(spelled("specs")) | set(spelled("answers"))
    return tuple(sorted(names, key=lambda s: (-len(s), s)))


# How the parser is built: positions are kept for error columns and carets.
OPTIONS = {"parser": "lalr", "lexer": "contextual", "propagate_positions": True, "maybe_placeholders": True}
TABLES = pathlib.Path(__file__).with_name("grammar_tables.py")


def grammar_text() -> str:
    """The grammar as Lark reads it (the function names filled in)."""
    return GRAMMAR.replace("%(fn)s", "|".join(function_names())).replace("%%", "%")


def signature(grammar: str) -> str:
    """What decides the parser: the grammar, the options and Lark's version."""
    import lark

    text = f"{lark.__version__}\n{sorted(OPTIONS.items())!r}\n{grammar}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@functools.lru_cache(maxsize=1)
def parser() -> Lark:
    """The (cached) LALR parser.

    Building the LALR tables costs a tenth of a second or more, at every start of
    every command that reads a formula (the registry's claims are read on import);
    the tables built once are stored in ``grammar_tables.py`` (plain data, written by
    :func:`write_tables`) and loaded when their signature is this grammar's, so a
    stale or foreign table is never used: the parser is then built as before.
    """
    grammar = grammar_text()
    try:
        import gradproof.derive.reading.grammar_tables as grammar_tables
    except ImportError:  # pragma: no cover - a checkout without the stored tables
        grammar_tables = None
    if grammar_tables is not None and signature(grammar) == grammar_tables.SIGNATURE:
        return Lark.load(grammar_tables.TABLES)
    return Lark(grammar, **OPTIONS)


def tables_source() -> str:
    """The text of ``grammar_tables.py``: this grammar's parser, built and serialised."""
    from lark.grammar import Rule
    from lark.lexer import TerminalDef

    grammar = grammar_text()
    data, memo = Lark(grammar, **OPTIONS).memo_serialize([TerminalDef, Rule])
    return (
        "# generated by gradproof from derive/reading/grammar.py: do not edit\n"
        "# (python -m gradproof.derive.reading.tables writes it; a test fails when it is stale)\n"
        f"SIGNATURE = {signature(grammar)!r}\n"
        f"TABLES = {{'data': {data!r}, 'memo': {memo!r}}}\n"
    )


def write_tables(path: pathlib.Path = TABLES) -> bool:
    """Write ``grammar_tables.py`` (atomically) unless it holds this grammar's tables; True when written.

    Lark numbers the parser's states in an order that depends on string hashing, so
    two writings of one grammar may differ in text: the signature, not the text,
    says whether the stored tables are this grammar's.
    """
    if path.exists():
        head = path.read_text(encoding="utf-8").split("\n", 3)[:3]
        if f"SIGNATURE = {signature(grammar_text())!r}" in head:
            return False
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(tables_source(), encoding="utf-8")
    os.replace(tmp, path)
    return True
