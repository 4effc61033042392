"""What a kind's ``emit`` receives: one derivation's names, printer and docstring text.

Built once per generated module by :func:`gradproof.derive.output.codegen.generate`:
the variable name of every matrix (the lecture's ``z``, ``delta``, ``y``,
``X``), the dimensions read off argument shapes, one :class:`NumpyPrinter`
(which collects the helpers and the reasons the code is not analytic), and
the signature pieces every kind's functions share.
"""

from __future__ import annotations

import keyword

import sympy as sp

from gradproof.derive.engine import mexpr as mx
from gradproof.derive.output.codegen_numpy.emitter import doc_escape
from gradproof.derive.output.codegen_numpy.printer import NumpyPrinter
from gradproof.derive.output.codegen_numpy.stable import fuse_output, stabilize, stable_text
from gradproof.derive.output.printing import to_text


def py_name(sym: mx.Sym) -> str:
    """The variable of a matrix in generated code: the lecture's names by role."""
    if sym.role == "input":
        return "z"
    if sym.role == "upstream":
        return "delta"
    if sym.role == "target":
        return "y"
    if sym.role == "output":
        return sym.name.lower() if sym.name not in ("yhat",) else "yhat"
    return sym.name


def py_hyper(h) -> str:
    """The keyword argument of a hyperparameter (``lambda`` is ``lam``)."""
    return "lam" if h.name in ("lambda", "lambda_") else (h.name + "_" if keyword.iskeyword(h.name) else h.name)


class EmitContext:
    """Names, printer and signature pieces of one generated module."""

    def __init__(self, d, input_name: str | None = None):
        code = d.code
        self.d, self.code = d, code
        syms = [code.input, *code.params]
        syms += [s for s in (code.target, code.output, code.upstream) if s is not None]
        self.names: dict = {s.name: py_name(s) for s in syms}
        if input_name is not None:
            self.names[code.input.name] = input_name
        for s in syms:
            self.names.setdefault(("zeros", tuple(s.shape)), self.names[s.name])
        # dimensions used in coefficients, read off argument shapes
        self.dim_source: dict = {}
        for s in syms:
            for axis, dim in enumerate(s.shape):
                if isinstance(dim, sp.Symbol) and dim not in self.dim_source:
                    self.dim_source[dim] = f"{self.names[s.name]}.shape[{axis}]"
        for s in syms:  # a width n + 1 (n features and x0 = 1) gives n where no width n does
            for axis, dim in enumerate(s.shape):
                base, offset = sp.sympify(dim, strict=True).as_coeff_Add()
                if offset.is_Symbol and base.is_Integer and base > 0 and offset not in self.dim_source:
                    self.dim_source[offset] = f"{self.names[s.name]}.shape[{axis}] - {base}"
        self.hyper = list(code.hyper)
        dims = {h: py_hyper(h) for h, _ in self.hyper}
        dims.update({dim: dim.name for dim in self.dim_source})
        self.printer = NumpyPrinter(self.names, dims)
        self.input = self.names[code.input.name]
        self.params = [self.names[p.name] for p in code.params]
        self.hyper_sig = "".join(f", {py_hyper(h)}={default!r}" for h, default in self.hyper)
        self.param_sig = "".join(f", {p}" for p in self.params)
        self.output_def = None
        if code.output is not None and code.output_def is not None:
            self.output_def = self.printer.doprint(stabilize(code.output_def))

    def body(self, expr: mx.MExpr, available) -> tuple[list[str], str]:
        """``expr`` printed stably, and the dimension assignments it needs (from ``available`` arguments)."""
        e = stabilize(expr)
        text = self.printer.doprint(e)
        needs = [
            f"{dim.name} = {src}"
            for dim, src in self.dim_source.items()
            if _uses(e, dim) and src.split(".")[0] in available
        ]
        return needs, text

    def fused(self, expr: mx.MExpr) -> mx.MExpr:
        return fuse_output(expr, self.code)

    def uses_output(self, *exprs) -> bool:
        """Whether any of ``exprs`` reads the forward output (so the function computes it first)."""
        name = self.code.output.name
        return any(isinstance(nd, mx.Sym) and nd.name == name for x in exprs for nd in x.walk())

    def formula(self, key: str) -> str:
        """The result ``key`` as its docstring shows it: ``lhs = stable form`` (escaped)."""
        for r in self.d.results:
            if r.key == key and r.matrix is not None:
                return doc_escape(f"{to_text(r.lhs)} = {stable_text(stabilize(fuse_output(r.matrix, self.code)))}")
        return ""


def _uses(e: mx.MExpr, dim) -> bool:
    for node in e.walk():
        for attr in ("coeff", "expr", "value", "size"):
            v = getattr(node, attr, None)
            if v is not None and sp.sympify(v, strict=True).has(dim):
                return True
    return False
