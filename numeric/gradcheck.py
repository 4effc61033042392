"""Gradient verification: analytic derivatives proved against numeric ones.

Every check compares what a module's ``backward`` message says with what its
``forward`` map does, and returns plain :class:`CheckRecord` data that tests,
``gradproof verify`` and the reports all read.  Three numeric layers:

* **central differences** -- the full Jacobian, entry by entry, in float64 on
  small shapes (one backward call per output entry, two forward calls per
  input entry);
* **directional** -- ``<v, J u>`` for random directions ``u`` and cotangents
  ``v`` over several seeds: two forward calls and one backward call per seed,
  whatever the number of parameters;
* **complex step** -- ``Im f(x + i h e) / h`` is the derivative with no
  subtractive cancellation, exact to rounding, for code that is analytic.

Inputs are sampled away from the points a module declares as kinks
(``KINKS``), so a difference quotient never straddles one.

A module following the generated-module contract is checked in one call:

>>> import numpy as np
>>> class Square:  # z -> z**2, elementwise, written by hand
...     TOPIC, KIND, PARAMS, HYPER, KINKS, ANALYTIC = "square", "module", (), {}, (), True
...     @staticmethod
...     def forward(z):
...         return z * z
...     @staticmethod
...     def backward(delta, z):
...         return delta * 2 * z, {}
>>> records = check_module(Square)
>>> all(r.passed for r in records), [r.check for r in records][0]
(True, 'central differences: delta_in')

and a planted wrong gradient is caught, with the entry named:

>>> class Wrong(Square):
...     @staticmethod
...     def backward(delta, z):
...         return delta * z, {}  # the factor 2 is missing
>>> bad = [r for r in check_module(Wrong) if not r.passed]
>>> bad[0].detail.split(":")[0]
'square'
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from gradproof.numeric import kinds

__all__ = [
    "CONTRACT_KINDS",
    "STEPS",
    "TOLERANCES",
    "CheckRecord",
    "all_passed",
    "away_from_kinks",
    "central_differences",
    "check_callables",
    "check_function",
    "check_module",
    "complex_step",
    "directional",
    "format_records",
    "sample_inputs",
]


@dataclass(frozen=True)
class CheckRecord:
    """The outcome of one numeric check of one derivative.

    ``check`` names the method and the derivative, e.g.
    ``"central differences: dL/dW"``; ``detail`` is empty on success and, on
    failure, names the topic, the derivative and the worst entry and prints
    the analytic value next to the numeric one.
    """

    topic: str
    check: str
    max_rel_error: float
    tolerance: float
    passed: bool
    detail: str = ""

    def to_json(self) -> dict:
        """The record as JSON-ready data (``max_rel_error`` may be ``None`` for errors)."""
        d = asdict(self)
        if not math.isfinite(d["max_rel_error"]):
            d["max_rel_error"] = None
        return d


# The kinds of the generated-module contract that have forward/backward messages
# (a closed-form "solver" has neither and is checked elsewhere).
CONTRACT_KINDS = kinds.CONTRACT_KINDS

# Tolerance on the maximum relative error, per dtype and method.  Central
# differences in float64 with the step below are accurate to about 1e-9
# (truncation h^2 against rounding eps/h); float32 loses about 8 digits.
TOLERANCES: dict[str, dict[str, float]] = {
    "float64": {"central": 1e-6, "directional": 1e-6, "complex": 1e-10},
    "float32": {"central": 3e-2, "directional": 3e-2, "complex": 1e-4},
}

# Difference steps, relative to max(1, |x|).  Central differences are
# Richardson-extrapolated (steps h and h/2, truncation error O(h^4)), so the
# step can be large enough that rounding (eps |f| / h) stays small even where
# the derivative is tiny, e.g. a loss near its minimum after training.  The
# complex step can be tiny: nothing is subtracted.
STEPS: dict[str, dict[str, float]] = {
    "float64": {"central": 1e-3, "directional": 1e-3, "complex": 1e-30},
    "float32": {"central": 3e-2, "directional": 3e-2, "complex": 1e-20},
}

# The full check first tries one plain central difference at a step this much
# smaller than STEPS (about eps^(1/3) in float64, where truncation and rounding
# balance); entries it does not settle are redone by Richardson extrapolation.
PLAIN_STEP_FACTOR = 0.01

# Entries of a Jacobian smaller than this fraction of its largest entry are
# compared relative to that scale: a relative error of an exact zero against
# 1e-12 of rounding noise means nothing.
RELATIVE_FLOOR = 1e-3

_COMPLEX = {"float64": np.complex128, "float32": np.complex64}


def _dtype_name(dtype) -> str:
    name = np.dtype(dtype).name
    if name not in TOLERANCES:
        raise ValueError(f"no tolerance table for dtype {name!r} (have {sorted(TOLERANCES)})")
    return name


# ---------------------------------------------------------------------------
# The core: a function of named arrays and its vector-Jacobian product.
#
#   f(**args) -> array or float           (the forward map)
#   vjp(v, **args) -> {name: array}       (v^T J for every differentiated name)
#
# Modules, losses, penalties, models and whole networks are all adapted to
# this one shape, so every method below is written once.
# ---------------------------------------------------------------------------


def _rel_errors(analytic: np.ndarray, numeric: np.ndarray) -> np.ndarray:
    scale = max(float(np.max(np.abs(numeric), initial=0.0)), float(np.max(np.abs(analytic), initial=0.0)))
    floor = max(RELATIVE_FLOOR * scale, np.finfo(np.float64).tiny)
    den = np.maximum(np.maximum(np.abs(analytic), np.abs(numeric)), floor)
    return np.abs(analytic - numeric) / den


def _fmt_index(idx) -> str:
    return "(" + ", ".join(str(int(i)) for i in idx) + ")" if len(idx) != 1 else f"({int(idx[0])})"


def _shape_error(topic, check, tol, name, got, want) -> CheckRecord:
    return CheckRecord(
        topic, check, math.inf, tol, False, f"{topic}: {name} has shape {tuple(got)}, expected {tuple(want)}"
    )


def _error_record(topic, check, tol, err: BaseException) -> CheckRecord:
    return CheckRecord(topic, check, math.inf, tol, False, f"{topic}: raised {type(err).__name__}: {err}")


def _central(fx: Callable, x: np.ndarray, u: np.ndarray, step: float) -> np.ndarray:
    """J u by one central difference."""
    fp = np.asarray(fx((x + step * u).astype(x.dtype)), dtype=np.float64)
    fm = np.asarray(fx((x - step * u).astype(x.dtype)), dtype=np.float64)
    return (fp - fm) / (2 * step)


def _directional_error(analytic: float, numeric: float, g: np.ndarray) -> float:
    scale = max(abs(analytic), abs(numeric))
    # A direction along which J u vanishes is compared on the scale of |J^T v|.
    scale = max(scale, RELATIVE_FLOOR * float(np.linalg.norm(g)), np.finfo(np.float64).tiny)
    err = abs(analytic - numeric) / scale
    return err if np.isfinite(err) else math.inf


def _richardson(fx: Callable, x: np.ndarray, u: np.ndarray, h: float) -> np.ndarray:
    """J u by central differences at steps h and h/2, extrapolated: O(h^4) truncation."""

    def d(step):
        xp = (x + step * u).astype(x.dtype)
        xm = (x - step * u).astype(x.dtype)
        fp = np.asarray(fx(xp), dtype=np.float64)
        fm = np.asarray(fx(xm), dtype=np.float64)
        return (fp - fm) / (2 * step)

    return (4 * d(h / 2) - d(h)) / 3


def _jacobian_records(topic, method, tol, names, labels, args, J_an, J_num, out_shape):
    records = []
    for name in names:
        a, n = J_an[name], J_num[name]
        check = f"{method}: {labels[name]}"
        if not (np.all(np.isfinite(a)) and np.all(np.isfinite(n))):
            records.append(CheckRecord(topic, check, math.inf, tol, False, f"{topic}: {labels[name]} is not finite"))
            continue
        err = _rel_errors(a, n)
        worst = float(err.max(initial=0.0))
        detail = ""
        if not worst <= tol:
            k = np.unravel_index(int(np.argmax(err)), err.shape)
            o = np.unravel_index(k[0], out_shape) if out_shape else ()
            i = np.unravel_index(k[1], np.shape(args[name])) if np.ndim(args[name]) else ()
            where = f"entry {name}{_fmt_index(i)}" if i else f"entry {name}"
            if o:
                where += f" of output{_fmt_index(o)}"
            detail = (
                f"{topic}: {labels[name]} wrong at {where}: "
                f"analytic {a[k]:.10g} vs numeric {n[k]:.10g} (relative error {worst:.3g})"
            )
        records.append(CheckRecord(topic, check, worst, tol, worst <= tol, detail))
    return records


def _analytic_jacobian(vjp, args, names, out_shape, dtype):
    """Rows of J from one vjp call per output entry (``e_j^T J``)."""
    n_out = int(np.prod(out_shape)) if out_shape else 1
    J = {name: np.empty((n_out, np.size(args[name]))) for name in names}
    for j in range(n_out):
        v = np.zeros(n_out, dtype=dtype)
        v[j] = 1
        g = vjp(v.reshape(out_shape) if out_shape else dtype(1), **args)
        for name in names:
            gj = np.asarray(g[name])
            if gj.shape != np.shape(args[name]):
                raise _ShapeMismatch(name, gj.shape, np.shape(args[name]))
            J[name][j] = gj.ravel()
    return J


class _ShapeMismatch(Exception):
    def __init__(self, name, got, want):
        super().__init__(name)
        self.name, self.got, self.want = name, got, want


def _labels(names, labels):
    return {n: (labels or {}).get(n, f"d/d{n}") for n in names}


def _jacobian_setup(f, vjp, args, wrt, labels, dtype, topic, method, tol):
    """Arguments in ``dtype``, the names differentiated, their labels, the
    output shape and the analytic Jacobian; or, when the user's code fails or
    returns a wrongly shaped message, the failed records instead."""
    args = {k: (np.asarray(v, dtype=dtype) if isinstance(v, np.ndarray) else v) for k, v in args.items()}
    names = list(wrt or [k for k, v in args.items() if isinstance(v, np.ndarray)])
    labels = _labels(names, labels)
    try:
        out_shape = np.shape(f(**args))
        J_an = _analytic_jacobian(vjp, args, names, out_shape, np.dtype(dtype).type)
    except _ShapeMismatch as e:
        return [_shape_error(topic, f"{method}: {labels[e.name]}", tol, labels[e.name], e.got, e.want)]
    except Exception as e:
        return [_error_record(topic, f"{method}: {labels[n]}", tol, e) for n in names]
    return args, names, labels, out_shape, J_an


def central_differences(
    f: Callable,
    vjp: Callable,
    args: Mapping[str, Any],
    *,
    topic: str = "function",
    wrt=None,
    labels: Mapping[str, str] | None = None,
    dtype=np.float64,
    tolerance: float | None = None,
    step: float | None = None,
) -> list[CheckRecord]:
    """Full-Jacobian check: every entry of ``vjp`` against central differences of ``f``.

    Cost: one ``vjp`` call per output entry and two ``f`` calls per input
    entry, so use small shapes.  One record per differentiated name.

    >>> f = lambda x: x ** 3
    >>> vjp = lambda v, x: {"x": v * 3 * x ** 2}
    >>> central_differences(f, vjp, {"x": np.array([0.5, -2.0])})[0].passed
    True
    """
    dname = _dtype_name(dtype)
    tol = TOLERANCES[dname]["central"] if tolerance is None else tolerance
    h = STEPS[dname]["central"] if step is None else step
    prep = _jacobian_setup(f, vjp, args, wrt, labels, dtype, topic, "central differences", tol)
    if isinstance(prep, list):
        return prep
    args, names, labels, out_shape, J_an = prep
    J_num = {}
    n_out = int(np.prod(out_shape)) if out_shape else 1
    for name in names:
        x = args[name]
        Jn = np.empty((n_out, x.size))
        flat_x = np.ravel(x)
        a_cols = J_an[name]
        scale = float(np.max(np.abs(a_cols), initial=0.0))

        def shifted(i, step, name=name, flat_x=flat_x, shape=x.shape, dt=x.dtype):
            # a fresh array per evaluation: callers may cache by identity
            xs = flat_x.copy()
            xs[i] += dt.type(step)
            return f(**{**args, name: xs.reshape(shape)})

        def diff(i, step):
            fp = np.asarray(shifted(i, step), dtype=np.float64)
            fm = np.asarray(shifted(i, -step), dtype=np.float64)
            return np.ravel(fp - fm) / (2 * step)

        for i in range(x.size):
            hx = h * max(1.0, abs(float(flat_x[i])))
            # One plain central difference first (step PLAIN_STEP_FACTOR h);
            # where it already agrees with the analytic column to a tenth of the
            # tolerance it is kept, and only elsewhere is the entry redone by
            # Richardson extrapolation (steps h and h/2, O(h^4)).  A wrong entry
            # therefore always gets the most accurate estimate, and a right one
            # costs two evaluations, not four.
            a = a_cols[:, i]
            d_p = diff(i, hx * PLAIN_STEP_FACTOR)
            if scale > 0 and np.all(np.abs(d_p - a) <= 0.1 * tol * np.maximum(np.abs(a), RELATIVE_FLOOR * scale)):
                Jn[:, i] = d_p
            else:
                d_h = diff(i, hx)
                Jn[:, i] = (4 * diff(i, hx / 2) - d_h) / 3
        J_num[name] = Jn
    return _jacobian_records(topic, "central differences", tol, names, labels, args, J_an, J_num, out_shape)


def complex_step(
    f: Callable,
    vjp: Callable,
    args: Mapping[str, Any],
    *,
    topic: str = "function",
    wrt=None,
    labels: Mapping[str, str] | None = None,
    dtype=np.float64,
    tolerance: float | None = None,
) -> list[CheckRecord]:
    """Full-Jacobian check by the complex step ``Im f(x + i h e_k) / h``.

    Valid only where ``f`` is analytic (no ``abs``, ``maximum``, comparisons);
    then it is exact to rounding, whatever ``h``.

    >>> f = lambda x: np.sin(x)
    >>> vjp = lambda v, x: {"x": v * np.cos(x)}
    >>> complex_step(f, vjp, {"x": np.array([0.3, 1.0])})[0].max_rel_error < 1e-14
    True
    """
    dname = _dtype_name(dtype)
    tol = TOLERANCES[dname]["complex"] if tolerance is None else tolerance
    h = STEPS[dname]["complex"]
    ctype = _COMPLEX[dname]
    prep = _jacobian_setup(f, vjp, args, wrt, labels, dtype, topic, "complex step", tol)
    if isinstance(prep, list):
        return prep
    args, names, labels, out_shape, J_an = prep
    n_out = int(np.prod(out_shape)) if out_shape else 1
    J_num = {}
    try:
        with warnings.catch_warnings():
            # A forward that casts to float would report a zero derivative: make it an error.
            warnings.simplefilter("error", np.exceptions.ComplexWarning)
            for name in names:
                x = args[name]
                Jn = np.empty((n_out, x.size))
                for i in range(x.size):
                    xc = x.astype(ctype)
                    xc.flat[i] += 1j * h
                    Jn[:, i] = (np.imag(np.asarray(f(**{**args, name: xc}))) / h).ravel()
                J_num[name] = Jn
    except Exception as e:
        return [_error_record(topic, f"complex step: {labels[n]}", tol, e) for n in names]
    return _jacobian_records(topic, "complex step", tol, names, labels, args, J_an, J_num, out_shape)


def directional(
    f: Callable,
    vjp: Callable,
    args: Mapping[str, Any],
    *,
    topic: str = "function",
    wrt=None,
    labels: Mapping[str, str] | None = None,
    dtype=np.float64,
    seeds: int = 8,
    seed: int = 0,
    tolerance: float | None = None,
    step: float | None = None,
) -> list[CheckRecord]:
    """Random-direction check ``<v, J u>`` against ``<J^T v, u>``, over several seeds.

    For each seed, a random unit direction ``u`` in one argument and a random
    cotangent ``v``: one ``vjp`` call and two ``f`` calls (four where a plain
    central difference does not settle it), independent of the number of
    parameters -- the check for large shapes.

    >>> f = lambda W: np.tanh(W).sum(axis=0)
    >>> vjp = lambda v, W: {"W": v * (1 - np.tanh(W) ** 2)}
    >>> r = directional(f, vjp, {"W": np.ones((3, 2))}, seeds=4)
    >>> r[0].check, r[0].passed
    ('directional (4 seeds): d/dW', True)
    """
    dname = _dtype_name(dtype)
    tol = TOLERANCES[dname]["directional"] if tolerance is None else tolerance
    h = STEPS[dname]["directional"] if step is None else step
    args = {k: (np.asarray(v, dtype=dtype) if isinstance(v, np.ndarray) else v) for k, v in args.items()}
    names = list(wrt or [k for k, v in args.items() if isinstance(v, np.ndarray)])
    labels = _labels(names, labels)
    check = {n: f"directional ({seeds} seed{'s' if seeds != 1 else ''}): {labels[n]}" for n in names}
    try:
        out_shape = np.shape(f(**args))
    except Exception as e:
        return [_error_record(topic, check[n], tol, e) for n in names]
    records = []
    for name in names:
        x = args[name]
        worst, detail = 0.0, ""
        try:
            for s in range(seeds):
                rng = np.random.default_rng([seed, s])
                u = rng.standard_normal(x.shape)
                u /= max(np.linalg.norm(u), 1e-300)
                v = rng.standard_normal(out_shape) if out_shape else np.float64(1.0)
                hx = h * max(1.0, float(np.max(np.abs(x), initial=0.0)))
                g = np.asarray(vjp(np.asarray(v, dtype=dtype), **args)[name])
                if g.shape != x.shape:
                    raise _ShapeMismatch(name, g.shape, x.shape)
                analytic = float(np.sum(g.astype(np.float64) * u))
                fx = lambda xx, name=name: f(**{**args, name: xx})
                # a plain central difference first; Richardson only if it does
                # not already agree to a tenth of the tolerance (as in the full check)
                step_p = hx * PLAIN_STEP_FACTOR
                numeric = float(np.sum(v * _central(fx, x, u, step_p)))
                err = _directional_error(analytic, numeric, g)
                if not err <= 0.1 * tol:
                    numeric = float(np.sum(v * _richardson(fx, x, u, hx)))
                    err = _directional_error(analytic, numeric, g)
                if not np.isfinite(err):
                    err = math.inf
                if err > worst or not np.isfinite(err):
                    worst = err
                    if not err <= tol:
                        detail = (
                            f"{topic}: {labels[name]} wrong along a random direction (seed {s}): "
                            f"analytic <J^T v, u> = {analytic:.10g} vs numeric <v, J u> = {numeric:.10g} "
                            f"(relative error {err:.3g})"
                        )
        except _ShapeMismatch as e:
            records.append(_shape_error(topic, check[name], tol, labels[name], e.got, e.want))
            continue
        except Exception as e:
            records.append(_error_record(topic, check[name], tol, e))
            continue
        records.append(CheckRecord(topic, check[name], worst, tol, worst <= tol, detail))
    return records


def check_function(
    f: Callable,
    vjp: Callable,
    args: Mapping[str, Any],
    *,
    topic: str = "function",
    wrt=None,
    labels: Mapping[str, str] | None = None,
    dtype=np.float64,
    methods=("central", "directional"),
    seeds: int = 8,
    seed: int = 0,
    step: float | None = None,
) -> list[CheckRecord]:
    """Run the chosen methods (``"central"``, ``"directional"``, ``"complex"``) on ``f``/``vjp``.

    >>> f = lambda a, b: a @ b
    >>> vjp = lambda v, a, b: {"a": v @ b.T, "b": a.T @ v}
    >>> rng = np.random.default_rng(0)
    >>> recs = check_function(f, vjp, {"a": rng.normal(size=(2, 3)), "b": rng.normal(size=(3, 4))})
    >>> len(recs), all(r.passed for r in recs)
    (4, True)
    """
    out: list[CheckRecord] = []
    kw = dict(topic=topic, wrt=wrt, labels=labels, dtype=dtype)
    for m in methods:
        if m == "central":
            out += central_differences(f, vjp, args, step=step, **kw)
        elif m == "directional":
            out += directional(f, vjp, args, seeds=seeds, seed=seed, step=step, **kw)
        elif m == "complex":
            out += complex_step(f, vjp, args, **kw)
        else:
            raise ValueError(f"unknown method {m!r}: use central, directional or complex")
    return out


# ---------------------------------------------------------------------------
# Sampling inputs for a module from its metadata.
# ---------------------------------------------------------------------------

KINK_MARGIN = 0.05


def away_from_kinks(x: np.ndarray, kinks, rng: np.random.Generator, margin: float = KINK_MARGIN) -> np.ndarray:
    """Move every entry closer than ``margin`` to a kink point out to a random side of it.

    A central difference with step ``h << margin`` then never straddles a
    kink, where the derivative is undefined.

    >>> x = away_from_kinks(np.array([0.0, 0.01, 1.0]), (0.0,), np.random.default_rng(0))
    >>> bool(np.all(np.abs(x) >= 0.05))
    True
    """
    x = np.array(x, dtype=np.float64, copy=True)
    for _ in range(10):
        near = np.zeros(x.shape, dtype=bool)
        for k in kinks:
            near |= np.abs(x - k) < margin
        if not near.any():
            return x
        for k in kinks:
            close = np.abs(x - k) < margin
            side = np.where(rng.random(x.shape) < 0.5, -1.0, 1.0)
            x = np.where(close, k + side * margin * (1.0 + rng.random(x.shape)), x)
    return x


# The shapes of the lecture's names (rows are samples), used when a module
# does not declare its own ``SHAPES``.  m samples, n inputs, K outputs.
# Lower-case vectors are columns, as in the lecture (``w`` in R^n, ``y`` in R^m);
# a model's target takes the shape of its prediction.
DEFAULT_SHAPES = {
    "z": ("m", "n"),
    "X": ("m", "n"),
    "W": ("n", "K"),
    "b": ("K",),
    "w": ("n", 1),
}

# What an input or target may be.  Modules may declare ``DOMAIN`` (their
# input z) and ``TARGET`` (their y) with one of these names.
DOMAINS = ("real", "probability", "simplex", "positive", "binary", "onehot", "sign", "count")


def _meta(module, name: str, default):
    """A module's declared metadata constant (``DOMAIN``, ``TARGET``, ...), or ``default``."""
    return getattr(module, name, default)


