"""User-defined modules from TOML spec files.

A spec declares one module the lecture does not have -- an elementwise
activation, a per-sample loss, or a layer in index notation -- and becomes a
registered topic of category ``"user"`` that ``gradproof derive``, ``codegen``,
``verify`` and ``report`` treat like a built-in one::

    name = "softplus"
    category = "activation"
    forward = "log(1 + exp(s))"

Spec text is never evaluated: expressions are read by the one reading
pipeline (:mod:`gradproof.derive.reading`: the grammar, typed tree and limits
that also read seminar answers and ``diff`` expressions) and converted into
SymPy by calling constructors (:mod:`gradproof.derive.specs.expressions`).  Claims are
read with the answer reader itself.  Every problem is one :class:`SpecError`
naming the file, the line and the problem.

>>> import os, tempfile
>>> folder = tempfile.mkdtemp()
>>> path = os.path.join(folder, "cube.toml")
>>> with open(path, "w") as f:
...     _ = f.write('name = "doc_cube"\\ncategory = "activation"\\nforward = "s^3"\\n')
>>> topic = load_spec_topic(path)
>>> from gradproof.derive.lecture.registry import derive
>>> d = derive(topic)
>>> d.passed, str(d.result("backward").matrix)
(True, '3 (Delta o S^2)')
"""

from __future__ import annotations

import math
import os
import re

import sympy as sp

from gradproof.derive.specs.expressions import Array as _Array
from gradproof.derive.specs.expressions import Converter as _Converter
from gradproof.derive.specs.expressions import ExprError as _ExprError
from gradproof.derive.specs.expressions import _short, read_expression
from gradproof.derive.specs.kinks import _find_kinks, _nonsmooth
from gradproof.derive.specs.names import _RESERVED, _dims, _ident
from gradproof.derive.specs.toml_text import SpecError, _Lines, parse_toml

__all__ = ["SpecError", "load_spec_file", "load_spec_topic", "parse_spec", "user_code_dir"]

CATEGORIES = ("activation", "loss", "layer")
EARLIER_CATEGORY_KEY = "kind"  # the earlier name of ``category``, still read
# What a loss's target may be: count means non-negative integers (Poisson).
TARGETS = ("real", "binary", "onehot", "probability", "count")

# Keys a spec may have, per category (anything else is a typo worth reporting).
_COMMON = {
    "name",
    "title",
    "category",
    EARLIER_CATEGORY_KEY,
    "summary",
    "forward",
    "hyper",
    "kinks",
    "claims",
    "notes",
    "domain",
}
_KEYS = {
    "activation": _COMMON | {"input"},
    "loss": _COMMON | {"reduction", "shape", "target"},
    "layer": _COMMON | {"params", "input"},
}
_CLAIM_KEYS = {"result", "statement", "matrix"}

MAX_HYPER = 200  # hyperparameters per spec
HYPER_RANGE = (1e-12, 1e6)  # |default| of a hyperparameter, unless it is 0
MAX_SPEC_BYTES = 256 * 1024


# ---------------------------------------------------------------------------
# Reading the TOML file
# ---------------------------------------------------------------------------


def parse_spec(text: str, path: str = "<spec>"):
    """Parse a spec's TOML text into a registered-ready :class:`gradproof.derive.lecture.registry.Topic` (not registered)."""
    data = parse_toml(text, path)
    topic = _Builder(data, path, _Lines(text)).topic()
    topic.extra["spec_text"] = text  # what decides the derivation: its key in derive/support/cache.py
    return topic


def _all_keys(data):
    return ", ".join(sorted(data))


