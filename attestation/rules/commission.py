"""Who may sit: composition (B 3.8), term (B 3.11), quorum (B 3.9) and the appeal
commission (B 7.3).

The regulation fixes the minimum composition (three, including a chair and a
secretary) and the term (one calendar year) but not a quorum. Our rule, stated once
here: a sitting needs its chair (who decides ties, B 3.9), at least three members
present, and more than half of the composition. A term is read as one year from the day
the commission is formed: it ends on the day before the same date a year later and the
commission can no longer sit from local midnight after that last day.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

MIN_MEMBERS = 3  # B 3.8, B 7.3


class MemberRole(StrEnum):
    """A member's role in a commission."""

    CHAIR = "chair"
    SECRETARY = "secretary"
    MEMBER = "member"


ROLE_TITLES_RU: dict[MemberRole, str] = {
    MemberRole.CHAIR: "председатель",
    MemberRole.SECRETARY: "секретарь",
    MemberRole.MEMBER: "член комиссии",
}


@dataclass(frozen=True)
class Seat:
    """A person's seat in a commission."""

    user_id: int
    role: MemberRole


def composition_problems(seats: Sequence[Seat]) -> list[str]:
    """What is wrong with a composition (empty when it is valid, B 3.8)."""
    problems = []
    users = [s.user_id for s in seats]
    if len(set(users)) != len(users):
        problems.append("a person holds more than one seat")
    if len(set(users)) < MIN_MEMBERS:
        problems.append(f"a commission has at least {MIN_MEMBERS} members")
    chairs = [s for s in seats if s.role == MemberRole.CHAIR]
    secretaries = [s for s in seats if s.role == MemberRole.SECRETARY]
    if len(chairs) != 1:
        problems.append("a commission has exactly one chair")
    if len(secretaries) != 1:
        problems.append("a commission has exactly one secretary")
    return problems


def term_end(starts_on: date) -> date:
    """The last day of a term that starts on ``starts_on`` (one year, B 3.11)."""
    try:
        anniversary = starts_on.replace(year=starts_on.year + 1)
    except ValueError:  # 29 February: the anniversary is 1 March
        anniversary = date(starts_on.year + 1, 3, 1)
    return anniversary - timedelta(days=1)


def term_ok(starts_on: date, ends_on: date) -> bool:
    """A term is not empty and no longer than one year (B 3.11)."""
    return starts_on <= ends_on <= term_end(starts_on)


def in_term(starts_on: date, ends_on: date, at: datetime, zone: ZoneInfo) -> bool:
    """True while the commission may act: from local midnight of the first day to local
    midnight after the last."""
    day = at.astimezone(zone).date()
    return starts_on <= day <= ends_on


def quorum(seats: Sequence[Seat], present: Collection[int]) -> bool:
    """True when the members present may sit: chair present, ≥ 3 present, more than half."""
    members = {s.user_id for s in seats}
    here = members & set(present)
    chair = next((s.user_id for s in seats if s.role == MemberRole.CHAIR), None)
    return chair in here and len(here) >= MIN_MEMBERS and 2 * len(here) > len(members)


def appeal_composition_problems(seats: Sequence[Seat], chair_is_deputy_director: bool) -> list[str]:
    """What is wrong with an appeal commission (B 7.3): at least three, chaired by the
    deputy director, with a secretary (who sends the documents, B 7.7)."""
    problems = composition_problems(seats)
    if not chair_is_deputy_director:
        problems.append("the appeal commission is chaired by the deputy director")
    return problems


def retake_presence_ok(
    commission: Collection[int], present: Collection[int], appeal_members_present: int
) -> bool:
    """A retake after an upheld violation appeal (B 7.6): at least two thirds of the
    commission present and at least one appeal-commission member (its chair or another)."""
    here = set(commission) & set(present)
    return 3 * len(here) >= 2 * len(set(commission)) and appeal_members_present >= 1