def _sample(domain: str, shape, rng: np.random.Generator) -> np.ndarray:
    if domain == "real":
        return rng.standard_normal(shape)
    if domain == "probability":  # strictly inside (0, 1), away from the log's blow-up
        return rng.uniform(0.1, 0.9, shape)
    if domain == "positive":
        return rng.uniform(0.2, 2.0, shape)
    if domain == "simplex":
        p = rng.uniform(0.2, 1.0, shape)
        return p / p.sum(axis=-1, keepdims=True)
    if domain == "binary":
        # Both classes always present: with all y = 0 a wrong sign of y would go unseen.
        v = (np.arange(int(np.prod(shape))) % 2).astype(np.float64)
        return rng.permutation(v).reshape(shape)
    if domain == "sign":
        return np.where(rng.random(shape) < 0.5, -1.0, 1.0)
    if domain == "count":  # event counts 0, 1, ..., 9 (as floats, like every target)
        return rng.integers(0, 10, shape).astype(np.float64)
    if domain == "onehot":
        K = shape[-1] if len(shape) > 1 else 2
        rows = shape[0] if len(shape) > 1 else 1
        # Distinct classes in the first rows, for the same reason as above.
        labels = np.concatenate([rng.permutation(K), rng.integers(0, K, max(rows - K, 0))])[:rows]
        return np.eye(K)[labels].reshape(shape)
    raise ValueError(f"unknown domain {domain!r}: one of {', '.join(DOMAINS)}")


