"""The seminar's SQLite database: one file, WAL mode, a migration-versioned schema.

Every write is its own transaction and is committed before the caller
answers the browser, so a submission a student saw acknowledged survives a
crash or restart.  Access codes, the tutor secret and session tokens are
stored only as SHA-256 digests (they are long random strings, so a plain
digest is enough: nothing to brute-force from a dictionary).

>>> import tempfile
>>> s = Store(tempfile.mkdtemp())
>>> s.version()
1
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
import threading
import time
from pathlib import Path

DB_NAME = "seminar.sqlite3"

# Each entry upgrades the schema by one version; never edit an applied entry, append a new one.
MIGRATIONS = [
    """
    CREATE TABLE students (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL DEFAULT '',
        code_hash TEXT UNIQUE
    );
    CREATE TABLE secrets (role TEXT PRIMARY KEY, secret_hash TEXT NOT NULL);
    CREATE TABLE sessions (
        token_hash TEXT PRIMARY KEY,
        role TEXT NOT NULL CHECK (role IN ('student', 'tutor')),
        student TEXT,
        csrf TEXT NOT NULL,
        created REAL NOT NULL
    );
    CREATE TABLE submissions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        student TEXT NOT NULL REFERENCES students(id),
        exercise TEXT NOT NULL,
        variant TEXT NOT NULL,
        answer TEXT NOT NULL,
        hints INTEGER NOT NULL DEFAULT 0,
        solution INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL DEFAULT 'pending',
        verdict TEXT,
        created REAL NOT NULL,
        checked REAL
    );
    CREATE INDEX submissions_by_student ON submissions(student, exercise, id);
    CREATE TABLE help (
        student TEXT NOT NULL REFERENCES students(id),
        exercise TEXT NOT NULL,
        hints INTEGER NOT NULL DEFAULT 0,
        solution INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (student, exercise)
    );
    CREATE TABLE releases (exercise TEXT PRIMARY KEY, released REAL NOT NULL);
    """,
]


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_code() -> str:
    """A student access code: 12 characters from an unambiguous alphabet (about 60 bits)."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    raw = "".join(secrets.choice(alphabet) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


