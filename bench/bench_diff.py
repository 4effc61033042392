"""``gradproof diff`` against SymPy on the cookbook identities of the test set.

    python bench/bench_diff.py [--cap 10] [--markdown]

Per identity: gradproof's derive + exact proof time, cold (its first
derivation in this process; the parser is built once beforehand); what
SymPy's ``MatrixSymbol.diff`` returns on the same expression (``right``,
``wrong`` or ``fails``, decided numerically against the proved result at the
proof sizes); and SymPy differentiating the explicit scalar-expanded
expression entry by entry with every dimension = 8 and = 32 (capped at
``--cap`` seconds, reported as "> cap").
"""

from __future__ import annotations

import argparse
import functools
import os
import signal
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))


class _Cap(Exception):
    pass


def _alarm(signum, frame):
    raise _Cap()


def capped(fn, cap):
    signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, cap)
    t = time.perf_counter()
    try:
        fn()
        return time.perf_counter() - t
    except _Cap:
        return None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def to_matrix_expr(e, syms):
    """The typed tree as a SymPy matrix expression (MatrixSymbol leaves)."""
    import sympy as sp

    op, a = e.op, e.args
    if op == "var":
        return syms[e.name]
    r, c = e.shape
    if op == "num":
        v = sp.Rational(e.value.numerator, e.value.denominator)
        return v if e.is_scalar() else v * sp.OneMatrix(syms["#" + str(r)], syms["#" + str(c)])
    if op == "ones":
        return sp.OneMatrix(syms["#" + str(r)], 1)
    if op == "eye":
        return sp.Identity(syms["#" + str(r)])
    xs = [to_matrix_expr(x, syms) for x in a]
    scal = lambda x: sp.Trace(x) if isinstance(x, sp.MatrixExpr) and x.shape == (1, 1) else x
    if op == "neg":
        return -xs[0]
    if op == "add":
        x, y = xs
        if e.is_scalar() and not (isinstance(x, sp.MatrixExpr) and isinstance(y, sp.MatrixExpr)):
            return scal(x) + scal(y)
        # 1x1 matrix expressions stay matrices: wrapping each in Trace makes
        # SymPy answer 0 for sums (a formulation it handles badly), and the
        # table should show SymPy at its best
        return x + y
    if op == "scale":
        if isinstance(xs[0], sp.MatrixExpr) and isinstance(xs[1], sp.MatrixExpr) and xs[1].shape == (1, 1):
            return xs[0] * xs[1]
        return scal(xs[0]) * xs[1]
    if op == "mul":
        x, y = xs
        return x * y
    if op == "T":
        return xs[0].T if isinstance(xs[0], sp.MatrixExpr) else xs[0]
    if op == "had":
        return sp.hadamard_product(xs[0], xs[1])
    if op == "ediv":
        x, y = xs
        if a[1].is_scalar():
            return x / scal(y) if not e.is_scalar() else scal(x) / scal(y)
        return sp.hadamard_product(x, sp.HadamardPower(y, -1))
    if op == "pow":
        k = sp.Rational(e.value.numerator, e.value.denominator)
        return scal(xs[0]) ** k if e.is_scalar() else sp.HadamardPower(xs[0], k)
    if op == "fn":
        s = sp.Dummy("s")
        from gradproof.derive.lecture import functions as F

        f = {
            "log": sp.log,
            "exp": sp.exp,
            "tanh": sp.tanh,
            "sigma": F.sigmoid,
            "softplus": F.softplus,
            "sqrt": sp.sqrt,
            "abs": sp.Abs,
        }[e.name]
        if e.is_scalar():
            return f(scal(xs[0]))
        return sp.ElementwiseApplyFunction(sp.Lambda(s, f(s)), xs[0])
    if op == "inv":
        return sp.Inverse(xs[0])
    if op == "tr":
        return sp.Trace(xs[0])
    if op == "det":
        return sp.Determinant(xs[0])
    if op == "logdet":
        return sp.log(sp.Determinant(xs[0]))
    if op == "sum":
        x = xs[0]
        return scal(sp.OneMatrix(1, x.shape[0]) * x * sp.OneMatrix(x.shape[1], 1))
    if op in ("norm2", "normF"):
        return sp.sqrt(sp.Trace(xs[0].T * xs[0]))
    if op == "diagm":
        return sp.DiagMatrix(xs[0])
    raise NotImplementedError(op)


