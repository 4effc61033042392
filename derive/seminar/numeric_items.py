"""Numeric items: given matrices, reference numbers from the derivations, a strict number reader.

The given matrices are small exact values seeded by the exercise and its
variant; the reference is the chain of derivation results evaluated exactly
(SymPy rationals) at them; an answer is read by :func:`parse_numbers` (never
``eval``) and agrees within an absolute plus a relative tolerance.  Wrong
numbers are named from the sign, the transpose, factors 2 and 1/2 and the
exercise's declared slips.

>>> parse_numbers("1 -2; 3/4 .5")
[[Fraction(1, 1), Fraction(-2, 1)], [Fraction(3, 4), Fraction(1, 2)]]
"""

from __future__ import annotations

import re
import time
import zlib
from fractions import Fraction

# Absolute tolerance of a numeric answer, plus this share of the entry's size.
NUMERIC_ATOL = 5e-3
NUMERIC_RTOL = 5e-3


def verdict(ex, answer, **kw):
    from gradproof.derive.seminar.equivalence import Verdict

    return Verdict(exercise=ex.id, answer=answer, **kw)


def numeric_inputs(ex) -> dict:
    """The given matrices (exact fractions), seeded by the exercise and its variant."""
    import random

    rng = random.Random(zlib.crc32(f"{ex.declared_id}:{ex.variant}".encode()))
    out = {}
    for g in ex.numeric.given:
        rows, cols = g.shape
        if g.domain == "prob":
            vals = [[Fraction(rng.randint(1, 9), 10) for _ in range(cols)] for _ in range(rows)]
        elif g.domain == "half":
            # small inputs keep a sigmoid away from saturation
            vals = [[Fraction(rng.choice((-2, -1, 1, 2)), 2) for _ in range(cols)] for _ in range(rows)]
        elif g.domain == "binary":
            vals = [[Fraction(rng.randint(0, 1)) for _ in range(cols)] for _ in range(rows)]
        else:
            # nonzero: a zero input sits on the kink of ReLU, L1 or the step function
            vals = [[Fraction(rng.choice((-3, -2, -1, 1, 2, 3))) for _ in range(cols)] for _ in range(rows)]
        out[g.name] = vals
    return out


def _chain_values(ex, chain, base: dict) -> dict:
    import sympy as sp

    from gradproof.derive.engine import mexpr as mx
    from gradproof.derive.lecture.registry import derive
    from gradproof.derive.seminar.equivalence import _scalar_symbols

    env = dict(base)
    scal = {k: sp.Rational(v) for k, v in ex.numeric.scalars}
    for ln in chain:
        r = derive(ln.topic).result(ln.result)
        expr = r.matrix
        if expr is None:
            raise ValueError(f"{ln.topic} result {ln.result!r} has no matrix form")
        local = {eng: env[src] for eng, src in ln.binds}
        for node in expr.walk():
            if isinstance(node, mx.Sym) and node.name not in local and node.name in env:
                local[node.name] = env[node.name]
        dims = {}
        for node in expr.walk():
            if isinstance(node, mx.Sym) and node.name in local:
                for d, v in zip(node.shape, local[node.name].shape):
                    if isinstance(d, sp.Symbol):
                        dims[d] = sp.Integer(v)
        for s in _scalar_symbols(expr):
            if s.name in scal:
                dims[s] = scal[s.name]
        val = mx.evaluate(expr, local, dims)
        env[ln.name] = sp.Matrix(val).applyfunc(lambda x: sp.nsimplify(x) if x.is_Rational else x)
    return env


def given_text(ex) -> list[str]:
    """The given matrices of a numeric item, one line each (``x = [[1, -2, 3]]``)."""
    if ex.numeric is None:
        return []
    return [
        f"{k} = " + "[" + ", ".join("[" + ", ".join(str(x) for x in row) + "]" for row in v) + "]"
        for k, v in numeric_inputs(ex).items()
    ]


def numeric_values(ex) -> dict:
    """Every value of the chain (SymPy matrices), given ones included."""
    import sympy as sp

    base = {
        k: sp.Matrix([[sp.Rational(x.numerator, x.denominator) for x in row] for row in v])
        for k, v in numeric_inputs(ex).items()
    }
    return _chain_values(ex, ex.numeric.chain, base)


def numeric_reference(ex):
    import numpy as np

    vals = numeric_values(ex)
    return np.array(vals[ex.numeric.chain[-1].name].evalf(30).tolist(), dtype=float)


_NUM = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d{1,3})?(?:/[+-]?(?:\d+(?:\.\d*)?|\.\d+))?$")


class NumberError(ValueError):
    pass


