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


def explicit(expr: sp.Expr) -> sp.Expr:
    """Rewrite the lecture's named functions into SymPy built-ins.

    Used by the exact proofs so that SymPy's own differentiation of the
    explicit expression is the independent oracle.
    """
    return expr.replace(sigmoid, lambda s: 1 / (1 + sp.exp(-s))).replace(
        softplus, lambda s: sp.log(1 + sp.exp(s))
    )


ALL = (sigmoid, softplus, step, relu, relu_grad, sgn)
