"""Grading a class and the exercise commands, as a user runs them."""

import csv
import io
import json
import os
import subprocess
import sys
import unicodedata
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradproof.reports.cli import main
from gradproof.reports.grading import (
    GradingError,
    csv_safe,
    csv_text,
    formula_risk,
    grade,
    read_answers,
    student_filename,
    summary,
)

EVIL_STUDENT = "<img src=x onerror=alert(1)>"
ROWS = [
    ("alice", "logreg_grad", "X^T(yhat - y)"),
    ("alice", "linear_grad_W", "Delta^T Z"),
    ("alice", "sigmoid_bce_grad", "yhat - y"),
    ("bob", "logreg_grad", "X^T(y - yhat)"),
    ("bob", "linear_grad_W", "Z^T Delta"),
    ("bob", "nonexistent", "1"),
    (EVIL_STUDENT, "logreg_grad", "<script>alert('x')</script>"),
    (EVIL_STUDENT, "linear_grad_W", '=HYPERLINK("http://evil","x")'),
    ("carol", "logreg_grad", "  X^T(yhat  -  y) "),
]


def write_csv(path, rows, header=("student", "exercise", "answer")):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    d = tmp_path_factory.mktemp("grade")
    src = write_csv(d / "answers.csv", ROWS)
    out = d / "out"
    rc = main(["grade", str(src), "-o", str(out)])
    assert rc == 0
    return out


def test_csv_safe_neutralises_formulas():
    for bad in ("=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"):
        assert csv_safe(bad).startswith("'")
    assert csv_safe("X^T y") == "X^T y"


def test_read_answers_validates_the_header(tmp_path):
    p = write_csv(tmp_path / "a.csv", [("a", "b")], header=("student", "answer"))
    with pytest.raises(GradingError, match="exercise"):
        read_answers(str(p))
    with pytest.raises(GradingError, match="no such file"):
        read_answers(str(tmp_path / "missing.csv"))
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(GradingError, match="UTF-8"):
        read_answers(str(tmp_path / "bin.csv"))


def test_columns_in_any_order_and_bom(tmp_path):
    p = tmp_path / "b.csv"
    p.write_text("\ufeffAnswer,Student,Exercise\nZ^T Delta,zoe,linear_grad_W\n", encoding="utf-8")
    (row,) = read_answers(str(p))
    assert (row.student, row.exercise, row.answer) == ("zoe", "linear_grad_W", "Z^T Delta")


def test_identical_answers_are_checked_once():
    from gradproof.reports.grading import Row

    rows = [Row(k, f"s{k}", "linear_grad_W", "Z^T Delta" if k % 2 else " Z^T  Delta") for k in range(6)]
    result = grade(rows, workers=1, progress=False)
    assert result.unique_checks == 1
    assert all(v.status == "correct" for v in result.verdicts)
    assert [v.answer for v in result.verdicts] == [r.answer for r in rows]


