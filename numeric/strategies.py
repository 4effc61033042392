"""Hypothesis strategies for testing gradients (requires ``hypothesis``).

Exported for users who test their own modules the way gradproof tests its
own: shapes, well-conditioned matrices, logits including extreme ones,
one-hot targets, probability vectors, data away from kinks, and whole input
sets for any module that follows the generated-module contract.

>>> from hypothesis import given, settings
>>> @settings(max_examples=5, derandomize=True)
... @given(p=probability_vectors(3, 4))
... def rows_sum_to_one(p):
...     assert np.allclose(p.sum(axis=1), 1)
>>> rows_sum_to_one()
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

__all__ = [
    "EXTREME",
    "arrays",
    "away_from_kinks",
    "logits",
    "module_inputs",
    "onehot",
    "probability_vectors",
    "sizes",
    "well_conditioned",
]

# The largest logit magnitude each dtype must survive: exp(1000) overflows
# float64 and exp(89) overflows float32, so these catch an unshifted softmax.
EXTREME = {"float64": 1000.0, "float32": 80.0}


def sizes(max_size: int = 5) -> st.SearchStrategy:
    """``{"m": .., "n": .., "K": ..}``, each between 1 and ``max_size`` (squares and 1s included)."""
    d = st.integers(1, max_size)
    return st.fixed_dictionaries({"m": d, "n": d, "K": d})


TINY = 1e-3


def arrays(shape, low: float = -3.0, high: float = 3.0, dtype=np.float64) -> st.SearchStrategy:
    """Finite arrays with entries in ``[low, high]``, each 0 or at least ``TINY`` in magnitude.

    A weight of 1e-114 next to a bias of 1 makes a derivative no finite
    difference can resolve (it vanishes in rounding): such values test the
    floating-point format, not the gradient.
    """
    elem = st.floats(low, high, allow_nan=False, allow_infinity=False, width=np.dtype(dtype).itemsize * 8)
    return hnp.arrays(
        dtype, tuple(shape), elements=elem.map(lambda v: 0.0 if abs(v) < TINY else v).filter(lambda v: low <= v <= high)
    )


@st.composite
def well_conditioned(draw, rows: int, cols: int | None = None, max_cond: float = 100.0):
    """A ``rows x cols`` matrix (``rows >= cols``) with condition number at most ``max_cond``.

    Built as ``U diag(s) V^T`` from orthonormal factors of random matrices and
    singular values in ``[1, max_cond]``: full column rank by construction.
    """
    cols = rows if cols is None else cols
    if cols > rows:
        raise ValueError("a well-conditioned matrix here has rows >= cols")
    a = draw(arrays((rows, cols), -1, 1))
    b = draw(arrays((cols, cols), -1, 1))
    s = np.array(draw(st.lists(st.floats(1.0, max_cond), min_size=cols, max_size=cols)))
    # QR of a possibly degenerate draw: add the identity's columns so Q is defined
    u, _ = np.linalg.qr(a + np.eye(rows, cols) * 2.0)
    v, _ = np.linalg.qr(b + np.eye(cols) * 2.0)
    return (u * s) @ v.T


@st.composite
def logits(draw, shape, dtype=np.float64, extreme: bool = True):
    """Logits: moderate values, and (if ``extreme``) entries at +-EXTREME[dtype] mixed in."""
    x = draw(arrays(shape, -5, 5, dtype=np.float64))
    if extreme:
        big = EXTREME[np.dtype(dtype).name]
        mask = draw(hnp.arrays(np.int8, tuple(shape), elements=st.sampled_from([-1, 0, 0, 1])))
        x = np.where(mask != 0, mask * big, x)
    return x.astype(dtype)


@st.composite
def onehot(draw, m: int, K: int):
    """``m x K`` one-hot rows (each class index drawn)."""
    labels = draw(st.lists(st.integers(0, K - 1), min_size=m, max_size=m))
    return np.eye(K)[labels]


@st.composite
def probability_vectors(draw, m: int, K: int, floor: float = 1e-3):
    """``m x K`` rows in the open simplex: positive entries summing to 1 (none below ``floor / K``)."""
    w = draw(arrays((m, K), 0.0, 1.0))
    p = w + floor
    return p / p.sum(axis=1, keepdims=True)


def away_from_kinks(shape, kinks=(0.0,), margin: float = 0.05, low: float = -3.0, high: float = 3.0):
    """Arrays with every entry at least ``margin`` away from every kink point."""
    elem = (
        st.floats(low, high, allow_nan=False)
        .map(lambda v: 0.0 if abs(v) < TINY else v)
        .filter(lambda v: all(abs(v - k) >= margin for k in kinks))
    )
    return hnp.arrays(np.float64, tuple(shape), elements=elem)


def _shape(module, name, sz):
    from gradproof.numeric.gradcheck import DEFAULT_SHAPES

    shapes = {**DEFAULT_SHAPES, **(getattr(module, "SHAPES", {}) or {})}
    return tuple(sz[d] if isinstance(d, str) else int(d) for d in shapes[name])


def _domain(module, domain, shape, kinks):
    if domain == "real":
        return away_from_kinks(shape, kinks) if kinks else arrays(shape)
    if domain == "probability":
        return arrays(shape, 0.05, 0.95)
    if domain == "positive":
        return arrays(shape, 0.1, 3.0)
    if domain == "simplex":
        return probability_vectors(shape[0], shape[1], floor=0.05)
    if domain == "binary":
        return hnp.arrays(np.float64, shape, elements=st.sampled_from([0.0, 1.0]))
    if domain == "onehot":
        return onehot(shape[0], shape[1])
    if domain == "sign":
        return hnp.arrays(np.float64, shape, elements=st.sampled_from([-1.0, 1.0]))
    if domain == "count":
        return hnp.arrays(np.float64, shape, elements=st.integers(0, 9).map(float))
    raise ValueError(f"unknown domain {domain!r}")


@st.composite
def module_inputs(draw, module, max_size: int = 4):
    """A full argument set for a module of the generated-module contract, at drawn sizes.

    ``{"z", <params>}`` for modules, ``{"z", "y"}`` for losses, ``{"W"}`` for
    penalties, ``{"X", "y", <params>}`` for models; inputs honour
    ``DOMAIN``/``TARGET`` and stay away from ``KINKS``.
    """
    sz = draw(sizes(max_size))
    kind = getattr(module, "KIND", "module")
    kinks = tuple(getattr(module, "KINKS", ()) or ())
    if kind in ("module", "loss"):
        out = {"z": draw(_domain(module, getattr(module, "DOMAIN", "real"), _shape(module, "z", sz), kinks))}
    if kind == "module":
        for p in getattr(module, "PARAMS", ()) or ():
            out[p] = draw(arrays(_shape(module, p, sz)))
    elif kind == "loss":
        shapes = getattr(module, "SHAPES", {}) or {}
        yshape = _shape(module, "y", sz) if "y" in shapes else out["z"].shape
        out["y"] = draw(_domain(module, getattr(module, "TARGET", "real"), yshape, ()))
    elif kind == "penalty":
        name = (getattr(module, "PARAMS", ()) or ("W",))[0]
        return {
            name: draw(away_from_kinks(_shape(module, name, sz), kinks) if kinks else arrays(_shape(module, name, sz)))
        }
    elif kind == "model":
        out = {"X": draw(arrays(_shape(module, "X", sz)))}
        params = getattr(module, "PARAMS", ()) or ()
        for p in params:
            out[p] = draw(arrays(_shape(module, p, sz)))
        shapes = getattr(module, "SHAPES", {}) or {}
        yshape = _shape(module, "y", sz) if "y" in shapes else (out["X"] @ out[params[0]]).shape
        out["y"] = draw(_domain(module, getattr(module, "TARGET", "real"), yshape, ()))
    else:
        raise ValueError(f"unknown KIND {kind!r}")
    return out
