"""Matrix calculus on the typed tree: gradients, Jacobians and Hessians in
matrix form, each proved entry by entry against SymPy's scalar
differentiation of the explicit expression at small non-square sizes.

The gradient of a scalar expression is found by propagating adjoints down
the tree (one rule per node, beside the node's meaning); a Jacobian by
pushing differentials up the tree.  SymPy's ``MatrixSymbol.diff`` is never
used: it is silently wrong on sums of traces and on log-sum-exp.

>>> from gradproof.derive.reading import read
>>> r = differentiate(read("(X w - y)^T (X w - y) + lambda w^T w"), "w")
>>> text(r.result)
'2 X^T (X w - y) + 2 lambda w'
>>> r.proved
True
"""

from __future__ import annotations

import functools
from fractions import Fraction

import gradproof.derive.reading.shaped as t
from gradproof.derive.engine.matalgebra import (
    T,
    _terms,
    add,
    ediv,
    eye,
    fn,
    had,
    inv,
    is_num,
    is_zero,
    mul,
    neg,
    ones,
    ones_like,
    power,
    scale,
    sub,
    zero,
)
from gradproof.derive.engine.matprint import latex, text  # noqa: F401 (re-exported)
from gradproof.derive.engine.matresult import (  # noqa: F401 (re-exported)
    DiffError,
    Entry,
    Result,
    _shape_text,
    concrete_sizes,
    pyname,
)
from gradproof.derive.reading.shaped import E


# ------------------------------------------------------- local derivatives
def fprime(name, u):
    """f'(u) elementwise, as a tree."""
    one = E("num", value=Fraction(1))
    return {
        "exp": lambda: fn("exp", u),
        "log": lambda: power(u, -1),
        "tanh": lambda: sub(ones_like(u) if not u.is_scalar() else one, power(fn("tanh", u), 2)),
        "sigma": lambda: had(fn("sigma", u), sub(ones_like(u) if not u.is_scalar() else one, fn("sigma", u))),
        "softplus": lambda: fn("sigma", u),
        "relu": lambda: fn("step", u),
        "abs": lambda: fn("sign", u),
        "sqrt": lambda: scale(E("num", value=Fraction(1, 2)), power(fn("sqrt", u), -1)),
        "step": lambda: zero(u.shape),
        "sign": lambda: zero(u.shape),
    }[name]()


def depends(e, v):
    return v in e.free()


# ------------------------------------------------------------ reverse mode
def gradient(e: E, v: str, steps: list) -> E:
    """d(scalar e)/d v, shaped like v, by adjoint propagation."""
    if not e.is_scalar():
        raise DiffError("the gradient needs a scalar expression")
    acc = {}

    def push(node, bar):
        if not depends(node, v) or is_zero(bar):
            return
        op, a = node.op, node.args
        if op == "var":
            acc["g"] = add(acc["g"], bar) if "g" in acc else bar
            return
        if op == "neg":
            return push(a[0], neg(bar))
        if op == "add":
            for x in a:
                push(x, bar if not x.is_scalar() or node.is_scalar() else sum_all(bar))
            return
        if op == "scale":
            s, m = a
            push(s, inner(bar, m))
            push(m, scale(s, bar))
            return
        if op == "mul":
            x, y = a
            push(x, mul(bar, T(y)))
            push(y, mul(T(x), bar))
            return
        if op == "T":
            return push(a[0], T(bar))
        if op == "had":
            x, y = a
            push(x, had(bar, y))
            push(y, had(bar, x))
            return
        if op == "ediv":
            x, y = a
            push(x, ediv(bar, y) if not x.is_scalar() or node.is_scalar() else sum_all(ediv(bar, y)))
            gy = (
                neg(had(bar, ediv(x, power(y, 2))))
                if not y.is_scalar() or node.is_scalar()
                else neg(ediv(inner(bar, x), power(y, 2)))
            )
            push(y, gy)
            return
        if op == "fn":
            return push(a[0], had(bar, fprime(node.name, a[0])))
        if op == "pow":
            k = node.value
            return push(a[0], had(bar, scale(E("num", value=k), power(a[0], k - 1))))
        if op == "tr":
            return push(a[0], scale(bar, eye(a[0].shape[0])))
        if op == "det":
            return push(a[0], scale(bar, scale(node, T(inv(a[0])))))
        if op == "logdet":
            return push(a[0], scale(bar, T(inv(a[0]))))
        if op == "inv":
            it = T(inv(a[0]))
            return push(a[0], neg(mul(mul(it, bar), it)))
        if op == "sum":
            return push(a[0], scale(bar, ones_like(a[0])))
        if op == "norm2":
            return push(a[0], scale(bar, ediv(a[0], node)))
        if op == "normF":
            return push(a[0], scale(bar, ediv(a[0], node)))
        if op == "norm1":
            return push(a[0], scale(bar, fn("sign", a[0])))
        if op == "diagm":
            return push(a[0], E("diagv", (bar,), a[0].shape))
        if op == "diagv":
            return push(a[0], diag(bar))
        if op == "fn" and node.name == "log":
            pass
        raise DiffError(f"no derivative rule for {op}")

    push(e, E("num", value=Fraction(1)))
    g = acc.get("g")
    return g if g is not None else zero(_var_shape(e, v))


