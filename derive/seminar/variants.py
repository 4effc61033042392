"""Variants of an exercise, and the exercises inside one: pure functions of the declaration.

A student's variant renames letters (formula and steps exercises), draws other
given numbers (numeric items) or reorders the options (choices); a steps
exercise's step ``k`` is a formula exercise of its own.  A variant keeps the
exercise it was made from (``declared``), so that it is checked through that
exercise's oracle.
"""

from __future__ import annotations

import dataclasses
import itertools
import re

NUMERIC_VARIANTS = 16


def n_variants(ex) -> int:
    if ex.answer_type == "numeric":
        return NUMERIC_VARIANTS
    if ex.answer_type == "choice":
        return max(1, len(ex.options))
    n = 1
    for alts in ex.letters:
        n *= len(alts)
    return n


def rename_text(text: str, names: dict) -> str:
    """Rename whole words (not inside longer names) in a prompt or an answer."""
    if not names:
        return text
    pat = re.compile(
        r"(?<![A-Za-z0-9_\\])("
        + "|".join(re.escape(k) for k in sorted(names, key=len, reverse=True))
        + r")(?![A-Za-z0-9_])"
    )
    return pat.sub(lambda m: names[m.group(1)], text)


def make_variant(ex, k: int):
    """Variant ``k`` of an exercise (0 is the exercise as declared)."""
    n = n_variants(ex)
    if n <= 1 or k == 0:
        return ex
    if not 0 <= k < n:
        raise ValueError(f"{ex.id} has {n} variants, not {k + 1}")
    vid = f"{ex.declared_id}@{k}"
    if ex.answer_type == "numeric":
        return dataclasses.replace(ex, id=vid, variant=k, base_id=ex.declared_id, declared=ex)
    if ex.answer_type == "choice":
        opts = ex.options[k:] + ex.options[:k]
        keys = [o.key for o in ex.options]
        return dataclasses.replace(
            ex,
            id=vid,
            variant=k,
            base_id=ex.declared_id,
            declared=ex,
            options=tuple(dataclasses.replace(o, key=key) for o, key in zip(opts, keys)),
        )
    pick = next(itertools.islice(itertools.product(*ex.letters), k, None))
    names = {alts[0]: new for alts, new in zip(ex.letters, pick) if new != alts[0]}
    return rename_exercise(ex, names, vid, k)


def rename_exercise(ex, names: dict, vid: str, k: int):
    taken = set(names.values())

    def decls(ds):
        return tuple(
            dataclasses.replace(
                d,
                name=names.get(d.name, d.name),
                definition=rename_text(d.definition, names),
                aliases=tuple(a for a in d.aliases if a not in taken),
                call_args=tuple(names.get(a, a) for a in d.call_args),
            )
            for d in ds
        )

    symbols = decls(ex.symbols)

    def refnames(pairs):
        out = [(eng, names.get(exn, exn)) for eng, exn in pairs]
        mapped = {exn for _, exn in pairs} | {eng for eng, _ in pairs}
        out += [(old, new) for old, new in names.items() if old not in mapped]
        return tuple(out)

    def wrong(ws):
        return tuple(
            dataclasses.replace(w, answer=rename_text(w.answer, names), message=rename_text(w.message, names))
            for w in ws
        )

    stages = tuple(
        dataclasses.replace(
            st,
            lhs=rename_text(st.lhs, names),
            prompt=rename_text(st.prompt, names),
            reference_names=refnames(st.reference_names),
            wrong=wrong(st.wrong),
            symbols=decls(st.symbols),
        )
        for st in ex.stages
    )
    return dataclasses.replace(
        ex,
        id=vid,
        variant=k,
        base_id=ex.declared_id,
        declared=ex,
        symbols=symbols,
        prompt=rename_text(ex.prompt, names),
        lhs=rename_text(ex.lhs, names),
        reference_names=refnames(ex.reference_names),
        stages=stages,
        accepted=tuple(rename_text(a, names) for a in ex.accepted),
        mistakes=tuple((rename_text(a, names), c) for a, c in ex.mistakes),
        wrong=wrong(ex.wrong),
        hints=tuple(rename_text(h, names) for h in ex.hints),
    )


def stage_exercise(ex, k: int):
    """Step ``k`` of a multi-step exercise, as a formula exercise of its own."""
    st = ex.stages[k]
    return dataclasses.replace(
        ex,
        id=f"{ex.id}.{k + 1}",
        answer_type="formula",
        lhs=st.lhs,
        prompt=st.prompt,
        topic=st.topic,
        result=st.result,
        form=st.form,
        reference_names=st.reference_names or ex.reference_names,
        accepted=(),
        mistakes=(),
        symbols=st.symbols or ex.symbols,
        wrong=st.wrong,
        stages=(),
        hints=(),
        letters=(),
    )


def split_steps(answer: str) -> list[str]:
    parts = [p.strip() for p in re.split(r"[;\n]", answer or "")]
    while parts and not parts[-1]:
        parts.pop()
    return parts


def letter_names(ex) -> dict:
    """The renaming of a letter variant (declared name -> variant name); empty for other exercises."""
    if not ex.variant or not ex.letters or ex.answer_type not in ("formula", "steps"):
        return {}
    pick = next(itertools.islice(itertools.product(*ex.letters), ex.variant, None))
    return {alts[0]: new for alts, new in zip(ex.letters, pick) if new != alts[0]}


def base_exercise(ex):
    """The declared exercise a variant was made from (the exercise itself when it is not a variant)."""
    return ex.declared if ex.declared is not None else ex
