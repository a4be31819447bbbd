"""Demo data, seeded idempotently: one program, an approved bank, one test, demo users.

Only for ``examroom demo``: every demo account has the password ``demo``.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from attestation.demo import seed_attestation
from quiz.banks import approve_bank, import_report
from quiz.imports import parse_questions
from quiz.models import Bank, Quiz
from quiz.quizzes import create_quiz
from server.clock import Clock
from server.programs import Enrollment, Group, Program, section_named, sections_of
from server.sessions import Identity
from server.users import Passwords, Role, User, find_user

log = logging.getLogger(__name__)

DEMO_PASSWORD = "demo"
PROGRAM_CODE = "GO-2026"
GROUP_CODE = "ГО-1"
QUESTIONS = Path(__file__).resolve().parent / "demo_questions.gift"
STAFF = (
    ("instructor", Role.INSTRUCTOR, "Иванова Мария Петровна"),
    ("head", Role.HEAD, "Петров Сергей Иванович"),
    ("chair", Role.COMMISSION, "Сидоров Алексей Николаевич"),
    ("secretary", Role.COMMISSION, "Кузнецова Ольга Викторовна"),
    ("member1", Role.COMMISSION, "Смирнов Дмитрий Олегович"),
    ("auditor", Role.AUDITOR, "Васильева Анна Сергеевна"),
    ("support", Role.SUPPORT, "Фёдоров Игорь Павлович"),
    ("admin", Role.ADMIN, "Администратор"),
)
LEARNERS = 50


def _identity(user: User) -> Identity:
    return Identity(user.id, user.username, user.role, user.full_name, "", "")


async def _user(db: AsyncSession, password_hash: str, username: str, role: Role, name: str) -> User:
    user = await find_user(db, username)
    if user is None:
        # One argon2 hash shared by all demo accounts: they share the public password
        # anyway, and hashing it 58 times (~0.1–0.3 s each) made every first start slow.
        user = User(username=username, role=role.value, password_hash=password_hash, full_name=name)
        db.add(user)
        await db.flush()
    return user


async def seed_demo(db: AsyncSession, passwords: Passwords, clock: Clock) -> list[str]:
    """Create what is missing of the demo data; returns the demo logins."""
    now = clock.now()
    password_hash = passwords.hash(DEMO_PASSWORD)
    users = {name: await _user(db, password_hash, name, role, full) for name, role, full in STAFF}
    program = await db.scalar(select(Program).where(Program.code == PROGRAM_CODE))
    if program is None:
        program = Program(
            code=PROGRAM_CODE,
            title="Подготовка должностных лиц и специалистов гражданской обороны",
            description="Программа курсов гражданской обороны (демонстрационные данные).",
        )
        db.add(program)
        await db.flush()
    group = await db.scalar(select(Group).where(Group.code == GROUP_CODE))
    if group is None:
        group = Group(program_id=program.id, code=GROUP_CODE, title="Группа ГО-1, ноябрь")
        db.add(group)
        await db.flush()
    for i in range(1, LEARNERS + 1):
        learner = await _user(db, password_hash, f"learner{i}", Role.LEARNER, f"Слушатель {i}")
        if await db.get(Enrollment, (group.id, learner.id)) is None:
            db.add(Enrollment(group_id=group.id, user_id=learner.id, completed=True))
    if await db.scalar(select(Bank.id).where(Bank.program_id == program.id)) is None:
        report = parse_questions(QUESTIONS.read_bytes(), "gift", QUESTIONS.name)
        stored = await import_report(
            db,
            program,
            "Итоговая аттестация ГО — банк вопросов",
            report,
            _identity(users["instructor"]),
            now,
        )
        assert stored.bank_id is not None
        await approve_bank(db, stored.bank_id, _identity(users["head"]), now)
    if await db.scalar(select(Quiz.id).where(Quiz.program_id == program.id)) is None:
        sections = await sections_of(db, program.id)
        if len(sections) < 2:
            sections.append(await section_named(db, program.id, "Общий раздел"))
        await create_quiz(
            db,
            _identity(users["instructor"]),
            now,
            program_id=program.id,
            title="Итоговое тестирование по гражданской обороне",
            form="testing",
            time_limit_s=30 * 60,
            plan={section.id: 3 for section in sections},
            group_id=group.id,
        )
    await seed_attestation(
        db,
        _identity(users["head"]),
        now,
        program_id=program.id,
        group_id=group.id,
        quiz_id=await db.scalar(select(Quiz.id).where(Quiz.program_id == program.id).limit(1)),
        seats={name: users[name].id for name in ("chair", "secretary", "member1")},
    )
    await db.commit()
    return [name for name, _, _ in STAFF] + [f"learner1 … learner{LEARNERS}"]
