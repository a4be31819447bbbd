"""What a start needs to know about a test, kept in memory per process.

A synchronized start is thousands of learners asking for the same test within a second.
Its facts (time limit, window, group, draw plan), its approved question pool and the texts
shown to learners are the same for all of them, so each process loads them once and keeps
them for ``ttl`` seconds instead of reading them for every learner.

Staleness is harmless by construction: approved questions are versioned and never change
(an edit makes a new version), so a cached id always names the text it was loaded with,
and past attempts keep their questions. A process forgets everything when a bank is
approved, imported or a question edited through it (:meth:`Catalogue.invalidate`); other
processes pick the change up within ``ttl``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from quiz.models import Option, Question, QuestionStatus, Quiz, QuizSection
from server.errors import NotFound


@dataclass(frozen=True)
class QuizFacts:
    """The fields of a test that a start reads (a test is not edited after creation)."""

    id: int
    group_id: int | None
    scale: str
    time_limit_s: int
    shuffle_options: bool
    opens_at: datetime | None
    closes_at: datetime | None


@dataclass(frozen=True)
class TestEntry:
    """A test's facts, draw plan, approved pool and the texts a learner sees."""

    quiz: QuizFacts
    plan: dict[int, int]
    #: section id → its approved questions as ``(question id, option ids in authored order)``
    pool: dict[int, list[tuple[int, list[int]]]]
    question_texts: dict[int, str]
    option_texts: dict[int, str]
    loaded_at: float


class Catalogue:
    """Tests by id, loaded on first use and reloaded after ``ttl`` seconds."""

    def __init__(self, ttl: float = 10.0) -> None:
        self._ttl = ttl
        self._entries: dict[int, TestEntry] = {}
        self._loading: dict[int, asyncio.Future[TestEntry]] = {}
        self._generation = 0

    def invalidate(self) -> None:
        """Forget every test (a bank or question changed in this process)."""
        self._entries.clear()
        self._generation += 1

    async def entry(self, sessions: Callable[[], AsyncSession], quiz_id: int) -> TestEntry:
        """The test's entry; raises :class:`NotFound` for an unknown test.

        Concurrent callers share one load, so a burst of starts reads the test once.
        """
        found = self._entries.get(quiz_id)
        if found is not None and time.monotonic() - found.loaded_at < self._ttl:
            return found
        pending = self._loading.get(quiz_id)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[TestEntry] = asyncio.get_running_loop().create_future()
        self._loading[quiz_id] = future
        generation = self._generation
        try:
            async with sessions() as db:
                loaded = await load_entry(db, quiz_id)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters (if any) get it through shield
            raise
        else:
            future.set_result(loaded)
            if generation == self._generation:  # not invalidated while loading
                self._entries[quiz_id] = loaded
            return loaded
        finally:
            del self._loading[quiz_id]


async def load_entry(db: AsyncSession, quiz_id: int) -> TestEntry:
    """Read a test's entry from the database."""
    quiz = await db.get(Quiz, quiz_id)
    if quiz is None:
        raise NotFound(f"test {quiz_id} does not exist")
    plan = {
        row.section_id: row.count
        for row in await db.scalars(select(QuizSection).where(QuizSection.quiz_id == quiz_id))
    }
    questions = (
        await db.execute(
            select(Question.id, Question.section_id, Question.text)
            .where(
                Question.section_id.in_(plan),
                Question.status == QuestionStatus.APPROVED.value,
            )
            .order_by(Question.id)
        )
    ).all()
    question_texts = {qid: text for qid, _, text in questions}
    options: dict[int, list[int]] = {qid: [] for qid in question_texts}
    option_texts: dict[int, str] = {}
    rows = await db.execute(
        select(Option.id, Option.question_id, Option.text)
        .where(Option.question_id.in_(question_texts))
        .order_by(Option.question_id, Option.position)
    )
    for option_id, question_id, text in rows:
        options[question_id].append(option_id)
        option_texts[option_id] = text
    pool: dict[int, list[tuple[int, list[int]]]] = {}
    for qid, section_id, _ in questions:
        pool.setdefault(section_id, []).append((qid, options[qid]))
    facts = QuizFacts(
        quiz.id,
        quiz.group_id,
        quiz.scale,
        quiz.time_limit_s,
        quiz.shuffle_options,
        quiz.opens_at,
        quiz.closes_at,
    )
    return TestEntry(facts, plan, pool, question_texts, option_texts, time.monotonic())


CATALOGUE = web.AppKey("catalogue", Catalogue)
