"""Proof and NumPy code for :mod:`gradproof.derive.engine.matcalc`.

The expression is made explicit at small distinct sizes (every entry its own
SymPy symbol); each entry of the derivative is compared with SymPy's scalar
derivative of the explicit expression, exactly.  The NumPy module printed
for the user is then run against central differences.
"""

from __future__ import annotations

import re

import sympy as sp

from gradproof.derive.engine.matresult import DiffError, Entry, Result, pyname
from gradproof.derive.lecture import functions as F
from gradproof.derive.proof.zero import EXPAND_FIRST, exact_zero
from gradproof.derive.reading.shaped import E

_SAFE = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")


def _dim(d, sizes):
    return d if isinstance(d, int) else sizes[d]


def explicit(e: E, env: dict, sizes: dict) -> sp.Matrix:
    """The expression as an explicit SymPy matrix (scalars are 1x1)."""
    op, a = e.op, e.args
    r, c = (_dim(d, sizes) for d in e.shape)
    if op == "var":
        return env[e.name]
    if op == "num":
        return sp.Matrix(r, c, lambda i, j: sp.Rational(e.value.numerator, e.value.denominator))
    if op == "eye":
        return sp.eye(r)
    if op == "ones":
        return sp.ones(r, 1)
    xs = [explicit(x, env, sizes) for x in a]
    if op == "neg":
        return -xs[0]
    if op == "add":
        x, y = xs
        if x.shape != y.shape:
            x, y = (x[0] * sp.ones(*y.shape), y) if x.shape == (1, 1) else (x, y[0] * sp.ones(*x.shape))
        return x + y
    if op == "scale":
        return xs[0][0] * xs[1]
    if op == "mul":
        x, y = xs
        if x.shape == (1, 1) and y.shape[0] != 1:
            return x[0] * y
        if y.shape == (1, 1) and x.shape[1] != 1:
            return y[0] * x
        return x * y
    if op == "T":
        return xs[0].T
    if op == "had":
        return xs[0].multiply_elementwise(xs[1])
    if op == "ediv":
        x, y = xs
        if y.shape == (1, 1):
            return x / y[0]
        if x.shape == (1, 1):
            return y.applyfunc(lambda v: x[0] / v)
        return sp.Matrix(x.shape[0], x.shape[1], lambda i, j: x[i, j] / y[i, j])
    if op == "pow":
        k = sp.Rational(e.value.numerator, e.value.denominator)
        return xs[0].applyfunc(lambda v: v**k)
    if op == "fn":
        f = {
            "log": sp.log,
            "exp": sp.exp,
            "tanh": sp.tanh,
            "sigma": F.sigmoid,
            "softplus": F.softplus,
            "relu": F.relu,
            "abs": sp.Abs,
            "sqrt": sp.sqrt,
            "step": F.relu_grad,
            "sign": sp.sign,
        }[e.name]
        return xs[0].applyfunc(f)
    if op == "inv":
        return xs[0].inv()
    if op == "tr":
        return sp.Matrix([[xs[0].trace()]])
    if op == "det":
        return sp.Matrix([[xs[0].det()]])
    if op == "logdet":
        return sp.Matrix([[sp.log(xs[0].det())]])
    if op == "sum":
        return sp.Matrix([[sum(xs[0])]])
    if op in ("norm2", "normF"):
        return sp.Matrix([[sp.sqrt(sum(v**2 for v in xs[0]))]])
    if op == "norm1":
        return sp.Matrix([[sum(sp.Abs(v) for v in xs[0])]])
    if op == "diagm":
        return sp.diag(*list(xs[0]))
    if op == "diagv":
        return sp.Matrix([xs[0][i, i] for i in range(xs[0].shape[0])])
    raise DiffError(f"no explicit form for {op}")


def symbols_for(shapes: dict, sizes: dict) -> dict:
    env = {}
    for name, (r, c) in shapes.items():
        r, c = _dim(r, sizes), _dim(c, sizes)
        env[name] = sp.Matrix(r, c, lambda i, j, name=name: sp.Symbol(f"{name}_{i}_{j}", real=True))
    return env


