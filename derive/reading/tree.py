"""The one typed tree every piece of mathematics is parsed into.

Every node is a frozen dataclass with a fixed meaning; nothing in it is ever
evaluated as Python.  :func:`build` turns the parse tree of
:mod:`gradproof.derive.reading.grammar` into these nodes; the one converter
(:mod:`gradproof.derive.reading.convert`) turns them, by calling
constructors, into SymPy and matrix expressions (seminar answers, matrix
claims), index form (spec files, index claims) or a shaped matrix tree
(``diff`` expressions).

>>> from gradproof.derive.reading.grammar import parser
>>> build(parser().parse("2*(z - y)"))
Mul(op='*', left=Num(text='2'), right=Group(arg=Sub(left=Name(base='z', sub=''), right=Name(base='y', sub=''))))
"""

from __future__ import annotations

from dataclasses import dataclass

from lark import Token


class Node:
    """Base class of answer-tree nodes."""

    def children(self) -> tuple[Node, ...]:
        return ()


@dataclass(frozen=True)
class Num(Node):
    text: str


@dataclass(frozen=True)
class Name(Node):
    """A name as typed: ``base`` without LaTeX backslash, ``sub`` the subscript."""

    base: str
    sub: str = ""

    @property
    def full(self) -> str:
        return self.base + ("_" + self.sub if self.sub else "")


@dataclass(frozen=True)
class Group(Node):
    """Explicit parentheses or braces: kept, because they settle ambiguities."""

    arg: Node

    def children(self):
        return (self.arg,)


@dataclass(frozen=True)
class Neg(Node):
    arg: Node

    def children(self):
        return (self.arg,)


@dataclass(frozen=True)
class Add(Node):
    left: Node
    right: Node

    def children(self):
        return (self.left, self.right)


@dataclass(frozen=True)
class Sub(Node):
    left: Node
    right: Node

    def children(self):
        return (self.left, self.right)


@dataclass(frozen=True)
class Mul(Node):
    """A product; ``op`` is how it was written: ``*``, ``@``, ``.*`` or ``juxt``."""

    op: str
    left: Node
    right: Node

    def children(self):
        return (self.left, self.right)


@dataclass(frozen=True)
class Div(Node):
    left: Node
    right: Node
    frac: bool = False  # written \frac{..}{..}: both parts are grouped
    elementwise: bool = False  # written ./

    def children(self):
        return (self.left, self.right)


@dataclass(frozen=True)
class Pow(Node):
    base: Node
    exp: Node

    def children(self):
        return (self.base, self.exp)


@dataclass(frozen=True)
class Transpose(Node):
    arg: Node

    def children(self):
        return (self.arg,)


@dataclass(frozen=True)
class Call(Node):
    func: str
    args: tuple[Node, ...]

    def children(self):
        return self.args


@dataclass(frozen=True)
class Iverson(Node):
    """``[[a = b]]``: 1 if the two indices are equal, else 0; ``[[Z > 0]]`` (``op`` the relation) entrywise."""

    left: Node
    right: Node
    op: str = "="

    def children(self):
        return (self.left, self.right)


@dataclass(frozen=True)
class Kronecker(Node):
    """``delta_{jk}`` / ``\\delta_{j,k}``: 1 if the indices are equal, else 0 (``[[j = k]]``).

    ``indices`` as typed (the grammar lets any number through; readers refuse
    all but two); ``sub`` is the subscript as typed, so that a reader whose
    vocabulary names an array ``delta`` can read it as that array's entry.
    """

    indices: tuple[str, ...]
    sub: str = ""


@dataclass(frozen=True)
class Norm(Node):
    """``||x||``; ``subscript`` is the subscript as typed: ``""``, ``"2"``, ``"1"`` or ``"F"``."""

    arg: Node
    subscript: str = ""

    def children(self):
        return (self.arg,)


@dataclass(frozen=True)
class Tuple(Node):
    """``(a, b)``: several expressions in one bracket, as after a function name."""

    items: tuple[Node, ...]

    def children(self):
        return self.items


@dataclass(frozen=True)
class Ones(Node):
    """The ones vector, ``\\mathbf{1}``."""


@dataclass(frozen=True)
class Indexed(Node):
    """An array entry in index notation, ``W[i, j]``."""

    base: str
    indices: tuple[str, ...]


@dataclass(frozen=True)
class IndexSum(Node):
    """The lecture's ``sum_i body`` (``\\sum_{i=1}^{m}``): ``upper`` is the bound as typed, if any."""

    index: str
    body: Node
    upper: str = ""

    def children(self):
        return (self.body,)


@dataclass(frozen=True)
class Rel(Node):
    """A comparison in a piecewise condition, ``s > 0``."""

    op: str
    left: Node
    right: Node

    def children(self):
        return (self.left, self.right)


@dataclass(frozen=True)
class And(Node):
    left: Node
    right: Node

    def children(self):
        return (self.left, self.right)


@dataclass(frozen=True)
class Always(Node):
    """The default branch's condition, ``True`` / ``otherwise``."""


