"""A corpus of hostile and broken answers: no code runs, no check exceeds its
limits, and every answer gets a clear message."""

import builtins
import os

import pytest
import sympy
import sympy.parsing.sympy_parser as sympy_parser

from gradproof.derive.seminar.answers.sandbox import Budget, CheckPool
from gradproof.derive.seminar.equivalence import decide
from gradproof.derive.seminar.exercises import get

SENTINEL = "/tmp/gradproof-corpus-sentinel"

# (category, answer)
CORPUS = [
    # code injection
    ("injection", "__import__('os').system('touch %s')" % SENTINEL),
    ("injection", "eval('1+1')"),
    ("injection", "exec(\"open('%s','w')\")" % SENTINEL),
    ("injection", "().__class__.__bases__[0].__subclasses__()"),
    ("injection", "X.__class__"),
    ("injection", "lambda: 0"),
    ("injection", "import os"),
    ("injection", "open('/etc/passwd').read()"),
    ("injection", "X^T (yhat - y); import os"),
    ("injection", "globals()"),
    ("injection", "Symbol('x').__init__"),
    ("injection", "sympify('x')"),
    ("injection", "{{7*7}}"),
    ("injection", "${7*7}"),
    ("injection", "<script>alert(1)</script>"),
    ("injection", '=HYPERLINK("http://evil")'),
    ("injection", "@SUM(1+1)*cmd|' /C calc'!A0"),
    ("injection", "\\input{/etc/passwd}"),
    ("injection", "\\write18{touch %s}" % SENTINEL),
    ("injection", "`touch %s`" % SENTINEL),
    # denial of service
    ("dos", "10^10^10"),
    ("dos", "((9^9)^9999)^9999"),
    ("dos", "factorial(10^7)"),
    ("dos", "(x+1)^(10^6)"),
    ("dos", "(X^T X)^1000000 X^T y"),
    ("dos", "9" * 500),
    ("dos", "1" * 40),
    ("dos", "1e999999"),
    ("dos", "2**2**2**2**2**2"),
    ("dos", "(" * 200 + "y" + ")" * 200),
    ("dos", "-" * 300 + "y"),
    ("dos", "X^T" + " (X X^T)" * 60 + " (yhat - y)"),
    ("dos", "+".join(["y"] * 150)),
    ("huge", "X^T exp(exp(exp(exp(exp(exp(exp(exp(exp(exp(yhat))))))))))"),
    ("dos", "(yhat + 1)^64^64"),
    # ambiguity
    ("ambiguous", "1/m X^T (yhat - y)"),
    ("ambiguous", "1/2 yhat"),
    ("ambiguous", "2 3 X^T y"),
    ("ambiguous", "(X^T X + 1)^-1 X^T y"),
    ("ambiguous", "X^T X * X^T X"),
    ("ambiguous", "y = X^T (yhat - y)"),
    ("ambiguous", "dL/dw = X^T(yhat - y)"),
    ("ambiguous", "sigma'(X w)"),
    # empty and whitespace
    ("empty", ""),
    ("empty", "   "),
    ("empty", "\t\n"),
    ("empty", "()"),
    ("empty", "[[ ]]"),
    # unicode
    ("unicode", "Х^T (yhat - y)"),  # Cyrillic X
    ("unicode", "X^T (ŷ − y) ✓"),
    ("unicode", "X\u200b^T(yhat - y)"),  # zero-width space
    ("unicode", "X^T (yhat - y)\u202e"),  # right-to-left override
    ("unicode", "\U0001f600"),
    ("unicode", "X^T (yhat \x00 - y)"),
    ("unicode", "∑ x_i"),
    ("unicode", "√(y)"),
    # huge
    ("huge", "X^T (yhat - y) " * 40),
    ("huge", "y" * 1000),
    ("huge", "a" * 100_000),
    ("huge", "1." + "0" * 50),
    ("huge", "0.000000000000000000001 y"),
    # malformed
    ("malformed", "X^T (yhat - y"),
    ("malformed", "X^T yhat - y)"),
    ("malformed", "X^^T y"),
    ("malformed", "X @@ y"),
    ("malformed", "* y"),
    ("malformed", "y -"),
    ("malformed", "[[j = ]]"),
    ("malformed", "\\frac{1}{"),
    ("malformed", "inv()"),
    ("malformed", "sigma(y, y)"),
    ("malformed", "\\unknowncommand{y}"),
    ("malformed", "Q^T (yhat - y)"),
]


