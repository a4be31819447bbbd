"""The server's clock rules for an attempt: deadline, time left, late answers."""

from __future__ import annotations

from datetime import datetime, timedelta


def attempt_deadline(
    started_at: datetime, limit: timedelta, closes_at: datetime | None
) -> datetime:
    """Deadline = start + time limit, capped by the end of the availability window."""
    deadline = started_at + limit
    if closes_at is not None and closes_at < deadline:
        return closes_at
    return deadline


def seconds_left(deadline: datetime, now: datetime) -> float:
    """Seconds until the deadline, never negative."""
    return max(0.0, (deadline - now).total_seconds())


def accepts_answer(deadline: datetime, now: datetime, grace: timedelta) -> bool:
    """An answer is accepted up to the deadline plus the grace for in-flight saves."""
    return now <= deadline + grace


def is_overdue(deadline: datetime, now: datetime, grace: timedelta) -> bool:
    """True once the attempt must be submitted automatically (after the grace)."""
    return now > deadline + grace


def window_state(opens_at: datetime | None, closes_at: datetime | None, now: datetime) -> str:
    """``"upcoming"``, ``"open"`` or ``"closed"`` for a test's availability window."""
    if opens_at is not None and now < opens_at:
        return "upcoming"
    if closes_at is not None and now >= closes_at:
        return "closed"
    return "open"
