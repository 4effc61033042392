"""Rewrites the module declarations (``topics_modules``) hand to the engine.

Naming a module's forward output inside its derivative (``sigma(1 - sigma)``
as ``a (1 - a)``, the softmax's ``p``), the one-hot target's constraint
``sum_c y_c = 1``, and the L1 penalty's chosen subgradient.
"""

from __future__ import annotations

import sympy as sp

from gradproof.derive.lecture.functions import sgn

c = sp.Symbol("c", integer=True)


def rename_fn(fn_cls, arg_name="z"):
    """Rename ``f(z[x])`` to ``out[x]``: the derivative reuses the output."""

    def rename(e, bases, out):
        z = bases[arg_name]
        return e.replace(
            lambda x: isinstance(x, fn_cls) and isinstance(x.args[0], sp.Indexed) and x.args[0].base == z,
            lambda x: out[x.args[0].indices],
        )

    return rename


def rename_softmax(arg_name="z"):
    """``exp(z_x) = p_x * sum_c exp(z_c)``: name the softmax output ``p``."""

    def rename(e, bases, out):
        z = bases[arg_name]
        S = sp.Symbol("S_sum", positive=True)
        e = e.replace(lambda x: isinstance(x, sp.Sum) and x.function.has(sp.exp), lambda x: S)
        e = e.replace(
            lambda x: isinstance(x, sp.exp) and isinstance(x.args[0], sp.Indexed) and x.args[0].base == z,
            lambda x: out[x.args[0].indices] * S,
        )
        e = sp.factor_terms(sp.cancel(sp.together(e)))
        if e.has(S):
            raise ValueError("softmax output could not be named")
        return e

    return rename


def softmax_value(arg_name, dim):
    def value(bases, jj):
        z = bases[arg_name]
        return sp.exp(z[jj]) / sp.Sum(sp.exp(z[c]), (c, 0, dim - 1))

    return value


def onehot_sum(e, bases):
    """One-hot targets: sum_c y_c = 1."""
    y = bases["y"]
    return e.replace(lambda x: isinstance(x, sp.Sum) and x.function == y[x.limits[0][0]], lambda x: sp.Integer(1))


def subgradient(e, bases):
    return e.replace(sp.sign, sgn)
