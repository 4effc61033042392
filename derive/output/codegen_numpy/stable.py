"""Numerical stability, applied in one place before printing.

:func:`stabilize` rewrites a matrix form into stable building blocks
(shifted softmax, log-sum-exp, least squares instead of normal equations);
:func:`stable_scalar` rewrites an elementwise body against overflow and
cancellation; :func:`fuse_output` writes a forward output out where only
then a cancellation can be rewritten away.  Every rewrite is an identity.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from gradproof.derive.engine import mexpr as mx
from gradproof.derive.lecture import functions as fn
from gradproof.derive.output.printing import to_text

# ---------------------------------------------------------------------------
# Stability rewrites (one place)
# ---------------------------------------------------------------------------


def stabilize(e: mx.MExpr, scalar: bool = True) -> mx.MExpr:
    """Rewrite a matrix form into numerically stable building blocks.

    - ``exp(S) ⊘ (exp(S) 1)`` becomes the row-wise shifted :class:`Softmax`;
    - ``log`` of a softmax becomes :class:`LogSoftmax` (log-sum-exp);
    - ``log sigma(s)`` and ``log(1 - sigma(s))`` become ``-logaddexp(0, -s)``
      and ``-logaddexp(0, s)`` (see :class:`_NumpyScalarPrinter`).
    """
    e = mx.transform(e, lambda x: stabilize(x, scalar))
    if isinstance(e, mx.Solve):
        e = _normal_equations(e)
    if isinstance(e, mx.Map):
        e = _fuse_maps(e)
        e = _softmax_map(e)
        e = _log_softmax_map(e)
        if scalar:
            e = _stable_map(e)
    return e


def _stable_map(e):
    if not isinstance(e, mx.Map):
        return e
    body = sp.sympify(e.expr, strict=True)
    new = stable_scalar(body)
    if new == body:
        return e
    from gradproof.derive.engine.matrixform import make_map

    return make_map(new, e.args)


def fuse_output(expr: mx.MExpr, code) -> mx.MExpr:
    """``expr`` with the forward output (``A = sigma(Z)``) written out, when
    only then can a cancellation be rewritten away (``A (1 - A)`` is
    ``sigma(Z) sigma(-Z)``); otherwise ``expr`` itself, reusing the output."""
    if code.output is None or not isinstance(code.output_def, mx.Map):
        return expr
    if not any(isinstance(nd, mx.Sym) and nd.name == code.output.name for nd in expr.walk()):
        return expr
    fused = mx.substitute(expr, {code.output.name: code.output_def})
    for node in stabilize(fused, scalar=False).walk():
        if isinstance(node, mx.Map) and stable_scalar(node.expr) != sp.sympify(node.expr, strict=True):
            return fused
    return expr


# ---------------------------------------------------------------------------
# Scalar rewrites against overflow and cancellation
# ---------------------------------------------------------------------------

MAX_REWRITE_OPS = 600  # larger bodies are printed as derived (factoring them costs more than it saves)


def stable_scalar(expr: sp.Expr) -> sp.Expr:
    """Rewrite an elementwise body so that it neither overflows nor cancels.

    - ``log(cosh(u))`` becomes :class:`gradproof.derive.lecture.functions.logcosh`;
    - ``sinh(u) / cosh(u)`` becomes ``tanh(u)`` (no inf/inf for ``|u| > 710``);
    - sums in which ``tanh`` or ``sigma`` cancel in a tail are rewritten through
      ``sigma`` and its complement ``1 - sigma(a) = sigma(-a)``:
      ``1 + tanh(u) = 2 sigma(2u)``, ``1 - tanh(u)^2 = 4 sigma(2u) sigma(-2u)``,
      ``sigma(s)(1 - sigma(s)) = sigma(s) sigma(-s)``, a factor
      ``A + B sigma(a)`` whose ``A + B`` is simpler than ``A`` (the terms
      cancel as ``sigma(a) -> 1``) becomes ``(A + B) - B sigma(-a)``, and any
      other ``(A + B) sigma(a) + A sigma(-a)`` (``sigma(s) - y`` is
      ``(1 - y) sigma(s) - y sigma(-s)``: no cancellation for a binary ``y``).

    The result is equal to ``expr`` (the rewrites are identities; the tests
    check each against the derived expression at high precision).
    """
    e = sp.sympify(expr, strict=True)
    if e.is_Atom:
        return e
    if isinstance(e, sp.Piecewise):  # each branch on its own; the conditions as they are
        return sp.Piecewise(*[(stable_scalar(v), c) for v, c in e.args])
    e = e.replace(
        lambda x: isinstance(x, sp.log) and isinstance(x.args[0], sp.cosh), lambda x: fn.logcosh(x.args[0].args[0])
    )
    for c in sorted(e.atoms(sp.cosh), key=sp.default_sort_key):
        u = c.args[0]
        if e.has(sp.sinh(u)):
            e = e.xreplace({sp.sinh(u): sp.tanh(u) * sp.cosh(u)})
    if sp.count_ops(e) <= MAX_REWRITE_OPS and not e.has(sp.Piecewise):
        try:
            e = _complements(e)
        except (sp.PolynomialError, sp.polys.polyerrors.PolificationFailed, NotImplementedError, TypeError):
            pass  # a body the factoriser cannot take (e.g. inside a Piecewise) is printed as derived
    return e.replace(_sigmoid_pair, _sech2_of_pair)


def _sigmoid_pair(x):
    return x.is_Mul and _pair(x) is not None


def _pair(x):
    sig = [f for f in x.args if isinstance(f, fn.sigmoid)]
    for f in sig:
        a = f.args[0]
        if fn.sigmoid(-a) in sig and sp.count_ops(a / 2) < sp.count_ops(a) and not a.could_extract_minus_sign():
            return a
    return None


def _sech2_of_pair(x):
    """``sigma(2u) sigma(-2u) = sech(u)^2 / 4`` (from ``1 - tanh(u)^2``)."""
    a = _pair(x)
    rest = [f for f in x.args if f not in (fn.sigmoid(a), fn.sigmoid(-a))]
    return sp.Mul(*rest) * fn.sech2(a / 2) / 4


def _complements(e: sp.Expr) -> sp.Expr:
    tanhs = sorted(e.atoms(sp.tanh), key=sp.default_sort_key)
    sigs = sorted(e.atoms(fn.sigmoid), key=sp.default_sort_key)
    if not tanhs and not sigs:
        return e
    holders: dict = {}  # canonical argument a -> placeholder for sigma(a)

    def sigma_of(a):
        a = sp.expand(a)
        if a.could_extract_minus_sign():
            return 1 - sigma_of(-a)
        if a not in holders:
            holders[a] = sp.Dummy(f"P{len(holders)}")
        return holders[a]

    sub = {t: 2 * sigma_of(2 * t.args[0]) - 1 for t in tanhs}
    sub.update({g: sigma_of(g.args[0]) for g in sigs})
    x = e.xreplace(sub)
    args_of = {p: a for a, p in holders.items()}
    used = {"complement": False, "fallback": False}

    def back(expr):
        """Placeholders back into functions, each factor in its stable form."""
        ps = [p for p in args_of if expr.has(p)]
        if not ps:
            return expr
        if expr.is_Mul:
            return sp.Mul(*[back(f) for f in expr.args])
        if expr.is_Pow and expr.exp.is_Integer:
            return sp.Pow(back(expr.base), expr.exp)
        p = ps[0]
        poly = sp.Poly(expr, p) if expr.is_polynomial(p) else None
        if poly is None or poly.degree() != 1:
            used["fallback"] = True
            return expr.xreplace({q: fn.sigmoid(args_of[q]) for q in ps})
        B, A = poly.all_coeffs()
        a = args_of[p]
        total = sp.factor(A + B)
        if A == 0:
            return back(_factored(B)) * fn.sigmoid(a)
        if total == 0 or sp.count_ops(total) < sp.count_ops(A):
            used["complement"] = True
            return _tanh_form(back(_factored(total)), -back(_factored(B)), -a)
        if sp.simplify(B + 2 * A) == 0:
            return _tanh_form(back(_factored(A)), back(_factored(B)), a)
        # A + B sigma(a) = (A + B) sigma(a) + A sigma(-a): each tail keeps its digits
        # (sigma(s) - y is (1 - y) sigma(s) - y sigma(-s), exact for y = 0 and y = 1)
        used["complement"] = True
        return back(_factored(total)) * fn.sigmoid(a) + back(_factored(A)) * fn.sigmoid(-a)

    y = back(_factored(x))
    tanh_removed = bool(tanhs) and not y.has(*tanhs)
    return y if (used["complement"] or tanh_removed) and not used["fallback"] else e


def _factored(x):
    x = sp.factor(sp.together(x))
    return x


def _tanh_form(A, B, a):
    """``A + B sigma(a)``, written back as ``tanh(a/2)`` where it is ``2 sigma(a) - 1``."""
    if sp.simplify(B + 2 * A) == 0:
        return -A * sp.tanh(a / 2) if A != -1 else sp.tanh(a / 2)
    return A + B * fn.sigmoid(a)


@dataclass(frozen=True)
class Stack(mx.MExpr):
    """``[top; bottom]``: rows of ``bottom`` below those of ``top`` (code generation only)."""

    top: mx.MExpr
    bottom: mx.MExpr

    @property
    def shape(self):
        return (self.top.shape[0] + self.bottom.shape[0], self.top.shape[1])

    def children(self):
        return (self.top, self.bottom)


@dataclass(frozen=True)
class ZeroRows(mx.MExpr):
    """``size`` rows of zeros with the columns of ``like`` (code generation only)."""

    size: sp.Expr
    like: mx.MExpr

    @property
    def shape(self):
        return (self.size, self.like.shape[1])

    def children(self):
        return (self.like,)


def _gram(t):
    """``(c, X)`` when ``t`` is ``c X^T X``."""
    c, t = (t.coeff, t.arg) if isinstance(t, mx.Scale) else (sp.Integer(1), t)
    if isinstance(t, mx.MatMul) and isinstance(t.left, mx.Transpose) and t.left.arg == t.right:
        return sp.sympify(c, strict=True), t.right
    return None


def _normal_equations(e: mx.Solve) -> mx.MExpr:
    """Closed forms through least squares, never the normal equations.

    ``(X^T X)^{-1} X^T y`` -> ``lstsq(X, y)``, and ridge's
    ``(c1 X^T X + c2 I)^{-1} c3 X^T y`` -> ``lstsq([sqrt(c1) X; sqrt(c2) I], [c3/sqrt(c1) y; 0])``
    (the augmented system's normal equations are exactly the ridge ones).
    Forming ``X^T X`` squares the condition number of X; these do not.
    """
    a, b = e.a, e.b
    cb, b_ = (sp.sympify(b.coeff, strict=True), b.arg) if isinstance(b, mx.Scale) else (sp.Integer(1), b)
    if not (isinstance(b_, mx.MatMul) and isinstance(b_.left, mx.Transpose)):
        return e
    X, y = b_.left.arg, b_.right
    g = _gram(a)
    if g is not None and g[1] == X and g[0] == cb:
        return mx.Lstsq(X, y)
    if isinstance(a, mx.Add) and len(a.terms) == 2:
        gram = [t for t in a.terms if _gram(t) is not None]
        eye = [t for t in a.terms if isinstance(t, mx.Scale) and isinstance(t.arg, mx.Identity)]
        if len(gram) == 1 and len(eye) == 1 and _gram(gram[0])[1] == X:
            c1, c2 = _gram(gram[0])[0], sp.sympify(eye[0].coeff, strict=True)
            if c1.is_positive and c2.is_nonnegative is not False:
                top = X if c1 == 1 else mx.Scale(sp.sqrt(c1), X)
                rhs = y if cb == sp.sqrt(c1) else mx.Scale(cb / sp.sqrt(c1), y)
                n = eye[0].arg.size
                return mx.Lstsq(Stack(top, mx.Scale(sp.sqrt(c2), mx.Identity(n))), Stack(rhs, ZeroRows(n, y)))
    return e


def _fuse_maps(e: mx.Map) -> mx.MExpr:
    """Inline elementwise arguments into one body, so that rewrites such as
    ``log sigma(s)`` see the whole elementwise expression."""
    from gradproof.derive.engine.matrixform import make_map

    body = sp.sympify(e.expr, strict=True)
    args = []
    for p, a in e.args:
        if isinstance(a, mx.Map):
            body = body.xreplace({p: a.expr})
            args += list(a.args)
        else:
            args.append((p, a))
    return make_map(body, tuple(args))


def _softmax_map(e: mx.Map):
    """``exp(u) * v**-1`` with ``v = rowsum(exp(u))`` (same u) -> Softmax(u)."""
    body = sp.sympify(e.expr, strict=True)
    for p, a in e.args:
        if isinstance(a, mx.RowSum) and isinstance(a.arg, mx.Map):
            inner = a.arg
            if len(inner.args) == 1 and inner.expr == sp.exp(inner.args[0][0]):
                S = inner.args[0][1]
                u = [q for q, b in e.args if b == S]
                if not u:
                    continue
                u = u[0]
                target = sp.exp(u) / p
                if body.has(target) or sp.simplify(body - target) == 0:
                    q = sp.Symbol(f"{u}_sm")
                    new_body = body.subs(target, q)
                    new_args = tuple((pp, aa) for pp, aa in e.args if pp not in (p,)) + ((q, mx.Softmax(S)),)
                    from gradproof.derive.engine.matrixform import make_map

                    return make_map(new_body, new_args)
    return e


def _log_softmax_map(e):
    if not isinstance(e, mx.Map):
        return e
    body = sp.sympify(e.expr, strict=True)
    new_args = []
    sub = {}
    for p, a in e.args:
        if isinstance(a, mx.Softmax) and body.has(sp.log(p)):
            q = sp.Symbol(f"{p}_ls")
            sub[sp.log(p)] = q
            new_args.append((q, mx.LogSoftmax(a.arg)))
            if body.xreplace(sub).has(p):
                new_args.append((p, a))
        else:
            new_args.append((p, a))
    if not sub:
        return e
    from gradproof.derive.engine.matrixform import make_map

    return make_map(body.xreplace(sub), tuple(new_args))


def stable_text(e) -> str:
    """Plain text of a stabilized form (the code-generation-only nodes included)."""
    if isinstance(e, mx.Lstsq) and isinstance(e.a, Stack):
        return f"lstsq([{stable_text(e.a.top)}; {stable_text(e.a.bottom)}], [{stable_text(e.b.top)}; 0])"
    if isinstance(e, mx.Lstsq):
        return f"lstsq({stable_text(e.a)}, {stable_text(e.b)})"
    return to_text(e)
