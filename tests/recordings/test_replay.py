"""A learner's stream recorded by the real app, then replayed over the API: manifest,
timeline, media with Range, the evidence bundle, access control and the audit trail."""

from __future__ import annotations

import io
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from proctor.access import room_of_test
from recordings.models import RecordingFile
from recordings.service import RECORDER, STORE
from recordings.webm import probe
from server import audit
from server.appkeys import SESSIONS
from tests.proctor.media import Clip, wait_for
from tests.proctor.test_signaling import Room, signal
from tests.seed import Seed


@pytest.fixture
async def people(client: TestClient[Any, Any], seed: Seed) -> AsyncIterator[Room]:
    opened = Room(f"http://{client.host}:{client.port}", room_of_test(seed.test_id))
    try:
        yield opened
    finally:
        await opened.close()


async def _recorded(
    client: TestClient[Any, Any],
    people: Room,
    clip: Clip,
    during: Callable[[Any], Awaitable[None]] | None = None,
) -> RecordingFile:
    """learner1 publishes for a few seconds (``during`` runs meanwhile with the learner's
    socket) and leaves; the sealed manifest row."""
    app = client.server.app
    _, sock, ack = await people.joined("learner1")
    camera = people.publisher(clip, ack)
    await camera.connect(signal(sock, "publish", room=people.room))
    pid = ack["participant_id"]

    def recorded(frames: int) -> Callable[[], bool]:
        # 15 video + 50 audio frames a second
        return lambda: (
            (r := app[RECORDER].recording(people.room, pid)) is not None and r.frames > frames
        )

    await wait_for(recorded(60), within=15, what="a second recorded")
    if during is not None:
        await during(sock)
    await wait_for(recorded(160), within=15, what="more than two seconds recorded")
    assert (await sock.call("leave", {"room": people.room}))["ok"] is True

    async def sealed() -> list[RecordingFile]:
        async with app[SESSIONS]() as db:
            return list(await db.scalars(select(RecordingFile)))

    rows: list[RecordingFile] = []

    async def poll() -> None:
        rows[:] = await sealed()

    import asyncio
    import time

    deadline = time.monotonic() + 15
    while not rows:
        await poll()
        assert time.monotonic() < deadline, "no recording sealed"
        await asyncio.sleep(0.1)
    return rows[0]