def test_corpus_is_large_enough():
    assert len(CORPUS) >= 60
    assert {c for c, _ in CORPUS} == {"injection", "dos", "ambiguous", "empty", "unicode", "huge", "malformed"}


@pytest.fixture
def spies(monkeypatch):
    """Record every string handed to eval/exec/sympify/parse_expr while checking."""
    calls = []
    for mod, name in ((builtins, "eval"), (builtins, "exec"), (sympy, "sympify"), (sympy_parser, "parse_expr")):
        real = getattr(mod, name)

        def spy(*args, _real=real, _name=name, **kw):
            if args and isinstance(args[0], str):
                calls.append((_name, args[0]))
            return _real(*args, **kw)

        monkeypatch.setattr(mod, name, spy)
    return calls


def test_no_student_text_reaches_an_evaluator(spies):
    ex = get("logreg_grad")
    ex.oracle()  # built before spying starts to matter: only the answers are checked below
    spies.clear()
    for _, answer in CORPUS:
        v = decide(ex, answer, symbolic_seconds=1.0)
        assert v.feedback and all(v.feedback), answer
    leaked = [(n, s) for n, s in spies if any(len(a) > 3 and (a in s or s in a) for _, a in CORPUS if a.strip())]
    assert leaked == []
    assert not os.path.exists(SENTINEL)


@pytest.mark.parametrize("category, answer", CORPUS, ids=[f"{c}-{k}" for k, (c, _) in enumerate(CORPUS)])
def test_every_bad_answer_is_refused_with_a_message(category, answer):
    v = decide(get("logreg_grad"), answer, symbolic_seconds=1.0)
    assert v.status in ("invalid", "incorrect"), (answer, v)
    assert v.feedback[0] and len(v.feedback[0]) < 300
    if category == "dos":
        # refused before any mathematics: by a limit, or because it names no known function
        assert v.decided_by in ("limits", "parser"), (answer, v.feedback)
        assert v.decided_by == "limits" or "unknown function" in v.feedback[0], (answer, v.feedback)
    if category == "ambiguous":
        assert v.mistake in ("ambiguous", "syntax", "unsupported"), (answer, v.mistake)


def test_corpus_in_limited_workers_never_hits_a_limit():
    budget = Budget(cpu_seconds=10, memory_mb=1024, wall_seconds=30, symbolic_seconds=1.0)
    tasks = [(k, "logreg_grad", a) for k, (_, a) in enumerate(CORPUS)]
    with CheckPool(workers=2, budget=budget) as pool:
        out = pool.run(tasks)
    assert len(out) == len(CORPUS)
    for k, (_, answer) in enumerate(CORPUS):
        v = out[k]
        assert v.status in ("invalid", "incorrect"), (answer, v)
        assert v.decided_by not in ("timeout", "error"), (answer, v)
        assert v.feedback
    assert not os.path.exists(SENTINEL)


def test_checking_code_calls_no_evaluator():
    """The modules that touch student text name none of the string evaluators."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    files = (
        sorted((root / "derive" / "seminar" / "answers").glob("*.py"))
        + sorted((root / "derive" / "reading").glob("*.py"))
        + sorted((root / "derive" / "specs").glob("*.py"))
        + [root / "derive" / "seminar" / f"{name}.py" for name in ("equivalence", "deciding", "probes", "mutants")]
    ) + [
        root / "derive" / "seminar" / "exercises.py",
        root / "reports" / "grading.py",
        root / "reports" / "commands" / "exercises.py",
    ]
    pattern = re.compile(r"\b(parse_expr|lambdify|sympify|exec)\b|(?<![\w.])eval\s*\(|\.S\(")
    for f in files:
        code = "\n".join(
            re.sub(r"``[^`]*``", "", line)
            for line in f.read_text().splitlines()
            if not line.lstrip().startswith(("#", ">>>"))
        )
        found = pattern.search(code)
        assert not found, (f.name, found and found.group(0))
