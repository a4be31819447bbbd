"""A server SIGKILLed while recording: the file left behind plays up to within about a
second of the kill; the next start repairs and seals it; ``examroom audit verify``
then vouches for it, and catches a tampered recording or audit entry."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, update

from proctor.access import room_of_test
from recordings.models import RecordingFile
from recordings.retention import set_legal_hold
from recordings.webm import probe
from server.audit import AuditEntry
from server.settings import Settings
from tests.proctor.media import Clip, wait_for
from tests.proctor.test_signaling import Room, signal
from tests.serverproc import database, db_env, run_cli, seed_database, start_server

pytestmark = pytest.mark.slow


def _spooled(settings: Settings) -> list[Path]:
    return sorted((settings.data_dir / "recordings" / "spool").glob("*/*.webm"))


@pytest.mark.rule("B4.7-storage")
async def test_sigkill_leaves_a_playable_file_that_is_sealed_on_restart(
    settings: Settings, clip: Clip, tmp_path: Path
) -> None:
    seed = await seed_database(settings)
    room_id = room_of_test(seed.test_id)
    env = db_env(settings)
    server = start_server("serve", env, tmp_path / "logs")
    people = Room(server.url, room_id)
    try:
        _, sock, ack = await people.joined("learner1")
        camera = people.publisher(clip, ack)
        await camera.connect(signal(sock, "publish", room=room_id))
        await wait_for(lambda: _spooled(settings), within=15, what="a recording in the spool")
        [path] = _spooled(settings)
        meta = json.loads(path.with_suffix(".json").read_text())
        started = datetime.fromisoformat(meta["started_at"])
        await asyncio.sleep(3.2)
        killed_at = datetime.now(UTC)
        server.kill()
        assert not server.alive()
    finally:
        await people.close()
        server.stop()
    recorded = (killed_at - started).total_seconds()
    left = tmp_path / "left.webm"
    shutil.copy(path, left)
    info = probe(left, decode=True)
    assert info.kinds == {"video", "audio"}
    # At most about a second lost: short clusters, each packet flushed to the file.
    assert recorded - 1.1 <= info.duration <= recorded + 0.3, (info.duration, recorded)

    restarted = start_server("serve", env, tmp_path / "logs")
    try:
        async with database(settings) as sessions:

            async def sealed() -> list[RecordingFile]:
                async with sessions() as db:
                    return list(await db.scalars(select(RecordingFile)))

            rows: list[RecordingFile] = []
            deadline = time.monotonic() + 20
            while not rows:
                rows = await sealed()
                assert time.monotonic() < deadline, restarted.output()
                await asyncio.sleep(0.2)
    finally:
        restarted.stop()
    [row] = rows
    assert row.repaired and row.room == room_id and row.user_id == seed.users["learner1"]
    assert not _spooled(settings)
    stored = settings.data_dir / "recordings" / "store" / row.storage_key
    repaired = probe(stored, decode=True)
    assert abs(repaired.duration - info.duration) < 0.1
    assert abs((row.ended_at - row.started_at).total_seconds() - repaired.duration) < 0.1
    assert stored.stat().st_size == row.size

    # The audit log gets an entry, then the chain and the recordings verify.
    async with database(settings) as sessions, sessions() as db:
        await set_legal_hold(db, room_id, "appeal 1", datetime.now(UTC))
        await db.commit()
    ok = run_cli(["audit", "verify"], env)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "recordings intact: 1 files" in ok.stdout

    original = stored.read_bytes()
    tampered = bytearray(original)
    tampered[len(tampered) // 2] ^= 0xFF
    stored.write_bytes(bytes(tampered))
    broken = run_cli(["audit", "verify"], env)
    assert broken.returncode == 1
    assert f"recordings BROKEN at {row.storage_key}: SHA-256 differs" in broken.stdout
    stored.write_bytes(original)

    async with database(settings) as sessions, sessions() as db:
        entry_id = await db.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()))
        await db.execute(
            update(AuditEntry).where(AuditEntry.id == entry_id).values(details='{"reason": "x"}')
        )
        await db.commit()
    broken = run_cli(["audit", "verify"], env)
    assert broken.returncode == 1
    assert f"audit log BROKEN at entry {entry_id}" in broken.stdout
