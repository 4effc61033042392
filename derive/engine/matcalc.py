"""Matrix calculus on the typed tree: gradients, Jacobians and Hessians in
matrix form, each proved entry by entry against SymPy's scalar
differentiation of the explicit expression at small non-square sizes.

The gradient of a scalar expression is found by propagating adjoints down
the tree (one rule per node, beside the node's meaning); a Jacobian by
pushing differentials up the tree.  SymPy's ``MatrixSymbol.diff`` is never
used: it is silently wrong on sums of traces and on log-sum-exp.

>>> from gradproof.derive.reading import read
>>> r = differentiate(read("(X w - y)^T (X w - y) + lambda w^T w"), "w")
>>> text(r.result)
'2 X^T (X w - y) + 2 lambda w'
>>> r.proved
True
"""

from __future__ import annotations

import keyword
from dataclasses import dataclass, field
from fractions import Fraction

from gradproof.derive.reading import tree as t
from gradproof.derive.reading.tree import SCALAR, E


class DiffError(Exception):
    """A derivative outside what the engine reads off (exit 2)."""


# ---------------------------------------------------------------- builders
def zero(shape):
    return E("num", (), shape, value=Fraction(0))


def is_zero(e):
    return e.op == "num" and e.value == 0


def is_num(e, v):
    return e.op == "num" and e.value == v and e.is_scalar()


def eye(n):
    return E("eye", (), (n, n))


def ones(n):
    return E("ones", (), (n, 1))


def neg(a):
    if is_zero(a):
        return a
    if a.op == "neg":
        return a.args[0]
    if a.op == "num":
        return E("num", (), a.shape, value=-a.value)
    if a.op == "scale" and a.args[0].op == "num":
        return scale(E("num", value=-a.args[0].value), a.args[1])
    return E("neg", (a,), a.shape)


def _coeff(a):
    """Split ``c * rest`` with a number c."""
    if a.op == "neg":
        c, r = _coeff(a.args[0])
        return -c, r
    if a.op == "scale" and a.args[0].op == "num":
        return a.args[0].value, a.args[1]
    if a.op == "num" and a.is_scalar():
        return a.value, None
    return Fraction(1), a


def _terms(e):
    if e.op == "add":
        return _terms(e.args[0]) + _terms(e.args[1])
    return [e]


def add(a, b):
    """Sum with like terms collected (``lambda w + lambda w`` -> ``2 lambda w``)."""
    terms = [x for x in _terms(a) + _terms(b) if not is_zero(x)]
    if len(terms) > 2:
        merged = []
        for x in terms:
            cx, rx = _coeff(x)
            for k, (cy, ry) in enumerate(merged):
                if ry == rx:
                    merged[k] = (cy + cx, ry)
                    break
            else:
                merged.append((cx, rx))
        out = None
        for c, r in merged:
            term = E("num", value=c) if r is None else scale(E("num", value=c), r)
            if is_zero(term):
                continue
            out = term if out is None else _add2(out, term)
        return out if out is not None else zero(a.shape if not a.is_scalar() else b.shape)
    return _add2(a, b)


def _add2(a, b):
    if is_zero(a):
        return b
    if is_zero(b):
        return a
    if a.op == "num" and b.op == "num" and a.shape == b.shape:
        return E("num", (), a.shape, value=a.value + b.value)
    ca, ra = _coeff(a)
    cb, rb = _coeff(b)
    if ra is not None and ra == rb:
        return scale(E("num", value=ca + cb), ra)
    shape = a.shape if not a.is_scalar() else b.shape
    return E("add", (a, b), shape)


def sub(a, b):
    return add(a, neg(b))


