"""Question banks: import into a draft bank, approval by the head of courses, versioned edits."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from quiz.imports.parsed import ImportReport, ParsedOption, ParsedQuestion
from quiz.models import Bank, BankStatus, Option, Question, QuestionStatus
from server import audit
from server.errors import Conflict, Forbidden, Invalid, NotFound
from server.programs import Program, Section, section_named
from server.sessions import Identity
from server.users import Role

log = logging.getLogger(__name__)

DEFAULT_SECTION = "Общий раздел"


@dataclass(frozen=True)
class Imported:
    """What an import stored."""

    bank_id: int | None
    imported: int
    sections: list[str]


def check_question(text: str, options: list[ParsedOption]) -> None:
    """A question has text, at least two distinct non-empty options, exactly one correct."""
    if not text.strip():
        raise Invalid("question text is empty")
    if len(options) < 2:
        raise Invalid(f"{len(options)} option(s); at least 2 are needed, 3 is the standard form")
    if any(not option.text.strip() for option in options):
        raise Invalid("an option is empty")
    if len({option.text.strip() for option in options}) != len(options):
        raise Invalid("two options have the same text")
    correct = sum(1 for option in options if option.correct)
    if correct != 1:
        raise Invalid(f"{correct} correct options; exactly one correct option is required")


async def _store(
    db: AsyncSession, bank: Bank, section: Section, parsed: ParsedQuestion
) -> Question:
    question = Question(
        bank_id=bank.id,
        section_id=section.id,
        family_id=0,
        version=1,
        status=QuestionStatus.DRAFT.value,
        name=parsed.name[:300],
        text=parsed.text,
        explanation=parsed.explanation,
    )
    db.add(question)
    await db.flush()
    question.family_id = question.id
    for position, option in enumerate(parsed.options):
        db.add(
            Option(
                question_id=question.id, position=position, text=option.text, correct=option.correct
            )
        )
    return question


async def import_report(
    db: AsyncSession,
    program: Program,
    bank_title: str,
    report: ImportReport,
    author: Identity,
    now: datetime,
    default_section: str | None = None,
    progress: Callable[[], None] | None = None,
) -> Imported:
    """Store the report's questions as a new draft bank; sections are created by name."""
    if not report.questions:
        return Imported(None, 0, [])
    bank = Bank(
        program_id=program.id,
        title=bank_title[:300] or "Imported",
        status=BankStatus.DRAFT.value,
        created_by=author.user_id,
        created_at=now,
    )
    db.add(bank)
    await db.flush()
    used: dict[str, Section] = {}
    for parsed in report.questions:
        title = (parsed.section or default_section or DEFAULT_SECTION).strip()[:300]
        if title not in used:
            used[title] = await section_named(db, program.id, title)
        await _store(db, bank, used[title], parsed)
        if progress is not None:
            progress()
    await audit.record(
        db,
        now,
        author.user_id,
        "bank.import",
        "bank",
        bank.id,
        questions=len(report.questions),
        skipped=len(report.skipped),
    )
    log.info(
        "bank %s imported with %d questions by user %s",
        bank.id,
        len(report.questions),
        author.user_id,
    )
    return Imported(bank.id, len(report.questions), sorted(used))


async def get_bank(db: AsyncSession, bank_id: int) -> Bank:
    """The bank with this id."""
    bank = await db.get(Bank, bank_id)
    if bank is None:
        raise NotFound(f"bank {bank_id} does not exist")
    return bank


async def approve_bank(db: AsyncSession, bank_id: int, head: Identity, now: datetime) -> Bank:
    """The head of courses approves a bank and all its draft questions (B 2.5).

    A draft question that is a new version of an approved one replaces it: the old
    version is retired, so only one version of a family is ever drawn.
    """
    if head.role != Role.HEAD:
        raise Forbidden("only the head of courses approves question banks (B 2.5)")
    bank = await get_bank(db, bank_id)
    drafts = list(
        await db.scalars(
            select(Question)
            .where(Question.bank_id == bank_id, Question.status == QuestionStatus.DRAFT.value)
            # Oldest first, so that of two pending versions of a family the newest ends approved.
            .order_by(Question.family_id, Question.version)
        )
    )
    if bank.status == BankStatus.APPROVED.value and not drafts:
        raise Conflict(f"bank {bank_id} is already approved", code="already_approved")
    for question in drafts:
        await _retire_family(db, question)
        question.status = QuestionStatus.APPROVED.value
        question.approved_by = head.user_id
        question.approved_at = now
    bank.status = BankStatus.APPROVED.value
    bank.approved_by = head.user_id
    bank.approved_at = now
    await audit.record(
        db, now, head.user_id, "bank.approve", "bank", bank_id, questions=len(drafts)
    )
    return bank