def matrixsymbol_verdict(r, cap):
    """right / wrong / fails for SymPy's MatrixSymbol.diff on the same expression."""
    import numpy as np
    import sympy as sp

    from gradproof.derive.proof.matcalc import numpy_module, sample

    sizes = dict(r.sizes)
    syms = {}
    for d, v in sizes.items():
        syms["#" + d] = v
    syms["#1"] = 1
    for name, (rr, c) in r.shapes.items():
        rr = rr if isinstance(rr, int) else sizes[rr]
        c = c if isinstance(c, int) else sizes[c]
        syms[name] = sp.Symbol(name) if (rr, c) == (1, 1) else sp.MatrixSymbol(name, rr, c)
    arrays = sample(r)
    ns: dict = {}
    exec(compile(numpy_module(r), "<generated>", "exec"), ns)
    want = np.asarray(ns["derivative"](**arrays), dtype=float)
    out = {}

    def go():
        expr = to_matrix_expr(r.expr, syms)
        d = sp.diff(expr, syms[r.wrt])
        subs = {}
        from gradproof.derive.engine.matcalc import pyname

        for name, s in syms.items():
            if name.startswith("#"):
                continue
            v = arrays[pyname(name)]
            subs[s] = sp.Float(v) if isinstance(s, sp.Symbol) else sp.ImmutableMatrix(np.asarray(v).reshape(s.shape))
        val = sp.N(d.subs(subs).doit())
        out["got"] = np.array(sp.Matrix(val) if hasattr(val, "shape") else [[val]], dtype=float)

    try:
        t = capped(go, cap)
    except Exception:
        return "fails"
    if t is None:
        return f"> {cap:g} s"
    got = out["got"]
    if got.size != want.size:
        return "wrong"
    close = lambda a, b: np.allclose(a.reshape(-1), b.reshape(-1), rtol=1e-8, atol=1e-10)
    if close(got, want):
        return "right"
    if r.form == "jacobian" and got.shape == want.T.shape and close(got, want.T):
        # SymPy lays a vector-by-vector derivative out transposed (inputs as rows)
        return "right (transposed layout)"
    return "wrong"


def scalar_expanded(r, n, cap):
    import sympy as sp

    from gradproof.derive.proof.matcalc import explicit, symbols_for

    sizes = dict.fromkeys(r.sizes, n)

    def go():
        env = symbols_for(r.shapes, sizes)
        f = explicit(r.expr, env, sizes)
        v = env[r.wrt]
        if r.form == "gradient":
            [sp.diff(f[0], s) for s in v]
        else:
            [sp.diff(fi, s) for fi in f for s in v]

    return capped(go, cap)


def _seconds(v, hess: bool, cap: float) -> str:
    return "n/a" if hess else (f"> {cap:g} s" if v is None else f"{v:.2f} s")


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--cap", type=float, default=10.0)
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args(argv)

    from gradproof.derive.reading import read
    from gradproof.derive.reading.grammar import parser

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "derive"))
    from test_diff_cookbook import IDENTITIES  # the same set the tests prove

    from gradproof.derive.engine.matcalc import differentiate, text

    parser()
    rows = []
    for expr, wrt, hess, _ in IDENTITIES:
        t = time.perf_counter()
        r = differentiate(read(expr), wrt, hessian=hess)
        dt = time.perf_counter() - t
        assert r.proved, expr
        verdict = matrixsymbol_verdict(r, args.cap) if not hess else "n/a"
        s8 = scalar_expanded(r, 8, args.cap) if not hess else None
        s32 = scalar_expanded(r, 32, args.cap) if not hess else None
        fmt = functools.partial(_seconds, hess=hess, cap=args.cap)
        rows.append(
            (
                f"`{expr}` by {wrt}{' (Hessian)' if hess else ''}",
                f"`{text(r.result)}`" if len(text(r.result)) < 60 else "(long)",
                f"{dt:.2f} s",
                verdict,
                fmt(s8),
                fmt(s32),
            )
        )
        print(" | ".join(rows[-1]), file=sys.stderr)
    times = [float(r[2].split()[0]) for r in rows]
    print(
        "| identity | gradproof result | derive + prove (cold) | MatrixSymbol.diff | scalar-expanded n=8 |"
        " scalar-expanded n=32 |"
    )
    print("|---|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(x.replace("|", "\\|") for x in row) + " |")
    verdicts = [r[3] for r in rows]
    print()
    print(
        f"median derive + prove: {statistics.median(times):.2f} s over {len(rows)} identities "
        f"(max {max(times):.2f} s); MatrixSymbol.diff right {sum(v.startswith('right') for v in verdicts)} "
        f"(of which transposed layout {verdicts.count('right (transposed layout)')}), "
        f"wrong {verdicts.count('wrong')}, fails {verdicts.count('fails')}, "
        f"capped {sum(v.startswith('>') for v in verdicts)}, not applicable {verdicts.count('n/a')}"
    )


if __name__ == "__main__":
    main()
