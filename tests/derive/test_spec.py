"""User modules from TOML spec files: derive, codegen and verify like built-ins; bad specs refused."""

from __future__ import annotations

import builtins
import os
import pathlib

import pytest

from gradproof.derive.specs.spec import SpecError, load_spec_topic, parse_spec
from gradproof.reports.cli import main

SPECS = pathlib.Path(__file__).resolve().parents[2] / "examples" / "specs"
GOOD = ["softplus", "swish", "elu", "huber", "scale_shift", "bilinear"]


def _name(spec):
    import tomllib

    return tomllib.loads((SPECS / f"{spec}.toml").read_text())["name"]


@pytest.mark.parametrize("spec", GOOD)
def test_spec_derives_codegens_and_verifies(spec, tmp_path, capsys):
    path = str(SPECS / f"{spec}.toml")
    name = _name(spec)
    assert main(["derive", "--spec", path]) == 0
    out = capsys.readouterr().out
    assert "PASS" in out and "FAIL" not in out
    assert main(["codegen", "--spec", path, "-o", str(tmp_path), name]) == 0
    src = (tmp_path / f"{name}.py").read_text()
    assert f"spec file {spec}.toml: do not edit" in src
    assert main(["verify", "--spec", path, name]) == 0
    table = capsys.readouterr().out
    assert " 0 failed" in table and "mutation" in table and "exact" in table
    if spec == "scale_shift":  # the written code verifies too (what a user does with `verify --code DIR`)
        assert main(["verify", "--spec", path, "--code", str(tmp_path), name]) == 0


def test_claim_is_proved_and_marked(capsys):
    topic = load_spec_topic(SPECS / "softplus.toml")
    from gradproof.derive.lecture.registry import derive

    d = derive(topic)
    assert d.passed
    assert d.result("backward").origin == "claimed-and-proved"


def test_planted_wrong_claim_fails_naming_the_entry(capsys):
    path = str(SPECS / "wrong_claim.toml")
    assert main(["verify", "--spec", path, "softplus_wrong_claim"]) == 1
    out = capsys.readouterr().out
    assert "claim:backward" in out
    assert "entry (0, 0)" in out and "sigmoid(-S_00)" in out
    # and no code is generated from a failed proof
    assert main(["codegen", "--spec", path, "-o", os.devnull + "_x", "softplus_wrong_claim"]) == 1


def _write(tmp_path, text, name="bad.toml"):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


BAD = [
    # (spec text, expected line, words in the message)
    ('name = "b1"\ncategory = "activation"\nforward = "log(1 + exp(t))"\n', 3, ["unknown symbol 't'"]),
    ('name = "b2"\ncategory = "activation"\n', None, ["missing key 'forward'"]),
    ('name = "b3"\nforward = "s"\n', None, ["missing key 'category'"]),
    (
        'name = "b4"\ncategory = "activation"\n\nforward = "Piecewise((s, s > 0), (alpha * (exp(s) - 1), True))"\n'
        "[hyper]\nalpha = 1.0\n",
        4,
        ["not differentiable at s = 0", "kinks = [0]"],
    ),
    (
        'name = "b5"\ncategory = "layer"\nforward = "z_next[j] = a[j] * z[j]"\n[params]\na = "K"\n',
        3,
        ["shape mismatch", "index j"],
    ),
    (
        'name = "b6"\ncategory = "layer"\nforward = "z_next[j] = W[j] * z[j]"\n[params]\nW = ["n", "K"]\n',
        3,
        ["shape mismatch", "W has 2 index(es), not 1"],
    ),
    ('name = "b7"\ncategory = "loss"\nforward = "abs(yhat - y)"\n', 3, ["not differentiable", "kinks"]),
    ('name = "b8"\ncategory = "activation"\nforwrd = "s"\nforward = "s"\n', 3, ["unknown key 'forwrd'", "'forward'"]),
    ('name = "b9"\ncategory = "activation"\nforward = "s +"\n', 3, ["ends too early"]),
    ('name = "../evil"\ncategory = "activation"\nforward = "s"\n', 1, ["must be a name"]),
    (
        'name = "b10"\ncategory = "activation"\nforward = "__import__(\'os\').system(\'true\')"\n',
        3,
        ["unexpected character"],
    ),
    ('name = "b11"\ncategory = "activation"\nforward = "getattr(s, 1)"\n', 3, ["unknown function 'getattr'"]),
    ('name = "b12"\ncategory = "activation"\nforward = "2^10^10 * s"\n', 3, ["exponent"]),
    ('name = "b13"\ncategory = "activation"\nforward = "s"\nkind2 = 1\n[hyper\n', 5, ["TOML syntax error"]),
    (
        'name = "b14"\ncategory = "activation"\nforward = "s"\n\n[[claims]]\nresult = "backward"\nmatrix = "Delta .* X"\n',
        7,
        ["claim 1", "unknown name 'X'"],
    ),
    (
        'name = "b15"\ncategory = "layer"\nforward = "z_next[j] = sum(W[i, j] * z[i], i) + z[i]"\n[params]\nW = ["n", "K"]\n',
        3,
        ["summed"],
    ),
    ('name = "sigmoid"\ncategory = "activation"\nforward = "s"\n', 1, ["built-in topic 'sigmoid'"]),
    ('name = "b16"\ncategory = "activation"\nforward = "s"\n[hyper]\nlambda = 0.1\n', 5, ["Python keyword"]),
    ('name = "b17"\ncategory = "activation"\nkind = "loss"\nforward = "s"\n', 3, ["category and kind", "disagree"]),
    (
        'name = "b18"\ncategory = "tensor"\nforward = "s"\n',
        2,
        ["category 'tensor' is not one of activation, loss, layer"],
    ),
    ('name = "b19"\nkind = 3\nforward = "s"\n', 2, ["kind 3 is not one of"]),
]


