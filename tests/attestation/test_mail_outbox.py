"""The outbox against a real SMTP server (aiosmtpd on 127.0.0.1) and a real database on
both backends: invitations arrive with the conference id and password (B 4.6), a failing
server is retried and the failure is shown to staff, a restart resumes the outbox."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import select

from attestation.mail import outbox
from attestation.mail.letters import Letter
from attestation.mail.mailer import MAILER
from attestation.mail.models import OutboxLetter
from attestation.views import EventView, GroupView, InvitationView, ProgramView
from server.app import create_app
from server.appkeys import SESSIONS
from server.settings import Settings
from server.users import User
from tests.seed import Seed, eventually

EVENT = EventView(
    id=3,
    title="Итоговое тестирование",
    form="testing",
    form_title="тестирование",
    scale="4",
    scale_title="четырёхбалльная система",
    starts_at=datetime(2030, 12, 3, 7, 0, tzinfo=UTC),
    timezone="Europe/Moscow",
    place="",
    remote=True,
)


def _view(user_id: int, email_address: str, name: str, role: str = "learner") -> InvitationView:
    return InvitationView(
        recipient_user_id=user_id,
        recipient_name=name,
        recipient_email=email_address,
        recipient_role=role,
        event=EVENT,
        program=ProgramView(1, "ГО-2026", "Подготовка должностных лиц ГО"),
        group=GroupView(2, "ГО-1", "Первая группа"),
        starts_at=EVENT.starts_at,
        timezone="Europe/Moscow",
        place="",
        remote=True,
        connection_link="http://127.0.0.1:8080/room/test-7",
        conference_id="482-913-075",
        password="Kw7-pQ2",
        how_to_connect="Откройте ссылку и войдите под своей учётной записью.",
    )


class Inbox:
    """An SMTP handler that accepts, defers (4xx) or refuses (5xx) as the test says."""

    def __init__(self) -> None:
        self.received: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.data_attempts = 0
        self.defer_data: str | None = None
        self.refuse_rcpt: str | None = None

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if self.refuse_rcpt:
            return self.refuse_rcpt
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.data_attempts += 1
        if self.defer_data:
            return self.defer_data
        content = envelope.original_content or b""
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.envelopes.append((str(envelope.mail_from), list(envelope.rcpt_tos)))
        self.received.append(message)
        return "250 Message accepted for delivery"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server on 127.0.0.1 (in its own thread) and its port."""
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


@pytest.fixture
def mail_settings(settings: Settings, smtp: tuple[Inbox, int]) -> Settings:
    """Settings that send to the local SMTP server, retrying fast."""
    return settings.replace(
        smtp_host="127.0.0.1",
        smtp_port=smtp[1],
        smtp_security="none",
        mail_from="Курсы ГО <courses@example.org>",
        smtp_timeout_seconds=5.0,
        mail_max_attempts=3,
        mail_retry_seconds=0.05,
        mail_poll_seconds=0.05,
    )


@pytest.fixture
def app(mail_settings: Settings) -> web.Application:
    """The application sending to the local SMTP server."""
    return create_app(mail_settings)


async def _queue(app: web.Application, *views: InvitationView) -> list[int]:
    async with app[SESSIONS]() as db:
        rows = await app[MAILER].queue(db, views)
        await db.commit()
        ids = [row.id for row in rows]
    app[MAILER].wake()
    return ids


async def _letter(app: web.Application, letter_id: int) -> OutboxLetter:
    async with app[SESSIONS]() as db:
        row = await db.get(OutboxLetter, letter_id)
        assert row is not None
        return row


async def _status_is(app: web.Application, letter_id: int, status: str) -> OutboxLetter | None:
    row = await _letter(app, letter_id)
    return row if row.status == status else None


