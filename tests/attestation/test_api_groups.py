"""Groups and enrollment over the API: groups, learners, completion of the program
(B 2.1), and a learner who completes it after the event was scheduled; both backends."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from attestation.mail import outbox
from server.appkeys import SESSIONS
from server.audit import AuditEntry
from tests.attestation.conftest import World


def _learners(group: dict[str, object]) -> dict[str, bool]:
    rows = group["learners"]
    assert isinstance(rows, list)
    return {row["username"]: row["completed"] for row in rows}


async def test_a_group_is_created_filled_and_completed(world: World) -> None:
    head = world.s("head")
    status, group = await head.call(
        "POST",
        "/api/attestation/groups",
        {"program_id": world.seed.program_id, "code": "ГО-2026-3", "title": "Третья группа"},
    )
    assert status == 201, group
    gid = group["id"]
    status, body = await head.call(
        "POST",
        "/api/attestation/groups",
        {"program_id": world.seed.program_id, "code": "ГО-2026-3"},
    )
    assert status == 409 and body["field"] == "code"
    status, group = await head.call(
        "POST", f"/api/attestation/groups/{gid}/learners", {"username": "outsider"}
    )
    assert status == 201, group
    assert _learners(group) == {"outsider": False}
    status, body = await head.call(
        "POST", f"/api/attestation/groups/{gid}/learners", {"user_id": world.users["outsider"]}
    )
    assert status == 409
    # Only learners are enrolled; a name or an id that is not a learner is a 404.
    for payload in ({"username": "chair"}, {"username": "nobody"}, {"user_id": 999999}):
        status, body = await head.call("POST", f"/api/attestation/groups/{gid}/learners", payload)
        assert status == 404, (payload, body)
    status, body = await head.call("POST", f"/api/attestation/groups/{gid}/learners", {})
    assert status == 422
    # The instructor records completion; the group's listing counts it.
    outsider = world.users["outsider"]
    status, group = await world.s("instructor").call(
        "PUT", f"/api/attestation/groups/{gid}/learners/{outsider}", {"completed": True}
    )
    assert status == 200, group
    assert _learners(group) == {"outsider": True}
    status, groups = await head.call("GET", "/api/attestation/groups")
    assert {g["code"]: g["completed"] for g in groups}["ГО-2026-3"] == 1
    status, group = await head.call("DELETE", f"/api/attestation/groups/{gid}/learners/{outsider}")
    assert status == 200 and _learners(group) == {}
    async with world.client.server.app[SESSIONS]() as db:
        actions = list(
            await db.scalars(select(AuditEntry.action).where(AuditEntry.object_type == "group"))
        )
    assert actions == ["group.created", "group.enrolled", "group.completion", "group.withdrawn"]


async def test_roles_and_foreign_ids(world: World) -> None:
    gid = world.seed.group_id
    learner4 = world.users["learner4"]
    status, _ = await world.s("learner1").call("GET", f"/api/attestation/groups/{gid}")
    assert status == 403
    status, _ = await world.s("instructor").call(
        "POST", f"/api/attestation/groups/{gid}/learners", {"username": "outsider"}
    )
    assert status == 403
    status, _ = await world.s("learner4").call(
        "PUT", f"/api/attestation/groups/{gid}/learners/{learner4}", {"completed": True}
    )
    assert status == 403
    status, _ = await world.s("head").call("GET", "/api/attestation/groups/999999")
    assert status == 404
    status, _ = await world.s("head").call(
        "PUT", f"/api/attestation/groups/{gid}/learners/999999", {"completed": True}
    )
    assert status == 404
    status, body = await world.s("head").call(
        "PUT", f"/api/attestation/groups/{gid}/learners/{learner4}", {"completed": "yes"}
    )
    assert status == 422 and body["field"] == "completed"


@pytest.mark.rule("B2.1-admission")
async def test_a_learner_who_completes_after_scheduling_is_added_and_invited(world: World) -> None:
    head = world.s("head")
    event = await world.event(days=10)
    learner4 = world.users["learner4"]
    path = f"/api/attestation/events/{event['id']}/participants"
    status, body = await head.call("POST", path, {"user_id": learner4})
    assert status == 422 and body["rule"] == "B2.1-admission"
    status, _ = await world.s("instructor").call(
        "PUT",
        f"/api/attestation/groups/{world.seed.group_id}/learners/{learner4}",
        {"completed": True},
    )
    assert status == 200
    status, _ = await world.s("instructor").call("POST", path, {"user_id": learner4})
    assert status == 403
    status, body = await head.call("POST", path, {"user_id": learner4})
    assert status == 201, body
    assert learner4 in {item["user_id"] for item in body["learners"]}
    status, body = await head.call("POST", path, {"user_id": learner4})
    assert status == 409
    async with world.client.server.app[SESSIONS]() as db:
        rows = await outbox.letters(db, event_id=event["id"])
    assert sum(row.user_id == learner4 for row in rows) == 1
    assert len(rows) == len({(row.user_id, row.kind) for row in rows})  # nobody twice
    # The learner now sees the event; withdrawing them from the group is refused.
    await world.relogin("learner4")
    status, _ = await world.s("learner4").call("GET", f"/api/attestation/events/{event['id']}")
    assert status == 200
    status, body = await head.call(
        "DELETE", f"/api/attestation/groups/{world.seed.group_id}/learners/{learner4}"
    )
    assert status == 409


@pytest.mark.rule("B2.7-notice-3d")
async def test_adding_a_learner_inside_the_notice_period_needs_a_reason(world: World) -> None:
    head = world.s("head")
    event = await world.event(days=5)
    learner4 = world.users["learner4"]
    status, _ = await world.s("head").call(
        "PUT",
        f"/api/attestation/groups/{world.seed.group_id}/learners/{learner4}",
        {"completed": True},
    )
    assert status == 200
    world.shift(timedelta(days=3))  # two days before the event
    await world.relogin("head")
    head = world.s("head")
    path = f"/api/attestation/events/{event['id']}/participants"
    status, body = await head.call("POST", path, {"user_id": learner4})
    assert status == 422 and body["rule"] == "B2.7-notice-3d"
    status, body = await head.call(
        "POST", path, {"user_id": learner4, "override_reason": "завершил обучение 14 июня"}
    )
    assert status == 201, body
    async with world.client.server.app[SESSIONS]() as db:
        entry = await db.scalar(
            select(AuditEntry).where(AuditEntry.action == "event.participant_added")
        )
    assert entry is not None and "завершил обучение 14 июня" in entry.details
    # Once the event has started nobody is added.
    world.shift(timedelta(days=3))
    await world.relogin("head")
    status, body = await world.s("head").call("POST", path, {"user_id": world.users["learner1"]})
    assert status == 409
