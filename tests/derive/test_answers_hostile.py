"""Hostile answers: near-misses, undefined answers, size bombs.

No wrong answer passes (a difference of 1e-12 or exp(-40) is found by exact
probes), no wrong answer hides as undecided (an answer undefined where the
reference is defined is wrong), and every size bomb is refused from an
estimate, in one line, before SymPy sees it.  The whole corpus also runs in
the limited workers (10 s of CPU, 1 GiB): none of it may hit a limit.
"""

import re
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import gradproof.derive.reading.tree as t
from gradproof.derive.reading.limits import (
    DEFAULT,
    SPECS,
    LimitExceeded,
    Limits,
    check_expression,
)
from gradproof.derive.reading.parse import ParseFailure, parse
from gradproof.derive.seminar.answers import AnswerError, parse_answer
from gradproof.derive.seminar.answers.sandbox import Budget, CheckPool
from gradproof.derive.seminar.equivalence import decide
from gradproof.derive.seminar.exercises import get

# Wrong by a tiny amount: float64 probes agree, exact probes must not.
NEAR_MISSES = [
    ("logreg_grad", "1.000000001 X^T (yhat - y)"),
    ("logreg_grad", "X^T (yhat - y) + 1e-9 X^T y"),
    ("logreg_grad", "X^T (yhat - y) + exp(-40) X^T y"),
    ("logreg_grad", "X^T (yhat - y) + 1e-12 X^T y"),
    ("logreg_grad", "X^T (yhat - y) (1 + 10^-11)"),
    ("logreg_grad", "X^T (yhat - y) + 0.1^40 X^T y"),
    ("logreg_grad", "X^T (yhat - y) exp(1e-12)"),
    ("sigmoid_derivative", "sigma(s)*(1-sigma(s)) + 1e-11"),
    ("sigmoid_derivative", "sigma(s)(1 - sigma(s)) + exp(-40) s"),
    ("sigmoid_derivative", "sigma(s + 1e-12)(1 - sigma(s))"),
    ("xavier_var", "1/n_in + 1e-12"),
    ("xavier_var", "1/(n_in + 1e-10)"),
    ("glorot_var", "2/(n_in + n_out) + exp(-40)"),
    ("least_squares", "(X^T X + 1e-9 I)^{-1} X^T y"),
    ("least_squares", "inv(X^T X + 1e-12 I) X^T y"),
    ("ridge", "inv(X^T X + (lambda + 1e-10) I) X^T y"),
    ("linear_grad_W", "Z^T Delta + 1e-12 Z^T Delta"),
    ("linear_backward", "Delta W^T (1 - 10^-13)"),
    ("l2_grad", "2 lambda W + 1e-10 W"),
    ("sigmoid_bce_grad", "(yhat - y)/m + 1e-12 y"),
    ("softmax_ce_grad", "(P - Y)/(m + 1e-9)"),
    ("tanh_backward", "Delta * (1 - A^2) + 1e-12 Delta"),
    ("mle_sigma2", "RSS/m + 1e-12"),
    ("map_lambda", "sigma^2/sigma_0^2 + 1e-12"),
    # parts that are tiny everywhere, not only constants: the precision follows them
    ("sigmoid_derivative", "sigma(s)(1 - sigma(s)) + exp(-300 (s^2 + 1))"),
    ("sigmoid_derivative", "sigma(s)(1 - sigma(s)) + (s^2/(s^2 + 1000))^16"),
    ("sigmoid_derivative", "sigma(s)(1 - sigma(s)) + (1 - tanh(1000 (s^2 + 1)))"),
    ("sigmoid_derivative", "sigma(s)(1 - sigma(s)) + sqrt(1 + 10^-40) - 1"),
    ("sigmoid_derivative", "sigma(s)(1 - sigma(s)) + log(1 + 10^-40 s^2)"),
    ("tanh_via_sigma", "2 sigma(2s) - 1 + sigma(-400 - s^2)"),
    ("logreg_grad", "X^T (yhat - y) + 1e-12 X^T y 1e-12 1e-12 1e-12"),
]

