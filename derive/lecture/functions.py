"""Scalar functions of the lecture that SymPy does not name itself.

Each is one class carrying its derivative (``fdiff``), its rewrite to ``exp``
(so that ``simplify`` can prove identities) and its LaTeX form, in the style
of SymPy's own functions.

>>> import sympy as sp
>>> s = sp.Symbol("s")
>>> sp.diff(sigmoid(s), s)
(1 - sigmoid(s))*sigmoid(s)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sympy as sp


class sigmoid(sp.Function):
    """The logistic sigmoid ``1 / (1 + exp(-s))``."""

    nargs = 1

    def fdiff(self, argindex=1):
        s = self.args[0]
        return sigmoid(s) * (1 - sigmoid(s))

    @classmethod
    def eval(cls, s):
        if s == 0:
            return sp.Rational(1, 2)
        return None

    def _eval_rewrite_as_exp(self, s, **kwargs):
        return 1 / (1 + sp.exp(-s))

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_is_positive(self):
        return True if self.args[0].is_real else None

    def _latex(self, printer, exp=None):
        body = r"\sigma\left(%s\right)" % printer._print(self.args[0])
        return body if exp is None else r"%s^{%s}" % (body, exp)


class softplus(sp.Function):
    """``log(1 + exp(s))``; printed to NumPy as ``logaddexp(0, s)`` (no overflow)."""

    nargs = 1

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0])

    def _eval_rewrite_as_exp(self, s, **kwargs):
        return sp.log(1 + sp.exp(s))

    def _eval_rewrite_as_log(self, s, **kwargs):
        return sp.log(1 + sp.exp(s))

    def _eval_is_real(self):
        return self.args[0].is_real

    def _latex(self, printer, exp=None):
        body = r"\operatorname{softplus}\left(%s\right)" % printer._print(self.args[0])
        return body if exp is None else r"%s^{%s}" % (body, exp)


class step(sp.Function):
    """The perceptron's activation: ``-1`` for ``s < 0``, ``1`` otherwise.

    Its derivative is 0 wherever it exists (every ``s != 0``); at ``s = 0`` it
    jumps and has none.  SymPy's ``Piecewise`` differentiates to 0 there too,
    silently, so the derivative here is the explicit "0 almost everywhere"
    that the engine states with the kink declared.
    """

    nargs = 1

    def fdiff(self, argindex=1):
        return sp.Integer(0)

    @classmethod
    def eval(cls, s):
        if s.is_number and s.is_real:
            return sp.Integer(-1) if s < 0 else sp.Integer(1)
        return None

    def _eval_rewrite_as_Piecewise(self, s, **kwargs):
        return sp.Piecewise((-1, s < 0), (1, True))

    def _latex(self, printer, exp=None):
        body = r"f\left(%s\right)" % printer._print(self.args[0])
        return body if exp is None else r"%s^{%s}" % (body, exp)


class relu_grad(sp.Function):
    """``[[s > 0]]``: the derivative of ``max(0, s)`` away from its kink at 0."""

    nargs = 1

    @classmethod
    def eval(cls, s):
        if s.is_number and s.is_real and s != 0:
            return sp.Integer(1) if s > 0 else sp.Integer(0)
        return None

    def fdiff(self, argindex=1):
        return sp.Integer(0)

    def _eval_rewrite_as_Piecewise(self, s, **kwargs):
        return sp.Piecewise((0, s < 0), (1, True))

    def _latex(self, printer, exp=None):
        body = r"[\![ %s > 0 ]\!]" % printer._print(self.args[0])
        return body if exp is None else r"%s^{%s}" % (body, exp)


class relu(sp.Function):
    """``max(0, s)``; derivative ``[[s > 0]]`` away from the kink at 0."""

    nargs = 1

    def fdiff(self, argindex=1):
        return relu_grad(self.args[0])

    @classmethod
    def eval(cls, s):
        if s.is_number and s.is_real:
            return sp.Max(0, s)
        return None

    def _eval_rewrite_as_Max(self, s, **kwargs):
        return sp.Max(0, s)

    def _eval_rewrite_as_Piecewise(self, s, **kwargs):
        return sp.Piecewise((0, s < 0), (s, True))

    def _latex(self, printer, exp=None):
        body = r"\max\left(0, %s\right)" % printer._print(self.args[0])
        return body if exp is None else r"%s^{%s}" % (body, exp)


class sgn(sp.Function):
    """``sign(w)``, the L1 penalty's subgradient choice (0 at 0)."""

    nargs = 1

    @classmethod
    def eval(cls, s):
        if s.is_number and s.is_real:
            return sp.sign(s)
        return None

    def fdiff(self, argindex=1):
        return sp.Integer(0)

    def _latex(self, printer, exp=None):
        body = r"\operatorname{sign}\left(%s\right)" % printer._print(self.args[0])
        return body if exp is None else r"%s^{%s}" % (body, exp)


