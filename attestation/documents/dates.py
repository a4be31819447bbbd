"""Dates and times as Russian documents and letters write them, in the institution's zone.

Views carry aware UTC datetimes and the IANA zone to show them in; a document shows the
local wall-clock time and names the zone, so a learner in another region is not misled.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

MONTHS_GENITIVE = (
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
)


def local(moment: datetime, timezone: str) -> datetime:
    """The moment on the wall clock of ``timezone``."""
    return moment.astimezone(ZoneInfo(timezone))


def short_date(day: date) -> str:
    """``25.11.2026``."""
    return day.strftime("%d.%m.%Y")


def long_date(day: date) -> str:
    """``«25» ноября 2026 г.``, as dates are written in Russian official documents."""
    return f"«{day.day:02d}» {MONTHS_GENITIVE[day.month - 1]} {day.year} г."


def clock_time(moment: datetime, timezone: str) -> str:
    """``10:00`` on the wall clock of ``timezone``."""
    return local(moment, timezone).strftime("%H:%M")


def stamp(moment: datetime, timezone: str) -> str:
    """``25.11.2026 10:00`` on the wall clock of ``timezone``."""
    return local(moment, timezone).strftime("%d.%m.%Y %H:%M")


def zone_label(timezone: str) -> str:
    """How the zone is named next to a time: Moscow time has its usual Russian name."""
    return "московское время" if timezone == "Europe/Moscow" else f"время {timezone}"
