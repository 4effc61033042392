"""NumPy printers: matrix forms and elementwise bodies to NumPy expressions.

One ``_print_X`` method per node of :mod:`gradproof.derive.engine.mexpr`
(:class:`NumpyPrinter`) and per SymPy node of an elementwise body
(:class:`NumpyScalarPrinter`); anything not listed is a
:class:`CodegenError`, raised at generation time.  ``HELPERS`` are the stable
functions a generated module carries along (its own copy: generated code
imports NumPy only).
"""

from __future__ import annotations

import sympy as sp
from sympy.printing.str import StrPrinter

from gradproof.derive.engine import mexpr as mx
from gradproof.derive.lecture import functions as fn

# ---------------------------------------------------------------------------
# Printers
# ---------------------------------------------------------------------------


class CodegenError(ValueError):
    """An expression the NumPy printer cannot translate: raised at generation
    time, so that no module is ever written with a name NumPy does not know."""


_ALLOWED_NODES = (
    sp.Add,
    sp.Mul,
    sp.Pow,
    sp.Integer,
    sp.Rational,
    sp.Float,
    sp.Piecewise,
    sp.core.relational.Relational,
    sp.And,
    sp.Or,
    sp.Max,
    sp.Min,
)


class NumpyScalarPrinter(StrPrinter):
    """Elementwise bodies: SymPy scalar expressions over NumPy arrays.

    Strict: every node is either arithmetic, a number, a symbol with a
    variable name, a piecewise condition, or a function of the table in
    :mod:`gradproof.derive.lecture.functions`; anything else is a :class:`CodegenError`.
    ``not_analytic`` collects why the printed code cannot take the complex
    step (a kink, a comparison, ``logaddexp``), decided from the expression.
    """

    def __init__(self, names: dict, helpers: set, not_analytic: set | None = None):
        super().__init__({"order": "none"})
        self.names = names
        self.helpers = helpers
        self.not_analytic = not_analytic if not_analytic is not None else set()

    def _print(self, expr, **kwargs):
        if isinstance(expr, sp.Basic) and not self._allowed(expr):
            raise CodegenError(
                f"no NumPy form for {type(expr).__name__} in {sp.sstr(expr)[:80]}; "
                "declare the function in derive/functions.py"
            )
        if isinstance(expr, sp.Function) and not isinstance(expr, (sp.Piecewise, sp.log)):
            return self._print_Function(expr)  # the table, never one of StrPrinter's own function methods
        return super()._print(expr, **kwargs)

    def _allowed(self, e) -> bool:
        if isinstance(e, (sp.Symbol, sp.Function)):
            return True  # checked by _print_Symbol / _print_Function
        if e in (sp.pi, sp.E, sp.true):
            return True
        if isinstance(
            e,
            (
                sp.core.numbers.Infinity,
                sp.core.numbers.NegativeInfinity,
                sp.core.numbers.NaN,
                sp.core.numbers.ComplexInfinity,
            ),
        ):
            return False
        return isinstance(e, _ALLOWED_NODES)

    def _print_Symbol(self, e):
        if e not in self.names:
            raise CodegenError(f"the symbol {e.name!r} has no variable in the generated code")
        return self.names[e]

    def _print_Pi(self, e):
        return "np.pi"

    def _print_Exp1(self, e):
        return "np.e"

    def _print_BooleanTrue(self, e):
        return "True"

    def _print_Function(self, e):
        entry = fn.lookup(e)
        if entry is None:
            raise CodegenError(
                f"the function {type(e).__name__!r} has no NumPy form; declare it in derive/functions.py"
            )
        if len(e.args) != entry.nargs:
            raise CodegenError(f"{entry.name} takes one argument, not {len(e.args)}")
        if entry.helper:
            self.helpers.add(entry.helper)
        if not entry.analytic:
            self.not_analytic.add(entry.name)
        return entry.numpy.format(self._print(e.args[0]))

    def _print_exp(self, e):
        return self._print_Function(e)

    def _print_log(self, e):
        arg = e.args[0]
        # log sigma(s) = -logaddexp(0, -s); log(1 - sigma(s)) = -logaddexp(0, s)
        if isinstance(arg, fn.sigmoid):
            self.not_analytic.add("logaddexp")
            return f"(-np.logaddexp(0, -{self._paren(arg.args[0])}))"
        one_minus = sp.expand(1 - arg)
        if isinstance(one_minus, fn.sigmoid):
            self.not_analytic.add("logaddexp")
            return f"(-np.logaddexp(0, {self._print(one_minus.args[0])}))"
        if arg.is_Add and arg.args[0] == 1 and len(arg.args) == 2:
            return f"np.log1p({self._print(arg.args[1])})"
        return self._print_Function(e)

    def _paren(self, x):
        s = self._print(x)
        return s if (x.is_Symbol or x.is_Atom) else f"({s})"

    def _print_Pow(self, e, rational=False):
        b, x = e.as_base_exp()
        if x == -1:
            return f"1 / {self._paren(b)}"
        if x == sp.Rational(1, 2):
            return f"np.sqrt({self._print(b)})"
        if x == -sp.Rational(1, 2):
            return f"1 / np.sqrt({self._print(b)})"
        if x.is_Rational and not x.is_Integer:  # x**3/2 would be (x**3)/2
            return f"{self._paren(b)}**({x.p}/{x.q})"
        return f"{self._paren(b)}**{self._paren(x)}"

    def _print_Rational(self, e):
        return f"{e.p}/{e.q}"

    def _print_Relational(self, e):
        self.not_analytic.add("comparison")
        return f"({self._print(e.lhs)} {e.rel_op} {self._print(e.rhs)})"

    def _print_And(self, e):
        return " & ".join(self._print(a) for a in e.args)

    def _print_Or(self, e):
        return " | ".join(self._print(a) for a in e.args)

    def _print_Max(self, e):
        self.not_analytic.add("max")
        out = self._print(e.args[0])
        for a in e.args[1:]:
            out = f"np.maximum({out}, {self._print(a)})"
        return out

    def _print_Min(self, e):
        self.not_analytic.add("min")
        out = self._print(e.args[0])
        for a in e.args[1:]:
            out = f"np.minimum({out}, {self._print(a)})"
        return out

    def _print_Piecewise(self, e):
        # A declared piecewise map (ELU, Huber): nested np.where, the last branch
        # the default.  np.where evaluates every branch everywhere, so the
        # generated function runs under np.errstate (see _guard_branches).
        self.helpers.add("branches")
        self.not_analytic.add("piecewise")
        *pieces, (last, cond) = e.args
        if cond is not sp.true:
            raise CodegenError("a Piecewise needs a final default branch (condition True) for code generation")
        out = self._print(last)
        for value, c in reversed(pieces):
            out = f"np.where({self._print(c)}, {self._print(value)}, {out})"
        return out


