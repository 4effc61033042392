"""The one converter: the typed tree into the forms the engine reads.

Every reader of mathematics parses with :func:`gradproof.derive.reading.parse.parse`
(one grammar, one typed tree, one set of limits) and converts the typed tree
here.  The targets share one tree walk
(:class:`gradproof.derive.reading.convert.walk.Walk`: one method per node
type, one table per target of what it does not read); the entry points are
thin:

* :func:`to_values`: SymPy scalars and matrix expressions, with the
  readings of products decided from shapes (seminar answers, spec files'
  matrix claims; :mod:`.matrix`, Σ over samples in :mod:`.sums`);
* :func:`to_index`: SymPy in index form (spec files' forward maps;
  :mod:`.index`);
* :func:`to_shaped`: a tree with every shape inferred by unification
  (``gradproof diff``; :mod:`.shaped`, Σ over samples in
  :mod:`gradproof.derive.reading.samples`);
* :func:`to_claim_matrix` and :func:`to_claim_index`: the registry's claims
  (:mod:`gradproof.derive.reading.claims`), with the names their topic
  declares.

>>> import sympy as sp
>>> from gradproof.derive.reading.parse import parse
>>> s = sp.Symbol("s", real=True)
>>> to_index(parse("s^2 / 2"), {"s": s})
s**2/2
"""

from __future__ import annotations

from gradproof.derive.reading.convert.errors import ConvertError

__all__ = ["ConvertError", "to_claim_index", "to_claim_matrix", "to_index", "to_shaped", "to_values"]


def to_values(node, vocab):
    """An answer's typed tree as a ``Value`` (expression, shape, explicit reading); raises ``ConversionError``."""
    from gradproof.derive.reading.convert.matrix import convert

    return convert(node, vocab)


def to_index(parsed, scalars: dict, arrays: dict | None = None, index_pool=(), **context):
    """A parsed spec expression in index form; raises ``ExprError`` (message and column)."""
    from gradproof.derive.reading.convert.index import Converter

    return Converter(scalars, arrays or {}, index_pool, **context)(parsed)


def to_shaped(parsed, shapes: dict | None = None):
    """A parsed ``diff`` expression as a shaped tree, dimensions named m, n, p, ...; raises ``ReadError``."""
    from gradproof.derive.reading.convert.shaped import shaped

    return shaped(parsed, shapes)


def to_claim_matrix(node, symbols):
    """A claim's formula in matrix form, its names bound to the declaration's matrices; raises :class:`ConvertError`.

    >>> import sympy as sp
    >>> from gradproof.derive.engine import mexpr as mx
    >>> from gradproof.derive.output.printing import to_text
    >>> from gradproof.derive.reading.claims import Symbols
    >>> from gradproof.derive.reading.parse import parse
    >>> m, n = sp.symbols("m n", positive=True, integer=True)
    >>> table = Symbols(matrices={"X": mx.Sym("X", (m, n)), "y": mx.Sym("y", (m, 1))})
    >>> to_text(to_claim_matrix(parse("(X^T X)^-1 X^T y").node, table))
    '(X^T X)^-1 X^T y'
    """
    import sympy as sp

    from gradproof.derive.engine import mexpr as mx
    from gradproof.derive.reading.convert.matrix import ConversionError, convert
    from gradproof.derive.reading.convert.tidy import tidy
    from gradproof.derive.reading.convert.vocabulary import SymbolDecl, Vocabulary

    decls = [SymbolDecl(name, ("rows", "cols"), value=value) for name, value in symbols.matrices.items()]
    decls += [SymbolDecl(name, (), value=value) for name, value in symbols.scalars.items()]
    vocab = Vocabulary(
        dims={}, symbols=tuple(decls), extra_functions=(("abs", sp.Abs),), entrywise_powers=True, claim_notation=True
    )
    try:
        value = convert(node, vocab)
    except ConversionError as err:
        # the matrix target words its messages for students; a claim's reader is the declaration's author
        message = str(err).replace("this exercise uses", "the declaration names").replace("in an answer", "in a claim")
        raise ConvertError(message) from None
    return tidy(value.expr) if isinstance(value.expr, mx.MExpr) else mx.Const(value.expr)


def to_claim_index(parsed, symbols):
    """A claim's formula in index form (or a scalar), its names bound to the declaration's objects.

    >>> import sympy as sp
    >>> from gradproof.derive.reading.claims import Symbols
    >>> from gradproof.derive.reading.parse import parse
    >>> n, K = sp.symbols("n K", positive=True, integer=True)
    >>> i, j = sp.symbols("i j", integer=True)
    >>> table = Symbols(arrays={"w": (sp.IndexedBase("W"), (n, K))}, indices={"i": i, "j": j})
    >>> to_claim_index(parse("w_ij"), table)
    W[i, j]
    """
    from gradproof.derive.reading.convert.index import ClaimIndex, ExprError

    try:
        return ClaimIndex(symbols)(parsed)
    except ExprError as err:
        where = f" (column {err.column})" if err.column else ""
        raise ConvertError(f"{err}{where}") from None