# Undefined (complex, infinite, NaN) at probe points where the reference is defined.
UNDEFINED = [
    ("logreg_grad", "X^T (yhat - y) + sqrt(-1) X^T y"),
    ("logreg_grad", "log(-1) X^T (yhat - y)"),
    ("logreg_grad", "log(0) X^T y"),
    ("logreg_grad", "X^T (yhat - y) / 0"),
    ("logreg_grad", "X^T (yhat - y) + (0/0) X^T y"),
    ("logreg_grad", "X^T (yhat - y) + log(-2) X^T y"),
    ("xavier_var", "1/n_in + sqrt(-2)"),
    ("xavier_var", "1/n_in + log(1 - n_in)"),
    ("xavier_var", "log(-n_in)"),
    ("least_squares", "(X^T X - X^T X)^-1 X^T y"),
    ("sigmoid_derivative", "sigma(s)(1 - sigma(s)) + log(-s^2 - 1)"),
    ("sigmoid_derivative", "sigma(s)(1 - sigma(s)) + sqrt(-1 - s^2)"),
    ("sigmoid_derivative", "sigma(s)(1 - sigma(s)) + sinh(sqrt(-1) s)"),
    ("glorot_var", "(tanh(n_out - sqrt(-1))) sqrt(-1) sinh((1e-9 .* log(-1))^-1)"),
]

# Size bombs: refused by a limit, from an estimate.
BOMBS = [
    ("logreg_grad", "(0.1^60000)^60000"),
    ("logreg_grad", "2^(0.1^-20)"),
    ("logreg_grad", "0.1^60000 X^T (yhat - y)"),
    ("logreg_grad", "X^T (yhat - y) + exp(-200) X^T y"),
    ("logreg_grad", "X^T (yhat - y) + 1.000000001^64 X^T y"),
    ("logreg_grad", "10^60 X^T (yhat - y)"),
    ("logreg_grad", "exp(1000) X^T (yhat - y)"),
    ("logreg_grad", "X^T (yhat - y) + 0.5^200 X^T y"),
    ("logreg_grad", "(2^64)^64 X^T y"),
    ("logreg_grad", "X^T (yhat - y) ((1/3)^64)^8"),
    ("logreg_grad", "X^T exp(exp(exp(yhat)))"),
    ("sigmoid_derivative", "(((1+s)^64)^64)^64"),
    ("sigmoid_derivative", "s*((((2^64)^64)^64)^64)"),
    ("sigmoid_derivative", "((s+1)^64)^5"),
    ("sigmoid_derivative", "(s + 1)^300"),
    ("sigmoid_derivative", "exp(exp(exp(s)))"),
    ("sigmoid_derivative", "2^(2^(2^s))"),
    ("sigmoid_derivative", "sigma(-1000) + s"),
    ("sigmoid_derivative", "cosh(500) s"),
    ("xavier_var", "1/n_in + 10^-60"),
    ("xavier_var", "n_in^(10^5)"),
    ("xavier_var", "(1 + 1e-12)^(10^12)"),
    ("logreg_grad", "X^T (yhat - y) + 1e-12 X^T y 1e-12 1e-12 1e-12 1e-12"),
    ("logreg_grad", "X^T (yhat - y) + X^T y / 1e12 / 1e12 / 1e12 / 1e12 / 1e12"),
    ("sigmoid_derivative", "sigma(s)(1 - sigma(s)) + (1e-12 s)^5"),
    ("sigmoid_derivative", "sigma(s)(1 - sigma(s)) + (s^2/(s^2 + 1000000))^64"),
]


@pytest.mark.parametrize("ex_id, answer", NEAR_MISSES)
def test_near_misses_are_found_by_exact_probes(ex_id, answer):
    v = decide(get(ex_id), answer, symbolic_seconds=1.0)
    assert (v.status, v.decided_by, v.mistake) == ("incorrect", "exact", "near-miss"), (answer, v)
    assert "differs by a relative" in v.feedback[0]


@pytest.mark.parametrize("ex_id, answer", UNDEFINED)
def test_undefined_answers_are_incorrect_never_undecided(ex_id, answer):
    v = decide(get(ex_id), answer, symbolic_seconds=1.0)
    assert (v.status, v.mistake) == ("incorrect", "undefined"), (answer, v)
    assert v.feedback[0].startswith("your answer is undefined at"), v.feedback


@pytest.mark.parametrize("ex_id, answer", BOMBS)
def test_size_bombs_are_refused_by_a_limit(ex_id, answer):
    v = decide(get(ex_id), answer, symbolic_seconds=1.0)
    assert (v.status, v.decided_by) == ("invalid", "limits"), (answer, v)
    assert len(v.feedback) == 1 and "\n" not in v.feedback[0] and len(v.feedback[0]) < 200


