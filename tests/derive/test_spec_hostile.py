"""Hostile spec files: every one is refused with one line ``file:line[:col]: problem`` and exit 2.

Code planted in names and expressions, TOML nested 100,000 deep, huge and
over-precise numbers, power towers, unknown functions, bad shapes, bad
encodings, NUL bytes and huge files.  (Text fields -- titles, summaries --
are escaped into the generated code; that is tested with code generation.)
"""

from __future__ import annotations

import builtins
import json
import re

import pytest

from gradproof.derive.specs.spec import MAX_HYPER, SpecError, _Lines, parse_spec
from gradproof.reports.cli import main

HEAD = 'name = "{name}"\ncategory = "activation"\n'
LAYER = 'name = "{name}"\ncategory = "layer"\ninput = "n"\n'


def act(forward, name="h_act", extra=""):
    return HEAD.format(name=name) + f"forward = {json.dumps(forward)}\n" + extra


CASES = [
    # (id, file text or bytes, expected line (None: none), words in the message)
    ("import-call", act("__import__('os').system('touch /tmp/gp_pwned')"), 3, ["unexpected character"]),
    ("attribute", act("s.__class__"), 3, ["unexpected character"]),
    ("eval-call", act("eval(s)"), 3, ["unknown function 'eval'"]),
    ("exec-call", act("exec(s)"), 3, ["unknown function 'exec'"]),
    ("lambda", act("lambda: s"), 3, ["unexpected"]),
    ("semicolon", act("s; import os"), 3, ["unexpected character"]),
    ("backslash", act("s \\\\ 2"), 3, ["unexpected character"]),
    ("subscript-string", act("s['a']"), 3, ["unexpected character"]),
    ("name-injection", 'name = "x; import os"\ncategory = "activation"\nforward = "s"\n', 1, ["must be a name"]),
    ("name-path", 'name = "../../etc/passwd"\ncategory = "activation"\nforward = "s"\n', 1, ["must be a name"]),
    ("hyper-dunder", act("s * __import__", extra="[hyper]\n__import__ = 1.0\n"), 5, ["would hide"]),
    ("hyper-builtin", act("s * float", extra="[hyper]\nfloat = 1.0\n"), 5, ["would hide"]),
    ("hyper-print", act("s * print", extra="[hyper]\nprint = 1.0\n"), 5, ["would hide"]),
    (
        "param-dunder",
        LAYER.format(name="h_p") + 'forward = "z_next[j] = __class__[j] * z[j]"\n[params]\n__class__ = "n"\n',
        6,
        ["would hide"],
    ),
    (
        "param-keyword",
        LAYER.format(name="h_k") + 'forward = "z_next[j] = z[j]"\n[params]\nclass = "n"\n',
        6,
        ["keyword"],
    ),
    ("unknown-function", act("erf(s)"), 3, ["unknown function 'erf'"]),
    ("ambiguous-division", act("1/2 s s"), 3, ["ambiguous", "(1/2) s s", "1/(2 s s)"]),
    ("unknown-symbol", act("s + t"), 3, ["unknown symbol 't'"]),
    ("huge-tower", act("s*((((2^64)^64)^64)^64)"), 3, ["too large"]),
    ("poly-tower", act("(((1+s)^64)^64)^64"), 3, ["limit"]),
    ("exponent-tower", act("2^10^10 * s"), 3, ["exponent"]),
    ("tiny-tower", act("(0.1^64)^64 * s"), 3, ["too small"]),
    ("long-number", act("0.12345678901234567890123 * s"), 3, ["significant digits"]),
    ("huge-literal", act("1e400 * s"), 3, ["too large"]),
    ("complex", act("sqrt(-1) * s"), 3, ["not a finite real"]),
    ("log-zero", act("log(0) * s"), 3, ["not a finite real"]),
    ("division-zero", act("s / (1 - 1)"), 3, ["division by zero"]),
    ("deep-brackets", act("(" * 100 + "s" + ")" * 100), 3, ["nested"]),
    ("long-expression-brackets", act("(" * 5000 + "s" + ")" * 5000), 3, ["characters long"]),
    ("long-expression", act("+".join(["s"] * 1500)), 3, ["characters long"]),
    ("long-sum", act("+".join(["s"] * 600)), 3, ["nests more than"]),
    (
        "deep-toml-arrays",
        'name = "d"\ncategory = "activation"\nforward = "s"\nx = ' + "[" * 100_000 + "]" * 100_000 + "\n",
        4,
        ["nest", "limit"],
    ),
    (
        "deep-toml-tables",
        'name = "d"\ncategory = "activation"\nforward = "s"\nx = ' + "{a = " * 20_000 + "1" + "}" * 20_000 + "\n",
        4,
        ["nest", "limit"],
    ),
    (
        "bad-shape-3d",
        LAYER.format(name="h_s") + 'forward = "z_next[j] = z[j]"\n[params]\nW = ["n", "n", "n"]\n',
        6,
        ["shape"],
    ),
    (
        "bad-shape-dim",
        LAYER.format(name="h_d") + 'forward = "z_next[j] = a[j] * z[j]"\n[params]\na = "q"\n',
        6,
        ["unknown dimension 'q'"],
    ),
    (
        "bad-shape-number",
        LAYER.format(name="h_n") + 'forward = "z_next[j] = a[j] * z[j]"\n[params]\na = 3\n',
        6,
        ["unknown dimension"],
    ),
    (
        "shape-mismatch",
        LAYER.format(name="h_m") + 'forward = "z_next[j] = a[j] * z[j]"\n[params]\na = "K"\n',
        4,
        ["shape mismatch"],
    ),
    ("params-not-table", LAYER.format(name="h_t") + 'forward = "z_next[j] = z[j]"\nparams = 3\n', 5, ["table"]),
    (
        "count-vector",
        'name = "h_c"\ncategory = "loss"\nforward = "sum(yhat[c] - y[c], c)"\nshape = "K"\ntarget = "count"\n',
        5,
        ["count"],
    ),
    ("hyper-1e308", act("s * alpha", extra="[hyper]\nalpha = 1e308\n"), 5, ["out of range"]),
    ("hyper-tiny", act("s * alpha", extra="[hyper]\nalpha = 1e-300\n"), 5, ["out of range"]),
    ("hyper-inf", act("s * alpha", extra="[hyper]\nalpha = inf\n"), 5, ["finite number"]),
    ("hyper-nan", act("s * alpha", extra="[hyper]\nalpha = nan\n"), 5, ["finite number"]),
    ("hyper-string", act("s * alpha", extra='[hyper]\nalpha = "1; import os"\n'), 5, ["finite number"]),
    (
        "too-many-hyper",
        act("s", extra="[hyper]\n" + "".join(f"h{k} = 0.5\n" for k in range(5000))),
        4,
        [f"the limit is {MAX_HYPER}"],
    ),
    ("nul-byte", HEAD.format(name="h_nul") + 'forward = "s"\n# \x00\n', 4, ["NUL"]),
    ("toml-syntax", HEAD.format(name="h_syn") + 'forward = "s\n', 3, ["TOML syntax error"]),
    ("wrong-type", HEAD.format(name="h_ty") + "forward = 3\n", 3, ["forward must be a str"]),
]