class _Builder:
    def __init__(self, data: dict, path: str, lines: _Lines):
        self.data, self.path, self.lines = data, path, lines

    def err(self, problem, key=None, table=None, nth=0, line=None, col=None):
        if line is None and key is not None:
            hit = self.lines.where(key, table, nth)
            if hit:
                line, col = hit[0], col or hit[1]
            else:
                line = self.lines.of(key, table, nth)
        raise SpecError(self.path, line, problem, col)

    def need(self, key, typ=str):
        if key not in self.data:
            self.err(f"missing key {key!r}", line=None)
        v = self.data[key]
        if not isinstance(v, typ):
            self.err(f"{key} must be a {typ.__name__}", key)
        return v

    def expr(self, text, conv, key, table=None, nth=0, offset=0):
        line = self.lines.of(key, table, nth)
        try:
            out = conv(read_expression(text))
            if out.has(sp.I, sp.zoo, sp.nan, sp.oo, -sp.oo):
                raise _ExprError(
                    "the expression is not a finite real number everywhere "
                    "(a root or log of a negative constant, or a division by zero)"
                )
            return out
        except _ExprError as e:
            col = self.lines.expr_column(key, table, nth, e.column, offset)
            raise SpecError(self.path, line, f"{key}: {e}", col) from None
        except RecursionError:
            raise SpecError(
                self.path,
                line,
                f"{key}: the expression nests too deeply",
                self.lines.expr_column(key, table, nth, None),
            ) from None

    def category(self):
        """``category`` (or ``kind``, its earlier name, still read): activation, loss or layer."""
        given = {key: self.data[key] for key in ("category", EARLIER_CATEGORY_KEY) if key in self.data}
        if not given:
            self.err(f"missing key 'category' (one of: {', '.join(CATEGORIES)})", line=None)
        if len({repr(v) for v in given.values()}) > 1:
            self.err("category and kind (its earlier name) disagree: give category only", EARLIER_CATEGORY_KEY)
        key, value = next(iter(given.items()))
        if not isinstance(value, str) or value not in CATEGORIES:
            self.err(f"{key} {value!r} is not one of {', '.join(CATEGORIES)}", key)
        return value

    def topic(self):
        from gradproof.derive.engine.modules import build_module
        from gradproof.derive.lecture.registry import Topic

        category = self.category()
        for key in self.data:
            if key not in _KEYS[category]:
                import difflib

                close = difflib.get_close_matches(key, sorted(_KEYS[category]), n=1)
                self.err(
                    f"unknown key {key!r} for a {category}" + (f"; did you mean {close[0]!r}?" if close else ""), key
                )
        name = _ident(self.path, self.lines, self.need("name"), "name", self.lines.of("name"))
        from gradproof.derive.output.codegen import CodegenError, check_module_name

        try:
            check_module_name(name)  # it names the generated file: never numpy.py, os.py or __init__.py
        except CodegenError as err:
            self.err(str(err), "name")
        self.need("forward")
        self.hyper = self._hyper()
        self.kink_points, self.kink_statements = self._kinks()
        declaration, notes, vocab = {"activation": self._activation, "loss": self._loss, "layer": self._layer}[
            category
        ]()
        claims = self._claims(category, vocab)
        title = self.data.get("title", name)
        summary = self.data.get("summary", f"A user-defined {category} from {os.path.basename(self.path)}.")
        if not isinstance(title, str) or not isinstance(summary, str):
            self.err("title and summary must be strings", "title" if not isinstance(title, str) else "summary")
        extra_notes = self.data.get("notes", [])
        if not isinstance(extra_notes, list) or not all(isinstance(x, str) for x in extra_notes):
            self.err("notes must be a list of strings", "notes")
        return Topic(
            name=name,
            title=title,
            category="user",
            section="User modules",
            order=1000.0,
            summary=summary,
            build=build_module,
            declaration=declaration,
            claims=tuple(claims),
            tags=("user", category),
            extra={
                "notes": tuple(notes) + tuple(extra_notes),
                "source": f"spec file {os.path.basename(self.path)}",
                "spec_path": os.path.abspath(self.path),
                "spec_category": category,
            },
        )

    # -- pieces -------------------------------------------------------------
    def _hyper(self):
        h = self.data.get("hyper", {})
        if not isinstance(h, dict):
            self.err("hyper must be a table: [hyper] alpha = 1.0", "hyper")
        if len(h) > MAX_HYPER:
            self.err(f"{len(h)} hyperparameters; the limit is {MAX_HYPER}", line=self.lines.tables.get(("hyper", 0)))
        out = []
        for nm, val in h.items():
            line = self.lines.of(nm, "hyper")
            _ident(self.path, self.lines, nm, "hyperparameter", line)
            if nm in _RESERVED:
                self.err(f"hyperparameter {nm!r} clashes with a reserved name; choose another", line=line)
            if isinstance(val, bool) or not isinstance(val, (int, float)) or not math.isfinite(val):
                self.err(
                    f"hyperparameter {nm} needs a finite number as its default, not {_short(repr(val))}", line=line
                )
            lo, hi = HYPER_RANGE
            if val != 0 and not lo <= abs(val) <= hi:
                self.err(
                    f"hyperparameter {nm} = {val!r} is out of range: a default is 0 or between "
                    f"{lo:g} and {hi:g} in size",
                    line=line,
                )
            sym = sp.Symbol(nm, positive=True) if val > 0 else sp.Symbol(nm, real=True)
            out.append((sym, float(val)))
        return tuple(out)

    def _kinks(self):
        k = self.data.get("kinks", [])
        if not isinstance(k, list):
            self.err("kinks must be a list: input values (numbers) and/or statements (strings)", "kinks")
        pts, stm = [], []
        for x in k:
            if isinstance(x, bool) or not isinstance(x, (int, float, str)):
                self.err(f"kinks: {x!r} is neither a number nor a statement", "kinks")
            (stm if isinstance(x, str) else pts).append(x if isinstance(x, str) else float(x))
        return tuple(pts), tuple(stm)

    def _statements(self, detected):
        out = list(self.kink_statements)
        out += [f"no derivative at {p:g}" for p in self.kink_points]
        return tuple(out) or tuple(detected)

    def _hyper_scalars(self):
        return {h.name: h for h, _ in self.hyper}

    def _domain(self):
        d = self.data.get("domain", "real")
        if d not in ("real", "positive", "probability"):
            self.err(f"domain {d!r} is not one of real, positive, probability", "domain")
        return d

    def _activation(self):
        from gradproof.derive.engine.modules import Arg, ModuleDeclaration, n

        var = self.data.get("input", "s")
        _ident(self.path, self.lines, var, "input", self.lines.of("input"))
        if var not in ("s", "z", "x"):
            self.err("an activation's input is s, z or x", "input")
        x = sp.Symbol(var, real=True)
        conv = _Converter({var: x, **self._hyper_scalars()}, {}, (), extents={"n": n})
        f = self.expr(self.data["forward"], conv, "forward")
        if not f.has(x):
            self.err(f"forward does not depend on its input {var}", "forward")
        self._check_kinks(f, x, [], "forward", var)
        arg = Arg("z", "input", (n,), var.upper(), domain=self._domain(), latex=var)

        def forward(bases, j, f=f, x=x):
            return f.xreplace({x: bases["z"][j]})

        declaration = ModuleDeclaration(
            kind="module",
            args=(arg,),
            out_dim=n,
            forward=forward,
            hyper=self.hyper,
            kinks=self._statements(()),
            kink_points=self.kink_points,
            out_matrix="A",
            out_latex=r"\mathbf{A}",
        )
        from gradproof.derive.seminar.answers import SymbolDecl

        vocab = [SymbolDecl(var.upper(), ("m", "n")), SymbolDecl("Delta", ("m", "n"))]
        return declaration, (), vocab

    def _loss(self):
        from gradproof.derive.engine.modules import Arg, K, ModuleDeclaration

        red = self.data.get("reduction", "mean")
        if red not in ("mean", "sum"):
            self.err(f"reduction {red!r} is not mean or sum", "reduction")
        shape = self.data.get("shape", [])
        dims = _dims(self.path, self.lines.of("shape"), shape, "shape") if shape != [] else ()
        if dims and dims != (K,):
            self.err('a vector loss has shape "K" (one entry per output)', "shape")
        target = self.data.get("target", "real")
        if target not in TARGETS:
            self.err(f"target {target!r} is not one of {', '.join(TARGETS)}", "target")
        if target == "count" and dims:
            self.err("a count target is one count per sample: leave out shape", "target")
        if dims:
            zb, yb = sp.IndexedBase("z", real=True), sp.IndexedBase("y", real=True)
            conv = _Converter(
                self._hyper_scalars(),
                {"yhat": (zb, _Array("yhat", dims)), "y": (yb, _Array("y", dims))},
                _POOL,
                extents={"K": K},
            )
        else:
            zs, ys = sp.Symbol("z", real=True), sp.Symbol("y", real=True)
            conv = _Converter({"yhat": zs, "y": ys, **self._hyper_scalars()}, {}, ())
        ell = self.expr(self.data["forward"], conv, "forward")
        free = {s for s, _ in conv.extents.items()}
        if free:
            self.err("forward: every index of a vector loss must be summed, e.g. sum((yhat[c] - y[c])^2, c)", "forward")
        if not dims:
            self._check_kinks(ell, sp.Symbol("z", real=True), [sp.Symbol("y", real=True)], "forward", "yhat")
        elif _nonsmooth(ell) and not (self.kink_points or self.kink_statements):
            self.err(
                'forward is not differentiable everywhere (abs, Piecewise): declare where, e.g. kinks = ["yhat = y"]',
                "forward",
            )
        z = Arg(
            "z",
            "input",
            dims,
            "Yhat" if dims else "yhat",
            domain=self._domain(),
            latex=r"\hat{y}",
            matrix_latex=r"\hat{\mathbf{Y}}" if dims else r"\hat{\mathbf{y}}",
        )
        y = Arg(
            "y",
            "target",
            dims,
            "Y" if dims else "y",
            domain=target,
            latex="y",
            matrix_latex=r"\mathbf{Y}" if dims else r"\mathbf{y}",
        )
        declaration = ModuleDeclaration(
            kind="loss",
            args=(z, y),
            reduction=red,
            forward=lambda b, _, e=ell: e,
            hyper=self.hyper,
            kinks=self._statements(()),
            kink_points=self.kink_points,
        )
        from gradproof.derive.seminar.answers import SymbolDecl

        col = "K" if dims else 1
        vocab = [SymbolDecl("Yhat" if dims else "yhat", ("m", col)), SymbolDecl("Y" if dims else "y", ("m", col))]
        return declaration, (), vocab

    def _layer(self):
        from gradproof.derive.engine.modules import Arg, ModuleDeclaration, j_

        text = self.data["forward"]
        line = self.lines.of("forward")
        m_ = re.fullmatch(r"\s*z_next\s*\[\s*([A-Za-z][A-Za-z0-9_]*)\s*\]\s*=(.*)", text, re.S)
        if not m_:
            self.err("a layer's forward reads z_next[j] = <expression in z[...] and the parameters>", "forward")
        out_index, rhs = m_.group(1), m_.group(2)
        in_dims = _dims(self.path, self.lines.of("input"), self.data.get("input", "n"), "input")
        if len(in_dims) != 1:
            self.err('a layer\'s input z is a vector: input = "n"', "input")
        params = self.data.get("params", {})
        if not isinstance(params, dict):
            self.err('params is a table of shapes: [params] a = "n" (or leave it out: a layer may have none)', "params")
        arrays = {"z": (sp.IndexedBase("z", real=True), _Array("z", in_dims))}
        args = [Arg("z", "input", in_dims, "Z", domain=self._domain(), latex="z")]
        vocab_params = []
        from gradproof.derive.seminar.answers import SymbolDecl

        for nm, shp in params.items():
            pline = self.lines.of(nm, "params")
            _ident(self.path, self.lines, nm, "parameter", pline)
            if nm in _RESERVED or nm in self._hyper_scalars():
                self.err(f"parameter {nm!r} clashes with a reserved name or a hyperparameter", line=pline)
            d = _dims(self.path, pline, shp, f"parameter {nm}")
            if not d:
                self.err(f"parameter {nm} needs a shape", line=pline)
            arrays[nm] = (sp.IndexedBase(nm, real=True), _Array(nm, d))
            a = Arg(nm, "param", d, nm, latex=nm)
            args.append(a)
            vocab_params.append(SymbolDecl(nm, tuple(str(x) if not x.is_Integer else 1 for x in a.batched_shape())))
        used = {str(d): d for _, arr in arrays.values() for d in arr.dims}
        conv = _Converter(self._hyper_scalars(), arrays, _POOL, fixed_indices={out_index: j_}, extents=used)
        f = self.expr(rhs, conv, "forward", offset=self._rhs_offset(text, m_.start(2)))
        free = set(conv.extents) - {j_}
        if free:
            self.err("forward: every index other than the output's must be summed over", "forward")
        if j_ not in conv.extents:
            self.err(f"forward: the output index {out_index} indexes nothing, so the output size is unknown", "forward")
        out_dim = conv.extents[j_][0]
        if _nonsmooth(f) and not (self.kink_points or self.kink_statements):
            self.err("forward is not differentiable everywhere (abs, Piecewise): declare kinks = [...]", "forward")
        declaration = ModuleDeclaration(
            kind="module",
            args=tuple(args),
            out_dim=out_dim,
            forward=lambda b, j, e=f: e.xreplace({j_: j}) if j != j_ else e,
            hyper=self.hyper,
            kinks=self._statements(()),
            kink_points=self.kink_points,
        )
        del line
        vocab = [SymbolDecl("Z", ("m", "n")), SymbolDecl("Delta", ("m", str(out_dim))), *vocab_params]
        return declaration, (), vocab

    def _rhs_offset(self, text, start):
        """Characters before the right-hand side of ``z_next[j] = ...`` (for error columns)."""
        return start

    def _check_kinks(self, f, x, others, key, shown):
        """Refuse a map that has a kink or a jump nowhere declared."""
        found = _find_kinks(f, x, others, [h for h, _ in self.hyper])
        if not found:
            return
        declared = self.kink_points
        for p, what in found:
            if others:  # the kink's place depends on the target: a statement is enough
                if declared or self.kink_statements:
                    continue
                self.err(f'{key} is not differentiable where {what}; declare it, e.g. kinks = ["{what}"]', key)
            if not any(abs(p - q) <= 1e-9 * max(1.0, abs(q)) for q in declared):
                self.err(f"{key} is not differentiable at {shown} = {p:g} ({what}); declare it: kinks = [{p:g}]", key)

    def _claims(self, category, vocab):
        from gradproof.derive.engine.derivation import Claim
        from gradproof.derive.seminar.answers import AnswerError, SymbolDecl, Vocabulary, read_answer

        raw = self.data.get("claims", [])
        if not isinstance(raw, list):
            self.err("claims is a list of tables: [[claims]] result = ... matrix = ...", "claims")
        vocab = Vocabulary(
            dims={"m": 2, "n": 3, "K": 4},
            extra_functions=(("abs", sp.Abs),),
            entrywise_powers=True,
            symbols=tuple(vocab)
            + tuple(SymbolDecl(h.name, (), domain="positive" if h.is_positive else "real") for h, _ in self.hyper),
        )
        valid = {"activation": ("forward", "backward"), "loss": ("loss", "backward")}.get(
            category, ("forward", "backward", *[f"grad:{p}" for p in self.data.get("params", {})])
        )
        out = []
        for k, c in enumerate(raw):
            if not isinstance(c, dict):
                self.err("each claim is a table: [[claims]]", "claims")
            for key in c:
                if key not in _CLAIM_KEYS:
                    self.err(f"unknown key {key!r} in a claim (use {', '.join(sorted(_CLAIM_KEYS))})", key, "claims", k)
            for key in ("result", "matrix"):
                if not isinstance(c.get(key), str):
                    self.err(
                        f"missing key {key!r} in claim {k + 1}",
                        key if key in c else None,
                        "claims",
                        k,
                        line=None if key in c else self.lines._table_start("claims", k) or None,
                    )
            if c["result"] not in valid:
                self.err(
                    f"claim {k + 1}: result {c['result']!r} is not one of {', '.join(valid)}", "result", "claims", k
                )
            try:
                reading = read_answer(c["matrix"], vocab)
            except AnswerError as e:
                self.err(f"claim {k + 1}: {e}", "matrix", "claims", k)
            from gradproof.derive.engine import mexpr as mx

            expr = reading.expr if isinstance(reading.expr, mx.MExpr) else mx.Const(reading.expr)
            out.append(Claim(c["result"], c.get("statement", f"{c['result']} = {reading.text}"), matrix=expr))
        return out