def test_the_whole_corpus_runs_within_10s_and_1gib_per_check():
    """In the limited workers no hostile answer hits a limit, so none becomes undecided."""
    budget = Budget(cpu_seconds=10, memory_mb=1024, wall_seconds=10, symbolic_seconds=1.0)
    cases = (
        [(ex, a, "near") for ex, a in NEAR_MISSES]
        + [(ex, a, "undef") for ex, a in UNDEFINED]
        + [(ex, a, "bomb") for ex, a in BOMBS]
    )
    with CheckPool(workers=2, budget=budget) as pool:
        out = pool.run([(k, ex, a) for k, (ex, a, _) in enumerate(cases)])
    assert len(out) == len(cases)
    want = {"near": ("incorrect", "near-miss"), "undef": ("incorrect", "undefined"), "bomb": ("invalid", "too-large")}
    for k, (ex, a, outcome) in enumerate(cases):
        v = out[k]
        assert (v.status, v.mistake) == want[outcome], (ex, a, v)
        assert v.decided_by not in ("timeout", "error")


@settings(max_examples=30, deadline=None)
@given(digit=st.integers(1, 9), k=st.integers(10, 45), where=st.sampled_from(["add", "scale"]))
def test_any_tiny_difference_from_1e_10_down_to_1e_45_is_found(digit, k, where):
    eps = f"{digit}*10^-{k}"
    answer = f"X^T (yhat - y) + {eps} X^T y" if where == "add" else f"X^T (yhat - y) (1 + {eps})"
    v = decide(get("logreg_grad"), answer, symbolic_seconds=1.0)
    assert (v.status, v.mistake) == ("incorrect", "near-miss"), (answer, v)


ATOMS = {
    "logreg_grad": ["X^T", "X", "w", "y", "yhat", "Yhat", "(yhat - y)", "X^T y"],
    "sigmoid_derivative": ["s", "sigma(s)", "(1 - sigma(s))", "exp(-s)", "cosh(s)", "tanh(s/2)"],
}
CONSTANTS = [
    "0",
    "1",
    "2",
    "-1",
    "1e-9",
    "10^-30",
    "0.1^40",
    "exp(-40)",
    "sqrt(-1)",
    "log(0)",
    "log(-1)",
    "1/0",
    "0/0",
    "3^40",
    "2^-50",
    "sqrt(2)",
    "e",
    "pi",
]
REFERENCES = {"logreg_grad": "X^T (yhat - y)", "sigmoid_derivative": "sigma(s)(1 - sigma(s))"}


def _answers(ex_id):
    leaf = st.sampled_from(ATOMS[ex_id] + CONSTANTS)
    tree = st.recursive(
        leaf,
        lambda kid: st.one_of(
            st.tuples(st.sampled_from(["exp", "log", "sqrt", "sigma", "tanh", "cosh", "sinh", "inv"]), kid).map(
                lambda p: f"{p[0]}({p[1]})"
            ),
            st.tuples(kid, st.sampled_from(["2", "-1", "T", "0.5", "-2"])).map(lambda p: f"({p[0]})^{p[1]}"),
            st.tuples(kid, st.sampled_from([" + ", " - ", " * ", " ", "/", " .* "]), kid).map(
                lambda p: f"({p[0]}){p[1]}({p[2]})"
            ),
        ),
        max_leaves=8,
    )
    return st.one_of(tree, tree.map(lambda a: f"{REFERENCES[ex_id]} + {a}"))


@settings(max_examples=80, deadline=None)
@given(data=st.data(), ex_id=st.sampled_from(sorted(ATOMS)))
def test_random_answers_are_never_undecided(data, ex_id):
    """Whatever mixture of complex, infinite, tiny and huge parts: a verdict, never 'undecided'."""
    answer = data.draw(_answers(ex_id))
    v = decide(get(ex_id), answer, symbolic_seconds=1.0)
    assert v.status != "undecided" and v.decided_by not in ("error", "timeout"), (answer, v)
    assert v.feedback and all(len(f) < 400 for f in v.feedback)


@pytest.mark.parametrize(
    "ex_id, answer",
    [
        ("logreg_grad", "X^T (yhat - y) + 0 X^T y"),
        ("logreg_grad", "X^T (yhat - y) (1 + 10^-11 - 10^-11)"),
        ("logreg_grad", "X^T (yhat - y) exp(0)"),
        ("least_squares", "inv(X^T X + 0 I) X^T y"),
        ("sigmoid_derivative", "exp(-s)/(1 + exp(-s))^2"),
        ("sigmoid_derivative", "1/(4 cosh(s/2)^2)"),
        ("sigmoid_derivative", "(1 - tanh(s/2)^2)/4"),
        ("xavier_var", "1/n_in + 0.1^40 - 10^-40"),
        ("ridge", "inv(X^T X + lambda I) X^T y"),
    ],
)
def test_exact_probes_keep_correct_answers_correct(ex_id, answer):
    v = decide(get(ex_id), answer, symbolic_seconds=1.0)
    assert v.status == "correct", (answer, v)
    assert "agree to 110 digits" in v.detail or "agree to 150 digits" in v.detail, v.detail


