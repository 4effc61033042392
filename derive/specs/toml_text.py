"""A spec file as TOML text: its one-line errors, where each key sits, and how deep it nests.

tomllib reports neither the line of a key nor a limit on nesting; these
helpers add both without parsing twice.

>>> str(SpecError("p.toml", 3, "bad", col=7))
'p.toml:3:7: bad'
>>> _Lines(chr(10).join(['name = "x"', "[hyper]", "alpha = 1"])).of("alpha", "hyper")
3
"""

from __future__ import annotations

import re

MAX_TOML_DEPTH = 20  # nesting of TOML tables and arrays


class SpecError(ValueError):
    """A bad spec: ``str(err)`` is one line, ``path:line:col: problem``.

    ``line`` and ``col`` are 1-based and point into the file (``col`` at the
    offending character of an expression, else at the key); either may be
    unknown (``None``), and then is left out.
    """

    def __init__(self, path: str, line: int | None, problem: str, col: int | None = None):
        self.path, self.line, self.col, self.problem = path, line, col, problem
        where = path
        if line:
            where += f":{line}" + (f":{col}" if col else "")
        super().__init__(f"{where}: {_one_line(problem)}")


def _one_line(text: str) -> str:
    """Problem text as one printable line (no control characters from the spec)."""
    text = "".join(ch if ch.isprintable() else " " for ch in str(text))
    return text if len(text) <= 300 else text[:297] + "..."


def _toml():
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        try:
            import tomli as tomllib
        except ModuleNotFoundError:
            raise ValueError("reading spec files needs Python 3.11+ or the tomli package") from None
    return tomllib


class _Lines:
    """Where each key sits in the TOML text (tomllib does not report it).

    One pass over the lines at construction; every lookup is then a
    dictionary access, so a spec with thousands of keys is read in linear
    time.  Tables are told apart by name and by occurrence (the ``nth``
    ``[[claims]]``).
    """

    _HEADER = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.\-\" ]+?)\s*\]\]?\s*(#.*)?$")
    _KEY = re.compile(r"^(\s*)([A-Za-z0-9_\-]+|\"[^\"\n]*\")\s*=\s*")

    def __init__(self, text: str):
        self.lines = text.splitlines()
        self.tables: dict = {}  # (table, nth) -> line of its header
        self.keys: dict = {}  # (table, nth, key) -> (line, column of the key, column of the value)
        counts: dict = {}
        table = (None, 0)
        for k, ln in enumerate(self.lines):
            m_ = self._HEADER.match(ln)
            if m_:
                name = m_.group(1).strip()
                nth = counts.get(name, 0)
                counts[name] = nth + 1
                table = (name, nth)
                self.tables.setdefault(table, k + 1)
                continue
            m_ = self._KEY.match(ln)
            if m_:
                key = m_.group(2).strip('"')
                self.keys.setdefault((table[0], table[1], key), (k + 1, len(m_.group(1)) + 1, m_.end() + 1))

    def _table_start(self, table: str | None, nth: int = 0) -> int:
        return 0 if table is None else self.tables.get((table, nth), 0)

    def where(self, key: str, table: str | None = None, nth: int = 0):
        """``(line, column of the key, column of the value)``, or None."""
        return self.keys.get((table, nth, key))

    def of(self, key: str, table: str | None = None, nth: int = 0) -> int | None:
        hit = self.keys.get((table, nth, key))
        if hit:
            return hit[0]
        start = self._table_start(table, nth)
        return start or None

    def expr_column(self, key: str, table: str | None, nth: int, column: int | None, offset: int = 0):
        """The file column of an expression's character ``column`` (1-based).

        Exact for a one-line string value without escapes before that
        character; otherwise the column of the key.
        """
        hit = self.keys.get((table, nth, key))
        if not hit:
            return None
        line, kcol, vcol = hit
        text = self.lines[line - 1]
        if column and vcol <= len(text) and text[vcol - 1] in "\"'" and text[vcol - 1 : vcol + 2] not in ('"""', "'''"):
            before = text[vcol : vcol + offset + column - 1]
            if "\\" not in before:
                return vcol + offset + column
        return kcol


def _toml_depth(text: str) -> int:
    """The deepest nesting of brackets and braces outside strings and comments (one pass, no parsing)."""
    depth = best = 0
    quote = None
    k, n_ = 0, len(text)
    while k < n_:
        ch = text[k]
        if quote:
            if text.startswith(quote, k):
                k += len(quote)
                quote = None
                continue
            if ch == "\\" and quote in ('"', '"""'):
                k += 2
                continue
        elif ch == "#":
            nl = text.find("\n", k)
            k = n_ if nl < 0 else nl
            continue
        elif ch in "\"'":
            quote = text[k : k + 3] if text[k : k + 3] in ('"""', "'''") else ch
            k += len(quote)
            continue
        elif ch in "[{":
            depth += 1
            best = max(best, depth)
        elif ch in "]}":
            depth = max(0, depth - 1)
        k += 1
    return best


def depth_line(text: str) -> int:
    """The line on which the bracket nesting first exceeds :data:`MAX_TOML_DEPTH`."""
    depth = 0
    line = 1
    for ch in text:
        if ch == "\n":
            line += 1
        elif ch in "[{":
            depth += 1
            if depth > MAX_TOML_DEPTH:
                return line
        elif ch in "]}":
            depth = max(0, depth - 1)
    return 1


def parse_toml(text: str, path: str) -> dict:
    """A spec file's TOML text as data, every problem one :class:`SpecError`."""
    tomllib = _toml()
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise SpecError(path, line, "the file contains a NUL character; a spec is plain text")
    depth = _toml_depth(text)
    if depth > MAX_TOML_DEPTH:
        raise SpecError(path, depth_line(text), f"tables or arrays nest {depth} deep; the limit is {MAX_TOML_DEPTH}")
    try:
        data = tomllib.loads(text)
    except RecursionError:
        raise SpecError(path, None, "TOML syntax error: the file nests too deeply") from None
    except tomllib.TOMLDecodeError as err:
        msg = str(err)
        m_ = re.search(r"\(at line (\d+), column (\d+)\)", msg)
        line, col = (int(m_.group(1)), int(m_.group(2))) if m_ else (None, None)
        raise SpecError(path, line, "TOML syntax error: " + re.sub(r"\s*\(at line .*\)$", "", msg), col) from None
    return data
