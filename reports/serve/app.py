"""The seminar web application (Starlette, served by uvicorn).

Pages are Jinja2 templates with autoescape on; every POST carries a CSRF
token bound to the session (the sign-in form uses a double-submit cookie);
cookies are HttpOnly and SameSite=Strict.  A student's session can name
only that student's rows: every query that returns answers is filtered by
the session's student id, never by anything the browser sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import hmac
import io
import json
import secrets
import tempfile
import time
from collections import OrderedDict, defaultdict, deque
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from gradproof.reports.serve.store import Store

SESSION_COOKIE = "gp_session"
PRE_COOKIE = "gp_pre"
MAX_ANSWER = 2000
MAX_FORM = 8192


class RateLimit:
    """At most ``per_minute`` events per key in any 60 s window, and one in flight."""

    def __init__(self, per_minute: int):
        self.per_minute = per_minute
        self.events: dict = defaultdict(deque)
        self.busy: set = set()

    def allow(self, key, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        q = self.events[key]
        while q and now - q[0] >= 60.0:
            q.popleft()
        if len(q) >= self.per_minute:
            return False
        q.append(now)
        return True

    def full(self, key, now: float | None = None) -> bool:
        """Whether ``allow`` would refuse now (records nothing)."""
        now = time.monotonic() if now is None else now
        q = self.events.get(key, ())
        return sum(now - t < 60.0 for t in q) >= self.per_minute


def _env():
    import jinja2

    from gradproof.reports.paths import template_dir

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir())),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["fmt_time"] = lambda t: time.strftime("%H:%M:%S", time.localtime(t)) if t else ""
    return env


def mathml(latex: str) -> str:
    """LaTeX from gradproof's own printer -> MathML (latex2mathml escapes every text node)."""
    if not latex:
        return ""
    from latex2mathml.converter import convert

    try:
        out = convert(latex)
    except Exception:
        return ""
    return out if "<script" not in out.lower() else ""


class Seminar:
    """The application's state: the store, the bank, the checker, the limits."""

    VERDICT_CACHE = 20_000

    def __init__(
        self,
        data_dir,
        exercise_ids=None,
        lanes: int = 2,
        submit_per_minute: int = 30,
        preview_per_minute: int = 240,
        signin_failures_per_minute: int = 30,
        secure_cookies: bool = False,
        budget=None,
    ):
        from gradproof.derive.seminar.exercises import exercises
        from gradproof.reports.serve.checker import Checker

        self.store = Store(data_dir)
        bank = exercises()
        if exercise_ids:
            wanted = list(exercise_ids)
            by_id = {ex.id: ex for ex in bank}
            unknown = [e for e in wanted if e not in by_id]
            if unknown:
                raise ValueError(f"unknown exercise(s): {', '.join(unknown)}")
            bank = [by_id[e] for e in wanted]
        self.bank = {ex.id: ex for ex in bank}
        self.order = [ex.id for ex in bank]
        self.checker = Checker(lanes=lanes, budget=budget)
        self.submit_limit = RateLimit(submit_per_minute)
        self.preview_limit = RateLimit(preview_per_minute)
        self.signin_failures = RateLimit(signin_failures_per_minute)
        self.secure = secure_cookies
        self.env = _env()
        self.started = False
        self.verdicts: OrderedDict = OrderedDict()

    def start(self) -> None:
        if self.started:
            return
        variants = set()
        for ex in self.bank.values():
            n = ex.n_variants
            if n > 1:
                variants.update(ex.make_variant(k).id for k in range(n))
            else:
                variants.add(ex.id)
        self.checker.start(sorted(variants))
        self.started = True

    def close(self) -> None:
        self.checker.close()
        self.store.close()

    def variant(self, ex_id: str, student: str):
        return self.bank[ex_id].variant_for(student)

    async def check(self, variant: str, answer: str) -> dict:
        """The verdict (as JSON) for an answer; identical answers to one variant are checked once."""
        key = (variant, " ".join(answer.split()))
        hit = self.verdicts.get(key)
        if hit is not None:
            self.verdicts.move_to_end(key)
            return dict(hit, answer=answer)
        d = (await self.checker.check(variant, answer)).to_json()
        if d["status"] != "undecided":  # a check cut short by a limit may decide next time
            self.verdicts[key] = d
            while len(self.verdicts) > self.VERDICT_CACHE:
                self.verdicts.popitem(last=False)
        return d

    async def recheck_pending(self) -> None:
        """Answers stored but not yet checked when the server stopped: check them now."""
        for row in await asyncio.to_thread(self.store.pending):
            d = await self.check(row["variant"], row["answer"])
            await asyncio.to_thread(self.store.set_verdict, row["id"], d)


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def _sem(request: Request) -> Seminar:
    return request.app.state.seminar