@pytest.mark.rule("B4.6-invitation")
async def test_invitations_arrive_with_the_conference_id_and_password(
    client: TestClient[Any, Any], seed: Seed, smtp: tuple[Inbox, int]
) -> None:
    app = client.server.app
    inbox = smtp[0]
    ids = await _queue(
        app,
        _view(seed.users["learner1"], "learner1@example.org", "Аксёнов Фёдор"),
        _view(seed.users["chair"], "chair@example.org", "Председателев П. И.", "chair"),
    )
    for letter_id in ids:
        await eventually(lambda i=letter_id: _status_is(app, i, outbox.SENT), within=10)
    assert len(inbox.received) == 2
    by_rcpt = {
        rcpts[0]: msg for (_, rcpts), msg in zip(inbox.envelopes, inbox.received, strict=True)
    }
    learner = by_rcpt["learner1@example.org"]
    assert inbox.envelopes[0][0] == "courses@example.org"
    assert "Аксёнов Фёдор" in str(learner["To"])
    assert str(learner["Subject"]).startswith("Приглашение на итоговую аттестацию (дистанционно)")
    plain = learner.get_body(("plain",))
    html = learner.get_body(("html",))
    assert plain is not None and html is not None
    for part in (plain.get_content(), html.get_content()):
        assert "482-913-075" in part
        assert "Kw7-pQ2" in part
        assert "«03» декабря 2030 г." in part and "10:00" in part
        assert "http://127.0.0.1:8080/room/test-7" in part
    chair = by_rcpt["chair@example.org"].get_body(("plain",))
    assert chair is not None and "председатель аттестационной комиссии" in chair.get_content()
    row = await _letter(app, ids[0])
    assert row.attempts == 1 and row.sent_at is not None and row.last_error == ""
    assert row.message_id == str(learner["Message-ID"])
    assert row.due_at == datetime(2030, 11, 30, 21, 0, tzinfo=UTC)


async def test_queueing_the_same_invitation_twice_sends_it_once(
    client: TestClient[Any, Any], seed: Seed, smtp: tuple[Inbox, int]
) -> None:
    app = client.server.app
    view = _view(seed.users["learner1"], "learner1@example.org", "Аксёнов Фёдор")
    first = await _queue(app, view)
    second = await _queue(app, view)
    assert first == second
    await eventually(lambda: _status_is(app, first[0], outbox.SENT), within=10)
    async with app[SESSIONS]() as db:
        assert len(list(await db.scalars(select(OutboxLetter)))) == 1
    assert len(smtp[0].received) == 1


async def test_a_failing_server_is_retried_and_the_failure_is_shown_to_staff(
    client: TestClient[Any, Any], seed: Seed, smtp: tuple[Inbox, int], login: Any
) -> None:
    app = client.server.app
    inbox = smtp[0]
    inbox.defer_data = "451 4.3.0 Mailbox temporarily unavailable"
    [letter_id] = await _queue(app, _view(seed.users["learner1"], "l1@example.org", "Слушатель"))
    row = await eventually(lambda: _status_is(app, letter_id, outbox.FAILED), within=15)
    assert inbox.data_attempts == 3 and row.attempts == 3
    assert "451" in row.last_error and "temporarily unavailable" in row.last_error
    assert inbox.received == []

    head = await login("head")
    status, body = await head.call("GET", "/api/mail/outbox?status=failed")
    assert status == 200, body
    assert body["smtp_configured"] is True
    [shown] = body["letters"]
    assert shown["id"] == letter_id and shown["status"] == "failed" and shown["attempts"] == 3
    assert "451" in shown["last_error"]
    assert "Kw7-pQ2" not in str(body), "the outbox API must not reveal letter bodies"
    status, body = await head.call("GET", f"/api/mail/outbox?event_id={EVENT.id}")
    assert status == 200 and [x["id"] for x in body["letters"]] == [letter_id]
    status, body = await head.call("GET", "/api/mail/outbox?status=lost")
    assert status == 422 and body["error"] == "invalid"
    status, body = await head.call("GET", "/api/mail/outbox?event_id=abc")
    assert status == 422

    learner = await login("learner1")
    status, body = await learner.call("GET", "/api/mail/outbox")
    assert status == 403 and body["error"] == "forbidden"
    async with client.get("/api/mail/outbox") as resp:
        assert resp.status == 401
    status, _ = await learner.call("POST", f"/api/mail/outbox/{letter_id}/retry")
    assert status == 403
    auditor = await login("auditor")
    status, _ = await auditor.call("GET", "/api/mail/outbox")
    assert status == 200
    status, _ = await auditor.call("POST", f"/api/mail/outbox/{letter_id}/retry")
    assert status == 403
    status, body = await head.call(
        "POST", f"/api/mail/outbox/{letter_id}/retry", headers={"X-CSRF-Token": "wrong"}
    )
    assert status == 403

    # The server is fixed; staff queue the letter again and it goes out.
    inbox.defer_data = None
    status, body = await head.call("POST", f"/api/mail/outbox/{letter_id}/retry")
    assert status == 200 and body["status"] in {"queued", "sending", "sent"}, body
    row = await eventually(lambda: _status_is(app, letter_id, outbox.SENT), within=10)
    assert len(inbox.received) == 1 and row.attempts == 1
    status, body = await head.call("POST", f"/api/mail/outbox/{letter_id}/retry")
    assert status == 409 and body["error"] == "wrong_state"
    status, body = await head.call("POST", "/api/mail/outbox/999999/retry")
    assert status == 404
    status, body = await head.call("POST", "/api/mail/outbox/99999999999/retry")
    assert status == 404


