"""Working-day arithmetic on the production calendar (B 7.4, 7.7, 7.9)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from attestation.config import config_from
from attestation.rules.calendar import (
    CalendarMissing,
    load_calendars,
    missing_years,
    parse_calendar,
    read_calendar,
)
from server.errors import ConfigError
from server.settings import Settings
from tests.serverproc import run_cli

RU = load_calendars("ru")


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 1, 8), False),  # New Year holidays
        (date(2026, 1, 9), False),  # day off moved from Saturday 3 January
        (date(2026, 1, 12), True),
        (date(2026, 2, 23), False),
        (date(2026, 3, 9), False),  # 8 March is a Sunday: Monday is off
        (date(2026, 5, 11), False),  # 9 May is a Saturday: Monday is off
        (date(2026, 6, 12), False),
        (date(2026, 11, 4), False),
        (date(2026, 11, 23), True),
        (date(2026, 11, 28), False),  # Saturday
        (date(2026, 12, 31), False),  # day off moved from Sunday 4 January
    ],
)
def test_the_2026_calendar_knows_holidays_and_moved_days_off(day: date, working: bool) -> None:
    assert RU.is_working_day(day) is working


def test_2026_has_247_working_days() -> None:
    days = [
        date.fromordinal(n)
        for n in range(date(2026, 1, 1).toordinal(), date(2027, 1, 1).toordinal())
    ]
    assert sum(RU.is_working_day(d) for d in days) == 247


@pytest.mark.parametrize(
    ("start", "count", "expected"),
    [
        (date(2026, 11, 23), 2, date(2026, 11, 25)),  # Monday → Wednesday
        (date(2026, 11, 27), 2, date(2026, 12, 1)),  # Friday → Tuesday over the weekend
        (date(2026, 11, 28), 1, date(2026, 11, 30)),  # Saturday → Monday
        (date(2026, 11, 3), 2, date(2026, 11, 6)),  # over Unity Day
        (date(2026, 12, 30), 0, date(2026, 12, 30)),
        (date(2026, 5, 8), 1, date(2026, 5, 12)),  # Friday, then 9–11 May off
        (date(2026, 3, 6), 1, date(2026, 3, 10)),  # Friday, then the moved Monday
    ],
)
def test_adding_working_days(start: date, count: int, expected: date) -> None:
    assert RU.add_working_days(start, count) == expected


def test_a_year_without_a_calendar_is_an_error_not_a_guess() -> None:
    with pytest.raises(CalendarMissing, match="2030"):
        RU.is_working_day(date(2030, 1, 9))
    # 30 December 2026 + 2 working days crosses into an unloaded year.
    with pytest.raises(CalendarMissing):
        RU.add_working_days(date(2026, 12, 30), 2)


def test_a_working_saturday_from_a_transfer_counts(tmp_path: Path) -> None:
    # 2025: Saturday 1 November was a working day (moved to Monday 3 November).
    data = {
        "year": 2025,
        "holidays": [{"date": "2025-11-04", "title": "День народного единства"}],
        "days_off": [{"date": "2025-11-03", "title": "перенос с 1 ноября"}],
        "working_weekends": [{"date": "2025-11-01"}],
    }
    (tmp_path / "calendar_ru_2025.json").write_text(json.dumps(data), encoding="utf-8")
    calendar = load_calendars("ru", [tmp_path])
    assert calendar.is_working_day(date(2025, 11, 1))
    assert not calendar.is_working_day(date(2025, 11, 3))
    # Friday 31 October + 1 working day is the working Saturday.
    assert calendar.add_working_days(date(2025, 10, 31), 1) == date(2025, 11, 1)
    assert calendar.add_working_days(date(2025, 11, 1), 1) == date(2025, 11, 5)
    assert calendar.is_working_day(date(2026, 1, 12))  # the shipped year is still there


def test_a_calendar_listing_a_day_of_another_year_is_refused() -> None:
    with pytest.raises(ValueError, match="2026"):
        parse_calendar(json.dumps({"year": 2025, "holidays": [{"date": "2026-01-01"}]}))


@pytest.mark.parametrize(
    ("today", "missing"),
    [
        (date(2026, 6, 16), []),
        (date(2026, 10, 30), []),  # the horizon still ends in 2026
        (date(2026, 11, 1), [2027]),  # from November a deadline may reach next year
        (date(2026, 12, 30), [2027]),
        (date(2027, 3, 1), [2027]),
    ],
)
def test_years_missing_for_coming_deadlines(today: date, missing: list[int]) -> None:
    assert missing_years(RU, today) == missing


def test_working_days_of_a_loaded_year_and_none_of_another() -> None:
    assert RU.working_days_in(2026) == 247
    with pytest.raises(CalendarMissing):
        RU.working_days_in(2027)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{", "Expecting"),
        ('{"holidays": []}', "year"),
        ('{"year": 2027, "holidays": [{"date": "2027-13-01"}]}', "month"),
        ('{"year": 2027, "holidays": [{"title": "no date"}]}', "date"),
        ('{"year": 2027, "holidays": [5]}', "not a production calendar"),
    ],
)
def test_a_broken_calendar_file_is_named_in_the_error(
    tmp_path: Path, text: str, reason: str
) -> None:
    path = tmp_path / "calendar_ru_2027.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=reason) as caught:
        read_calendar(path)
    assert "calendar_ru_2027.json" in str(caught.value)
    with pytest.raises(ValueError, match=r"calendar_ru_2027\.json"):
        load_calendars("ru", [tmp_path])


def test_the_calendar_command_checks_files_and_warns_of_missing_years(tmp_path: Path) -> None:
    good = tmp_path / "calendar_ru_2030.json"
    good.write_text(json.dumps({"year": 2030, "holidays": [{"date": "2030-01-01"}]}), "utf-8")
    checked = run_cli(["calendar", "check", str(good)], {"EXAMROOM_DATA_DIR": str(tmp_path)})
    assert "2026: 247 working days" in checked.stdout
    assert "2030: 260 working days" in checked.stdout
    broken = tmp_path / "broken" / "calendar_ru_2031.json"
    broken.parent.mkdir()
    broken.write_text("[]", "utf-8")
    refused = run_cli(["calendar", "check", str(broken)], {"EXAMROOM_DATA_DIR": str(tmp_path)})
    assert refused.returncode == 2
    assert "calendar_ru_2031.json" in refused.stderr
    # The same directory as the server's calendar directory: the check names the file.
    listed = run_cli(
        ["calendar", "check"],
        {"EXAMROOM_DATA_DIR": str(tmp_path), "EXAMROOM_CALENDAR_DIR": str(broken.parent)},
    )
    assert listed.returncode == 2
    assert "calendar_ru_2031.json" in listed.stderr


def test_a_broken_calendar_directory_stops_the_start_with_its_file(
    settings: Settings, tmp_path: Path
) -> None:
    (tmp_path / "calendar_ru_2031.json").write_text('{"year": "soon"}', "utf-8")
    with pytest.raises(ConfigError, match=r"calendar_ru_2031\.json"):
        config_from(replace(settings, calendar_dir=str(tmp_path)))
