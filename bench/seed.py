"""Seed a benchmark database through the services: N learners, one group, an approved bank
and two timed tests (the load test and the saturation test).

Hashing 2000 argon2 passwords one by one would take minutes, so one hash is computed and
stored in every learner row. By default that hash uses cheap argon2 parameters (the server
verifies with the parameters embedded in the hash): at the server's own parameters each
login costs ~165 ms of CPU on the event loop, and 2000 logins would take ~5 minutes before
the benchmark even starts. The first ``real_hash_learners`` learners get a hash made with
the server's own :class:`server.users.Passwords`, so login cost at production parameters is
still measured (see ``login_real_hash_*`` in the output).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from argon2 import PasswordHasher
from sqlalchemy import insert

from quiz.banks import approve_bank, import_report
from quiz.imports.parsed import ImportReport, ParsedOption, ParsedQuestion
from quiz.quizzes import create_quiz
from server.database import make_engine, make_sessionmaker, migrate
from server.programs import Enrollment, Group, Program, sections_of
from server.sessions import Identity
from server.settings import Settings
from server.users import Passwords, Role, User

PASSWORD = "bench-pw"
SECTIONS = ("Основы ГО", "Чрезвычайные ситуации", "Первая помощь")
PER_SECTION = 8  # questions per section in the bank
DRAW = 4  # questions per section in a ticket: 3 x 4 = 12 questions, as in the demo test
TIME_LIMIT_S = 30 * 60


@dataclass
class BenchSeed:
    """What the seeder created."""

    test_id: int  # the test of phases 2-3 (synchronized start, answers)
    saturation_test_id: int  # the test whose attempts phase 4 hammers
    learners: list[str]
    questions_per_attempt: int


def _questions() -> ImportReport:
    report = ImportReport()
    line = 1
    for section in SECTIONS:
        for n in range(PER_SECTION):
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


def _ident(user_id: int, username: str, role: Role) -> Identity:
    return Identity(user_id, username, role.value, username, "", "")


async def seed(settings: Settings, learners: int, real_hash_learners: int = 20) -> BenchSeed:
    """Migrate a fresh database and seed it; returns the ids the benchmark needs."""
    engine = make_engine(settings)
    try:
        await migrate(engine)
        sessions = make_sessionmaker(engine)
        real_hash = Passwords().hash(PASSWORD)
        fast_hash = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)
        now = datetime.now(UTC)
        async with sessions() as db:
            staff = {}
            for name, role in (("instructor", Role.INSTRUCTOR), ("head", Role.HEAD)):
                user = User(username=name, role=role.value, password_hash=real_hash, full_name=name)
                db.add(user)
                await db.flush()
                staff[name] = _ident(user.id, name, role)
            program = Program(code="BENCH", title="Нагрузочная программа")
            db.add(program)
            await db.flush()
            group = Group(program_id=program.id, code="BENCH-1", title="Нагрузочная группа")
            db.add(group)
            await db.flush()
            names = [f"learner{i}" for i in range(1, learners + 1)]
            rows = [
                {
                    "username": name,
                    "role": Role.LEARNER.value,
                    "password_hash": real_hash if i < real_hash_learners else fast_hash,
                    "full_name": f"Слушатель {i + 1}",
                    "email": "",
                    "active": True,
                    "created_at": now,
                }
                for i, name in enumerate(names)
            ]
            ids = list(await db.scalars(insert(User).returning(User.id), rows))
            await db.execute(
                insert(Enrollment),
                [{"group_id": group.id, "user_id": uid, "completed": True} for uid in ids],
            )
            stored = await import_report(
                db, program, "Банк нагрузочного теста", _questions(), staff["instructor"], now
            )
            assert stored.bank_id is not None
            await approve_bank(db, stored.bank_id, staff["head"], now)
            sections = await sections_of(db, program.id)
            plan = {s.id: DRAW for s in sections}
            tests = []
            for title in ("Итоговое тестирование (нагрузка)", "Насыщение (нагрузка)"):
                quiz = await create_quiz(
                    db,
                    staff["instructor"],
                    now,
                    program_id=program.id,
                    title=title,
                    form="testing",
                    time_limit_s=TIME_LIMIT_S,
                    plan=plan,
                    group_id=group.id,
                )
                tests.append(quiz.id)
            await db.commit()
        return BenchSeed(tests[0], tests[1], names, DRAW * len(SECTIONS))
    finally:
        await engine.dispose()
