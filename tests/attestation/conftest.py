"""Fixtures of the attestation API tests: a seeded app with a commission of four, a
second group, and helpers that move the server's clock and schedule events."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from server.app import create_app
from server.appkeys import CLOCK, SESSIONS
from server.programs import Enrollment, Group, Program
from server.settings import Settings
from server.users import Role, User
from tests.conftest import Session
from tests.seed import PASSWORD, Seed, seed_hash

MSK = ZoneInfo("Europe/Moscow")
# The tests' "now": a Tuesday in a year whose production calendar ships, far from the
# year's end, so deadlines counted in working days never depend on the real date.
PINNED_NOW = datetime(2026, 6, 16, 7, 0, tzinfo=UTC)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@dataclass
class World:
    """Ids and logged-in sessions of an attestation test."""

    client: TestClient[Any, Any]
    seed: Seed
    users: dict[str, int]
    sessions: dict[str, Session] = field(default_factory=dict)
    commission_id: int = 0
    other_program_id: int = 0
    other_group_id: int = 0
    login: Any = None

    async def relogin(self, *names: str) -> None:
        """Log in again (after the clock jumped past the sessions' lifetime)."""
        for name in names:
            self.sessions[name] = await self.login(name)

    def now(self) -> datetime:
        """The server's current time."""
        return self.client.server.app[CLOCK].now()

    def shift(self, delta: timedelta) -> None:
        """Move the server's clock (the wall clock is the one faked edge)."""
        self.client.server.app[CLOCK].offset += delta

    def today(self) -> date:
        """The server's local date at the institution."""
        return self.now().astimezone(MSK).date()

    def at_local(self, days: int, hour: int = 10) -> datetime:
        """``hour``:00 Moscow time ``days`` local days from now."""
        day = self.today() + timedelta(days=days)
        return datetime(day.year, day.month, day.day, hour, tzinfo=MSK)

    def s(self, name: str) -> Session:
        """The logged-in session of a user."""
        return self.sessions[name]

    def event_body(self, days: int = 5, **changes: Any) -> dict[str, Any]:
        """A ``POST /api/attestation/events`` body for group G1."""
        body: dict[str, Any] = {
            "program_id": self.seed.program_id,
            "group_id": self.seed.group_id,
            "commission_id": self.commission_id,
            "title": "Итоговая аттестация",
            "form": "testing",
            "starts_at": self.at_local(days).isoformat(),
            "place": "ауд. 101",
            "test_id": self.seed.test_id,
        }
        body.update(changes)
        return body

    async def event(self, days: int = 5, **changes: Any) -> dict[str, Any]:
        """Schedule an event as the head; returns its JSON."""
        status, body = await self.s("head").call(
            "POST", "/api/attestation/events", self.event_body(days, **changes)
        )
        assert status == 201, body
        return dict(body)


@pytest.fixture
def app(settings: Settings) -> web.Application:
    """The application with its clock pinned to :data:`PINNED_NOW` (tests move it on)."""
    application = create_app(settings)
    clock = application[CLOCK]
    clock.offset = PINNED_NOW - datetime.now(UTC)
    return application


STAFF = (
    "head",
    "admin",
    "instructor",
    "chair",
    "secretary",
    "member1",
    "member2",
    "auditor",
    "support",
)
APPEAL = ("deputy", "asecretary", "amember")


@pytest.fixture
async def world(client: TestClient[Any, Any], seed: Seed, login: Any) -> World:
    """The seed plus a secretary, two members, an appeal commission's people, a learner
    who has not completed the program, and a commission of four for program P1."""
    app = client.server.app
    users = dict(seed.users)
    async with app[SESSIONS]() as db:
        extra = [
            ("secretary", Role.COMMISSION, "Кузнецова О. В."),
            ("member1", Role.COMMISSION, "Смирнов Д. О."),
            ("member2", Role.COMMISSION, "Орлов П. П."),
            ("deputy", Role.APPEAL, "Заместитель директора"),
            ("asecretary", Role.APPEAL, "Секретарь апелляционной"),
            ("amember", Role.APPEAL, "Член апелляционной"),
            ("learner4", Role.LEARNER, "Неуспевающий Слушатель"),
        ]
        for name, role, full in extra:
            user = User(
                username=name, role=role.value, password_hash=seed_hash(PASSWORD), full_name=full
            )
            db.add(user)
            await db.flush()
            users[name] = user.id
        db.add(Enrollment(group_id=seed.group_id, user_id=users["learner4"], completed=False))
        other = Program(code="P2", title="Другая программа")
        db.add(other)
        await db.flush()
        group = Group(program_id=other.id, code="G2", title="Группа 2")
        db.add(group)
        await db.flush()
        db.add(Enrollment(group_id=group.id, user_id=users["outsider"], completed=True))
        await db.commit()
        other_program_id, other_group_id = other.id, group.id
    world = World(
        client,
        seed,
        users,
        other_program_id=other_program_id,
        other_group_id=other_group_id,
        login=login,
    )
    for name in (*STAFF, *APPEAL, "learner1", "learner2", "learner3", "learner4", "outsider"):
        world.sessions[name] = await login(name)
    status, body = await world.s("head").call(
        "POST",
        "/api/attestation/commissions",
        {
            "program_id": seed.program_id,
            "title": "Аттестационная комиссия курсов ГО",
            "starts_on": (world.today() - timedelta(days=30)).isoformat(),
            "order_number": "12-к",
            "order_date": world.today().isoformat(),
            "members": [
                {"user_id": users["chair"], "role": "chair"},
                {"user_id": users["secretary"], "role": "secretary"},
                {"user_id": users["member1"], "role": "member"},
                {"user_id": users["member2"], "role": "member"},
            ],
        },
    )
    assert status == 201, body
    world.commission_id = body["id"]
    return world


COMMISSION = ("chair", "secretary", "member1", "member2")


async def event_today(world: World, **changes: Any) -> dict[str, Any]:
    """An event held today, scheduled four days ago (the clock goes back and returns)."""
    world.shift(timedelta(days=-4))
    try:
        return await world.event(days=4, **changes)
    finally:
        world.shift(timedelta(days=4))


async def sit(world: World, event_id: int, present: tuple[str, ...] = COMMISSION) -> None:
    """The secretary records who is present."""
    status, body = await world.s("secretary").call(
        "PUT",
        f"/api/attestation/events/{event_id}/presence",
        {"present": [world.users[name] for name in present]},
    )
    assert status == 200, body


async def vote(world: World, event_id: int, learner: str, marks: dict[str, str]) -> Any:
    """Every named member votes; returns the last answer."""
    result: Any = None
    for member, mark in marks.items():
        status, result = await world.s(member).call(
            "POST",
            f"/api/attestation/events/{event_id}/votes",
            {"learner_id": world.users[learner], "mark": mark},
        )
        assert status == 200, result
    return result


async def decided_event(world: World, marks: dict[str, str] | None = None) -> dict[str, Any]:
    """An event held today with learner1..3 decided by a unanimous vote (``marks``)."""
    event = await event_today(world)
    await sit(world, event["id"])
    chosen = marks or {"learner1": "good", "learner2": "excellent", "learner3": "unsatisfactory"}
    for learner, mark in chosen.items():
        result = await vote(world, event["id"], learner, {m: mark for m in COMMISSION})
        assert result["decided"] and result["mark"] == mark
    return event