def scale(s, m):
    """Scalar s times m."""
    if is_zero(s) or is_zero(m):
        return zero(m.shape)
    if is_num(s, 1):
        return m
    if m.op == "ediv" and m.args[1] == s:
        return m.args[0]
    if s.op == "ediv" and s.is_scalar() and s.args[0].op == "num" and s.args[1].is_scalar():
        # (c / d) M -> c M / d
        return ediv(scale(s.args[0], m), s.args[1])
    if s.op == "num" and m.op == "ediv" and m.args[1].is_scalar():
        return ediv(scale(s, m.args[0]), m.args[1])
    if s.op == "scale" and s.args[0].op == "num" and s.is_scalar():
        return scale(s.args[0], scale(s.args[1], m))
    if s.op == "pow" and s.value == -1:
        if m.op == "scale" and m.args[0] == s.args[0]:
            return m.args[1]
        return ediv(m, s.args[0])
    if m.is_scalar() and m.op == "num" and s.op == "num":
        return E("num", value=s.value * m.value)
    if is_num(s, -1):
        return neg(m)
    if m.is_scalar() and m.op == "num":
        s, m = m, s
    if s.op == "neg":
        return neg(scale(s.args[0], m))
    if m.op == "neg":
        return neg(scale(s, m.args[0]))
    if s.op == "num" and m.op == "scale" and m.args[0].op == "num":
        return scale(E("num", value=s.value * m.args[0].value), m.args[1])
    if m.op == "scale" and m.args[0].op == "num" and s.op != "num":
        return scale(m.args[0], scale(s, m.args[1]))
    return E("scale", (s, m), m.shape)


def mul(a, b):
    """The matrix product (scalars fall through to :func:`scale`)."""
    if a.is_scalar():
        return scale(a, b)
    if b.is_scalar():
        return scale(b, a)
    shape = (a.shape[0], b.shape[1])
    if is_zero(a) or is_zero(b):
        return zero(shape)
    if a.op == "eye":
        return b
    if b.op == "eye":
        return a
    if a.op == "neg":
        return neg(mul(a.args[0], b))
    if b.op == "neg":
        return neg(mul(a, b.args[0]))
    if a.op == "scale":
        return scale(a.args[0], mul(a.args[1], b))
    if b.op == "scale":
        return scale(b.args[0], mul(a, b.args[1]))
    if a.shape == SCALAR and b.shape == SCALAR:
        return scale(a, b)
    return E("mul", (a, b), shape)


def T(a):
    if a.is_scalar():
        return a
    if a.op == "T":
        return a.args[0]
    if a.op in ("eye", "diagm") or (a.op == "num"):
        return a if a.op != "num" else E("num", (), (a.shape[1], a.shape[0]), value=a.value)
    if a.op == "neg":
        return neg(T(a.args[0]))
    if a.op == "scale":
        return scale(a.args[0], T(a.args[1]))
    if a.op == "add":
        return add(T(a.args[0]), T(a.args[1]))
    if a.op == "mul":
        return mul(T(a.args[1]), T(a.args[0]))
    if a.op == "ediv" and a.args[1].is_scalar():
        return ediv(T(a.args[0]), a.args[1])
    return t.transpose(a)


def had(a, b):
    if a.is_scalar() or b.is_scalar():
        return scale(a, b) if a.is_scalar() else scale(b, a)
    if is_zero(a) or is_zero(b):
        return zero(a.shape)
    if a.op == "ones":
        return b
    if b.op == "ones":
        return a
    if a.op == "scale" and a.args[1].op == "ones":
        return scale(a.args[0], b)
    if b.op == "scale" and b.args[1].op == "ones":
        return scale(b.args[0], a)
    return E("had", (a, b), a.shape)


def fn(name, a):
    return E("fn", (a,), a.shape, name=name)


def power(a, k):
    k = Fraction(k)
    if k == 1:
        return a
    if k == 0:
        return E("num", (), a.shape, value=Fraction(1)) if a.is_scalar() else ones_like(a)
    return E("pow", (a,), a.shape, value=k)


def ones_like(a):
    if a.shape[1] == 1:
        return ones(a.shape[0])
    return mul(ones(a.shape[0]), T(ones(a.shape[1])))


def ediv(a, b):
    if is_num(b, 1):
        return a
    return E("ediv", (a, b), a.shape if not a.is_scalar() else b.shape)


def inv(a):
    return E("inv", (a,), a.shape)


