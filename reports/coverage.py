"""Lecture coverage: each slide's statements with the status their verification earned.

The statements are data (:mod:`gradproof.derive.lecture.statements`); the status of
each is computed here from the registry's derivations (exact proofs of the
statement's result key) and the numerical checks (:mod:`gradproof.reports.verify`),
never typed by hand:

* ``proved``: every exact proof of the key passed (at least one exists);
* ``checked numerically``: every numerical check of the topic passed;
* ``remark``: no topic verifies it, and the statement says why;
* ``FAILED``: a proof or check failed; ``not verified``: the topic or key
  has no proof or check (a gap in the data, which the tests refuse).

Each erratum any topic records is placed once, on the statement of its
slide that it is about (:func:`_place_errata`).

``python -m gradproof.reports.coverage --write`` (or ``gradproof coverage --write``)
regenerates ``docs/lecture-coverage.md``; a test fails when it is stale.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path

PROVED, NUMERIC, REMARK, FAILED, MISSING = "proved", "checked numerically", "remark", "FAILED", "not verified"
DOC = Path(__file__).resolve().parent.parent / "docs" / "lecture-coverage.md"


@dataclass(frozen=True)
class Row:
    """One statement with its computed status."""

    slide: str
    text: str
    topic: str
    key: str
    status: str
    detail: str = ""  # what the status rests on (number of proofs or checks), or the remark's reason
    errata: tuple = ()  # gradproof.derive.engine.derivation.Erratum of the topic on this slide
    tex: str = ""  # the statement for the page: words, formulas as LaTeX between dollar signs

    @property
    def verified(self) -> bool:
        return self.status in (PROVED, NUMERIC)


def _proofs_for(d, key: str) -> list:
    from gradproof.derive.lecture.statements import EVERY_RESULT

    if key == EVERY_RESULT:
        return list(d.proofs)
    return [p for p in d.proofs if p.key in (key, "claim:" + key)]


def key_words(key: str) -> str:
    """A statement's result key as shown: the key, or "every result" for a whole topic."""
    from gradproof.derive.lecture.statements import EVERY_RESULT

    return "every result" if key == EVERY_RESULT else key


def status_rows(derivations: dict, numeric: dict, statements=None) -> list[Row]:
    """Rows for ``statements`` (default: the whole lecture).

    ``derivations`` maps topic names to :class:`gradproof.derive.engine.derivation.Derivation`
    (or ``None`` when deriving failed); ``numeric`` maps topic names to their
    numerical check records (objects with ``passed``).
    """
    from gradproof.derive.lecture.statements import STATEMENTS

    statements = STATEMENTS if statements is None else statements
    placed = _place_errata(derivations, statements)
    rows = []
    for n, st in enumerate(statements):
        if not st.topic:
            rows.append(Row(st.slide, st.text, "", "", REMARK, st.reason, placed.get(n, ()), st.tex))
            continue
        d = derivations.get(st.topic)
        errata = placed.get(n, ())
        if d is None:
            rows.append(
                Row(st.slide, st.text, st.topic, st.key, FAILED, "the topic could not be derived", errata, st.tex)
            )
            continue
        if st.evidence == "numeric":
            recs = list(numeric.get(st.topic, ()))
            if not recs:
                status, detail = MISSING, "no numerical check"
            elif all(r.passed for r in recs):
                status, detail = NUMERIC, f"{_count(len(recs), 'numerical check')} passed"
            else:
                status, detail = FAILED, f"{sum(not r.passed for r in recs)} of {len(recs)} numerical checks failed"
        else:
            proofs = _proofs_for(d, st.key)
            if not proofs:
                status, detail = MISSING, f"no exact proof of {st.key!r}"
            elif all(p.passed for p in proofs):
                status, detail = PROVED, f"{_count(len(proofs), 'exact proof')} of {key_words(st.key)} passed"
            else:
                status, detail = FAILED, f"{sum(not p.passed for p in proofs)} of {len(proofs)} exact proofs failed"
        rows.append(Row(st.slide, st.text, st.topic, st.key, status, detail, errata, st.tex))
    return rows


def _words(text: str) -> set:
    return {w for w in "".join(c.lower() if c.isalnum() else " " for c in text).split() if len(w) > 2}