def _is_zero(d) -> bool:
    """Exactly zero, decided by the project's one decider (expansion first)."""
    return exact_zero(d, strategy=EXPAND_FIRST)


def prove(r: Result) -> list:
    env = symbols_for(r.shapes, r.sizes)
    f = explicit(r.expr, env, r.sizes)
    v = env[r.wrt]
    if r.direction:
        return _prove_columns(r, f, env, v)
    got = explicit(r.result, env, r.sizes)
    out = []
    if r.form == "gradient":
        want = v.applyfunc(lambda s: sp.diff(f[0], s))
        keys = [(i, j) for i in range(v.shape[0]) for j in range(v.shape[1])]
        label = lambda i, j: f"d/d{r.wrt}[{i},{j}]"
    elif r.form == "jacobian":
        want = sp.Matrix(f.shape[0], v.shape[0], lambda i, j: sp.diff(f[i], v[j]))
        keys = [(i, j) for i in range(want.shape[0]) for j in range(want.shape[1])]
        label = lambda i, j: f"J[{i},{j}]"
    else:
        want = sp.hessian(f[0], list(v))
        keys = [(i, j) for i in range(want.shape[0]) for j in range(want.shape[1])]
        label = lambda i, j: f"H[{i},{j}]"
    if got.shape != want.shape:
        return [
            Entry("shape", False, f"result is {got.shape[0]}x{got.shape[1]}, expected {want.shape[0]}x{want.shape[1]}")
        ]
    for i, j in keys:
        ok = _is_zero(want[i, j] - got[i, j])
        out.append(
            Entry(label(i, j), ok, "" if ok else f"expected {sp.sstr(want[i, j])[:80]}, got {sp.sstr(got[i, j])[:80]}")
        )
    return out


def _prove_columns(r: Result, f, env: dict, v) -> list:
    """A Hessian found column by column: ``H e_k`` at each unit vector against SymPy's Hessian."""
    want = sp.hessian(f[0], list(v))
    n = v.shape[0]
    out = []
    for k in range(n):
        unit = sp.Matrix(n, 1, lambda i, j, k=k: 1 if i == k else 0)
        got = explicit(r.result, dict(env, **{r.direction: unit}), r.sizes)
        for i in range(n):
            ok = _is_zero(want[i, k] - got[i, 0])
            detail = "" if ok else f"expected {sp.sstr(want[i, k])[:80]}, got {sp.sstr(got[i, 0])[:80]}"
            out.append(Entry(f"H[{i},{k}]", ok, detail))
    return out


# -------------------------------------------------------------- NumPy code
_NP_FN = {
    "exp": "np.exp({})",
    "tanh": "np.tanh({})",
    "sigma": "_sigmoid({})",
    "softplus": "np.logaddexp(0.0, {})",
    "relu": "np.maximum({}, 0.0)",
    "abs": "np.abs({})",
    "sqrt": "np.sqrt({})",
    "step": "(({}) > 0) * 1.0",
    "sign": "np.sign({})",
    "log": "np.log({})",
}