def parse_numbers(text: str, max_len: int = 4000) -> list[list[Fraction]]:
    """A number or a matrix: ``2.5``, ``[[1, 2], [3, 4]]``, ``1 2; 3 4``, ``[1/2, -1]`` (a row)."""
    if text is None or not text.strip():
        raise NumberError("the answer is empty")
    if len(text) > max_len:
        raise NumberError(f"the answer is longer than {max_len} characters")
    t = text.strip().replace("\u2212", "-")
    if t.startswith("[[") and t.endswith("]]"):
        rows = re.split(r"\]\s*,?\s*\[", t[2:-2])
    else:
        t = t[1:-1] if t.startswith("[") and t.endswith("]") else t
        rows = re.split(r"[;\n]", t)
    out = []
    for row in rows:
        cells = [c for c in re.split(r"[,\s]+", row.strip()) if c]
        if not cells:
            continue
        vals = []
        for c in cells:
            if not _NUM.match(c):
                raise NumberError(f"{c[:20]!r} is not a number (write decimals like -0.25 or fractions like 1/4)")
            num, _, den = c.partition("/")
            try:
                v = Fraction(num) / Fraction(den) if den else Fraction(num)
            except ZeroDivisionError:
                raise NumberError(f"{c[:20]!r} divides by zero") from None
            vals.append(v)
        out.append(vals)
    if not out:
        raise NumberError("the answer has no numbers")
    if len({len(r) for r in out}) != 1:
        raise NumberError("the rows have different lengths")
    return out


def _numeric_close(a, b) -> bool:
    import numpy as np

    return a.shape == b.shape and bool(np.all(np.abs(a - b) <= NUMERIC_ATOL + NUMERIC_RTOL * np.abs(b)))


def _numeric_slips(ex, ref):
    """(code, message, values) of the named wrong computations."""
    import numpy as np
    import sympy as sp

    out = []
    base = {
        k: sp.Matrix([[sp.Rational(x.numerator, x.denominator) for x in row] for row in v])
        for k, v in numeric_inputs(ex).items()
    }
    for s in ex.numeric.slips:
        if s.given:
            val = np.array(base[s.given].evalf(30).tolist(), dtype=float)
        else:
            env = _chain_values(ex, s.chain, base)
            val = np.array(env[s.chain[-1].name].evalf(30).tolist(), dtype=float)
        out.append((s.code, s.message, val))
    out.append(("sign", "sign error: your numbers are the negatives of the right ones", -ref))
    if ref.shape[0] != ref.shape[1]:
        out.append(("transposed", f"your matrix is transposed: the answer is {ref.shape[0]}x{ref.shape[1]}", ref.T))
    for f, code in ((2.0, "factor:2"), (0.5, "factor:1/2")):
        out.append((code, f"off by a factor of {code.split(':')[1]}", f * ref))
    return out


def _fmt_num(x, decimals: int) -> str:
    v = float(x)
    s = f"{v:.{decimals}f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def _fmt_matrix(m, decimals: int = 3) -> str:
    m = m.tolist() if hasattr(m, "tolist") else m
    rows = [[_fmt_num(x, decimals) for x in row] for row in m]
    if len(rows) == 1 and len(rows[0]) == 1:
        return rows[0][0]
    return "[" + ", ".join("[" + ", ".join(r) + "]" for r in rows) + "]"


def _tex_matrix(m, decimals: int = 3) -> str:
    m = m.tolist() if hasattr(m, "tolist") else m
    rows = [[_fmt_num(x, decimals) for x in row] for row in m]
    return r"\begin{pmatrix}" + r" \\ ".join(" & ".join(r) for r in rows) + r"\end{pmatrix}"


def _check_numeric(ex, answer):
    import numpy as np

    t0 = time.perf_counter()
    try:
        rows = parse_numbers(answer)
    except NumberError as err:
        return verdict(
            ex,
            answer,
            status="invalid",
            decided_by="parser",
            mistake="syntax",
            feedback=(str(err),),
            seconds=time.perf_counter() - t0,
        )
    got = np.array([[float(x) for x in r] for r in rows], dtype=float)
    ref = ex.oracle().numbers
    reading = _fmt_matrix(got.tolist(), 6)
    if _numeric_close(got, ref):
        err = float(np.max(np.abs(got - ref)))
        return verdict(
            ex,
            answer,
            status="correct",
            decided_by="numeric",
            credit=1.0,
            reading=reading,
            feedback=("correct",),
            detail=f"largest difference {err:.1e} (tolerance {NUMERIC_ATOL:g} + {NUMERIC_RTOL:g} x |entry|)",
            seconds=time.perf_counter() - t0,
        )
    for code, message, val in _numeric_slips(ex, ref):
        if _numeric_close(got, val) and not _numeric_close(val, ref):
            return verdict(
                ex,
                answer,
                status="incorrect",
                decided_by="numeric",
                reading=reading,
                mistake=code,
                feedback=(message,),
                seconds=time.perf_counter() - t0,
            )
    if got.shape != ref.shape:
        return verdict(
            ex,
            answer,
            status="incorrect",
            decided_by="shape",
            reading=reading,
            mistake="shape",
            feedback=(f"your answer is {got.shape[0]}x{got.shape[1]}, but {ex.lhs} is {ref.shape[0]}x{ref.shape[1]}",),
            seconds=time.perf_counter() - t0,
        )
    bad = np.argwhere(np.abs(got - ref) > NUMERIC_ATOL + NUMERIC_RTOL * np.abs(ref))
    i, j = (int(x) for x in bad[0])
    return verdict(
        ex,
        answer,
        status="incorrect",
        decided_by="numeric",
        reading=reading,
        feedback=(f"{len(bad)} of {ref.size} entries are off, first at row {i + 1}, column {j + 1}",),
        seconds=time.perf_counter() - t0,
    )
