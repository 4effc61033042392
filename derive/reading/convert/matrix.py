"""The typed tree into the matrix form: the target of matrix answers and matrix claims."""

from __future__ import annotations

from gradproof.derive.reading.convert.errors import ConvertError


def to_claim_matrix(node, symbols):
    """A claim's formula as a matrix expression, its names bound to the declaration's matrices.

    >>> import sympy as sp
    >>> from gradproof.derive.engine import mexpr as mx
    >>> from gradproof.derive.reading.claims import Symbols
    >>> from gradproof.derive.reading.parse import parse
    >>> m, n = sp.symbols("m n", positive=True, integer=True)
    >>> table = Symbols(matrices={"X": mx.Sym("X", (m, n)), "y": mx.Sym("y", (m, 1))})
    >>> from gradproof.derive.output.printing import to_text
    >>> to_text(to_claim_matrix(parse("X^T y").node, table))
    'X^T y'
    """
    import sympy as sp

    from gradproof.derive.engine import mexpr as mx
    from gradproof.derive.seminar.answers.convert import ConversionError, SymbolDecl, Vocabulary, convert

    decls = [SymbolDecl(name, ("rows", "cols"), value=value) for name, value in symbols.matrices.items()]
    decls += [SymbolDecl(name, (), value=value) for name, value in symbols.scalars.items()]
    vocab = Vocabulary(
        dims={},
        symbols=tuple(decls),
        extra_functions=(("abs", sp.Abs),),
        entrywise_powers=True,
        claim_notation=True,
    )
    try:
        value = convert(node, vocab)
    except ConversionError as err:
        raise ConvertError(str(err)) from None
    return value.expr if isinstance(value.expr, mx.MExpr) else mx.Const(value.expr)
