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
    return tidy(value.expr) if isinstance(value.expr, mx.MExpr) else mx.Const(value.expr)


def tidy(e):
    """The claim as the lecture writes it: ``inv(A) B`` as ``A^{-1} B``, scalar factors gathered.

    The answer converter reads ``A^-1`` as ``solve(A, I)``; a claim states
    ``(X^T X)^-1 X^T y``, printed without the identity.  Both changes keep
    the value (the proof evaluates the claim).
    """
    from gradproof.derive.engine import mexpr as mx

    e = mx.transform(e, tidy)
    if isinstance(e, mx.MatMul) and isinstance(e.left, mx.Solve) and isinstance(e.left.b, mx.Identity):
        return mx.Solve(e.left.a, e.right)
    if isinstance(e, mx.Scale) and isinstance(e.arg, mx.Scale):
        return mx.Scale(e.coeff * e.arg.coeff, e.arg.arg)
    if isinstance(e, mx.Map):
        return _flat_map(e)
    return e


def _flat_map(e):
    """One entrywise map for ``Delta ⊙ A ⊙ (1 - A)``: inner maps inlined, each matrix bound once."""
    from gradproof.derive.engine import mexpr as mx

    body, args = e.expr, []
    for p, a in e.args:
        if isinstance(a, mx.Map) and a.shape == e.shape:
            body = body.xreplace({p: a.expr})
            args.extend(a.args)
        else:
            args.append((p, a))
    bound, out = {}, []
    for p, a in args:
        if a in bound:
            body = body.xreplace({p: bound[a]})
        else:
            bound[a] = p
            out.append((p, a))
    return mx.Map(body, tuple(out))
