"""User-defined modules from TOML spec files.

A spec declares one module the lecture does not have -- an elementwise
activation, a per-sample loss, or a layer in index notation -- and becomes a
registered topic of kind ``"user"`` that ``gradproof derive``, ``codegen``,
``verify`` and ``report`` treat like a built-in one::

    name = "softplus"
    kind = "activation"
    forward = "log(1 + exp(s))"

Spec text is never evaluated: expressions are parsed by a grammar of our own
(LALR, like the seminar answers' in :mod:`gradproof.derive.seminar.answers`), checked against
size limits, and converted into SymPy by calling constructors.  Claims are
read with the answer reader itself.  Every problem is one :class:`SpecError`
naming the file, the line and the problem.

>>> import os, tempfile
>>> folder = tempfile.mkdtemp()
>>> path = os.path.join(folder, "cube.toml")
>>> with open(path, "w") as f:
...     _ = f.write('name = "doc_cube"\\nkind = "activation"\\nforward = "s^3"\\n')
>>> topic = load_spec_topic(path)
>>> from gradproof.derive.lecture.registry import derive
>>> d = derive(topic)
>>> d.passed, str(d.result("backward").matrix)
(True, 'Delta*3*S**2')
"""

from __future__ import annotations

import builtins
import keyword
import math
import os
import random
import re
from dataclasses import dataclass
from functools import lru_cache

import sympy as sp

from gradproof.derive.lecture.functions import softplus, spelled
from gradproof.derive.seminar.answers.limits import LimitExceeded, check_lark, literal_value

__all__ = ["SpecError", "load_spec_file", "load_spec_topic", "parse_spec", "user_code_dir"]

KINDS = ("activation", "loss", "layer")
# What a loss's target may be: count means non-negative integers (Poisson).
TARGETS = ("real", "binary", "onehot", "probability", "count")

# Keys a spec may have, per kind (anything else is a typo worth reporting).
_COMMON = {"name", "title", "kind", "summary", "forward", "hyper", "kinks", "claims", "notes", "domain"}
_KEYS = {
    "activation": _COMMON | {"input"},
    "loss": _COMMON | {"reduction", "shape", "target"},
    "layer": _COMMON | {"params", "input"},
}
_CLAIM_KEYS = {"result", "statement", "matrix"}

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

MAX_EXPR_CHARS = 2000
MAX_DEPTH = 40
MAX_NODES = 400
MAX_EXPONENT = 64
MAX_DIGITS = 17  # significant digits of a number as written (a double prints with up to 17)
MAX_DECIMAL_EXPONENT = 30  # |e| in 1.5e-e
MAX_CONSTANT_LOG10 = 300  # a constant sub-expression lies within 10^-300 .. 10^300
MAX_DEGREE = 256  # estimated degree of a power tower such as ((1 + s)^8)^8
MAX_HYPER = 200  # hyperparameters per spec
HYPER_RANGE = (1e-12, 1e6)  # |default| of a hyperparameter, unless it is 0
MAX_SPEC_BYTES = 256 * 1024
MAX_TOML_DEPTH = 20  # nesting of TOML tables and arrays
# Dimensions a spec's shapes may use (the engine's symbols; m is the sample count).
_DIMS = ("n", "K")


class SpecError(ValueError):
    """A bad spec: ``str(err)`` is one line, ``path:line:col: problem``.

    ``line`` and ``col`` are 1-based and point into the file (``col`` at the
    offending character of an expression, else at the key); either may be
    unknown (``None``), and then is left out.
    """

    def __init__(self, path: str, line: int | None, problem: str, col: int | None = None):
        self.path, self.line, self.col, self.problem = path, line, col, problem
        where = path
        if line:
            where += f":{line}" + (f":{col}" if col else "")
        super().__init__(f"{where}: {_one_line(problem)}")


def _one_line(text: str) -> str:
    """Problem text as one printable line (no control characters from the spec)."""
    text = "".join(ch if ch.isprintable() else " " for ch in str(text))
    return text if len(text) <= 300 else text[:297] + "..."


# ---------------------------------------------------------------------------
# The expression grammar (index notation, Piecewise; no evaluation anywhere)
# ---------------------------------------------------------------------------

GRAMMAR = r"""
?start: expr

?expr: expr "+" term           -> add
     | expr "-" term           -> sub
     | term

?term: term "*" unary          -> mul
     | term "/" unary          -> div
     | unary

?unary: "-" unary              -> neg
      | "+" unary
      | power

?power: atom POW unary         -> pow
      | atom

?atom: NUMBER                               -> number
     | NAME                                 -> name
     | NAME "[" NAME ("," NAME)* "]"        -> indexed
     | PIECEWISE "(" piece ("," piece)* ")" -> piecewise
     | NAME "(" expr ("," expr)* ")"        -> call
     | "(" expr ")"

piece: "(" expr "," cond ")"

?cond: cond "&" rel            -> and_
     | rel

?rel: expr REL expr            -> rel
    | TRUE                     -> true

PIECEWISE.2: "Piecewise"
TRUE.2: "True" | "otherwise"
POW: "**" | "^"
REL: "<=" | ">=" | "<" | ">"
NAME: /[A-Za-z][A-Za-z0-9_]*/
NUMBER: /(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/

%import common.WS
%ignore WS
"""


@lru_cache(maxsize=1)
def _parser():
    from lark import Lark

    return Lark(GRAMMAR, parser="lalr", lexer="contextual")


class _ExprError(Exception):
    """A problem inside one expression; ``column`` is 1-based within it, if known."""

    def __init__(self, message: str, column: int | None = None):
        super().__init__(message)
        self.column = column


