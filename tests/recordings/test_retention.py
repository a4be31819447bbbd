"""Retention: dates per kind of record, legal holds, deletion by policy, all audited."""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from proctor.chat import ChatMessage
from proctor.files import RoomFile
from proctor.identity import IdentityCheck, Snapshot
from proctor.monitoring import MonitoringEvent
from recordings.models import RecordingFile
from recordings.retention import (
    EvidencePlaces,
    Policy,
    RetentionReport,
    expired,
    release_legal_hold,
    retention_dates,
    run_retention,
    set_legal_hold,
)
from recordings.service import evidence_places
from recordings.storage import LocalStore
from server.audit import AuditEntry, verify_chain
from server.settings import Settings
from server.users import Passwords, Role, create_user
from tests.serverproc import database, db_env, run_cli

POLICY = Policy(recordings_days=365, evidence_days=1825)
END = datetime(2026, 3, 1, 15, 30, tzinfo=UTC)


def test_retention_dates_per_kind() -> None:
    assert retention_dates(END, POLICY) == {
        "recordings": date(2027, 3, 1),
        "evidence": date(2031, 2, 28),
    }


@pytest.mark.parametrize(
    ("now", "kind", "held", "due"),
    [
        (datetime(2027, 3, 1, 23, 59, tzinfo=UTC), "recordings", False, False),  # last day
        (datetime(2027, 3, 2, 0, 0, tzinfo=UTC), "recordings", False, True),
        (datetime(2027, 3, 2, 0, 0, tzinfo=UTC), "recordings", True, False),  # on hold
        (datetime(2030, 1, 1, tzinfo=UTC), "evidence", False, False),
        (datetime(2031, 3, 1, tzinfo=UTC), "evidence", False, True),
        (datetime(2031, 3, 1, tzinfo=UTC), "evidence", True, False),
    ],
)
def test_expired(now: datetime, kind: str, held: bool, due: bool) -> None:
    assert expired(END, kind, POLICY, now, held) is due


async def _file(db: object, store: LocalStore, room: str, name: str, ended: datetime) -> str:
    key = f"{room}/{name}.webm"
    data = f"{room} {name}".encode()
    path = store.root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    db.add(  # type: ignore[attr-defined]
        RecordingFile(
            room=room,
            participant="u1",
            user_id=None,
            kinds="audio,video",
            storage_key=key,
            started_at=ended - timedelta(minutes=10),
            ended_at=ended,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            reason="start",
            repaired=False,
            sealed_at=ended,
        )
    )
    return key


async def test_run_deletes_exactly_what_expired_and_nothing_on_hold(
    settings: Settings, tmp_path: Path
) -> None:
    store = LocalStore(settings.data_dir / "recordings" / "store")
    now = datetime(2027, 6, 1, tzinfo=UTC)
    old, fresh = now - timedelta(days=400), now - timedelta(days=100)
    async with database(settings) as sessions, sessions() as db:
        expired_keys = [
            await _file(db, store, "test-1", "a", old),
            await _file(db, store, "test-1", "b", old),
        ]
        # A session's files go together: its last file decides (one is old, one recent).
        kept = [
            await _file(db, store, "test-2", "c", old),
            await _file(db, store, "test-2", "d", fresh),
            await _file(db, store, "test-3", "e", old),  # on hold below
        ]
        await db.commit()
        await set_legal_hold(db, "test-3", "appeal 7 is open", now)
        await db.commit()

        dry = await run_retention(db, store, POLICY, now, dry_run=True)
        assert sorted(dry.deleted) == expired_keys and dry.held_sessions == ["test-3"]
        assert all((store.root / key).exists() for key in expired_keys)

        steps: list[int] = []
        report = await run_retention(db, store, POLICY, now, progress=steps.append)
        assert sorted(report.deleted) == expired_keys and len(steps) == 2
        assert not any((store.root / key).exists() for key in expired_keys)
        assert all((store.root / key).exists() for key in kept)
        rows = {r.storage_key: r for r in await db.scalars(select(RecordingFile))}
        assert {k for k, r in rows.items() if r.deleted_at is not None} == set(expired_keys)
        entries = list(
            await db.scalars(
                select(AuditEntry).where(AuditEntry.action == "recordings.retention_delete")
            )
        )
        assert sorted(json.loads(e.details)["key"] for e in entries) == expired_keys
        assert (await verify_chain(db)).ok

        # Released from hold, the held session's old files go on the next run.
        await release_legal_hold(db, "test-3", now)
        await db.commit()
        again = await run_retention(db, store, POLICY, now)
        assert again.deleted == ["test-3/e.webm"]


