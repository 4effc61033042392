"""The command line as a user runs it: list and derive."""

import json
import subprocess
import sys


def run(*args):
    return subprocess.run([sys.executable, "-m", "gradproof.reports.cli", *args], capture_output=True, text=True)


def test_help_does_not_import_sympy():
    code = "import sys; from gradproof.reports.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit: pass\nassert 'sympy' not in sys.modules"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "usage: gradproof" in r.stdout


def test_list_shows_every_module():
    r = run("list", "--json")
    assert r.returncode == 0
    listed = json.loads(r.stdout)
    assert all(set(t) == {"name", "category", "title", "section"} for t in listed)  # "kind" is the code's contract
    assert {t["name"]: t["category"] for t in listed}["softmax_cross_entropy"] == "fused"
    names = {t["name"] for t in listed}
    for nm in [
        "perceptron",
        "linear_neuron",
        "linear",
        "affine",
        "sigmoid",
        "tanh",
        "relu",
        "leaky_relu",
        "softmax",
        "squared_error",
        "mse",
        "mse_multi",
        "bce",
        "cross_entropy",
        "sigmoid_bce",
        "softmax_cross_entropy",
        "l2_penalty",
        "l1_penalty",
        "linear_regression",
        "logistic_regression",
        "multinomial_logistic_regression",
    ]:
        assert nm in names


def test_derive_softmax_cross_entropy_text_and_json_agree():
    t = run("derive", "softmax_cross_entropy")
    assert t.returncode == 0
    assert "dL/dS = (P - Y)/m" in t.stdout
    j = run("derive", "softmax_cross_entropy", "--format", "json")
    data = json.loads(j.stdout)
    assert data["category"] == "fused" and "kind" not in data
    back = next(r for r in data["results"] if r["key"] == "backward")
    assert back["matrix"]["text"] == "(P - Y)/m"
    assert [s["rule"] for s in data["steps"]] == [
        ln.split("[", 1)[1].split("]")[0]
        for ln in t.stdout.splitlines()
        if ln.strip()[:3].strip().rstrip(".").isdigit()
    ]
    assert data["passed"] is True


def test_derive_multinomial_logistic_regression():
    r = run("derive", "multinomial_logistic_regression")
    assert r.returncode == 0
    assert "dL/dW = (X^T (P - Y))/m" in r.stdout


def test_derive_latex():
    r = run("derive", "linear", "--format", "latex")
    assert r.returncode == 0
    assert r"\mathbf{W}^{\top}" in r.stdout


def test_unknown_topic_is_one_line_and_exit_2():
    r = run("derive", "sofmax")
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1
    assert "softmax" in r.stderr and "Traceback" not in r.stderr


def test_unreadable_spec_and_unwritable_report_are_one_line_exit_2(tmp_path):
    r = run("derive", "--spec", str(tmp_path / "missing.toml"))
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert "cannot read the spec" in r.stderr and "Traceback" not in r.stderr
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = run("report", "linear", "-o", str(blocker / "sub"), "--format", "html")
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert "cannot write the report" in r.stderr
