"""The expression printers: one home per method, no monkey patch, sound output for any tree."""

from __future__ import annotations

import inspect
import textwrap

import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from gradproof.derive.engine import mexpr as mx
from gradproof.derive.output import printing
from gradproof.derive.output.printing import MatrixFormPrinter, to_latex, to_text

m, n, K = sp.symbols("m n K", positive=True, integer=True)
X, W, P, Y = mx.Sym("X", (m, n)), mx.Sym("W", (n, K)), mx.Sym("P", (m, K)), mx.Sym("Y", (m, K))

PRINTERS = [
    obj
    for obj in vars(printing).values()
    if inspect.isclass(obj) and obj.__module__ == printing.__name__ and obj.__name__.endswith(("Printer", "Notation"))
]


def test_every_printer_method_has_one_home():
    """No method is written out twice, word for word, in two printer classes."""
    seen = {}
    for cls in PRINTERS:
        for name, fn in vars(cls).items():
            if inspect.isfunction(fn):
                body = textwrap.dedent(inspect.getsource(fn))
                assert body not in seen, f"{cls.__name__}.{name} repeats {seen.get(body)}"
                seen[body] = f"{cls.__name__}.{name}"
    assert len(seen) > 40 and len(PRINTERS) >= 9


def test_printer_methods_are_defined_in_their_class():
    """A method assigned from outside (a monkey patch) has a foreign qualified name."""
    for cls in PRINTERS:
        for name, fn in vars(cls).items():
            if inspect.isfunction(fn):
                assert fn.__qualname__ == f"{cls.__name__}.{name}", f"{cls.__name__}.{name} is {fn.__qualname__}"


def test_matrix_printers_share_one_base():
    for cls in (printing.MatrixTextPrinter, printing.MatrixLatexPrinter):
        assert issubclass(cls, MatrixFormPrinter)
        for shared in ("_print_MatMul", "_print_Add", "_print_Scale", "_print_Transpose", "_strict_paren", "_paren"):
            assert shared not in vars(cls), f"{cls.__name__} copies {shared}"


@pytest.mark.parametrize(
    ("expr", "text", "latex"),
    [
        (
            mx.MatMul(mx.Transpose(X), mx.Add((P, mx.Scale(-1, Y)))),
            "X^T (P - Y)",
            r"\mathbf{X}^{\top} \left(\mathbf{P} - \mathbf{Y}\right)",
        ),
        (mx.RowSum(mx.MatMul(X, W)), "rowsum(X W)", r"\left(\mathbf{X} \mathbf{W}\right) \mathbf{1}"),
        (mx.ColSum(mx.Transpose(P)), "colsum(P^T)", r"\mathbf{1}^{\top} \mathbf{P}^{\top}"),
        (
            mx.Scale(1 / m, mx.Softmax(P)),
            "1/m softmax(P)",
            r"\frac{1}{m} \operatorname{softmax}\left(\mathbf{P}\right)",
        ),
        (
            mx.Solve(mx.MatMul(mx.Transpose(X), X), mx.Transpose(X)),
            "(X^T X)^-1 X^T",
            r"\left(\mathbf{X}^{\top} \mathbf{X}\right)^{-1} \mathbf{X}^{\top}",
        ),
    ],
)
def test_known_forms(expr, text, latex):
    assert to_text(expr) == text
    assert to_latex(expr) == latex


def test_hadamard_bodies():
    a, b = sp.symbols("a b")
    prod = mx.Map(a * b, ((a, P), (b, mx.Add((P, mx.Scale(-1, Y))))))
    assert to_text(prod) == "P o (P - Y)"
    assert to_latex(prod) == r"\mathbf{P} \odot \left(\mathbf{P} - \mathbf{Y}\right)"
    quot = mx.Map(-a / b, ((a, P), (b, Y)))
    assert to_text(quot) == "-(P / Y)"
    assert to_latex(quot) == r"-\mathbf{P} \oslash \mathbf{Y}"
    square = mx.Map(2 * a**2, ((a, mx.MatMul(X, W)),))
    assert to_text(square) == "2*(X W)^2"  # one matrix factor: an ordinary product
    assert to_latex(square) == r"2 \left(\mathbf{X} \mathbf{W}\right)^{\circ 2}"


def test_index_form_reads_as_the_lecture():
    i, j = sp.symbols("i j", integer=True)
    y, yhat = sp.symbols("y yhat")
    assert printing.ScalarStrPrinter().doprint(-y + yhat) == "yhat - y"
    assert printing.ScalarStrPrinter().doprint(sp.KroneckerDelta(i, j)) == "[[i = j]]"
    assert to_latex(sp.KroneckerDelta(i, j)) == r"[\![ i = j ]\!]"
    assert to_latex(sp.Heaviside(y) ** 3) == r"[\![ y > 0 ]\!]^{3}"
    w = sp.IndexedBase("w")
    assert to_text(sp.Sum(w[i], (i, 0, n - 1))) == "sum_{i=1..n} (w[i])"


def test_an_unknown_node_is_refused_by_name_and_a_subclass_prints_as_its_base():
    class Mystery(mx.MExpr):
        shape = (m, n)

    with pytest.raises(TypeError, match="Mystery"):
        to_text(Mystery())

    class Named(mx.Transpose):
        pass

    assert to_text(Named(X)) == "X^T" and to_latex(Named(X)) == r"\mathbf{X}^{\top}"


_a, _b = sp.symbols("a b")
_BODIES = [_a * _b, sp.exp(_a), _a**2, _a / _b, -_a * _b + _a, sp.log(1 + sp.exp(_a))]


def _map(body, x, y):
    return mx.Map(body, tuple((p, v) for p, v in ((_a, x), (_b, y)) if p in body.free_symbols))


def _trees():
    leaves = st.sampled_from([X, W, P, Y, mx.Const(sp.Integer(1)), mx.Identity(n)])

    def grow(kids):
        return st.one_of(
            st.builds(mx.Transpose, kids),
            st.builds(mx.MatMul, kids, kids),
            st.builds(lambda t: mx.Add(tuple(t)), st.lists(kids, min_size=2, max_size=3)),
            st.builds(mx.Scale, st.sampled_from([sp.Integer(-1), sp.Integer(2), 1 / m, m + 1]), kids),
            st.builds(mx.RowSum, kids),
            st.builds(mx.ColSum, kids),
            st.builds(mx.Total, kids),
            st.builds(mx.Softmax, kids),
            st.builds(mx.Solve, kids, kids),
            st.builds(_map, st.sampled_from(_BODIES), kids, kids),
        )

    return st.recursive(leaves, grow, max_leaves=6)


@settings(max_examples=150, deadline=None)
@given(_trees())
def test_any_tree_prints_balanced_and_complete(e):
    text, latex = to_text(e), to_latex(e)
    assert text == to_text(e) and latex == to_latex(e)  # deterministic
    assert text.count("(") == text.count(")")
    assert latex.count(r"\left(") == latex.count(r"\right)")
    assert latex.count("{") == latex.count("}")
    assert "MAPARG" not in text + latex
    for s in e.symbols():
        assert s.name in text