def _parse_tree(text: str):
    from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

    if not isinstance(text, str) or not text.strip():
        raise _ExprError("the expression is empty")
    if len(text) > MAX_EXPR_CHARS:
        raise _ExprError(f"the expression is {len(text)} characters long; the limit is {MAX_EXPR_CHARS}")
    if any(ord(ch) < 32 and ch not in "\t\n\r" for ch in text):
        raise _ExprError("the expression contains control characters")
    depth = best = 0
    for ch in text:
        depth += (ch in "([" and 1) or (-1 if ch in ")]" else 0)
        best = max(best, depth)
    if best > MAX_DEPTH // 2:
        raise _ExprError(f"brackets are nested {best} deep; the limit is {MAX_DEPTH // 2}")
    try:
        tree = _parser().parse(text)
    except UnexpectedCharacters as err:
        ch = text[err.pos_in_stream] if err.pos_in_stream is not None and err.pos_in_stream < len(text) else "?"
        hint = " (a spec expression has no '=' except in a layer's 'z_next[j] = ...')" if ch == "=" else ""
        raise _ExprError(f"unexpected character {ch!r}{hint}", err.column) from None
    except UnexpectedEOF:
        raise _ExprError("the expression ends too early (a bracket or operand is missing)") from None
    except UnexpectedToken as err:
        if err.token.type == "$END":
            raise _ExprError("the expression ends too early (a bracket or operand is missing)") from None
        raise _ExprError(f"unexpected {str(err.token)[:20]!r}", err.column) from None
    except UnexpectedInput as err:  # pragma: no cover - the three above cover lark 1.x
        raise _ExprError("cannot read the expression", getattr(err, "column", None)) from None
    # size and depth, iteratively, before any conversion
    count, stack = 0, [(tree, 1)]
    from lark import Tree

    while stack:
        t, d = stack.pop()
        count += 1
        if d > MAX_DEPTH:
            raise _ExprError(f"the expression nests more than {MAX_DEPTH} levels deep")
        if isinstance(t, Tree):
            stack.extend((c, d + 1) for c in t.children)
    if count > MAX_NODES:
        raise _ExprError(f"the expression has {count} parts; the limit is {MAX_NODES}")
    # constants, degree, exponential towers and expansion: the same limits as for answers
    try:
        check_lark(tree)
    except LimitExceeded as err:
        raise _ExprError(str(err)) from None
    return tree


@dataclass(frozen=True)
class _Array:
    """A name with per-sample index extents (``z`` of extent ``n``)."""

    name: str
    dims: tuple  # of SymPy dimension symbols