class NumpyPrinter:
    """Matrix forms to NumPy expressions; ``names`` maps symbols to variables."""

    def __init__(self, names: dict, dims: dict):
        self.names = names
        self.dims = dims
        self.helpers: set[str] = set()
        self.not_analytic: set[str] = set()

    def doprint(self, e) -> str:
        method = getattr(self, "_print_" + type(e).__name__, None)
        if method is None:
            raise CodegenError(f"no NumPy form for the matrix node {type(e).__name__}")
        return method(e)

    def _p(self, e) -> str:
        s = self.doprint(e)
        if isinstance(
            e, (mx.Sym, mx.Transpose, mx.Softmax, mx.LogSoftmax, mx.RowSum, mx.ColSum, mx.Total, mx.Solve, mx.Lstsq)
        ):
            return s
        return f"({s})"

    def _scalar(self, c) -> str:
        names = dict(self.dims)
        return NumpyScalarPrinter(names, self.helpers, self.not_analytic).doprint(sp.sympify(c, strict=True))

    def _print_Sym(self, e):
        return self.names[e.name]

    def _print_Const(self, e):
        if e.value == 0 and e.shape != (1, 1):
            like = self.names.get(("zeros", tuple(e.shape)))
            if like:
                return f"np.zeros_like({like})"
        return self._scalar(e.value)

    def _print_Identity(self, e):
        return f"np.eye({self._scalar(e.size)})"

    def _print_Transpose(self, e):
        return f"{self._p(e.arg)}.T"

    def _print_MatMul(self, e):
        return f"{self._p(e.left)} @ {self._p(e.right)}"

    def _print_Scale(self, e):
        if e.coeff == 1:
            return self.doprint(e.arg)
        return f"{self._scalar(e.coeff)} * {self._p(e.arg)}"

    def _print_Add(self, e):
        out = self.doprint(e.terms[0])
        for t in e.terms[1:]:
            if isinstance(t, mx.Scale) and sp.sympify(t.coeff, strict=True).could_extract_minus_sign():
                out += " - " + self.doprint(mx.Scale(-t.coeff, t.arg))
            else:
                out += " + " + self.doprint(t)
        return out

    def _print_Map(self, e):
        names = dict(self.dims)
        for p, a in e.args:
            names[p] = self._p(a)
        return NumpyScalarPrinter(names, self.helpers, self.not_analytic).doprint(sp.sympify(e.expr, strict=True))

    def _print_RowSum(self, e):
        # the method, not np.sum: the same reduction without np.sum's Python-level dispatch
        return f"{self._p(e.arg)}.sum(axis=1, keepdims=True)"

    def _print_ColSum(self, e):
        return f"{self._p(e.arg)}.sum(axis=0)"

    def _print_Total(self, e):
        return f"{self._p(e.arg)}.sum()"

    def _print_Softmax(self, e):
        self.helpers.add("softmax")
        return f"_softmax({self.doprint(e.arg)})"

    def _print_LogSoftmax(self, e):
        self.helpers.add("log_softmax")
        return f"_log_softmax({self.doprint(e.arg)})"

    def _print_Solve(self, e):
        self.not_analytic.add("linalg")
        return f"np.linalg.solve({self.doprint(e.a)}, {self.doprint(e.b)})"

    def _print_Stack(self, e):
        return f"np.concatenate([{self.doprint(e.top)}, {self.doprint(e.bottom)}])"

    def _print_ZeroRows(self, e):
        like = self._p(e.like)
        return f"np.zeros(({self._scalar(e.size)},) + {like}.shape[1:])"

    def _print_Lstsq(self, e):
        self.not_analytic.add("linalg")
        return f"np.linalg.lstsq({self.doprint(e.a)}, {self.doprint(e.b)}, rcond=None)[0]"