def _shape_of(name: str, module, sizes: Mapping[str, int]) -> tuple:
    shapes = dict(DEFAULT_SHAPES)
    shapes.update(getattr(module, "SHAPES", {}) or {})
    if name not in shapes:
        raise ValueError(
            f"{getattr(module, 'TOPIC', module)!s}: no shape known for {name!r}; declare SHAPES or pass inputs="
        )
    return tuple(int(sizes[d]) if isinstance(d, str) else int(d) for d in shapes[name])


def sample_inputs(
    module, *, sizes: Mapping[str, int] | None = None, rng: np.random.Generator | None = None
) -> dict[str, np.ndarray]:
    """Sample a valid set of arguments for a module from its metadata.

    Returns ``{"z": ..., <param>: ...}`` for modules, ``{"z", "y"}`` for
    losses, ``{"W"}`` for penalties and ``{"X", "y", <param>}`` for models.
    The default sizes ``m=2, n=3, K=4`` are non-square, so a dropped
    transpose cannot hide.  The input is moved away from ``KINKS``.
    """
    sizes = {"m": 2, "n": 3, "K": 4, **(sizes or {})}
    rng = rng if rng is not None else np.random.default_rng(0)
    kind = getattr(module, "KIND", kinds.MODULE)
    kinks = tuple(getattr(module, "KINKS", ()) or ())
    domain = _meta(module, "DOMAIN", "real")
    target = _meta(module, "TARGET", "real")
    params = tuple(getattr(module, "PARAMS", ()) or ())
    out: dict[str, np.ndarray] = {}
    if kind == kinds.MODULE:
        out["z"] = away_from_kinks(_sample(domain, _shape_of("z", module, sizes), rng), kinks, rng)
        for p in params:
            out[p] = rng.standard_normal(_shape_of(p, module, sizes))
    elif kind == kinds.LOSS:
        zshape = _shape_of("z", module, sizes)
        out["z"] = away_from_kinks(_sample(domain, zshape, rng), kinks, rng)
        yshape = _shape_of("y", module, sizes) if "y" in (getattr(module, "SHAPES", {}) or {}) else zshape
        out["y"] = _sample(target, yshape, rng)
    elif kind == kinds.PENALTY:
        name = params[0] if params else "W"
        out[name] = away_from_kinks(rng.standard_normal(_shape_of(name, module, sizes)), kinks, rng)
    elif kind == kinds.MODEL:
        out["X"] = rng.standard_normal(_shape_of("X", module, sizes))
        for p in params:
            out[p] = rng.standard_normal(_shape_of(p, module, sizes))
        if "y" in (getattr(module, "SHAPES", {}) or {}):
            yshape = _shape_of("y", module, sizes)
        else:  # the target has the shape of the prediction X @ param
            yshape = (out["X"] @ out[params[0]]).shape
        out["y"] = _sample(target, yshape, rng)
    else:
        raise ValueError(f"unknown KIND {kind!r}: the checker handles {', '.join(CONTRACT_KINDS)}")
    return out