class _Converter:
    """Typed conversion of the parse tree into SymPy, by constructors only.

    ``scalars``: name -> Symbol; ``arrays``: name -> (IndexedBase, _Array).
    Index names are bound to integer symbols as they are met; ``extents``
    records the extent each index runs over (for shape checks and sums).
    """

    FUNCS = spelled("specs")  # the function table (gradproof.derive.lecture.functions), one home per function
    CONSTANTS = {"pi": sp.pi}

    def __init__(self, scalars: dict, arrays: dict, index_pool, fixed_indices=None, extents=None):
        # the extents in use (n, K, ...) may appear as numbers in an expression: a mean over features
        self.scalars = {**self.CONSTANTS, **(extents or {}), **scalars}
        self.arrays = arrays
        self.pool = list(index_pool)
        self.indices: dict[str, sp.Symbol] = dict(fixed_indices or {})
        self.extents: dict[sp.Symbol, tuple] = {}
        self.bound: list[str] = []  # summation indices in scope

    def known(self) -> str:
        return ", ".join(sorted(set(self.scalars) | set(self.arrays)))

    def __call__(self, t):
        from lark import Token

        if isinstance(t, Token):  # pragma: no cover - the grammar wraps every token
            raise _ExprError(f"unexpected {t!s}")
        return getattr(self, "_" + t.data.rstrip("_"))(t)

    def _number(self, t):
        text = str(t.children[0])
        mant, _, ex = text.lower().partition("e")
        digits = mant.replace(".", "").lstrip("0")
        if len(digits) > MAX_DIGITS:
            raise _ExprError(
                f"the number {text[:24]} has {len(digits)} significant digits; the limit is "
                f"{MAX_DIGITS} (a double has 17)",
                t.children[0].column,
            )
        if len(ex) > 4 or abs(int(ex or 0)) > MAX_DECIMAL_EXPONENT:
            raise _ExprError(
                f"the number {text[:24]} is out of range (|exponent| <= {MAX_DECIMAL_EXPONENT})", t.children[0].column
            )
        v = literal_value(text)
        return sp.Rational(v.numerator, v.denominator)

    def _name(self, t):
        tok = t.children[0]
        nm = str(tok)
        if nm in self.scalars:
            return self.scalars[nm]
        if nm in self.arrays:
            _, arr = self.arrays[nm]
            raise _ExprError(f"shape mismatch: {nm} has {len(arr.dims)} index(es); write {nm}[...]", tok.column)
        if nm in self.FUNCS or nm == "sum":
            raise _ExprError(f"{nm} is a function: write {nm}(...)", tok.column)
        raise _ExprError(f"unknown symbol {nm!r} (known here: {self.known()})", tok.column)

    def _index(self, tok):
        nm = str(tok)
        if nm not in self.indices:
            if nm in self.scalars or nm in self.arrays:
                raise _ExprError(f"{nm} is not an index (indices are names like i, j, k)", tok.column)
            if not self.pool:
                raise _ExprError("too many different indices", tok.column)
            self.indices[nm] = self.pool.pop(0)
        return self.indices[nm]

    def _indexed(self, t):
        tok, *idx = t.children
        nm = str(tok)
        if nm not in self.arrays:
            if nm in self.scalars:
                raise _ExprError(f"shape mismatch: {nm} is a scalar here and takes no index", tok.column)
            raise _ExprError(f"unknown symbol {nm!r} (known here: {self.known()})", tok.column)
        base, arr = self.arrays[nm]
        if len(idx) != len(arr.dims):
            raise _ExprError(f"shape mismatch: {nm} has {len(arr.dims)} index(es), not {len(idx)}", tok.column)
        syms = []
        for tk, dim in zip(idx, arr.dims):
            s = self._index(tk)
            prev = self.extents.get(s)
            if prev is not None and prev[0] != dim:
                raise _ExprError(
                    f"shape mismatch: index {tk} runs over {prev[0]} in {prev[1]} but over {dim} "
                    f"in {nm}[{', '.join(map(str, idx))}]",
                    tk.column,
                )
            self.extents.setdefault(s, (dim, f"{nm}[{', '.join(map(str, idx))}]"))
            syms.append(s)
        return base[tuple(syms)] if len(syms) > 1 else base[syms[0]]

    def _add(self, t):
        return sp.Add(self(t.children[0]), self(t.children[1]))

    def _sub(self, t):
        return sp.Add(self(t.children[0]), sp.Mul(-1, self(t.children[1])))

    def _mul(self, t):
        return sp.Mul(self(t.children[0]), self(t.children[1]))

    def _div(self, t):
        num = self(t.children[0])  # left to right: an error points at the first occurrence
        den = self(t.children[1])
        if den == 0:
            raise _ExprError("division by zero")
        return sp.Mul(num, sp.Pow(den, -1))

    def _neg(self, t):
        return sp.Mul(-1, self(t.children[0]))

    def _pow(self, t):
        base, ex = self(t.children[0]), self(t.children[2])
        col = t.children[1].column
        if ex.is_number and (not ex.is_finite or not ex.is_real or abs(ex) > MAX_EXPONENT):
            raise _ExprError(f"the exponent {_short(ex)} is larger than {MAX_EXPONENT}", col)
        if not ex.is_number and not (ex.free_symbols <= set(self.scalars.values())):
            raise _ExprError("an exponent must be a number or a hyperparameter", col)
        if ex.is_number and base.is_Rational:
            # a constant power: bound its size from logarithms, before forming it
            size = abs(float(ex)) * _log10_abs(base)
            if size > MAX_CONSTANT_LOG10:
                raise _ExprError(
                    f"the constant {_short(base)}^{_short(ex)} has about 10^{size:.3g} as its size; "
                    f"the limit is 10^{MAX_CONSTANT_LOG10}",
                    col,
                )
        out = sp.Pow(base, ex)
        if _degree(out) > MAX_DEGREE:
            raise _ExprError(
                f"the power would expand to a polynomial of degree about {_degree(out):.3g}; the limit is {MAX_DEGREE}",
                col,
            )
        return out

    def _call(self, t):
        tok, *args = t.children
        nm = str(tok)
        if nm == "sum":
            return self._sum(tok, args)
        if nm not in self.FUNCS:
            raise _ExprError(
                f"unknown function {nm!r}; the functions understood are "
                + ", ".join(sorted(set(self.FUNCS) | {"sum", "Piecewise"})),
                tok.column,
            )
        if len(args) != 1:
            raise _ExprError(f"{nm}(...) takes one argument, not {len(args)}", tok.column)
        x = self(args[0])
        if nm == "log":
            # log(1 + exp(u)) is softplus(u): generated as logaddexp(0, u), no overflow
            rest = sp.expand(x - 1)
            if isinstance(rest, sp.exp):
                return softplus(rest.args[0])
        return self.FUNCS[nm](x)

    def _sum(self, tok, args):
        if len(args) != 2 or args[1].data != "name":
            raise _ExprError("sum takes a body and an index: sum(W[i, j] * z[i], i)", tok.column)
        itok = args[1].children[0]
        nm = str(itok)
        if nm in self.bound:
            raise _ExprError(f"the index {nm} is already summed over here", itok.column)
        if nm in self.indices and self.indices[nm] in self.extents:
            raise _ExprError(f"the index {nm} is used outside this sum too", itok.column)
        s = self._index(itok)
        self.bound.append(nm)
        body = self(args[0])
        self.bound.pop()
        if s not in self.extents:
            raise _ExprError(
                f"the summation index {nm} indexes nothing in the body, so its range is unknown", itok.column
            )
        dim = self.extents.pop(s)[0]
        # a name may be reused for a later, separate sum
        self.indices.pop(nm)
        self.pool.insert(0, s)
        return sp.Sum(body, (s, 0, dim - 1))

    def _piecewise(self, t):
        pieces = []
        for p in t.children[1:]:
            value = self(p.children[0])
            cond = self._cond(p.children[1])
            pieces.append((value, cond))
        if pieces[-1][1] is not sp.true:
            raise _ExprError("the last branch of Piecewise must be the default: (value, True)", t.children[0].column)
        if any(c is sp.true for _, c in pieces[:-1]):
            raise _ExprError("only the last branch of Piecewise may have the condition True", t.children[0].column)
        return sp.Piecewise(*pieces)

    def _cond(self, t):
        if t.data == "true":
            return sp.true
        if t.data == "and_":
            return sp.And(self._cond(t.children[0]), self._cond(t.children[1]))
        lhs, op, rhs = self(t.children[0]), str(t.children[1]), self(t.children[2])
        return {"<": sp.StrictLessThan, "<=": sp.LessThan, ">": sp.StrictGreaterThan, ">=": sp.GreaterThan}[op](
            lhs, rhs
        )


def _short(x) -> str:
    text = str(x)
    return text if len(text) <= 24 else text[:21] + "..."


def _log10_abs(r) -> float:
    """log10 |r| of a rational, from bit lengths (never forms a float of a huge number)."""
    if r == 0:
        return 0.0
    p, q = abs(int(r.p)), int(r.q)
    return abs((p.bit_length() - q.bit_length()) * math.log10(2)) + 1


