"""Naming more than one slip: two slips at once, and a scalar added to a vector.

Called on a formula answer that :func:`gradproof.derive.seminar.equivalence.decide` found
incorrect without a name (or with only a transpose, or an unnamed factor):

* a transposed answer is transposed back and compared with the reference and
  its named mutations, scaled by -1, 2, 1/2, m, 1/m...;
* a negative ratio is split into a sign error and a named factor;
* a scalar added to a product that is a vector or matrix is a shape error.
"""

from __future__ import annotations

import re


def _refine(ex, answer, v):
    """An incorrect formula verdict, with a second slip or a shape misuse named where one explains it."""
    import dataclasses as dc

    if v.mistake == "factor":
        better = _sign_and_factor(ex, answer)
        if better is not None:
            return dc.replace(v, mistake=better[0], feedback=(better[1],) + v.feedback)
    if v.mistake in ("", "shape", "transposed"):
        better = _shape_misuse(ex, answer) if v.mistake in ("",) else None
        if better is None and v.decided_by in ("shape", "numeric"):
            better = _double_slip(ex, answer, v)
        if better is not None:
            code, message = better
            keep = tuple(f for f in v.feedback if f != message and v.mistake not in ("", "shape"))
            return dc.replace(v, mistake=code, feedback=(message,) + keep)
    return v


def _shape_misuse(ex, answer):
    """A scalar added to a product that is a vector or matrix (``inv(X^T X) X^T y + lambda``)."""
    from gradproof.derive.engine import mexpr as mx
    from gradproof.derive.output.printing import to_text
    from gradproof.derive.seminar.answers import AnswerError, read_answer

    try:
        r = read_answer(answer, ex.vocabulary())
    except AnswerError:
        return None
    if not isinstance(r.expr, mx.MExpr):
        return None
    for node in r.expr.walk():
        if not isinstance(node, mx.Add):
            continue
        consts = [t for t in node.terms if _is_broadcast_scalar(t)]
        mats = [t for t in node.terms if not _is_broadcast_scalar(t)]
        for m_ in mats:
            core = m_.arg if isinstance(m_, mx.Scale) else m_
            if isinstance(core, (mx.MatMul, mx.Solve)) and consts:
                sc = consts[0]
                shape = ex.shape_at_probe(tuple(m_.shape))
                sym = "x".join(str(d) for d in m_.shape)
                # inv(A) is Solve(A, I): print it as the student wrote it
                term = re.sub(r"\^-1 I\b\s*", "^-1 ", to_text(m_))
                return (
                    "shape-scalar-plus-matrix",
                    f"shape error: the scalar {to_text(sc.value if isinstance(sc, mx.Const) else sc)} is added to "
                    f"{term}, which is {sym} ({shape[0]}x{shape[1]} at the probe sizes); a scalar cannot "
                    "be added to a vector or matrix (a multiple of the identity is written lambda I)",
                )
    return None


def _sign_and_factor(ex, answer):
    """A negative ratio that is a named factor once the sign is taken out: two slips."""
    from gradproof.derive.seminar.answers import AnswerError, read_answer
    from gradproof.derive.seminar.equivalence import _constant_ratio, _name_factor

    try:
        r = read_answer(answer, ex.vocabulary())
        vals = ex.oracle().evaluate(r.expr)
    except (AnswerError, Exception):
        return None
    if not isinstance(vals, list):
        return None
    c = _constant_ratio(vals, ex.oracle().ref_values)
    if c is None or c >= 0:
        return None
    named = _name_factor(-c, ex)
    if named is None or named[0] == "sign":
        return None
    return f"sign+{named[0]}", f"two slips: a sign error and {_inverse_msg(named[0], named[1], ex)}"


def _is_broadcast_scalar(t) -> bool:
    from gradproof.derive.engine import mexpr as mx

    if isinstance(t, mx.Scale):
        return _is_broadcast_scalar(t.arg)
    return isinstance(t, mx.Const)


def _double_slip(ex, answer, v):
    """Two slips at once: transposed and (sign, a factor, a named mutation), or sign/factor on a named mutation."""
    import numpy as np

    from gradproof.derive.engine import mexpr as mx
    from gradproof.derive.seminar.answers import AnswerError, read_answer
    from gradproof.derive.seminar.equivalence import close

    try:
        r = read_answer(answer, ex.vocabulary())
    except AnswerError:
        return None
    if not isinstance(r.expr, mx.MExpr):
        return None
    o = ex.oracle()
    got = ex.shape_at_probe(tuple(r.shape))
    transposed = got == o.shape[::-1] and got != o.shape
    if got != o.shape and not transposed:
        return None
    try:
        vals = o.evaluate(mx.Transpose(r.expr) if transposed else r.expr)
    except Exception:
        return None
    if not isinstance(vals, list):
        return None
    scales = [(1.0, "", "")] if transposed else []
    scales += [(-1.0, "sign", "a sign error")]
    for f, lab in ((2.0, "2"), (0.5, "1/2")):
        scales.append((f, f"factor:{lab}", f"a factor of {lab}"))
    for name, size in ex.dims:
        scales.append((float(size), f"factor:{name}", ""))
        scales.append((1.0 / size, f"factor:1/{name}", ""))
        scales.append((-1.0 / size, f"sign+factor:1/{name}", ""))
    targets = [("", "", o.ref_values)] + [(c, m, mv) for c, m, mv in o.mutant_values()]
    for tcode, tmsg, tvals in targets:
        for f, scode, smsg in scales:
            if not tcode and not scode and not transposed:
                continue
            if all(close(np.asarray(a, float), f * np.asarray(b, float), 1e-6, 1e-9) for a, b in zip(vals, tvals)):
                codes = [c for c in (("transposed" if transposed else ""), tcode, scode) if c]
                msgs = [
                    m
                    for m in (
                        ("a missing or misplaced transpose" if transposed else ""),
                        tmsg,
                        _inverse_msg(scode, smsg, ex),
                    )
                    if m
                ]
                if len(codes) < 2:
                    return None
                return "+".join(codes), "two slips: " + " and ".join(msgs)
    return None


def _inverse_msg(scode, smsg, ex) -> str:
    """What a student did when the answer is ``f`` times the right one."""
    if not scode:
        return ""
    dims = dict(ex.dims)
    if scode.startswith("factor:1/"):
        n = scode.split("/", 1)[1]
        return f"an extra 1/{n} (the answer is the right one divided by {n})"
    if scode.startswith("factor:") and scode.split(":", 1)[1] in dims:
        n = scode.split(":", 1)[1]
        return f"a missing 1/{n} (the answer is {n} times the right one)"
    if scode.startswith("factor:"):
        n = scode.split(":", 1)[1]
        return f"an extra factor {n}"
    if scode.startswith("sign+factor:1/"):
        n = scode.split("/", 1)[1]
        return f"a sign error and an extra 1/{n}"
    return smsg