def _var_shape(e, v):
    for x in t.walk(e):
        if x.op == "var" and x.name == v:
            return x.shape
    raise DiffError(f"{v} does not appear in the expression")


def sum_all(m):
    if m.is_scalar():
        return m
    return E("sum", (m,))


def inner(a, b):
    """<a, b> = sum of a ⊙ b, kept in matrix form where it reads better."""
    if a.is_scalar() and b.is_scalar():
        return scale(a, b)
    if b.shape[1] == 1:
        return mul(T(b), a) if not is_num(a, 1) else sum_all(b)
    return E("tr", (mul(T(a), b),))


# ------------------------------------------------------------ forward mode
def jacobian(e: E, v: str, n_in) -> E:
    """d(vector e)/d(vector v): rows are outputs."""
    if not depends(e, v):
        return E("num", (), (e.shape[0], n_in), value=Fraction(0))
    op, a = e.op, e.args
    if op == "var":
        return eye(n_in)
    if op == "neg":
        return neg(jacobian(a[0], v, n_in))
    if op == "add":
        return add(jacobian(a[0], v, n_in), jacobian(a[1], v, n_in))
    if op == "scale":
        s, m = a
        out = scale(s, jacobian(m, v, n_in)) if depends(m, v) else zero((e.shape[0], n_in))
        if depends(s, v):
            out = add(out, mul(m, T(gradient(s, v, []))))
        return out
    if op == "mul":
        x, y = a
        if depends(x, v):
            if x.op == "diagm":
                return jacobian(had(x.args[0], y), v, n_in)
            if x.op == "T" and x.args[0].shape[1] == 1:
                return jacobian(scale(mul(x, y), ones(1)) if False else E("scale", (mul(x, y),), e.shape), v, n_in)
            raise DiffError("a Jacobian through a matrix that depends on the variable is not read off")
        return mul(x, jacobian(y, v, n_in))
    if op == "had":
        x, y = a
        return add(
            mul(diag(y), jacobian(x, v, n_in)) if depends(x, v) else zero((e.shape[0], n_in)),
            mul(diag(x), jacobian(y, v, n_in)) if depends(y, v) else zero((e.shape[0], n_in)),
        )
    if op == "fn":
        return mul(diag(fprime(e.name, a[0])), jacobian(a[0], v, n_in))
    if op == "pow":
        return mul(diag(scale(E("num", value=e.value), power(a[0], e.value - 1))), jacobian(a[0], v, n_in))
    if op == "ediv":
        x, y = a
        if y.is_scalar():
            out = ediv(jacobian(x, v, n_in), y) if depends(x, v) else zero((e.shape[0], n_in))
            if depends(y, v):
                out = sub(out, mul(ediv(x, power(y, 2)), T(gradient(y, v, []))))
            return out
        return jacobian(had(x, power(y, -1)), v, n_in)
    if op == "T":
        return jacobian(a[0], v, n_in)
    raise DiffError(f"no Jacobian rule for {op}")


