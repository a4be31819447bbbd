"""The identity check before a test (B 4.8) and the room view (B 4.11), end to end: a real
aiortc learner publishing into the real app, captures over real socket.io clients, the
evidence served over HTTP, the commission's decision audited, and the test's start held
until the identity is confirmed."""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from PIL import Image
from sqlalchemy import select

from proctor.identity import Snapshot
from server.app import create_app
from server.appkeys import CLOCK, PASSWORDS, ROOMS, SESSIONS, SETTINGS
from server.audit import AuditEntry, verify_chain
from server.errors import ConfigError
from server.settings import Settings, load_settings
from tests.proctor.media import HEIGHT, WIDTH, Clip, wait_for
from tests.proctor.test_monitoring import People, people
from tests.proctor.test_signaling import assert_error, signal
from tests.seed import PASSWORD, Seed, seed_basic
from tests.serverproc import Api

__all__ = ["people"]  # the fixture, shared with the monitoring tests


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Attestation settings: the test waits for the commission's confirmation."""
    return settings.replace(identity_check="required")


async def fetch(api: Api, path: str) -> tuple[int, bytes, Any]:
    """GET ``path`` as ``api``'s user: status, raw body, headers."""
    async with api.http.get(api.url + path) as resp:
        return resp.status, await resp.read(), resp.headers


def jpeg_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "JPEG"
        image.load()
        return image.size


@pytest.mark.rule("B4.8-identity")
@pytest.mark.rule("B4.11-room-view")
async def test_the_commission_confirms_the_identity_before_the_test_starts(
    client: TestClient[Any, Any], seed: Seed, people: People, clip: Clip
) -> None:
    app = client.server.app
    room = people.room
    chair_api, chair, chair_ack = await people.joined("chair")
    learner_api, learner, ack = await people.joined("learner1")
    _, support, _ = await people.joined("support")
    learner_id, chair_id, pid = seed.users["learner1"], seed.users["chair"], ack["participant_id"]
    chair_pid = chair_ack["participant_id"]
    start = f"/api/tests/{seed.test_id}/attempts"

    # The test does not start before the identity is confirmed.
    status, body = await learner_api.call("POST", start, {})
    assert (status, body["error"], body["identity"]) == (409, "identity_not_confirmed", "pending")
    assert_error(await learner.call("capture", {"room": room, "kind": "face"}), "no_keyframe")

    camera = people.publisher(clip, ack)
    await camera.connect(signal(learner, "publish", room=room))
    await wait_for(lambda: app[ROOMS].get(room).last_keyframe(pid) is not None, 15, "a keyframe")

    # Nothing to confirm on yet.
    confirm = {"room": room, "learner": learner_id, "decision": "confirmed", "comment": ""}
    refused = await chair.call("identity_decision", confirm)
    assert_error(refused, "snapshots_missing")
    assert refused["missing"] == ["face", "document"]

    # The learner captures their face, the commission the document held to the camera,
    # and the learner the room during a slow pan (several frames).
    face = await learner.call("capture", {"room": room, "kind": "face"})
    document = await chair.call("capture", {"room": room, "kind": "document", "participant": pid})
    views = [await learner.call("capture", {"room": room, "kind": "room_view"}) for _ in range(3)]
    snapshots = [face, document, *views]
    assert [s.get("kind") for s in snapshots] == ["face", "document", *["room_view"] * 3], snapshots
    assert len({s["snapshot_id"] for s in snapshots}) == 5
    assert (face["taken_by"], document["taken_by"]) == (learner_id, chair_id)
    pushed = await chair.wait_for("identity", lambda d: len(d["snapshots"]) == 5)
    assert pushed["status"] == "pending" and pushed["learner_id"] == learner_id

    # Each capture is a full-size JPEG kept as evidence with its SHA-256.
    evidence = app[SETTINGS].data_dir.resolve() / "evidence" / room
    async with app[SESSIONS]() as db:
        rows = {s.id: s for s in await db.scalars(select(Snapshot))}
    for snapshot in snapshots:
        assert snapshot["url"] == f"/api/rooms/{room}/snapshots/{snapshot['snapshot_id']}.jpg"
        status, data, headers = await fetch(chair_api, snapshot["url"])
        assert status == 200 and headers["Content-Type"] == "image/jpeg"
        assert "no-store" in headers["Cache-Control"]
        assert (
            hashlib.sha256(data).hexdigest()
            == snapshot["sha256"]
            == rows[snapshot["snapshot_id"]].sha256
        )
        assert jpeg_size(data) == (WIDTH, HEIGHT), "full size, not a thumbnail"
        row = rows[snapshot["snapshot_id"]]
        assert (row.room, row.learner_id, row.kind) == (room, learner_id, snapshot["kind"])
        assert (evidence.parent / row.path).read_bytes() == data
        assert (evidence.parent / row.path).parent == evidence

    # Bad captures are refused with a reason; nobody else's stream is the learner's to take.
    for sock, payload, code in [
        (learner, {"room": room, "kind": "selfie"}, "invalid"),
        (learner, {"room": room}, "invalid"),
        (learner, {"room": room, "kind": "face", "participant": chair_pid}, "forbidden"),
        (chair, {"room": room, "kind": "face"}, "invalid"),  # the commission's own stream
        (chair, {"room": room, "kind": "face", "participant": "u999999"}, "unknown_publisher"),
        (support, {"room": room, "kind": "face", "participant": pid}, "forbidden"),
    ]:  # fmt: skip
        assert_error(await sock.call("capture", payload), code)

    # Who reads the evidence: the commission, support, admins, auditors, the learner shown.
    for username in ("learner1", "support", "admin", "auditor"):
        reader = await people.api(username)
        status, data, _ = await fetch(reader, face["url"])
        assert status == 200 and hashlib.sha256(data).hexdigest() == face["sha256"], username
    for username, expected in (("learner2", 404), ("outsider", 404), ("instructor", 403)):
        status, _, _ = await fetch(await people.api(username), face["url"])
        assert status == expected, username
    status, _, _ = await fetch(chair_api, f"/api/rooms/{room}/snapshots/999999.jpg")
    assert status == 404

    # Only the commission decides: not the learner, not support, not an auditor (who
    # never joins live).
    assert_error(await learner.call("identity_decision", confirm), "forbidden")
    assert_error(await support.call("identity_decision", confirm), "forbidden")
    _, auditor = await people.person("auditor")
    assert_error(await auditor.call("join", {"room": room}), "forbidden")
    assert_error(await auditor.call("identity_decision", confirm), "not_joined")

    # A rejection says why; the test still does not start.
    reject = {**confirm, "decision": "rejected"}
    assert_error(await chair.call("identity_decision", reject), "invalid")
    assert_error(await chair.call("identity_decision", {**confirm, "decision": "yes"}), "invalid")
    other = {**confirm, "learner": seed.users["outsider"]}
    assert_error(await chair.call("identity_decision", other), "unknown_learner")
    rejected = await chair.call("identity_decision", {**reject, "comment": "документ нечитаем"})
    assert (rejected["status"], rejected["decided_by"]) == ("rejected", chair_id), rejected
    await learner.wait_for("identity", lambda d: d["status"] == "rejected")
    status, body = await learner_api.call("POST", start, {})
    assert (status, body["error"], body["identity"]) == (409, "identity_not_confirmed", "rejected")

    # Confirmed: the learner and the staff are told, and the test starts.
    confirmed = await chair.call(
        "identity_decision", {**confirm, "comment": "личность подтверждена"}
    )
    assert (confirmed["status"], confirmed["decided_by"]) == ("confirmed", chair_id), confirmed
    assert confirmed["comment"] == "личность подтверждена" and confirmed["decided_at"]
    told = await learner.wait_for("identity", lambda d: d["status"] == "confirmed")
    assert told["learner_id"] == learner_id and len(told["snapshots"]) == 5
    await support.wait_for("identity", lambda d: d["status"] == "confirmed")
    status, attempt = await learner_api.call("POST", start, {})
    assert status == 201, attempt

    # The decisions are in the audit log, with what they rested on.
    async with app[SESSIONS]() as db:
        entries = list(
            await db.scalars(
                select(AuditEntry)
                .where(AuditEntry.action.in_(["identity.confirm", "identity.reject"]))
                .order_by(AuditEntry.id)
            )
        )
        assert (await verify_chain(db)).ok
    assert [(e.action, e.actor_id, e.object_type) for e in entries] == [
        ("identity.reject", chair_id, "identity_check"),
        ("identity.confirm", chair_id, "identity_check"),
    ]
    details = json.loads(entries[1].details)
    assert details["learner_id"] == learner_id and details["room"] == room
    assert details["comment"] == "личность подтверждена"
    assert [s["sha256"] for s in details["snapshots"]] == [s["sha256"] for s in snapshots]

    # The room's identity checks, as the commission, an auditor and the learners see them.
    status, body = await chair_api.call("GET", f"/api/rooms/{room}/identity")
    assert status == 200 and body["identity_check"] == "required", body
    (entry,) = body["learners"]
    assert (entry["learner_id"], entry["status"], entry["decided_by"]) == (
        learner_id,
        "confirmed",
        chair_id,
    )
    assert [s["kind"] for s in entry["snapshots"]] == ["face", "document", *["room_view"] * 3]
    status, audited = await (await people.api("auditor")).call("GET", f"/api/rooms/{room}/identity")
    assert status == 200 and audited["learners"] == body["learners"]
    status, own = await learner_api.call("GET", f"/api/rooms/{room}/identity")
    assert status == 200 and own["learners"] == body["learners"]
    status, other_view = await (await people.api("learner2")).call(
        "GET", f"/api/rooms/{room}/identity"
    )
    assert status == 200, other_view
    assert [(e["learner_id"], e["status"], e["snapshots"]) for e in other_view["learners"]] == [
        (seed.users["learner2"], "pending", [])
    ], "a learner sees only their own check"


