"""Deciding whether an answer equals the reference, and naming the mistake.

Four stages, cheapest first; the verdict records which one decided:

1. **shape** - the answer's shape at non-square sizes (``m=5, n=3, K=4``):
   a missing transpose is a shape error, reported as such;
2. **numeric** - seeded probing at >= 8 points drawn from each symbol's
   domain (redrawn where the reference is undefined), relative tolerance with
   an absolute floor.  An answer undefined (complex, infinite, NaN) at a
   point where the reference is defined is wrong;
3. **exact** - an answer that agrees in float64 is evaluated again at the
   same (exactly representable) points with mpmath at ``EXACT_DPS`` digits,
   or more where a part of it could hide below them (:class:`_Range`): a
   difference of 1e-12, exp(-40) or exp(-300 (s^2 + 1)) is wrong, not "close
   enough";
4. **symbolic** - SymPy confirmation at small explicit sizes, after
   rewriting to ``exp``, under a time limit.  A timeout leaves the exact
   verdict standing; only a check that no stage could finish is undecided.

A wrong answer is compared with the exercise's tutor-written wrong answers and
with single mutations of the reference (sign, factor 2, 1/2, m, 1/m,
transpose, operand order, dropped factor or term) so that feedback names the
mistake.  No student text is evaluated: numbers come from the typed tree via
:mod:`gradproof.derive.seminar.answers`, and this module evaluates SymPy / matrix expressions
with NumPy by walking them.

>>> from gradproof.derive.seminar.exercises import get
>>> decide(get("linear_grad_W"), "Z^T Delta").status
'correct'
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import sympy as sp

from gradproof.derive.engine import mexpr as mx
from gradproof.derive.seminar.deciding import (  # noqa: F401 (re-exported: the checker's public names)
    SymbolicTimeout,
    Verdict,
    _agree,
    _constant_ratio,
    _name_factor,
    decide,
    diagnose,
    time_limit,
)
from gradproof.derive.seminar.mutants import _mutants
from gradproof.derive.seminar.probes import (  # noqa: F401 (re-exported)
    ATOL,
    EXACT_DPS,
    EXACT_RTOL,
    MAX_EXTRA_DIGITS,
    PROBES,
    RTOL,
    TooLarge,
    Undefined,
    Unsupported,
    _mp,
    _mp_rel_diff,
    _to_mp,
    close,
    extra_digits,
    max_rel_error,
    mp_eval,
    num_eval,
)

# ---------------------------------------------------------------------------
# The oracle: an exercise's probe points, reference values and mutants
# ---------------------------------------------------------------------------


class Oracle:
    """Everything about an exercise's reference that does not depend on the answer.

    Built once per exercise per process (the grading workers inherit it when
    they fork); deterministic, seeded by the exercise.
    """

    def __init__(self, ex, probes: int = PROBES):
        from gradproof.derive.seminar.answers import read_answer

        self.ex = ex
        self.vocab = ex.vocabulary()
        self.ref_expr, self.ref_shape = ex.reference()
        self.shape = ex.shape_at_probe(self.ref_shape)
        self.refnames = dict(ex.reference_names)
        self.definitions = []
        for decl in ex.symbols:
            if decl.definition:
                self.definitions.append((decl, read_answer(decl.definition, self.vocab).expr))
        self.envs: list[dict] = []
        self.ref_values: list = []
        rng = np.random.default_rng(ex.seed)
        attempts = 0
        while len(self.envs) < probes:
            attempts += 1
            if attempts > 30 * probes:
                raise RuntimeError(f"exercise {ex.id}: the reference is undefined at almost every probe point")
            env = self._draw(rng)
            try:
                val = num_eval(self.ref_expr, self._ref_env(env))
            except Undefined:
                continue  # NOTE: redraw where the reference itself is undefined
            val = np.asarray(val, dtype=float)
            if not np.all(np.isfinite(val)):
                continue
            self.envs.append(env)
            self.ref_values.append(val)
        self._wrong = None
        self._mutants = None
        self._mp_cache: dict = {}
        self._ref_digits = None

    # -- probe points -----------------------------------------------------
    def _draw(self, rng) -> dict:
        env: dict[str, Any] = {}
        dims = dict(self.ex.dims)
        env.update(dims)
        index_syms = [d for d in self.ex.symbols if d.is_index]
        if index_syms:
            grids = np.meshgrid(*[np.arange(dims[d.index_range]) for d in index_syms], indexing="ij")
            for d, g in zip(index_syms, grids):
                env[d.name] = g
        for d in self.ex.symbols:
            if d.is_index or d.definition or d.domain == "identity":
                continue
            if d.is_matrix:
                shape = tuple(1 if s in (1, "1") else dims[s] for s in d.shape)
            elif d.is_indexed_vector:
                shape = (dims[d.shape[0]],)
            else:
                shape = ()
            env[d.name] = _sample(rng, d.domain, shape)
        for d, expr in self.definitions:
            val = np.asarray(num_eval(expr, env), dtype=float)
            env[d.name] = (
                val.reshape(-1) if d.is_indexed_vector else (float(val.reshape(-1)[0]) if d.shape == () else val)
            )
        return env

    def _ref_env(self, env: dict) -> dict:
        out = dict(env)
        for engine_name, ex_name in self.refnames.items():
            if ex_name in env:
                out[engine_name] = env[ex_name]
        return out

    def evaluate(self, expr):
        """The answer's values at every probe point; None if undefined; a message if unsupported."""
        out = []
        for env in self.envs:
            try:
                v = np.asarray(num_eval(expr, env), dtype=float)
            except Undefined:
                return None
            except Unsupported as err:
                return f"cannot evaluate the answer numerically: {err}"
            except (ValueError, TypeError, IndexError, OverflowError) as err:
                return f"cannot evaluate the answer numerically ({type(err).__name__})"
            if not np.all(np.isfinite(v)):
                return None
            out.append(v)
        return out

    def evaluate_points(self, expr):
        """The answer's values at each probe point (None where undefined) and why; a message if unsupported."""
        out, why = [], ""
        for env in self.envs:
            try:
                v = np.asarray(num_eval(expr, env), dtype=float)
            except Undefined as err:
                out.append(None)
                why = why or str(err)
                continue
            except Unsupported as err:
                return f"cannot evaluate the answer numerically: {err}"
            except (ValueError, TypeError, IndexError, OverflowError) as err:
                return f"cannot evaluate the answer numerically ({type(err).__name__})"
            if not np.all(np.isfinite(v)):
                out.append(None)
                why = why or (
                    "it is infinite or not a number there (a division by zero, the log of zero "
                    "or of a negative number, an overflow...)"
                )
                continue
            out.append(v)
        return out, why

    def describe_point(self, i: int) -> str:
        """Probe point ``i`` in words: scalar values exactly, matrices by name."""
        env = self.envs[i]
        scalars, arrays = [], []
        for d in self.ex.symbols:
            if d.is_index or d.definition or d.domain == "identity" or d.name not in env:
                continue
            v = env[d.name]
            if np.ndim(v) == 0:
                scalars.append(f"{d.name} = {float(v):.6g}")
            else:
                arrays.append(d.name)
        parts = scalars + ([f"the random {', '.join(arrays)} of probe point {i + 1}"] if arrays else [])
        return ", ".join(parts) if parts else f"probe point {i + 1}"

    # -- exact probes -------------------------------------------------------
    def _mp_env(self, env: dict, dps: int) -> dict:
        """A probe point in mpmath: the same (exact binary) values, definitions recomputed at ``dps`` digits."""
        out = {k: _to_mp(v) for k, v in env.items()}
        for d, expr in self.definitions:
            val = np.asarray(mp_eval(expr, out, dps), dtype=object)
            out[d.name] = val.reshape(-1) if d.is_indexed_vector else (val.reshape(-1)[0] if d.shape == () else val)
        return out

    def exact_points(self, dps: int = EXACT_DPS):
        """The probe points and reference values in mpmath at ``dps`` digits (computed once per dps)."""
        hit = self._mp_cache.get(dps)
        if hit is None:
            envs, refs = [], []
            for env in self.envs:
                menv = self._mp_env(env, dps)
                envs.append(menv)
                refs.append(mp_eval(self.ref_expr, self._ref_env(menv), dps))
            if len(self._mp_cache) > 4:  # precisions beyond the usual one are rare: keep a few
                self._mp_cache.pop(next(k for k in self._mp_cache if k != EXACT_DPS))
            hit = self._mp_cache[dps] = (envs, refs)
        return hit

    def reference_digits(self) -> float:
        """:func:`extra_digits` of the reference, at its worst probe point (computed once)."""
        if self._ref_digits is None:
            self._ref_digits = max(extra_digits(self.ref_expr, self._ref_env(env)) for env in self.envs)
        return self._ref_digits

    def exact_plan(self, expr) -> tuple[int, float]:
        """Precision and threshold for comparing ``expr`` exactly: ``(dps, rtol)``.

        A part of the answer may be as small as 10^-extra relative to the
        rest (an exp(-300 s^2) term, a 1e-40 coefficient, (s^2/(s^2 + 10^6))^64);
        evaluating at ``EXACT_DPS + 2 extra`` digits leaves it far above the
        rounding noise, which cancellation can raise by at most 10^extra.
        Raises :class:`TooLarge` when the part would need more than
        ``MAX_EXTRA_DIGITS``.
        """
        extra = max(extra_digits(expr, env) for env in self.envs) + self.reference_digits()
        if not math.isfinite(extra) or extra > MAX_EXTRA_DIGITS:
            raise TooLarge(f"a part of the answer needs about {extra:.3g} digits")
        if extra <= (EXACT_DPS - 20 - 90) / 2 + 10:
            return EXACT_DPS, EXACT_RTOL
        dps = int(math.ceil((EXACT_DPS + 2 * extra) / 50.0) * 50)
        return dps, _mp().mpf(10) ** -int(math.ceil(90 + extra))

    def exact_difference(self, expr, dps: int = EXACT_DPS):
        """Largest relative difference from the reference at the probe points, at ``dps`` digits.

        Returns ``(difference, point)`` (an mpf and the probe index), with
        ``difference`` None where the answer is not a finite real number.
        """
        envs, refs = self.exact_points(dps)
        worst, where = _mp().mpf(0), 0
        for i, (menv, ref) in enumerate(zip(envs, refs)):
            with _mp().workdps(dps):
                d = _mp_rel_diff(mp_eval(expr, menv, dps), ref)
                if d is None:
                    return None, i
                if d > worst:
                    worst, where = d, i
        return worst, where

    # -- wrong answers and mutants ----------------------------------------
    def wrong_values(self):
        """Tutor-written wrong answers with their values (parsed once)."""
        from gradproof.derive.seminar.answers import AnswerError, read_answer

        if self._wrong is None:
            self._wrong = []
            for w in self.ex.wrong:
                try:
                    r = read_answer(w.answer, self.vocab)
                    vals = self.evaluate(r.expr) if self.ex.shape_at_probe(r.shape) == self.shape else None
                except AnswerError:
                    vals = None
                self._wrong.append((vals if isinstance(vals, list) else None, w))
        return self._wrong

    def mutant_values(self):
        """Single mutations of the reference, with values, named; computed once."""
        if self._mutants is None:
            self._mutants = []
            seen = [self.ref_values]
            for code, message, expr in itertools.islice(
                itertools.chain(self._index_swaps(), self._global_mutants(), _mutants(self.ref_expr, self)), 400
            ):
                vals = []
                try:
                    for env in self.envs:
                        try:
                            v = np.asarray(num_eval(expr, self._ref_env(env)), dtype=float)
                        except Undefined:
                            v = None  # e.g. a sign slip 1/(a - b) where a = b: judged at the other points
                        if v is not None and not np.all(np.isfinite(v)):
                            v = None
                        if v is not None and v.shape != np.asarray(self.ref_values[0]).shape and v.size != 1:
                            raise Undefined("")
                        vals.append(v)
                except (Undefined, Unsupported, ValueError):
                    continue
                if sum(v is not None for v in vals) * 2 < len(vals):
                    continue
                if any(_agree(vals, s, RTOL, ATOL) for s in seen):
                    continue
                seen.append(vals)
                self._mutants.append((code, message, vals))
        return self._mutants

    def _global_mutants(self):
        """Mutations of the whole reference at once: every square halved (sigma vs sigma^2)."""
        e = self.ref_expr
        if isinstance(e, sp.Basic) and e.has(sp.Pow):
            halved = e.replace(
                lambda x: isinstance(x, sp.Pow) and x.exp.is_Integer and x.exp % 2 == 0,
                lambda x: sp.Pow(x.base, x.exp / 2),
            )
            yield "missing-square", "squares are missing (a standard deviation where a variance belongs?)", halved

    def _index_swaps(self):
        """Index form: the reference with two index symbols exchanged (``d sigma_j / d s_k``)."""
        if not isinstance(self.ref_expr, sp.Basic):
            return
        names = {ex: eng for eng, ex in self.refnames.items()}
        idx = [d.name for d in self.ex.symbols if d.is_index]
        by_name = {s.name: s for s in self.ref_expr.free_symbols if isinstance(s, sp.Symbol)}
        for a, b in itertools.combinations(idx, 2):
            sa, sb = by_name.get(names.get(a, a)), by_name.get(names.get(b, b))
            if sa is not None and sb is not None:
                yield ("indices", f"the indices {a} and {b} are exchanged", self.ref_expr.xreplace({sa: sb, sb: sa}))

    # -- symbolic confirmation --------------------------------------------
    def symbolic_equal(self, expr) -> bool:
        """True if SymPy proves ``expr`` equal to the reference at small explicit sizes."""
        env, dims = self._symbolic_env()
        index_syms = [d for d in self.ex.symbols if d.is_index]
        if index_syms:
            ranges = [range(dims_int(self.ex.symbolic_dims, d.index_range)) for d in index_syms]
            for values in itertools.product(*ranges):
                local = {d.name: sp.Integer(v) for d, v in zip(index_syms, values)}
                a = _sym_scalar(expr, env, local)
                b = _sym_scalar(self.ref_expr, self._ref_env(env), self._ref_env_local(local))
                if not _zero(a - b):
                    return False
            return True
        a = _sym_value(expr, env, dims)
        b = _sym_value(self.ref_expr, self._ref_env(env), dims)
        if a.shape != b.shape:
            return False
        return all(_zero(x) for x in (a - b))

    def _ref_env_local(self, local):
        out = dict(local)
        for engine_name, ex_name in self.refnames.items():
            if ex_name in local:
                out[engine_name] = local[ex_name]
        return out

    def _symbolic_env(self):
        from gradproof.derive.seminar.answers.vocabulary import scalar_symbol

        sdims = dict(self.ex.symbolic_dims)
        env: dict[str, Any] = {k: sp.Integer(v) for k, v in sdims.items()}
        for d in self.ex.symbols:
            if d.is_index or d.definition or d.domain == "identity":
                continue
            if d.is_matrix:
                r, c = (1 if s in (1, "1") else sdims[s] for s in d.shape)
                env[d.name] = sp.Matrix(
                    r, c, [scalar_symbol(f"{d.name}_{i}_{j}", d.domain) for i in range(r) for j in range(c)]
                )
            elif d.is_indexed_vector:
                env[d.name] = [scalar_symbol(f"{d.name}_{i}", d.domain) for i in range(sdims[d.shape[0]])]
            else:
                env[d.name] = scalar_symbol(d.name, d.domain)
        for d, expr in self.definitions:
            val = _sym_value(expr, env, None)
            if d.is_indexed_vector:
                env[d.name] = list(val)
            elif d.shape == ():
                env[d.name] = val[0, 0]
            else:
                env[d.name] = val
        return env, None