@dataclass(frozen=True)
class Piecewise(Node):
    """``Piecewise((value, condition), ...)``: children alternate value, condition."""

    parts: tuple[Node, ...]

    def children(self):
        return self.parts


# LaTeX wrappers that only change the typeface, or mark a hat.
_HAT = {"hat"}


def _name_token(tok: str) -> Node:
    text = tok.lstrip("\\")
    base, _, sub = text.partition("_")
    if sub.startswith("{") and sub.endswith("}"):
        sub = sub[1:-1]
        for wrapper in ("\\text{", "\\mathrm{", "\\rm{"):
            if sub.startswith(wrapper) and sub.endswith("}"):
                sub = sub[len(wrapper) : -1]
    indices = kronecker_indices(base, sub)
    if indices is not None:
        return Kronecker(indices, sub.replace(" ", ""))
    return Name(base, sub.replace(" ", ""))


def kronecker_indices(base: str, sub: str) -> tuple[str, ...] | None:
    """The indices of a Kronecker delta ``delta_{jk}``, ``delta_{j,k}``, ``delta_jk`` (else None).

    One index (``delta_k``) is a name: the lecture's backpropagated message.
    """
    if base != "delta":
        return None
    parts = [p.strip() for p in sub.split(",")] if "," in sub else list(sub.replace(" ", ""))
    if len(parts) < 2 or not all(len(p) == 1 and p.isalpha() and p.islower() for p in parts):
        return None
    return tuple(parts)


def build(tree, spans: dict | None = None) -> Node:
    """Turn a lark parse tree into typed nodes (iteratively: no recursion limit).

    ``spans``, when given, receives ``id(node) -> (start, end)``: where each
    node stands in the text, for error columns and messages quoting it.
    """
    # Post-order walk with an explicit stack so that deep input cannot
    # exhaust the Python stack; depth is limited separately anyway.
    stack = [(tree, False)]
    out: list = []
    while stack:
        t, done = stack.pop()
        if isinstance(t, Token) or t is None:
            out.append(t)
            continue
        if not done:
            stack.append((t, True))
            for c in reversed(t.children):
                stack.append((c, False))
            continue
        n = len(t.children)
        kids = out[len(out) - n :] if n else []
        del out[len(out) - n :]
        node = _make(t.data, kids)
        if spans is not None and not t.meta.empty:
            spans[id(node)] = (t.meta.start_pos, t.meta.end_pos)
        out.append(node)
    return out[0]


def _make(rule: str, kids: list) -> Node:
    nodes = [k for k in kids if isinstance(k, Node)]
    if rule == "number":
        return Num(str(kids[0]))
    if rule == "name":
        return _name_token(str(kids[0]))
    if rule == "wrap":
        wrapper = str(kids[0]).lstrip("\\")
        name = _name_token(str(kids[1]))
        if wrapper in _HAT and isinstance(name, Name):
            return Name(name.base + "hat", name.sub)
        return name
    if rule == "group":
        return Group(nodes[0])
    if rule == "neg":
        return Neg(nodes[0])
    if rule == "add":
        return Add(*nodes)
    if rule == "sub":
        return Sub(*nodes)
    if rule == "star":
        return Mul("*", nodes[0], nodes[1])
    if rule == "matmul":
        return Mul("@", *nodes)
    if rule == "hadamard":
        return Mul(".*", nodes[0], nodes[1])
    if rule == "juxt":
        return Mul("juxt", *nodes)
    if rule == "div":
        return Div(*nodes)
    if rule == "frac":
        return Div(Group(nodes[0]), Group(nodes[1]), frac=True)
    if rule == "pow":
        return Pow(nodes[0], nodes[1])
    if rule == "transpose":
        return Transpose(nodes[0])
    if rule == "call":
        func = str(kids[0]).lstrip("\\")
        for wrapper in ("operatorname{", "mathrm{"):
            if func.startswith(wrapper):
                func = func[len(wrapper) : -1]
        return Call(func, tuple(k for k in kids[1:] if isinstance(k, Node)))
    if rule == "sqrt":
        return Call("sqrt", (nodes[0],))
    if rule == "iverson":
        rel = next((str(k) for k in kids if isinstance(k, Token) and k.type == "REL"), "=")
        return Iverson(nodes[0], nodes[1], rel)
    if rule == "norm":
        sub = str(kids[-1]) if isinstance(kids[-1], Token) and kids[-1].type == "NORMSUB" else ""
        return Norm(nodes[0], sub.strip("_{} "))
    return _make_more(rule, kids, nodes)


