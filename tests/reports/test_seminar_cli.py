"""The seminar commands as a user runs them: listing, hints, solutions, sheets, grading."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from gradproof.derive.seminar.answer_types import sample_answers
from gradproof.derive.seminar.exercises import exercises, get

ROOT = Path(__file__).resolve().parents[2]


def run(*args, env=None):
    import os

    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "gradproof.reports.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=e,
        timeout=600,
    )


def test_listing_never_prints_a_solution():
    out = run("exercises")
    assert out.returncode == 0
    for ex in exercises():
        accepted, _ = sample_answers(ex)
        for a in accepted:
            assert f'check {ex.id} "{a}"' not in out.stdout
    # the exercise the issue names: its right answer is not the usage example any more
    assert 'gradproof check ridge "inv(X^T X + lambda I) X^T y"' not in out.stdout
    assert "type e.g.: gradproof check ridge" in out.stdout


def test_listing_json_has_id_title_topic_hints():
    out = run("exercises", "--json")
    data = json.loads(out.stdout)
    assert len(data) >= 45
    for d in data:
        assert d["id"] and d["title"] and d["topic"] and isinstance(d["hints"], list) and len(d["hints"]) >= 2
        ex = get(d["id"])
        accepted, _ = sample_answers(ex)
        assert d["example"] not in accepted


def test_check_records_hints_and_solution():
    out = run("check", "linreg_grad", "2 X^T (X w - y)", "--hint", "1", "--json")
    d = json.loads(out.stdout)
    assert d["status"] == "correct" and d["hints_shown"] == 1 and d["credit"] == pytest.approx(0.9)
    assert d["link"].startswith("derivation: `gradproof derive linear_regression`")
    out = run("check", "linreg_grad", "2 X^T (X w - y)", "--solution", "--json")
    d = json.loads(out.stdout)
    assert d["solution_shown"] is True and d["credit"] == 0 and d["credit_before_help"] == 1
    assert d["solution"][-1]["text"].startswith("dL/dw = ")
    text = run("check", "linreg_grad", "--hint", "2").stdout
    assert "hint 1/" in text and "hint 2/" in text and "recorded" in text and "verdict" not in text
    assert run("check", "linreg_grad").returncode == 2


def test_check_a_students_variant():
    ex = get("linear_neuron_grad_w")
    student = next(f"s{k}" for k in range(200) if ex.variant_for(f"s{k}").symbols[0].name == "Phi")
    out = run("check", "linear_neuron_grad_w", "Phi^T Delta", "--student", student, "--json")
    assert json.loads(out.stdout)["status"] == "correct"


def test_grade_shows_variants_steps_hints(tmp_path):
    ex = get("linear_neuron_grad_w")
    phi = next(f"s{k}" for k in range(200) if ex.variant_for(f"s{k}").symbols[0].name == "Phi")
    steps_ok = "(m/2) log(2 pi sigma^2) + (y - X w)^T (y - X w)/(2 sigma^2); 2 X^T (y - X w); inv(X^T X) X^T y"
    steps_student = next(f"t{k}" for k in range(200) if get("mle_gaussian_steps").variant_for(f"t{k}").variant == 0)
    path = tmp_path / "answers.csv"
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["student", "exercise", "answer", "hints", "solution"])
        w.writerow([phi, "linear_neuron_grad_w", "Phi^T Delta", "2", "no"])
        w.writerow(
            [
                phi,
                "symmetry_choice",
                next(o.key for o in get("symmetry_choice").variant_for(phi).options if o.correct),
                "0",
                "yes",
            ]
        )
        w.writerow([steps_student, "mle_gaussian_steps", steps_ok, "", ""])
    out = run("grade", str(path), "-o", str(tmp_path / "g"))
    assert out.returncode == 0, out.stderr
    with open(tmp_path / "g" / "class.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows[0]["status"] == "correct" and rows[0]["hints"] == "2" and rows[0]["credit"] == "0.8"
    assert rows[0]["variant"] != "0"
    assert rows[1]["status"] == "correct" and rows[1]["solution_viewed"] == "yes" and rows[1]["credit"] == "0"
    assert rows[2]["steps"] == "1:correct 2:incorrect 3:correct" and rows[2]["mistake"] == "step2:sign"
    html = next((tmp_path / "g").glob("student-t*.html")).read_text()
    assert "first goes wrong" in html and "gradproof derive mle_gaussian" in html
    assert '<li class="incorrect">dL/dw: incorrect (sign)</li>' in html
    html = (tmp_path / "g" / "class.html").read_text()
    assert "Hints taken" in html and "Solutions viewed" in html


def test_grade_refuses_a_bad_hints_column(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("student,exercise,answer,hints\nann,linreg_grad,1,many\n")
    out = run("grade", str(path), "-o", str(tmp_path / "g"))
    assert out.returncode == 2 and "line 2" in out.stderr and "Traceback" not in out.stderr


def test_bad_tutor_file_is_file_line_exit_2(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text('[[exercise]]\nid = "x"\nkind = "essay"\nreference = "1"\n')
    out = run("exercises", env={"GRADPROOF_EXERCISES": str(path)})
    assert out.returncode == 2 and f"{path}:3: unknown answer type" in out.stderr and "Traceback" not in out.stderr


def test_sheet_writes_exercises_and_separate_solutions(tmp_path):
    out = run(
        "sheet",
        "ridge",
        "two_layer_delta",
        "symmetry_choice",
        "mle_gaussian_steps",
        "-o",
        str(tmp_path),
        "--format",
        "html,latex",
        "--variant-for",
        "<b>ann</b>",
    )
    assert out.returncode == 0, out.stderr
    ex_html = (tmp_path / "exercises.html").read_text()
    sol_html = (tmp_path / "solutions.html").read_text()
    assert "&lt;b&gt;ann&lt;/b&gt;" in ex_html and "<b>ann</b>" not in ex_html
    assert "Worked solution" not in ex_html and "Worked solution" in sol_html
    assert "(X^T X + lambda I)^-1 X^T y" in sol_html and "(X^T X + lambda I)^-1 X^T y" not in ex_html
    assert "Given:" in ex_html and "delta = [[" in sol_html
    tex = (tmp_path / "solutions.tex").read_text()
    assert r"\gpdisplay{" in tex and r"\textbackslash{}" not in tex.split(r"\begin{document}")[0]
    assert "ann" in tex and "<b>" not in tex.replace(r"\textless{}", "")


def test_sheet_rejects_unknown_exercise_and_format(tmp_path):
    out = run("sheet", "no_such", "-o", str(tmp_path))
    assert out.returncode == 2 and "unknown exercise" in out.stderr
    out = run("sheet", "--format", "docx", "-o", str(tmp_path))
    assert out.returncode == 2 and "unknown format" in out.stderr


def test_sheet_pdf(tmp_path, need_tools):
    need_tools("pdflatex")
    out = run(
        "sheet",
        "ridge",
        "two_layer_delta",
        "symmetry_choice",
        "mle_gaussian_steps",
        "softmax_jacobian",
        "-o",
        str(tmp_path),
        "--format",
        "pdf",
    )
    assert out.returncode == 0, out.stderr
    for stem in ("exercises", "solutions"):
        assert (tmp_path / f"{stem}.pdf").read_bytes().startswith(b"%PDF")