def diag(u):
    if u.op == "ones":
        return eye(u.shape[0])
    if u.is_scalar():
        return u
    return E("diagm", (u,), (u.shape[0], u.shape[0]))


# ----------------------------------------------------------------- printing
_PREC = {"add": 1, "neg": 2, "scale": 3, "mul": 3, "had": 3, "ediv": 3, "pow": 5, "T": 6}
_FN_TEXT = {"sigma": "sigma"}


def differentiate(e: E, wrt: str, hessian: bool = False, prove_it: bool = True) -> Result:
    from gradproof.derive.reading import names as _names

    shapes = _names(e)
    if wrt not in shapes:
        raise DiffError(f"{wrt!r} does not appear in the expression")
    vshape = shapes[wrt]
    # each step: (what was done, the expression after it); printed by the caller (text or LaTeX)
    steps = [("expression", e), ("shapes", ", ".join(f"{k}: {_shape_text(s)}" for k, s in shapes.items()))]
    direction = ""
    if hessian:
        if not e.is_scalar() or vshape[1] != 1:
            raise DiffError("--hessian needs a scalar expression of a column vector")
        g = gradient(e, wrt, [])
        steps.append(("gradient (adjoints propagated from the root)", g))
        g = _tidy_step(g, steps)
        form = "hessian"
        try:
            res = _tidy_step(jacobian(g, wrt, vshape[0]), steps, "Hessian: the Jacobian of the gradient")
        except DiffError:
            # no matrix form: the Hessian column by column, H e_k = the gradient's derivative along e_k
            from gradproof.derive.engine.matcalc_dir import DIRECTION, directional

            d = t.var(DIRECTION, vshape)
            label = "Hessian column by column: H e_k, the gradient's derivative along the k-th unit vector"
            res = _tidy_step(directional(g, wrt, d, fprime), steps, label)
            direction = DIRECTION
    elif e.is_scalar():
        res = gradient(e, wrt, [])
        steps.append(("gradient (adjoints propagated from the root)", res))
        res = _tidy_step(res, steps)
        form = "gradient"
    else:
        if e.shape[1] != 1 or vshape[1] != 1:
            raise DiffError("a Jacobian needs a column-vector expression and a column-vector variable")
        res = jacobian(e, wrt, vshape[0])
        steps.append(("Jacobian (differentials pushed from the leaves; rows = outputs)", res))
        res = _tidy_step(res, steps)
        form = "jacobian"
    sizes = concrete_sizes(e)
    r = Result(e, wrt, form, res, shapes, sizes, tuple(steps), (), direction)
    if prove_it:
        from gradproof.derive.proof.matcalc import prove

        r = Result(e, wrt, form, res, shapes, sizes, tuple(steps), tuple(prove(r)), direction)
    return r


def _tidy_step(e, steps, label=None):
    if label:
        steps.append((label, e))
    out = tidy(e)
    for _ in range(2):  # a rewrite can expose a new elementwise part (a sign moved into diag(...))
        again = tidy(out)
        if again == out:
            break
        out = again
    if out != e:
        steps.append(("elementwise terms collected", out))
    return out


# ---------------------------------------------------- elementwise algebra
_ELEMENTWISE_OPS = ("add", "neg", "had", "ediv", "pow", "scale")


def _is_elementwise(e):
    if e.op == "scale":
        return e.args[0].is_scalar()
    return e.op in _ELEMENTWISE_OPS