async def test_cli_dry_run_lists_and_keeps(settings: Settings) -> None:
    store = LocalStore(settings.data_dir / "recordings" / "store")
    long_ago = datetime.now(UTC) - timedelta(days=800)
    async with database(settings) as sessions, sessions() as db:
        key = await _file(db, store, "test-5", "old", long_ago)
        await db.commit()
    env = db_env(settings)
    dry = run_cli(["retention", "run", "--dry-run"], env)
    assert dry.returncode == 0, dry.stderr
    assert f"would delete {key}" in dry.stdout
    assert json.loads(dry.stdout.strip().splitlines()[-1])["deleted"] == 1
    assert (store.root / key).exists()
    real = run_cli(["retention", "run"], env)
    assert real.returncode == 0, real.stderr
    assert f"deleted {key}" in real.stdout and not (store.root / key).exists()
    again = run_cli(["retention", "run"], env)
    assert json.loads(again.stdout.strip().splitlines()[-1])["deleted"] == 0


# ---------------------------------------------------------------- the other evidence

EVIDENCE_KINDS = {
    "chat_messages",
    "room_files",
    "snapshots",
    "identity_decisions",
    "monitoring_events",
}


async def _evidence(
    db: AsyncSession, places: EvidencePlaces, room: str, at: datetime, learner: int, member: int
) -> list[Path]:
    """One of each kind of evidence in ``room`` at ``at``; the stored files' paths."""
    stored = places.files_dir / room / f"{secrets.token_hex(8)}.txt"
    stored.parent.mkdir(parents=True, exist_ok=True)
    stored.write_bytes(b"notes")
    shared = RoomFile(
        room=room,
        learner_id=learner,
        uploader_id=learner,
        original_name="notes.txt",
        stored_path=stored.relative_to(places.files_dir).as_posix(),
        content_type="text/plain",
        size=5,
        sha256=hashlib.sha256(b"notes").hexdigest(),
        uploaded_at=at,
    )
    db.add(shared)
    await db.flush()
    db.add_all(
        [
            ChatMessage(room=room, learner_id=learner, sender_id=learner, text="hi", sent_at=at),
            ChatMessage(
                room=room,
                learner_id=learner,
                sender_id=member,
                text="",
                attachment_file_id=shared.id,
                sent_at=at,
            ),
        ]
    )
    picture = await places.evidence.save(room, "face", b"\xff\xd8 jpeg")
    db.add(
        Snapshot(
            room=room,
            learner_id=learner,
            kind="face",
            path=picture.path,
            sha256=picture.sha256,
            size=picture.size,
            taken_by=member,
            taken_at=at,
        )
    )
    db.add(
        IdentityCheck(
            room=room,
            learner_id=learner,
            status="confirmed",
            decided_by=member,
            decided_at=at,
            comment="",
        )
    )
    db.add(
        MonitoringEvent(
            room=room,
            learner_id=learner,
            kind="camera_off",
            source="auto",
            started_at=at - timedelta(minutes=5),
            ended_at=at,
            comment="",
        )
    )
    return [stored, places.evidence.root / picture.path]


async def _rooms_of(db: AsyncSession) -> dict[str, set[str]]:
    """The rooms that still have rows of each kind."""
    kinds: dict[str, type[Any]] = {
        "chat_messages": ChatMessage,
        "room_files": RoomFile,
        "snapshots": Snapshot,
        "identity_decisions": IdentityCheck,
        "monitoring_events": MonitoringEvent,
    }
    return {
        kind: set(await db.scalars(select(model.room).distinct())) for kind, model in kinds.items()
    }


async def _people(db: AsyncSession) -> tuple[int, int]:
    passwords = Passwords()
    learner = await create_user(db, passwords, "learner1", "pw-learner-1", Role.LEARNER)
    member = await create_user(db, passwords, "member1", "pw-member-1", Role.COMMISSION)
    await db.flush()
    return learner.id, member.id