async def test_a_refused_recipient_fails_at_once(
    client: TestClient[Any, Any], seed: Seed, smtp: tuple[Inbox, int]
) -> None:
    app = client.server.app
    smtp[0].refuse_rcpt = "550 5.1.1 No such user here"
    [letter_id] = await _queue(app, _view(seed.users["learner1"], "nobody@example.org", "Никто"))
    row = await eventually(lambda: _status_is(app, letter_id, outbox.FAILED), within=10)
    assert row.attempts == 1 and "550" in row.last_error


async def test_a_person_without_an_address_is_a_visible_failure(
    client: TestClient[Any, Any], seed: Seed, smtp: tuple[Inbox, int]
) -> None:
    app = client.server.app
    [letter_id] = await _queue(app, _view(seed.users["learner2"], "", "Без почты"))
    row = await _letter(app, letter_id)
    assert row.status == outbox.FAILED and row.attempts == 0
    assert "no e-mail address" in row.last_error
    assert smtp[0].data_attempts == 0


async def test_concurrent_senders_never_claim_one_letter_twice(
    client: TestClient[Any, Any], seed: Seed
) -> None:
    app = client.server.app
    await app[MAILER].close()  # only the two claimers below take letters
    now = datetime.now(UTC)
    async with app[SESSIONS]() as db:
        for n in range(12):
            await outbox.enqueue(db, now, _letter_stub(n))
        await db.commit()
    policy = outbox.RetryPolicy()

    async def claim() -> list[int]:
        async with app[SESSIONS]() as db:
            return [row.id for row in await outbox.claim_due(db, now, policy, limit=12)]

    first, second = await asyncio.gather(claim(), claim())
    assert not set(first) & set(second)
    assert len(first) + len(second) == 12


def _letter_stub(n: int) -> Letter:
    return Letter(
        kind="notice",
        to_address=f"p{n}@example.org",
        to_name="",
        subject=f"Письмо {n}",
        text="Текст",
        html="",
        key=f"stub-{n}",
    )


async def test_a_restart_resumes_the_outbox(
    mail_settings: Settings, smtp: tuple[Inbox, int]
) -> None:
    inbox = smtp[0]
    # First run: no SMTP server configured yet, so letters wait; one letter was being
    # sent by a process that died (its claim is still on it).
    first = TestServer(create_app(mail_settings.replace(smtp_host="")))
    await first.start_server()
    try:
        async with first.app[SESSIONS]() as db:
            user = User(username="l1", role="learner", password_hash="x", full_name="Слушатель")
            db.add(user)
            await db.flush()
            waiting = await first.app[MAILER].queue(
                db, [_view(user.id, "l1@example.org", "Слушатель")]
            )
            crashed = await outbox.enqueue(db, datetime.now(UTC), _letter_stub(1))
            crashed.status = outbox.SENDING
            crashed.attempts = 1
            crashed.lease_until = datetime.now(UTC) - timedelta(seconds=1)
            await db.commit()
            ids = [waiting[0].id, crashed.id]
        first.app[MAILER].wake()
        await asyncio.sleep(0.2)  # give a (wrongly) running sender the chance to send
        assert inbox.data_attempts == 0
        assert (await _letter(first.app, ids[0])).status == outbox.QUEUED
    finally:
        await first.close()

    second = TestServer(create_app(mail_settings))
    await second.start_server()
    try:
        for letter_id in ids:
            await eventually(lambda i=letter_id: _status_is(second.app, i, outbox.SENT), within=10)
        subjects = sorted(str(message["Subject"]) for message in inbox.received)
        assert len(subjects) == 2 and subjects[0] == "Письмо 1"
        assert (await _letter(second.app, ids[1])).attempts == 2
    finally:
        await second.close()
