"""The names the statistical and lecture topics' claims may use.

A claim is text (:class:`gradproof.derive.engine.derivation.Claim`); each
table here binds the names its topic's claims write to the very objects the
topic's derivation uses, so that a claim read from text is compared with the
derived result itself.  Modules and models build theirs from their
declarations (:mod:`gradproof.derive.lecture.declare`).
"""

from __future__ import annotations

import sympy as sp

from gradproof.derive.engine import mexpr as mx
from gradproof.derive.lecture import closed_forms as cf
from gradproof.derive.lecture import identities as idn
from gradproof.derive.lecture import init_variance as iv
from gradproof.derive.lecture import mle as ml
from gradproof.derive.lecture import proofs as lp
from gradproof.derive.lecture.functions import sigmoid
from gradproof.derive.reading.claims import Symbols

# Closed forms: the data X, y, the weights w, the identity, lambda.
CLOSED_FORM = Symbols(
    matrices={"X": cf.Xs, "y": cf.ys, "w": cf.ws, "I": mx.Identity(cf.ws.shape[0])},
    scalars={"lambda": cf.lam, "m": cf.m, "n": cf.n},
)

# Maximum likelihood: entries of the samples, sums from i = 1 to m as on the slides.
# The features j run over x_0 = 1 and the n features, from 0 (slide "Linear Neuron").
MLE_GAUSSIAN = Symbols(
    scalars={"m": ml.m, "n": ml.n, "sigma": ml.sigma},
    arrays={
        "y": (ml.yb, (ml.m,)),
        "x": (ml.Xb, (ml.m, ml.n + 1)),
        "X": (ml.Xb, (ml.m, ml.n + 1)),
        "w": (ml.wb, (ml.n + 1,)),
    },
    indices={"i": ml.i, "j": ml.j},
    first=1,
    starts={"j": 0},
)
MLE_SIGMA2 = Symbols(scalars={"RSS": ml.RSS, "m": ml.m})
MLE_BERNOULLI = Symbols(arrays={"y": (ml.yb, (ml.m,)), "yhat": (ml.Yhb, (ml.m,))}, indices={"i": ml.i}, first=1)
MLE_CATEGORICAL = Symbols(
    arrays={"y": (ml.Yb, (ml.m, ml.K)), "yhat": (ml.Yhb, (ml.m, ml.K))}, indices={"i": ml.i, "c": ml.c}, first=1
)
MAP = Symbols(scalars={"sigma": ml.sigma, "sigma_0": ml.sigma_0, "beta": ml.beta})

# Identities of one potential s; the fused pairs' yhat is sigma(s), and the softmax's yhat_j its j-th output.
SCALAR = Symbols(scalars={"s": idn.s, "y": idn.y})


def _softmax_entry(j):
    return sp.exp(idn.Sb[j]) / sp.Sum(sp.exp(idn.Sb[idn.k]), (idn.k, 1, idn.K))


FUSED = Symbols(
    scalars={"s": idn.s, "y": idn.y, "yhat": sigmoid(idn.s)},
    arrays={"y": (idn.Yb, (idn.K,)), "yhat": (_softmax_entry, (idn.K,)), "s": (idn.Sb, (idn.K,))},
    indices={"j": idn.j},
    first=1,
)

# Initialisation: the fan-in and fan-out, the variances written as the slides write them.
INIT = Symbols(scalars={"n_in": iv.n_in, "n_out": iv.n_out, "Var(x)": iv.Vx, "Var(w)": iv.Vw})

# The lecture's overview and activations.
_i = sp.Symbol("i", positive=True, integer=True)
ERM = Symbols(
    scalars={"m": lp.m},
    arrays={"y": (sp.IndexedBase("y"), (lp.m,)), "x": (sp.IndexedBase("x"), (lp.m,))},
    indices={"i": _i},
    functions={"l": sp.Function("ell"), "h": sp.Function("h_theta")},
    first=1,
)
BIAS = Symbols(
    arrays={"w": (sp.IndexedBase("w"), (lp.n + 1,)), "x": (sp.IndexedBase("x"), (lp.n + 1,))},
    indices={"i": _i},
    first=0,
)
ACTIVATION = Symbols(scalars={"s": lp.s}, functions={"O": sp.Order})
