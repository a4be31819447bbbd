"""Demo data of the attestation workflow (only for ``examroom demo``): the program's
published documents, a commission of three and one remote event five days ahead."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from attestation.commissions import create_commission
from attestation.config import AttestationConfig
from attestation.events import EventInput, create_event
from attestation.models import AttestationEvent, Commission, ProgramDocument
from attestation.records import add_program_document
from attestation.rules.calendar import load_calendars
from server.sessions import Identity

DOCUMENTS = (
    ("curriculum", "Учебный план: 36 академических часов, 3 раздела, итоговая аттестация."),
    ("calendar_schedule", "Календарный учебный график: занятия с понедельника по пятницу."),
    ("work_program", "Рабочая программа: основы ГО, чрезвычайные ситуации, первая помощь."),
    (
        "attestation_conditions",
        "Итоговая аттестация — компьютерное тестирование (30 минут), оценка по "
        "четырёхбалльной системе; с применением ДОТ — по заявлению или для всех.",
    ),
)


async def seed_attestation(
    db: AsyncSession,
    head: Identity,
    now: datetime,
    *,
    program_id: int,
    group_id: int,
    quiz_id: int | None,
    seats: dict[str, int],
) -> None:
    """Create what is missing: documents, the commission, one remote event."""
    config = AttestationConfig(ZoneInfo("Europe/Moscow"), load_calendars("ru"))
    if (
        await db.scalar(select(ProgramDocument.id).where(ProgramDocument.program_id == program_id))
        is None
    ):
        for kind, body in DOCUMENTS:
            await add_program_document(db, head, now, program_id, kind, "", body)
    commission = await db.scalar(
        select(Commission).where(
            Commission.program_id == program_id, Commission.kind == "attestation"
        )
    )
    if commission is None:
        commission = await create_commission(
            db,
            head,
            now,
            kind="attestation",
            program_id=program_id,
            title="Аттестационная комиссия курсов ГО",
            starts_on=now.astimezone(config.zone).date(),
            ends_on=None,
            members=[
                (seats["chair"], "chair"),
                (seats["secretary"], "secretary"),
                (seats["member1"], "member"),
            ],
            order_number="1-ак",
            order_date=now.astimezone(config.zone).date(),
        )
    if (
        await db.scalar(select(AttestationEvent.id).where(AttestationEvent.group_id == group_id))
        is None
    ):
        day = (now.astimezone(config.zone) + timedelta(days=5)).date()
        await create_event(
            db,
            head,
            now,
            config,
            EventInput(
                program_id=program_id,
                group_id=group_id,
                commission_id=commission.id,
                title="Итоговая аттестация по программе ГО",
                form="testing",
                starts_at=datetime(day.year, day.month, day.day, 10, tzinfo=config.zone),
                remote=True,
                remote_reason="санитарно-эпидемиологические меры (демонстрационные данные)",
                quiz_id=quiz_id,
            ),
        )
