"""The seminar web application through Starlette's TestClient.

One application (three exercises, two check lanes) is started per module;
each test signs in its own clients.  Sign-in, CSRF, isolation between
students, escaping, rate limits, hints and solutions, the exports, and
persistence across a restart are asserted on what the server answers and
on what the database holds.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
import subprocess
import sys
import time

import pytest

pytest.importorskip("starlette")
from starlette.testclient import TestClient

from gradproof.reports.serve.app import Seminar, create_app
from gradproof.reports.serve.store import DB_NAME, Store, digest

EXERCISES = ["linear_grad_W", "linear_neuron_grad_w", "symmetry_choice"]
ROSTER = [("alice", "Alice A."), ("bob", "<b>Bob</b> & co"), ("carol", ""), ("dave", ""), ("erin", "")]
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def _client(app) -> TestClient:
    return TestClient(app, base_url="http://localhost")


def sign_in(c: TestClient, code: str):
    r = c.get("/")
    token = CSRF.search(r.text).group(1)
    return c.post("/signin", data={"csrf": token, "code": code})


def csrf_of(c: TestClient, path: str = "/student") -> str:
    return CSRF.search(c.get(path).text).group(1)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("seminar")
    sem = Seminar(data, exercise_ids=EXERCISES, lanes=2, submit_per_minute=6)
    codes = sem.store.add_students(ROSTER)
    secret = sem.store.ensure_tutor_secret()
    app = create_app(sem)
    with _client(app) as lifespan_client:
        yield {"app": app, "sem": sem, "codes": codes, "secret": secret, "data": data, "client": lifespan_client}
    sem.close()


def student(server, sid) -> TestClient:
    c = _client(server["app"])
    r = sign_in(c, server["codes"][sid])
    assert r.status_code == 200 and r.url.path == "/student", r.text[:300]
    return c


def tutor(server) -> TestClient:
    c = _client(server["app"])
    r = sign_in(c, server["secret"])
    assert r.url.path == "/tutor"
    return c


def submit(c: TestClient, ex: str, answer: str):
    token = csrf_of(c, f"/ex/{ex}")
    return c.post(f"/ex/{ex}/submit", data={"csrf": token, "answer": answer})


# ---------------------------------------------------------------------------


def test_database_is_one_wal_file_with_a_schema_version(server):
    db = sqlite3.connect(server["data"] / DB_NAME)
    try:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("SELECT version FROM schema_version").fetchall() == [(1,)]
        stored = dict(db.execute("SELECT id, code_hash FROM students").fetchall())
    finally:
        db.close()
    assert set(stored) == {sid for sid, _ in ROSTER}
    for sid, code in server["codes"].items():
        assert stored[sid] == digest(code) and code not in stored.values()
    raw = b"".join(p.read_bytes() for p in server["data"].iterdir() if p.is_file())
    for code in list(server["codes"].values()) + [server["secret"]]:
        assert code.encode() not in raw  # only digests are stored


def test_store_migrates_once_and_refuses_a_newer_schema(tmp_path):
    s = Store(tmp_path)
    s.close()
    s = Store(tmp_path)
    assert s.version() == 1
    s.db.execute("UPDATE schema_version SET version = 99")
    s.close()
    with pytest.raises(RuntimeError, match="newer gradproof"):
        Store(tmp_path)


def test_sign_in_rejects_wrong_codes_and_sets_strict_httponly_cookies(server):
    c = _client(server["app"])
    r = sign_in(c, "aaaa-bbbb-cccc")
    assert r.url.path == "/" and "not valid" in r.text
    r = c.get("/student", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    c = _client(server["app"])
    c.get("/")
    token = CSRF.search(c.get("/").text).group(1)
    r = c.post("/signin", data={"csrf": token, "code": server["codes"]["alice"]}, follow_redirects=False)
    cookie = r.headers["set-cookie"]
    assert "gp_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert "default-src 'none'" in c.get("/student").headers["content-security-policy"]


def test_sign_in_form_without_its_csrf_cookie_is_refused(server):
    c = _client(server["app"])
    r = c.post("/signin", data={"csrf": "forged", "code": server["codes"]["alice"]})
    assert r.status_code == 403 and "gp_session" not in c.cookies


def test_students_cannot_reach_the_tutor_pages(server):
    c = student(server, "carol")
    assert c.get("/tutor", follow_redirects=False).status_code == 303
    assert c.get("/tutor/export/class.csv").status_code == 401
    assert c.get("/tutor/student/alice", follow_redirects=False).status_code == 303
    r = c.post("/tutor/release", data={"csrf": csrf_of(c), "exercise": "linear_grad_W"})
    assert r.status_code == 401
    assert "linear_grad_W" not in server["sem"].store.released()


def test_every_post_needs_the_sessions_csrf_token(server):
    sem = server["sem"]
    c = student(server, "dave")
    other = student(server, "erin")
    before = sem.store.count()
    assert c.post("/ex/linear_grad_W/submit", data={"answer": "Z^T Delta"}).status_code == 403
    assert c.post("/ex/linear_grad_W/submit", data={"csrf": csrf_of(other), "answer": "Z^T Delta"}).status_code == 403
    assert c.post("/ex/linear_grad_W/hint", data={"csrf": "x"}).status_code == 403
    assert c.post("/ex/linear_grad_W/preview", json={"answer": "Z"}).status_code == 403
    assert sem.store.count() == before
    assert sem.store.help_taken("dave", "linear_grad_W") == (0, False)


def test_submission_is_stored_checked_and_shown(server):
    c = student(server, "alice")
    r = submit(c, "linear_grad_W", "Z^T Delta")
    assert r.status_code == 200 and r.url.path == "/ex/linear_grad_W"
    assert 'id="verdict"><strong>correct</strong>' in r.text
    sub = int(r.url.params["sub"])
    row = server["sem"].store.submission(sub, "alice")
    assert row["status"] == "correct" and row["answer"] == "Z^T Delta" and row["verdict"]
    r = submit(c, "linear_grad_W", "Delta Z^T")
    assert "<strong>correct</strong>" not in r.text
    assert server["sem"].store.submission(int(r.url.params["sub"]), "alice")["status"] in ("invalid", "incorrect")
    home = c.get("/student").text
    assert home.count("<code>Z^T Delta</code>") == 1 and "Delta Z^T" in home


def test_each_student_gets_their_own_variant(server):
    sem = server["sem"]
    names = {sid: sem.variant("linear_neuron_grad_w", sid).id for sid, _ in ROSTER}
    assert len(set(names.values())) > 1  # the bank has variants of this item
    c = student(server, "bob")
    page = c.get("/ex/linear_neuron_grad_w").text
    ex = sem.variant("linear_neuron_grad_w", "bob")
    assert re.search(r'id="prompt">(.*?)</p>', page).group(1) == ex.prompt.replace("&", "&amp;").replace("<", "&lt;")


def test_no_student_can_read_another_students_answers(server):
    a = student(server, "alice")
    r = submit(a, "linear_grad_W", "Z^T Delta + 0*Z^T Delta")
    sub = r.url.params["sub"]
    b = student(server, "bob")
    for path in (f"/ex/linear_grad_W?sub={sub}", "/student", "/ex/linear_grad_W"):
        page = b.get(path).text
        assert "0*Z^T Delta" not in page and 'id="feedback"' not in page
    assert b.get("/tutor/student/alice", follow_redirects=False).status_code == 303
    assert b.get("/tutor/export/answers.csv").status_code == 401
    # the owner sees it
    assert "0*Z^T Delta" in a.get(f"/ex/linear_grad_W?sub={sub}").text


def test_student_strings_are_escaped_everywhere(server):
    c = student(server, "carol")
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    r = submit(c, "symmetry_choice", hostile)
    assert r.status_code == 200
    for page in (r.text, c.get("/student").text):
        assert "<script>alert" not in page and "<img src=x" not in page
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    t = tutor(server)
    dash = t.get("/tutor").text
    assert "<script>alert" not in dash and "&lt;script&gt;" in dash
    assert "<b>Bob</b>" not in dash and "&lt;b&gt;Bob&lt;/b&gt; &amp; co" in dash
    assert "<script>alert" not in t.get("/tutor/student/carol").text


def test_preview_reads_the_answer_as_mathml(server):
    c = student(server, "erin")
    token = csrf_of(c, "/ex/linear_grad_W")
    d = c.post("/ex/linear_grad_W/preview", json={"answer": "Z'Delta"}, headers={"X-CSRF-Token": token}).json()
    assert d["error"] == "" and d["text"] == "Z^T @ Delta"
    assert (
        d["mathml"].startswith("<math")
        and "&#x1D419;" in d["mathml"]
        and "<msup>" in d["mathml"]
        and "<script" not in d["mathml"]
    )
    d = c.post("/ex/linear_grad_W/preview", json={"answer": "Q Delta"}, headers={"X-CSRF-Token": token}).json()
    assert d["mathml"] == "" and "Q" in d["error"]
    r = c.post("/ex/linear_grad_W/preview", content=b"not json", headers={"X-CSRF-Token": token})
    assert r.status_code == 400
    assert server["sem"].store.history("erin", "linear_grad_W") == []  # a preview stores nothing


def test_hints_are_recorded_and_lower_the_credit(server):
    c = student(server, "dave")
    token = csrf_of(c, "/ex/linear_grad_W")
    r = c.post("/ex/linear_grad_W/hint", data={"csrf": token})
    assert "Hint 1/" in r.text
    assert server["sem"].store.help_taken("dave", "linear_grad_W") == (1, False)
    r = submit(c, "linear_grad_W", "Z^T Delta")
    row = server["sem"].store.submission(int(r.url.params["sub"]), "dave")
    assert row["hints"] == 1 and row["status"] == "correct"
    m = re.search(r"credit ([0-9.]+)\)", r.text)
    assert m and float(m.group(1)) < 1.0


def test_solution_only_after_release_and_viewing_is_recorded(server):
    sem = server["sem"]
    c = student(server, "erin")
    token = csrf_of(c, "/ex/linear_grad_W")
    assert c.post("/ex/linear_grad_W/solution", data={"csrf": token}).status_code == 403
    assert 'id="solution"' not in c.get("/ex/linear_grad_W").text
    t = tutor(server)
    r = t.post("/tutor/release", data={"csrf": csrf_of(t, "/tutor"), "exercise": "linear_grad_W", "release": "1"})
    assert r.status_code == 200 and "linear_grad_W" in sem.store.released()
    r = c.post("/ex/linear_grad_W/solution", data={"csrf": token})
    assert r.status_code == 200 and "<math" in r.text.split('id="solution"')[1]
    assert sem.store.help_taken("erin", "linear_grad_W") == (0, True)
    t.post("/tutor/release", data={"csrf": csrf_of(t, "/tutor"), "exercise": "linear_grad_W", "release": "0"})
    assert "linear_grad_W" not in sem.store.released()


def test_rate_limit_refuses_and_stores_nothing(tmp_path):
    sem = Seminar(tmp_path, exercise_ids=["symmetry_choice"], lanes=1, submit_per_minute=3)
    codes = sem.store.add_students([("s1", "")])
    try:
        with _client(create_app(sem)) as c:
            assert sign_in(c, codes["s1"]).url.path == "/student"
            statuses = [submit(c, "symmetry_choice", k).status_code for k in "abcd"]
            assert statuses == [200, 200, 200, 429]
            assert [r["answer"] for r in sem.store.history("s1")] == ["c", "b", "a"]
    finally:
        sem.close()


def test_tutor_dashboard_and_exports_match_gradproof_grade(server, tmp_path):
    from gradproof.reports.grading import grade, read_answers, write_reports

    a = student(server, "alice")
    submit(a, "symmetry_choice", "=HYPERLINK(1)")
    t = tutor(server)
    dash = t.get("/tutor").text
    assert "Z^T Delta" in dash and 'id="per-exercise"' in dash and "alice" in dash
    answers = t.get("/tutor/export/answers.csv")
    assert answers.status_code == 200
    (tmp_path / "answers.csv").write_text(answers.text, encoding="utf-8")
    rows = read_answers(str(tmp_path / "answers.csv"))
    assert {(r.student, r.exercise) for r in rows} >= {("alice", "linear_grad_W"), ("alice", "symmetry_choice")}
    write_reports(grade(rows, workers=1, progress=False), str(tmp_path / "graded"))
    served = t.get("/tutor/export/class.csv").text
    assert served == (tmp_path / "graded" / "class.csv").read_text(encoding="utf-8")
    assert "'=HYPERLINK(1)" in served  # neutralised for spreadsheets, as grade writes it
    assert t.get("/tutor/export/summary.csv").text == (tmp_path / "graded" / "summary.csv").read_text(encoding="utf-8")
    html = t.get("/tutor/export/class.html").text
    assert html == (tmp_path / "graded" / "class.html").read_text(encoding="utf-8")
    assert t.get("/tutor/export/../../etc/passwd").status_code == 404


def test_restart_loses_nothing_acknowledged_and_rechecks_pending(tmp_path):
    sem = Seminar(tmp_path, exercise_ids=["linear_grad_W"], lanes=1)
    codes = sem.store.add_students([("s1", ""), ("s2", "")])
    app = create_app(sem)
    with _client(app) as c:
        sign_in(c, codes["s1"])
        acked = [int(submit(c, "linear_grad_W", a).url.params["sub"]) for a in ("Z^T Delta", "Z Delta")]
        cookies = dict(c.cookies)
    sem.close()
    # an answer stored but not checked when the server stopped
    s = Store(tmp_path)
    pending = s.add_submission("s2", "linear_grad_W", "linear_grad_W", "Z^T Delta", 0, False)
    s.close()
    sem2 = Seminar(tmp_path, exercise_ids=["linear_grad_W"], lanes=1)
    try:
        assert sem2.store.add_students([("s1", ""), ("s2", "")]) == {}  # codes survive a restart
        with _client(create_app(sem2)) as c2:
            c2.cookies.update(cookies)
            page = c2.get("/student")
            assert page.url.path == "/student"  # the session survived too
            assert [r["id"] for r in sem2.store.history("s1")] == acked[::-1]
            statuses = [r["status"] for r in sem2.store.history("s1")]
            assert statuses[1] == "correct" and statuses[0] in ("incorrect", "invalid")
            for _ in range(600):
                if sem2.store.submission(pending, None)["status"] != "pending":
                    break
                time.sleep(0.05)
            assert sem2.store.submission(pending, None)["status"] == "correct"
    finally:
        sem2.close()


def test_serve_init_only_writes_codes_privately_and_rejects_bad_rosters(tmp_path):
    roster = tmp_path / "class.csv"
    roster.write_text("student,name\nst1,One\nst2,Two\n", encoding="utf-8")
    out = tmp_path / "codes.csv"
    cmd = [
        sys.executable,
        "-m",
        "gradproof.reports.cli",
        "serve",
        "--roster",
        str(roster),
        "--data",
        str(tmp_path / "d"),
        "--codes-out",
        str(out),
        "--init-only",
        "--exercises",
        "symmetry_choice",
    ]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [x["student"] for x in rows] == ["st1", "st2"] and all(len(x["code"]) == 14 for x in rows)
    assert out.stat().st_mode & 0o077 == 0
    assert "tutor secret" in r.stdout and rows[0]["code"] not in r.stdout
    s = Store(tmp_path / "d")
    assert s.student_for_code(rows[1]["code"].upper()) == "st2"
    s.close()
    for text, needle in [
        ("name\nx\n", "student"),
        ("student\nst1\nst1\n", "twice"),
        ("student\n", "no students"),
        ("student\n\x01bad\n", "control"),
    ]:
        roster.write_text(text, encoding="utf-8")
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert r.returncode == 2 and needle in r.stderr and "Traceback" not in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1


def test_help_imports_neither_sympy_nor_the_web_stack():
    code = (
        "import sys; from gradproof.reports.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit: pass\n"
        "bad = [m for m in ('sympy', 'starlette', 'uvicorn') if m in sys.modules]\nassert not bad, bad"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


def test_identical_answers_are_checked_once_and_stored_as_typed(tmp_path):
    sem = Seminar(tmp_path, exercise_ids=["linear_grad_W"], lanes=1)
    codes = sem.store.add_students([("s1", "")])
    calls = []
    real = sem.checker.submit
    sem.checker.submit = lambda ex, ans: calls.append((ex, ans)) or real(ex, ans)
    try:
        with _client(create_app(sem)) as c:
            sign_in(c, codes["s1"])
            for a in ("Z^T Delta", "Z^T   Delta", " Z^T Delta ", "Delta^T Z"):
                submit(c, "linear_grad_W", a)
        rows = sem.store.history("s1")[::-1]
        assert [r["answer"] for r in rows] == ["Z^T Delta", "Z^T   Delta", " Z^T Delta ", "Delta^T Z"]
        assert [r["status"] for r in rows][:3] == ["correct"] * 3 and rows[3]["status"] != "correct"
        assert [json.loads(r["verdict"])["answer"] for r in rows] == [r["answer"] for r in rows]
        assert [a for _, a in calls] == ["Z^T Delta", "Delta^T Z"]
    finally:
        sem.close()


def test_serve_reports_unusable_data_folders_and_ports_in_one_line(tmp_path):
    roster = tmp_path / "class.csv"
    roster.write_text("student\nst1\n", encoding="utf-8")
    taken = tmp_path / "file"
    taken.write_text("x")
    newer = tmp_path / "newer"
    s = Store(newer)
    s.db.execute("UPDATE schema_version SET version = 99")
    s.close()
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        for data, extra, needle in [
            (taken, ["--init-only"], "data folder"),
            (newer, ["--init-only"], "newer"),
            (tmp_path / "ok", ["--port", str(port)], "cannot listen"),
        ]:
            r = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "gradproof.reports.cli",
                    "serve",
                    "--roster",
                    str(roster),
                    "--data",
                    str(data),
                    "--exercises",
                    "symmetry_choice",
                    *extra,
                ],
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert r.returncode == 2 and needle in r.stderr, r.stderr
            assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def test_oversized_answers_and_bodies_are_refused_and_not_stored(server):
    sem = server["sem"]
    c = student(server, "carol")
    token = csrf_of(c, "/ex/linear_grad_W")
    before = len(sem.store.history("carol"))
    r = c.post("/ex/linear_grad_W/submit", data={"csrf": token, "answer": "Z" * 3000})
    assert r.status_code == 413 and "at most 2000" in r.text
    r = c.post("/ex/linear_grad_W/submit", data={"csrf": token, "answer": "Z" * 20000})
    assert r.status_code == 403  # a body this large is not even read
    assert len(sem.store.history("carol")) == before
