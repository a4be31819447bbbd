"""The quiz JSON API under ``/api/``: thin handlers over the quiz services."""

from __future__ import annotations

import random
import secrets
from datetime import datetime
from typing import Any

from aiohttp import web

from proctor.identity import identity_mode, start_gate
from proctor.monitoring import report_second_session
from quiz import attempts as attempts_service
from quiz.attempts import (
    AttemptInUse,
    attempt_json,
    load_attempt,
    result_json,
    submit,
    submit_sqlite,
)
from quiz.banks import (
    approve_bank,
    bank_questions,
    banks_json,
    edit_question,
    get_bank,
    import_report,
)
from quiz.catalogue import CATALOGUE
from quiz.imports import FORMATS, parse_questions
from quiz.imports.errors import ImportFormatError
from quiz.imports.parsed import ParsedOption
from quiz.quizzes import create_quiz, get_quiz, item_analysis, quizzes_for, results_of
from quiz.starts import START_LOCKS, StartRequest, open_attempt
from server import audit
from server.access import MAX_INT, field, path_int, read_json, require_user
from server.appkeys import CLOCK, JOURNAL, SESSIONS, SETTINGS, SIO
from server.database import WRITER
from server.errors import Invalid, NotFound
from server.i18n import request_language
from server.programs import get_program, sections_of
from server.uploads import read_upload
from server.users import AUTHOR_ROLES, Role, get_user

routes = web.RouteTableDef()
ANALYSTS = AUTHOR_ROLES | {Role.AUDITOR}
QUIZ_NS = "/quiz"


def attempt_room(attempt_id: int) -> str:
    """The socket.io room of one attempt's tabs."""
    return f"attempt:{attempt_id}"


def _datetime(data: dict[str, Any], name: str) -> datetime | None:
    raw = field(data, name, str, required=False)
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise Invalid(f"field {name!r} is not an ISO 8601 datetime", field=name) from exc
    if value.tzinfo is None:
        raise Invalid(f"field {name!r} needs a timezone offset", field=name)
    return value


@routes.get("/api/programs")
async def list_programs(request: web.Request) -> web.Response:
    """Programs with their sections."""
    require_user(request)
    from sqlalchemy import select

    from server.programs import Program

    async with request.app[SESSIONS]() as db:
        programs = list(await db.scalars(select(Program).order_by(Program.id)))
        out = []
        for program in programs:
            sections = await sections_of(db, program.id)
            out.append(
                {
                    "id": program.id,
                    "code": program.code,
                    "title": program.title,
                    "sections": [{"id": s.id, "title": s.title} for s in sections],
                }
            )
    return web.json_response(out)


@routes.get("/api/tests")
async def list_tests(request: web.Request) -> web.Response:
    """Tests the learner may take (with their attempt), or all tests for staff."""
    user = require_user(request)
    async with request.app[SESSIONS]() as db:
        data = await quizzes_for(db, user, request.app[CLOCK].now(), request_language(request))
    return web.json_response(data)


@routes.post("/api/tests")
async def create_test(request: web.Request) -> web.Response:
    """Create a test (instructor, head, admin)."""
    user = require_user(request, AUTHOR_ROLES)
    data = await read_json(request, request.app[SETTINGS].max_json_bytes)
    raw_plan = field(data, "sections", dict)
    plan: dict[int, int] = {}
    for key, value in (raw_plan or {}).items():
        is_id = str(key).isascii() and str(key).isdigit()  # not "²", which int() refuses
        if not is_id or not isinstance(value, int) or isinstance(value, bool):
            raise Invalid("sections must map section ids to question counts", field="sections")
        plan[int(key)] = value
    minutes = field(data, "time_limit_minutes", int)
    async with request.app[SESSIONS]() as db:
        quiz = await create_quiz(
            db,
            user,
            request.app[CLOCK].now(),
            program_id=field(data, "program_id", int) or 0,
            title=field(data, "title", str) or "",
            form=field(data, "form", str, required=False) or "testing",
            time_limit_s=(minutes or 0) * 60,
            plan=plan,
            shuffle_options=bool(
                field(data, "shuffle_options", bool, required=False)
                if "shuffle_options" in data
                else True
            ),
            opens_at=_datetime(data, "opens_at"),
            closes_at=_datetime(data, "closes_at"),
            group_id=field(data, "group_id", int, required=False),
        )
        await db.commit()
    return web.json_response({"id": quiz.id, "scale": quiz.scale, "form": quiz.form}, status=201)


