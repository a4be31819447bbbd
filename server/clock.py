"""The wall clock, the one true external edge of time; tests may substitute it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    """Tells the current UTC time; ``offset`` shifts it (tests of deadlines and windows)."""

    def __init__(self, offset: timedelta = timedelta(0)) -> None:
        self.offset = offset

    def now(self) -> datetime:
        """The current time, aware, in UTC."""
        return datetime.now(UTC) + self.offset
