"""Seed data that tests build through the services (never from the shared fixtures)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from quiz.banks import approve_bank, import_report
from quiz.imports.parsed import ImportReport, ParsedOption, ParsedQuestion
from quiz.quizzes import create_quiz
from server.programs import Enrollment, Group, Program, sections_of
from server.sessions import Identity
from server.users import Passwords, Role, User, create_user

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
    hashed = passwords.hash(PASSWORD)
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


__all__ = ["PASSWORD", "Seed", "create_user", "ident", "questions", "seed_basic"]