HELPERS = {
    "sigmoid": '''
def _sigmoid(s):
    """sigma(s) = 1/(1 + e^{-s}) for s >= 0 and e^s/(1 + e^s) otherwise: exp never
    overflows and both tails keep every digit (sigma(-700) = 9.9e-305, not 0).
    Each branch is analytic, so the complex step goes through (branch on the real part)."""
    pos = np.real(s) >= 0
    e = np.exp(np.where(pos, -s, s))  # e^{-|s|}
    p = 1 / (1 + e)  # sigma(|s|)
    return np.where(pos, p, e * p)
''',
    "sech2": '''
def _sech2(s):
    """sech(s)^2 = 1 - tanh(s)^2 = 4 e^{-2|s|} / (1 + e^{-2|s|})^2: no cancellation, no overflow
    (|s| taken as s or -s by the sign of the real part: analytic, the complex step goes through)."""
    a = np.where(np.real(s) >= 0, s, -s)
    e = np.exp(-2 * a)
    return 4 * e / (1 + e) ** 2
''',
    "logcosh": '''
def _logcosh(s):
    """log(cosh(s)): log1p(2 sinh(s/2)^2) near 0, |s| - log 2 + log1p(e^{-2|s|}) further out
    (no overflow at |s| > 710, no cancellation near 0; analytic in each branch)."""
    a = np.where(np.real(s) >= 0, s, -s)
    near = np.log1p(2 * np.sinh(np.where(np.real(a) < 1, a, 1) / 2) ** 2)
    far = a - np.log(2.0) + np.log1p(np.exp(-2 * a))
    return np.where(np.real(a) < 1, near, far)
''',
    "softmax": '''
def _softmax(s):
    """Row-wise softmax, shifted by the row maximum so that exp never overflows."""
    e = np.exp(s - s.max(axis=1, keepdims=True))
    e /= e.sum(axis=1, keepdims=True)  # in place: e is this function's own array
    return e
''',
    "log_softmax": '''
def _log_softmax(s):
    """Row-wise log softmax = s - logsumexp(s), shifted by the row maximum."""
    shifted = s - s.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
''',
}