def _degree(e) -> float:
    """An upper estimate of the polynomial degree ``e`` would expand to (1 per symbol)."""
    if e.is_Number or e.is_NumberSymbol:
        return 0
    if e.is_Symbol or isinstance(e, sp.Indexed):
        return 1
    if e.is_Pow and e.exp.is_number:
        return _degree(e.base) * abs(float(e.exp))
    if e.is_Mul:
        return sum(_degree(a) for a in e.args)
    return max((_degree(a) for a in e.args), default=0)


# ---------------------------------------------------------------------------
# Reading the TOML file
# ---------------------------------------------------------------------------


def _toml():
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib
        except ModuleNotFoundError:
            raise ValueError("reading spec files needs Python 3.11+ or the tomli package") from None
    return tomllib


class _Lines:
    """Where each key sits in the TOML text (tomllib does not report it).

    One pass over the lines at construction; every lookup is then a
    dictionary access, so a spec with thousands of keys is read in linear
    time.  Tables are told apart by name and by occurrence (the ``nth``
    ``[[claims]]``).
    """

    _HEADER = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.\-\" ]+?)\s*\]\]?\s*(#.*)?$")
    _KEY = re.compile(r"^(\s*)([A-Za-z0-9_\-]+|\"[^\"\n]*\")\s*=\s*")

    def __init__(self, text: str):
        self.lines = text.splitlines()
        self.tables: dict = {}  # (table, nth) -> line of its header
        self.keys: dict = {}  # (table, nth, key) -> (line, column of the key, column of the value)
        counts: dict = {}
        table = (None, 0)
        for k, ln in enumerate(self.lines):
            m_ = self._HEADER.match(ln)
            if m_:
                name = m_.group(1).strip()
                nth = counts.get(name, 0)
                counts[name] = nth + 1
                table = (name, nth)
                self.tables.setdefault(table, k + 1)
                continue
            m_ = self._KEY.match(ln)
            if m_:
                key = m_.group(2).strip('"')
                self.keys.setdefault((table[0], table[1], key), (k + 1, len(m_.group(1)) + 1, m_.end() + 1))

    def _table_start(self, table: str | None, nth: int = 0) -> int:
        return 0 if table is None else self.tables.get((table, nth), 0)

    def where(self, key: str, table: str | None = None, nth: int = 0):
        """``(line, column of the key, column of the value)``, or None."""
        return self.keys.get((table, nth, key))

    def of(self, key: str, table: str | None = None, nth: int = 0) -> int | None:
        hit = self.keys.get((table, nth, key))
        if hit:
            return hit[0]
        start = self._table_start(table, nth)
        return start or None

    def expr_column(self, key: str, table: str | None, nth: int, column: int | None, offset: int = 0):
        """The file column of an expression's character ``column`` (1-based).

        Exact for a one-line string value without escapes before that
        character; otherwise the column of the key.
        """
        hit = self.keys.get((table, nth, key))
        if not hit:
            return None
        line, kcol, vcol = hit
        text = self.lines[line - 1]
        if column and vcol <= len(text) and text[vcol - 1] in "\"'" and text[vcol - 1 : vcol + 2] not in ('"""', "'''"):
            before = text[vcol : vcol + offset + column - 1]
            if "\\" not in before:
                return vcol + offset + column
        return kcol


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


def parse_spec(text: str, path: str = "<spec>"):
    """Parse a spec's TOML text into a registered-ready :class:`gradproof.derive.lecture.registry.Topic` (not registered)."""
    tomllib = _toml()
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise SpecError(path, line, "the file contains a NUL character; a spec is plain text")
    depth = _toml_depth(text)
    if depth > MAX_TOML_DEPTH:
        raise SpecError(path, depth_line(text), f"tables or arrays nest {depth} deep; the limit is {MAX_TOML_DEPTH}")
    try:
        data = tomllib.loads(text)
    except RecursionError:
        raise SpecError(path, None, "TOML syntax error: the file nests too deeply") from None
    except tomllib.TOMLDecodeError as err:
        msg = str(err)
        m_ = re.search(r"\(at line (\d+), column (\d+)\)", msg)
        line, col = (int(m_.group(1)), int(m_.group(2))) if m_ else (None, None)
        raise SpecError(path, line, "TOML syntax error: " + re.sub(r"\s*\(at line .*\)$", "", msg), col) from None
    topic = _Builder(data, path, _Lines(text)).topic()
    topic.extra["spec_text"] = text  # what decides the derivation: its key in derive/support/cache.py
    return topic


def _toml_depth(text: str) -> int:
    """The deepest nesting of brackets and braces outside strings and comments (one pass, no parsing)."""
    depth = best = 0
    quote = None
    k, n_ = 0, len(text)
    while k < n_:
        ch = text[k]
        if quote:
            if text.startswith(quote, k):
                k += len(quote)
                quote = None
                continue
            if ch == "\\" and quote in ('"', '"""'):
                k += 2
                continue
        elif ch == "#":
            nl = text.find("\n", k)
            k = n_ if nl < 0 else nl
            continue
        elif ch in "\"'":
            quote = text[k : k + 3] if text[k : k + 3] in ('"""', "'''") else ch
            k += len(quote)
            continue
        elif ch in "[{":
            depth += 1
            best = max(best, depth)
        elif ch in "]}":
            depth = max(0, depth - 1)
        k += 1
    return best


def depth_line(text: str) -> int:
    """The line on which the bracket nesting first exceeds :data:`MAX_TOML_DEPTH`."""
    depth = 0
    line = 1
    for ch in text:
        if ch == "\n":
            line += 1
        elif ch in "[{":
            depth += 1
            if depth > MAX_TOML_DEPTH:
                return line
        elif ch in "]}":
            depth = max(0, depth - 1)
    return 1


def _all_keys(data):
    return ", ".join(sorted(data))