def test_class_csv_has_every_answer_and_no_formula(graded):
    with open(graded / "class.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(ROWS)
    for r in rows:
        for cell in r.values():
            assert not cell or cell[0] not in "=+-@", cell
    by = {(r["student"], r["exercise"]): r for r in rows}
    assert by[("alice", "logreg_grad")]["status"] == "correct"
    assert by[("bob", "logreg_grad")]["mistake"] == "sign"
    assert by[("alice", "linear_grad_W")]["mistake"] == "transposed"
    assert by[("alice", "sigmoid_bce_grad")]["credit"] == "0.5"
    assert by[("bob", "nonexistent")]["status"] == "invalid"
    assert by[("carol", "logreg_grad")]["status"] == "correct"


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []
        self.text = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def test_html_escapes_everything_a_student_typed(graded):
    files = sorted(os.listdir(graded))
    evil = student_filename(EVIL_STUDENT)
    assert evil in files and "<" not in evil
    for name in [evil, "class.html"]:
        html = (graded / name).read_text(encoding="utf-8")
        p = _Collect()
        p.feed(html)
        assert "script" not in p.tags and "img" not in p.tags
        assert EVIL_STUDENT in "".join(p.text)  # shown, as text
    assert "<script>alert" not in (graded / evil).read_text(encoding="utf-8")


def test_per_student_pages_and_summary(graded):
    pages = [f for f in os.listdir(graded) if f.startswith("student-")]
    assert len(pages) == 4
    alice = (graded / student_filename("alice")).read_text(encoding="utf-8")
    assert "X^T @ (yhat - y)" in alice  # how the answer was read
    assert "divide by m" in alice
    with open(graded / "summary.csv", newline="") as fh:
        summ = {r["exercise"]: r for r in csv.DictReader(fh)}
    assert summ["logreg_grad"]["correct"] == "2" and summ["logreg_grad"]["answers"] == "4"
    assert not [f for f in os.listdir(graded) if f.endswith(".tmp")]


def test_summary_counts_common_mistakes():
    from gradproof.derive.seminar.equivalence import Verdict
    from gradproof.reports.grading import ClassResult, Row

    rows = [Row(k, f"s{k}", "e", "a") for k in range(4)]
    vs = [Verdict("e", "a", "incorrect", "numeric", feedback=("sign error",), mistake="sign")] * 3
    vs.append(Verdict("e", "a", "correct", "symbolic", credit=1.0))
    (s,) = summary(ClassResult(rows, vs))
    assert (s["correct"], s["incorrect"]) == (1, 3)
    assert s["mistakes"][0] == {"mistake": "sign", "message": "sign error", "count": 3}


def run_cli(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "gradproof.reports.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


def test_cli_check_json_and_exit_codes():
    r = run_cli("check", "logreg_grad", "X^T (y - yhat)", "--json")
    assert r.returncode == 0
    d = json.loads(r.stdout)
    assert d["status"] == "incorrect" and d["mistake"] == "sign" and d["reading"] == "X^T @ (y - yhat)"
    r = run_cli("check", "no_such_exercise", "x")
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr and "unknown exercise" in r.stderr


def test_cli_check_text_shows_reading_and_decider():
    r = run_cli("check", "softmax_jacobian", r"\sigma_k(\delta_{jk} - \sigma_j)")
    assert r.returncode == 0
    assert "read as:    sigma_k * ([[j = k]] - sigma_j)" in r.stdout
    assert "correct (decided by symbolic)" in r.stdout


def test_cli_exercises_json():
    r = run_cli("exercises", "--json")
    assert r.returncode == 0
    bank = json.loads(r.stdout)
    assert {"logreg_grad", "softmax_jacobian"} <= {e["id"] for e in bank}
    assert all(e["symbols"] for e in bank if e["answer_type"] == "formula")


def test_cli_grade_bad_input_is_one_line(tmp_path):
    (tmp_path / "x.csv").write_text("who,what\n1,2\n")
    r = run_cli("grade", str(tmp_path / "x.csv"), "-o", str(tmp_path / "o"))
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "missing column" in r.stderr
    assert not (tmp_path / "o").exists()


def test_cli_grade_is_quiet_on_stderr_when_not_a_terminal(tmp_path):
    src = write_csv(
        tmp_path / "a.csv", [("ann", "ridge", "(X'X + lambda I)^-1 X'y"), ("ben", "ridge", "inv(X^T X) X^T y")]
    )
    r = run_cli("grade", str(src), "-o", str(tmp_path / "out"))
    assert r.returncode == 0
    assert r.stderr == ""  # no progress bar in a pipe
    assert "graded 2 answers" in r.stdout
    with open(tmp_path / "out" / "class.csv", newline="") as fh:
        rows = {row["student"]: row for row in csv.DictReader(fh)}
    assert rows["ann"]["status"] == "correct"
    assert rows["ben"]["mistake"] == "tutor:1" and rows["ben"]["credit"] == "0.25"


# ---------------------------------------------------------------------------
# Hostile CSVs: input refused in one line, output no spreadsheet runs
# ---------------------------------------------------------------------------


def spreadsheet_formula(cell: str) -> bool:
    """LibreOffice/Excel-style reading, written independently of the code under test:
    after blanks (any Unicode space, control or format character other than tab
    and CR), a first character that folds (NFKC) to = + - @ | %, or a tab/CR."""
    k = 0
    while (
        k < len(cell)
        and cell[k] not in "\t\r"
        and (cell[k].isspace() or unicodedata.category(cell[k]) in ("Cc", "Cf", "Zs", "Zl", "Zp"))
    ):
        k += 1
    if k == len(cell):
        return False
    first = unicodedata.normalize("NFKC", cell[k])[:1]
    return first in set("=+-@|%\t\r\n")


TRIGGER_CELLS = [
    "=1+1",
    "+1",
    "-1",
    "@SUM(A1)",
    "\t=1",
    "\r=1",
    "|calc",
    "%0A",
    " =1+1",
    "\u00a0=1",
    "\u3000=1",
    "\u200b=1",
    "\ufeff=1",
    "\u202e=1",
    "＝1+1",
    "＋1",
    "－1",
    "＠x",
    "｜x",
    "％x",
    '  \u2003＝HYPERLINK("http://x")',
    "\n=1",
]
SAFE_CELLS = ["X^T y", "yhat - y", "1-2", "a=b", "", "0", "'quoted", "y\r=1+1", "a\nb", 'say "hi"', "x,y"]


def test_formula_cells_are_neutralised_by_every_spreadsheet_rule():
    for cell in TRIGGER_CELLS:
        assert spreadsheet_formula(cell) and formula_risk(cell), repr(cell)
        assert csv_safe(cell) == "'" + cell and not spreadsheet_formula(csv_safe(cell)), repr(cell)
    for cell in SAFE_CELLS:
        assert csv_safe(cell) == cell, repr(cell)


def _parse(text):
    return list(csv.reader(io.StringIO(text, newline="")))


def test_carriage_returns_and_line_feeds_are_quoted():
    text = csv_text([["y\r=1+1", "a\nb", "c\r\nd", 'q"uote', "s,ep", "plain"]])
    assert text == '"y\r=1+1","a\nb","c\r\nd","q""uote","s,ep",plain\r\n'
    assert _parse(text) == [["y\r=1+1", "a\nb", "c\r\nd", 'q"uote', "s,ep", "plain"]]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12), min_size=1, max_size=5),
        min_size=1,
        max_size=6,
    )
)
def test_csv_round_trip_never_yields_a_formula(rows):
    parsed = _parse(csv_text(rows))
    assert len(parsed) == len(rows)
    for row, back in zip(rows, parsed):
        assert len(back) == len(row)
        for cell, got in zip(row, back):
            assert not spreadsheet_formula(got), (cell, got)
            assert got == ("'" + cell if formula_risk(cell) else cell)  # exactly the cell, or it behind one quote