# ------------------------------------------------------- local derivatives
def fprime(name, u):
    """f'(u) elementwise, as a tree."""
    one = E("num", value=Fraction(1))
    return {
        "exp": lambda: fn("exp", u),
        "log": lambda: power(u, -1),
        "tanh": lambda: sub(ones_like(u) if not u.is_scalar() else one, power(fn("tanh", u), 2)),
        "sigma": lambda: had(fn("sigma", u), sub(ones_like(u) if not u.is_scalar() else one, fn("sigma", u))),
        "softplus": lambda: fn("sigma", u),
        "relu": lambda: fn("step", u),
        "abs": lambda: fn("sign", u),
        "sqrt": lambda: scale(E("num", value=Fraction(1, 2)), power(fn("sqrt", u), -1)),
        "step": lambda: zero(u.shape),
        "sign": lambda: zero(u.shape),
    }[name]()


def depends(e, v):
    return v in e.free()


# ------------------------------------------------------------ reverse mode
def gradient(e: E, v: str, steps: list) -> E:
    """d(scalar e)/d v, shaped like v, by adjoint propagation."""
    if not e.is_scalar():
        raise DiffError("the gradient needs a scalar expression")
    acc = {}

    def push(node, bar):
        if not depends(node, v) or is_zero(bar):
            return
        op, a = node.op, node.args
        if op == "var":
            acc["g"] = add(acc["g"], bar) if "g" in acc else bar
            return
        if op == "neg":
            return push(a[0], neg(bar))
        if op == "add":
            for x in a:
                push(x, bar if not x.is_scalar() or node.is_scalar() else sum_all(bar))
            return
        if op == "scale":
            s, m = a
            push(s, inner(bar, m))
            push(m, scale(s, bar))
            return
        if op == "mul":
            x, y = a
            push(x, mul(bar, T(y)))
            push(y, mul(T(x), bar))
            return
        if op == "T":
            return push(a[0], T(bar))
        if op == "had":
            x, y = a
            push(x, had(bar, y))
            push(y, had(bar, x))
            return
        if op == "ediv":
            x, y = a
            push(x, ediv(bar, y) if not x.is_scalar() or node.is_scalar() else sum_all(ediv(bar, y)))
            gy = (
                neg(had(bar, ediv(x, power(y, 2))))
                if not y.is_scalar() or node.is_scalar()
                else neg(ediv(inner(bar, x), power(y, 2)))
            )
            push(y, gy)
            return
        if op == "fn":
            return push(a[0], had(bar, fprime(node.name, a[0])))
        if op == "pow":
            k = node.value
            return push(a[0], had(bar, scale(E("num", value=k), power(a[0], k - 1))))
        if op == "tr":
            return push(a[0], scale(bar, eye(a[0].shape[0])))
        if op == "det":
            return push(a[0], scale(bar, scale(node, T(inv(a[0])))))
        if op == "logdet":
            return push(a[0], scale(bar, T(inv(a[0]))))
        if op == "inv":
            it = T(inv(a[0]))
            return push(a[0], neg(mul(mul(it, bar), it)))
        if op == "sum":
            return push(a[0], scale(bar, ones_like(a[0])))
        if op == "norm2":
            return push(a[0], scale(bar, ediv(a[0], node)))
        if op == "normF":
            return push(a[0], scale(bar, ediv(a[0], node)))
        if op == "norm1":
            return push(a[0], scale(bar, fn("sign", a[0])))
        if op == "diagm":
            return push(a[0], E("diagv", (bar,), a[0].shape))
        if op == "diagv":
            return push(a[0], E("diagm", (bar,), a[0].shape))
        if op == "fn" and node.name == "log":
            pass
        raise DiffError(f"no derivative rule for {op}")

    push(e, E("num", value=Fraction(1)))
    g = acc.get("g")
    return g if g is not None else zero(_var_shape(e, v))


def _var_shape(e, v):
    for x in t.walk(e):
        if x.op == "var" and x.name == v:
            return x.shape
    raise DiffError(f"{v} does not appear in the expression")


def sum_all(m):
    if m.is_scalar():
        return m
    return E("sum", (m,))


def inner(a, b):
    """<a, b> = sum of a ⊙ b, kept in matrix form where it reads better."""
    if a.is_scalar() and b.is_scalar():
        return scale(a, b)
    if b.shape[1] == 1:
        return mul(T(b), a) if not is_num(a, 1) else sum_all(b)
    return E("tr", (mul(T(a), b),))


