"""Appeal deadlines and outcomes (B VII), on a production calendar's working days."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from attestation.rules.calendar import ProductionCalendar

HEARING_WORKING_DAYS = 2  # B 7.4
INFORM_WORKING_DAYS = 3  # B 7.9


class AppealKind(StrEnum):
    """B 7.1: a procedure violation or a disagreement with the result."""

    VIOLATION = "violation"
    DISAGREEMENT = "disagreement"


class AppealResult(StrEnum):
    """B 7.6, 7.8: the appeal is rejected or upheld."""

    REJECTED = "rejected"
    UPHELD = "upheld"


def filed_in_time(filed_on: date, announced_on: date) -> bool:
    """An appeal is filed on the day the results are announced (B 7.2)."""
    return filed_on == announced_on


def hearing_deadline(filed_on: date, calendar: ProductionCalendar) -> date:
    """The last day for the hearing: two working days from filing (B 7.4)."""
    return calendar.add_working_days(filed_on, HEARING_WORKING_DAYS)


def documents_deadline(filed_on: date, calendar: ProductionCalendar) -> date:
    """Disagreement: answers, protocol and the chair's conclusion reach the appeal
    commission by the next working day after filing (B 7.7)."""
    return calendar.next_working_day(filed_on)


def transfer_deadline(heard_on: date, calendar: ProductionCalendar) -> date:
    """The decision reaches the attestation commission by the next working day (B 7.6, 7.8)."""
    return calendar.next_working_day(heard_on)


def inform_deadline(heard_on: date, calendar: ProductionCalendar) -> date:
    """The learner is told within three working days of the hearing (B 7.9)."""
    return calendar.add_working_days(heard_on, INFORM_WORKING_DAYS)


def consequence(kind: AppealKind, result: AppealResult) -> str:
    """What an appeal's decision does to the result.

    ``keep`` — the result stands; ``annul_retake`` — a violation upheld annuls the result
    and the learner retakes (B 7.6); ``new_mark`` — a disagreement upheld replaces the
    mark, higher or lower (B 7.8).
    """
    if AppealResult(result) == AppealResult.REJECTED:
        return "keep"
    return "annul_retake" if AppealKind(kind) == AppealKind.VIOLATION else "new_mark"
