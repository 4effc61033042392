"""The seminar in a real browser: Debian's Chromium, headless, loopback only.

``gradproof serve`` runs as its own process on a free loopback port; every
request the browser makes to anything else is aborted and recorded.  A
student signs in, types an answer, sees it read back as MathML, submits and
sees the verdict, asks for a hint; a second student cannot reach the
first's answer; the tutor sees the submission and downloads the class CSV.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from test_browser import CHROMIUM_ARGS

EXERCISES = "linear_grad_W,symmetry_choice"


def _missing(reason):
    if os.environ.get("GRADPROOF_REQUIRE_TOOLS") == "1":
        pytest.fail(f"GRADPROOF_REQUIRE_TOOLS=1 but {reason}")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("served")
    roster = tmp / "class.csv"
    roster.write_text("student,name\nalice,Alice\nbob,Bob\n", encoding="utf-8")
    base = [
        sys.executable,
        "-m",
        "gradproof.reports.cli",
        "serve",
        "--roster",
        str(roster),
        "--data",
        str(tmp / "data"),
        "--exercises",
        EXERCISES,
    ]
    init = subprocess.run(
        base + ["--codes-out", str(tmp / "codes.csv"), "--init-only"], capture_output=True, text=True, timeout=300
    )
    assert init.returncode == 0, init.stderr
    codes = {r["student"]: r["code"] for r in csv.DictReader(io.StringIO((tmp / "codes.csv").read_text()))}
    secret = re.search(r"tutor secret \(shown once, stored only hashed\): (\S+)", init.stdout).group(1)
    port = _free_port()
    # the server keeps its own descriptor of the log; ours is closed at once
    with open(tmp / "serve.log", "w+", encoding="utf-8") as log:
        proc = subprocess.Popen(base + ["--port", str(port), "--lanes", "1"], stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(1200):
            if proc.poll() is not None:
                pytest.fail(f"gradproof serve exited: {(tmp / 'serve.log').read_text()}")
            try:
                urllib.request.urlopen(url + "/", timeout=2).read()
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.1)
        else:
            pytest.fail("gradproof serve did not answer within 120 s")
        yield {"url": url, "codes": codes, "secret": secret, "tmp": tmp}
    finally:
        proc.terminate()  # our own child, by its handle
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.fixture(scope="module")
def browser(served, tmp_path_factory):
    chromium = os.environ.get("GRADPROOF_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(chromium):
        _missing(f"no Chromium at {chromium} (Debian: apt-get install chromium; or set GRADPROOF_CHROMIUM)")
    try:
        from playwright.sync_api import sync_playwright
    except ModuleNotFoundError:
        _missing("the playwright Python package is not installed (pip install -e '.[test]')")
    blocked = []

    def route(r):
        if r.request.url.startswith(served["url"] + "/"):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)

        def context():
            ctx = b.new_context(accept_downloads=True)
            ctx.route("**/*", route)
            return ctx

        try:
            yield {"context": context, "blocked": blocked}
        finally:
            b.close()


def _sign_in(page, url, code):
    page.goto(url + "/")
    page.fill("#code", code)
    page.click("#signin")
    page.wait_for_load_state("load")


def test_a_seminar_in_the_browser(served, browser, tmp_path):
    url = served["url"]
    alice = browser["context"]().new_page()
    _sign_in(alice, url, served["codes"]["alice"])
    assert alice.url == url + "/student" and alice.inner_text("#me") == "alice"

    alice.goto(url + "/ex/linear_grad_W")
    alice.type("#answer", "Z'Delta")
    alice.wait_for_selector("#preview-math math", timeout=30_000)
    assert alice.inner_text("#preview-text") == "Z^T @ Delta"
    assert (
        alice.evaluate("document.querySelector('#preview-math math').namespaceURI")
        == "http://www.w3.org/1998/Math/MathML"
    )
    box = alice.evaluate(
        "(() => { const r = document.querySelector('#preview-math math').getBoundingClientRect();"
        " return [r.width, r.height]; })()"
    )
    assert box[0] > 0 and box[1] > 0

    alice.click("#submit")
    alice.wait_for_selector("#verdict", timeout=60_000)
    assert alice.inner_text("#verdict").startswith("correct")
    sub = re.search(r"sub=(\d+)", alice.url).group(1)

    alice.click("#hint")
    alice.wait_for_selector(".hint")
    assert alice.inner_text(".hint").startswith("Hint 1/")

    bob = browser["context"]().new_page()
    _sign_in(bob, url, served["codes"]["bob"])
    bob.goto(f"{url}/ex/linear_grad_W?sub={sub}")
    assert bob.query_selector("#feedback") is None and "Z'Delta" not in bob.content()
    bob.goto(url + "/student")
    assert "Z'Delta" not in bob.content()
    bob.goto(url + "/tutor")
    assert bob.url == url + "/student"  # a student is sent back to their own page

    tutor = browser["context"]().new_page()
    _sign_in(tutor, url, served["secret"])
    assert tutor.url == url + "/tutor"
    assert "Z'Delta" in tutor.inner_text("#per-student")
    with tutor.expect_download() as dl:
        tutor.click("#export-csv")
    path = tmp_path / "class.csv"
    dl.value.save_as(str(path))
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert [(r["student"], r["exercise"], r["answer"], r["status"]) for r in rows] == [
        ("alice", "linear_grad_W", "Z'Delta", "correct")
    ]
    assert browser["blocked"] == []