class _Builder:
    def __init__(self, data: dict, path: str, lines: _Lines):
        self.data, self.path, self.lines = data, path, lines

    def err(self, problem, key=None, table=None, nth=0, line=None, col=None):
        if line is None and key is not None:
            hit = self.lines.where(key, table, nth)
            if hit:
                line, col = hit[0], col or hit[1]
            else:
                line = self.lines.of(key, table, nth)
        raise SpecError(self.path, line, problem, col)

    def need(self, key, typ=str):
        if key not in self.data:
            self.err(f"missing key {key!r}" + (f" (one of: {', '.join(KINDS)})" if key == "kind" else ""), line=None)
        v = self.data[key]
        if not isinstance(v, typ):
            self.err(f"{key} must be a {typ.__name__}", key)
        return v

    def expr(self, text, conv, key, table=None, nth=0, offset=0):
        line = self.lines.of(key, table, nth)
        try:
            tree = _parse_tree(text)
            out = conv(tree)
            if out.has(sp.I, sp.zoo, sp.nan, sp.oo, -sp.oo):
                raise _ExprError(
                    "the expression is not a finite real number everywhere "
                    "(a root or log of a negative constant, or a division by zero)"
                )
            return out
        except _ExprError as e:
            col = self.lines.expr_column(key, table, nth, e.column, offset)
            raise SpecError(self.path, line, f"{key}: {e}", col) from None
        except RecursionError:
            raise SpecError(
                self.path,
                line,
                f"{key}: the expression nests too deeply",
                self.lines.expr_column(key, table, nth, None),
            ) from None

    def topic(self):
        from gradproof.derive.engine.modules import build_module
        from gradproof.derive.lecture.registry import Topic

        kind = self.need("kind")
        if kind not in KINDS:
            self.err(f"kind {kind!r} is not one of {', '.join(KINDS)}", "kind")
        for key in self.data:
            if key not in _KEYS[kind]:
                import difflib

                close = difflib.get_close_matches(key, sorted(_KEYS[kind]), n=1)
                self.err(f"unknown key {key!r} for a {kind}" + (f"; did you mean {close[0]!r}?" if close else ""), key)
        name = _ident(self.path, self.lines, self.need("name"), "name", self.lines.of("name"))
        from gradproof.derive.output.codegen import CodegenError, check_module_name

        try:
            check_module_name(name)  # it names the generated file: never numpy.py, os.py or __init__.py
        except CodegenError as err:
            self.err(str(err), "name")
        self.need("forward")
        self.hyper = self._hyper()
        self.kink_points, self.kink_statements = self._kinks()
        spec, notes, vocab = {"activation": self._activation, "loss": self._loss, "layer": self._layer}[kind]()
        claims = self._claims(kind, vocab)
        title = self.data.get("title", name)
        summary = self.data.get("summary", f"A user-defined {kind} from {os.path.basename(self.path)}.")
        if not isinstance(title, str) or not isinstance(summary, str):
            self.err("title and summary must be strings", "title" if not isinstance(title, str) else "summary")
        extra_notes = self.data.get("notes", [])
        if not isinstance(extra_notes, list) or not all(isinstance(x, str) for x in extra_notes):
            self.err("notes must be a list of strings", "notes")
        return Topic(
            name=name,
            title=title,
            kind="user",
            section="User modules",
            order=1000.0,
            summary=summary,
            build=build_module,
            spec=spec,
            claims=tuple(claims),
            tags=("user", kind),
            extra={
                "notes": tuple(notes) + tuple(extra_notes),
                "source": f"spec file {os.path.basename(self.path)}",
                "spec_path": os.path.abspath(self.path),
                "spec_kind": kind,
            },
        )

    # -- pieces -------------------------------------------------------------
    def _hyper(self):
        h = self.data.get("hyper", {})
        if not isinstance(h, dict):
            self.err("hyper must be a table: [hyper] alpha = 1.0", "hyper")
        if len(h) > MAX_HYPER:
            self.err(f"{len(h)} hyperparameters; the limit is {MAX_HYPER}", line=self.lines.tables.get(("hyper", 0)))
        out = []
        for nm, val in h.items():
            line = self.lines.of(nm, "hyper")
            _ident(self.path, self.lines, nm, "hyperparameter", line)
            if nm in _RESERVED:
                self.err(f"hyperparameter {nm!r} clashes with a reserved name; choose another", line=line)
            if isinstance(val, bool) or not isinstance(val, (int, float)) or not math.isfinite(val):
                self.err(
                    f"hyperparameter {nm} needs a finite number as its default, not {_short(repr(val))}", line=line
                )
            lo, hi = HYPER_RANGE
            if val != 0 and not lo <= abs(val) <= hi:
                self.err(
                    f"hyperparameter {nm} = {val!r} is out of range: a default is 0 or between "
                    f"{lo:g} and {hi:g} in size",
                    line=line,
                )
            sym = sp.Symbol(nm, positive=True) if val > 0 else sp.Symbol(nm, real=True)
            out.append((sym, float(val)))
        return tuple(out)

    def _kinks(self):
        k = self.data.get("kinks", [])
        if not isinstance(k, list):
            self.err("kinks must be a list: input values (numbers) and/or statements (strings)", "kinks")
        pts, stm = [], []
        for x in k:
            if isinstance(x, bool) or not isinstance(x, (int, float, str)):
                self.err(f"kinks: {x!r} is neither a number nor a statement", "kinks")
            (stm if isinstance(x, str) else pts).append(x if isinstance(x, str) else float(x))
        return tuple(pts), tuple(stm)

    def _statements(self, detected):
        out = list(self.kink_statements)
        out += [f"no derivative at {p:g}" for p in self.kink_points]
        return tuple(out) or tuple(detected)

    def _hyper_scalars(self):
        return {h.name: h for h, _ in self.hyper}

    def _domain(self):
        d = self.data.get("domain", "real")
        if d not in ("real", "positive", "probability"):
            self.err(f"domain {d!r} is not one of real, positive, probability", "domain")
        return d

    def _activation(self):
        from gradproof.derive.engine.modules import Arg, ModuleSpec, n

        var = self.data.get("input", "s")
        _ident(self.path, self.lines, var, "input", self.lines.of("input"))
        if var not in ("s", "z", "x"):
            self.err("an activation's input is s, z or x", "input")
        x = sp.Symbol(var, real=True)
        conv = _Converter({var: x, **self._hyper_scalars()}, {}, (), extents={"n": n})
        f = self.expr(self.data["forward"], conv, "forward")
        if not f.has(x):
            self.err(f"forward does not depend on its input {var}", "forward")
        self._check_kinks(f, x, [], "forward", var)
        arg = Arg("z", "input", (n,), var.upper(), domain=self._domain(), latex=var)

        def forward(bases, j, f=f, x=x):
            return f.xreplace({x: bases["z"][j]})

        spec = ModuleSpec(
            kind="module",
            args=(arg,),
            out_dim=n,
            forward=forward,
            hyper=self.hyper,
            kinks=self._statements(()),
            kink_points=self.kink_points,
            out_matrix="A",
            out_latex=r"\mathbf{A}",
        )
        from gradproof.derive.seminar.answers import SymbolDecl

        vocab = [SymbolDecl(var.upper(), ("m", "n")), SymbolDecl("Delta", ("m", "n"))]
        return spec, (), vocab

    def _loss(self):
        from gradproof.derive.engine.modules import Arg, K, ModuleSpec

        red = self.data.get("reduction", "mean")
        if red not in ("mean", "sum"):
            self.err(f"reduction {red!r} is not mean or sum", "reduction")
        shape = self.data.get("shape", [])
        dims = _dims(self.path, self.lines.of("shape"), shape, "shape") if shape != [] else ()
        if dims and dims != (K,):
            self.err('a vector loss has shape "K" (one entry per output)', "shape")
        target = self.data.get("target", "real")
        if target not in TARGETS:
            self.err(f"target {target!r} is not one of {', '.join(TARGETS)}", "target")
        if target == "count" and dims:
            self.err("a count target is one count per sample: leave out shape", "target")
        if dims:
            zb, yb = sp.IndexedBase("z", real=True), sp.IndexedBase("y", real=True)
            conv = _Converter(
                self._hyper_scalars(),
                {"yhat": (zb, _Array("yhat", dims)), "y": (yb, _Array("y", dims))},
                _POOL,
                extents={"K": K},
            )
        else:
            zs, ys = sp.Symbol("z", real=True), sp.Symbol("y", real=True)
            conv = _Converter({"yhat": zs, "y": ys, **self._hyper_scalars()}, {}, ())
        ell = self.expr(self.data["forward"], conv, "forward")
        free = {s for s, _ in conv.extents.items()}
        if free:
            self.err("forward: every index of a vector loss must be summed, e.g. sum((yhat[c] - y[c])^2, c)", "forward")
        if not dims:
            self._check_kinks(ell, sp.Symbol("z", real=True), [sp.Symbol("y", real=True)], "forward", "yhat")
        elif _nonsmooth(ell) and not (self.kink_points or self.kink_statements):
            self.err(
                'forward is not differentiable everywhere (abs, Piecewise): declare where, e.g. kinks = ["yhat = y"]',
                "forward",
            )
        z = Arg(
            "z",
            "input",
            dims,
            "Yhat" if dims else "yhat",
            domain=self._domain(),
            latex=r"\hat{y}",
            matrix_latex=r"\hat{\mathbf{Y}}" if dims else r"\hat{\mathbf{y}}",
        )
        y = Arg(
            "y",
            "target",
            dims,
            "Y" if dims else "y",
            domain=target,
            latex="y",
            matrix_latex=r"\mathbf{Y}" if dims else r"\mathbf{y}",
        )
        spec = ModuleSpec(
            kind="loss",
            args=(z, y),
            reduction=red,
            forward=lambda b, _, e=ell: e,
            hyper=self.hyper,
            kinks=self._statements(()),
            kink_points=self.kink_points,
        )
        from gradproof.derive.seminar.answers import SymbolDecl

        col = "K" if dims else 1
        vocab = [SymbolDecl("Yhat" if dims else "yhat", ("m", col)), SymbolDecl("Y" if dims else "y", ("m", col))]
        return spec, (), vocab

    def _layer(self):
        from gradproof.derive.engine.modules import Arg, ModuleSpec, j_

        text = self.data["forward"]
        line = self.lines.of("forward")
        m_ = re.fullmatch(r"\s*z_next\s*\[\s*([A-Za-z][A-Za-z0-9_]*)\s*\]\s*=(.*)", text, re.S)
        if not m_:
            self.err("a layer's forward reads z_next[j] = <expression in z[...] and the parameters>", "forward")
        out_index, rhs = m_.group(1), m_.group(2)
        in_dims = _dims(self.path, self.lines.of("input"), self.data.get("input", "n"), "input")
        if len(in_dims) != 1:
            self.err('a layer\'s input z is a vector: input = "n"', "input")
        params = self.data.get("params", {})
        if not isinstance(params, dict):
            self.err('params is a table of shapes: [params] a = "n" (or leave it out: a layer may have none)', "params")
        arrays = {"z": (sp.IndexedBase("z", real=True), _Array("z", in_dims))}
        args = [Arg("z", "input", in_dims, "Z", domain=self._domain(), latex="z")]
        vocab_params = []
        from gradproof.derive.seminar.answers import SymbolDecl

        for nm, shp in params.items():
            pline = self.lines.of(nm, "params")
            _ident(self.path, self.lines, nm, "parameter", pline)
            if nm in _RESERVED or nm in self._hyper_scalars():
                self.err(f"parameter {nm!r} clashes with a reserved name or a hyperparameter", line=pline)
            d = _dims(self.path, pline, shp, f"parameter {nm}")
            if not d:
                self.err(f"parameter {nm} needs a shape", line=pline)
            arrays[nm] = (sp.IndexedBase(nm, real=True), _Array(nm, d))
            a = Arg(nm, "param", d, nm, latex=nm)
            args.append(a)
            vocab_params.append(SymbolDecl(nm, tuple(str(x) if not x.is_Integer else 1 for x in a.batched_shape())))
        used = {str(d): d for _, arr in arrays.values() for d in arr.dims}
        conv = _Converter(self._hyper_scalars(), arrays, _POOL, fixed_indices={out_index: j_}, extents=used)
        f = self.expr(rhs, conv, "forward", offset=self._rhs_offset(text, m_.start(2)))
        free = set(conv.extents) - {j_}
        if free:
            self.err("forward: every index other than the output's must be summed over", "forward")
        if j_ not in conv.extents:
            self.err(f"forward: the output index {out_index} indexes nothing, so the output size is unknown", "forward")
        out_dim = conv.extents[j_][0]
        if _nonsmooth(f) and not (self.kink_points or self.kink_statements):
            self.err("forward is not differentiable everywhere (abs, Piecewise): declare kinks = [...]", "forward")
        spec = ModuleSpec(
            kind="module",
            args=tuple(args),
            out_dim=out_dim,
            forward=lambda b, j, e=f: e.xreplace({j_: j}) if j != j_ else e,
            hyper=self.hyper,
            kinks=self._statements(()),
            kink_points=self.kink_points,
        )
        del line
        vocab = [SymbolDecl("Z", ("m", "n")), SymbolDecl("Delta", ("m", str(out_dim))), *vocab_params]
        return spec, (), vocab

    def _rhs_offset(self, text, start):
        """Characters before the right-hand side of ``z_next[j] = ...`` (for error columns)."""
        return start

    def _check_kinks(self, f, x, others, key, shown):
        """Refuse a map that has a kink or a jump nowhere declared."""
        found = _find_kinks(f, x, others, [h for h, _ in self.hyper])
        if not found:
            return
        declared = self.kink_points
        for p, what in found:
            if others:  # the kink's place depends on the target: a statement is enough
                if declared or self.kink_statements:
                    continue
                self.err(f'{key} is not differentiable where {what}; declare it, e.g. kinks = ["{what}"]', key)
            if not any(abs(p - q) <= 1e-9 * max(1.0, abs(q)) for q in declared):
                self.err(f"{key} is not differentiable at {shown} = {p:g} ({what}); declare it: kinks = [{p:g}]", key)

    def _claims(self, kind, vocab):
        from gradproof.derive.engine.derivation import Claim
        from gradproof.derive.seminar.answers import AnswerError, SymbolDecl, Vocabulary, read_answer

        raw = self.data.get("claims", [])
        if not isinstance(raw, list):
            self.err("claims is a list of tables: [[claims]] result = ... matrix = ...", "claims")
        vocab = Vocabulary(
            dims={"m": 2, "n": 3, "K": 4},
            extra_functions=(("abs", sp.Abs),),
            entrywise_powers=True,
            symbols=tuple(vocab)
            + tuple(SymbolDecl(h.name, (), domain="positive" if h.is_positive else "real") for h, _ in self.hyper),
        )
        valid = {"activation": ("forward", "backward"), "loss": ("loss", "backward")}.get(
            kind, ("forward", "backward", *[f"grad:{p}" for p in self.data.get("params", {})])
        )
        out = []
        for k, c in enumerate(raw):
            if not isinstance(c, dict):
                self.err("each claim is a table: [[claims]]", "claims")
            for key in c:
                if key not in _CLAIM_KEYS:
                    self.err(f"unknown key {key!r} in a claim (use {', '.join(sorted(_CLAIM_KEYS))})", key, "claims", k)
            for key in ("result", "matrix"):
                if not isinstance(c.get(key), str):
                    self.err(
                        f"missing key {key!r} in claim {k + 1}",
                        key if key in c else None,
                        "claims",
                        k,
                        line=None if key in c else self.lines._table_start("claims", k) or None,
                    )
            if c["result"] not in valid:
                self.err(
                    f"claim {k + 1}: result {c['result']!r} is not one of {', '.join(valid)}", "result", "claims", k
                )
            try:
                reading = read_answer(c["matrix"], vocab)
            except AnswerError as e:
                self.err(f"claim {k + 1}: {e}", "matrix", "claims", k)
            from gradproof.derive.engine import mexpr as mx

            expr = reading.expr if isinstance(reading.expr, mx.MExpr) else mx.Const(reading.expr)
            out.append(Claim(c["result"], c.get("statement", f"{c['result']} = {reading.text}"), matrix=expr))
        return out


