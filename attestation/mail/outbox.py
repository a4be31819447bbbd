"""The outbox: letters are committed to the database first and sent afterwards.

A letter queued inside the transaction that schedules an event exists exactly when the
event does, and survives a restart until it is sent. Senders claim due letters with a
compare-and-set on ``status`` and a lease, so several server processes never send one
letter twice at once, and a letter whose sender died mid-way is taken up again when its
lease runs out (delivery is at least once). Each claim counts as an attempt; a failed
attempt waits ``backoff`` before the next, and after the last one the letter is marked
failed with the error for staff to see.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from attestation.errors import WrongState
from attestation.mail.letters import Letter
from attestation.mail.models import OutboxLetter
from server.errors import Invalid, NotFound

QUEUED = "queued"
SENDING = "sending"
SENT = "sent"
FAILED = "failed"
STATUSES = (QUEUED, SENDING, SENT, FAILED)
MAX_BACKOFF = timedelta(hours=1)
MAX_ERROR_CHARS = 2000


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a letter is tried."""

    max_attempts: int = 8
    base: timedelta = timedelta(seconds=60)
    lease: timedelta = timedelta(minutes=5)


def backoff(attempts: int, base: timedelta) -> timedelta:
    """The wait after ``attempts`` failed attempts: base, 2·base, 4·base, … at most an hour."""
    if attempts < 1:
        return timedelta(0)
    # Capping the exponent keeps the multiplication finite for any attempt count.
    wait: timedelta = base * 2 ** min(attempts - 1, 30)
    return min(wait, MAX_BACKOFF)


def next_state(attempts: int, policy: RetryPolicy, now: datetime) -> tuple[str, datetime]:
    """After a failed attempt (``attempts`` made so far): queued again at the backoff, or
    failed for good when no attempt is left."""
    if attempts >= policy.max_attempts:
        return FAILED, now
    return QUEUED, now + backoff(attempts, policy.base)


async def enqueue(db: AsyncSession, now: datetime, letter: Letter) -> OutboxLetter:
    """File a letter for sending (in the caller's transaction); a letter whose ``key`` is
    already filed is not filed again, and the existing one is returned."""
    if letter.key is not None:
        existing = await db.scalar(select(OutboxLetter).where(OutboxLetter.key == letter.key))
        if existing is not None:
            return existing
    row = OutboxLetter(
        key=letter.key,
        kind=letter.kind,
        event_id=letter.event_id,
        user_id=letter.user_id,
        to_address=letter.to_address.strip(),
        to_name=letter.to_name,
        subject=letter.subject,
        body_text=letter.text,
        body_html=letter.html,
        status=QUEUED,
        attempts=0,
        next_attempt_at=now,
        last_error="",
        due_at=letter.due_at,
        created_at=now,
        message_id="",
    )
    if "@" not in row.to_address:
        # Nobody can be reached: say so at once instead of trying an SMTP server.
        row.status = FAILED
        row.last_error = f"no e-mail address for user {letter.user_id}"
    try:
        async with db.begin_nested():
            db.add(row)
    except IntegrityError:
        # Queued by someone else in the meantime under the same key.
        existing = await db.scalar(select(OutboxLetter).where(OutboxLetter.key == letter.key))
        if existing is None:
            raise
        return existing
    return row


