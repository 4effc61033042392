"""The typed tree into a shaped matrix tree: the target of ``gradproof diff``.

Shapes by convention: an upper-case Latin name is a matrix, a lower-case
Latin name a column vector, a Greek name a scalar; a lower-case name used
only as a divisor is a scalar (``/m``).  Dimensions are unified across the
whole expression (:class:`_Dims`, union-find); ``shapes`` overrides the
convention per name.  Σ over samples is read by
:mod:`gradproof.derive.reading.samples`.

>>> from gradproof.derive.reading.parse import parse
>>> shaped(parse("tr(A X B)")).shape
(1, 1)
"""

from __future__ import annotations

import re

import gradproof.derive.reading.indices as indices
import gradproof.derive.reading.shaped as t
import gradproof.derive.reading.tree as n
from gradproof.derive.reading.convert.walk import Walk
from gradproof.derive.reading.errors import ReadError
from gradproof.derive.reading.grammar import FUNC_ALIAS
from gradproof.derive.reading.limits import DEFAULT, literal_value
from gradproof.derive.reading.parse import Parsed
from gradproof.derive.reading.samples import SampleSum

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
NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
DIM_NAMES = ("m", "n", "p", "q", "k", "r", "s", "t", "u", "v")


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


class _Builder(Walk):
    """Typed tree -> shaped matrix tree, inferring every dimension by unification."""

    REFUSED = {}  # filled below from _WHAT

    def __init__(self, parsed: Parsed, overrides):
        self.parsed = parsed
        self.dims = _Dims()
        self.overrides = overrides
        self.vars = {}
        self.divisors = set()
        self.bounds = []
        self.message_dims = {}  # unresolved dimension -> the letter an error message calls it

    def span(self, node):
        return self.parsed.quote(node)

    def shape_text(self, shape):
        """``m x 1``: an unresolved dimension named m, n, p, ... in order of first mention."""
        out = []
        named = self.message_dims
        for d in shape:
            v = self.dims.value(d)
            if v is None:
                r = self.dims.find(d)
                if r not in named:
                    free = [x for x in DIM_NAMES if x not in named.values() and x not in self.vars]
                    named[r] = free[0] if free else f"d{len(named) + 1}"
                v = named[r]
            out.append(str(v))
        return " x ".join(out)

    def is_one(self, d):
        return self.dims.value(d) == 1

    def is_scalar(self, e):
        return self.is_one(e.shape[0]) and self.is_one(e.shape[1])

    def mismatch(self, what, parts):
        desc = ", ".join(f"{self.span(node)} is {self.shape_text(e.shape)}" for node, e in parts)
        raise ReadError(f"shapes do not match for {what}: {desc}")

    # ------------------------------------------------------------------
    def variable(self, name: str, sub: str = ""):
        if sub:
            raise ReadError(
                f"{name + '_' + sub}: the index {sub[0]} is not summed over; an indexed name is only read "
                f"inside sum_{sub[0]} (...)"
            )
        name = name.lstrip("\\")
        if not NAME_RE.match(name):
            raise ReadError(f"{name!r} is not a name")
        if name in self.vars:
            return self.vars[name]
        if name in self.overrides:
            r, c = self.overrides[name]
            shape = (self.dims.fresh() if r is None else ("fixed", r), self.dims.fresh() if c is None else ("fixed", c))
        else:
            rank = "scalar" if name in self.divisors else kind_of(name)
            one = ("fixed", 1)
            shape = {
                "scalar": (one, one),
                "vector": (self.dims.fresh(), one),
                "matrix": (self.dims.fresh(), self.dims.fresh()),
            }[rank]
        e = t.var(name, shape)
        self.vars[name] = e
        return e

    def unread(self, name: str) -> str:
        return f"{name} cannot be differentiated here"

    def refuse(self, node, message: str) -> Exception:
        return ReadError(message)

    def _Num(self, node):
        return t.num(self.number(node))

    def _Name(self, node):
        return self.variable(node.base, node.sub)

    def _Ones(self, node):
        return t.E("ones", (), (self.dims.fresh(), ("fixed", 1)))

    def _Neg(self, node):
        x = self.walk(node.arg)
        return t.E("neg", (x,), x.shape)

    def _Add(self, node, op="add"):
        x, y = self.walk(node.left), self.walk(node.right)
        if op == "sub":
            y = t.E("neg", (y,), y.shape)
        return self.elementwise("add", (node.left, x), (node.right, y), "+" if op == "add" else "-")

    def _Sub(self, node):
        return self._Add(node, op="sub")

    def elementwise(self, op, left, right, sym):
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

    def _Mul(self, node):
        if node.op == ".*":
            return self.elementwise("had", (node.left, self.walk(node.left)), (node.right, self.walk(node.right)), ".*")
        return self.product(node.left, node.right, force_matrix=node.op == "@")

    def product(self, a, b, force_matrix=False):
        x, y = self.walk(a), self.walk(b)
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

    def _Div(self, node):
        a, b = node.left, node.right
        why = n.ambiguous_division(node)
        if why:
            raise ReadError(why)
        if node.elementwise:
            return self.elementwise("ediv", (a, self.walk(a)), (b, self.walk(b)), "./")
        x, y = self.walk(a), self.walk(b)
        if not self.is_scalar(y):
            self.mismatch("'/' (the divisor must be a scalar; use ./ elementwise)", [(a, x), (b, y)])
        if x.op == "num" and y.op == "num":
            if y.value == 0:
                raise ReadError("division by zero")
            return t.num(x.value / y.value)
        return t.E("ediv", (x, y), x.shape)

    def _Transpose(self, node):
        x = self.walk(node.arg)
        if x.op == "num" and x.value == 1:
            x = t.E("ones", (), (self.dims.fresh(), ("fixed", 1)))
        return t.transpose(x)

    def square(self, what, a, x):
        if not self.dims.unify(x.shape[0], x.shape[1]):
            self.mismatch(f"{what} (needs a square matrix)", [(a, x)])

    def _Pow(self, node):
        x = self.walk(node.base)
        k = self.exponent(node.exp)
        if x.op == "num":
            if x.value == 0 and k < 0:
                raise ReadError("division by zero")
            return t.num(x.value ** int(k)) if k.denominator == 1 else t.E("pow", (x,), x.shape, value=k)
        if k == -1 and not self.is_scalar(x) and not self.is_one(x.shape[1]):
            self.square("an inverse", node.base, x)
            return t.E("inv", (x,), x.shape)
        if k == 1:
            return x
        return t.E("pow", (x,), x.shape, value=k)

    def exponent(self, node):
        if isinstance(node, n.Neg):
            return -self.exponent(node.arg)
        if isinstance(node, n.Group):
            return self.exponent(node.arg)
        if isinstance(node, n.Num):
            k = literal_value(node.text)
            if abs(k) > DEFAULT.max_exponent:
                raise ReadError(f"the exponent {node.text} is larger than {DEFAULT.max_exponent}")
            return k
        raise ReadError("an exponent must be a number")

    def _Norm(self, node):
        x = self.walk(node.arg)
        vector = self.is_one(x.shape[1])
        if node.subscript == "F" or (not node.subscript and not vector):
            return t.E("normF", (x,))
        if not vector:
            self.mismatch(f"a vector {node.subscript}-norm", [(node.arg, x)])
        return t.E("norm1" if node.subscript == "1" else "norm2", (x,))

    def _Call(self, node):
        fname = FUNC_ALIAS.get(node.func, node.func)
        if len(node.args) != 1:
            raise ReadError(f"{fname}(...) takes one argument, not {len(node.args)}")
        (a,) = node.args
        if fname == "delta":
            # a Greek letter next to a bracket: a scalar times the bracket (a delta with indices is read elsewhere)
            return self.product(n.Name(node.func), n.Group(a))
        if fname not in _KNOWN:
            known = ", ".join(sorted(_KNOWN - {"normF"}))
            raise ReadError(f"{fname}(...) is not a function diff differentiates; the functions it knows are {known}")
        x = self.walk(a)
        if fname in t.ELEMENTWISE:
            return t.E("fn", (x,), x.shape, name=fname)
        if fname in ("tr", "det", "logdet", "inv"):
            self.square(fname, a, x)
            return t.E(fname, (x,), x.shape if fname == "inv" else t.SCALAR)
        if fname == "sum":
            return t.E("sum", (x,))
        if fname == "norm":  # norm(x): the 2-norm of a vector, the Frobenius norm of a matrix, as ||x||
            fname = "norm2" if self.is_one(x.shape[1]) else "normF"
        if fname in ("norm2", "norm1", "normF"):
            if fname != "normF" and not self.is_one(x.shape[1]):
                self.mismatch(f"{fname} (needs a column vector)", [(a, x)])
            return t.E(fname, (x,))
        if self.is_one(x.shape[1]):
            return t.E("diagm", (x,), (x.shape[0], x.shape[0]))
        self.square("diag", a, x)
        return t.E("diagv", (x,), (x.shape[0], ("fixed", 1)))

    def _Iverson(self, node):
        pair = indices.pair(node)
        if pair is None:
            raise ReadError(f"{self.span(node)}: an indicator [[j = k]] compares two indices (single letters)")
        return self._Kronecker(node, pair)

    def _Kronecker(self, node, pair=None):
        pair = pair or node.indices
        summed = {s.index for s in n.walk(self.parsed.node) if isinstance(s, n.IndexSum)}
        what = self.span(node)
        if set(pair) & summed:
            k = next(i for i in pair if i in summed)
            raise ReadError(
                f"{what} must be a factor of the whole summand of sum_{k} (sum_{k} delta_{{j{k}}} a_{k} is a_j)"
            )
        raise ReadError(
            f"{what}: the index {pair[0]} is not summed over; gradproof diff reads closed expressions "
            f"(e.g. sum_j sum_k delta_{{jk}} a_j b_k)"
        )

    def _IndexSum(self, node):
        return SampleSum(self, node.index).total(node)

    def error(self, message: str) -> ReadError:
        return ReadError(message)

    def snapshot(self):
        d = self.dims
        return dict(self.vars), len(self.bounds), (dict(d.parent), dict(d.fixed), d.n)

    def restore(self, saved):
        self.vars, bounds, (parent, fixed, count) = saved
        del self.bounds[bounds:]
        self.dims.parent, self.dims.fixed, self.dims.n = parent, fixed, count