# ------------------------------------------------------------ forward mode
def jacobian(e: E, v: str, n_in) -> E:
    """d(vector e)/d(vector v): rows are outputs."""
    if not depends(e, v):
        return E("num", (), (e.shape[0], n_in), value=Fraction(0))
    op, a = e.op, e.args
    if op == "var":
        return eye(n_in)
    if op == "neg":
        return neg(jacobian(a[0], v, n_in))
    if op == "add":
        return add(jacobian(a[0], v, n_in), jacobian(a[1], v, n_in))
    if op == "scale":
        s, m = a
        out = scale(s, jacobian(m, v, n_in)) if depends(m, v) else zero((e.shape[0], n_in))
        if depends(s, v):
            out = add(out, mul(m, T(gradient(s, v, []))))
        return out
    if op == "mul":
        x, y = a
        if depends(x, v):
            if x.op == "diagm":
                return jacobian(had(x.args[0], y), v, n_in)
            if x.op == "T" and x.args[0].shape[1] == 1:
                return jacobian(scale(mul(x, y), ones(1)) if False else E("scale", (mul(x, y),), e.shape), v, n_in)
            raise DiffError("a Jacobian through a matrix that depends on the variable is not read off")
        return mul(x, jacobian(y, v, n_in))
    if op == "had":
        x, y = a
        return add(
            mul(diag(y), jacobian(x, v, n_in)) if depends(x, v) else zero((e.shape[0], n_in)),
            mul(diag(x), jacobian(y, v, n_in)) if depends(y, v) else zero((e.shape[0], n_in)),
        )
    if op == "fn":
        return mul(diag(fprime(e.name, a[0])), jacobian(a[0], v, n_in))
    if op == "pow":
        return mul(diag(scale(E("num", value=e.value), power(a[0], e.value - 1))), jacobian(a[0], v, n_in))
    if op == "ediv":
        x, y = a
        if y.is_scalar():
            out = ediv(jacobian(x, v, n_in), y) if depends(x, v) else zero((e.shape[0], n_in))
            if depends(y, v):
                out = sub(out, mul(ediv(x, power(y, 2)), T(gradient(y, v, []))))
            return out
        return jacobian(had(x, power(y, -1)), v, n_in)
    if op == "T":
        return jacobian(a[0], v, n_in)
    raise DiffError(f"no Jacobian rule for {op}")


def diag(u):
    if u.op == "ones":
        return eye(u.shape[0])
    if u.is_scalar():
        return u
    return E("diagm", (u,), (u.shape[0], u.shape[0]))


# ----------------------------------------------------------------- printing
_PREC = {"add": 1, "neg": 2, "scale": 3, "mul": 3, "had": 3, "ediv": 3, "pow": 5, "T": 6}
_FN_TEXT = {"sigma": "sigma"}


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
            s = f"{text(l, 1)} - {text(scale(E('num', value=-r.args[0].value), r.args[1]), 2)}"
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
        s = f"{latex(e.args[0], 3)} {latex(e.args[1], 4)}"
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


# ------------------------------------------------------------------ result
@dataclass(frozen=True)
class Entry:
    key: str
    passed: bool
    detail: str = ""


@dataclass(frozen=True)
class Result:
    expr: E
    wrt: str
    kind: str  # gradient | jacobian | hessian
    result: E
    shapes: dict
    sizes: dict
    steps: tuple
    proofs: tuple = field(default_factory=tuple)

    @property
    def proved(self) -> bool:
        return bool(self.proofs) and all(p.passed for p in self.proofs)

    def failed(self):
        return [p for p in self.proofs if not p.passed]


