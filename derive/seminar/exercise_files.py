"""Tutor exercises from TOML: formulas, steps, numeric items and choices.

Each ``[[exercise]]`` table becomes an :class:`gradproof.derive.seminar.exercises.Exercise`;
every problem is reported as ``file:line: problem``, the line being that of
the offending key (or of the exercise's header), so that a tutor can fix it
at once.

>>> import tempfile, os
>>> with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as fh:
...     _ = fh.write('[[exercise]]\\nid = "x"\\nreference = "2 x"\\nanswer_type = "essay"\\n')
>>> try:
...     load(fh.name)
... except ValueError as err:
...     print(str(err).split(": ", 1)[1])
unknown answer type 'essay' (formula, steps, numeric, choice)
>>> os.unlink(fh.name)
"""

from __future__ import annotations

import re

from gradproof.derive.seminar.exercise import (
    ANSWER_TYPES,
    PROBE_DIMS,
    Exercise,
    Given,
    Link,
    NumericProblem,
    Option,
    Slip,
    Stage,
    WrongAnswer,
)

KEYS = {
    "id",
    "title",
    "prompt",
    "lhs",
    "topic",
    "result",
    "symbols",
    "form",
    "reference_names",
    "accepted",
    "mistakes",
    "wrong",
    "auto_credit",
    "dims",
    "section",
    "forbid",
    "reference",
    "answer_type",
    "kind",  # the earlier name of answer_type, still read
    "hints",
    "steps",
    "numeric",
    "options",
    "letters",
}


class _Where:
    """Line numbers of an exercise's keys in the raw file."""

    def __init__(self, path: str, text: str):
        self.path = path
        self.lines = text.splitlines()
        self.headers = [i for i, ln in enumerate(self.lines) if re.match(r"\s*\[\[\s*exercise\s*\]\]", ln)]

    def line(self, k: int, key: str = "") -> int:
        if k >= len(self.headers):
            return 1
        start = self.headers[k]
        stop = self.headers[k + 1] if k + 1 < len(self.headers) else len(self.lines)
        if key:
            pat = re.compile(r"\s*(?:" + re.escape(key) + r"\s*=|\[+\s*exercise\." + re.escape(key) + r"\b)")
            for i in range(start, stop):
                if pat.match(self.lines[i]):
                    return i + 1
        return start + 1

    def error(self, k: int, key: str, message: str) -> ValueError:
        return ValueError(f"{self.path}:{self.line(k, key)}: {message}")


def load(path: str) -> list:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib
        except ModuleNotFoundError:
            raise ValueError("reading exercise TOML files needs Python 3.11+ or the tomli package") from None
    try:
        with open(path, "rb") as fh:
            raw = fh.read(4 * 1024 * 1024 + 1)
    except OSError as err:
        raise ValueError(f"{path}:1: cannot read the file ({err.strerror})") from None
    if len(raw) > 4 * 1024 * 1024:
        raise ValueError(f"{path}:1: larger than 4 MB")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise ValueError(f"{path}:{line}: not UTF-8 text") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        m = re.search(r"\(at line (\d+), column (\d+)\)", str(err))
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(err))
        raise ValueError(f"{path}:{m.group(1) if m else 1}: {msg}") from None
    where = _Where(path, text)
    items = data.get("exercise", [])
    if not isinstance(items, list):
        raise ValueError(f"{path}:1: 'exercise' must be a list of [[exercise]] tables")
    out = []
    seen = set()
    for k, item in enumerate(items):
        ex = _one(item, k, where, path)
        if ex.id in seen:
            raise where.error(k, "id", f"exercise {ex.id!r} declared twice")
        seen.add(ex.id)
        out.append(ex)
    return out


