"""Seed data that tests build through the services (never from the shared fixtures)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from argon2 import PasswordHasher
from sqlalchemy.ext.asyncio import AsyncSession

from quiz.banks import approve_bank, import_report
from quiz.imports.parsed import ImportReport, ParsedOption, ParsedQuestion
from quiz.quizzes import create_quiz
from server.programs import Enrollment, Group, Program, sections_of
from server.sessions import Identity
from server.users import Passwords, Role, User, create_user

T = TypeVar("T")

PASSWORD = "pw-test"
SECTIONS = ("Основы ГО", "Чрезвычайные ситуации", "Первая помощь")


@dataclass
class Seed:
    """Ids of what :func:`seed_basic` created."""

    program_id: int
    section_ids: list[int]
    group_id: int
    bank_id: int
    test_id: int
    users: dict[str, int]


# Seed users get real argon2id hashes with the cheapest parameters, made once per process, so
# that logging in costs milliseconds in tests; production hashing is what Passwords.hash does.
_SEED_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
_SEED_HASHES: dict[str, str] = {}


def seed_hash(password: str) -> str:
    """A cheap but genuine argon2id hash of ``password`` (cached per process)."""
    if password not in _SEED_HASHES:
        _SEED_HASHES[password] = _SEED_HASHER.hash(password)
    return _SEED_HASHES[password]


def ident(user: User) -> Identity:
    """A service-level identity for a user (no session)."""
    return Identity(user.id, user.username, user.role, user.full_name, "", "")


def questions(per_section: int = 4) -> ImportReport:
    """``per_section`` three-option questions in each of the three sections; option A correct."""
    report = ImportReport()
    line = 1
    for section in SECTIONS:
        for n in range(per_section):
            report.questions.append(
                ParsedQuestion(
                    line=line,
                    text=f"{section}: вопрос {n + 1}?",
                    options=(
                        ParsedOption(f"верно {section} {n}", True),
                        ParsedOption(f"неверно-1 {section} {n}", False),
                        ParsedOption(f"неверно-2 {section} {n}", False),
                    ),
                    section=section,
                )
            )
            line += 5
    return report


async def seed_basic(
    db: AsyncSession,
    passwords: Passwords,
    now: datetime,
    learners: int = 3,
    per_section: int = 4,
    draw: int = 2,
    time_limit_s: int = 600,
) -> Seed:
    """Program, three sections, approved bank, group of learners, staff and one test."""
    users: dict[str, User] = {}
    hashed = seed_hash(PASSWORD)
    assert passwords.verify(hashed, PASSWORD)
    for name, role in [
        ("instructor", Role.INSTRUCTOR),
        ("head", Role.HEAD),
        ("chair", Role.COMMISSION),
        ("auditor", Role.AUDITOR),
        ("support", Role.SUPPORT),
        ("admin", Role.ADMIN),
        *[(f"learner{i}", Role.LEARNER) for i in range(1, learners + 1)],
        ("outsider", Role.LEARNER),
    ]:
        user = User(username=name, role=role.value, password_hash=hashed, full_name=name.title())
        db.add(user)
        users[name] = user
    await db.flush()
    program = Program(code="P1", title="Программа 1")
    db.add(program)
    await db.flush()
    group = Group(program_id=program.id, code="G1", title="Группа 1")
    db.add(group)
    await db.flush()
    for i in range(1, learners + 1):
        db.add(Enrollment(group_id=group.id, user_id=users[f"learner{i}"].id, completed=True))
    stored = await import_report(
        db, program, "Банк", questions(per_section), ident(users["instructor"]), now
    )
    assert stored.bank_id is not None
    await approve_bank(db, stored.bank_id, ident(users["head"]), now)
    sections = await sections_of(db, program.id)
    quiz = await create_quiz(
        db,
        ident(users["instructor"]),
        now,
        program_id=program.id,
        title="Тест 1",
        form="testing",
        time_limit_s=time_limit_s,
        plan={s.id: draw for s in sections},
        group_id=group.id,
    )
    await db.commit()
    return Seed(
        program.id,
        [s.id for s in sections],
        group.id,
        stored.bank_id,
        quiz.id,
        {name: user.id for name, user in users.items()},
    )


async def add_learners(db: AsyncSession, group_id: int, names: list[str]) -> dict[str, int]:
    """More learners (password :data:`PASSWORD`) enrolled in a group; returns their ids."""
    users = [
        User(username=name, role=Role.LEARNER.value, password_hash=seed_hash(PASSWORD))
        for name in names
    ]
    db.add_all(users)
    await db.flush()
    db.add_all(Enrollment(group_id=group_id, user_id=user.id, completed=True) for user in users)
    await db.commit()
    return {user.username: user.id for user in users}


def quiz_body(seed: Seed, **changes: Any) -> dict[str, Any]:
    """A ``POST /api/tests`` body for the seed program: 2 questions from each section of G1."""
    body: dict[str, Any] = {
        "program_id": seed.program_id,
        "title": "Тест API",
        "form": "testing",
        "time_limit_minutes": 10,
        "sections": {str(section_id): 2 for section_id in seed.section_ids},
        "group_id": seed.group_id,
    }
    body.update(changes)
    return body


async def eventually(
    probe: Callable[[], Awaitable[T | None]], within: float = 5.0, step: float = 0.05
) -> T:
    """Poll ``probe`` until it returns something but None/False; fail after ``within`` s."""
    deadline = time.monotonic() + within
    while True:
        value = await probe()
        if value is not None and value is not False:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"the awaited state did not come within {within} s")
        await asyncio.sleep(step)


__all__ = [
    "PASSWORD",
    "Seed",
    "add_learners",
    "create_user",
    "eventually",
    "ident",
    "questions",
    "quiz_body",
    "seed_basic",
    "seed_hash",
]