def test_exact_verdict_stands_when_sympy_gives_up(monkeypatch):
    # SymPy gives up at once (a CPU budget is charged at the kernel's clock tick, so a tiny budget alone
    # may let a quick proof through): the exact probes still decide both ways
    from gradproof.derive.seminar import deciding

    real = deciding.time_limit

    class GivesUp:  # the tiny symbolic budget runs out at once; the exact stage keeps its real limit
        def __init__(self, seconds):
            self.inner, self.now = real(seconds), seconds < 1e-3

        def __enter__(self):
            if self.now:
                raise deciding.SymbolicTimeout()
            return self.inner.__enter__()

        def __exit__(self, *exc):
            return self.inner.__exit__(*exc)

    monkeypatch.setattr(deciding, "time_limit", GivesUp)
    v = decide(get("sigmoid_derivative"), "1/(2 + exp(s) + exp(-s))", symbolic_seconds=1e-6)
    assert (v.status, v.decided_by) == ("correct", "exact")
    v = decide(get("sigmoid_derivative"), "1/(2 + exp(s) + exp(-s)) + 1e-12", symbolic_seconds=1e-6)
    assert (v.status, v.decided_by) == ("incorrect", "exact")


@pytest.mark.parametrize(
    "ex_id, answer",
    [
        ("logreg_grad", "X^T (yhat - y) + X^T y / exp(exp(1000000 w^T w))"),
        ("sigmoid_derivative", "sigma(s)(1 - sigma(s)) + exp(-100000 (s^2 + 1))"),
        ("sigmoid_derivative", "sigma(s)(1 - sigma(s)) + 1/cosh(10^6 (s^2 + 1))"),
    ],
)
def test_astronomical_parts_that_vanish_in_float64_are_wrong(ex_id, answer):
    v = decide(get(ex_id), answer, symbolic_seconds=1.0)
    assert (v.status, v.mistake) == ("incorrect", "too-large"), v


# ---------------------------------------------------------------------------
# The limits module's public API (shared with the spec reader)
# ---------------------------------------------------------------------------


def test_check_expression_works_on_typed_trees():
    check_expression(parse_answer("X^T (yhat - y) + exp(-40) X^T y"))
    check_expression(t.Pow(t.Add(t.Name("s"), t.Num("1")), t.Num("64")))
    for tree in (
        t.Pow(t.Num("0.1"), t.Num("60000")),
        t.Pow(t.Num("2"), t.Pow(t.Num("0.1"), t.Neg(t.Num("20")))),
        t.Pow(t.Pow(t.Pow(t.Add(t.Num("1"), t.Name("s")), t.Num("64")), t.Num("64")), t.Num("64")),
        t.Call("exp", (t.Call("exp", (t.Call("exp", (t.Name("s"),)),)),)),
    ):
        with pytest.raises(LimitExceeded) as err:
            check_expression(tree)
        assert err.value.code == "too-large" and "\n" not in str(err.value)


def test_limits_are_tunable_and_identical_by_default():
    node = parse_answer("(s + 1)^8")
    check_expression(node)
    with pytest.raises(LimitExceeded):
        check_expression(node, Limits(max_degree=4))
    with pytest.raises(LimitExceeded):
        check_expression(parse_answer("10^-20 s"), Limits(max_constant_magnitude=10))
    assert DEFAULT.max_constant_magnitude == 50 and DEFAULT.max_tower == 2


def test_one_grammar_reads_spec_notation_and_hides_nothing():
    """Spec files' index notation is read by the same grammar into the same typed tree and limits."""
    with pytest.raises(ParseFailure) as err:
        parse("Piecewise((s*(((2^64)^64)^64), s > 0), (0, True))", SPECS)
    assert err.value.code == "too-large"
    node = parse("sum(W[i, j] * z[i], i) + 1e-8 * z[j]", SPECS).node
    assert any(isinstance(n, t.Indexed) for n in t.walk(node))
    assert any(isinstance(n, t.Pow) for n in t.walk(parse("Piecewise((s^2, s > 0), (0, True))", SPECS).node))


