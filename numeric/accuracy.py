"""The accuracy layer: generated code at ordinary and extreme inputs.

A gradient check compares code with code (finite differences of the same
floating-point forward pass); it cannot see digits lost to cancellation or
overflow, e.g. a sigmoid computed as ``0.5 + 0.5 tanh(s/2)`` that is 0 at
``s = -700`` where the true value is 9.9e-305.  This layer runs a generated
module's forward and backward messages at ordinary inputs and at extreme ones
(``|s|`` up to 1000 in float64, 80 in float32) with every symbolic dimension
at 1, and compares each output entry with a high-precision reference value of
the derived expression, computed elsewhere (``gradproof.derive.proof.accuracy`` uses mpmath;
this module stays free of SymPy).

Targets: relative error at most 1e-12 in float64 and 1e-5 in float32 wherever
the reference value is a normal number of that type.

>>> import types
>>> mod = types.ModuleType("demo")
>>> exec("import numpy as np\\nKIND='module'\\nPARAMS=()\\nSHAPES={'z': ('m', 'n')}\\n"
...      "def forward(z):\\n    return 0.5 + 0.5*np.tanh(0.5*z)\\n"
...      "def backward(delta, z):\\n    return delta*0.0, {}\\n", mod.__dict__)
>>> pts = points(mod, "float64")
>>> import math
>>> sigma = lambda s: math.exp(min(s, 0.0)) / (1 + math.exp(-abs(s)))  # the true value, both tails
>>> ref = [{"forward": [sigma(p["z"].item())], "backward": [None]} for p in pts]
>>> rec = accuracy_records(mod, pts, ref, "float64", topic="demo")[0]
>>> rec.passed, rec.detail.split(":")[1].strip()
(False, 'forward at z = -80')
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from gradproof.numeric.gradcheck import CheckRecord

__all__ = ["EXTREMES", "TOLERANCE", "accuracy_records", "computed", "points"]

TOLERANCE = {"float64": 1e-12, "float32": 1e-5}

# Values of the input, per domain and precision: ordinary ones first, then the tails.
EXTREMES = {
    ("real", "float64"): (
        0.5,
        -0.5,
        1.25,
        -1.75,
        3.0,
        -3.0,
        10.0,
        -10.0,
        20.0,
        -20.0,
        35.0,
        -35.0,
        80.0,
        -80.0,
        300.0,
        -300.0,
        700.0,
        -700.0,
        1000.0,
        -1000.0,
    ),
    ("real", "float32"): (
        0.5,
        -0.5,
        1.25,
        -1.75,
        3.0,
        -3.0,
        10.0,
        -10.0,
        20.0,
        -20.0,
        35.0,
        -35.0,
        50.0,
        -50.0,
        80.0,
        -80.0,
    ),
    ("positive", "float64"): (1e-6, 0.01, 0.5, 2.0, 30.0, 1000.0),
    ("positive", "float32"): (1e-3, 0.01, 0.5, 2.0, 30.0, 80.0),
    ("probability", "float64"): (1e-9, 0.01, 0.3, 0.7, 0.99, 1 - 1e-9),
    ("probability", "float32"): (1e-4, 0.01, 0.3, 0.7, 0.99, 0.9999),
    ("simplex", "float64"): (1.0,),
    ("simplex", "float32"): (1.0,),
    ("onehot", "float64"): (1.0,),
    ("onehot", "float32"): (1.0,),
    ("binary", "float64"): (0.0, 1.0),
    ("binary", "float32"): (0.0, 1.0),
    ("sign", "float64"): (-1.0, 1.0),
    ("sign", "float32"): (-1.0, 1.0),
}
_ORDINARY = {
    "real": 0.75,
    "positive": 0.75,
    "probability": 0.3,
    "simplex": 1.0,
    "onehot": 1.0,
    "binary": 1.0,
    "sign": 1.0,
}
_PARAM = (0.7, -1.3)  # parameters: ordinary values of either sign
_DELTA = (1.0, -0.6)  # upstream messages


def _shape(module, name) -> tuple:
    shapes = getattr(module, "SHAPES", {}) or {}
    dims = shapes.get(name, ("m", "n"))
    return tuple(1 if isinstance(d, str) else int(d) for d in dims)


def points(module, dtype: str = "float64") -> list[dict]:
    """Input points for ``module``: the input at each value of its domain's list, the rest ordinary."""
    kind = getattr(module, "KIND", "module")
    params = tuple(getattr(module, "PARAMS", ()) or ())
    domain = getattr(module, "DOMAIN", "real") or "real"
    target = getattr(module, "TARGET", "real") or "real"
    kinks = tuple(float(k) for k in (getattr(module, "KINKS", ()) or ()))
    values = [v for v in EXTREMES.get((domain, dtype), EXTREMES[("real", dtype)]) if v not in kinks]
    tvalues = EXTREMES.get((target, dtype), (_ORDINARY.get(target, 0.75),))
    ty = np.dtype(dtype)
    ys = tvalues if target in ("binary", "sign") else (_ORDINARY.get(target, 0.75),)
    out = []
    k = 0
    for v in values:
        for yv in ys if kind in ("loss", "model") else (None,):
            for sign in (0, 1) if params and kind in ("module", "model") else (0,):
                out.append(_point(module, kind, params, v, yv, sign, k, ty))
                k += 1
    return out