@routes.post("/api/tests/{test_id}/attempts")
async def start_attempt(request: web.Request) -> web.Response:
    """Start the learner's attempt or resume it (``lease`` to resume, ``takeover`` to move tabs)."""
    user = require_user(request)
    test_id = path_int(request, "test_id")
    data = await read_json(request, request.app[SETTINGS].max_json_bytes)
    lease = field(data, "lease", str, required=False)
    takeover = bool(field(data, "takeover", bool, required=False))
    app = request.app
    start = StartRequest(
        test_id,
        user,
        lease,
        takeover,
        app[CLOCK].now(),
        _grace(app),
        request_language(request),
    )
    gate = start_gate(identity_mode(app[SETTINGS].identity_check))
    try:
        async with app[START_LOCKS].hold(user.user_id):
            opened = await open_attempt(
                app[SESSIONS],
                app.get(WRITER),
                app[CATALOGUE],
                start,
                # Mersenne Twister seeded from the OS per start: as unpredictable to the
                # learner as SystemRandom, without a system call per number drawn.
                random.Random(secrets.randbits(128)),
                gate,
            )
    except AttemptInUse as refused:
        await report_second_session(app, test_id, user.user_id, refused.message)
        raise
    if opened.meta is not None:
        app[JOURNAL].remember(opened.meta)
    if opened.lease_changed and takeover:
        await app[SIO].emit(
            "taken_over",
            {"attempt_id": opened.attempt_id},
            room=attempt_room(opened.attempt_id),
            namespace=QUIZ_NS,
        )
        await report_second_session(
            app, test_id, user.user_id, f"attempt {opened.attempt_id} was taken over by another tab"
        )
    status = 201 if opened.lease_changed and not takeover else 200
    return web.json_response(opened.body, status=status)


def _grace(app: web.Application) -> Any:
    from datetime import timedelta

    return timedelta(seconds=app[SETTINGS].answer_grace_seconds)


@routes.get("/api/attempts/{attempt_id}")
async def get_attempt(request: web.Request) -> web.Response:
    """The attempt with its questions, saved answers, deadline and, once submitted, the result."""
    user = require_user(request)
    attempt_id = path_int(request, "attempt_id")
    app = request.app
    async with app[SESSIONS]() as db:
        attempt = await load_attempt(db, attempt_id, user)
        now = app[CLOCK].now()
        if attempts_service.must_submit(attempt, now, _grace(app)):
            attempt = await submit(db, attempt.id, now, "deadline")
            await db.commit()
        body = await attempt_json(db, attempt, now, request_language(request), False)
    return web.json_response(body)


@routes.put("/api/attempts/{attempt_id}/answers/{question_id}")
async def save_answer(request: web.Request) -> web.Response:
    """Save one answer; the reply comes after it is committed. Repeating it is harmless."""
    user = require_user(request, {Role.LEARNER})
    attempt_id = path_int(request, "attempt_id")
    question_id = path_int(request, "question_id")
    data = await read_json(request, request.app[SETTINGS].max_json_bytes)
    if "option_id" not in data:
        raise Invalid("field 'option_id' is required (null clears the answer)", field="option_id")
    option_id = field(data, "option_id", int, required=False)
    lease = field(data, "lease", str) or ""
    saved = await request.app[JOURNAL].save(user, attempt_id, question_id, option_id, lease)
    return web.json_response(
        {
            "saved": True,
            "attempt_id": saved.attempt_id,
            "question_id": saved.question_id,
            "option_id": saved.option_id,
            "deadline": saved.deadline.isoformat(),
            "server_time": saved.server_time.isoformat(),
        }
    )


