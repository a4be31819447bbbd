"""The evidence log of a session: one timeline assembled from the tables that already
hold each kind of record (nothing is stored twice).

Items carry the server time at which they happened and their offset in seconds from the
start of the session's recording (``None`` when nothing was recorded). Joins and leaves
come from the participation log of the room (:mod:`proctor.presence`: every participant,
publishing or not, with role and reason, ``source: "room"``); a session from before that
log had them from the recording segments (a participant's publishing starts and ends them,
``source: "recording"``), and reconnects always come from the segments. The chat, files,
identity snapshots and decisions and monitoring intervals come from the live rooms'
tables; the answers (server time of each save) from the attempts of the room's test.
Items before the recording started (a join before the camera came on) have a negative
offset.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from proctor.access import quiz_id_of_room
from proctor.chat import ChatMessage
from proctor.files import RoomFile
from proctor.identity import IdentityCheck, Snapshot, snapshot_url
from proctor.monitoring import MonitoringEvent
from proctor.presence import RoomPresence, presence_of
from quiz.models import AnswerEvent, Attempt
from recordings.manifest import files_of
from recordings.models import RecordingFile


def _offset(at: datetime | None, start: datetime | None) -> float | None:
    if at is None or start is None:
        return None
    return round((at - start).total_seconds(), 3)


def _item(kind: str, at: datetime, start: datetime | None, **fields: Any) -> dict[str, Any]:
    return {"kind": kind, "at": at.isoformat(), "offset": _offset(at, start), **fields}


def presence_items(
    rows: list[RecordingFile], start: datetime | None, logged: list[RoomPresence] | None = None
) -> list[dict[str, Any]]:
    """Joins and leaves from the room's participation log when it has any (``logged``),
    else from the segments of each participant; reconnects from the segments."""
    items = [
        _item(
            row.action,
            row.at,
            start,
            source="room",
            participant=row.participant_id,
            user_id=row.user_id,
            role=row.role,
            reason=row.reason,
        )
        for row in logged or ()
    ]
    by_participant: dict[str, list[RecordingFile]] = {}
    for row in rows:
        by_participant.setdefault(row.participant, []).append(row)
    for participant, segments in by_participant.items():
        for index, row in enumerate(segments):
            if row.reason == "reconnect" or (row.reason == "start" and not logged):
                kind = "join" if row.reason == "start" else "reconnect"
                items.append(
                    _item(kind, row.started_at, start, source="recording", participant=participant)
                )
            following = segments[index + 1] if index + 1 < len(segments) else None
            if not logged and (following is None or following.reason == "start"):
                items.append(
                    _item("leave", row.ended_at, start, source="recording", participant=participant)
                )
    return items


async def timeline(db: AsyncSession, room_id: str) -> dict[str, Any]:
    """The session's videos and its evidence items in time order."""
    rows = await files_of(db, room_id)
    start = min((r.started_at for r in rows), default=None)
    items = presence_items(rows, start, await presence_of(db, room_id))
    for message in await db.scalars(select(ChatMessage).where(ChatMessage.room == room_id)):
        items.append(
            _item(
                "chat",
                message.sent_at,
                start,
                sender_id=message.sender_id,
                learner_id=message.learner_id,
                text=message.text,
                file_id=message.attachment_file_id,
            )
        )
    for shared in await db.scalars(select(RoomFile).where(RoomFile.room == room_id)):
        items.append(
            _item(
                "file",
                shared.uploaded_at,
                start,
                file_id=shared.id,
                name=shared.original_name,
                uploader_id=shared.uploader_id,
                learner_id=shared.learner_id,
                sha256=shared.sha256,
            )
        )
    for snap in await db.scalars(select(Snapshot).where(Snapshot.room == room_id)):
        items.append(
            _item(
                "snapshot",
                snap.taken_at,
                start,
                snapshot=snap.kind,
                learner_id=snap.learner_id,
                taken_by=snap.taken_by,
                url=snapshot_url(room_id, snap.id),
            )
        )
    for check in await db.scalars(select(IdentityCheck).where(IdentityCheck.room == room_id)):
        if check.decided_at is not None:
            items.append(
                _item(
                    "identity",
                    check.decided_at,
                    start,
                    status=check.status,
                    learner_id=check.learner_id,
                    decided_by=check.decided_by,
                    comment=check.comment,
                )
            )
    for event in await db.scalars(select(MonitoringEvent).where(MonitoringEvent.room == room_id)):
        items.append(
            _item(
                "monitoring",
                event.started_at,
                start,
                event=event.kind,
                source=event.source,
                learner_id=event.learner_id,
                author_id=event.author_id,
                ended_at=event.ended_at.isoformat() if event.ended_at else None,
                end_offset=_offset(event.ended_at, start),
                comment=event.comment,
            )
        )
    answers = await db.execute(
        select(AnswerEvent, Attempt.user_id)
        .join(Attempt, Attempt.id == AnswerEvent.attempt_id)
        .where(Attempt.quiz_id == quiz_id_of_room(room_id))
    )
    for answer, user_id in answers:
        items.append(
            _item(
                "answer",
                answer.at,
                start,
                learner_id=user_id,
                attempt_id=answer.attempt_id,
                question_id=answer.question_id,
                option_id=answer.option_id,
            )
        )
    items.sort(key=lambda item: item["at"])
    videos = [
        {
            "id": r.id,
            "participant": r.participant,
            "user_id": r.user_id,
            "kinds": r.kinds.split(","),
            "offset": _offset(r.started_at, start),
            "duration": round((r.ended_at - r.started_at).total_seconds(), 3),
            "url": f"/api/recordings/{room_id}/files/{r.id}",
        }
        for r in rows
    ]
    return {
        "session": room_id,
        "recording_started_at": start.isoformat() if start else None,
        "videos": videos,
        "items": items,
    }