class sech2(sp.Function):
    """``sech(s)^2 = 1 - tanh(s)^2``, the derivative of ``tanh``.

    It is a name of its own so that generated code never computes it as
    ``1 - tanh(s)**2``, which is 0 (all digits lost) once ``tanh(s)`` rounds
    to 1, near ``|s| = 19`` in float64.
    """

    nargs = 1

    def fdiff(self, argindex=1):
        s = self.args[0]
        return -2 * sp.tanh(s) * sech2(s)

    def _eval_rewrite_as_exp(self, s, **kwargs):
        return 4 / (sp.exp(s) + sp.exp(-s)) ** 2

    def _eval_rewrite_as_tanh(self, s, **kwargs):
        return 1 - sp.tanh(s) ** 2

    def _eval_is_real(self):
        return self.args[0].is_real

    def _latex(self, printer, exp=None):
        body = r"\operatorname{sech}^2\left(%s\right)" % printer._print(self.args[0])
        return body if exp is None else r"\left(%s\right)^{%s}" % (body, exp)


class logcosh(sp.Function):
    """``log(cosh(s))``, named so that generated code neither overflows in
    ``cosh`` for ``|s| > 710`` nor cancels in ``log`` near ``s = 0``."""

    nargs = 1

    def fdiff(self, argindex=1):
        return sp.tanh(self.args[0])

    def _eval_rewrite_as_log(self, s, **kwargs):
        return sp.log(sp.cosh(s))

    def _eval_is_real(self):
        return self.args[0].is_real

    def _latex(self, printer, exp=None):
        body = r"\log\cosh\left(%s\right)" % printer._print(self.args[0])
        return body if exp is None else r"\left(%s\right)^{%s}" % (body, exp)


# ---------------------------------------------------------------------------
# The function table: one declaration per scalar function
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ScalarFunction:
    """Everything gradproof needs to know about one scalar function.

    ``name``       canonical name (the spec and answer grammars' main spelling);
    ``spellings``  every name the grammars accept for it;
    ``sympy``      the SymPy callable building it (a class, or ``sp.sqrt``);
    ``node``       the SymPy class an expression holds (``None`` when SymPy
                   represents it otherwise, e.g. ``sqrt`` is a ``Pow``);
    ``numpy``      the generated NumPy text, ``{0}`` standing for the argument;
    ``helper``     the name of a helper function the NumPy text calls (its
                   source is in :data:`HELPERS`), or ``None``;
    ``probe``      a NumPy function giving its value in floats (the numeric
                   probes of the answer checker, no SymPy needed);
    ``explicit``   its rewrite into SymPy built-ins (the proofs' oracle and the
                   high-precision reference), or ``None`` for a built-in;
    ``analytic``   whether the generated NumPy form accepts complex
                   arguments and is holomorphic (the complex step is usable);
    ``kinks``      points where it has no derivative (``()`` when smooth);
    ``domain``     where it is real: ``"real"``, ``"positive"`` or ``"nonnegative"``;
    ``in_spec_files``   whether spec files may call it by name;
    ``in_answers`` whether seminar answers may call it by name;
    ``nargs``      how many arguments SymPy's node holds (the first is the
                   argument; ``Heaviside``'s second is its value at the kink).
    """

    name: str
    spellings: tuple
    sympy: Callable
    node: type | None
    numpy: str
    probe: Callable
    explicit: Callable | None = None
    helper: str | None = None
    analytic: bool = True
    kinks: tuple = ()
    domain: str = "real"
    in_spec_files: bool = True
    in_answers: bool = True
    nargs: int = 1

    @property
    def smooth(self) -> bool:
        return not self.kinks