@pytest.mark.rule("B4.7-storage")
async def test_recording_is_sealed_and_replayed_with_range_and_audit(
    client: TestClient[Any, Any], people: Room, clip: Clip, login: Any, seed: Seed
) -> None:
    app = client.server.app
    learner = await login("learner1")

    async def evidence(sock: Any) -> None:
        sent = await sock.call("chat_send", {"room": people.room, "text": "<b>камера</b>"})
        assert "message_id" in sent, sent
        ok = await sock.call(
            "browser_event", {"room": people.room, "kind": "tab_hidden", "state": "start"}
        )
        assert ok == {"ok": True}, ok
        status, attempt = await learner.call("POST", f"/api/tests/{seed.test_id}/attempts", json={})
        assert status in (200, 201), attempt
        question = attempt["questions"][0]
        status, saved = await learner.call(
            "PUT",
            f"/api/attempts/{attempt['attempt_id']}/answers/{question['id']}",
            json={"option_id": question["options"][0]["id"], "lease": attempt["lease"]},
        )
        assert status == 200, saved

    row = await _recorded(client, people, clip, evidence)
    assert row.room == people.room and row.user_id == seed.users["learner1"]
    assert row.kinds == "audio,video" and len(row.sha256) == 64
    path = app[STORE].local_path(row.storage_key)
    assert path is not None and path.stat().st_size == row.size
    info = probe(path, decode=True)
    assert info.kinds == {"video", "audio"} and info.duration >= 2.0

    auditor = await login("auditor")
    status, body = await auditor.call("GET", f"/api/recordings/{people.room}/manifest")
    assert status == 200, body
    [entry] = body["files"]
    assert entry["sha256"] == row.sha256 and entry["participant"] == f"u{row.user_id}"
    assert body["retention"]["recordings"] and body["legal_hold"] is None

    status, line = await auditor.call("GET", f"/api/recordings/{people.room}/timeline")
    assert status == 200
    kinds = [item["kind"] for item in line["items"]]
    assert kinds[0] == "join" and kinds[-1] == "leave", kinds
    # The logged join comes before the camera starts; the video starts the timeline.
    assert line["items"][0]["offset"] <= 0.0 and line["videos"][0]["offset"] == 0.0
    duration = (row.ended_at - row.started_at).total_seconds()
    by_kind = {item["kind"]: item for item in line["items"]}
    for kind in ("chat", "monitoring", "answer"):
        # Everything happened while the camera was recorded: offsets inside the video.
        assert 0.5 < by_kind[kind]["offset"] < duration, (kind, by_kind[kind], duration)
    assert by_kind["chat"]["text"] == "<b>камера</b>"
    assert by_kind["monitoring"]["event"] == "tab_hidden"
    assert by_kind["answer"]["learner_id"] == seed.users["learner1"]
    [video] = line["videos"]
    url = video["url"]

    async with auditor.client.get(url, headers={"Range": "bytes=100-199"}) as resp:
        assert resp.status == 206
        assert resp.headers["Content-Range"] == f"bytes 100-199/{row.size}"
        assert await resp.read() == path.read_bytes()[100:200]
    async with auditor.client.get(url) as resp:
        assert resp.status == 200 and len(await resp.read()) == row.size

    async with auditor.client.get(f"/api/recordings/{people.room}/bundle") as resp:
        assert resp.status == 200
        archive = zipfile.ZipFile(io.BytesIO(await resp.read()))
    names = set(archive.namelist())
    assert {"manifest.json", "timeline.json"} <= names
    [media] = [n for n in names if n.startswith("recordings/")]
    assert archive.read(media) == path.read_bytes()

    async with auditor.client.get(f"/recordings/{people.room}") as resp:
        assert resp.status == 200
        assert "replay" in await resp.text()

    async with app[SESSIONS]() as db:
        actions = list(await db.scalars(select(audit.AuditEntry.action)))
        assert (await audit.verify_chain(db)).ok
    assert "recordings.download" in actions and "recordings.replay" in actions


async def test_only_auditors_admins_and_commission_replay(
    client: TestClient[Any, Any], people: Room, clip: Clip, login: Any, seed: Seed
) -> None:
    row = await _recorded(client, people, clip)
    base = f"/api/recordings/{people.room}"
    for name in ("auditor", "admin", "chair"):
        status, _ = await (await login(name)).call("GET", f"{base}/manifest")
        assert status == 200, name
    for name in ("learner1", "learner2", "support", "instructor"):
        session = await login(name)
        for path in (f"{base}/manifest", f"{base}/files/{row.id}", f"{base}/bundle"):
            status, body = await session.call("GET", path)
            assert status == 403, (name, path, body)
            assert body["error"] == "forbidden"
    auditor = await login("auditor")
    for path in (
        "/api/recordings/test-999999/manifest",
        "/api/recordings/nonsense/timeline",
        f"{base}/files/{row.id + 1000}",
        "/api/recordings/test-999999/files/1",
    ):
        status, body = await auditor.call("GET", path)
        assert status == 404, (path, body)
    status, body = await auditor.call("POST", f"{base}/hold", json={"reason": "appeal"})
    assert status == 403
    admin = await login("admin")
    status, body = await admin.call("POST", f"{base}/hold", json={"reason": ""})
    assert status == 400 and body["error"] == "bad_reason"
    status, body = await admin.call("POST", f"{base}/hold", json={"reason": "appeal 3 is open"})
    assert status == 200, body
    status, body = await auditor.call("GET", f"{base}/manifest")
    assert body["legal_hold"]["reason"] == "appeal 3 is open"
    status, body = await auditor.call("GET", f"{base}/files/abc")
    assert status in (400, 404) and "error" in body
    async with auditor.client.get(
        f"{base}/files/{row.id}", headers={"Range": "bytes=999999999-"}
    ) as resp:
        assert resp.status == 416