def _np(e: E) -> str:
    op, a = e.op, e.args
    if op == "var":
        if not _SAFE.match(e.name):
            raise DiffError("unsafe name")
        return pyname(e.name)
    if op == "num":
        v = repr(float(e.value))
        if e.is_scalar():
            return v
        return f"np.full(({_npdim(e.shape[0])}, {_npdim(e.shape[1])}), {v})"
    if op == "eye":
        return f"np.eye({_npdim(e.shape[0])})"
    if op == "ones":
        return f"np.ones(({_npdim(e.shape[0])}, 1))"
    if op == "neg":
        return f"(-{_np(a[0])})"
    if op == "add":
        return f"({_np(a[0])} + {_np(a[1])})"
    if op == "scale":
        return f"({_np(a[0])} * {_np(a[1])})"
    if op == "mul":
        x, y = a
        if x.op == "inv":
            return f"np.linalg.solve({_np(x.args[0])}, {_np(y)})"
        return f"({_np(x)} @ {_np(y)})"
    if op == "T":
        return f"{_np(a[0])}.T"
    if op == "had":
        return f"({_np(a[0])} * {_np(a[1])})"
    if op == "ediv":
        return f"({_np(a[0])} / {_np(a[1])})"
    if op == "pow":
        return f"({_np(a[0])} ** {float(e.value)!r})"
    if op == "fn":
        x = a[0]
        if e.name == "log":
            if x.op == "sum" and x.args[0].op == "fn" and x.args[0].name == "exp":
                return f"_logsumexp({_np(x.args[0].args[0])})"
            if x.op == "add" and x.args[0].op == "num" and x.args[0].value == 1:
                return f"np.log1p({_np(x.args[1])})"
        return _NP_FN[e.name].format(_np(x))
    if op == "inv":
        return f"np.linalg.inv({_np(a[0])})"
    if op == "tr":
        return f"np.trace({_np(a[0])})"
    if op == "det":
        return f"np.linalg.det({_np(a[0])})"
    if op == "logdet":
        return f"_logdet({_np(a[0])})"
    if op == "sum":
        return f"np.sum({_np(a[0])})"
    if op in ("norm2", "normF"):
        return f"np.linalg.norm({_np(a[0])})"
    if op == "norm1":
        return f"np.sum(np.abs({_np(a[0])}))"
    if op == "diagm":
        return f"np.diagflat({_np(a[0])})"
    if op == "diagv":
        return f"np.diag({_np(a[0])}).reshape(-1, 1)"
    raise DiffError(f"no NumPy form for {op}")


def _npdim(d):
    return str(d) if isinstance(d, int) else f"_d_{d}"


def numpy_module(r: Result) -> str:
    """A self-contained module with ``value(**arrays)`` and ``derivative(**arrays)``."""
    args = sorted(r.shapes)
    for nm in args:
        if not _SAFE.match(nm):
            raise DiffError("unsafe name")
    params = ", ".join(pyname(n) for n in args)
    prep = []
    for n in args:
        p = pyname(n)
        rr, c = r.shapes[n]
        if (rr, c) == (1, 1):
            prep.append(f"    {p} = float({p})")
        elif c == 1:
            prep.append(f"    {p} = np.asarray({p}, dtype=float).reshape(-1, 1)")
        else:
            prep.append(f"    {p} = np.asarray({p}, dtype=float)")
    seen = set()
    for n in args:
        for k, d in enumerate(r.shapes[n]):
            if isinstance(d, str) and d not in seen:
                seen.add(d)
                prep.append(f"    _d_{d} = {pyname(n)}.shape[{k}]")
    body = "\n".join(prep)
    vshape = r.shapes[r.wrt]
    if r.form == "gradient" and vshape[1] == 1 and vshape != (1, 1):
        ret = "np.reshape(_out, np.shape(_given))"
    elif r.form == "gradient" and vshape == (1, 1):
        ret = "float(np.squeeze(_out))"
    else:
        ret = "np.asarray(_out, dtype=float)"
    value_ret = f"float(np.squeeze({_np(r.expr)}))" if r.expr.is_scalar() else f"np.asarray({_np(r.expr)}, dtype=float)"
    return f'''"""Generated by gradproof diff; do not edit.

expression: {text_repr(r)}
derivative ({r.form} by {r.wrt}): {"H e_k = " if r.direction else ""}{result_repr(r)}
"""
import numpy as np


def _sigmoid(s):
    return 0.5 * (1.0 + np.tanh(0.5 * s))


def _logsumexp(u):
    top = np.max(u)
    return top + np.log(np.sum(np.exp(u - top)))


def _logdet(a):
    sign, logabs = np.linalg.slogdet(a)
    return logabs if sign > 0 else np.nan


def value({params}):
{body}
    return {value_ret}


def derivative({params}):
    _given = {pyname(r.wrt)}
{body}
{_result_code(r)}
    if np.ndim(_out) == 0 or np.size(_out) == 1 and {(r.form == "gradient" and vshape != (1, 1))!r}:
        _out = np.broadcast_to(_out, np.shape({pyname(r.wrt)}))
    return {ret}
'''