_KNOWN = frozenset(t.ELEMENTWISE) | {"tr", "det", "logdet", "inv", "sum", "norm", "norm2", "norm1", "normF", "diag"}
_WHAT = {
    "Indexed": "index brackets W[i, j]",
    "Piecewise": "Piecewise",
    "Rel": "a comparison",
    "And": "a condition",
    "Always": "a condition",
    "Tuple": "several expressions in one bracket",
}
_Builder.REFUSED = {k: f"{v} cannot be differentiated here" for k, v in _WHAT.items()}


def _divisor_names(node):
    out = set()
    for sub in n.walk(node):
        if isinstance(sub, n.Div) and not sub.elementwise:
            den = sub.right
            while isinstance(den, n.Group):
                den = den.arg
            # a bare name, or a product of bare names and numbers (``/ (2 m)``): each name is a scalar
            factors = n.juxt_factors(den) if isinstance(den, n.Mul) and den.op == "juxt" else [den]
            names = [f for f in factors if isinstance(f, n.Name) and not f.sub]
            if len(factors) > 1 and any(kind_of(f.base.lstrip("\\")) == "matrix" for f in names):
                continue  # an upper-case name stays a matrix: ``X w / (A x)`` is a shape error
            if len(names) + sum(isinstance(f, n.Num) for f in factors) == len(factors):
                out.update(f.base.lstrip("\\") for f in names)
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


def _letters(b: _Builder, named: dict) -> dict:
    """Dimension names given with --shape or as a sum's upper bound, unified by name."""
    letters, by_letter = {}, {}
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
    return letters


def shaped(parsed: Parsed, shapes: dict | None = None) -> t.E:
    """The shaped tree of a parsed expression, dimensions unified and named (raises :class:`ReadError`)."""
    overrides, named = {}, {}
    for name, shape in (shapes or {}).items():
        r, c = shape
        overrides[name] = (r if isinstance(r, int) else None, c if isinstance(c, int) else None)
        named[name] = shape
    b = _Builder(parsed, overrides)
    b.divisors = _divisor_names(parsed.node)
    try:
        e = b.walk(parsed.node)
        return _finish(b, e, _letters(b, named))
    except RecursionError:
        raise ReadError("the expression nests too deeply") from None