def _place_errata(derivations: dict, statements) -> dict:
    """Each erratum of any topic, placed once: on the statement of its slide it is about.

    Preference: a statement of the erratum's own topic on that slide, then the
    statement whose words overlap most with what the erratum quotes, then the
    slide's first statement.
    """
    placed: dict = {}
    seen = set()
    for topic in sorted(k for k, v in derivations.items() if v is not None):
        for e in getattr(derivations[topic], "errata", ()):
            if (e.slide, e.lecture, e.correction) in seen:
                continue
            on_slide = [k for k, st in enumerate(statements) if st.slide == e.slide]
            if not on_slide:
                continue
            seen.add((e.slide, e.lecture, e.correction))
            quoted = _words(e.lecture)
            best = max(
                on_slide, key=lambda k: (statements[k].topic == topic, len(quoted & _words(statements[k].text)), -k)
            )
            placed[best] = placed.get(best, ()) + (e,)
    return placed


def _count(k: int, noun: str) -> str:
    return f"{k} {noun}{'' if k == 1 else 's'}"


def compute_rows(jobs: int | None = None) -> list[Row]:
    """Derive every topic the statements name and run their numerical checks."""
    from gradproof.derive.lecture.registry import derive_many
    from gradproof.derive.lecture.statements import STATEMENTS
    from gradproof.reports.errata import attach
    from gradproof.reports.verify import stats_records

    names = list(dict.fromkeys(s.topic for s in STATEMENTS if s.topic))
    # the errata as the report shows them: derive-side and measured
    derivations = {n: attach(d) for n, d in zip(names, derive_many(names, jobs=jobs))}
    numeric = {
        t: stats_records(t) for t in dict.fromkeys(s.topic for s in STATEMENTS if s.evidence == "numeric" and s.topic)
    }
    return status_rows(derivations, numeric)


@dataclass
class Summary:
    total: int = 0
    counts: dict = field(default_factory=dict)

    @property
    def verified(self) -> int:
        return self.counts.get(PROVED, 0) + self.counts.get(NUMERIC, 0)


def summarize(rows) -> Summary:
    s = Summary(total=len(rows))
    for r in rows:
        s.counts[r.status] = s.counts.get(r.status, 0) + 1
    return s


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(rows) -> str:
    """docs/lecture-coverage.md: deterministic text, slide by slide."""
    s = summarize(rows)
    out = [
        "# Lecture coverage",
        "",
        "<!-- generated by `python -m gradproof.reports.coverage --write` (or `gradproof coverage --write`) "
        "from the registry and its verification: do not edit by hand -->",
        "",
        "Each statement of the lecture, slide by slide (titles as the lecture text writes them), with the "
        "status its verification earned: *proved* (every exact proof of the result passed), *checked "
        "numerically* (every numerical check of the topic passed), or *remark* (not a verifiable "
        "statement; the reason is given).",
        "",
        f"**{s.total} statements: {s.counts.get(PROVED, 0)} proved, {s.counts.get(NUMERIC, 0)} checked "
        f"numerically, {s.counts.get(REMARK, 0)} remarks"
        + "".join(f", {s.counts[k]} {k}" for k in (FAILED, MISSING) if s.counts.get(k))
        + ".**",
        "",
    ]
    slide = None
    for r in rows:
        if r.slide != slide:
            slide = r.slide
            out += ["", f"## {slide}", "", "| statement | status | topic | evidence |", "|---|---|---|---|"]
        topic = f"`{r.topic}`" + (f" ({key_words(r.key)})" if r.key else "") if r.topic else "-"
        status = r.status + (" (the correction: the slide is wrong, see below)" if r.errata else "")
        out.append(f"| {_cell(r.text)} | {status} | {topic} | {_cell(r.detail)} |")
        for e in r.errata:
            out.append(
                f"| *erratum*: {_cell(e.correction)} | {'evidence obtained' if e.passed else 'evidence MISSING'}"
                f" | `{r.topic}` | {_cell('; '.join(e.evidence))} |"
            )
    return "\n".join(out) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m gradproof.reports.coverage", description="the lecture's statements with their verified status"
    )
    p.add_argument("--write", action="store_true", help=f"rewrite {DOC.relative_to(DOC.parent.parent)}")
    p.add_argument("--check", action="store_true", help="exit 1 when the file is stale")
    args = p.parse_args(argv)
    if (args.write or args.check) and not (DOC.parent.parent / "pyproject.toml").is_file():
        print(f"{DOC.parent} is not a gradproof checkout's docs folder: run this from a checkout", file=sys.stderr)
        return 2
    text = render_markdown(compute_rows())
    if args.write:
        from gradproof.derive.support.atomic import write_atomic

        write_atomic(DOC, text)
        print(f"wrote {DOC}")
    elif args.check:
        current = DOC.read_text(encoding="utf-8") if DOC.is_file() else ""
        if current != text:
            print(f"{DOC} is stale: run python -m gradproof.reports.coverage --write", file=sys.stderr)
            return 1
        print(f"{DOC} is up to date")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
