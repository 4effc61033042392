"""Load test for ``gradproof serve`` over loopback (a script, not a test).

Starts ``gradproof serve`` as a child process on a free loopback port with
a fresh data folder and a generated roster, then runs simulated students,
each in its own thread with its own HTTP connection: sign in with the access
code, open the exercise page, then submit answers (each student's own variant:
correct forms, planted mistakes, hostile text), pausing a random "thinking"
time between answers.  A submission counts as acknowledged when the server
answers it with the redirect to its feedback.

Modes:
  load   two runs: the class alone, then the class plus one hostile student
         who submits slow and limit-hitting answers back to back; prints
         submissions sent / acknowledged / stored, p50 / p95 / max latency of
         an acknowledgement, refused (rate-limited) requests, for both runs.
  crash  one run during which the server is killed (SIGKILL) once half of the
         submissions are acknowledged, and started again on the same data;
         students retry until it answers.  Checks that every acknowledged
         submission is in the database with the answer and student it had.

Run: ``python bench/bench_serve.py [--mode load|crash] [--students 200] [--answers 10] [--think 4]``
"""

from __future__ import annotations

import argparse
import http.client
import random
import re
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

EXERCISES = [
    "linear_grad_W",
    "linear_neuron_grad_w",
    "mse_grad",
    "sigmoid_derivative",
    "symmetry_choice",
    "least_squares",
    "relu_backward_numbers",
]
HOSTILE = [
    "inv(X^T X + 0*X^T X) X^T y",
    "10^10^10",
    "((9^9)^9999)^9999",
    "__import__('os').system('id')",
    "inv(inv(inv(inv(X^T X)))) X^T y",
    "(X^T X)^-1 X^T y + 0*inv(X^T X X^T X) X^T y",
]
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def hostile_answers(seed: int, n: int = 2000) -> list:
    """Slow and limit-hitting answers, each one distinct so that none is answered from the verdict cache."""
    rng = random.Random(seed)
    out = []
    for k in range(n):
        c = rng.randint(2, 10**6)
        out.append(("least_squares", rng.choice(HOSTILE).replace("0*", f"0*{c}*").replace("9999", str(9000 + k % 999))))
    return out


class Down(Exception):
    """The server did not answer (connection refused or reset)."""