@pytest.mark.rule("B4.7-storage")
async def test_evidence_deleted_when_expired_except_on_hold(settings: Settings) -> None:
    places = evidence_places(settings)
    store = LocalStore(settings.data_dir / "recordings" / "store")
    now = datetime(2032, 6, 1, tzinfo=UTC)
    old, fresh = now - timedelta(days=2000), now - timedelta(days=1000)
    async with database(settings) as sessions, sessions() as db:
        learner, member = await _people(db)
        gone = await _evidence(db, places, "test-1", old, learner, member)
        kept = await _evidence(db, places, "test-2", fresh, learner, member)
        kept += await _evidence(db, places, "test-3", old, learner, member)
        # A session ends with its last record: an old event but a recent message keeps it.
        kept += await _evidence(db, places, "test-4", old, learner, member)
        db.add(ChatMessage(room="test-4", learner_id=learner, sender_id=learner, sent_at=fresh))
        await db.commit()
        await set_legal_hold(db, "test-3", "appeal 9 is open", now)
        await db.commit()
        everything = {"test-1", "test-2", "test-3", "test-4"}

        dry = await run_retention(db, store, POLICY, now, places=places, dry_run=True)
        assert {(d.session, d.kind) for d in dry.evidence} == {
            ("test-1", kind) for kind in EVIDENCE_KINDS
        }
        assert "test-3" in dry.held_sessions
        assert all(path.exists() for path in gone + kept)
        assert await _rooms_of(db) == dict.fromkeys(EVIDENCE_KINDS, everything)

        steps: list[int] = []
        report = await run_retention(db, store, POLICY, now, places=places, progress=steps.append)
        counts = {d.kind: d.count for d in report.evidence if d.session == "test-1"}
        assert counts == {
            "chat_messages": 2,
            "room_files": 1,
            "snapshots": 1,
            "identity_decisions": 1,
            "monitoring_events": 1,
        }
        assert {d.session for d in report.evidence} == {"test-1"} and steps == [1]
        assert await _rooms_of(db) == dict.fromkeys(EVIDENCE_KINDS, everything - {"test-1"})
        assert not any(path.exists() for path in gone)
        assert not (places.files_dir / "test-1").exists()
        assert not (places.evidence.root / "test-1").exists()
        assert all(path.exists() for path in kept)

        entries = list(
            await db.scalars(
                select(AuditEntry).where(AuditEntry.action == "evidence.retention_delete")
            )
        )
        assert sorted(
            (e.object_id, json.loads(e.details)["kind"], json.loads(e.details)["count"])
            for e in entries
        ) == sorted(("test-1", kind, n) for kind, n in counts.items())
        assert (await verify_chain(db)).ok

        # Nothing left to delete: a second run deletes and audits nothing more.
        again = await run_retention(db, store, POLICY, now, places=places)
        assert again.evidence == []
        await release_legal_hold(db, "test-3", now)
        await db.commit()
        released = await run_retention(db, store, POLICY, now, places=places)
        assert {d.session for d in released.evidence} == {"test-3"}
        assert (await verify_chain(db)).ok


async def test_concurrent_runs_delete_and_audit_once(settings: Settings) -> None:
    """Every server process runs retention: two at once delete each record and write
    each audit entry exactly once."""
    places = evidence_places(settings)
    store = LocalStore(settings.data_dir / "recordings" / "store")
    now = datetime(2032, 6, 1, tzinfo=UTC)
    old = now - timedelta(days=2000)
    async with database(settings) as sessions:
        async with sessions() as db:
            learner, member = await _people(db)
            for room in ("test-1", "test-2", "test-3"):
                await _evidence(db, places, room, old, learner, member)
                await _file(db, store, room, "a", old)
            await db.commit()

        async def run() -> RetentionReport:
            async with sessions() as db:
                return await run_retention(db, store, POLICY, now, places=places)

        first, second = await asyncio.gather(run(), run())
        async with sessions() as db:
            assert await _rooms_of(db) == {kind: set() for kind in EVIDENCE_KINDS}
            actions = [
                (e.action, e.object_id, json.loads(e.details).get("kind"))
                for e in await db.scalars(select(AuditEntry))
            ]
            assert (await verify_chain(db)).ok
    evidence_entries = [a for a in actions if a[0] == "evidence.retention_delete"]
    recording_entries = [a for a in actions if a[0] == "recordings.retention_delete"]
    assert len(evidence_entries) == len(set(evidence_entries)) == 3 * len(EVIDENCE_KINDS)
    assert len(recording_entries) == len(set(recording_entries)) == 3
    deletions = first.evidence + second.evidence
    assert len(deletions) == 3 * len(EVIDENCE_KINDS)


async def test_cli_reports_evidence_deletions(settings: Settings) -> None:
    places = evidence_places(settings)
    long_ago = datetime.now(UTC) - timedelta(days=2000)
    async with database(settings) as sessions, sessions() as db:
        learner, member = await _people(db)
        paths = await _evidence(db, places, "test-6", long_ago, learner, member)
        await db.commit()
    env = db_env(settings)
    dry = run_cli(["retention", "run", "--dry-run"], env)
    assert dry.returncode == 0, dry.stderr
    assert "would delete 2 chat_messages of test-6" in dry.stdout
    summary = json.loads(dry.stdout.strip().splitlines()[-1])
    assert {item["kind"] for item in summary["evidence"]} == EVIDENCE_KINDS
    assert all(path.exists() for path in paths)
    real = run_cli(["retention", "run"], env)
    assert real.returncode == 0, real.stderr
    assert "deleted 1 snapshots of test-6" in real.stdout
    assert not any(path.exists() for path in paths)
    verify = run_cli(["audit", "verify"], env)
    assert verify.returncode == 0, verify.stdout + verify.stderr