async def _retire_family(db: AsyncSession, question: Question) -> None:
    olds = await db.scalars(
        select(Question).where(
            Question.family_id == question.family_id,
            Question.id != question.id,
            Question.status == QuestionStatus.APPROVED.value,
        )
    )
    for old in olds:
        old.status = QuestionStatus.RETIRED.value


async def edit_question(
    db: AsyncSession,
    question_id: int,
    text: str,
    options: list[ParsedOption],
    explanation: str,
    author: Identity,
    now: datetime,
) -> Question:
    """Change a question. A draft is changed in place; an approved one gets a new draft
    version, so past attempts keep exactly what they showed and it needs approval again."""
    check_question(text, options)
    question = await db.get(Question, question_id)
    if question is None:
        raise NotFound(f"question {question_id} does not exist")
    if question.status == QuestionStatus.RETIRED.value:
        raise Conflict(f"question {question_id} is a retired version; edit the current one")
    if question.status == QuestionStatus.DRAFT.value:
        for old in await db.scalars(select(Option).where(Option.question_id == question.id)):
            await db.delete(old)
        question.text, question.explanation = text, explanation
        target = question
    else:
        latest = await db.scalar(
            select(func.max(Question.version)).where(Question.family_id == question.family_id)
        )
        target = Question(
            bank_id=question.bank_id,
            section_id=question.section_id,
            family_id=question.family_id,
            version=(latest or 1) + 1,
            status=QuestionStatus.DRAFT.value,
            name=question.name,
            text=text,
            explanation=explanation,
            created_at=now,
        )
        db.add(target)
        await db.flush()
    await db.flush()
    for position, option in enumerate(options):
        db.add(
            Option(
                question_id=target.id, position=position, text=option.text, correct=option.correct
            )
        )
    await db.flush()
    await audit.record(
        db, now, author.user_id, "question.edit", "question", target.id, family=target.family_id
    )
    return target


async def bank_questions(db: AsyncSession, bank_id: int) -> list[dict[str, Any]]:
    """The bank's questions (all versions) with their options, for the instructor's pages."""
    questions = list(
        await db.scalars(
            select(Question)
            .where(Question.bank_id == bank_id)
            .order_by(Question.family_id, Question.version)
        )
    )
    ids = [q.id for q in questions]
    options: dict[int, list[Option]] = {}
    for option in await db.scalars(
        select(Option).where(Option.question_id.in_(ids)).order_by(Option.position)
    ):
        options.setdefault(option.question_id, []).append(option)
    sections = {
        s.id: s.title
        for s in await db.scalars(
            select(Section).where(Section.id.in_({q.section_id for q in questions}))
        )
    }
    return [
        {
            "id": q.id,
            "family_id": q.family_id,
            "version": q.version,
            "status": q.status,
            "section_id": q.section_id,
            "section": sections.get(q.section_id, ""),
            "text": q.text,
            "explanation": q.explanation,
            "options": [
                {"id": o.id, "text": o.text, "correct": o.correct} for o in options.get(q.id, [])
            ],
        }
        for q in questions
    ]


async def banks_json(db: AsyncSession, program_id: int | None = None) -> list[dict[str, Any]]:
    """Banks with their question counts per status."""
    query = select(Bank).order_by(Bank.id)
    if program_id is not None:
        query = query.where(Bank.program_id == program_id)
    banks = list(await db.scalars(query))
    counts: dict[tuple[int, str], int] = {}
    rows = await db.execute(
        select(Question.bank_id, Question.status, func.count()).group_by(
            Question.bank_id, Question.status
        )
    )
    for bank_id, status, count in rows:
        counts[(bank_id, status)] = count
    return [
        {
            "id": b.id,
            "program_id": b.program_id,
            "title": b.title,
            "status": b.status,
            "approved_at": b.approved_at.isoformat() if b.approved_at else None,
            "questions": {s.value: counts.get((b.id, s.value), 0) for s in QuestionStatus},
        }
        for b in banks
    ]


async def approved_counts(db: AsyncSession, program_id: int) -> dict[int, int]:
    """Approved questions per section of a program."""
    rows = await db.execute(
        select(Question.section_id, func.count())
        .join(Section, Section.id == Question.section_id)
        .where(Section.program_id == program_id, Question.status == QuestionStatus.APPROVED.value)
        .group_by(Question.section_id)
    )
    return {section_id: count for section_id, count in rows}
