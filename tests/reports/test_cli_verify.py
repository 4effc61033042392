"""gradproof verify: every layer, JSON records, exit codes, a planted fault named."""

import json
import subprocess
import sys


def run(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "gradproof.reports.cli", *args], capture_output=True, text=True, cwd=cwd
    )


def test_verify_json_records_have_the_contract_fields():
    r = run("verify", "affine", "--json")
    assert r.returncode == 0, r.stderr
    recs = json.loads(r.stdout)
    assert recs and all(set(x) >= {"topic", "check", "max_rel_error", "tolerance", "passed"} for x in recs)
    checks = " | ".join(x["check"] for x in recs)
    for layer in ("exact", "central differences", "directional", "complex step", "mutation"):
        assert layer in checks, layer


def test_verify_fails_and_names_a_planted_fault(tmp_path):
    out = tmp_path / "code"
    r = run("codegen", "affine", "-o", str(out))
    assert r.returncode == 0, r.stderr
    src = (out / "affine.py").read_text()
    assert "z.T @ delta" in src
    (out / "affine.py").write_text(src.replace("z.T @ delta", "2 * z.T @ delta"))
    r = run("verify", "affine", "--code", str(out))
    assert r.returncode == 1
    assert "FAIL" in r.stdout and "dL/dW" in r.stdout
    assert "analytic" in r.stdout and "numeric" in r.stdout
    # without the fault the same code passes
    (out / "affine.py").write_text(src)
    assert run("verify", "affine", "--code", str(out)).returncode == 0


def test_verify_networks():
    r = run("verify", "network:mlp", "network:dag", "network:rnn", "--json")
    assert r.returncode == 0, r.stderr
    topics = {x["topic"] for x in json.loads(r.stdout)}
    assert topics == {"network:mlp", "network:dag", "network:rnn"}


def test_verify_unknown_topic_exit_2():
    r = run("verify", "nosuchtopic")
    assert r.returncode == 2
    assert "unknown topic" in r.stderr