_POOL = tuple(sp.Symbol(nm, integer=True) for nm in ("i", "k", "l", "p", "q", "r", "t", "u", "v"))
_NONSMOOTH = (sp.Piecewise, sp.Abs, sp.sign, sp.Max, sp.Min, sp.Heaviside)


def _nonsmooth(e) -> bool:
    return e.has(*_NONSMOOTH)


def _find_kinks(f, x, others, hypers, trials: int = 3):
    """Points where ``f`` (a function of the real ``x``) jumps or has a kink.

    Candidates are the zeros of every Piecewise condition and of every
    ``abs``/``sign`` argument; at each, ``f`` and ``df/dx`` are compared just
    left and right of it, exactly (rational arithmetic), with the other
    symbols (targets, hyperparameters) at a few random rational values --
    so a jump that vanishes only for one hyperparameter value (ELU's slope at
    alpha = 1) is still found.  Returns ``[(point, description)]`` for the
    first instance in which any was found.
    """
    if not _nonsmooth(f):
        return []
    rng = random.Random(1)
    df = sp.diff(f, x)
    for _ in range(trials):
        sub = {}
        for h in hypers:
            sub[h] = (
                sp.Rational(rng.randint(2, 9), rng.randint(2, 9) + 1)
                if h.is_positive
                else sp.Rational(rng.randint(-9, 9), 7)
            )
        for o in others:
            sub[o] = sp.Rational(rng.randint(-20, 20), 7)
        fi, dfi = f.xreplace(sub), df.xreplace(sub)
        cands = []
        for pw in fi.atoms(sp.Piecewise):
            for _, c in pw.args:
                cands += [r.lhs - r.rhs for r in c.atoms(sp.core.relational.Relational)]
        for a in fi.atoms(sp.Abs, sp.sign, sp.Heaviside):
            cands.append(a.args[0])
        for mm in fi.atoms(sp.Max, sp.Min):
            cands += [u - v for u in mm.args for v in mm.args if u != v]
        points = set()
        for c in cands:
            try:
                sols = sp.solve(sp.Eq(c, 0), x)
            except (NotImplementedError, ValueError, TypeError):
                continue
            points |= {s for s in sols if s.is_real}
        eps = sp.Rational(1, 10**9)
        found = []
        for p in sorted(points, key=lambda v: float(v)):

            def at(e, v):
                return complex(sp.N(e.xreplace({x: v}), 30))

            try:
                fl, fr = at(fi, p - eps), at(fi, p + eps)
                dl, dr = at(dfi, p - eps), at(dfi, p + eps)
            except (TypeError, ValueError):
                continue
            scale = max(1.0, abs(fl), abs(fr))
            if abs(fl - fr) > 1e-6 * scale:
                found.append((float(p), "the value jumps"))
            elif abs(dl - dr) > 1e-6 * max(1.0, abs(dl), abs(dr)):
                at_h = ", ".join(f"{h} = {sub[h]}" for h in hypers)
                found.append(
                    (
                        float(p),
                        f"the one-sided derivatives {dl.real:.3g} and {dr.real:.3g} differ"
                        + (f" at {at_h}" if at_h else ""),
                    )
                )
        if found:
            if others:  # describe where in terms of the target
                return [(p, f"yhat = {sp.nsimplify(p)} for y = {sub[others[0]]}") for p, _ in found]
            return found
    return []


