"""From the workflow to the inbox: a remote event scheduled through the API, its invitation
views built by the workflow, and every learner and commission member receiving the
conference identifier and password at a real local SMTP server (B 4.6, 2.7)."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import update

from attestation.config import ATTESTATION
from attestation.mail import outbox
from attestation.mail.mailer import MAILER
from attestation.models import AttestationEvent
from attestation.protocols import invitation_views
from server.app import create_app
from server.appkeys import SESSIONS
from server.settings import Settings
from server.users import User
from tests.attestation.conftest import World
from tests.seed import eventually


class Inbox:
    """Collects every delivered message by recipient."""

    def __init__(self) -> None:
        self.by_rcpt: dict[str, EmailMessage] = {}

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        message = email.message_from_bytes(
            envelope.original_content or b"", policy=email.policy.default
        )
        assert isinstance(message, EmailMessage)
        for rcpt in envelope.rcpt_tos:
            self.by_rcpt[rcpt] = message
        return "250 Message accepted for delivery"


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server on 127.0.0.1 and its port."""
    handler = Inbox()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.fixture
def app(settings: Settings, inbox: tuple[Inbox, int]) -> web.Application:
    """The application sending to the local SMTP server."""
    return create_app(
        settings.replace(
            smtp_host="127.0.0.1",
            smtp_port=inbox[1],
            smtp_security="none",
            mail_poll_seconds=0.05,
            mail_retry_seconds=0.05,
        )
    )


@pytest.mark.rule("B4.6-invitation")
async def test_a_remote_event_invites_learners_and_commission_by_email(
    world: World, inbox: tuple[Inbox, int]
) -> None:
    app = world.client.server.app
    handler = inbox[0]
    async with app[SESSIONS]() as db:
        await db.execute(update(User).values(email=User.username + "@example.org"))
        await db.commit()
    event = await world.event(days=5, remote=True, remote_reason="санитарные меры", place="")
    async with app[SESSIONS]() as db:
        row = await db.get(AttestationEvent, event["id"])
        assert row is not None
        views = await invitation_views(db, app[ATTESTATION], row, "https://exam.example.org")
        letters = await app[MAILER].queue(db, views)
        await db.commit()
        conference_id, password = row.conference_id, row.conference_password
    app[MAILER].wake()
    expected = {
        f"{name}@example.org"
        for name in ("learner1", "learner2", "learner3", "chair", "secretary", "member1", "member2")
    }
    assert {letter.to_address for letter in letters} == expected

    async def all_sent() -> bool:
        async with app[SESSIONS]() as db:
            rows = await outbox.letters(db, event_id=event["id"])
        return all(r.status == outbox.SENT for r in rows) and len(rows) == len(expected)

    await eventually(all_sent, within=20)
    assert set(handler.by_rcpt) == expected
    for address, message in handler.by_rcpt.items():
        body = message.get_body(("plain",))
        assert body is not None
        text: Any = body.get_content()
        assert conference_id in text and password in text, address
        assert "дистанционных образовательных технологий" in text
    chair = handler.by_rcpt["chair@example.org"].get_body(("plain",))
    assert chair is not None and "председатель аттестационной комиссии" in chair.get_content()
