"""Crash repair in one process: a file still being written (locked) is left alone, a file
a dead writer left behind is remuxed and sealed once, an empty one is dropped."""

from __future__ import annotations

import asyncio
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from recordings.models import RecordingFile
from recordings.recovery import recover
from recordings.sealing import Sealer
from recordings.storage import LocalStore, hash_file
from recordings.webm import probe
from recordings.writer import WriterThread, is_held, sidecar_path
from server.settings import Settings
from tests.proctor.media import Clip, wait_for
from tests.serverproc import database


def _meta(key: str, participant: str) -> dict[str, object]:
    return {
        "key": key,
        "room": "test-1",
        "participant": participant,
        "kinds": ["audio", "video"],
        "started_at": datetime(2026, 11, 23, 10, 0, tzinfo=UTC).isoformat(),
        "reason": "start",
    }


async def test_unfinished_files_are_repaired_and_sealed_once(
    settings: Settings, clip: Clip, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    live = spool / "test-1" / "u1-live.webm"
    writer = WriterThread()
    writer.open("live", live, (640, 480), True, _meta("live", "u1"))
    # Two seconds of the clip, interleaved as they would arrive.
    frames = [(i * 1000 // 15, "video", d, k) for i, (d, k) in enumerate(clip.video[:30])]
    frames += [(i * 20, "audio", d, True) for i, d in enumerate(clip.audio[:100])]
    for pts, kind, data, key in sorted(frames, key=lambda f: f[0]):
        writer.write("live", kind, data, pts, key)
    await wait_for(lambda: writer.backlog() == 0 and live.exists(), what="frames written")
    await wait_for(lambda: live.stat().st_size > 30_000, what="flushed clusters")
    await asyncio.sleep(0.2)
    assert is_held(live)

    # What a killed writer leaves: the bytes so far and the sidecar, nobody holding them.
    dead = spool / "test-1" / "u2-dead.webm"
    shutil.copy(live, dead)
    sidecar_path(dead).write_text(json.dumps(_meta("dead", "u2")))
    empty = spool / "test-1" / "u3-empty.webm"
    empty.write_bytes(b"")
    sidecar_path(empty).write_text(json.dumps(_meta("empty", "u3")))

    store = LocalStore(tmp_path / "store")
    async with database(settings) as sessions:
        sealer = Sealer(sessions, store)
        sealed = await recover(spool, sealer)
        assert [s.participant_id for s in sealed] == ["u2"]
        assert live.exists() and not dead.exists() and not empty.exists()
        assert not sidecar_path(empty).exists()
        async with sessions() as db:
            [row] = list(await db.scalars(select(RecordingFile)))
        assert row.repaired and row.participant == "u2"
        stored = tmp_path / "store" / row.storage_key
        assert hash_file(stored) == (row.size, row.sha256)
        info = probe(stored, decode=True)
        assert info.kinds == {"video", "audio"} and info.duration > 1.0
        assert abs((row.ended_at - row.started_at).total_seconds() - info.duration) < 0.05
        assert await recover(spool, sealer) == []  # the live file is still held

        await writer.close_segment("live")
        await writer.stop()
        assert not is_held(live)
        # The finished file of a writer that died before sealing: sealed now.
        [again] = await recover(spool, sealer)
        assert again.participant_id == "u1"
        async with sessions() as db:
            assert len(list(await db.scalars(select(RecordingFile)))) == 2