@functools.lru_cache(maxsize=8192)  # trees are frozen: a subtree met again (as an atom, a factor) is tidied once
def tidy(e: E) -> E:
    """Collect an elementwise subexpression as a rational function of its atoms.

    Vectors combined entry by entry (``+ - .* ./ ^``) behave like scalars, so
    each maximal such subtree is rewritten with SymPy over scalar stand-ins
    for its atoms (``sigma(X w)``, ``y``, ...), cancelled, and read back:
    ``-y .* sigma^-1 .* sigma .* (1 - sigma) + ...`` becomes ``sigma(X w) - y``.
    The proof that follows checks the outcome like any other result.
    """
    if e.op == "add":
        args = tuple(tidy(a) for a in e.args)
        f = _factor(_rebuild(e, args))
        if f.op != "add":
            return tidy(f)
        e = f
    if not e.is_scalar() and e.shape[1] == 1 and _is_elementwise(e):
        args = tuple(tidy(a) for a in e.args)  # common factors pulled out of the parts first
        return _collect(e if args == e.args else _rebuild(e, args))
    if not e.args:
        return e
    args = tuple(tidy(a) for a in e.args)
    out = e if args == e.args else _rebuild(e, args)
    if out.op == "add":
        out = _factor(out)
    return out


@functools.lru_cache(maxsize=4096)
def _collect(e: E) -> E:
    """An elementwise vector expression, simplified over scalar stand-ins for its atoms.

    Tried twice: with every non-elementwise leaf an atom, and with every
    inner sum an atom too (so ``2 (1 - r^2) ./ (1 + r^2)^2`` keeps
    ``r = X w - y`` whole); the shortest printed form wins.
    """
    import sympy as sp

    from gradproof.derive.engine.matrixform import shortest

    best_out, best_len = e, len(text(e))
    for sums in (False, True):
        atoms: dict = {}
        s = _to_sympy(e, atoms, sums)
        cands = [sp.cancel(s), sp.expand(s)]
        fac = sp.factor(s)
        if fac.as_coeff_Mul()[0] in (1, -1):  # keep 2 a + 2 b as written in the cookbook, not 2 (a + b)
            cands.append(fac)
        best = shortest(cands)
        back = {v: k for k, v in atoms.items()}
        try:
            if best.free_symbols <= set(back):
                out = _from_sympy(best, back, e.shape[0])
                if len(text(out)) < best_len or (len(text(out)) == best_len and best_out is e):
                    best_out, best_len = out, len(text(out))
        except (DiffError, KeyError):
            pass
    return best_out


def _to_sympy(x: E, atoms: dict, sums: bool = False, top: bool = True):
    """The elementwise tree as a SymPy expression; every other subtree (with ``sums``,
    every sum below the top too) becomes an atom symbol."""
    import sympy as sp

    if x.op == "num" and x.is_scalar():
        return sp.Rational(x.value.numerator, x.value.denominator)
    if x.op == "ones":
        return sp.Integer(1)
    if x.is_scalar() and x.op == "ediv":
        return _to_sympy(x.args[0], atoms, sums, False) / _to_sympy(x.args[1], atoms, sums, False)
    if x.is_scalar() and x.op in ("pow", "scale", "neg"):  # m^2 and m are one atom, m, squared
        a = [_to_sympy(y, atoms, sums, False) for y in x.args]
        if x.op == "pow":
            return a[0] ** sp.Rational(x.value.numerator, x.value.denominator)
        return a[0] * a[1] if x.op == "scale" else -a[0]
    if x.is_scalar() or not _is_elementwise(x) or (sums and not top and x.op == "add"):
        key = tidy(x) if x.args else x
        if key not in atoms:
            atoms[key] = sp.Symbol(f"a{len(atoms)}", positive=True)
        return atoms[key]
    a = [_to_sympy(y, atoms, sums, False) for y in x.args]
    return {
        "add": lambda: a[0] + a[1],
        "neg": lambda: -a[0],
        "had": lambda: a[0] * a[1],
        "scale": lambda: a[0] * a[1],
        "ediv": lambda: a[0] / a[1],
        "pow": lambda: a[0] ** sp.Rational(x.value.numerator, x.value.denominator),
    }[x.op]()


