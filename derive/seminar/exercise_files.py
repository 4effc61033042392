"""Tutor exercises from TOML: formulas, steps, numeric items and choices.

Each ``[[exercise]]`` table becomes an :class:`gradproof.derive.seminar.exercises.Exercise`;
every problem is reported as ``file:line: problem``, the line being that of
the offending key (or of the exercise's header), so that a tutor can fix it
at once.

>>> import tempfile, os
>>> with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as fh:
...     _ = fh.write('[[exercise]]\\nid = "x"\\nreference = "2 x"\\nkind = "essay"\\n')
>>> try:
...     load(fh.name)
... except ValueError as err:
...     print(str(err).split(": ", 1)[1])
unknown kind 'essay' (formula, steps, numeric, choice)
>>> os.unlink(fh.name)
"""

from __future__ import annotations

import re

KINDS = ("formula", "steps", "numeric", "choice")
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
    "kind",
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


def _one(item: dict, k: int, where: _Where, path: str):
    from gradproof.derive.seminar.answers import SymbolDecl
    from gradproof.derive.seminar.exercise_kinds import Given, Link, NumericSpec, Option, Slip, Stage
    from gradproof.derive.seminar.exercises import PROBE_DIMS, Exercise, WrongAnswer

    def err(key, message):
        return where.error(k, key, message)

    unknown = sorted(set(item) - KEYS)
    if unknown:
        raise err(unknown[0], f"unknown key {unknown[0]!r} (known: {', '.join(sorted(KEYS))})")
    if (
        "id" not in item
        or not isinstance(item["id"], str)
        or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,63}", item["id"])
    ):
        raise err("id", "every exercise needs an id: a letter, then letters, digits or _ (at most 64)")
    kind = item.get("kind", "formula")
    if kind not in KINDS:
        raise err("kind", f"unknown kind {kind!r} ({', '.join(KINDS)})")
    topic = item.get("topic", "")
    if topic:
        from gradproof.derive.lecture.registry import topics

        if topic not in {t.name for t in topics()}:
            raise err("topic", f"unknown topic {topic!r} (see `gradproof list`)")

    def strings(key, value):
        if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
            raise err(key, f"{key} must be a list of strings")
        return tuple(value)

    def symbols_of(table, key="symbols"):
        if not isinstance(table, dict):
            raise err(key, f"{key} must be a table of symbol tables")
        try:
            return tuple(
                SymbolDecl(
                    name=name,
                    shape=tuple(spec.get("shape", ())),
                    domain=spec.get("domain", "real"),
                    aliases=tuple(spec.get("aliases", ())),
                    definition=spec.get("definition", ""),
                    call_args=tuple(spec.get("call_args", ())),
                    index_range=spec.get("range", ""),
                    description=spec.get("description", ""),
                )
                for name, spec in table.items()
            )
        except (AttributeError, TypeError, ValueError) as e:
            raise err(key, f"symbol: {e}") from None

    def wrongs(lst, key="wrong"):
        try:
            return tuple(WrongAnswer(w["answer"], w["message"], float(w.get("credit", 0.0))) for w in lst)
        except (KeyError, TypeError, ValueError) as e:
            raise err(key, f"each wrong answer needs answer and message ({e})") from None

    try:
        dims = tuple((k2, int(v)) for k2, v in item.get("dims", dict(PROBE_DIMS)).items())
    except (AttributeError, TypeError, ValueError):
        raise err("dims", "dims must be a table of whole numbers, e.g. { m = 5, n = 3 }") from None
    stages = ()
    if kind == "steps":
        steps = item.get("steps")
        if not isinstance(steps, list) or not steps:
            raise err("steps", "a steps exercise needs [[exercise.steps]] tables")
        try:
            stages = tuple(
                Stage(
                    lhs=st["lhs"],
                    prompt=st.get("prompt", ""),
                    topic=st.get("topic", topic),
                    result=st["result"],
                    form=st.get("form", "matrix"),
                    reference_names=tuple(st.get("reference_names", {}).items()),
                    wrong=wrongs(st.get("wrong", []), "steps"),
                    symbols=symbols_of(st.get("symbols", {}), "steps"),
                )
                for st in steps
            )
        except (KeyError, TypeError, AttributeError) as e:
            raise err("steps", f"each step needs lhs and result ({e})") from None
    numeric = None
    if kind == "numeric":
        spec = item.get("numeric")
        if not isinstance(spec, dict):
            raise err("numeric", "a numeric item needs an [exercise.numeric] table")
        try:
            given = tuple(
                Given(name, tuple(int(x) for x in g["shape"]), g.get("domain", "int"))
                for name, g in spec["given"].items()
            )
            chain = tuple(
                Link(ln["name"], ln["topic"], ln["result"], tuple(ln.get("binds", {}).items())) for ln in spec["chain"]
            )
            slips = tuple(
                Slip(
                    sl["code"],
                    sl["message"],
                    tuple(
                        Link(ln["name"], ln["topic"], ln["result"], tuple(ln.get("binds", {}).items()))
                        for ln in sl.get("chain", [])
                    ),
                    sl.get("given", ""),
                )
                for sl in spec.get("slips", [])
            )
            numeric = NumericSpec(
                given=given,
                chain=chain,
                scalars=tuple((k2, str(v)) for k2, v in spec.get("scalars", {}).items()),
                slips=slips,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise err(
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
                raise err(
                    "numeric",
                    f"given {g.name}: shape must be [rows, cols] up to 6 x 6 and domain one of int, half, prob, binary",
                )
    options = ()
    if kind == "choice":
        try:
            options = tuple(
                Option(o["key"], o["text"], bool(o.get("correct", False)), o["explanation"], o.get("code", ""))
                for o in item.get("options", [])
            )
        except (KeyError, TypeError) as e:
            raise err("options", f"each option needs key, text and explanation ({e})") from None
        if sum(o.correct for o in options) != 1:
            raise err("options", "a choice item needs options with exactly one correct = true")
    letters = item.get("letters", {})
    if not isinstance(letters, dict) or not all(
        isinstance(v, list) and all(isinstance(x, str) for x in v) for v in letters.values()
    ):
        raise err("letters", "letters must be a table: name = [other letters...]")
    mistakes = item.get("mistakes", [])
    if not isinstance(mistakes, list) or not all(isinstance(m, list) and len(m) == 2 for m in mistakes):
        raise err("mistakes", "mistakes must be a list of [answer, mistake code] pairs")
    try:
        ex = Exercise(
            id=item["id"],
            title=item.get("title", item["id"]),
            prompt=item.get("prompt", ""),
            lhs=item.get("lhs", "the answer"),
            topic=topic,
            result=item.get("result", ""),
            symbols=symbols_of(item.get("symbols", {})),
            form=item.get("form", "matrix"),
            reference_names=tuple(item.get("reference_names", {}).items()),
            accepted=strings("accepted", item.get("accepted", [])),
            wrong=wrongs(item.get("wrong", [])),
            mistakes=tuple(tuple(m) for m in mistakes),
            auto_credit=float(item.get("auto_credit", 0.0)),
            dims=dims,
            section=item.get("section", "Tutor exercises"),
            forbid=strings("forbid", item.get("forbid", [])),
            reference_text=item.get("reference", ""),
            source=path,
            kind=kind,
            hints=strings("hints", item.get("hints", [])),
            stages=stages,
            numeric=numeric,
            options=options,
            letters=tuple((name, *alts) for name, alts in letters.items()),
        )
    except (TypeError, ValueError) as e:
        raise err("", str(e)) from None
    if kind == "formula" and not ex.topic and not ex.reference_text:
        raise err("", "give either topic + result or a reference formula")
    if kind == "formula" and ex.topic and not ex.result:
        raise err("topic", "a topic needs a result key (see `gradproof derive TOPIC --format json`)")
    return ex