def _np():
    import numpy

    return numpy


def _probe_sigmoid(x):
    np = _np()
    x = np.asarray(x)
    pos = np.real(x) >= 0  # branch on the real part: complex arguments keep working
    e = np.exp(np.where(pos, -x, x))
    return np.where(pos, 1 / (1 + e), e / (1 + e))


def _probe_sech2(x):
    np = _np()
    x = np.asarray(x)
    a = np.where(np.real(x) >= 0, x, -x)
    e = np.exp(-2 * a)
    return 4 * e / (1 + e) ** 2


def _probe_logcosh(x):
    np = _np()
    x = np.asarray(x)
    a = np.where(np.real(x) >= 0, x, -x)
    return a - np.log(2.0) + np.log1p(np.exp(-2 * a))


FUNCTIONS: tuple[ScalarFunction, ...] = (
    ScalarFunction("exp", ("exp",), sp.exp, sp.exp, "np.exp({0})", lambda x: _np().exp(x)),
    ScalarFunction("log", ("log", "ln"), sp.log, sp.log, "np.log({0})", lambda x: _np().log(x), domain="positive"),
    ScalarFunction("sqrt", ("sqrt",), sp.sqrt, None, "np.sqrt({0})", lambda x: _np().sqrt(x), domain="nonnegative"),
    ScalarFunction("tanh", ("tanh",), sp.tanh, sp.tanh, "np.tanh({0})", lambda x: _np().tanh(x)),
    ScalarFunction("cosh", ("cosh",), sp.cosh, sp.cosh, "np.cosh({0})", lambda x: _np().cosh(x)),
    ScalarFunction("sinh", ("sinh",), sp.sinh, sp.sinh, "np.sinh({0})", lambda x: _np().sinh(x)),
    ScalarFunction(
        "abs",
        ("abs",),
        sp.Abs,
        sp.Abs,
        "np.abs({0})",
        lambda x: _np().abs(x),
        analytic=False,
        kinks=(0,),
        in_answers=False,
    ),
    ScalarFunction(
        "sigma",
        ("sigma", "sigmoid"),
        sigmoid,
        sigmoid,
        "_sigmoid({0})",
        _probe_sigmoid,
        explicit=lambda s: 1 / (1 + sp.exp(-s)),
        helper="sigmoid",
    ),
    ScalarFunction(
        "softplus",
        ("softplus",),
        softplus,
        softplus,
        "np.logaddexp(0, {0})",
        lambda x: _np().logaddexp(0, x),
        explicit=lambda s: sp.log(1 + sp.exp(s)),
        analytic=False,
        in_answers=False,
    ),
    ScalarFunction(
        "sech2",
        (),
        sech2,
        sech2,
        "_sech2({0})",
        _probe_sech2,
        explicit=lambda s: 4 / (sp.exp(s) + sp.exp(-s)) ** 2,
        helper="sech2",
        in_spec_files=False,
        in_answers=False,
    ),
    ScalarFunction(
        "logcosh",
        (),
        logcosh,
        logcosh,
        "_logcosh({0})",
        _probe_logcosh,
        explicit=lambda s: sp.log(sp.cosh(s)),
        helper="logcosh",
        in_spec_files=False,
        in_answers=False,
    ),
    ScalarFunction(
        "relu",
        ("relu",),
        relu,
        relu,
        "np.maximum({0}, 0)",
        lambda x: _np().maximum(x, 0),
        explicit=lambda s: sp.Max(0, s),
        analytic=False,
        kinks=(0,),
        in_spec_files=False,
        in_answers=False,
    ),
    ScalarFunction(
        "relu_grad",
        (),
        relu_grad,
        relu_grad,
        "({0} > 0)",
        lambda x: (_np().asarray(x) > 0) * 1.0,
        explicit=lambda s: sp.Piecewise((0, s <= 0), (1, True)),
        analytic=False,
        kinks=(0,),
        in_spec_files=False,
        in_answers=False,
    ),
    ScalarFunction(
        "step",
        (),
        step,
        step,
        "np.where({0} < 0, -1.0, 1.0)",
        lambda x: _np().where(_np().asarray(x) < 0, -1.0, 1.0),
        explicit=lambda s: sp.Piecewise((-1, s < 0), (1, True)),
        analytic=False,
        kinks=(0,),
        in_spec_files=False,
        in_answers=False,
    ),
    ScalarFunction(
        "sgn",
        ("sign",),
        sgn,
        sgn,
        "np.sign({0})",
        lambda x: _np().sign(x),
        explicit=lambda s: sp.sign(s),
        analytic=False,
        kinks=(0,),
        in_spec_files=False,
        in_answers=False,
    ),
    ScalarFunction(
        "sign",
        (),
        sp.sign,
        sp.sign,
        "np.sign({0})",
        lambda x: _np().sign(x),
        analytic=False,
        kinks=(0,),
        in_spec_files=False,
        in_answers=False,
    ),
    ScalarFunction(
        "heaviside",
        (),
        sp.Heaviside,
        sp.Heaviside,
        "({0} > 0)",
        lambda x: (_np().asarray(x) > 0) * 1.0,
        analytic=False,
        kinks=(0,),
        in_spec_files=False,
        in_answers=False,
        nargs=2,
    ),
)
"""Every scalar function, in one place.  Adding a function is one entry here."""