# ---------------------------------------------------------------------------
# Adapters: the generated-module contract -> f / vjp.
# ---------------------------------------------------------------------------


def _adapt(module, inputs: Mapping[str, np.ndarray], hyper: Mapping[str, Any]):
    """Return (f, vjp, args, wrt, labels) for a module object of any KIND (see :mod:`gradproof.numeric.kinds`)."""
    kind = getattr(module, "KIND", kinds.MODULE)
    adapter = _ADAPTERS.get(kind)
    if adapter is None:
        raise ValueError(f"unknown KIND {kind!r}: the checker handles {', '.join(CONTRACT_KINDS)}")
    params = tuple(getattr(module, "PARAMS", ()) or ())
    return adapter(module.forward, module.backward, params, inputs, hyper)


def _adapt_module(fwd, bwd, params, inputs, hyper):
    names = ("z",) + params

    def f(z, **p):
        return fwd(z, **p, **hyper)

    def vjp(v, z, **p):
        delta_in, grads = bwd(v, z, **p, **hyper)
        return {"z": delta_in, **{k: grads[k] for k in params}}

    labels = {"z": "delta_in", **{p: f"dL/d{p}" for p in params}}
    return f, vjp, {k: inputs[k] for k in names}, names, labels


def _adapt_loss(fwd, bwd, params, inputs, hyper):
    y = inputs["y"]

    def f(z):
        return fwd(z, y, **hyper)

    def vjp(v, z):
        return {"z": v * bwd(z, y, **hyper)}

    return f, vjp, {"z": inputs["z"]}, ("z",), {"z": "dL/dz"}