def _point(module, kind, params, v, yv, sign, k, ty) -> dict:
    shapes = getattr(module, "SHAPES", {}) or {}
    pt: dict = {}
    first = "X" if kind == "model" else ((params[0] if params else "W") if kind == "penalty" else "z")
    pt[first] = np.full(_shape(module, first), v, dtype=ty)
    if kind in ("module", "model"):
        for j, p in enumerate(params):
            pt[p] = np.full(_shape(module, p), _PARAM[(j + sign) % 2], dtype=ty)
    if kind == "module":
        pt["delta"] = np.full(_shape(module, "z"), _DELTA[k % 2], dtype=ty)
    if kind in ("loss", "model"):
        if "y" in shapes:
            yshape = _shape(module, "y")
        elif kind == "model":
            yshape = (pt["X"] @ pt[params[0]]).shape
        else:
            yshape = pt[first].shape
        pt["y"] = np.full(yshape, yv, dtype=ty)
    return pt


def computed(module, point: Mapping[str, np.ndarray]) -> dict:
    """Output key -> flat float64 array of the module's messages at ``point``."""
    kind = getattr(module, "KIND", "module")
    params = tuple(getattr(module, "PARAMS", ()) or ())
    p = dict(point)
    with np.errstate(all="ignore"):
        if kind == "module":
            z, delta = p.pop("z"), p.pop("delta")
            fwd = module.forward(z, **p)
            din, grads = module.backward(delta, z, **p)
            out = {"forward": fwd, "backward": din, **{f"grad:{k}": v for k, v in grads.items()}}
        elif kind == "loss":
            out = {"forward": module.forward(p["z"], p["y"]), "backward": module.backward(p["z"], p["y"])}
        elif kind == "penalty":
            (w,) = p.values()
            out = {"forward": module.forward(w), "backward": module.backward(w)}
        elif kind == "model":
            args = {k: p[k] for k in params}
            grads = module.backward(p["X"], p["y"], **args)
            out = {"forward": module.forward(p["X"], p["y"], **args), **{f"grad:{k}": v for k, v in grads.items()}}
        else:
            return {}
    return {k: np.atleast_1d(np.asarray(v, dtype=np.float64)).ravel() for k, v in out.items()}


def _where(point) -> str:
    return ", ".join(f"{k} = {float(np.ravel(v)[0]):g}" for k, v in point.items() if k != "delta")


def accuracy_records(
    module, pts: list[dict], references: list[dict], dtype: str, topic: str | None = None
) -> list[CheckRecord]:
    """One record per output: the worst relative error over the points where the reference is normal."""
    topic = topic or getattr(module, "TOPIC", "module")
    tol = TOLERANCE[dtype]
    fi = np.finfo(dtype)
    worst: dict[str, tuple] = {}
    counted: dict[str, int] = {}
    for pt, ref in zip(pts, references):
        got = computed(module, pt)
        for key, rvals in ref.items():
            vals = got.get(key)
            for i, t in enumerate(rvals):
                if t is None or not math.isfinite(t) or not (fi.tiny <= abs(t) <= fi.max):
                    continue  # not a normal number of this precision: no relative accuracy to ask for
                c = float(vals[i]) if vals is not None and i < len(vals) else math.nan
                err = abs(c - t) / abs(t) if math.isfinite(c) else math.inf
                counted[key] = counted.get(key, 0) + 1
                if key not in worst or err > worst[key][0]:
                    worst[key] = (err, pt, c, t)
    recs = []
    if not worst:
        # e.g. a softmax over one class: every output is 0 or 1 exactly, no relative error to measure
        return [
            CheckRecord(
                topic,
                f"accuracy {dtype}: no output is a nonzero normal number at dimension 1 (nothing to compare)",
                0.0,
                tol,
                True,
                "",
            )
        ]
    for key in sorted(worst, key=lambda k: (k != "forward", k != "backward", k)):
        err, pt, c, t = worst[key]
        ok = err <= tol
        detail = (
            ""
            if ok
            else (
                f"{topic}: {key} at {_where(pt)}: computed {c:.17g}, reference {t:.17g} "
                f"(relative error {err:.2g} > {tol:g}, {dtype})"
            )
        )
        recs.append(
            CheckRecord(
                topic, f"accuracy {dtype}: {key} at {counted[key]} ordinary and extreme points", err, tol, ok, detail
            )
        )
    return recs
