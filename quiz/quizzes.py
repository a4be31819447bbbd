"""Tests (``Quiz``): creation with a draw plan, what a learner may take, results, analysis."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from quiz.analysis import analyse, responses_from_answers
from quiz.attempts import result_json
from quiz.banks import approved_counts
from quiz.deadlines import window_state
from quiz.grading import Form, scale_for_form
from quiz.models import Attempt, AttemptItem, AttemptStatus, Option, Question, Quiz, QuizSection
from quiz.tickets import validate_plan
from server import audit
from server.errors import Invalid, NotFound
from server.programs import Group, get_program, group_ids_of, sections_of
from server.sessions import Identity
from server.users import Role


async def create_quiz(
    db: AsyncSession,
    author: Identity,
    now: datetime,
    *,
    program_id: int,
    title: str,
    form: str,
    time_limit_s: int,
    plan: dict[int, int],
    shuffle_options: bool = True,
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
    group_id: int | None = None,
) -> Quiz:
    """Create a test; every count must be covered by approved questions of that section."""
    program = await get_program(db, program_id)
    if not title.strip():
        raise Invalid("title is required", field="title")
    try:
        form_enum = Form(form)
    except ValueError as exc:
        raise Invalid(f"unknown form {form!r}; one of {', '.join(f.value for f in Form)}") from exc
    if not 60 <= time_limit_s <= 24 * 3600:
        raise Invalid("time limit must be between 1 minute and 24 hours", field="time_limit")
    if opens_at and closes_at and closes_at <= opens_at:
        raise Invalid("the window closes before it opens")
    section_ids = {s.id for s in await sections_of(db, program.id)}
    unknown = set(plan) - section_ids
    if unknown:
        raise Invalid(f"sections {sorted(unknown)} are not sections of program {program.code}")
    validate_plan(plan)
    counts = await approved_counts(db, program.id)
    for section_id, count in plan.items():
        if counts.get(section_id, 0) < count:
            raise Invalid(
                f"section {section_id} has {counts.get(section_id, 0)} approved questions; "
                f"{count} requested (only approved questions are used, B 2.5)",
                code="not_enough_questions",
            )
    if group_id is not None:
        group = await db.get(Group, group_id)
        if group is None or group.program_id != program.id:
            raise Invalid(f"group {group_id} is not a group of program {program.code}")
    quiz = Quiz(
        program_id=program.id,
        group_id=group_id,
        title=title.strip()[:300],
        form=form_enum.value,
        scale=scale_for_form(form_enum).value,
        time_limit_s=time_limit_s,
        shuffle_options=shuffle_options,
        opens_at=opens_at,
        closes_at=closes_at,
        created_by=author.user_id,
        created_at=now,
    )
    db.add(quiz)
    await db.flush()
    for section_id, count in plan.items():
        if count > 0:
            db.add(QuizSection(quiz_id=quiz.id, section_id=section_id, count=count))
    await audit.record(db, now, author.user_id, "test.create", "test", quiz.id, plan=plan)
    return quiz


def quiz_json(
    quiz: Quiz, now: datetime, questions: int, attempt: Attempt | None = None, language: str = "ru"
) -> dict[str, Any]:
    """A test as listed to learners and staff."""
    data: dict[str, Any] = {
        "id": quiz.id,
        "title": quiz.title,
        "program_id": quiz.program_id,
        "group_id": quiz.group_id,
        "form": quiz.form,
        "scale": quiz.scale,
        "time_limit_s": quiz.time_limit_s,
        "questions": questions,
        "opens_at": quiz.opens_at.isoformat() if quiz.opens_at else None,
        "closes_at": quiz.closes_at.isoformat() if quiz.closes_at else None,
        "window": window_state(quiz.opens_at, quiz.closes_at, now),
        "attempt": None,
    }
    if attempt is not None:
        data["attempt"] = {
            "id": attempt.id,
            "status": attempt.status,
            "deadline": attempt.deadline.isoformat(),
            "result": result_json(attempt, language),
        }
    return data


async def _question_counts(db: AsyncSession, quiz_ids: list[int]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for row in await db.scalars(select(QuizSection).where(QuizSection.quiz_id.in_(quiz_ids))):
        counts[row.quiz_id] = counts.get(row.quiz_id, 0) + row.count
    return counts


async def quizzes_for(
    db: AsyncSession, user: Identity, now: datetime, language: str
) -> list[dict[str, Any]]:
    """Learners: the tests of their groups (and open ones) with their attempt; staff: all."""
    query = select(Quiz).order_by(Quiz.id)
    if user.role == Role.LEARNER:
        groups = await group_ids_of(db, user.user_id)
        query = query.where((Quiz.group_id.is_(None)) | (Quiz.group_id.in_(groups)))
    quizzes = list(await db.scalars(query))
    counts = await _question_counts(db, [q.id for q in quizzes])
    attempts: dict[int, Attempt] = {}
    if user.role == Role.LEARNER:
        for attempt in await db.scalars(select(Attempt).where(Attempt.user_id == user.user_id)):
            attempts[attempt.quiz_id] = attempt
    return [quiz_json(q, now, counts.get(q.id, 0), attempts.get(q.id), language) for q in quizzes]


async def get_quiz(db: AsyncSession, quiz_id: int) -> Quiz:
    """The test with this id."""
    quiz = await db.get(Quiz, quiz_id)
    if quiz is None:
        raise NotFound(f"test {quiz_id} does not exist")
    return quiz


async def results_of(db: AsyncSession, user_id: int, language: str) -> list[dict[str, Any]]:
    """A learner's submitted results, newest first: the personal account and the archive."""
    rows = await db.execute(
        select(Attempt, Quiz)
        .join(Quiz, Quiz.id == Attempt.quiz_id)
        .where(Attempt.user_id == user_id, Attempt.status == AttemptStatus.SUBMITTED.value)
        .order_by(Attempt.submitted_at.desc())
    )
    return [
        {
            "attempt_id": attempt.id,
            "test_id": quiz.id,
            "test_title": quiz.title,
            "form": quiz.form,
            **(result_json(attempt, language) or {}),
        }
        for attempt, quiz in rows
    ]