class _Item:
    """One ``[[exercise]]`` table being read: every problem becomes ``file:line: problem``."""

    def __init__(self, item: dict, k: int, where: _Where):
        self.item, self.k, self.where = item, k, where

    def err(self, key: str, message: str) -> ValueError:
        return self.where.error(self.k, key, message)

    def strings(self, key: str, value) -> tuple:
        if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
            raise self.err(key, f"{key} must be a list of strings")
        return tuple(value)

    def symbols(self, table, key: str = "symbols") -> tuple:
        from gradproof.derive.seminar.answers import SymbolDecl

        if not isinstance(table, dict):
            raise self.err(key, f"{key} must be a table of symbol tables")
        try:
            return tuple(
                SymbolDecl(
                    name=name,
                    shape=tuple(entry.get("shape", ())),
                    domain=entry.get("domain", "real"),
                    aliases=tuple(entry.get("aliases", ())),
                    definition=entry.get("definition", ""),
                    call_args=tuple(entry.get("call_args", ())),
                    index_range=entry.get("range", ""),
                    description=entry.get("description", ""),
                )
                for name, entry in table.items()
            )
        except (AttributeError, TypeError, ValueError) as e:
            raise self.err(key, f"symbol: {e}") from None

    def wrongs(self, lst, key: str = "wrong") -> tuple:
        try:
            return tuple(WrongAnswer(w["answer"], w["message"], float(w.get("credit", 0.0))) for w in lst)
        except (KeyError, TypeError, ValueError) as e:
            raise self.err(key, f"each wrong answer needs answer and message ({e})") from None

    def answer_type(self) -> str:
        """``answer_type`` (or ``kind``, its earlier name, still read), ``formula`` when absent."""
        given = {key: self.item[key] for key in ("answer_type", "kind") if key in self.item}
        if len(set(map(str, given.values()))) > 1:
            raise self.err("kind", "answer_type and kind (its earlier name) disagree: give answer_type only")
        value = next(iter(given.values()), "formula")
        if value not in ANSWER_TYPES:
            key = next(iter(given), "answer_type")
            raise self.err(key, f"unknown answer type {value!r} ({', '.join(ANSWER_TYPES)})")
        return value

    def topic(self) -> str:
        topic = self.item.get("topic", "")
        if topic:
            from gradproof.derive.lecture.registry import topics

            if topic not in {t.name for t in topics()}:
                raise self.err("topic", f"unknown topic {topic!r} (see `gradproof list`)")
        return topic

    def stages(self, topic: str) -> tuple:
        steps = self.item.get("steps")
        if not isinstance(steps, list) or not steps:
            raise self.err("steps", "a steps exercise needs [[exercise.steps]] tables")
        try:
            return tuple(
                Stage(
                    lhs=st["lhs"],
                    prompt=st.get("prompt", ""),
                    topic=st.get("topic", topic),
                    result=st["result"],
                    form=st.get("form", "matrix"),
                    reference_names=tuple(st.get("reference_names", {}).items()),
                    wrong=self.wrongs(st.get("wrong", []), "steps"),
                    symbols=self.symbols(st.get("symbols", {}), "steps"),
                )
                for st in steps
            )
        except (KeyError, TypeError, AttributeError) as e:
            raise self.err("steps", f"each step needs lhs and result ({e})") from None

    def numeric(self) -> NumericProblem:
        table = self.item.get("numeric")
        if not isinstance(table, dict):
            raise self.err("numeric", "a numeric item needs an [exercise.numeric] table")

        def chain(links):
            return tuple(
                Link(ln["name"], ln["topic"], ln["result"], tuple(ln.get("binds", {}).items())) for ln in links
            )

        try:
            given = tuple(
                Given(name, tuple(int(x) for x in g["shape"]), g.get("domain", "int"))
                for name, g in table["given"].items()
            )
            slips = tuple(
                Slip(sl["code"], sl["message"], chain(sl.get("chain", [])), sl.get("given", ""))
                for sl in table.get("slips", [])
            )
            out = NumericProblem(
                given=given,
                chain=chain(table["chain"]),
                scalars=tuple((k2, str(v)) for k2, v in table.get("scalars", {}).items()),
                slips=slips,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise self.err(
                "numeric",
                f"numeric items need given (name = {{ shape = [r, c] }}) and a chain of "
                f"{{ name, topic, result, binds }} ({e})",
            ) from None
        for g in given:
            if (
                g.domain not in ("int", "half", "prob", "binary")
                or len(g.shape) != 2
                or not all(1 <= x <= 6 for x in g.shape)
            ):
                raise self.err(
                    "numeric",
                    f"given {g.name}: shape must be [rows, cols] up to 6 x 6 and domain one of int, half, prob, binary",
                )
        return out

    def options(self) -> tuple:
        try:
            options = tuple(
                Option(o["key"], o["text"], bool(o.get("correct", False)), o["explanation"], o.get("code", ""))
                for o in self.item.get("options", [])
            )
        except (KeyError, TypeError) as e:
            raise self.err("options", f"each option needs key, text and explanation ({e})") from None
        if sum(o.correct for o in options) != 1:
            raise self.err("options", "a choice item needs options with exactly one correct = true")
        return options

    def letters(self) -> tuple:
        letters = self.item.get("letters", {})
        if not isinstance(letters, dict) or not all(
            isinstance(v, list) and all(isinstance(x, str) for x in v) for v in letters.values()
        ):
            raise self.err("letters", "letters must be a table: name = [other letters...]")
        return tuple((name, *alts) for name, alts in letters.items())

    def mistakes(self) -> tuple:
        mistakes = self.item.get("mistakes", [])
        if not isinstance(mistakes, list) or not all(isinstance(m, list) and len(m) == 2 for m in mistakes):
            raise self.err("mistakes", "mistakes must be a list of [answer, mistake code] pairs")
        return tuple(tuple(m) for m in mistakes)

    def dims(self) -> tuple:
        try:
            return tuple((k2, int(v)) for k2, v in self.item.get("dims", dict(PROBE_DIMS)).items())
        except (AttributeError, TypeError, ValueError):
            raise self.err("dims", "dims must be a table of whole numbers, e.g. { m = 5, n = 3 }") from None


def _one(item: dict, k: int, where: _Where, path: str) -> Exercise:
    r = _Item(item, k, where)
    unknown = sorted(set(item) - KEYS)
    if unknown:
        raise r.err(unknown[0], f"unknown key {unknown[0]!r} (known: {', '.join(sorted(KEYS))})")
    if (
        "id" not in item
        or not isinstance(item["id"], str)
        or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,63}", item["id"])
    ):
        raise r.err("id", "every exercise needs an id: a letter, then letters, digits or _ (at most 64)")
    answer_type = r.answer_type()
    topic = r.topic()
    dims = r.dims()
    try:
        ex = Exercise(
            id=item["id"],
            title=item.get("title", item["id"]),
            prompt=item.get("prompt", ""),
            lhs=item.get("lhs", "the answer"),
            topic=topic,
            result=item.get("result", ""),
            symbols=r.symbols(item.get("symbols", {})),
            form=item.get("form", "matrix"),
            reference_names=tuple(item.get("reference_names", {}).items()),
            accepted=r.strings("accepted", item.get("accepted", [])),
            wrong=r.wrongs(item.get("wrong", [])),
            mistakes=r.mistakes(),
            auto_credit=float(item.get("auto_credit", 0.0)),
            dims=dims,
            section=item.get("section", "Tutor exercises"),
            forbid=r.strings("forbid", item.get("forbid", [])),
            reference_text=item.get("reference", ""),
            source=path,
            answer_type=answer_type,
            hints=r.strings("hints", item.get("hints", [])),
            stages=r.stages(topic) if answer_type == "steps" else (),
            numeric=r.numeric() if answer_type == "numeric" else None,
            options=r.options() if answer_type == "choice" else (),
            letters=r.letters(),
        )
    except (TypeError, ValueError) as e:
        if isinstance(e, ValueError) and str(e).startswith(f"{where.path}:"):
            raise
        raise r.err("", str(e)) from None
    if answer_type == "formula" and not ex.topic and not ex.reference_text:
        raise r.err("", "give either topic + result or a reference formula")
    if answer_type == "formula" and ex.topic and not ex.result:
        raise r.err("topic", "a topic needs a result key (see `gradproof derive TOPIC --format json`)")
    return ex