def _page(request: Request, name: str, status: int = 200, **ctx) -> HTMLResponse:
    nonce = secrets.token_urlsafe(16)
    html = _sem(request).env.get_template(name).render(nonce=nonce, **ctx)
    resp = HTMLResponse(html, status_code=status)
    resp.headers["Content-Security-Policy"] = (
        f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; connect-src 'self'; "
        "img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
    return resp


class SecurityHeaders:
    """ASGI middleware: headers every response carries."""

    HEADERS = [
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"cache-control", b"no-store"),
        (b"x-frame-options", b"DENY"),
    ]

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message = dict(message, headers=list(message.get("headers", [])) + self.HEADERS)
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def _session(request: Request):
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    return await asyncio.to_thread(_sem(request).store.session, token)


async def _form(request: Request) -> dict:
    length = request.headers.get("content-length") or "0"
    if not length.isdigit() or int(length) > MAX_FORM:
        return {}
    try:
        form = await request.form(max_files=0, max_fields=10)
    except Exception:
        return {}
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _csrf_ok(sess, token) -> bool:
    return bool(sess) and isinstance(token, str) and hmac.compare_digest(sess["csrf"], token)


def _forbidden(request: Request, message: str, status: int = 403) -> HTMLResponse:
    return _page(request, "serve_message.html", status=status, title="Not allowed", message=message)


def _set_cookie(resp: Response, name: str, value: str, secure: bool, max_age: int | None = None) -> None:
    resp.set_cookie(name, value, httponly=True, samesite="strict", secure=secure, max_age=max_age, path="/")


# ---------------------------------------------------------------------------
# sign-in
# ---------------------------------------------------------------------------


async def home(request: Request):
    sess = await _session(request)
    if sess is not None:
        return RedirectResponse("/tutor" if sess["role"] == "tutor" else "/student", status_code=303)
    pre = request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(32)
    resp = _page(request, "serve_signin.html", csrf=pre, error=request.query_params.get("error") == "1")
    _set_cookie(resp, PRE_COOKIE, pre, _sem(request).secure)
    return resp


async def signin(request: Request):
    sem = _sem(request)
    form = await _form(request)
    pre = request.cookies.get(PRE_COOKIE)
    if not pre or not hmac.compare_digest(pre, form.get("csrf", "")):
        return _forbidden(request, "The sign-in form has expired; open the start page again.")
    code = form.get("code", "")[:200]
    host = request.client.host if request.client else ""
    if sem.signin_failures.full(host):
        return _forbidden(request, "Too many failed sign-ins from this address; wait a minute.", 429)
    student = await asyncio.to_thread(sem.store.student_for_code, code) if code else None
    if student is not None:
        token, _ = await asyncio.to_thread(sem.store.new_session, "student", student)
        resp = RedirectResponse("/student", status_code=303)
    elif code and await asyncio.to_thread(sem.store.is_tutor_secret, code):
        token, _ = await asyncio.to_thread(sem.store.new_session, "tutor", None)
        resp = RedirectResponse("/tutor", status_code=303)
    else:
        sem.signin_failures.allow(host)  # record the failure
        return RedirectResponse("/?error=1", status_code=303)
    _set_cookie(resp, SESSION_COOKIE, token, sem.secure)
    resp.delete_cookie(PRE_COOKIE, path="/")
    return resp


