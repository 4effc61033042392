"""``gradproof serve``: the seminar on the web."""

from __future__ import annotations

import csv
import io
import os
import socket
import sqlite3
import sys
from pathlib import Path

from gradproof.reports.errors import CLIError

MAX_STUDENTS = 5000


def read_roster(path: str) -> list[tuple[str, str]]:
    """``student[,name]`` rows (header required) -> ``[(id, name)]``; one clear error otherwise."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            text = fh.read(4 * 1024 * 1024 + 1)
    except FileNotFoundError:
        raise CLIError(f"no such roster file: {path}") from None
    except IsADirectoryError:
        raise CLIError(f"{path} is a folder, not a roster CSV file") from None
    except UnicodeDecodeError as err:
        raise CLIError(f"{path} is not UTF-8 text (byte {err.start})") from None
    except OSError as err:
        raise CLIError(f"cannot read {path}: {err.strerror}") from None
    if len(text) > 4 * 1024 * 1024:
        raise CLIError(f"{path} is larger than 4 MB")
    reader = csv.reader(io.StringIO(text))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise CLIError(f"{path} is empty: expected a header row 'student,name'") from None
    except csv.Error as err:
        raise CLIError(f"{path}: {err}") from None
    if "student" not in header:
        raise CLIError(f"{path}: the header must name a 'student' column (and optionally 'name')")
    si, ni = header.index("student"), header.index("name") if "name" in header else None
    out, seen = [], set()
    try:
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            sid = cells[si].strip() if si < len(cells) else ""
            name = cells[ni].strip() if ni is not None and ni < len(cells) else ""
            where = f"{path}, line {reader.line_num}"
            if not sid:
                raise CLIError(f"{where}: empty student id")
            if len(sid) > 100 or len(name) > 200:
                raise CLIError(f"{where}: student id or name too long")
            if any(ord(ch) < 32 or ord(ch) == 127 for ch in sid + name):
                raise CLIError(f"{where}: control characters in a student id or name")
            if sid in seen:
                raise CLIError(f"{where}: student {sid!r} appears twice")
            seen.add(sid)
            out.append((sid, name))
            if len(out) > MAX_STUDENTS:
                raise CLIError(f"{path} lists more than {MAX_STUDENTS} students")
    except csv.Error as err:
        raise CLIError(f"{path}, line {reader.line_num}: {err}") from None
    if not out:
        raise CLIError(f"{path} has a header but no students")
    return out


def _write_codes(path: str, codes: dict[str, str]) -> None:
    target = Path(path)
    if target.is_dir():
        raise CLIError(f"{path} is a folder; --codes-out takes a file name")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["student", "code"])
    for sid in sorted(codes):
        w.writerow([sid, codes[sid]])
    tmp = target.with_name(target.name + ".tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(buf.getvalue())
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except OSError as err:
        raise CLIError(f"cannot write {path}: {err.strerror}") from None


def cmd_serve(args) -> int:
    roster = read_roster(args.roster)
    if not (0 < args.port < 65536):
        raise CLIError("--port takes a number from 1 to 65535")
    from gradproof.reports.serve.app import Seminar, create_app

    ids = [e.strip() for e in args.exercises.split(",") if e.strip()] if args.exercises else None
    try:
        sem = Seminar(args.data, exercise_ids=ids, lanes=max(1, args.lanes), secure_cookies=args.secure_cookies)
    except ValueError as err:
        raise CLIError(str(err)) from None
    except OSError as err:
        raise CLIError(f"cannot use data folder {args.data}: {err.strerror or err}") from None
    except sqlite3.Error as err:
        raise CLIError(f"cannot use the database in {args.data}: {err}") from None
    except RuntimeError as err:  # a database from a newer gradproof
        raise CLIError(str(err)) from None
    issued = sem.store.add_students(roster, new_codes=args.new_codes)
    secret = sem.store.ensure_tutor_secret(renew=args.new_tutor_secret)
    if args.codes_out:
        if issued:
            _write_codes(args.codes_out, issued)
            print(f"{len(issued)} access code(s) written to {args.codes_out} (stored only hashed: keep that file)")
        else:
            print("every student already has a code; none written (--new-codes issues new ones)")
    elif issued:
        print("access codes (shown once, stored only hashed):")
        for sid in sorted(issued):
            print(f"  {sid}\t{issued[sid]}")
    if secret:
        print(f"tutor secret (shown once, stored only hashed): {secret}")
    print(f"data: {sem.store.path} ({len(roster)} student(s), {len(sem.bank)} exercise(s))")
    sys.stdout.flush()
    if args.init_only:
        sem.store.close()
        return 0
    import uvicorn

    try:  # one clear line when the port is taken, before the checks start
        with socket.socket(socket.AF_INET6 if ":" in args.host else socket.AF_INET) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((args.host, args.port))
    except OSError as err:
        sem.store.close()
        raise CLIError(f"cannot listen on {args.host}:{args.port}: {err.strerror or err}") from None

    print(f"serving on http://{args.host}:{args.port}/  (Ctrl-C stops)", flush=True)
    try:
        uvicorn.run(
            create_app(sem),
            host=args.host,
            port=args.port,
            log_level="warning",
            proxy_headers=args.proxy_headers,
            forwarded_allow_ips=args.forwarded_allow_ips,
        )
    finally:
        sem.close()
    return 0
