"""The mailer of a server process: renders letters, files them in the outbox and runs the
sender that delivers them.

The workflow queues letters in its own transaction and calls :meth:`Mailer.wake` after
committing, so a letter goes out at once; the sender also looks at the outbox every
``mail_poll_seconds`` for retries that came due and for letters queued by other
processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable
from datetime import timedelta

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from attestation.mail import outbox
from attestation.mail.letters import LetterTemplates, letter_for
from attestation.mail.models import OutboxLetter
from attestation.mail.transport import SmtpConfig, build_message, deliver, is_permanent
from attestation.views import InvitationView
from server.appkeys import SESSIONS
from server.clock import Clock
from server.settings import Settings

log = logging.getLogger(__name__)


class Mailer:
    """Letters of one process: templates, SMTP configuration, retry policy, the sender."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.templates = LetterTemplates.in_web_dir(settings.web_dir)
        self.smtp = SmtpConfig.from_settings(settings)
        self.policy = outbox.RetryPolicy(
            max_attempts=settings.mail_max_attempts,
            base=timedelta(seconds=settings.mail_retry_seconds),
        )
        self.poll_seconds = settings.mail_poll_seconds
        self.clock = clock
        self._sessions: async_sessionmaker[AsyncSession] | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def queue(self, db: AsyncSession, views: Iterable[InvitationView]) -> list[OutboxLetter]:
        """Render and file the invitation or notice of each view in the caller's
        transaction (idempotent per event and person); call :meth:`wake` after commit."""
        now = self.clock.now()
        return [await outbox.enqueue(db, now, letter_for(view, self.templates)) for view in views]

    def wake(self) -> None:
        """Look at the outbox now instead of at the next poll."""
        self._wake.set()

    async def start(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        """Start the sender on this database."""
        self._sessions = sessions
        self._task = asyncio.create_task(self._run(), name="mail-sender")

    async def close(self) -> None:
        """Stop the sender; a letter being sent keeps its lease and is retried later."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.send_due()
            except Exception:
                log.exception("mail sender round failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)

    async def send_due(self) -> int:
        """Send every letter due now; returns how many were delivered."""
        if self._sessions is None or not self.smtp.configured:
            return 0
        delivered = 0
        while True:
            async with self._sessions() as db:
                claimed = await outbox.claim_due(db, self.clock.now(), self.policy)
            if not claimed:
                return delivered
            for row in claimed:
                delivered += await self._send(row)

    async def _send(self, row: OutboxLetter) -> int:
        assert self._sessions is not None
        permanent = False
        try:
            message = build_message(row, self.smtp)
        except (ValueError, TypeError) as exc:
            error: Exception | None = exc
            permanent = True
        else:
            try:
                await deliver(message, self.smtp)
                error = None
            except Exception as exc:
                error = exc
                permanent = is_permanent(exc)
        async with self._sessions() as db:
            if error is None:
                await outbox.mark_sent(db, row.id, self.clock.now(), str(message["Message-ID"]))
                log.info("letter %s (%s) sent to user %s", row.id, row.kind, row.user_id)
            else:
                text = f"{type(error).__name__}: {error}".strip()
                status = await outbox.mark_failed(
                    db,
                    row.id,
                    row.attempts,
                    self.clock.now(),
                    text,
                    self.policy,
                    permanent=permanent,
                )
                log.warning(
                    "letter %s to user %s, attempt %s: %s (now %s)",
                    row.id,
                    row.user_id,
                    row.attempts,
                    text,
                    status,
                )
            await db.commit()
        return 1 if error is None else 0


MAILER = web.AppKey("mailer", Mailer)


async def _lifetime(app: web.Application) -> AsyncIterator[None]:
    mailer = app[MAILER]
    await mailer.start(app[SESSIONS])
    yield
    await mailer.close()


def install_mail(app: web.Application, settings: Settings, clock: Clock) -> None:
    """Put the mailer on the application, run its sender while the app runs (after the
    database is open) and add the outbox routes."""
    from attestation.mail.routes import routes

    app[MAILER] = Mailer(settings, clock)
    app.cleanup_ctx.append(_lifetime)
    app.add_routes(routes)