class Store:
    """All database access; safe to share between threads (one connection, one lock)."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / DB_NAME
        self.lock = threading.Lock()
        self.db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None, timeout=30)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")  # a commit is on disk before we answer
        self.db.execute("PRAGMA foreign_keys=ON")
        self._migrate()

    # -- schema ---------------------------------------------------------------
    def _migrate(self) -> None:
        with self.lock:
            self.db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = self.db.execute("SELECT version FROM schema_version").fetchone()
            if row is None:
                self.db.execute("INSERT INTO schema_version VALUES (0)")
                current = 0
            else:
                current = row[0]
            if current > len(MIGRATIONS):
                raise RuntimeError(f"{self.path} was written by a newer gradproof (schema {current})")
            for v in range(current, len(MIGRATIONS)):
                self.db.execute("BEGIN IMMEDIATE")
                try:
                    for stmt in MIGRATIONS[v].split(";"):
                        if stmt.strip():
                            self.db.execute(stmt)
                    self.db.execute("UPDATE schema_version SET version = ?", (v + 1,))
                    self.db.execute("COMMIT")
                except BaseException:
                    self.db.execute("ROLLBACK")
                    raise

    def version(self) -> int:
        return self.db.execute("SELECT version FROM schema_version").fetchone()[0]

    def _write(self, sql: str, args=()) -> sqlite3.Cursor:
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                cur = self.db.execute(sql, args)
                self.db.execute("COMMIT")
                return cur
            except BaseException:
                self.db.execute("ROLLBACK")
                raise

    def _read(self, sql: str, args=()) -> list:
        with self.lock:
            return self.db.execute(sql, args).fetchall()

    def close(self) -> None:
        with self.lock:
            self.db.close()

    # -- roster and secrets -----------------------------------------------------
    def add_students(self, roster: list[tuple[str, str]], new_codes: bool = False) -> dict[str, str]:
        """Add roster students; returns ``{student: code}`` for every code issued now.

        A student already in the database keeps their code unless ``new_codes``.
        """
        issued = {}
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                for sid, name in roster:
                    row = self.db.execute("SELECT code_hash FROM students WHERE id = ?", (sid,)).fetchone()
                    if row is None or row[0] is None or new_codes:
                        code = new_code()
                        issued[sid] = code
                        self.db.execute(
                            "INSERT INTO students (id, name, code_hash) VALUES (?, ?, ?) "
                            "ON CONFLICT(id) DO UPDATE SET name = excluded.name, code_hash = excluded.code_hash",
                            (sid, name, digest(code)),
                        )
                        self.db.execute("DELETE FROM sessions WHERE role = 'student' AND student = ?", (sid,))
                    else:
                        self.db.execute("UPDATE students SET name = ? WHERE id = ?", (name, sid))
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
        return issued

    def students(self) -> list[sqlite3.Row]:
        return self._read("SELECT id, name FROM students ORDER BY id")

    def student_for_code(self, code: str) -> str | None:
        code = "-".join(code.strip().lower().replace("-", "")[i : i + 4] for i in (0, 4, 8))
        rows = self._read("SELECT id FROM students WHERE code_hash = ?", (digest(code),))
        return rows[0]["id"] if rows else None

    def ensure_tutor_secret(self, renew: bool = False) -> str | None:
        """Create the tutor secret if there is none (or ``renew``); returns it then, else None."""
        rows = self._read("SELECT secret_hash FROM secrets WHERE role = 'tutor'")
        if rows and not renew:
            return None
        secret = secrets.token_urlsafe(24)
        self._write(
            "INSERT INTO secrets VALUES ('tutor', ?) ON CONFLICT(role) DO UPDATE SET secret_hash = excluded.secret_hash",
            (digest(secret),),
        )
        self._write("DELETE FROM sessions WHERE role = 'tutor'")
        return secret

    def is_tutor_secret(self, secret: str) -> bool:
        rows = self._read("SELECT secret_hash FROM secrets WHERE role = 'tutor'")
        return bool(rows) and hmac.compare_digest(rows[0][0], digest(secret.strip()))

    # -- sessions -------------------------------------------------------------
    def new_session(self, role: str, student: str | None) -> tuple[str, str]:
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        self._write("INSERT INTO sessions VALUES (?, ?, ?, ?, ?)", (digest(token), role, student, csrf, time.time()))
        return token, csrf

    def session(self, token: str | None):
        if not token or len(token) > 200:
            return None
        rows = self._read("SELECT role, student, csrf FROM sessions WHERE token_hash = ?", (digest(token),))
        return rows[0] if rows else None

    def end_session(self, token: str) -> None:
        self._write("DELETE FROM sessions WHERE token_hash = ?", (digest(token),))

    # -- help, releases ---------------------------------------------------------
    def help_taken(self, student: str, exercise: str) -> tuple[int, bool]:
        rows = self._read("SELECT hints, solution FROM help WHERE student = ? AND exercise = ?", (student, exercise))
        return (rows[0]["hints"], bool(rows[0]["solution"])) if rows else (0, False)

    def take_hint(self, student: str, exercise: str, most: int) -> int:
        self._write(
            "INSERT INTO help (student, exercise, hints) VALUES (?, ?, 1) "
            "ON CONFLICT(student, exercise) DO UPDATE SET hints = MIN(hints + 1, ?)",
            (student, exercise, most),
        )
        return self.help_taken(student, exercise)[0]

    def view_solution(self, student: str, exercise: str) -> None:
        self._write(
            "INSERT INTO help (student, exercise, solution) VALUES (?, ?, 1) "
            "ON CONFLICT(student, exercise) DO UPDATE SET solution = 1",
            (student, exercise),
        )

    def release(self, exercise: str, released: bool = True) -> None:
        if released:
            self._write("INSERT OR IGNORE INTO releases VALUES (?, ?)", (exercise, time.time()))
        else:
            self._write("DELETE FROM releases WHERE exercise = ?", (exercise,))

    def released(self) -> set[str]:
        return {r[0] for r in self._read("SELECT exercise FROM releases")}

    # -- submissions ------------------------------------------------------------
    def add_submission(self, student: str, exercise: str, variant: str, answer: str, hints: int, solution: bool) -> int:
        """Record an answer (status ``pending``), committed before it is checked."""
        cur = self._write(
            "INSERT INTO submissions (student, exercise, variant, answer, hints, solution, created) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (student, exercise, variant, answer, hints, int(solution), time.time()),
        )
        return cur.lastrowid

    def set_verdict(self, sub_id: int, verdict: dict) -> None:
        self._write(
            "UPDATE submissions SET status = ?, verdict = ?, checked = ? WHERE id = ?",
            (verdict["status"], json.dumps(verdict, ensure_ascii=False), time.time(), sub_id),
        )

    def submission(self, sub_id: int, student: str | None):
        """One submission; a student reads only their own (``student`` given), the tutor any."""
        if student is None:
            rows = self._read("SELECT * FROM submissions WHERE id = ?", (sub_id,))
        else:
            rows = self._read("SELECT * FROM submissions WHERE id = ? AND student = ?", (sub_id, student))
        return rows[0] if rows else None

    def history(self, student: str, exercise: str | None = None) -> list:
        if exercise is None:
            return self._read("SELECT * FROM submissions WHERE student = ? ORDER BY id DESC", (student,))
        return self._read(
            "SELECT * FROM submissions WHERE student = ? AND exercise = ? ORDER BY id DESC", (student, exercise)
        )

    def all_submissions(self) -> list:
        return self._read("SELECT * FROM submissions ORDER BY id")

    def pending(self) -> list:
        return self._read("SELECT * FROM submissions WHERE status = 'pending' ORDER BY id")

    def count(self) -> int:
        return self._read("SELECT COUNT(*) FROM submissions")[0][0]