def _make_more(rule: str, kids: list, nodes: list) -> Node:
    if rule == "ones":
        return Ones()
    if rule == "tuple":
        return Tuple(tuple(nodes))
    if rule == "invtranspose":
        return Transpose(Pow(nodes[0], Neg(Num("1"))))
    if rule == "juxtsum":
        return Mul("juxt", nodes[0], _make_more("isum", kids[1:], nodes[1:]))
    if rule == "isum":
        tok = str(kids[0])
        body = tok.split("_", 1)[1]
        index = body.strip("{ ")[0]
        upper = body.partition("^")[2].strip("{} ")
        return IndexSum(index, nodes[0], upper)
    if rule == "indexed":
        return Indexed(str(kids[0])[:-1], tuple(str(k) for k in kids[1:]))
    if rule == "ediv":
        return Div(nodes[0], nodes[1], elementwise=True)
    if rule == "piecewise":
        return Piecewise(tuple(x for p in nodes for x in p.children()))
    if rule == "piece":
        return _Piece(tuple(nodes))
    if rule == "rel":
        return Rel(str(kids[1]), nodes[0], nodes[1])
    if rule == "and_":
        return And(nodes[0], nodes[1])
    if rule == "true":
        return Always()
    raise ValueError(f"internal: unknown parse node {rule!r}")  # grammar and builder disagree


@dataclass(frozen=True)
class _Piece(Node):
    """One ``(value, condition)`` pair while building (flattened into :class:`Piecewise`)."""

    pair: tuple

    def children(self):
        return self.pair


def walk(node: Node):
    """Every node, parents before children (iterative)."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(n.children()))


def depth(node: Node) -> int:
    """Nesting depth of the tree (iterative)."""
    best = 0
    stack = [(node, 1)]
    while stack:
        n, d = stack.pop()
        best = max(best, d)
        stack.extend((c, d + 1) for c in n.children())
    return best


def source(node: Node) -> str:
    """The tree written back in plain answer syntax (for messages about what was typed)."""
    n = node
    if isinstance(n, Num):
        return n.text
    if isinstance(n, Name):
        return n.full
    if isinstance(n, Group):
        return "(" + source(n.arg) + ")"
    if isinstance(n, Neg):
        return "-" + source(n.arg)
    if isinstance(n, Add):
        return source(n.left) + " + " + source(n.right)
    if isinstance(n, Sub):
        return source(n.left) + " - " + source(n.right)
    if isinstance(n, Mul):
        op = " " if n.op == "juxt" else f" {n.op} "
        return source(n.left) + op + source(n.right)
    if isinstance(n, Div):
        return source(n.left) + ("./" if n.elementwise else "/") + source(n.right)
    if isinstance(n, Pow):
        return source(n.base) + "^" + source(n.exp)
    if isinstance(n, Transpose):
        return source(n.arg) + "^T"
    if isinstance(n, Call):
        return n.func + "(" + ", ".join(source(a) for a in n.args) + ")"
    if isinstance(n, Iverson):
        return "[[" + source(n.left) + f" {n.op} " + source(n.right) + "]]"
    if isinstance(n, Kronecker):
        return "delta_{" + "".join(n.indices) + "}"
    if isinstance(n, Norm):
        return "||" + source(n.arg) + "||" + ("_" + n.subscript if n.subscript else "")
    return _source_more(n)


def _source_more(n: Node) -> str:
    if isinstance(n, Ones):
        return "1"
    if isinstance(n, Tuple):
        return "(" + ", ".join(source(a) for a in n.items) + ")"
    if isinstance(n, Indexed):
        return n.base + "[" + ", ".join(n.indices) + "]"
    if isinstance(n, IndexSum):
        return f"sum_{n.index} " + source(n.body)
    if isinstance(n, Rel):
        return source(n.left) + f" {n.op} " + source(n.right)
    if isinstance(n, And):
        return source(n.left) + " & " + source(n.right)
    if isinstance(n, Always):
        return "True"
    if isinstance(n, Piecewise):
        pairs = zip(n.parts[0::2], n.parts[1::2])
        return "Piecewise(" + ", ".join(f"({source(v)}, {source(c)})" for v, c in pairs) + ")"
    return "?"


def ambiguous_division(node: Div) -> str | None:
    """Why ``a/b c`` cannot be read, or ``None`` when the division is unambiguous.

    A divisor written without brackets and followed by more factors
    (``lambda/2 w^T w``, ``1/m sum_i ...``, ``x / 2 sigma^2``) is read one way
    by some people and the other way by others: every reader refuses it and
    names both bracketings.  ``\\frac`` and a bracketed divisor are never
    ambiguous.
    """
    if node.frac or not (isinstance(node.right, Mul) and node.right.op == "juxt"):
        return None
    top, factors = source(node.left), juxt_factors(node.right)
    if isinstance(node.left, (Add, Sub, Div, Neg, IndexSum)) or (isinstance(node.left, Mul) and node.left.op != "juxt"):
        top = "(" + top + ")"
    first, rest = source(factors[0]), " ".join(source(f) for f in factors[1:])
    slash = " ./ " if node.elementwise else "/"
    return (
        f"{top}{slash}{first} {rest} is ambiguous: write ({top}{slash}{first}) {rest} "
        f"or {top}{slash}({first} {rest}) with parentheses"
    )


def juxt_factors(node: Node) -> list[Node]:
    """The factors of a chain of implicit products, left to right."""
    out = []
    while isinstance(node, Mul) and node.op == "juxt":
        out.append(node.right)
        node = node.left
    out.append(node)
    return out[::-1]