@routes.post("/api/attempts/{attempt_id}/submit")
async def submit_attempt(request: web.Request) -> web.Response:
    """Submit the attempt; returns percent, mark and scale."""
    user = require_user(request, {Role.LEARNER})
    attempt_id = path_int(request, "attempt_id")
    data = await read_json(request, request.app[SETTINGS].max_json_bytes)
    # Only the holding tab submits (B 5.12): without its lease, any tab could end the attempt.
    lease = field(data, "lease", str) or ""
    app = request.app
    now = app[CLOCK].now()
    writer = app.get(WRITER)
    if writer is not None:  # SQLite: in the writer's next batch, with the answers
        attempt = await writer.run(
            lambda con: submit_sqlite(con, attempt_id, user.user_id, now, "learner", lease)
        )
    else:
        async with app[SESSIONS]() as db:
            attempt = await load_attempt(db, attempt_id, user)
            if attempt.user_id != user.user_id:
                raise NotFound(f"attempt {attempt_id} does not exist")
            attempt = await submit(db, attempt_id, now, "learner", lease)
            await db.commit()
    await app[SIO].emit(
        "submitted", {"attempt_id": attempt_id}, room=attempt_room(attempt_id), namespace=QUIZ_NS
    )
    result = result_json(attempt, request_language(request)) or {}
    return web.json_response(
        {
            "attempt_id": attempt_id,
            "percent": result.get("percent"),
            "raw_percent": result.get("raw_percent"),
            "mark": result.get("mark"),
            "mark_title": result.get("mark_title"),
            "scale": result.get("scale"),
            "passed": result.get("passed"),
            "correct": result.get("correct"),
            "total": result.get("total"),
            "server_time": app[CLOCK].now().isoformat(),
        }
    )


@routes.get("/api/results")
async def my_results(request: web.Request) -> web.Response:
    """The learner's results: the personal account and the electronic archive (A 2.1)."""
    user = require_user(request, {Role.LEARNER})
    async with request.app[SESSIONS]() as db:
        data = await results_of(db, user.user_id, request_language(request))
    return web.json_response(data)


@routes.get("/api/learners/{user_id}/account")
async def support_view(request: web.Request) -> web.Response:
    """Support opens a learner's personal account (A 2.2); every access is logged."""
    user = require_user(request, {Role.SUPPORT, Role.ADMIN})
    learner_id = path_int(request, "user_id")
    reason = request.query.get("reason", "").strip()
    if not reason:
        raise Invalid("say why you open this account: ?reason=…", field="reason")
    app = request.app
    async with app[SESSIONS]() as db:
        learner = await get_user(db, learner_id)
        if learner.role != Role.LEARNER:
            raise NotFound(f"learner {learner_id} does not exist")
        await audit.record(
            db,
            app[CLOCK].now(),
            user.user_id,
            "support.access",
            "user",
            learner_id,
            reason=reason[:500],
        )
        await db.commit()
        learner_identity = _as_identity(learner)
        tests = await quizzes_for(db, learner_identity, app[CLOCK].now(), request_language(request))
        results = await results_of(db, learner_id, request_language(request))
    return web.json_response({"learner": learner.public(), "tests": tests, "results": results})


def _as_identity(user: Any) -> Any:
    from server.sessions import Identity

    return Identity(user.id, user.username, user.role, user.full_name, "", "")


@routes.get("/api/banks")
async def list_banks(request: web.Request) -> web.Response:
    """Question banks with counts per status."""
    require_user(request, ANALYSTS)
    async with request.app[SESSIONS]() as db:
        return web.json_response(await banks_json(db))


