"""A small structured emitter: generated source as nested objects, never string surgery.

A :class:`Function` holds its signature, its docstring lines and a body of
statements; a statement is a line of code (a ``str``) or a :class:`Block`
(a header such as ``with ...:`` and its own body).  Indentation comes from
nesting alone.  A :class:`ModuleSource` lays out the whole file: the module
docstring, the imports, the constants, the helpers and the functions, two
blank lines between top-level items.

>>> f = Function("forward", "z", ["Forward message: Z^{l+1} = relu(Z)"], ["return np.maximum(z, 0)"])
>>> print("\\n".join(f.render()))
def forward(z):
    \"\"\"Forward message: Z^{l+1} = relu(Z)\"\"\"
    return np.maximum(z, 0)
>>> print("\\n".join(f.guarded(Block("with np.errstate():", [])).render()[2:]))
    with np.errstate():
        return np.maximum(z, 0)
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

INDENT = "    "


@dataclass(frozen=True)
class Block:
    """``header:`` followed by its body, one level deeper."""

    header: str
    body: list = field(default_factory=list)

    def render(self, depth: int) -> list[str]:
        return [INDENT * depth + self.header, *render_body(self.body, depth + 1)]


def render_body(body, depth: int) -> list[str]:
    lines: list[str] = []
    for statement in body:
        if isinstance(statement, Block):
            lines += statement.render(depth)
        else:
            lines.append(INDENT * depth + statement)
    return lines


@dataclass(frozen=True)
class Function:
    """``def name(signature):`` with a docstring (its lines, already escaped) and a body."""

    name: str
    signature: str
    doc: list[str]
    body: list

    def guarded(self, guard: Block) -> Function:
        """The same function with its body run inside ``guard`` (e.g. ``np.errstate``)."""
        return replace(self, body=[replace(guard, body=list(self.body))])

    def render(self) -> list[str]:
        lines = [f"def {self.name}({self.signature}):"]
        if len(self.doc) == 1:
            lines.append(f'{INDENT}"""{self.doc[0]}"""')
        else:
            first, *more = self.doc
            lines.append(f'{INDENT}"""{first}')
            lines += [INDENT + x if x else "" for x in more]
            lines.append(f'{INDENT}"""')
        return lines + render_body(self.body, 1)


@dataclass(frozen=True)
class ModuleSource:
    """A generated module: docstring, imports, constants, helper sources, functions."""

    docstring: str  # the literal's text, already escaped
    imports: list[str]
    constants: list[tuple[str, str]]  # (NAME, Python literal)
    helpers: list[str]  # source of each helper function
    functions: list[Function]

    def render(self) -> str:
        head = '"""' + self.docstring + '"""\n' + "\n".join(self.imports)
        items = [head, "\n".join(f"{name} = {value}" for name, value in self.constants)]
        items += [h.strip("\n").rstrip() for h in self.helpers]
        items += ["\n".join(f.render()) for f in self.functions]
        return "\n\n\n".join(items) + "\n"


def doc_escape(line: str) -> str:
    """One docstring line with every character that could end or bend the literal escaped.

    Backslashes are doubled and quotes escaped, so no text can close the
    docstring or start an escape of its own (``\\N{...}`` stays text); any
    character outside printable ASCII (line and paragraph separators, bidi
    controls, letters such as sigma) is written as its ``\\u`` escape, which
    Python reads back as the same character.
    """
    out = []
    for ch in line:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif " " <= ch <= "~":
            out.append(ch)
        else:
            out.append(ch.encode("unicode_escape").decode("ascii"))
    return "".join(out)
