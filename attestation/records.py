"""Published program documents (A 2.1, B 2.7) and the learner's results in the personal
account and the electronic archive (A 2.1)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from attestation.models import AssessmentResult, ProgramDocument
from attestation.rules.forms import Scale, mark_on_scale, mark_title
from server import audit
from server.errors import Invalid, NotFound
from server.programs import Enrollment, Group, Program, get_program
from server.sessions import Identity


class DocumentKindOfProgram(StrEnum):
    """What A 2.1 and B 2.7 publish for each program."""

    CURRICULUM = "curriculum"
    CALENDAR_SCHEDULE = "calendar_schedule"
    WORK_PROGRAM = "work_program"
    CONDITIONS = "attestation_conditions"


PROGRAM_DOCUMENT_TITLES_RU = {
    DocumentKindOfProgram.CURRICULUM: "Учебный план",
    DocumentKindOfProgram.CALENDAR_SCHEDULE: "Календарный учебный график",
    DocumentKindOfProgram.WORK_PROGRAM: "Рабочая программа",
    DocumentKindOfProgram.CONDITIONS: "Форма и условия итоговой аттестации",
}
RESULT_KINDS = ("ongoing", "intermediate")


async def add_program_document(
    db: AsyncSession,
    actor: Identity,
    now: datetime,
    program_id: int,
    kind: str,
    title: str,
    body: str,
) -> ProgramDocument:
    """Publish a document of a program."""
    await get_program(db, program_id)
    try:
        chosen = DocumentKindOfProgram(kind)
    except ValueError as exc:
        kinds = ", ".join(k.value for k in DocumentKindOfProgram)
        raise Invalid(f"kind must be one of {kinds}", field="kind") from exc
    if not body.strip():
        raise Invalid("field 'body' is required", field="body")
    count = len(await published_documents(db, program_id))
    row = ProgramDocument(
        program_id=program_id,
        kind=chosen.value,
        title=title.strip() or PROGRAM_DOCUMENT_TITLES_RU[chosen],
        body=body.strip(),
        position=count,
        created_at=now,
    )
    db.add(row)
    await db.flush()
    await audit.record(
        db, now, actor.user_id, "program.document", "program", program_id, kind=chosen.value
    )
    return row


async def published_documents(db: AsyncSession, program_id: int) -> list[ProgramDocument]:
    """A program's published documents in order."""
    rows = await db.scalars(
        select(ProgramDocument)
        .where(ProgramDocument.program_id == program_id, ProgramDocument.published.is_(True))
        .order_by(ProgramDocument.position, ProgramDocument.id)
    )
    return list(rows)


async def public_programs(db: AsyncSession) -> list[Program]:
    """Every program (the public section lists them all)."""
    return list(await db.scalars(select(Program).order_by(Program.code)))


async def record_result(
    db: AsyncSession,
    actor: Identity,
    now: datetime,
    *,
    learner_id: int,
    program_id: int,
    kind: str,
    title: str,
    mark: str,
    percent: int | None,
) -> AssessmentResult:
    """Record an ongoing-assessment or intermediate result of an enrolled learner."""
    if kind not in RESULT_KINDS:
        raise Invalid("kind must be ongoing or intermediate", field="kind")
    enrolled = await db.scalar(
        select(Enrollment.user_id)
        .join(Group, Group.id == Enrollment.group_id)
        .where(Enrollment.user_id == learner_id, Group.program_id == program_id)
    )
    if enrolled is None:
        raise NotFound(f"learner {learner_id} of program {program_id} does not exist")
    if not (mark_on_scale(mark, Scale.FOUR) or mark_on_scale(mark, Scale.TWO)):
        raise Invalid(f"{mark!r} is not a mark", field="mark")
    if percent is not None and not 0 <= percent <= 100:
        raise Invalid("percent is within 0..100", field="percent")
    if not title.strip():
        raise Invalid("field 'title' is required", field="title")
    row = AssessmentResult(
        user_id=learner_id,
        program_id=program_id,
        kind=kind,
        title=title.strip(),
        mark=mark,
        percent=percent,
        recorded_by=actor.user_id,
        recorded_at=now,
    )
    db.add(row)
    await db.flush()
    await audit.record(
        db,
        now,
        actor.user_id,
        "result.recorded",
        "assessment_result",
        row.id,
        learner_id=learner_id,
        kind=kind,
        mark=mark,
    )
    return row


async def results_of(db: AsyncSession, learner_id: int) -> list[dict[str, Any]]:
    """Every result of the learner, annulled ones marked (the archive keeps them)."""
    rows = await db.scalars(
        select(AssessmentResult)
        .where(AssessmentResult.user_id == learner_id)
        .order_by(AssessmentResult.recorded_at, AssessmentResult.id)
    )
    return [
        {
            "id": r.id,
            "program_id": r.program_id,
            "kind": r.kind,
            "title": r.title,
            "mark": r.mark,
            "mark_title": mark_title(r.mark),
            "percent": r.percent,
            "event_id": r.event_id,
            "recorded_at": r.recorded_at.isoformat(),
            "annulled": r.annulled,
        }
        for r in rows
    ]


async def program_or_404(db: AsyncSession, program_id: int) -> Program:
    """The program with this id."""
    program = await db.get(Program, program_id)
    if program is None:
        raise NotFound(f"program {program_id} does not exist")
    return program