_POOL = tuple(sp.Symbol(nm, integer=True) for nm in ("i", "k", "l", "p", "q", "r", "t", "u", "v"))
# ---------------------------------------------------------------------------
# Public entry points
# ---------------------------------------------------------------------------


def load_spec_file(path) -> list:
    """Read, check and register the module, or the ``[[expression]]`` topics, of a spec file.

    Returns the registered topics.  Raises :class:`SpecError` (a
    ``ValueError``; one line naming the file, the line and the problem) or
    ``OSError``.
    """
    from gradproof.derive.specs.expression_topic import declares_expressions, load_expression_spec

    text = _read(os.fspath(path))
    if declares_expressions(text):
        return load_expression_spec(text, os.fspath(path))
    return [load_spec_topic(path)]


def _read(path: str) -> str:
    with open(path, "rb") as fh:
        raw = fh.read(MAX_SPEC_BYTES + 1)
    if len(raw) > MAX_SPEC_BYTES:
        raise SpecError(path, None, f"the file is larger than {MAX_SPEC_BYTES // 1024} KiB; a spec is a few lines")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise SpecError(
            path, line, "the file is not UTF-8 text", raw[: err.start].rsplit(b"\n", 1)[-1].__len__() + 1
        ) from None
    return text


def load_spec_topic(path):
    """Read, check and register one spec file; returns its :class:`gradproof.derive.lecture.registry.Topic`."""
    from gradproof.derive.lecture.registry import add_user_topic

    path = os.fspath(path)
    text = _read(path)
    key = (os.path.abspath(path), text)
    known = _LOADED.get(key)
    if known is not None and _registered(known):
        return known  # the same file, unchanged: its derivation is cached with the topic
    topic = parse_spec(text, path)
    lines = _Lines(text)
    try:
        add_user_topic(topic)
    except ValueError as err:
        raise SpecError(path, lines.of("name"), str(err)) from None
    _derive_or_refuse(topic, path, lines)
    _LOADED[key] = topic
    return topic


