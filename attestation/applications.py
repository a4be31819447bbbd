"""Learners' applications: remote attestation (B 4.1–4.2) and rescheduling (B 2.11).

Both carry reasons and at least one supporting document. A remote application is filed
at least 2 calendar days before the event and approved by an order of the director
(number and date); an approved rescheduling moves the learner to another event of the
same group.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from attestation.config import AttestationConfig
from attestation.errors import RuleBroken, WrongState
from attestation.events import MANAGERS, event_day
from attestation.models import Application, ApplicationFile, AttestationEvent, Participant
from attestation.rules import deadlines
from proctor.files import file_name, sniff
from server import audit
from server.errors import Invalid, NotFound
from server.sessions import Identity
from server.settings import Settings


class ApplicationKind(StrEnum):
    """What the learner asks for."""

    REMOTE = "remote"
    RESCHEDULE = "reschedule"


def files_dir(settings: Settings) -> Path:
    """Where applications' documents are kept (outside any web root)."""
    return settings.data_dir.resolve() / "applications"


def write_durably(path: Path, data: bytes) -> None:
    """Write a file so that a crash leaves either nothing or the whole file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".part")
    with partial.open("xb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(partial, path)


async def file_application(
    db: AsyncSession,
    learner: Identity,
    now: datetime,
    config: AttestationConfig,
    settings: Settings,
    *,
    event: AttestationEvent,
    kind: str,
    reasons: str,
    document: bytes,
    document_name: str,
) -> Application:
    """File an application with its first supporting document."""
    try:
        chosen = ApplicationKind(kind)
    except ValueError as exc:
        raise Invalid("kind must be remote or reschedule", field="kind") from exc
    if await db.get(Participant, (event.id, learner.user_id)) is None:
        raise NotFound(f"event {event.id} does not exist")
    if event.status != "scheduled":
        raise WrongState(f"event {event.id} is {event.status}")
    rule = "B4.2-remote-application" if chosen == ApplicationKind.REMOTE else "B2.11-reschedule"
    if not reasons.strip():
        raise RuleBroken(rule, "state the reasons", field="reasons")
    if not document:
        raise RuleBroken(rule, "attach a supporting document", field="file")
    today = deadlines.local_date(now, config.zone)
    day = event_day(event, config)
    if chosen == ApplicationKind.REMOTE:
        if event.remote:
            raise WrongState(f"event {event.id} is already remote for everyone")
        if not deadlines.remote_application_in_time(today, day):
            latest = deadlines.latest_day(day, deadlines.REMOTE_APPLICATION_DAYS)
            raise RuleBroken(
                rule, f"a remote application for the event on {day} is filed by {latest}"
            )
    open_one = await db.scalar(
        select(Application.id).where(
            Application.event_id == event.id,
            Application.learner_id == learner.user_id,
            Application.kind == chosen.value,
            Application.status == "filed",
        )
    )
    if open_one is not None:
        raise WrongState(f"application {open_one} is still open")
    application = Application(
        kind=chosen.value,
        event_id=event.id,
        learner_id=learner.user_id,
        reasons=reasons.strip(),
        filed_at=now,
    )
    db.add(application)
    await db.flush()
    await attach(db, settings, now, application, document, document_name)
    return application


async def attach(
    db: AsyncSession,
    settings: Settings,
    now: datetime,
    application: Application,
    data: bytes,
    name: str,
) -> ApplicationFile:
    """Store a supporting document under a generated name (type from the content)."""
    kind = sniff(data)
    stored = secrets.token_hex(16) + kind.extensions[0]
    await asyncio.to_thread(write_durably, files_dir(settings) / stored, data)
    row = ApplicationFile(
        application_id=application.id,
        name=file_name(name, kind),
        stored_name=stored,
        content_type=kind.content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        uploaded_at=now,
    )
    db.add(row)
    await db.flush()
    return row


async def decide(
    db: AsyncSession,
    actor: Identity,
    now: datetime,
    application: Application,
    *,
    approve: bool,
    order_number: str = "",
    order_date: date | None = None,
    moved_to_event_id: int | None = None,
    comment: str = "",
) -> None:
    """Approve or reject an application (head of courses)."""
    if application.status != "filed":
        raise WrongState(f"application {application.id} is already {application.status}")
    event = await db.get(AttestationEvent, application.event_id)
    assert event is not None
    participant = await db.get(Participant, (event.id, application.learner_id))
    if participant is None:
        raise WrongState(f"learner {application.learner_id} left event {event.id}")
    if approve and application.kind == ApplicationKind.REMOTE:
        if not order_number.strip() or order_date is None:
            raise RuleBroken(
                "B4.2-remote-order", "remote attestation is approved by an order: number and date"
            )
        participant.remote = True
        application.order_number = order_number.strip()
        application.order_date = order_date
    if approve and application.kind == ApplicationKind.RESCHEDULE:
        target = await db.get(AttestationEvent, moved_to_event_id or 0)
        if target is None or target.group_id != event.group_id or target.id == event.id:
            raise NotFound(f"event {moved_to_event_id} of group {event.group_id} does not exist")
        if target.status != "scheduled" or target.starts_at <= now:
            raise WrongState(f"event {target.id} is not a future scheduled event")
        if await db.get(Participant, (target.id, application.learner_id)) is None:
            db.add(
                Participant(
                    event_id=target.id, user_id=application.learner_id, remote=target.remote
                )
            )
        await db.delete(participant)
        application.moved_to_event_id = target.id
    application.status = "approved" if approve else "rejected"
    application.decided_by = actor.user_id
    application.decided_at = now
    application.comment = comment.strip()
    await audit.record(
        db,
        now,
        actor.user_id,
        f"application.{application.status}",
        "application",
        application.id,
        kind=application.kind,
        learner_id=application.learner_id,
        order=[application.order_number, order_date.isoformat() if order_date else None],
        moved_to=application.moved_to_event_id,
    )
    await db.flush()


async def visible_application(db: AsyncSession, user: Identity, app_id: int) -> Application:
    """The application for its learner and managers; 404 for anyone else."""
    application = await db.get(Application, app_id)
    if application is None or (
        user.role not in MANAGERS and application.learner_id != user.user_id
    ):
        raise NotFound(f"application {app_id} does not exist")
    return application


async def applications_for(db: AsyncSession, user: Identity) -> list[Application]:
    """Every application for managers, one's own for a learner."""
    query = select(Application).order_by(Application.id)
    if user.role not in MANAGERS:
        query = query.where(Application.learner_id == user.user_id)
    return list(await db.scalars(query))