# ---------------------------------------------------------------------------
# Public entry points
# ---------------------------------------------------------------------------


def load_spec_file(path) -> list:
    """Read, check and register the module in a spec file; returns ``[topic]``.

    Raises :class:`SpecError` (a ``ValueError``; one line naming the file,
    the line and the problem) or ``OSError``.
    """
    return [load_spec_topic(path)]


def load_spec_topic(path):
    """Read, check and register one spec file; returns its :class:`gradproof.derive.lecture.registry.Topic`."""
    from gradproof.derive.lecture.registry import add_user_topic

    path = os.fspath(path)
    with open(path, "rb") as fh:
        raw = fh.read(MAX_SPEC_BYTES + 1)
    if len(raw) > MAX_SPEC_BYTES:
        raise SpecError(path, None, f"the file is larger than {MAX_SPEC_BYTES // 1024} KiB; a spec is a few lines")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise SpecError(
            path, line, "the file is not UTF-8 text", raw[: err.start].rsplit(b"\n", 1)[-1].__len__() + 1
        ) from None
    key = (os.path.abspath(path), text)
    known = _LOADED.get(key)
    if known is not None and _registered(known):
        return known  # the same file, unchanged: its derivation is cached with the topic
    topic = parse_spec(text, path)
    lines = _Lines(text)
    try:
        add_user_topic(topic)
    except ValueError as err:
        raise SpecError(path, lines.of("name"), str(err)) from None
    _derive_or_refuse(topic, path, lines)
    _LOADED[key] = topic
    return topic