class Browser:
    """One student's connection and cookies (http.client, keep-alive)."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict = {}
        self.conn = None

    def request(self, method: str, path: str, form: dict | None = None):
        headers = {}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            self.conn.request(method, path, body=body, headers=headers)
            r = self.conn.getresponse()
            data = r.read().decode("utf-8", "replace")
        except (OSError, http.client.HTTPException) as err:
            if self.conn is not None:
                self.conn.close()
            self.conn = None
            raise Down(str(err)) from None
        for c in r.headers.get_all("set-cookie") or []:
            name, _, rest = c.partition("=")
            value = rest.split(";", 1)[0]
            if value in ("", '""') or "max-age=0" in c.lower():
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return r.status, r.headers, data


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, data: Path, roster: Path, port: int, lanes: int):
        self.cmd = [
            sys.executable,
            "-m",
            "gradproof.reports.cli",
            "serve",
            "--roster",
            str(roster),
            "--data",
            str(data),
            "--exercises",
            ",".join(EXERCISES),
            "--port",
            str(port),
            "--lanes",
            str(lanes),
        ]
        self.port = port
        self.proc = None
        self.log_path = data.parent / "serve.log"

    def start(self) -> float:
        t0 = time.perf_counter()
        # the server keeps its own descriptor of the log; ours is closed at once
        with open(self.log_path, "a", encoding="utf-8") as log:
            self.proc = subprocess.Popen(self.cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        b = Browser(self.port)
        while True:
            if self.proc.poll() is not None:
                raise SystemExit("gradproof serve exited; see " + str(self.log_path))
            try:
                b.request("GET", "/")
                return time.perf_counter() - t0
            except Down:
                time.sleep(0.1)

    def kill(self) -> None:
        self.proc.kill()  # our own child, by its handle
        self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


def plan_answers(students: list[str], n: int, seed: int) -> dict:
    """Each student's answers: (exercise, text), drawn from their own variant's correct and wrong forms."""
    from gradproof.derive.seminar.answer_types import sample_answers
    from gradproof.derive.seminar.exercises import get

    rng = random.Random(seed)
    cache: dict = {}
    plan = {}
    for sid in students:
        items = []
        for k in range(n):
            ex_id = EXERCISES[(k + rng.randrange(len(EXERCISES))) % len(EXERCISES)]
            variant = get(ex_id).variant_for(sid)
            if variant.id not in cache:
                good, bad = sample_answers(variant)
                cache[variant.id] = (good, [b for b, _ in bad])
            good, bad = cache[variant.id]
            pool = good if (rng.random() < 0.6 or not bad) else bad
            text = rng.choice(pool)
            if rng.random() < 0.3 and variant.answer_type == "formula":
                text = f"{rng.randint(2, 9)} * ({text}) / {rng.randint(2, 9)}"  # distinct, really checked
            items.append((ex_id, text))
        plan[sid] = items
    return plan


class Run:
    def __init__(self):
        self.lock = threading.Lock()
        self.sent = 0
        self.acked: list = []  # (sub id, student, exercise, answer)
        self.latency: list = []
        self.refused = 0
        self.errors = 0
        self.retries = 0


def sign_in(b: Browser, code: str) -> None:
    _, _, page = b.request("GET", "/")
    status, headers, _ = b.request("POST", "/signin", {"csrf": CSRF.search(page).group(1), "code": code})
    if status != 303 or headers["location"] != "/student":
        raise RuntimeError(f"sign-in failed: {status}")


def student(port, sid, code, items, think, run: Run, rng: random.Random, hostile=False, stop=None):
    b = Browser(port)
    while True:
        try:
            sign_in(b, code)
            break
        except Down:
            time.sleep(0.2)
    time.sleep(rng.uniform(0, think))
    k = 0
    while (k < len(items)) if not hostile else not stop.is_set():
        ex_id, text = items[k % len(items)]
        try:
            _, _, page = b.request("GET", f"/ex/{ex_id}")
            m = CSRF.search(page)
            if m is None:
                raise Down("no form")
            token = m.group(1)
        except Down:
            with run.lock:
                run.retries += 1
            time.sleep(0.2)
            continue
        with run.lock:
            run.sent += 1
        t0 = time.perf_counter()
        try:
            status, headers, _ = b.request("POST", f"/ex/{ex_id}/submit", {"csrf": token, "answer": text})
        except Down:
            # not acknowledged: the student sees an error and submits again
            with run.lock:
                run.retries += 1
            time.sleep(0.2)
            continue
        dt = time.perf_counter() - t0
        if status == 303 and "sub=" in headers.get("location", ""):
            sub = int(re.search(r"sub=(\d+)", headers["location"]).group(1))
            with run.lock:
                run.acked.append((sub, sid, ex_id, text))
                if not hostile:
                    run.latency.append(dt)
            k += 1
        elif status == 429:
            with run.lock:
                run.refused += 1
            time.sleep(1.0 if not hostile else 0.05)
            continue
        else:
            with run.lock:
                run.errors += 1
            k += 1
        if not hostile:
            time.sleep(rng.uniform(0, 2 * think))


def stored(db: Path, acked: list) -> tuple[int, int, dict]:
    con = sqlite3.connect(str(db))
    try:
        rows = {r[0]: r[1:] for r in con.execute("SELECT id, student, exercise, answer, status FROM submissions")}
    finally:
        con.close()
    missing = sum(1 for sub, sid, ex, text in acked if rows.get(sub, (None,))[:3] != (sid, ex, text))
    by_status: dict = {}
    for r in rows.values():
        by_status[r[3]] = by_status.get(r[3], 0) + 1
    return len(rows), missing, by_status


def pct(xs, q):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def one_run(args, label, hostile: bool, crash: bool) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="gradproof-bench-serve-"))
    data = tmp / "data"
    roster = tmp / "class.csv"
    sids = [f"s{k:03d}" for k in range(args.students)] + ["mallory"]
    roster.write_text("student,name\n" + "".join(f"{s},Student {s}\n" for s in sids), encoding="utf-8")
    init = subprocess.run(
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
            ",".join(EXERCISES),
            "--codes-out",
            str(tmp / "codes.csv"),
            "--init-only",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if init.returncode:
        raise SystemExit(init.stderr)
    codes = dict(line.split(",") for line in (tmp / "codes.csv").read_text().split()[1:])
    plan = plan_answers(sids[:-1], args.answers, args.seed)
    port = free_port()
    server = Server(data, roster, port, args.lanes)
    startup = server.start()
    run = Run()
    stop = threading.Event()
    threads = [
        threading.Thread(
            target=student,
            args=(port, s, codes[s], plan[s], args.think, run, random.Random(f"{args.seed}:{s}")),
            daemon=True,
        )
        for s in sids[:-1]
    ]
    if hostile:
        threads.append(
            threading.Thread(
                target=student,
                daemon=True,
                args=(
                    port,
                    "mallory",
                    codes["mallory"],
                    hostile_answers(args.seed),
                    0,
                    run,
                    random.Random(1),
                    True,
                    stop,
                ),
            )
        )
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    restart = None
    if crash:
        total = args.students * args.answers
        while len(run.acked) < total // 2:
            time.sleep(0.05)
        acked_before = len(run.acked)
        server.kill()
        restart = (acked_before, server.start())
    for t in threads[: args.students]:
        t.join()
    stop.set()
    for t in threads[args.students :]:
        t.join()
    wall = time.perf_counter() - t0
    # let the server finish checks of anything stored before stopping
    server.stop()
    n_stored, missing, by_status = stored(data / "seminar.sqlite3", run.acked)
    lat = run.latency
    print(f"\n## {label}")
    print(
        f"students {args.students}, answers each {args.answers}, think time uniform(0, {2 * args.think:g}) s, "
        f"check lanes {args.lanes}, server start {startup:.1f} s, wall {wall:.1f} s"
    )
    print("| measure | value |\n|---|---|")
    print(f"| submissions sent | {run.sent} |")
    print(f"| acknowledged | {len(run.acked)} |")
    print(f"| stored in SQLite | {n_stored} |")
    print(f"| acknowledged but missing | {missing} |")
    print(f"| refused by the rate limit (429) | {run.refused} |")
    print(f"| other errors | {run.errors} |")
    print(
        f"| ack latency p50 / p95 / max (s), class only | {pct(lat, 0.5):.3f} / {pct(lat, 0.95):.3f} / {max(lat):.3f} |"
    )
    print(f"| statuses stored | {', '.join(f'{k} {v}' for k, v in sorted(by_status.items()))} |")
    if hostile:
        print(f"| hostile student's acknowledged answers | {sum(1 for a in run.acked if a[1] == 'mallory')} |")
    if restart:
        print(f"| killed after acknowledged | {restart[0]} |")
        print(f"| restart to first answer (s) | {restart[1]:.1f} |")
        print(f"| sends retried (server down) | {run.retries} |")
    print(f"verdict: {'OK' if missing == 0 else 'LOST SUBMISSIONS'}; data {data}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mode", choices=["load", "crash"], default="load")
    ap.add_argument("--students", type=int, default=200)
    ap.add_argument("--answers", type=int, default=10)
    ap.add_argument("--think", type=float, default=4.0, help="mean seconds between a student's answers")
    ap.add_argument("--lanes", type=int, default=2)
    ap.add_argument("--seed", type=int, default=17)
    args = ap.parse_args()
    if args.mode == "load":
        one_run(args, "the class alone", hostile=False, crash=False)
        one_run(args, "the class plus one hostile student", hostile=True, crash=False)
    else:
        one_run(args, "server killed halfway and restarted", hostile=False, crash=True)


if __name__ == "__main__":
    main()