async def item_analysis(db: AsyncSession, quiz_id: int) -> dict[str, Any]:
    """Facility, discrimination and option shares per question; KR-20 of the test."""
    await get_quiz(db, quiz_id)
    rows = await db.execute(
        select(
            AttemptItem.attempt_id,
            AttemptItem.question_id,
            AttemptItem.chosen_option_id,
            AttemptItem.option_order,
        )
        .join(Attempt, Attempt.id == AttemptItem.attempt_id)
        .where(Attempt.quiz_id == quiz_id, Attempt.status == AttemptStatus.SUBMITTED.value)
    )
    answers: dict[int, dict[int, int | None]] = {}
    question_ids: set[int] = set()
    for attempt_id, question_id, chosen, _order in rows:
        answers.setdefault(attempt_id, {})[question_id] = chosen
        question_ids.add(question_id)
    options: dict[int, list[int]] = {}
    correct: dict[int, int] = {}
    texts: dict[int, str] = {}
    option_texts: dict[int, str] = {}
    for option in await db.scalars(
        select(Option).where(Option.question_id.in_(question_ids)).order_by(Option.position)
    ):
        options.setdefault(option.question_id, []).append(option.id)
        option_texts[option.id] = option.text
        if option.correct:
            correct[option.question_id] = option.id
    for question in await db.scalars(select(Question).where(Question.id.in_(question_ids))):
        texts[question.id] = question.text
    stats = analyse(responses_from_answers(answers, correct), options)
    return {
        "test_id": quiz_id,
        "attempts": stats.attempts,
        "kr20": stats.kr20,
        "kr20_items": stats.kr20_items,
        "mean_score": stats.mean_score,
        "score_variance": stats.score_variance,
        "items": [
            {
                "question_id": item.question_id,
                "text": texts.get(item.question_id, ""),
                "presented": item.presented,
                "answered": item.answered,
                "facility": item.facility,
                "discrimination": item.discrimination,
                "options": [
                    {
                        "option_id": option_id,
                        "text": option_texts.get(option_id, "") if option_id is not None else None,
                        "correct": option_id is not None
                        and correct.get(item.question_id) == option_id,
                        "share": share,
                    }
                    for option_id, share in item.option_shares.items()
                ],
            }
            for item in stats.items
        ],
    }