def _adapt_penalty(fwd, bwd, params, inputs, hyper):
    name = params[0] if params else "W"

    def f(**a):
        return fwd(a[name], **hyper)

    def vjp(v, **a):
        return {name: v * bwd(a[name], **hyper)}

    return f, vjp, {name: inputs[name]}, (name,), {name: f"dP/d{name}"}


def _adapt_model(fwd, bwd, params, inputs, hyper):
    X, y = inputs["X"], inputs["y"]

    def f(**p):
        return fwd(X, y, *(p[k] for k in params), **hyper)

    def vjp(v, **p):
        g = bwd(X, y, *(p[k] for k in params), **hyper)
        return {k: v * np.asarray(g[k]) for k in params}

    return f, vjp, {k: inputs[k] for k in params}, params, {k: f"dL/d{k}" for k in params}


# One adapter per kind of the generated-module contract, keyed by the shared kind names.
_ADAPTERS = {
    kinds.MODULE: _adapt_module,
    kinds.LOSS: _adapt_loss,
    kinds.PENALTY: _adapt_penalty,
    kinds.MODEL: _adapt_model,
}
assert tuple(_ADAPTERS) == CONTRACT_KINDS


def _keeps_complex(f, args) -> bool:
    """Whether ``f`` returns complex values for complex input.

    A loss that returns ``float(...)`` (the contract's scalar) drops the
    imaginary part: the complex step cannot apply to it even when its
    formula is analytic.
    """
    name = next(k for k, v in args.items() if isinstance(v, np.ndarray))
    probe = {**args, name: np.asarray(args[name], dtype=np.complex128) + 1e-30j}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            out = f(**probe)
    except Exception:
        return False
    return np.iscomplexobj(out)


