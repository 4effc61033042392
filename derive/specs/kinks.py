"""Where a spec's map has a kink or a jump: found, so that an undeclared one is refused."""

from __future__ import annotations

import random

import sympy as sp

_NONSMOOTH = (sp.Piecewise, sp.Abs, sp.sign, sp.Max, sp.Min, sp.Heaviside)


def _nonsmooth(e) -> bool:
    return e.has(*_NONSMOOTH)


def _find_kinks(f, x, others, hypers, trials: int = 3):
    """Points where ``f`` (a function of the real ``x``) jumps or has a kink.

    Candidates are the zeros of every Piecewise condition and of every
    ``abs``/``sign`` argument; at each, ``f`` and ``df/dx`` are compared just
    left and right of it, exactly (rational arithmetic), with the other
    symbols (targets, hyperparameters) at a few random rational values --
    so a jump that vanishes only for one hyperparameter value (ELU's slope at
    alpha = 1) is still found.  Returns ``[(point, description)]`` for the
    first instance in which any was found.
    """
    if not _nonsmooth(f):
        return []
    rng = random.Random(1)
    df = sp.diff(f, x)
    for _ in range(trials):
        sub = {}
        for h in hypers:
            sub[h] = (
                sp.Rational(rng.randint(2, 9), rng.randint(2, 9) + 1)
                if h.is_positive
                else sp.Rational(rng.randint(-9, 9), 7)
            )
        for o in others:
            sub[o] = sp.Rational(rng.randint(-20, 20), 7)
        fi, dfi = f.xreplace(sub), df.xreplace(sub)
        cands = []
        for pw in fi.atoms(sp.Piecewise):
            for _, c in pw.args:
                cands += [r.lhs - r.rhs for r in c.atoms(sp.core.relational.Relational)]
        for a in fi.atoms(sp.Abs, sp.sign, sp.Heaviside):
            cands.append(a.args[0])
        for mm in fi.atoms(sp.Max, sp.Min):
            cands += [u - v for u in mm.args for v in mm.args if u != v]
        points = set()
        for c in cands:
            try:
                sols = sp.solve(sp.Eq(c, 0), x)
            except (NotImplementedError, ValueError, TypeError):
                continue
            points |= {s for s in sols if s.is_real}
        eps = sp.Rational(1, 10**9)
        found = []
        for p in sorted(points, key=lambda v: float(v)):

            def at(e, v):
                return complex(sp.N(e.xreplace({x: v}), 30))

            try:
                fl, fr = at(fi, p - eps), at(fi, p + eps)
                dl, dr = at(dfi, p - eps), at(dfi, p + eps)
            except (TypeError, ValueError):
                continue
            scale = max(1.0, abs(fl), abs(fr))
            if abs(fl - fr) > 1e-6 * scale:
                found.append((float(p), "the value jumps"))
            elif abs(dl - dr) > 1e-6 * max(1.0, abs(dl), abs(dr)):
                at_h = ", ".join(f"{h} = {sub[h]}" for h in hypers)
                found.append(
                    (
                        float(p),
                        f"the one-sided derivatives {dl.real:.3g} and {dr.real:.3g} differ"
                        + (f" at {at_h}" if at_h else ""),
                    )
                )
        if found:
            if others:  # describe where in terms of the target
                return [(p, f"yhat = {sp.nsimplify(p)} for y = {sub[others[0]]}") for p, _ in found]
            return found
    return []