def differentiate(e: E, wrt: str, hessian: bool = False, prove_it: bool = True) -> Result:
    from gradproof.derive.reading import names as _names

    shapes = _names(e)
    if wrt not in shapes:
        raise DiffError(f"{wrt!r} does not appear in the expression")
    vshape = shapes[wrt]
    steps = [("expression", text(e)), ("shapes", ", ".join(f"{k}: {_shape_text(s)}" for k, s in shapes.items()))]
    if hessian:
        if not e.is_scalar() or vshape[1] != 1:
            raise DiffError("--hessian needs a scalar expression of a column vector")
        g = gradient(e, wrt, [])
        steps.append(("gradient (adjoints propagated from the root)", text(g)))
        g = _tidy_step(g, steps)
        res = _tidy_step(jacobian(g, wrt, vshape[0]), steps, "Hessian = Jacobian of the gradient")
        steps.append(("Hessian = Jacobian of the gradient", text(res)))
        kind = "hessian"
    elif e.is_scalar():
        res = gradient(e, wrt, [])
        steps.append(("gradient (adjoints propagated from the root)", text(res)))
        res = _tidy_step(res, steps)
        kind = "gradient"
    else:
        if e.shape[1] != 1 or vshape[1] != 1:
            raise DiffError("a Jacobian needs a column-vector expression and a column-vector variable")
        res = jacobian(e, wrt, vshape[0])
        steps.append(("Jacobian (differentials pushed from the leaves; rows = outputs)", text(res)))
        res = _tidy_step(res, steps)
        kind = "jacobian"
    sizes = concrete_sizes(e)
    r = Result(e, wrt, kind, res, shapes, sizes, tuple(steps))
    if prove_it:
        from gradproof.derive.proof.matcalc import prove

        r = Result(e, wrt, kind, res, shapes, sizes, tuple(steps), tuple(prove(r)))
    return r


def _tidy_step(e, steps, label=None):
    if label:
        steps.append((label, text(e)))
    out = tidy(e)
    if out != e:
        steps.append(("elementwise terms collected", text(out)))
    return out


def _shape_text(s):
    return "scalar" if s == SCALAR else ("vector of length %s" % s[0] if s[1] == 1 else "%sx%s" % s)


def concrete_sizes(e: E) -> dict:
    """Small, distinct sizes for every dimension name, so that a transpose cannot hide."""
    dims = []
    for x in t.walk(e):
        for d in x.shape:
            if isinstance(d, str) and d not in dims:
                dims.append(d)
    sizes = [3, 2, 4, 5, 6, 7]
    return {d: sizes[i % len(sizes)] for i, d in enumerate(dims)}


def pyname(name: str) -> str:
    """The keyword argument for a variable (``lambda`` -> ``lambda_``)."""
    return name + "_" if keyword.iskeyword(name) or name in ("np",) else name


# ---------------------------------------------------- elementwise algebra
_ELEMENTWISE_OPS = ("add", "neg", "had", "ediv", "pow", "scale")


def _is_elementwise(e):
    if e.op == "scale":
        return e.args[0].op == "num" or e.args[1].op == "ones"
    return e.op in _ELEMENTWISE_OPS