BY_NAME = {f.name: f for f in FUNCTIONS}
BY_NODE = {f.node: f for f in FUNCTIONS if f.node is not None}


def lookup(node_or_name) -> ScalarFunction | None:
    """The table entry for a SymPy function class (or instance) or a name."""
    if isinstance(node_or_name, str):
        return BY_NAME.get(node_or_name)
    cls = node_or_name if isinstance(node_or_name, type) else type(node_or_name)
    return BY_NODE.get(cls)


def spelled(where: str) -> dict:
    """Spelling -> SymPy callable, for the grammars: ``where`` is ``"specs"`` or ``"answers"``."""
    flag = {"specs": "in_spec_files", "answers": "in_answers"}[where]
    return {sp_: f.sympy for f in FUNCTIONS if getattr(f, flag) for sp_ in f.spellings}


def probes() -> dict:
    """SymPy class -> NumPy float function, for numeric evaluation of expressions."""
    return {f.node: f.probe for f in FUNCTIONS if f.node is not None}


def explicit(expr: sp.Expr) -> sp.Expr:
    """Rewrite the lecture's named functions into SymPy built-ins.

    Used by the exact proofs so that SymPy's own differentiation of the
    explicit expression is the independent oracle, and by the accuracy layer's
    high-precision reference.
    """
    for f in FUNCTIONS:
        if f.explicit is not None and f.node is not None and expr.has(f.node):
            expr = expr.replace(f.node, f.explicit)
    return expr


def kinked() -> tuple:
    """SymPy classes of the functions with kinks (decided pointwise by the proofs)."""
    return tuple(f.node for f in FUNCTIONS if f.kinks and f.node is not None)


def not_analytic() -> tuple:
    """SymPy classes whose generated NumPy form is not usable with the complex step."""
    return tuple(f.node for f in FUNCTIONS if not f.analytic and f.node is not None)


ALL = tuple(f.node for f in FUNCTIONS if f.explicit is not None and f.node is not None)
"""The lecture's own function classes (those that are not SymPy built-ins)."""


def mutation_swaps() -> dict:
    """NumPy call -> the call a "wrong function" mutant puts in its place.

    The smooth functions defined on all reals whose NumPy form is a plain
    ``np.f(x)`` call, each replaced by the next of them in table order
    (a cycle): the slips of a hand derivation (``cosh`` for ``sinh``).
    """
    calls = [
        f.numpy[: -len("({0})")]
        for f in FUNCTIONS
        if f.domain == "real"
        and f.analytic
        and not f.kinks
        and f.numpy.startswith("np.")
        and f.numpy.endswith("({0})")
        and f.numpy.count("{0}") == 1
    ]
    return {c: calls[(k + 1) % len(calls)] for k, c in enumerate(calls)} if len(calls) > 1 else {}