HOSTILE_NAMES = [
    "../../x",
    "/etc/passwd",
    "..",
    ".",
    "con",
    "a/b\\c",
    "x" * 500,
    "\u202eevil",
    "y\r=1+1",
    "=cmd|' /C calc'!A0",
    " =1+1",
    "\u3000＝1+1",
    "\u200b=1",
    "-2+3",
    "@SUM(1)",
    "%0A",
    "＋1",
    "",
    "\x1b[2Jterm",
    "<b>bold</b>",
]


def test_a_hostile_class_is_graded_exactly(tmp_path, capsys):
    rows = [
        (name, "logreg_grad", TRIGGER_CELLS[k % len(TRIGGER_CELLS)] if k % 3 else "X^T(yhat - y)")
        for k, name in enumerate(HOSTILE_NAMES)
    ]
    rows.append(("z", "=1+1", "@x"))  # an unknown exercise named like a formula
    src = write_csv(tmp_path / "class.csv", rows)
    out = tmp_path / "out"
    assert main(["grade", str(src), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "\x1b" not in printed  # a CSV cell cannot drive the terminal
    assert sorted(os.listdir(tmp_path)) == ["class.csv", "out"]  # nothing written outside the folder
    import re

    for f in os.listdir(out):
        assert f in ("class.html", "class.csv", "summary.csv", ".gradproof-output") or re.fullmatch(
            r"student-[A-Za-z0-9_-]{1,40}-[0-9a-f]{8}\.html", f
        ), f
    pages = [f for f in os.listdir(out) if f.startswith("student-")]
    assert len(pages) == len(HOSTILE_NAMES) + 1  # one page per distinct name, none overwritten
    for name in ("class.csv", "summary.csv"):
        with open(out / name, newline="", encoding="utf-8") as fh:
            table = list(csv.reader(fh))
        for line in table:
            for cell in line:
                assert not spreadsheet_formula(cell), (name, cell)
    with open(out / "class.csv", newline="", encoding="utf-8") as fh:
        back = list(csv.DictReader(fh))
    assert len(back) == len(rows)
    for (student, _exercise, answer), got in zip(rows, back):
        student = student.strip()  # names are read stripped of surrounding blanks
        assert got["student"] == (("'" + student) if formula_risk(student) else student)
        assert got["answer"] == (("'" + answer) if formula_risk(answer) else answer)


def _sparse(path, size):
    with open(path, "wb") as fh:
        fh.truncate(size)


BAD_INPUTS = {
    "empty": (b"", "empty"),
    "header only": (b"student,exercise,answer\n", "no answers"),
    "missing columns": (b"name,answer\nx,1\n", "missing column"),
    "binary": (bytes(range(256)) * 4, "UTF-8"),
    "UTF-16 with BOM": ("student,exercise,answer\nx,logreg_grad,1\n".encode("utf-16"), "UTF-8"),
    "NUL byte": (b"student,exercise,answer\nx,logreg_grad,X^T\x00y\n", "NUL"),
    "unterminated quote": (b'student,exercise,answer\nx,logreg_grad,"X^T y\nbob,logreg_grad,1\n', "line"),
    "stray quote": (b'student,exercise,answer\nx,logreg_grad,"X"T y\n', "line"),
    "huge field": (b"student,exercise,answer\nx,logreg_grad," + b"1" * 200_000 + b"\n", "field"),
    "too many rows": (b"student,exercise,answer\n" + b"s,logreg_grad,1\n" * 100_001, "more than"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS) + ["larger than 64 MB", "a folder", "missing file"])
def test_bad_input_csv_is_one_line_exit_2(case, tmp_path, capsys):
    src = tmp_path / "in.csv"
    if case in BAD_INPUTS:
        src.write_bytes(BAD_INPUTS[case][0])
        word = BAD_INPUTS[case][1]
    elif case == "larger than 64 MB":
        _sparse(src, 65 * 1024 * 1024)
        word = "64 MB"
    elif case == "a folder":
        src.mkdir()
        word = "folder"
    else:
        word = "no such file"
    rc = main(["grade", str(src), "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert word in err, err
    assert not (tmp_path / "out").exists()
