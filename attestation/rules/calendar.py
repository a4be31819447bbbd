"""Working days by a production calendar (производственный календарь).

The appeal deadlines of B VII count *working* days. In Russia these are Monday to
Friday except public holidays (ТК РФ ст. 112) and the days off the government moves
each year; a moved day off can also turn a Saturday into a working day. So a calendar
is data per year, loaded from JSON (``attestation/data/calendar_<country>_<year>.json``
or an extra directory), never computed from weekdays alone. A date in a year that has
no loaded calendar is an error: guessing would silently shift a legal deadline.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent / "data"


class CalendarMissing(LookupError):
    """No production calendar is loaded for the year of a date."""


@dataclass(frozen=True)
class ProductionCalendar:
    """Working and non-working days of the loaded years.

    ``days_off`` are the non-working weekdays (holidays and moved days off);
    ``working_weekends`` the Saturdays/Sundays made working by a transfer.
    """

    years: frozenset[int]
    days_off: frozenset[date] = frozenset()
    working_weekends: frozenset[date] = frozenset()
    titles: dict[date, str] = field(default_factory=dict, compare=False)

    def is_working_day(self, day: date) -> bool:
        """True when ``day`` is a working day; raises :class:`CalendarMissing` for an
        unloaded year."""
        if day.year not in self.years:
            raise CalendarMissing(f"production calendar for {day.year} is not loaded")
        if day in self.working_weekends:
            return True
        if day in self.days_off:
            return False
        return day.weekday() < 5

    def add_working_days(self, start: date, count: int) -> date:
        """The ``count``-th working day after ``start`` (``start`` itself not counted).

        "Within 2 working days of filing" on a Friday ends on Tuesday; filed on a
        Saturday, the first working day counted is Monday.
        """
        if count < 0:
            raise ValueError(f"count must not be negative, got {count}")
        day = start
        left = count
        while left > 0:
            day += timedelta(days=1)
            if self.is_working_day(day):
                left -= 1
        return day

    def next_working_day(self, start: date) -> date:
        """The first working day after ``start``."""
        return self.add_working_days(start, 1)

    def working_days_in(self, year: int) -> int:
        """How many working days ``year`` has (247 in 2026); :class:`CalendarMissing`
        when it is not loaded."""
        day, count = date(year, 1, 1), 0
        while day.year == year:
            count += self.is_working_day(day)
            day += timedelta(days=1)
        return count

    def merged(self, other: ProductionCalendar) -> ProductionCalendar:
        """This calendar with the years of ``other`` added."""
        return ProductionCalendar(
            self.years | other.years,
            self.days_off | other.days_off,
            self.working_weekends | other.working_weekends,
            {**self.titles, **other.titles},
        )


def parse_calendar(text: str) -> ProductionCalendar:
    """A one-year calendar from its JSON (see ``data/calendar_ru_2026.json``)."""
    data = json.loads(text)
    year = int(data["year"])
    titles: dict[date, str] = {}
    off: set[date] = set()
    working: set[date] = set()
    for key in ("holidays", "days_off"):
        for item in data.get(key, []):
            day = date.fromisoformat(item["date"])
            off.add(day)
            titles[day] = str(item.get("title", ""))
    for item in data.get("working_weekends", []):
        day = date.fromisoformat(item["date"] if isinstance(item, dict) else item)
        working.add(day)
    for day in off | working:
        if day.year != year:
            raise ValueError(f"calendar of {year} lists {day.isoformat()}")
    if off & working:
        raise ValueError(f"calendar of {year} lists days both off and working")
    return ProductionCalendar(frozenset({year}), frozenset(off), frozenset(working), titles)


def read_calendar(path: Path) -> ProductionCalendar:
    """One calendar file; :class:`ValueError` naming the file for anything wrong in it."""
    try:
        return parse_calendar(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: not a production calendar: {exc}") from exc


def missing_years(calendar: ProductionCalendar, today: date, ahead_days: int = 62) -> list[int]:
    """The years a deadline counted from ``today`` or the next ``ahead_days`` may fall in
    that have no calendar: the current one, and the next one in the last two months (a
    hearing filed on 30 December ends in January)."""
    horizon = today + timedelta(days=ahead_days)
    return [year for year in range(today.year, horizon.year + 1) if year not in calendar.years]


def load_calendars(country: str = "ru", extra_dirs: Iterable[Path] = ()) -> ProductionCalendar:
    """Every year shipped for ``country`` plus those found in ``extra_dirs``; a file in
    an extra directory replaces the shipped one of the same year."""
    by_year: dict[int, ProductionCalendar] = {}
    for directory in (DATA_DIR, *extra_dirs):
        for path in sorted(Path(directory).glob(f"calendar_{country}_*.json")):
            calendar = read_calendar(path)
            (year,) = calendar.years
            by_year[year] = calendar
    merged = ProductionCalendar(frozenset())
    for calendar in by_year.values():
        merged = merged.merged(calendar)
    return merged