def _from_sympy(x, back: dict, n) -> E:
    """A SymPy expression over atom symbols, read back into the tree (vectors of length ``n``)."""
    import sympy as sp

    if x.is_Symbol:
        return back[x]
    if x.is_Rational:
        return scale(E("num", value=Fraction(int(x.p), int(x.q))), ones(n))
    if x.is_Add:
        terms = sorted(x.args, key=lambda t_: t_.could_extract_minus_sign())
        out = _from_sympy(terms[0], back, n)
        for t_ in terms[1:]:
            out = add(out, _from_sympy(t_, back, n))
        return out
    if x.is_Mul:
        c, rest = x.as_coeff_Mul()
        if c != 1:
            r = _from_sympy(rest, back, n)
            return neg(r) if c == -1 else scale(E("num", value=Fraction(int(c.p), int(c.q))), r)
        num_, den = sp.fraction(x)
        if den != 1:
            return ediv(_from_sympy(num_, back, n), _from_sympy(den, back, n))
        out = _from_sympy(x.args[0], back, n)
        for f in x.args[1:]:
            out = _had_vec(out, _from_sympy(f, back, n))
        return out
    if x.is_Pow and x.exp.is_Rational:
        if x.exp < 0:
            return ediv(ones(n), _from_sympy(x.base**-x.exp, back, n))
        return power(_from_sympy(x.base, back, n), Fraction(int(x.exp.p), int(x.exp.q)))
    raise DiffError("cannot read back an elementwise form")


def _factor(e):
    """``L a + L b`` -> ``L (a + b)`` and ``A r + B r`` -> ``(A + B) r``, inner sum tidied."""
    terms = _terms(e)
    for side in (0, 1):
        groups: dict = {}
        order = []
        for x in terms:
            sign, core = (-1, x.args[0]) if x.op == "neg" else (1, x)
            coef = div = None
            if core.op == "scale" and core.args[1].op == "mul":  # c (L R): L and R are still factors
                coef, core = core.args[0], core.args[1]
            if core.op == "ediv" and core.args[1].is_scalar() and core.args[0].op == "mul":  # L R / s
                div, core = core.args[1], core.args[0]
            if core.op != "mul":
                groups.setdefault(("solo", x), []).append((1, x))
                order.append(("solo", x)) if ("solo", x) not in order else None
                continue
            key = core.args[side]
            rest = core.args[1 - side] if coef is None else scale(coef, core.args[1 - side])
            rest = rest if div is None else ediv(rest, div)
            groups.setdefault(key, []).append((sign, rest))
            if key not in order:
                order.append(key)
        if all(len(v) == 1 for v in groups.values()):
            continue
        out = None
        for key in order:
            items = groups[key]
            if isinstance(key, tuple) and key and key[0] == "solo":
                term = items[0][1]
            elif len(items) == 1:
                sign, rest = items[0]
                term = mul(key, rest) if side == 0 else mul(rest, key)
                term = neg(term) if sign < 0 else term
            else:
                inner_ = None
                for sign, rest in items:
                    r = neg(rest) if sign < 0 else rest
                    inner_ = r if inner_ is None else add(inner_, r)
                inner_ = tidy(inner_)
                term = mul(key, inner_) if side == 0 else mul(inner_, key)
            out = term if out is None else add(out, term)
        return out
    return e


def _had_vec(a, b):
    if a.is_scalar() and not b.is_scalar():
        return scale(a, b)
    if b.is_scalar() and not a.is_scalar():
        return scale(b, a)
    return had(a, b)


def _rebuild(e, args):
    op = e.op
    if op == "add":
        return add(*args)
    if op == "neg":
        return neg(args[0])
    if op == "scale":
        return scale(*args)
    if op == "mul":
        return mul(*args)
    if op == "had":
        return had(*args)
    if op == "T":
        return T(args[0])
    return E(op, args, e.shape, e.name, e.value)