async def application_json(db: AsyncSession, application: Application) -> dict[str, Any]:
    """An application with its documents."""
    files = await db.scalars(
        select(ApplicationFile)
        .where(ApplicationFile.application_id == application.id)
        .order_by(ApplicationFile.id)
    )
    return {
        "id": application.id,
        "kind": application.kind,
        "event_id": application.event_id,
        "learner_id": application.learner_id,
        "reasons": application.reasons,
        "filed_at": application.filed_at.isoformat(),
        "status": application.status,
        "order_number": application.order_number,
        "order_date": application.order_date.isoformat() if application.order_date else None,
        "moved_to_event_id": application.moved_to_event_id,
        "comment": application.comment,
        "files": [
            {
                "id": f.id,
                "name": f.name,
                "size": f.size,
                "content_type": f.content_type,
                "url": f"/api/attestation/applications/{application.id}/files/{f.id}",
            }
            for f in files
        ],
    }


async def stored_file(
    db: AsyncSession, settings: Settings, application: Application, file_id: int
) -> tuple[ApplicationFile, Path]:
    """A document of the application and its path, checked against its SHA-256."""
    row = await db.get(ApplicationFile, file_id)
    if row is None or row.application_id != application.id:
        raise NotFound(f"file {file_id} does not exist")
    root = files_dir(settings)
    path = (root / row.stored_name).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        raise NotFound(f"file {file_id} does not exist")
    return row, path