def check_module(
    module,
    *,
    topic: str | None = None,
    inputs: Mapping[str, np.ndarray] | None = None,
    sizes: Mapping[str, int] | None = None,
    hyper: Mapping[str, Any] | None = None,
    methods=None,
    seeds: int = 8,
    seed: int = 0,
    dtype=np.float64,
) -> list[CheckRecord]:
    """Check every derivative of a module object that follows the generated-module contract.

    ``module`` is anything with ``forward``/``backward`` and the metadata
    constants (``KIND``, ``PARAMS``, ``HYPER``, ``KINKS``, ``ANALYTIC``) -- a
    generated file, or a class written by hand.  Inputs are sampled from the
    metadata (see :func:`sample_inputs`) unless given.  ``methods`` defaults to
    central differences and the directional check, plus the complex step when
    ``ANALYTIC`` is true and ``forward`` keeps complex values (a loss returning
    ``float(...)`` does not).  Returns one :class:`CheckRecord` per method and
    derivative.
    """
    topic = topic or getattr(module, "TOPIC", getattr(module, "__name__", "module"))
    rng = np.random.default_rng(seed)
    if inputs is None:
        inputs = sample_inputs(module, sizes=sizes, rng=rng)
    hyper = {**(getattr(module, "HYPER", {}) or {}), **(hyper or {})}
    f, vjp, args, wrt, labels = _adapt(module, inputs, hyper)
    if methods is None:
        methods = ("central", "directional")
        if getattr(module, "ANALYTIC", False) and _keeps_complex(f, args):
            methods += ("complex",)
    return check_function(
        f, vjp, args, topic=topic, wrt=wrt, labels=labels, dtype=dtype, methods=methods, seeds=seeds, seed=seed
    )