@pytest.mark.parametrize("text,line,words", BAD, ids=[b[0].split('"')[1] for b in BAD])
def test_bad_spec_one_clear_message(text, line, words, tmp_path, capsys):
    path = _write(tmp_path, text)
    assert main(["derive", "--spec", path]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    assert err.startswith("gradproof derive: " + path + (f":{line}:" if line else ":"))
    for w in words:
        assert w in err, (w, err)


def test_kind_the_earlier_name_of_category_is_still_read():
    earlier = parse_spec('name = "old_cube"\nkind = "activation"\nforward = "s^3"\n', "old.toml")
    both = parse_spec('name = "old_cube"\nkind = "activation"\ncategory = "activation"\nforward = "s^3"\n', "b.toml")
    now = parse_spec('name = "old_cube"\ncategory = "activation"\nforward = "s^3"\n', "new.toml")
    assert earlier.category == both.category == now.category == "user"
    assert earlier.tags == both.tags == now.tags == ("user", "activation")
    assert earlier.declaration.kind == now.declaration.kind == "module"  # the contract of its generated code


def test_declared_kinks_accept_what_undeclared_refuse(tmp_path):
    base = 'name = "{n}"\ncategory = "loss"\nforward = "abs(yhat - y)"\n'
    t = parse_spec(base.format(n="l1_ok") + 'kinks = ["yhat = y"]\n', "ok.toml")
    assert t.declaration.kinks == ("yhat = y",)
    with pytest.raises(SpecError, match="not differentiable"):
        parse_spec(base.format(n="l1_bad"), "bad.toml")
    # Huber is differentiable at its branch points: accepted without kinks
    huber = parse_spec((SPECS / "huber.toml").read_text(), "huber.toml")
    assert huber.declaration.kink_points == ()
    # ELU with alpha = 1 is smooth at 0, but alpha is a hyperparameter: the kink must be declared
    with pytest.raises(SpecError, match=r"kinks = \[0\]"):
        parse_spec(
            'name = "e"\ncategory = "activation"\nforward = "Piecewise((s, s > 0), (alpha*(exp(s)-1), True))"\n'
            "[hyper]\nalpha = 1.0\n",
            "e.toml",
        )


def test_spec_text_never_evaluated(monkeypatch):
    import sympy.parsing.sympy_parser as spp

    def refuse(*a, **k):
        raise AssertionError("spec text reached an evaluator")

    monkeypatch.setattr(spp, "parse_expr", refuse)
    monkeypatch.setattr(builtins, "eval", refuse)
    monkeypatch.setattr(builtins, "exec", refuse)
    t = parse_spec('name = "ev"\ncategory = "activation"\nforward = "s * sigma(s) + log(1 + exp(s))"\n', "ev.toml")
    import sympy as sp

    from gradproof.derive.lecture.functions import sigmoid, softplus

    z = sp.IndexedBase("z", real=True)
    assert t.declaration.forward({"z": z}, 0) == z[0] * sigmoid(z[0]) + softplus(z[0])
    for path in (pathlib.Path(__file__).resolve().parents[2] / "derive" / "specs").glob("*.py"):
        src = path.read_text()
        for word in ("sympify(", "eval(", "exec(", "parse_expr"):
            assert word not in src, (path.name, word)


def test_log_one_plus_exp_is_read_as_softplus():
    from gradproof.derive.lecture.functions import softplus

    t = parse_spec('name = "sp2"\ncategory = "activation"\nforward = "log(1 + exp(s))"\n', "sp2.toml")
    import sympy as sp

    e = t.declaration.forward({"z": sp.IndexedBase("z", real=True)}, 0)
    assert isinstance(e, softplus)


def test_report_with_spec(tmp_path, capsys):
    out = tmp_path / "rep"
    code = main(["report", "--spec", str(SPECS / "elu.toml"), "elu", "-o", str(out), "--format", "html"])
    assert code == 0, capsys.readouterr().err
    html = (out / "index.html").read_text()
    assert "Exponential linear unit (ELU)" in html
    assert "alpha" in html


def test_report_with_wrong_claim_fails(tmp_path, capsys):
    out = tmp_path / "rep"
    code = main(
        [
            "report",
            "--spec",
            str(SPECS / "wrong_claim.toml"),
            "softplus_wrong_claim",
            "-o",
            str(out),
            "--format",
            "html",
        ]
    )
    assert code == 1
    assert "claim:backward" in capsys.readouterr().err


def test_vector_loss_with_index_sum(tmp_path, capsys):
    spec = (
        'name = "vec_half_se"\ncategory = "loss"\nshape = "K"\nforward = "sum((yhat[c] - y[c])^2, c) / 2"\n\n'
        '[[claims]]\nresult = "backward"\nmatrix = "(Yhat - Y) / m"\n'
    )
    path = _write(tmp_path, spec, "vec.toml")
    assert main(["verify", "--spec", path, "vec_half_se"]) == 0
    assert "claim:backward" in capsys.readouterr().out
    # a free index in a loss is refused: every index of a vector loss is summed
    bad = _write(tmp_path, spec.replace("sum((yhat[c] - y[c])^2, c) / 2", "(yhat[c] - y[c])^2"), "vec_bad.toml")
    assert main(["derive", "--spec", bad]) == 2
    assert "must be summed" in capsys.readouterr().err


# ---------------------------------------------------------------------------
# The spec language's newer constructs, and proofs that never call equal things different
# ---------------------------------------------------------------------------


def _spec(tmp_path, text, name="new.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_claims_with_abs_and_entrywise_reciprocal_powers(tmp_path):
    from gradproof.derive.lecture.registry import derive

    base = (
        'name = "{n}"\ncategory = "activation"\nforward = "s / (1 + abs(s))"\n'
        '[[claims]]\nresult = "backward"\nmatrix = "Delta .* (1 + abs(S))^({p})"\n'
    )
    good = derive(load_spec_topic(_spec(tmp_path, base.format(n="ss_good", p="-2"), "g.toml")))
    assert good.passed and good.result("backward").origin == "claimed-and-proved"
    bad = derive(load_spec_topic(_spec(tmp_path, base.format(n="ss_bad", p="-3"), "b.toml")))
    failed = [p for p in bad.proofs if not p.passed]
    assert [p.key for p in failed] == ["claim:backward"] and not failed[0].undecided
    assert "entry (0, 0)" in failed[0].detail


def test_sixteen_digit_constant_pi_cosh_sinh_and_extents(tmp_path):
    import sympy as sp

    t = parse_spec(
        'name = "c16"\ncategory = "activation"\nforward = "0.7978845608028654 * s + pi * cosh(s) - sinh(s) / n"\n',
        "c.toml",
    )
    f = t.declaration.forward({"z": sp.IndexedBase("z", real=True)}, 0)
    assert f.has(sp.pi, sp.cosh, sp.sinh) and sp.Rational(7978845608028654, 10**16) in f.atoms(sp.Rational)
    from gradproof.derive.engine.modules import n

    assert n in f.free_symbols
    with pytest.raises(SpecError, match="significant digits"):
        parse_spec('name = "c19"\ncategory = "activation"\nforward = "0.797884560802865412345 * s"\n', "c.toml")


def test_parameter_free_layer_and_count_target(tmp_path):
    t = parse_spec(
        'name = "pf"\ncategory = "layer"\ninput = "n"\nforward = "z_next[j] = z[j] - sum(z[i], i) / n"\n', "p.toml"
    )
    assert [a.role for a in t.declaration.args] == ["input"]
    t = parse_spec('name = "pc"\ncategory = "loss"\nforward = "exp(yhat) - y * yhat"\ntarget = "count"\n', "c.toml")
    assert t.declaration.arg("target")[0].domain == "count"


def test_layer_norm_proofs_pass_where_cancel_alone_failed():
    """(x - mean)/sqrt(var + eps): SymPy's cancel cannot clear the roots; the rational probes decide."""
    from gradproof.derive.lecture.registry import derive

    d = derive(load_spec_topic(SPECS / "layer_norm.toml"))
    assert d.passed and len(d.proofs) == 4
    assert all(p.passed and not p.undecided for p in d.proofs)


def test_decide_zero_equal_different_and_undecided():
    import sympy as sp

    from gradproof.derive.proof.prove import NONZERO, UNDECIDED, ZERO, decide_zero

    x, y = sp.symbols("x y", real=True)
    r = sp.sqrt(x**2 + y**2 + 1)
    # equal, but beyond cancel: a root rationalised
    assert decide_zero(1 / (r - x) - (r + x) / (y**2 + 1)) is ZERO
    # a true difference of 1e-30 is still found
    assert decide_zero(1 / (r - x) - (r + x) / (y**2 + 1) + sp.Rational(1, 10**30)) is NONZERO
    # and a wrong sign
    assert decide_zero(1 / (r - x) - (r - x) / (y**2 + 1)) is NONZERO
    # acos u + asin u = pi/2 holds, but is complex for every real x here: neither a proof nor a counterexample
    assert decide_zero(sp.acos(x**2 + 2) + sp.asin(x**2 + 2) - sp.pi / 2) is UNDECIDED
    # where it is real, the probes decide it
    assert (
        decide_zero(sp.acos(x**2 / 7 + sp.Rational(1, 9)) + sp.asin(x**2 / 7 + sp.Rational(1, 9)) - sp.pi / 2) is ZERO
    )


def test_undecided_proof_is_reported_as_undecided_not_fail():
    import sympy as sp

    from gradproof.derive.engine.derivation import Proof
    from gradproof.derive.proof.prove import compare

    x = sp.Symbol("x", real=True)
    proofs = []
    compare(sp.Matrix([[sp.acos(x**2 + 2)]]), sp.Matrix([[sp.pi / 2 - sp.asin(x**2 + 2)]]), "k", "exact", "m=2", proofs)
    (p,) = proofs
    assert isinstance(p, Proof) and not p.passed and p.undecided and p.detail.startswith("undecided")
    from gradproof.derive.output.render import proof_mark

    assert proof_mark(p) == "UNDECIDED"
    assert proof_mark(Proof("k", "exact", "m=2", False, "entry (0, 0)")) == "FAIL"


def test_sigma_notation_reads_as_the_same_sum():
    """The lecture's sum_i body is the same finite sum as sum(body, i), through the one grammar."""
    import sympy as sp

    from gradproof.derive.engine.modules import j_

    z = sp.IndexedBase("z", real=True)
    made = [
        parse_spec(f'name = "ctr_{k}"\ncategory = "layer"\ninput = "n"\nforward = "z_next[j] = {rhs}"\n', "c.toml")
        for k, rhs in enumerate(("z[j] - (sum_i z[i]) / n", "z[j] - sum(z[i], i) / n"))
    ]
    a, b = (t.declaration.forward({"z": z}, j_) for t in made)
    assert a == b and a.has(sp.Sum)
    with pytest.raises(SpecError) as err:
        parse_spec('name = "ctr_x"\ncategory = "layer"\ninput = "n"\nforward = "z_next[j] = sum_i z[j]"\n', "c.toml")
    assert "indexes nothing" in str(err.value)