async def claim_due(
    db: AsyncSession, now: datetime, policy: RetryPolicy, limit: int = 20
) -> list[OutboxLetter]:
    """Claim up to ``limit`` letters due now (and those of a sender whose lease ran out)
    and commit the claim; each claim counts as an attempt."""
    due = or_(
        and_(OutboxLetter.status == QUEUED, OutboxLetter.next_attempt_at <= now),
        and_(OutboxLetter.status == SENDING, OutboxLetter.lease_until < now),
    )
    candidates = (
        await db.execute(
            select(OutboxLetter.id, OutboxLetter.status, OutboxLetter.attempts)
            .where(due)
            .order_by(OutboxLetter.next_attempt_at, OutboxLetter.id)
            .limit(limit)
        )
    ).all()
    # End the read before writing: on SQLite a transaction that read first and writes
    # later cannot wait for another writer (its snapshot is stale) and fails at once.
    await db.commit()
    claimed: list[int] = []
    for letter_id, status, attempts in candidates:
        result = await db.execute(
            update(OutboxLetter)
            .where(
                OutboxLetter.id == letter_id,
                OutboxLetter.status == status,
                OutboxLetter.attempts == attempts,
            )
            .values(status=SENDING, lease_until=now + policy.lease, attempts=attempts + 1)
            .execution_options(synchronize_session=False)
        )
        # One short transaction per claim: a writer never waits behind a whole batch.
        await db.commit()
        if getattr(result, "rowcount", 0) == 1:
            claimed.append(letter_id)
    if not claimed:
        return []
    rows = await db.scalars(
        select(OutboxLetter)
        .where(OutboxLetter.id.in_(claimed))
        .order_by(OutboxLetter.id)
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def mark_sent(db: AsyncSession, letter_id: int, now: datetime, message_id: str) -> None:
    """Record a delivered letter."""
    await db.execute(
        update(OutboxLetter)
        .where(OutboxLetter.id == letter_id)
        .values(status=SENT, sent_at=now, lease_until=None, message_id=message_id[:250])
    )


async def mark_failed(
    db: AsyncSession,
    letter_id: int,
    attempts: int,
    now: datetime,
    error: str,
    policy: RetryPolicy,
    *,
    permanent: bool = False,
) -> str:
    """Record a failed attempt; returns the new status (queued again, or failed)."""
    status, at = (FAILED, now) if permanent else next_state(attempts, policy, now)
    await db.execute(
        update(OutboxLetter)
        .where(OutboxLetter.id == letter_id)
        .values(
            status=status,
            next_attempt_at=at,
            lease_until=None,
            last_error=error[:MAX_ERROR_CHARS],
        )
    )
    return status


async def requeue(db: AsyncSession, letter_id: int, now: datetime) -> OutboxLetter:
    """Queue a failed letter again with a fresh set of attempts (staff, after a fix)."""
    row = await db.get(OutboxLetter, letter_id)
    if row is None:
        raise NotFound(f"letter {letter_id} does not exist")
    if row.status != FAILED:
        raise WrongState(f"letter {letter_id} is {row.status}, not failed")
    if "@" not in row.to_address:
        raise Invalid(f"letter {letter_id} has no e-mail address to send to")
    row.status = QUEUED
    row.attempts = 0
    row.next_attempt_at = now
    await db.flush()
    return row


async def letters(
    db: AsyncSession, *, status: str | None = None, event_id: int | None = None, limit: int = 200
) -> list[OutboxLetter]:
    """Letters newest first, optionally of one status or event."""
    query = select(OutboxLetter).order_by(OutboxLetter.id.desc()).limit(limit)
    if status is not None:
        query = query.where(OutboxLetter.status == status)
    if event_id is not None:
        query = query.where(OutboxLetter.event_id == event_id)
    return list(await db.scalars(query))


def is_late(row: OutboxLetter, now: datetime) -> bool:
    """The letter missed (or is missing) its notice deadline."""
    if row.due_at is None:
        return False
    if row.sent_at is not None:
        return row.sent_at > row.due_at
    return now > row.due_at


def letter_json(row: OutboxLetter, now: datetime) -> dict[str, Any]:
    """A letter for staff: its delivery state, never its body (it holds passwords)."""
    return {
        "id": row.id,
        "kind": row.kind,
        "event_id": row.event_id,
        "user_id": row.user_id,
        "to": row.to_address,
        "to_name": row.to_name,
        "subject": row.subject,
        "status": row.status,
        "attempts": row.attempts,
        "next_attempt_at": row.next_attempt_at.isoformat() if row.status == QUEUED else None,
        "last_error": row.last_error,
        "created_at": row.created_at.isoformat(),
        "sent_at": row.sent_at.isoformat() if row.sent_at else None,
        "due_at": row.due_at.isoformat() if row.due_at else None,
        "late": is_late(row, now),
    }