def dims_int(dims, name) -> int:
    return dict(dims)[name]


def _sample(rng, domain: str, shape: tuple):
    if domain == "positive":
        v = rng.uniform(0.5, 2.0, shape)
    elif domain == "prob":
        v = rng.uniform(0.05, 0.95, shape)
    elif domain == "binary":
        v = rng.integers(0, 2, shape).astype(float)
    elif domain == "onehot":
        v = np.zeros(shape)
        if len(shape) == 2:
            v[np.arange(shape[0]), rng.integers(0, shape[1], shape[0])] = 1.0
    elif domain == "count":
        v = rng.integers(2, 10, shape).astype(float)
    elif domain == "spd":
        if len(shape) == 2 and shape[0] == shape[1]:
            a = rng.normal(size=shape)
            v = a @ a.T + shape[0] * np.eye(shape[0])
        else:
            v = rng.uniform(0.5, 2.0, shape)
    else:
        v = rng.normal(0.0, 1.0, shape)
    return float(v) if shape == () else v


def _scalar_symbols(expr):
    """Every SymPy Symbol inside a scalar or matrix expression (Map bodies, coefficients...)."""
    out = set()
    if isinstance(expr, mx.MExpr):
        for node in expr.walk():
            for f in ("coeff", "expr", "value", "size"):
                v = getattr(node, f, None)
                if isinstance(v, sp.Basic):
                    out |= v.free_symbols
            for d in getattr(node, "shape", ()):
                if isinstance(d, sp.Basic):
                    out |= d.free_symbols
    elif isinstance(expr, sp.Basic):
        out |= expr.free_symbols
    return out