def _result_code(r: Result) -> str:
    """The lines computing ``_out``: the derivative, or a Hessian column by column (``H e_k``)."""
    if not r.direction:
        return f"    _out = {_np(r.result)}"
    e = pyname(r.direction)
    w = pyname(r.wrt)
    return (
        f"    _cols = []\n    for _k in range({w}.shape[0]):\n"
        f"        {e} = np.zeros(({w}.shape[0], 1))\n        {e}[_k, 0] = 1.0\n"
        f"        _cols.append(np.reshape({_np(r.result)}, -1))\n"
        "    _out = np.column_stack(_cols)"
    )


def text_repr(r):
    from gradproof.derive.engine.matprint import text

    return repr(text(r.expr))[1:-1].replace('"""', "")


def result_repr(r):
    from gradproof.derive.engine.matprint import text

    return repr(text(r.result))[1:-1].replace('"""', "")


CD_TOL = 1e-5  # relative error allowed between the generated derivative and central differences


def numeric_check(r: Result, seed: int = 0) -> tuple[str, float]:
    """The NumPy module of ``r`` and its largest relative error against central differences.

    The module is gradproof's own output (every name checked against
    ``[A-Za-z][A-Za-z0-9_]*``, the expression's text only inside an escaped
    docstring), executed in a fresh namespace.
    """
    src = numpy_module(r)
    namespace: dict = {}
    exec(compile(src, "<gradproof diff>", "exec"), namespace)
    err, _, _ = central_differences(r, namespace, seed)
    return src, err


def sample(r: Result, seed: int = 0) -> dict:
    """Well-conditioned random inputs at the proof sizes (square matrices near a multiple of I)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    out = {}
    for n, (rr, c) in r.shapes.items():
        rr, c = _dim(rr, r.sizes), _dim(c, r.sizes)
        if (rr, c) == (1, 1):
            out[pyname(n)] = float(rng.uniform(0.5, 1.5))
        elif rr == c and c > 1:
            out[pyname(n)] = np.eye(rr) * rr + rng.uniform(0.1, 0.5, (rr, c))
        else:
            out[pyname(n)] = rng.uniform(0.2, 1.0, (rr, c)) if c > 1 else rng.uniform(0.2, 1.0, rr)
    return out


def central_differences(r: Result, module: dict, seed: int = 0, h: float = 1e-6):
    """(max relative error, derivative, finite-difference estimate).

    A Hessian is checked against central differences of a central-difference
    gradient, both with step 1e-4 (round-off and truncation balanced).
    """
    import numpy as np

    if r.form == "hessian":
        h = 1e-4
    arrays = sample(r, seed)
    key = pyname(r.wrt)
    got = np.asarray(module["derivative"](**arrays), dtype=float)
    x0 = np.array(arrays[key], dtype=float)
    flat = x0.reshape(-1)
    fd = []
    for k in range(flat.size):
        cols = []
        for sgn in (1, -1):
            xp = flat.copy()
            xp[k] += sgn * h
            arr = dict(arrays)
            arr[key] = xp.reshape(x0.shape) if x0.ndim else float(xp[0])
            if r.form == "hessian":
                f = _fd_gradient(module, arr, key, 1e-4)
            else:
                f = module["value"](**arr)
            cols.append(np.asarray(f, dtype=float).reshape(-1))
        fd.append((cols[0] - cols[1]) / (2 * h))
    fd = np.array(fd)  # rows = input entries
    if r.form == "gradient":
        est = fd.reshape(-1)
        got = got.reshape(-1)
    else:
        est = fd.T
    err = float(np.max(np.abs(est - got)) / max(1.0, float(np.max(np.abs(est)))))
    return err, got, est


def _fd_gradient(module, arrays, key, h):
    import numpy as np

    x0 = np.array(arrays[key], dtype=float).reshape(-1)
    g = []
    for k in range(x0.size):
        vals = []
        for sgn in (1, -1):
            xp = x0.copy()
            xp[k] += sgn * h
            arr = dict(arrays)
            arr[key] = xp.reshape(np.shape(arrays[key]))
            vals.append(module["value"](**arr))
        g.append((vals[0] - vals[1]) / (2 * h))
    return np.array(g)