def check_callables(
    forward: Callable,
    backward: Callable,
    z: np.ndarray,
    params: Mapping[str, np.ndarray] | None = None,
    *,
    topic: str = "user module",
    kinks=(),
    analytic: bool = False,
    methods=None,
    seeds: int = 8,
    seed: int = 0,
    dtype=np.float64,
) -> list[CheckRecord]:
    """Check a user's ``forward(z, **params)`` / ``backward(delta, z, **params)`` pair.

    ``backward`` returns ``(delta_in, {param: dL/dparam})`` as in the
    generated-module contract.  ``z`` is moved away from ``kinks``.

    >>> fw = lambda z, W: np.tanh(z @ W)
    >>> def bw(delta, z, W):
    ...     d = delta * (1 - np.tanh(z @ W) ** 2)
    ...     return d @ W.T, {"W": z.T @ d}
    >>> rng = np.random.default_rng(1)
    >>> recs = check_callables(fw, bw, rng.normal(size=(2, 3)), {"W": rng.normal(size=(3, 4))}, analytic=True)
    >>> sorted({r.check.split(':')[0] for r in recs}), all(r.passed for r in recs)
    (['central differences', 'complex step', 'directional (8 seeds)'], True)
    """
    params = dict(params or {})

    class _User:
        TOPIC, KIND, PARAMS, HYPER, KINKS, ANALYTIC = topic, "module", tuple(params), {}, tuple(kinks), analytic

    _User.forward = staticmethod(forward)
    _User.backward = staticmethod(backward)
    rng = np.random.default_rng(seed)
    z = away_from_kinks(np.asarray(z, dtype=np.float64), kinks, rng) if kinks else np.asarray(z, dtype=np.float64)
    return check_module(
        _User, topic=topic, inputs={"z": z, **params}, methods=methods, seeds=seeds, seed=seed, dtype=dtype
    )


def all_passed(records) -> bool:
    """True when every record passed (and there is at least one)."""
    records = list(records)
    return bool(records) and all(r.passed for r in records)


def format_records(records) -> str:
    """A plain-text table of records, failures followed by their detail lines."""
    rows = [("topic", "check", "max rel. error", "tolerance", "")]
    for r in records:
        err = "error" if not math.isfinite(r.max_rel_error) else f"{r.max_rel_error:.2e}"
        rows.append((r.topic, r.check, err, f"{r.tolerance:.0e}", "ok" if r.passed else "FAIL"))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    lines += [f"  {r.detail}" for r in records if not r.passed and r.detail]
    return "\n".join(lines)