def _sym_value(expr, env: dict, _dims) -> sp.Matrix:
    """Explicit SymPy value of an expression, symbols bound by name."""
    subs = {}
    for s in _scalar_symbols(expr):
        if s.name in env and not isinstance(env[s.name], (sp.MatrixBase, list)):
            subs[s] = env[s.name]
    if isinstance(expr, mx.MExpr):
        return mx.evaluate(expr, env, subs)
    return sp.Matrix([[_sym_scalar(expr, env, {})]])


def _sym_scalar(expr, env: dict, local: dict):
    """Explicit SymPy value of a scalar / index expression at concrete indices."""

    def bind(s):
        if s.name in local:
            return local[s.name]
        v = env.get(s.name)
        if v is None or isinstance(v, (sp.MatrixBase, list)):
            return s
        return v

    e = expr.xreplace({s: bind(s) for s in expr.free_symbols if isinstance(s, sp.Symbol)})
    if e.has(sp.Sum):
        e = e.doit()

    def entry(ix):
        v = env.get(ix.base.label.name)
        idx = [int(i) for i in ix.indices]
        if isinstance(v, list):
            return v[idx[0]]
        if isinstance(v, sp.MatrixBase):
            return v[idx[0], idx[1]] if len(idx) == 2 else v[idx[0]]
        raise Unsupported(f"no value for {ix.base.label.name}")

    return e.replace(lambda x: isinstance(x, sp.Indexed), entry)


def _zero(x) -> bool:
    from gradproof.derive.proof.zero import exact_zero

    return exact_zero(x if isinstance(x, sp.Basic) else sp.Float(x))
