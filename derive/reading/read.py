"""Text -> typed tree: parse, apply the limits, infer every shape.

Shapes by convention: an upper-case Latin name is a matrix, a lower-case
Latin name a column vector, a Greek name a scalar; a lower-case name used
only as a divisor is a scalar (``/m``).  Dimensions are unified across the
whole expression; ``shapes`` overrides the convention per name.

>>> e = read("(X w - y)^T (X w - y)")
>>> e.shape, sorted(names(e).items())
((1, 1), [('X', ('m', 'n')), ('w', ('n', 1)), ('y', ('m', 1))])
"""

from __future__ import annotations

import re
from fractions import Fraction

from lark import Token, Tree
from lark.exceptions import UnexpectedInput

from gradproof.derive.reading import tree as t
from gradproof.derive.reading.grammar import pair_norm_bars, parser
from gradproof.derive.seminar.answers import tree as answer_tree
from gradproof.derive.seminar.answers.limits import DEFAULT, LimitExceeded, check_text, check_tree

GREEK = frozenset(
    [
        "alpha",
        "beta",
        "gamma",
        "delta",
        "epsilon",
        "varepsilon",
        "zeta",
        "eta",
        "theta",
        "vartheta",
        "iota",
        "kappa",
        "lambda",
        "mu",
        "nu",
        "xi",
        "pi",
        "rho",
        "varrho",
        "sigma",
        "tau",
        "upsilon",
        "phi",
        "varphi",
        "chi",
        "psi",
        "omega",
        "Gamma",
        "Delta",
        "Theta",
        "Lambda",
        "Xi",
        "Pi",
        "Sigma",
        "Phi",
        "Psi",
        "Omega",
    ]
)
UNICODE_GREEK = {
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
UNICODE_OPS = {
    "\u2212": "-",
    "\u22c5": "*",
    "\u00b7": "*",
    "\u00d7": "*",
    "\u1d40": "^T",
    "\u22a4": "^T",
    "\u00b2": "^2",
    "\u2019": "'",
    "\u2032": "'",
    "\u2211": "sum",
}
NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
DIM_NAMES = ("m", "n", "p", "q", "k", "r", "s", "t", "u", "v")
FUNC_ALIAS = {"ln": "log", "sigmoid": "sigma"}


class ReadError(Exception):
    """Input outside the language or with inconsistent shapes: one line, exit 2.

    ``caret`` (when reading stopped at a column) is the text around it and the
    offset of that column inside it, for a caret line under the message.
    """

    def __init__(self, message: str, caret: tuple[str, int] | None = None):
        super().__init__(message)
        self.caret = caret


def normalise(text: str) -> str:
    import unicodedata

    text = unicodedata.normalize("NFC", text)
    for k, v in {**UNICODE_OPS, **{g: " " + n for g, n in UNICODE_GREEK.items()}}.items():
        text = text.replace(k, v)
    return text


def kind_of(name: str) -> str:
    """``scalar`` for Greek names, ``matrix`` for upper-case Latin, else ``vector``."""
    if name in GREEK:
        return "scalar"
    return "matrix" if name[0].isupper() else "vector"


class _Dims:
    """Union-find over dimension variables; the integer 1 is a fixed class."""

    def __init__(self):
        self.parent = {}
        self.fixed = {}  # root -> int
        self.n = 0

    def fresh(self):
        self.n += 1
        d = "d%d" % self.n
        self.parent[d] = d
        return d

    def find(self, d):
        if isinstance(d, int):
            return ("fixed", d)
        if isinstance(d, tuple):
            return d
        while self.parent[d] != d:
            self.parent[d] = self.parent[self.parent[d]]
            d = self.parent[d]
        return d

    def value(self, d):
        r = self.find(d)
        if isinstance(r, tuple):
            return r[1]
        return self.fixed.get(r)

    def unify(self, a, b) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        if isinstance(ra, tuple) and isinstance(rb, tuple):
            return ra == rb
        if isinstance(ra, tuple):
            ra, rb = rb, ra
        if isinstance(rb, tuple):
            if rb[1] == 1:
                # a matrix or a vector never silently becomes a scalar
                return False
            if ra in self.fixed and self.fixed[ra] != rb[1]:
                return False
            self.fixed[ra] = rb[1]
            return True
        fa, fb = self.fixed.get(ra), self.fixed.get(rb)
        if fa is not None and fb is not None and fa != fb:
            return False
        self.parent[rb] = ra
        if fb is not None:
            self.fixed[ra] = fb
        return True


class _Builder:
    def __init__(self, text, overrides):
        self.text = text
        self.dims = _Dims()
        self.overrides = overrides
        self.vars = {}
        self.divisors = set()
        self.bounds = []

    def span(self, tree):
        m = tree.meta if isinstance(tree, Tree) else tree
        try:
            return self.text[m.start_pos : m.end_pos].strip() if isinstance(tree, Tree) else str(tree)
        except AttributeError:
            return "?"

    def shape_text(self, shape):
        out = []
        for d in shape:
            v = self.dims.value(d)
            out.append(str(v) if v is not None else str(self.dims.find(d)))
        return "x".join(out)

    def is_one(self, d):
        return self.dims.value(d) == 1

    def is_scalar(self, e):
        return self.is_one(e.shape[0]) and self.is_one(e.shape[1])

    def mismatch(self, what, parts):
        desc = ", ".join(f"{self.span(tr)} is {self.shape_text(e.shape)}" for tr, e in parts)
        raise ReadError(f"shapes do not match for {what}: {desc}")

    # ------------------------------------------------------------------
    def variable(self, raw, tok):
        name = raw.lstrip("\\")
        sub = ""
        if "_" in name:
            name, sub = name.split("_", 1)
            sub = sub.strip("{}")
        if sub:
            raise ReadError(f"an indexed name {raw!r} is only read inside sum_i (...)")
        if not NAME_RE.match(name):
            raise ReadError(f"{name!r} is not a name")
        if name in self.vars:
            return self.vars[name]
        if name in self.overrides:
            r, c = self.overrides[name]
            shape = (self.dims.fresh() if r is None else ("fixed", r), self.dims.fresh() if c is None else ("fixed", c))
            for d, val in zip(shape, (r, c)):
                if isinstance(d, int) and isinstance(val, str):
                    pass
        else:
            kind = "scalar" if name in self.divisors else kind_of(name)
            one = ("fixed", 1)
            shape = {
                "scalar": (one, one),
                "vector": (self.dims.fresh(), one),
                "matrix": (self.dims.fresh(), self.dims.fresh()),
            }[kind]
        e = t.var(name, shape)
        self.vars[name] = e
        return e

    def build(self, tr):
        if isinstance(tr, Token):
            raise ReadError(f"unexpected {str(tr)!r}")
        fn = getattr(self, "_" + tr.data, None)
        if fn is None:
            raise ReadError(f"{tr.data} is not supported here")
        return fn(tr, *tr.children)

    def _number(self, tr, tok):
        check_tree(answer_tree.Num(str(tok)))
        return t.num(Fraction(str(tok)))

    def _name(self, tr, tok):
        return self.variable(str(tok), tok)

    def _ones(self, tr, tok):
        return t.E("ones", (), (self.dims.fresh(), ("fixed", 1)))

    def _neg(self, tr, a):
        x = self.build(a)
        return t.E("neg", (x,), x.shape)

    def _add(self, tr, a, b, op="add"):
        x, y = self.build(a), self.build(b)
        if op == "sub":
            y = t.E("neg", (y,), y.shape)
        return self.elementwise("add", tr, (a, x), (b, y), "+" if op == "add" else "-")

    def _sub(self, tr, a, b):
        return self._add(tr, a, b, op="sub")

    def elementwise(self, op, tr, left, right, sym):
        (a, x), (b, y) = left, right
        if op != "add" and self.is_scalar(y):
            return t.E("scale", (y, x), x.shape) if op == "had" else t.E("ediv", (x, y), x.shape)
        if op == "had" and self.is_scalar(x):
            return t.E("scale", (x, y), y.shape)
        if (op == "add" or (op == "ediv" and self.is_scalar(x))) and self.is_scalar(x) != self.is_scalar(y):
            # a scalar added to a vector or matrix is broadcast: c 1 (or c 1 1^T)
            s, m = (x, y) if self.is_scalar(x) else (y, x)
            ones = t.E("ones", (), (m.shape[0], ("fixed", 1)))
            if not self.is_one(m.shape[1]):
                ones = t.E("mul", (ones, t.transpose(t.E("ones", (), (m.shape[1], ("fixed", 1))))), m.shape)
            s = t.E("scale", (s, ones), m.shape)
            x, y = (s, m) if self.is_scalar(x) else (m, s)
        if not (self.dims.unify(x.shape[0], y.shape[0]) and self.dims.unify(x.shape[1], y.shape[1])):
            self.mismatch(f"'{sym}'", [(a, x), (b, y)])
        return t.E(op, (x, y), x.shape)

    def _hadamard(self, tr, a, _op, b):
        return self.elementwise("had", tr, (a, self.build(a)), (b, self.build(b)), ".*")

    def _ediv(self, tr, a, _op, b):
        return self.elementwise("ediv", tr, (a, self.build(a)), (b, self.build(b)), "./")

    def product(self, tr, a, b, force_matrix=False):
        x, y = self.build(a), self.build(b)
        # a number 1 next to a row is the ones vector (x^T 1)
        if y.op == "num" and y.value == 1 and not self.is_scalar(x) and self.is_one(x.shape[0]):
            y = t.E("ones", (), (x.shape[1], ("fixed", 1)))
        if not force_matrix and (self.is_scalar(x) or self.is_scalar(y)):
            s, m = (x, y) if self.is_scalar(x) else (y, x)
            if s.op == "num" and m.op == "num":
                return t.num(s.value * m.value)
            return t.E("scale", (s, m), m.shape)
        if not self.dims.unify(x.shape[1], y.shape[0]):
            self.mismatch("a matrix product", [(a, x), (b, y)])
        return t.E("mul", (x, y), (x.shape[0], y.shape[1]))

    def _juxt(self, tr, a, b):
        return self.product(tr, a, b)

    def _star(self, tr, a, _op, b):
        return self.product(tr, a, b)

    def _matmul(self, tr, a, b):
        return self.product(tr, a, b, force_matrix=True)

    def _div(self, tr, a, b):
        x, y = self.build(a), self.build(b)
        if not self.is_scalar(y):
            self.mismatch("'/' (the divisor must be a scalar; use ./ elementwise)", [(a, x), (b, y)])
        if x.op == "num" and y.op == "num":
            if y.value == 0:
                raise ReadError("division by zero")
            return t.num(x.value / y.value)
        return t.E("ediv", (x, y), x.shape)

    def _frac(self, tr, _tok, a, b):
        return self._div(tr, a, b)

    def _transpose(self, tr, a, _tok):
        x = self.build(a)
        if x.op == "num" and x.value == 1:
            x = t.E("ones", (), (self.dims.fresh(), ("fixed", 1)))
        return t.transpose(x)

    def square(self, what, a, x):
        if not self.dims.unify(x.shape[0], x.shape[1]):
            self.mismatch(f"{what} (needs a square matrix)", [(a, x)])

    def _invtranspose(self, tr, a, _tok):
        x = self.build(a)
        self.square("an inverse", a, x)
        return t.transpose(t.E("inv", (x,), x.shape))

    def _pow(self, tr, a, _tok, b):
        x = self.build(a)
        k = self.exponent(b)
        if x.op == "num":
            if x.value == 0 and k < 0:
                raise ReadError("division by zero")
            return t.num(x.value ** int(k)) if k.denominator == 1 else t.E("pow", (x,), x.shape, value=k)
        if k == -1 and not self.is_scalar(x) and not self.is_one(x.shape[1]):
            self.square("an inverse", a, x)
            return t.E("inv", (x,), x.shape)
        if k == 1:
            return x
        return t.E("pow", (x,), x.shape, value=k)

    def exponent(self, tr):
        if isinstance(tr, Tree) and tr.data == "neg":
            return -self.exponent(tr.children[0])
        if isinstance(tr, Tree) and tr.data == "number":
            tok = str(tr.children[0])
            check_tree(answer_tree.Num(tok))
            k = Fraction(tok)
            if abs(k) > DEFAULT.max_exponent:
                raise ReadError(f"the exponent {tok} is larger than {DEFAULT.max_exponent}")
            return k
        raise ReadError("an exponent must be a number")

    def _sqrt(self, tr, _tok, a):
        x = self.build(a)
        return t.E("fn", (x,), x.shape, name="sqrt")

    def _norm(self, tr, _o, a, _c, sub=None):
        x = self.build(a)
        kind = str(sub).strip("_{} ") if sub is not None else ""
        vector = self.is_one(x.shape[1])
        if kind == "F" or (not kind and not vector):
            return t.E("normF", (x,))
        if not vector:
            self.mismatch(f"a vector {kind}-norm", [(a, x)])
        return t.E("norm1" if kind == "1" else "norm2", (x,))

    def _call(self, tr, tok, a):
        fname = re.sub(r"^\\(?:operatorname|mathrm)\{|\}$|^\\", "", str(tok))
        fname = FUNC_ALIAS.get(fname, fname)
        x = self.build(a)
        if fname in t.ELEMENTWISE:
            return t.E("fn", (x,), x.shape, name=fname)
        if fname in ("tr", "det", "logdet", "inv"):
            self.square(fname, a, x)
            return t.E(fname, (x,), x.shape if fname == "inv" else t.SCALAR)
        if fname == "sum":
            return t.E("sum", (x,))
        if fname in ("norm2", "norm1", "normF"):
            if fname != "normF" and not self.is_one(x.shape[1]):
                self.mismatch(f"{fname} (needs a column vector)", [(a, x)])
            return t.E(fname, (x,))
        if fname == "diag":
            if self.is_one(x.shape[1]):
                return t.E("diagm", (x,), (x.shape[0], x.shape[0]))
            self.square("diag", a, x)
            return t.E("diagv", (x,), (x.shape[0], ("fixed", 1)))
        raise ReadError(f"unknown function {fname!r}")

    def _iverson(self, tr, a, b):
        raise ReadError("[[j = k]] and delta_{jk} need free indices; gradproof diff reads closed expressions")

    def _isum(self, tr, tok, body):
        idx = re.match(r"\\?sum_\{?\s*([a-z])", str(tok)).group(1)
        inner = self.indexed(body, idx)
        upper = re.search(r"\^\{?\s*([A-Za-z])\s*\}?$", str(tok))
        if upper and not self.is_one(inner.shape[0]):
            # the upper bound names the summed dimension (sum_{i=1}^{m}: length m)
            self.bounds.append((upper.group(1), inner.shape[0]))
        return t.E("sum", (inner,))

    def indexed(self, tr, idx):
        """Σ_i body: every ``a_i`` is entry i of vector a, products are elementwise."""
        if isinstance(tr, Tree) and tr.data == "name":
            raw = str(tr.children[0]).lstrip("\\")
            base, _, sub = raw.partition("_")
            if sub.strip("{}") != idx:
                x = self.build(tr)
                if not self.is_scalar(x):
                    self.mismatch(f"sum_{idx} (a name without _{idx} must be a scalar)", [(tr, x)])
                return x
            x = self.variable(base, tr)
            if not self.is_one(x.shape[1]):
                self.mismatch(f"sum_{idx} (an indexed name must be a vector)", [(tr, x)])
            return x
        if isinstance(tr, Tree) and tr.data in ("juxt", "star", "hadamard"):
            a, b = tr.children[0], tr.children[-1]
            x, y = self.indexed(a, idx), self.indexed(b, idx)
            return self.elementwise("had", tr, (a, x), (b, y), "*")
        if isinstance(tr, Tree) and tr.data in ("add", "sub"):
            a, b = tr.children
            x, y = self.indexed(a, idx), self.indexed(b, idx)
            if tr.data == "sub":
                y = t.E("neg", (y,), y.shape)
            return self.elementwise("add", tr, (a, x), (b, y), "+")
        if isinstance(tr, Tree) and tr.data == "neg":
            x = self.indexed(tr.children[0], idx)
            return t.E("neg", (x,), x.shape)
        if isinstance(tr, Tree) and tr.data == "call":
            x = self.indexed(tr.children[1], idx)
            fname = FUNC_ALIAS.get(
                re.sub(r"^\\(?:operatorname|mathrm)\{|\}$|^\\", "", str(tr.children[0])),
            )
            fname = FUNC_ALIAS.get(fname, fname)
            if fname not in t.ELEMENTWISE:
                raise ReadError(f"{fname} is not elementwise; it cannot appear inside sum_{idx}")
            return t.E("fn", (x,), x.shape, name=fname)
        if isinstance(tr, Tree) and tr.data == "pow":
            x = self.indexed(tr.children[0], idx)
            return t.E("pow", (x,), x.shape, value=self.exponent(tr.children[2]))
        if isinstance(tr, Tree) and tr.data in ("div", "frac"):
            a, b = tr.children[-2], tr.children[-1]
            x, y = self.indexed(a, idx), self.indexed(b, idx)
            return self.elementwise("ediv", tr, (a, x), (b, y), "/")
        return self.build(tr)


def _divisor_names(tr):
    out = set()
    for sub in tr.iter_subtrees():
        if sub.data in ("div", "frac"):
            den = sub.children[-1]
            if isinstance(den, Tree) and den.data == "name":
                out.add(str(den.children[0]).lstrip("\\"))
    return out


def _finish(b: _Builder, e: t.E, letters) -> t.E:
    """Replace dimension variables by names m, n, p, ... in order of appearance."""

    def dim(d):
        v = b.dims.value(d)
        if v is not None:
            return v
        r = b.dims.find(d)
        if r not in letters:
            free = [x for x in DIM_NAMES if x not in letters.values() and x not in b.vars]
            free = free or [f"d{len(letters)}"]
            letters[r] = free[0]
        return letters[r]

    def go(x):
        return t.E(x.op, tuple(go(a) for a in x.args), (dim(x.shape[0]), dim(x.shape[1])), x.name, x.value)

    return go(e)


def parse_shape(spec: str):
    """``NAME=r,c`` or ``NAME=scalar`` (r, c: a positive integer or a dimension name)."""
    name, eq, rhs = spec.partition("=")
    name = name.strip()
    if not eq or not NAME_RE.match(name):
        raise ReadError(f"--shape {spec!r}: expected NAME=rows,cols or NAME=scalar")
    rhs = rhs.strip()
    if rhs == "scalar":
        return name, (1, 1)
    parts = [p.strip() for p in rhs.split(",")]
    if len(parts) != 2 or not all(re.fullmatch(r"[1-9][0-9]{0,2}|[A-Za-z]", p) for p in parts):
        raise ReadError(f"--shape {spec!r}: expected NAME=rows,cols (numbers up to 999 or one-letter names)")
    return name, tuple(int(p) if p.isdigit() else p for p in parts)


def read(text: str, shapes: dict | None = None) -> t.E:
    """Read one expression; raises :class:`ReadError` with a one-line message."""
    if not isinstance(text, str):
        raise ReadError("the expression must be text")
    try:
        check_text(text)
    except LimitExceeded as err:
        raise ReadError(str(err)) from None
    norm = pair_norm_bars(normalise(text))
    if any(
        ord(ch) > 0x7E or (ord(ch) < 0x20 and ch not in "\t\n")
        for ch in norm
        if ch not in "\u27e6\u27e7\u2299\U0001d7d9"
    ):
        bad = next(
            i
            for i, ch in enumerate(norm)
            if (ord(ch) > 0x7E or ord(ch) < 0x20) and ch not in "\t\n\u27e6\u27e7\u2299\U0001d7d9"
        )
        raise _caret(norm, bad, f"character {norm[bad]!r} is not part of the language")
    try:
        tree = parser().parse(norm)
    except UnexpectedInput as err:
        pos = getattr(err, "pos_in_stream", None)
        if pos is None:
            pos = len(norm)
        raise _caret(norm, pos, "cannot read the expression here") from None
    overrides = {}
    named = {}
    for name, shape in (shapes or {}).items():
        r, c = shape
        overrides[name] = (r if isinstance(r, int) else None, c if isinstance(c, int) else None)
        named[name] = shape
    b = _Builder(norm, overrides)
    b.divisors = _divisor_names(tree)
    try:
        e = b.build(tree)
        # dimension names given with --shape are unified by name
        letters = {}
        by_letter = {}
        for name, shape in named.items():
            if name not in b.vars:
                continue
            for d, lab in zip(b.vars[name].shape, shape):
                if isinstance(lab, str):
                    if lab in by_letter and not b.dims.unify(by_letter[lab], d):
                        raise ReadError(f"--shape: dimension {lab} cannot be both sizes")
                    by_letter.setdefault(lab, d)
        for lab, d in b.bounds:
            if lab in by_letter and not b.dims.unify(by_letter[lab], d):
                raise ReadError(f"dimension {lab} cannot be both sizes")
            by_letter.setdefault(lab, d)
        for lab, d in by_letter.items():
            r = b.dims.find(d)
            if not isinstance(r, tuple):
                letters[r] = lab
        nodes = sum(1 for _ in t.walk(e))
        if nodes > DEFAULT.max_nodes:
            raise ReadError(f"the expression has {nodes} parts; the limit is {DEFAULT.max_nodes}")
        return _finish(b, e, letters)
    except LimitExceeded as err:
        raise ReadError(str(err)) from None
    except RecursionError:
        raise ReadError("the expression nests too deeply") from None


def _caret(text: str, pos: int, msg: str) -> ReadError:
    line = "".join(ch if ch.isprintable() else " " for ch in text)
    start = max(0, pos - 60)
    return ReadError(f"{msg} at column {pos + 1}", (line[start : pos + 20], pos - start))


def names(e: t.E) -> dict:
    """name -> shape of every variable in the tree."""
    return {x.name: x.shape for x in t.walk(e) if x.op == "var"}