def tidy(e: E) -> E:
    """Collect an elementwise subexpression as a rational function of its atoms.

    Vectors combined entry by entry (``+ - .* ./ ^``) behave like scalars, so
    each maximal such subtree is rewritten with SymPy over scalar stand-ins
    for its atoms (``sigma(X w)``, ``y``, ...), cancelled, and read back:
    ``-y .* sigma^-1 .* sigma .* (1 - sigma) + ...`` becomes ``sigma(X w) - y``.
    The proof that follows checks the outcome like any other result.
    """
    import sympy as sp

    if e.op == "add":
        args = tuple(tidy(a) for a in e.args)
        f = _factor(_rebuild(e, args))
        if f.op != "add":
            return tidy(f)
        e = f
    if not e.is_scalar() and e.shape[1] == 1 and _is_elementwise(e):
        atoms: dict = {}

        def to_sp(x):
            if x.op == "num" and x.is_scalar():
                return sp.Rational(x.value.numerator, x.value.denominator)
            if x.op == "ones":
                return sp.Integer(1)
            if x.is_scalar() and x.op == "ediv":
                return to_sp(x.args[0]) / to_sp(x.args[1])
            if x.is_scalar() or not _is_elementwise(x):
                key = tidy(x) if x.args else x
                if key not in atoms:
                    atoms[key] = sp.Symbol(f"a{len(atoms)}", positive=True)
                return atoms[key]
            a = [to_sp(y) for y in x.args]
            return {
                "add": lambda: a[0] + a[1],
                "neg": lambda: -a[0],
                "had": lambda: a[0] * a[1],
                "scale": lambda: a[0] * a[1],
                "ediv": lambda: a[0] / a[1],
                "pow": lambda: a[0] ** sp.Rational(x.value.numerator, x.value.denominator),
            }[x.op]()

        s = to_sp(e)
        cands = [sp.cancel(s), sp.expand(s)]
        fac = sp.factor(s)
        if fac.as_coeff_Mul()[0] == 1:  # keep 2 a + 2 b as written in the cookbook, not 2 (a + b)
            cands.append(fac)
        best = min(cands, key=lambda c: (sp.count_ops(c), len(str(c))))
        back = {v: k for k, v in atoms.items()}
        n = e.shape[0]

        def from_sp(x):
            if x.is_Symbol:
                return back[x]
            if x.is_Rational:
                return scale(E("num", value=Fraction(int(x.p), int(x.q))), ones(n))
            if x.is_Add:
                terms = sorted(x.args, key=lambda t_: t_.could_extract_minus_sign())
                out = from_sp(terms[0])
                for t_ in terms[1:]:
                    out = add(out, from_sp(t_))
                return out
            if x.is_Mul:
                c, rest = x.as_coeff_Mul()
                if c != 1:
                    r = from_sp(rest)
                    return neg(r) if c == -1 else scale(E("num", value=Fraction(int(c.p), int(c.q))), r)
                num_, den = sp.fraction(x)
                if den != 1:
                    return ediv(from_sp(num_), from_sp(den))
                out = from_sp(x.args[0])
                for f in x.args[1:]:
                    out = _had_vec(out, from_sp(f))
                return out
            if x.is_Pow and x.exp.is_Rational:
                if x.exp < 0:
                    return ediv(ones(n), from_sp(x.base**-x.exp))
                return power(from_sp(x.base), Fraction(int(x.exp.p), int(x.exp.q)))
            raise DiffError("cannot read back an elementwise form")

        try:
            if best.free_symbols <= set(back):
                out = from_sp(best)
                if len(text(out)) <= len(text(e)):
                    return out
        except (DiffError, KeyError):
            pass
        return e
    if not e.args:
        return e
    args = tuple(tidy(a) for a in e.args)
    out = e if args == e.args else _rebuild(e, args)
    if out.op == "add":
        out = _factor(out)
    return out


def _factor(e):
    """``L a + L b`` -> ``L (a + b)`` and ``A r + B r`` -> ``(A + B) r``, inner sum tidied."""
    terms = _terms(e)
    for side in (0, 1):
        groups: dict = {}
        order = []
        for x in terms:
            sign, core = (-1, x.args[0]) if x.op == "neg" else (1, x)
            if core.op != "mul":
                groups.setdefault(("solo", x), []).append((1, x))
                order.append(("solo", x)) if ("solo", x) not in order else None
                continue
            key = core.args[side]
            rest = core.args[1 - side]
            groups.setdefault(key, []).append((sign, rest))
            if key not in order:
                order.append(key)
        if all(len(v) == 1 for v in groups.values()):
            continue
        out = None
        for key in order:
            items = groups[key]
            if isinstance(key, tuple) and key and key[0] == "solo":
                term = items[0][1]
            elif len(items) == 1:
                sign, rest = items[0]
                term = mul(key, rest) if side == 0 else mul(rest, key)
                term = neg(term) if sign < 0 else term
            else:
                inner_ = None
                for sign, rest in items:
                    r = neg(rest) if sign < 0 else rest
                    inner_ = r if inner_ is None else add(inner_, r)
                inner_ = tidy(inner_)
                term = mul(key, inner_) if side == 0 else mul(inner_, key)
            out = term if out is None else add(out, term)
        return out
    return e


def _had_vec(a, b):
    if a.is_scalar() and not b.is_scalar():
        return scale(a, b)
    if b.is_scalar() and not a.is_scalar():
        return scale(b, a)
    return had(a, b)


def _rebuild(e, args):
    op = e.op
    if op == "add":
        return add(*args)
    if op == "neg":
        return neg(args[0])
    if op == "scale":
        return scale(*args)
    if op == "mul":
        return mul(*args)
    if op == "had":
        return had(*args)
    if op == "T":
        return T(args[0])
    return E(op, args, e.shape, e.name, e.value)
