"""The participation log on the evidence timeline (offsets from the recording's start,
segments only for sessions from before the log) and its retention with the session."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from proctor.access import room_of_test
from proctor.presence import LeaveReason, PresenceAction, RoomPresence, record_presence
from recordings.models import RecordingFile
from recordings.retention import Policy, release_legal_hold, run_retention, set_legal_hold
from recordings.service import evidence_places
from recordings.storage import LocalStore
from recordings.timeline import timeline
from server.settings import Settings
from server.users import Passwords, Role, create_user
from tests.proctor.test_room_access import Sockets, join
from tests.seed import Seed, eventually
from tests.serverproc import database

T0 = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
JOIN, LEAVE = PresenceAction.JOIN, PresenceAction.LEAVE


def _segment(room: str, participant: str, start: float, end: float, reason: str) -> RecordingFile:
    data = f"{room} {participant} {start}".encode()
    return RecordingFile(
        room=room,
        participant=participant,
        user_id=None,
        kinds="audio,video",
        storage_key=f"{room}/{participant}-{start}.webm",
        started_at=T0 + timedelta(seconds=start),
        ended_at=T0 + timedelta(seconds=end),
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        reason=reason,
        repaired=False,
        sealed_at=T0 + timedelta(seconds=end),
    )


async def _people(db: AsyncSession) -> tuple[int, int]:
    passwords = Passwords()
    learner = await create_user(db, passwords, "learner1", "pw-learner-1", Role.LEARNER)
    member = await create_user(db, passwords, "member1", "pw-member-1", Role.COMMISSION)
    await db.flush()
    return learner.id, member.id


def _presence(
    db: AsyncSession,
    room: str,
    user_id: int,
    role: str,
    action: PresenceAction,
    seconds: float,
    reason: LeaveReason | None = None,
) -> None:
    at = T0 + timedelta(seconds=seconds)
    record_presence(db, room, user_id, f"u{user_id}", role, action, at, reason)


async def test_the_log_gives_joins_and_leaves_and_segments_the_reconnects(
    settings: Settings,
) -> None:
    async with database(settings) as sessions, sessions() as db:
        learner, member = await _people(db)
        lp, mp = f"u{learner}", f"u{member}"
        # The learner publishes from 0 s; the stream reconnects at 30 s (a second segment).
        db.add(_segment("test-1", lp, 0, 25, "start"))
        db.add(_segment("test-1", lp, 30, 60, "reconnect"))
        # The member watches from before the recording and never publishes.
        _presence(db, "test-1", member, "commission", JOIN, -5)
        _presence(db, "test-1", learner, "learner", JOIN, -1.5)
        _presence(db, "test-1", learner, "learner", LEAVE, 26, LeaveReason.DISCONNECTED)
        _presence(db, "test-1", learner, "learner", JOIN, 28)
        _presence(db, "test-1", learner, "learner", LEAVE, 61, LeaveReason.LEFT)
        _presence(db, "test-1", member, "commission", LEAVE, 70, LeaveReason.SESSION_ENDED)
        # Another room's log stays out of this one.
        _presence(db, "test-2", member, "commission", JOIN, 1)
        await db.commit()

        line = await timeline(db, "test-1")
    presence = [i for i in line["items"] if i["kind"] in ("join", "leave", "reconnect")]
    assert [
        (i["kind"], i["participant"], i["offset"], i.get("reason"), i["source"]) for i in presence
    ] == [
        ("join", mp, -5.0, None, "room"),
        ("join", lp, -1.5, None, "room"),
        ("leave", lp, 26.0, "disconnected", "room"),
        ("join", lp, 28.0, None, "room"),
        ("reconnect", lp, 30.0, None, "recording"),
        ("leave", lp, 61.0, "left", "room"),
        ("leave", mp, 70.0, "session_ended", "room"),
    ]
    member_join = presence[0]
    assert member_join["user_id"] == member and member_join["role"] == "commission"
    assert member_join["at"] == (T0 - timedelta(seconds=5)).isoformat()
    assert line["recording_started_at"] == T0.isoformat()


async def test_a_session_from_before_the_log_keeps_the_segments(settings: Settings) -> None:
    async with database(settings) as sessions, sessions() as db:
        db.add(_segment("test-3", "u7", 0, 25, "start"))
        db.add(_segment("test-3", "u7", 30, 60, "reconnect"))
        await db.commit()
        line = await timeline(db, "test-3")
    assert [(i["kind"], i["offset"], i["source"]) for i in line["items"]] == [
        ("join", 0.0, "recording"),
        ("reconnect", 30.0, "recording"),
        ("leave", 60.0, "recording"),
    ]


@pytest.fixture
async def sockets(client: TestClient[Any, Any]) -> AsyncIterator[Sockets]:
    opened = Sockets(f"http://{client.host}:{client.port}")
    try:
        yield opened
    finally:
        await opened.close()


async def test_the_replay_api_lists_who_was_in_the_room(
    client: TestClient[Any, Any], seed: Seed, sockets: Sockets, login: Any
) -> None:
    """A session where nobody published: the timeline still shows who came and went."""
    room = room_of_test(seed.test_id)
    chair = await sockets.socket(await sockets.api("chair"))
    learner = await sockets.socket(await sockets.api("learner1"))
    assert (await join(chair, room))["ok"] is True
    assert (await join(learner, room))["ok"] is True
    ack = await learner.call("leave", {"room": room}, namespace="/proctor", timeout=10)
    assert ack == {"ok": True}
    await chair.disconnect()
    auditor = await login("auditor")

    async def four() -> list[dict[str, Any]] | None:
        status, body = await auditor.call("GET", f"/api/recordings/{room}/timeline")
        assert status == 200, body
        return body["items"] if len(body["items"]) == 4 else None

    items = await eventually(four, within=10)
    chair_id, learner_id = seed.users["chair"], seed.users["learner1"]
    assert [(i["kind"], i["user_id"], i["role"], i["reason"]) for i in items] == [
        ("join", chair_id, "commission", None),
        ("join", learner_id, "learner", None),
        ("leave", learner_id, "learner", "left"),
        ("leave", chair_id, "commission", "disconnected"),
    ]
    assert all(i["offset"] is None and i["source"] == "room" for i in items)
    assert [i["at"] for i in items] == sorted(i["at"] for i in items)


async def test_retention_deletes_the_log_with_the_session_except_on_hold(
    settings: Settings,
) -> None:
    places = evidence_places(settings)
    store = LocalStore(settings.data_dir / "recordings" / "store")
    policy = Policy(recordings_days=365, evidence_days=1825)
    now = datetime(2032, 6, 1, tzinfo=UTC)
    old = now - timedelta(days=2000)
    async with database(settings) as sessions, sessions() as db:
        learner, member = await _people(db)
        for room in ("test-1", "test-2", "test-3"):
            for user, role in ((learner, "learner"), (member, "commission")):
                record_presence(db, room, user, f"u{user}", role, JOIN, old)
                record_presence(
                    db, room, user, f"u{user}", role, LEAVE, old, LeaveReason.DISCONNECTED
                )
        # test-2 ends with a recent leave: the log dates the session's end like the rest.
        record_presence(
            db, "test-2", member, f"u{member}", "commission", LEAVE, now, LeaveReason.LEFT
        )
        await db.commit()
        await set_legal_hold(db, "test-3", "appeal 4 is open", now)
        await db.commit()

        async def rooms() -> dict[str, int]:
            found: dict[str, int] = {}
            for room in await db.scalars(select(RoomPresence.room_id)):
                found[room] = found.get(room, 0) + 1
            return found

        dry = await run_retention(db, store, policy, now, places=places, dry_run=True)
        assert [(d.session, d.kind, d.count) for d in dry.evidence] == [
            ("test-1", "room_presence", 4)
        ]
        assert await rooms() == {"test-1": 4, "test-2": 5, "test-3": 4}

        report = await run_retention(db, store, policy, now, places=places)
        assert [(d.session, d.kind, d.count) for d in report.evidence] == [
            ("test-1", "room_presence", 4)
        ]
        assert "test-3" in report.held_sessions
        assert await rooms() == {"test-2": 5, "test-3": 4}

        await release_legal_hold(db, "test-3", now)
        await db.commit()
        released = await run_retention(db, store, policy, now, places=places)
        assert [(d.session, d.kind, d.count) for d in released.evidence] == [
            ("test-3", "room_presence", 4)
        ]
        assert await rooms() == {"test-2": 5}
