"""Declarations of the statistical topics: where the lecture's losses come
from (MLE, MAP), the closed forms, the identities it states, and the
initialisation variances.

Each topic is declared once here: its place in the lecture (``order``), the
function that derives it, and the lecture's stated results as claims.  The
claims are never trusted: each build proves them equal to what it derived.
"""
from __future__ import annotations

import sympy as sp

from derive import closed_forms as cf
from derive import mexpr as mx
from derive.model import Claim
from derive.registry import Topic, register

_XtX = mx.MatMul(mx.Transpose(cf.Xs), cf.Xs)
_Xty = mx.MatMul(mx.Transpose(cf.Xs), cf.ys)

register(Topic(
    name="least_squares",
    title="Least squares in closed form",
    kind="closed_form",
    section="Linear neuron",
    order=13,
    summary="Solving dL/dw = 0 for the squared error gives the normal equations X^T X w = X^T y.",
    build=cf.build_least_squares,
    claims=(Claim("solution", "w* = (X^T X)^-1 X^T y", matrix=mx.Solve(_XtX, _Xty)),),
))

register(Topic(
    name="logistic_no_closed_form",
    title="Logistic regression has no closed form",
    kind="closed_form",
    section="Logistic regression",
    order=33,
    summary="dL/dw = X^T (yhat - y) = 0 is transcendental in w: use numerical methods.",
    build=cf.build_logistic_no_closed_form,
))

register(Topic(
    name="ridge",
    title="Ridge regression in closed form",
    kind="closed_form",
    section="Regularization",
    order=87,
    summary="L2 regularisation adds lambda I to X^T X: always invertible, and the unique minimiser.",
    build=cf.build_ridge,
    claims=(Claim("solution", "w* = (X^T X + lambda I)^-1 X^T y",
                  matrix=mx.Solve(mx.Add((_XtX, mx.Scale(cf.lam, mx.Identity(cf.n)))), _Xty)),),
))
