"""``gradproof experiment init`` and the new ``gradproof train`` flags, as a user runs them."""

from __future__ import annotations

import subprocess
import sys

import pytest

from gradproof.reports.cli import main


def run(*args):
    return subprocess.run([sys.executable, "-m", "gradproof.reports.cli", *args], capture_output=True, text=True)


def test_experiment_init_prints_per_layer_measurements_and_writes_the_figure(tmp_path):
    out = tmp_path / "init.svg"
    p = run("experiment", "init", "--layers", "3", "--width", "60", "--samples", "40", "--sigma0", "1", "-o", str(out))
    assert p.returncode == 0, p.stderr
    rows = [ln for ln in p.stdout.splitlines()[1:] if ln.strip()[:1].isdigit()]
    assert [int(r.split()[0]) for r in rows] == [1, 2, 3]
    assert "towards the input delta grows" in p.stdout
    assert out.read_text().startswith("<svg")


def test_experiment_init_named_initialisation_json(capsys):
    import json

    assert (
        main(
            [
                "experiment",
                "init",
                "--layers",
                "2",
                "--width",
                "30",
                "--samples",
                "20",
                "--init",
                "he",
                "--activation",
                "relu",
                "--json",
            ]
        )
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert data["init"] == "he" and data["activation"] == "relu" and len(data["delta_norm"]) == 2
    assert "hist" not in data


@pytest.mark.parametrize(
    "args",
    [
        ["--layers", "x"],
        ["--layers", "0"],
        ["--sigma0", "-1"],
        ["--sigma0", "nan"],
        ["--init", "foo"],
        ["--activation", "softmax"],
        ["--sigma0", "1", "--init", "he"],
        ["-o", "fig.txt"],
        ["-o", "/no/such/dir/f.svg"],
        ["--width", "4000", "--samples", "100000"],
    ],
)
def test_experiment_bad_values_are_one_line_exit_2(args, capsys):
    assert main(["experiment", "init", *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("gradproof experiment: ")


def test_unknown_experiment_is_exit_2(capsys):
    assert main(["experiment", "nope"]) == 2
    assert "unknown experiment 'nope'" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args",
    [
        ["--alpha", "0"],
        ["--alpha", "abc"],
        ["--init", "bad"],
        ["--l1", "1", "--l2", "1"],
        ["--l2", "-1"],
        ["--early-stopping", "3"],
        ["--validation", "2"],
        ["--validation", "0.2", "--early-stopping", "0"],
        ["--sigma0", "x"],
        ["--init", "gaussian"],
        ["--init", "he", "--sigma0", "1"],
        ["--activation", "softmax"],
        ["--train-size", "5"],
    ],
)
def test_train_bad_values_are_one_line_exit_2(args, capsys):
    assert main(["train", "--epochs", "1", *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("gradproof train: ")


def test_train_with_l2_validation_and_early_stopping(capsys):
    import json

    assert (
        main(
            [
                "train",
                "--json",
                "--epochs",
                "200",
                "--alpha",
                "3",
                "--l2",
                "0.001",
                "--validation",
                "0.3",
                "--early-stopping",
                "2",
                "--train-size",
                "100",
                "--hidden",
                "32",
                "--activation",
                "relu",
                "--init",
                "he",
            ]
        )
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert data["settings"] == {
        "alpha": 3.0,
        "l2": 0.001,
        "validation": 0.3,
        "patience": 2,
        "train_size": 100,
        "hidden": 32,
        "activation": "relu",
        "init": "he",
    }
    c = data["curve"]
    assert len(c["validation_loss"]) == len(c["iterations"]) and c["best_iteration"] in c["iterations"]
    assert data["sizes"] == [64, 32, 10] and data["gradient_check"]["passed"]


def test_help_lists_the_new_commands_without_sympy():
    code = (
        "import sys; from gradproof.reports.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit: pass\n"
        "assert 'sympy' not in sys.modules and 'numpy' not in sys.modules, sorted(sys.modules)"
    )
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert "experiment" in p.stdout and "coverage" in p.stdout