_LOADED: dict = {}  # (absolute path, text) -> topic, for a spec read twice in one process


def _registered(topic) -> bool:
    from gradproof.derive.lecture.registry import UnknownTopic, get

    try:
        return get(topic.name) is topic
    except UnknownTopic:
        return False


def _derive_or_refuse(topic, path, lines):
    """Derive a freshly read spec now, so that a module the engine cannot handle
    is one line naming the spec, never a traceback later."""
    from gradproof.derive.lecture.registry import derive, remove_user_topic

    try:
        derive(topic)
        return
    except RecursionError:
        problem = "the derivation nests too deeply"
    except MemoryError:
        problem = "the derivation needs too much memory"
    except Exception as err:
        problem = f"{type(err).__name__}: {err}" if not isinstance(err, ValueError) else str(err)
    remove_user_topic(topic.name)
    where = lines.where("forward")
    raise SpecError(
        path, where[0] if where else None, f"forward: cannot derive this module: {problem}", where[1] if where else None
    )


_CODE_DIR: str | None = None


def user_code_dir(d) -> str:
    """Generate a user topic's NumPy module into a per-process cache folder; returns the folder.

    Built-in topics live in ``numeric/generated``; a user module's code is
    written here (atomically) for ``gradproof verify`` and ``report`` to load,
    and removed when the process exits.
    """
    global _CODE_DIR
    import atexit
    import shutil
    import tempfile

    from gradproof.derive.output.codegen import write_module

    if _CODE_DIR is None or not os.path.isdir(_CODE_DIR):
        _CODE_DIR = tempfile.mkdtemp(prefix="gradproof-user-")
        atexit.register(shutil.rmtree, _CODE_DIR, True)
    write_module(d, _CODE_DIR)
    return _CODE_DIR
