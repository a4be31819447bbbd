"""Calendar-day deadlines before an attestation (B 2.7, 4.2, 4.6, 5.7) and on its day (B 6.5).

All of them compare *local calendar dates* at the institution (``zoneinfo`` of the
settings), never instants: "at least 3 days before the 10th" means on the 7th or
earlier, whatever the hour. Exactly three days is in time.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

NOTICE_DAYS = 3  # B 2.7, B 4.6
REMOTE_APPLICATION_DAYS = 2  # B 4.2
QUESTIONNAIRE_DAYS = 3  # B 5.7


def local_date(at: datetime, zone: ZoneInfo) -> date:
    """The calendar date of an aware instant at the institution."""
    if at.tzinfo is None:
        raise ValueError("naive datetime: the local date would be a guess")
    return at.astimezone(zone).date()


def latest_day(event_day: date, days: int) -> date:
    """The last day on which something due ``days`` days ahead of ``event_day`` is in time."""
    return event_day - timedelta(days=days)


def notice_in_time(notified_on: date, event_day: date) -> bool:
    """Date, time and place reached people at least 3 days ahead (B 2.7, 4.6)."""
    return notified_on <= latest_day(event_day, NOTICE_DAYS)


def remote_application_in_time(filed_on: date, event_day: date) -> bool:
    """A remote-attestation application is filed at least 2 calendar days before (B 4.2)."""
    return filed_on <= latest_day(event_day, REMOTE_APPLICATION_DAYS)


def questionnaire_in_time(released_on: date, event_day: date) -> bool:
    """An interview questionnaire is released at least 3 days before (B 5.7)."""
    return released_on <= latest_day(event_day, QUESTIONNAIRE_DAYS)


def announced_same_day(announced_on: date, sitting_day: date) -> bool:
    """The decision is announced on the day of the attestation (B 3.9, 6.5)."""
    return announced_on == sitting_day