@routes.get("/api/banks/{bank_id}/questions")
async def list_bank_questions(request: web.Request) -> web.Response:
    """A bank's questions with options and versions."""
    require_user(request, ANALYSTS)
    bank_id = path_int(request, "bank_id")
    async with request.app[SESSIONS]() as db:
        await get_bank(db, bank_id)
        return web.json_response(await bank_questions(db, bank_id))


@routes.post("/api/banks/{bank_id}/approve")
async def approve(request: web.Request) -> web.Response:
    """The head of courses approves a bank (B 2.5)."""
    user = require_user(request, AUTHOR_ROLES)
    bank_id = path_int(request, "bank_id")
    async with request.app[SESSIONS]() as db:
        bank = await approve_bank(db, bank_id, user, request.app[CLOCK].now())
        await db.commit()
    request.app[CATALOGUE].invalidate()
    return web.json_response({"id": bank.id, "status": bank.status})


@routes.put("/api/questions/{question_id}")
async def update_question(request: web.Request) -> web.Response:
    """Edit a question: drafts change in place, approved ones get a new draft version."""
    user = require_user(request, AUTHOR_ROLES)
    question_id = path_int(request, "question_id")
    data = await read_json(request, request.app[SETTINGS].max_json_bytes)
    raw_options = field(data, "options", list) or []
    options: list[ParsedOption] = []
    for raw in raw_options:
        if not isinstance(raw, dict) or not isinstance(raw.get("text"), str):
            raise Invalid("options must be objects with text and correct", field="options")
        options.append(ParsedOption(raw["text"], bool(raw.get("correct"))))
    async with request.app[SESSIONS]() as db:
        question = await edit_question(
            db,
            question_id,
            field(data, "text", str) or "",
            options,
            field(data, "explanation", str, required=False) or "",
            user,
            request.app[CLOCK].now(),
        )
        await db.commit()
    request.app[CATALOGUE].invalidate()
    return web.json_response(
        {"id": question.id, "version": question.version, "status": question.status}
    )


@routes.post("/api/banks/import")
async def import_bank(request: web.Request) -> web.Response:
    """Import a GIFT, Aiken or Moodle XML file into a new draft bank (``dry_run`` to preview)."""
    user = require_user(request, AUTHOR_ROLES)
    data, filename, fields = await read_upload(request)
    fmt = fields.get("format") or None
    if fmt is not None and fmt not in FORMATS:
        raise Invalid(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}", field="format")
    program_field = fields.get("program_id", "")
    if not (program_field.isascii() and program_field.isdigit()) or len(program_field) > 10:
        raise Invalid("program_id is required", field="program_id")
    if int(program_field) > MAX_INT:
        raise Invalid("program_id is out of range", field="program_id")
    try:
        report = parse_questions(data, fmt, filename)
    except ImportFormatError as exc:
        raise Invalid(str(exc), code="bad_file") from exc
    dry_run = fields.get("dry_run", "") in {"1", "true", "on"}
    async with request.app[SESSIONS]() as db:
        program = await get_program(db, int(program_field))
        bank_id = None
        if not dry_run:
            stored = await import_report(
                db,
                program,
                fields.get("title") or filename,
                report,
                user,
                request.app[CLOCK].now(),
                fields.get("section") or None,
            )
            await db.commit()
            bank_id = stored.bank_id
    request.app[CATALOGUE].invalidate()
    return web.json_response(
        {
            "bank_id": bank_id,
            "dry_run": dry_run,
            "imported": len(report.questions),
            "skipped": [{"line": s.line, "reason": s.reason} for s in report.skipped],
            "warnings": [{"line": w.line, "reason": w.reason} for w in report.warnings],
        },
        status=200 if dry_run else 201,
    )


@routes.get("/api/tests/{test_id}/analysis")
async def analysis(request: web.Request) -> web.Response:
    """Item analysis of a test: facility, discrimination, option shares, KR-20."""
    require_user(request, ANALYSTS)
    test_id = path_int(request, "test_id")
    async with request.app[SESSIONS]() as db:
        await get_quiz(db, test_id)
        return web.json_response(await item_analysis(db, test_id))