@pytest.mark.rule("B4.8-identity")
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize(("mode", "status"), [("required", 409), ("later", 201), ("off", 201)])
async def test_the_identity_check_setting_decides_whether_the_start_waits(
    settings: Settings, aiohttp_client: Any, mode: str, status: int
) -> None:
    client = await aiohttp_client(create_app(settings.replace(identity_check=mode)))
    app = client.server.app
    async with app[SESSIONS]() as db:
        seed = await seed_basic(db, app[PASSWORDS], app[CLOCK].now())
    learner = await Api(f"http://{client.host}:{client.port}").login("learner1", PASSWORD)
    try:
        got, body = await learner.call("POST", f"/api/tests/{seed.test_id}/attempts", {})
    finally:
        await learner.close()
    assert got == status, body
    if status == 409:
        assert body["error"] == "identity_not_confirmed" and body["room"] == f"test-{seed.test_id}"


@pytest.mark.parametrize(
    ("raw", "expected"), [("required", "required"), (" Later ", "later"), ("off", "off")]
)
def test_the_setting_is_read_from_the_environment(raw: str, expected: str) -> None:
    assert load_settings({"EXAMROOM_IDENTITY_CHECK": raw}).identity_check == expected
    assert Settings().identity_check == "off", "see docs/settings.md: attestation sets required"


def test_an_unknown_identity_check_mode_fails_loudly() -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({"EXAMROOM_IDENTITY_CHECK": "sometimes"})
    assert "EXAMROOM_IDENTITY_CHECK" in str(info.value)