_LOADED: dict = {}  # (absolute path, text) -> topic, for a spec read twice in one process


def _registered(topic) -> bool:
    from gradproof.derive.lecture.registry import UnknownTopic, get

    try:
        return get(topic.name) is topic
    except UnknownTopic:
        return False


def _derive_or_refuse(topic, path, lines):
    """Derive a freshly read spec now, so that a module the engine cannot handle
    is one line naming the spec, never a traceback later."""
    from gradproof.derive.lecture.registry import derive, remove_user_topic

    try:
        derive(topic)
        return
    except RecursionError:
        problem = "the derivation nests too deeply"
    except MemoryError:
        problem = "the derivation needs too much memory"
    except Exception as err:
        problem = f"{type(err).__name__}: {err}" if not isinstance(err, ValueError) else str(err)
    remove_user_topic(topic.name)
    where = lines.where("forward")
    raise SpecError(
        path, where[0] if where else None, f"forward: cannot derive this module: {problem}", where[1] if where else None
    )


_CODE_DIR: str | None = None


def user_code_dir(d) -> str:
    """Generate a user topic's NumPy module into a per-process cache folder; returns the folder.

    Built-in topics live in ``numeric/generated``; a user module's code is
    written here (atomically) for ``gradproof verify`` and ``report`` to load,
    and removed when the process exits.
    """
    global _CODE_DIR
    import atexit
    import shutil
    import tempfile

    from gradproof.derive.output.codegen import write_module

    if _CODE_DIR is None or not os.path.isdir(_CODE_DIR):
        _CODE_DIR = tempfile.mkdtemp(prefix="gradproof-user-")
        atexit.register(shutil.rmtree, _CODE_DIR, True)
    write_module(d, _CODE_DIR)
    return _CODE_DIR