@pytest.mark.parametrize("text,line,words", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_hostile_spec_one_line_exit_2(text, line, words, tmp_path, capsys):
    path = tmp_path / "hostile.toml"
    path.write_text(text, encoding="utf-8")
    assert main(["derive", "--spec", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err, err[:500]
    prefix = f"gradproof derive: {path}" + (f":{line}:" if line else ":")
    assert err.startswith(prefix), (prefix, err[:300])
    for w in words:
        assert w in err, (w, err[:300])
    assert len(err) < 600
    assert not pathlib_exists("/tmp/gp_pwned")


def pathlib_exists(p):
    import os

    return os.path.exists(p)


BINARY = [
    ("latin-1", 'name = "h_l"\ncategory = "activation"\nforward = "s"\ntitle = "caf\xe9"\n'.encode("latin-1"), 4),
    ("utf-16", 'name = "h_u"\ncategory = "activation"\nforward = "s"\n'.encode("utf-16"), 1),
    ("huge-file", b'name = "h_big"\ncategory = "activation"\nforward = "s"\n' + b"# padding\n" * 40_000, None),
]


@pytest.mark.parametrize("raw,line", [b[1:] for b in BINARY], ids=[b[0] for b in BINARY])
def test_hostile_bytes_one_line_exit_2(raw, line, tmp_path, capsys):
    path = tmp_path / "hostile.toml"
    path.write_bytes(raw)
    assert main(["verify", "--spec", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    assert err.startswith(f"gradproof verify: {path}" + (f":{line}:" if line else ":")), err[:300]


def test_module_the_engine_cannot_read_is_one_line(tmp_path, capsys):
    """A three-way tensor contraction is not matrix algebra: refused at load, never a traceback."""
    path = tmp_path / "tensor.toml"
    path.write_text(
        'name = "h_tensor"\ncategory = "layer"\ninput = "n"\n'
        'forward = "z_next[j] = sum(sum(A[i, k] * B[k, j] * C[i, j] * z[i] * z[k], k), i)"\n'
        '[params]\nA = ["n", "n"]\nB = ["n", "n"]\nC = ["n", "n"]\n'
    )
    code = main(["derive", "--spec", str(path)])
    err = capsys.readouterr().err.strip()
    if code == 0:  # the engine read it after all: then it must have proved it
        assert err == ""
        return
    assert code == 2 and "\n" not in err and "Traceback" not in err
    assert err.startswith(f"gradproof derive: {path}:4:1: forward: cannot derive this module")
    from gradproof.derive.lecture.registry import UnknownTopic, get

    with pytest.raises(UnknownTopic):  # and the half-made topic is not left registered
        get("h_tensor")


def test_error_column_points_at_first_occurrence(tmp_path):
    text = HEAD.format(name="h_col") + 'forward = "(s + t) / (1 + t * t)"\n'
    with pytest.raises(SpecError) as e:
        parse_spec(text, "c.toml")
    line = text.splitlines()[2]
    assert e.value.line == 3 and e.value.col == line.index("t)") + 1
    assert str(e.value).startswith(f"c.toml:3:{line.index('t)') + 1}: forward: unknown symbol 't'")
    # inside a layer's right-hand side too
    text = LAYER.format(name="h_col2") + 'forward = "z_next[j] = z[j] * q + q"\n'
    with pytest.raises(SpecError) as e:
        parse_spec(text, "c.toml")
    assert e.value.col == text.splitlines()[3].index("q") + 1


def test_hostile_code_never_runs(tmp_path, monkeypatch, capsys):
    """No builtin that runs code is called while specs with planted code are read."""
    called = []
    for nm in ("eval", "exec", "compile", "__import__"):
        orig = getattr(builtins, nm)

        def spy(*a, _nm=nm, _orig=orig, **k):
            if _nm != "__import__" or (a and str(a[0]) in ("os", "subprocess")):
                called.append((_nm, a[:1]))
            return _orig(*a, **k)

        monkeypatch.setattr(builtins, nm, spy)
    for ident, text, _, _ in CASES[:9]:
        with pytest.raises(SpecError):
            parse_spec(text, f"{ident}.toml")
    assert called == []


def test_line_lookup_is_one_pass_and_exact():
    """5,000 keys: each found at its own line, by dictionary (no per-key scan of the file)."""
    lines = (
        ['name = "x"', "[hyper]"]
        + [f"  h{k} = {k}.5" for k in range(5000)]
        + ["[[claims]]", 'result = "a"', "[[claims]]", 'result = "b"']
    )
    lk = _Lines("\n".join(lines))
    assert lk.of("name") == 1
    assert all(lk.of(f"h{k}", "hyper") == k + 3 for k in range(0, 5000, 7))
    assert lk.where("h42", "hyper") == (45, 3, 9)
    assert lk.of("result", "claims", 0) == 5004 and lk.of("result", "claims", 1) == 5006
    assert lk.of("missing", "claims", 1) == 5005  # the table's header
    assert lk.of("missing") is None
    # the lookup keeps no per-line scan: its state is the key table, built once
    assert len(lk.keys) == 5003


def test_spec_error_message_is_one_printable_line():
    e = SpecError("p.toml", 3, "bad \x1b[31mred\nsecond line\ttab", col=7)
    assert str(e) == "p.toml:3:7: bad  [31mred second line tab"
    assert re.fullmatch(r"[ -~]+", str(e))