@pytest.mark.parametrize(
    "forward",
    [
        "(((1+s)^64)^64)^64",
        "s*((((2^64)^64)^64)^64)",
        "s*(0.1^60000)^60000",
        "s*2^(0.1^-20)",
        "exp(exp(exp(s)))",
    ],
)
def test_spec_expressions_use_the_same_limits(forward):
    from gradproof.derive.specs.spec import SpecError, parse_spec

    text = f'name = "bomb"\ntitle = "Bomb"\ncategory = "activation"\nsummary = "x"\nforward = "{forward}"\n'
    with pytest.raises(SpecError) as err:
        parse_spec(text, "bomb.toml")
    msg = str(err.value)
    assert re.match(r"bomb\.toml:5:\d+: forward:", msg) and "\n" not in msg


def test_parse_answer_reports_limits_with_a_code():
    with pytest.raises(AnswerError) as err:
        parse_answer("(0.1^60000)^60000")
    assert err.value.code == "too-large"


# ---------------------------------------------------------------------------
# The tutor sees what stayed undecided
# ---------------------------------------------------------------------------


def test_class_report_counts_and_lists_undecided(tmp_path):
    from gradproof.derive.seminar.equivalence import Verdict
    from gradproof.reports.grading import ClassResult, Row, summary, undecided, write_reports

    rows = [Row(2, "ann", "logreg_grad", "X^T (yhat - y)"), Row(3, "bob", "logreg_grad", "<b>slow</b>")]
    verdicts = [
        Verdict("logreg_grad", rows[0].answer, "correct", "symbolic", credit=1.0, feedback=("correct",)),
        Verdict(
            "logreg_grad", rows[1].answer, "undecided", "timeout", feedback=("the check used up its 10 s of CPU time",)
        ),
    ]
    result = ClassResult(rows, verdicts, 2, exercises=[get("logreg_grad")])
    assert summary(result)[0]["undecided"] == 1
    assert undecided(result) == [
        {
            "student": "bob",
            "exercise": "logreg_grad",
            "answer": "<b>slow</b>",
            "reason": "the check used up its 10 s of CPU time",
        }
    ]
    write_reports(result, str(tmp_path))
    html = (tmp_path / "class.html").read_text()
    assert "Undecided: to look at" in html and "&lt;b&gt;slow&lt;/b&gt;" in html and "<b>slow" not in html
    assert "10 s of CPU time" in html


# ---------------------------------------------------------------------------
# The command line: one line, never a traceback
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer, status",
    [
        ("(0.1^60000)^60000", "invalid"),
        ("X^T (yhat - y) + 1e-9 X^T y", "incorrect"),
        ("log(0) X^T y", "incorrect"),
    ],
)
def test_cli_check_gives_a_verdict_without_traceback(answer, status):
    p = subprocess.run(
        [sys.executable, "-m", "gradproof.reports.cli", "check", "logreg_grad", answer],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    assert f"verdict:    {status}" in p.stdout
    assert "Traceback" not in p.stderr + p.stdout


def test_a_class_of_hostile_rows_is_graded_with_nothing_undecided(tmp_path):
    """The rows that used to run into the CPU limit or an internal error are now plain verdicts."""
    import csv

    answers = tmp_path / "answers.csv"
    rows = [
        ("a", "(0.1^60000)^60000"),
        ("b", "2^(0.1^-20)"),
        ("c", "0.1^60000 X^T (yhat - y)"),
        ("d", "(2^64)^64 X^T y"),
        ("e", "1.000000001 X^T (yhat - y)"),
        ("f", "log(-1) X^T (yhat - y)"),
        ("g", "X^T(yhat-y)"),
    ]
    with open(answers, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["student", "exercise", "answer"])
        w.writerows((s, "logreg_grad", a) for s, a in rows)
    out = tmp_path / "grades"
    p = subprocess.run(
        [sys.executable, "-m", "gradproof.reports.cli", "grade", str(answers), "-o", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert p.returncode == 0, p.stderr
    assert "0 undecided" in p.stdout and "Traceback" not in p.stderr
    with open(out / "class.csv", newline="") as fh:
        got = {r["student"]: r["status"] for r in csv.DictReader(fh)}
    assert got == {
        "a": "invalid",
        "b": "invalid",
        "c": "invalid",
        "d": "invalid",
        "e": "incorrect",
        "f": "incorrect",
        "g": "correct",
    }