async def signout(request: Request):
    sess = await _session(request)
    form = await _form(request)
    if sess is not None and _csrf_ok(sess, form.get("csrf")):
        await asyncio.to_thread(_sem(request).store.end_session, request.cookies[SESSION_COOKIE])
    resp = RedirectResponse("/", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp


# ---------------------------------------------------------------------------
# the student's pages
# ---------------------------------------------------------------------------


async def _student(request: Request):
    sess = await _session(request)
    if sess is None or sess["role"] != "student":
        return None
    return sess


def _verdict(row) -> dict | None:
    if row is None or not row["verdict"]:
        return None
    return json.loads(row["verdict"])


def _credit(v: dict | None, hints: int, solution: bool) -> float:
    from gradproof.derive.seminar.hints import credit_after_help

    if not v:
        return 0.0
    return credit_after_help(v.get("credit", 0.0), hints, solution)


async def student_home(request: Request):
    sess = await _student(request)
    if sess is None:
        return RedirectResponse("/", status_code=303)
    sem = _sem(request)
    hist = await asyncio.to_thread(sem.store.history, sess["student"])
    latest = {}
    for row in hist:
        latest.setdefault(row["exercise"], row)
    items = [{"ex": sem.variant(e, sess["student"]), "id": e, "last": latest.get(e)} for e in sem.order]
    history = [{"row": r, "v": _verdict(r)} for r in hist]
    return _page(
        request, "serve_student.html", student=sess["student"], items=items, history=history, csrf=sess["csrf"]
    )


async def exercise_page(request: Request):
    sess = await _student(request)
    if sess is None:
        return RedirectResponse("/", status_code=303)
    sem = _sem(request)
    ex_id = request.path_params["ex"]
    if ex_id not in sem.bank:
        return _page(
            request,
            "serve_message.html",
            status=404,
            title="No such exercise",
            message="There is no exercise with that name.",
        )
    from gradproof.derive.seminar.hints import hint_ladder, worked_solution
    from gradproof.derive.seminar.numeric_items import given_text

    student = sess["student"]
    ex = sem.variant(ex_id, student)
    hints_taken, solution_seen = await asyncio.to_thread(sem.store.help_taken, student, ex_id)
    ladder = hint_ladder(ex)
    released = ex_id in await asyncio.to_thread(sem.store.released)
    solution = []
    if released and solution_seen:
        lines = await asyncio.to_thread(worked_solution, ex)  # derives: off the event loop
        solution = [dict(line, mathml=mathml(line.get("latex", ""))) for line in lines]
    feedback = None
    sub = request.query_params.get("sub", "")
    if sub.isdigit() and len(sub) < 12:
        row = await asyncio.to_thread(sem.store.submission, int(sub), student)
        if row is not None and row["exercise"] == ex_id:
            v = _verdict(row)
            feedback = {
                "row": row,
                "v": v,
                "mathml": mathml((v or {}).get("reading_latex", "")),
                "credit": _credit(v, row["hints"], bool(row["solution"])),
            }
    hist = await asyncio.to_thread(sem.store.history, student, ex_id)
    return _page(
        request,
        "serve_exercise.html",
        ex=ex,
        ex_id=ex_id,
        student=student,
        csrf=sess["csrf"],
        given=given_text(ex),
        hints=ladder[:hints_taken],
        more_hints=hints_taken < len(ladder),
        n_hints=len(ladder),
        released=released,
        solution=solution,
        solution_seen=solution_seen,
        feedback=feedback,
        history=[{"row": r, "v": _verdict(r)} for r in hist],
        symbols=ex.symbol_table() if ex.symbols else [],
        message=request.query_params.get("msg", "")[:40],
    )


async def _student_post(request: Request):
    """(sess, form, ex_id) for a valid student POST, else an error response."""
    sess = await _student(request)
    if sess is None:
        return _forbidden(request, "Sign in first.", 401)
    form = await _form(request)
    if not _csrf_ok(sess, form.get("csrf")):
        return _forbidden(request, "This form has expired; reload the page and try again.")
    ex_id = request.path_params["ex"]
    if ex_id not in _sem(request).bank:
        return _page(
            request,
            "serve_message.html",
            status=404,
            title="No such exercise",
            message="There is no exercise with that name.",
        )
    return sess, form, ex_id


async def submit(request: Request):
    got = await _student_post(request)
    if isinstance(got, Response):
        return got
    sess, form, ex_id = got
    sem = _sem(request)
    student = sess["student"]
    answer = form.get("answer", "")
    if not answer.strip():
        return RedirectResponse(f"/ex/{ex_id}?msg=empty", status_code=303)
    if len(answer) > MAX_ANSWER:
        return _page(
            request,
            "serve_message.html",
            status=413,
            title="Answer too long",
            message=f"An answer may be at most {MAX_ANSWER} characters long.",
        )
    if student in sem.submit_limit.busy or not sem.submit_limit.allow(student):
        return _page(
            request,
            "serve_message.html",
            status=429,
            title="Slow down",
            message="Too many answers in a short time: wait a little, then submit again.",
        )
    sem.submit_limit.busy.add(student)
    try:
        variant = sem.variant(ex_id, student).id
        hints, solution = await asyncio.to_thread(sem.store.help_taken, student, ex_id)
        sub_id = await asyncio.to_thread(sem.store.add_submission, student, ex_id, variant, answer, hints, solution)
        verdict = await sem.check(variant, answer)
        await asyncio.to_thread(sem.store.set_verdict, sub_id, verdict)
    finally:
        sem.submit_limit.busy.discard(student)
    return RedirectResponse(f"/ex/{ex_id}?sub={sub_id}#feedback", status_code=303)


async def hint(request: Request):
    got = await _student_post(request)
    if isinstance(got, Response):
        return got
    sess, _, ex_id = got
    from gradproof.derive.seminar.hints import hint_ladder

    sem = _sem(request)
    most = len(hint_ladder(sem.variant(ex_id, sess["student"])))
    await asyncio.to_thread(sem.store.take_hint, sess["student"], ex_id, most)
    return RedirectResponse(f"/ex/{ex_id}#hints", status_code=303)


async def solution(request: Request):
    got = await _student_post(request)
    if isinstance(got, Response):
        return got
    sess, _, ex_id = got
    sem = _sem(request)
    if ex_id not in await asyncio.to_thread(sem.store.released):
        return _forbidden(request, "The tutor has not released this solution yet.")
    await asyncio.to_thread(sem.store.view_solution, sess["student"], ex_id)
    return RedirectResponse(f"/ex/{ex_id}#solution", status_code=303)


async def preview(request: Request):
    """How the answer is read, as text and MathML (JSON); nothing is stored or checked."""
    sess = await _student(request)
    if sess is None:
        return JSONResponse({"error": "sign in first"}, status_code=401)
    if not _csrf_ok(sess, request.headers.get("x-csrf-token")):
        return JSONResponse({"error": "expired form; reload the page"}, status_code=403)
    sem = _sem(request)
    ex_id = request.path_params["ex"]
    if ex_id not in sem.bank:
        return JSONResponse({"error": "no such exercise"}, status_code=404)
    if not sem.preview_limit.allow(sess["student"]):
        return JSONResponse({"error": "too many previews; slow down"}, status_code=429)
    body = await request.body()
    if len(body) > MAX_FORM:
        return JSONResponse({"error": "answer too long"}, status_code=413)
    try:
        answer = json.loads(body.decode("utf-8")).get("answer", "")
    except (ValueError, UnicodeDecodeError, AttributeError):
        return JSONResponse({"error": "bad request"}, status_code=400)
    if not isinstance(answer, str) or len(answer) > MAX_ANSWER:
        return JSONResponse({"error": "answer too long"}, status_code=413)
    ex = sem.variant(ex_id, sess["student"])
    return JSONResponse(await asyncio.to_thread(read_preview, ex, answer))


def read_preview(ex, answer: str) -> dict:
    """Read an answer as the checker will (formula items; each step of a multi-step item)."""
    from gradproof.derive.seminar.answers import AnswerError, read_answer

    if not answer.strip():
        return {"text": "", "mathml": "", "error": ""}
    if ex.answer_type == "choice":
        return {"text": answer.strip(), "mathml": "", "error": ""}
    if ex.answer_type == "numeric":
        return {"text": answer.strip(), "mathml": "", "error": ""}
    if ex.answer_type == "steps":
        from gradproof.derive.seminar.variants import split_steps, stage_exercise

        parts, texts, errors = [], [], []
        for k, piece in enumerate(split_steps(answer)):
            if k >= len(ex.stages):
                errors.append(f"more than {len(ex.stages)} steps")
                break
            try:
                r = read_answer(piece, stage_exercise(ex, k).vocabulary())
                texts.append(r.text)
                parts.append(mathml(r.latex))
            except AnswerError as err:
                errors.append(f"step {k + 1}: {err}")
            except Exception:
                errors.append(f"step {k + 1}: cannot be read")
        return {"text": "; ".join(texts), "mathml": "".join(parts), "error": "; ".join(errors)}
    try:
        r = read_answer(answer, ex.vocabulary())
    except AnswerError as err:
        return {"text": "", "mathml": "", "error": str(err)}
    except Exception:
        return {"text": "", "mathml": "", "error": "the answer cannot be read"}
    return {"text": r.text, "mathml": mathml(r.latex), "error": ""}


# ---------------------------------------------------------------------------
# the tutor's pages
# ---------------------------------------------------------------------------


async def _tutor(request: Request):
    sess = await _session(request)
    return sess if sess is not None and sess["role"] == "tutor" else None


def _latest(rows) -> dict:
    """The latest checked submission per (student, exercise)."""
    out = {}
    for r in rows:
        if r["status"] != "pending":
            out[(r["student"], r["exercise"])] = r
    return out


async def tutor_home(request: Request):
    sess = await _tutor(request)
    if sess is None:
        return RedirectResponse("/", status_code=303)
    sem = _sem(request)
    rows = await asyncio.to_thread(sem.store.all_submissions)
    students = await asyncio.to_thread(sem.store.students)
    released = await asyncio.to_thread(sem.store.released)
    latest = _latest(rows)
    per_ex = []
    for e in sem.order:
        mine = [r for (s, x), r in latest.items() if x == e]
        per_ex.append(
            {
                "id": e,
                "title": sem.bank[e].title,
                "answers": sum(r["exercise"] == e for r in rows),
                "students": len(mine),
                "correct": sum(r["status"] == "correct" for r in mine),
                "released": e in released,
            }
        )
    grid = [
        {
            "id": s["id"],
            "name": s["name"],
            "cells": [latest.get((s["id"], e)) for e in sem.order],
            "answers": sum(r["student"] == s["id"] for r in rows),
        }
        for s in students
    ]
    return _page(
        request,
        "serve_tutor.html",
        per_ex=per_ex,
        grid=grid,
        order=sem.order,
        csrf=sess["csrf"],
        total=len(rows),
        pending=sum(r["status"] == "pending" for r in rows),
    )


async def tutor_student(request: Request):
    sess = await _tutor(request)
    if sess is None:
        return RedirectResponse("/", status_code=303)
    sem = _sem(request)
    sid = request.path_params["student"]
    hist = await asyncio.to_thread(sem.store.history, sid)
    known = {s["id"] for s in await asyncio.to_thread(sem.store.students)}
    if sid not in known:
        return _page(
            request,
            "serve_message.html",
            status=404,
            title="No such student",
            message="There is no student with that id on the roster.",
        )
    return _page(
        request,
        "serve_tutor_student.html",
        student=sid,
        csrf=sess["csrf"],
        history=[{"row": r, "v": _verdict(r)} for r in hist],
    )


async def tutor_release(request: Request):
    sess = await _tutor(request)
    if sess is None:
        return _forbidden(request, "Only the tutor may release solutions.", 401)
    form = await _form(request)
    if not _csrf_ok(sess, form.get("csrf")):
        return _forbidden(request, "This form has expired; reload the page and try again.")
    sem = _sem(request)
    ex_id = form.get("exercise", "")
    if ex_id not in sem.bank:
        return _page(
            request,
            "serve_message.html",
            status=404,
            title="No such exercise",
            message="There is no exercise with that name.",
        )
    await asyncio.to_thread(sem.store.release, ex_id, form.get("release", "1") == "1")
    return RedirectResponse("/tutor", status_code=303)


def class_rows(sem: Seminar) -> list:
    """(Row, stored verdict) for the latest checked answer of each student to each exercise."""
    from gradproof.reports.grading import Row

    latest = _latest(sem.store.all_submissions())
    out = []
    for k, r in enumerate(sorted(latest.values(), key=lambda r: r["id"])):
        out.append(
            (
                Row(k + 2, r["student"], r["exercise"], r["answer"], r["hints"], bool(r["solution"])),
                json.loads(r["verdict"]),
            )
        )
    return out


def class_result(sem: Seminar):
    """The class as :func:`gradproof.reports.grading.grade` would grade the latest answers (help counted the same way)."""
    from gradproof.derive.seminar.equivalence import Verdict
    from gradproof.derive.seminar.exercises import get
    from gradproof.derive.seminar.hints import credit_after_help
    from gradproof.reports.grading import ClassResult

    rows, verdicts, seen = [], [], set()
    for row, d in class_rows(sem):
        v = Verdict.from_json(d)
        if v.answer != row.answer:
            v = Verdict(**{**v.to_json(), "answer": row.answer, "feedback": v.feedback, "parts": v.parts})
        if row.hints or row.solution:
            note = f"credit after help: {row.hints} hint(s)" + (", solution viewed" if row.solution else "")
            v = Verdict(
                **{
                    **v.to_json(),
                    "credit": credit_after_help(v.credit, row.hints, row.solution),
                    "feedback": v.feedback + (note,),
                    "parts": v.parts,
                }
            )
        rows.append(row)
        verdicts.append(v)
        seen.add((v.exercise, " ".join(row.answer.split())))
    slow = max(verdicts, key=lambda v: v.seconds, default=None)
    used = sorted({r.exercise for r in rows})
    return ClassResult(
        rows,
        verdicts,
        len(seen),
        (slow.exercise, slow.answer, slow.seconds) if slow else ("", "", 0.0),
        [get(e) for e in used],
    )


def answers_csv(sem: Seminar) -> str:
    """The latest answers as ``gradproof grade`` reads them (student, exercise, answer, hints, solution)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["student", "exercise", "answer", "hints", "solution"])
    for row, _ in class_rows(sem):
        w.writerow([row.student, row.exercise, row.answer, row.hints, "yes" if row.solution else "no"])
    return buf.getvalue()


EXPORTS = {
    "class.csv": "text/csv; charset=utf-8",
    "summary.csv": "text/csv; charset=utf-8",
    "class.html": "text/html; charset=utf-8",
}


async def tutor_export(request: Request):
    sess = await _tutor(request)
    if sess is None:
        return _forbidden(request, "Only the tutor may export the class.", 401)
    sem = _sem(request)
    name = request.path_params["name"]
    if name == "answers.csv":
        text = await asyncio.to_thread(answers_csv, sem)
        media = "text/csv; charset=utf-8"
    elif name in EXPORTS:

        def build() -> str:
            from gradproof.reports.grading import write_reports

            result = class_result(sem)
            with tempfile.TemporaryDirectory(prefix="gradproof-export-") as tmp:
                write_reports(result, tmp)
                return (Path(tmp) / name).read_text(encoding="utf-8")

        text = await asyncio.to_thread(build)
        media = EXPORTS[name]
    else:
        return _page(
            request,
            "serve_message.html",
            status=404,
            title="No such export",
            message="Exports: class.csv, class.html, summary.csv, answers.csv.",
        )
    resp = Response(text, media_type=media)
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    if name == "class.html":
        resp.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return resp


# ---------------------------------------------------------------------------


def create_app(seminar: Seminar, start: bool = True) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app):
        if start:
            await asyncio.to_thread(seminar.start)
        task = asyncio.create_task(seminar.recheck_pending())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    routes = [
        Route("/", home),
        Route("/signin", signin, methods=["POST"]),
        Route("/signout", signout, methods=["POST"]),
        Route("/student", student_home),
        Route("/ex/{ex}", exercise_page),
        Route("/ex/{ex}/submit", submit, methods=["POST"]),
        Route("/ex/{ex}/hint", hint, methods=["POST"]),
        Route("/ex/{ex}/solution", solution, methods=["POST"]),
        Route("/ex/{ex}/preview", preview, methods=["POST"]),
        Route("/tutor", tutor_home),
        Route("/tutor/student/{student}", tutor_student),
        Route("/tutor/release", tutor_release, methods=["POST"]),
        Route("/tutor/export/{name}", tutor_export),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, middleware=[Middleware(SecurityHeaders)])
    app.state.seminar = seminar
    return app
