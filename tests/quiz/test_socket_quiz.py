"""The ``/quiz`` socket.io namespace with a real python-socketio client, on both backends.

The app runs on a real 127.0.0.1 socket (the ``client`` fixture); learners log in over HTTP
with a real aiohttp session and hand its cookie to the socket.io handshake.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
import socketio
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from quiz.models import Attempt, AttemptItem
from server.appkeys import CLOCK, SESSIONS, SETTINGS
from tests.seed import Seed
from tests.serverproc import Api, Clients, QuizSocket


async def start(api: Api, test_id: int, **body: Any) -> tuple[int, dict[str, Any]]:
    """Start or resume the learner's attempt over HTTP."""
    status, data = await api.call("POST", f"/api/tests/{test_id}/attempts", json=body)
    return status, data


def right_option(question: dict[str, Any]) -> int:
    """The correct option of a seeded question (its text starts with «верно»)."""
    return int(next(o["id"] for o in question["options"] if o["text"].startswith("верно")))


def wrong_option(question: dict[str, Any]) -> int:
    """A wrong option of a seeded question."""
    return int(next(o["id"] for o in question["options"] if not o["text"].startswith("верно")))


def assert_error(ack: Any, code: str | None = None) -> None:
    """The ack is ``{"error": code, "message": …}``."""
    assert isinstance(ack, dict), ack
    assert isinstance(ack.get("error"), str) and isinstance(ack.get("message"), str), ack
    assert ack["message"], ack
    if code is not None:
        assert ack["error"] == code, ack


async def test_connect_refused_without_a_session(seed: Seed, clients: Clients) -> None:
    with pytest.raises(socketio.exceptions.ConnectionError):
        await clients.socket(None)
    forged = QuizSocket(clients.url, "not-a-session-token")
    clients.sockets.append(forged)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await forged.connect()


async def test_other_cookies_of_the_host_do_not_hide_the_session(
    seed: Seed, clients: Clients
) -> None:
    learner = await clients("learner1")
    _, attempt = await start(learner, seed.test_id)
    for others in ('prefs={"theme":"dark","size":2}', "theme=dark mode", '_ga=GA1.1.1; q="x"'):
        sock = QuizSocket(clients.url, learner.cookie, other_cookies=others)
        clients.sockets.append(sock)
        await sock.connect()
        ack = await sock.call("join", {"attempt_id": attempt["attempt_id"], "lease": "-"})
        assert ack["ok"] is True, (others, ack)
        await sock.close()


async def test_join_save_sync_and_the_answer_is_stored(
    seed: Seed, clients: Clients, client: TestClient[Any, Any]
) -> None:
    app = client.app
    learner = await clients("learner1")
    status, attempt = await start(learner, seed.test_id)
    assert status == 201, attempt
    attempt_id, lease = attempt["attempt_id"], attempt["lease"]
    sock = await clients.socket(learner)

    ack = await sock.call("join", {"attempt_id": attempt_id, "lease": lease})
    assert ack["ok"] is True and ack["holder"] is True and ack["status"] == "active", ack
    assert ack["deadline"] == attempt["deadline"]
    ack = await sock.call("join", {"attempt_id": attempt_id, "lease": "someone-else"})
    assert ack["ok"] is True and ack["holder"] is False, ack

    ack = await sock.call("sync")
    server_time = datetime.fromisoformat(ack["server_time"])
    assert abs((server_time - app[CLOCK].now()).total_seconds()) < 5

    question = attempt["questions"][0]
    option_id = right_option(question)
    payload = {
        "attempt_id": attempt_id,
        "question_id": question["id"],
        "option_id": option_id,
        "lease": lease,
    }
    ack = await sock.call("save", payload)
    assert ack["saved"] is True, ack
    assert ack["question_id"] == question["id"] and ack["option_id"] == option_id
    assert ack["deadline"] == attempt["deadline"]
    assert datetime.fromisoformat(ack["server_time"]) <= datetime.fromisoformat(ack["deadline"])
    # Repeating a save is harmless.
    assert (await sock.call("save", payload))["saved"] is True

    async with app[SESSIONS]() as db:
        chosen = await db.scalar(
            select(AttemptItem.chosen_option_id).where(
                AttemptItem.attempt_id == attempt_id, AttemptItem.question_id == question["id"]
            )
        )
    assert chosen == option_id
    status, body = await learner.call("GET", f"/api/attempts/{attempt_id}")
    assert status == 200, body
    by_id = {q["id"]: q["option_id"] for q in body["questions"]}
    assert by_id[question["id"]] == option_id and body["answered"] == 1

    # null clears the answer.
    ack = await sock.call("save", {**payload, "option_id": None})
    assert ack["saved"] is True and ack["option_id"] is None, ack
    status, body = await learner.call("GET", f"/api/attempts/{attempt_id}")
    assert body["answered"] == 0


async def test_malformed_events_are_refused_and_the_connection_stays(
    seed: Seed, clients: Clients
) -> None:
    learner = await clients("learner1")
    other = await clients("learner2")
    _, attempt = await start(learner, seed.test_id)
    _, foreign = await start(other, seed.test_id)
    attempt_id, lease = attempt["attempt_id"], attempt["lease"]
    q0, q1 = attempt["questions"][0], attempt["questions"][1]
    good = {"attempt_id": attempt_id, "question_id": q0["id"], "option_id": None, "lease": lease}
    good["option_id"] = right_option(q0)
    sock = await clients.socket(learner)

    bad_saves: list[tuple[Any, str | None]] = [
        ("a string", "bad_event"),
        (None, "bad_event"),  # no data at all
        ([1, 2, 3], "bad_event"),
        (42, "bad_event"),
        ({}, "invalid"),
        ({k: v for k, v in good.items() if k != "option_id"}, "invalid"),
        ({k: v for k, v in good.items() if k != "lease"}, "invalid"),
        ({k: v for k, v in good.items() if k != "attempt_id"}, "invalid"),
        ({k: v for k, v in good.items() if k != "question_id"}, "invalid"),
        ({**good, "attempt_id": str(attempt_id)}, "invalid"),
        ({**good, "attempt_id": True}, "invalid"),
        ({**good, "question_id": float(q0["id"])}, "invalid"),
        ({**good, "option_id": "1"}, "invalid"),
        ({**good, "option_id": {"id": 1}}, "invalid"),
        ({**good, "lease": 12345}, "invalid"),
        ({**good, "attempt_id": foreign["attempt_id"]}, "not_found"),
        ({**good, "attempt_id": 10**9}, "not_found"),
        ({**good, "question_id": foreign["questions"][0]["id"] + 10**6}, "not_found"),
        ({**good, "option_id": right_option(q1)}, "invalid"),  # another question's option
        ({**good, "lease": "not-the-lease"}, "attempt_in_use"),
        ({**good, "attempt_id": 2**70}, "invalid"),  # beyond any id column
        ({**good, "question_id": -5}, "invalid"),
        ({**good, "option_id": 2**40}, "invalid"),
    ]
    for data, code in bad_saves:
        ack = await sock.call("save", data)
        assert_error(ack, code)
        assert "Traceback" not in ack["message"]
    for data, code in [
        ("x", "bad_event"),
        (None, "bad_event"),
        ({"attempt_id": "1"}, "invalid"),
        ({"attempt_id": foreign["attempt_id"], "lease": foreign["lease"]}, "not_found"),
        ({"attempt_id": 10**9}, "not_found"),
        ({"attempt_id": 2**63}, "invalid"),
    ]:
        assert_error(await sock.call("join", data), code)

    assert sock.sio.connected
    assert "server_time" in await sock.call("sync", "ignored")
    ack = await sock.call("save", good)
    assert ack["saved"] is True, ack
    # Nothing of the refused saves reached the database.
    status, body = await learner.call("GET", f"/api/attempts/{attempt_id}")
    assert status == 200 and body["answered"] == 1, body
    status, body = await other.call("GET", f"/api/attempts/{foreign['attempt_id']}")
    assert status == 200 and body["answered"] == 0, body

    # Staff are connected but do not answer.
    staff = await clients("instructor")
    staff_sock = await clients.socket(staff)
    assert_error(await staff_sock.call("save", good), "invalid")


@pytest.mark.rule("B5.12-one-per-place")
async def test_takeover_over_http_tells_the_first_tab(seed: Seed, clients: Clients) -> None:
    first = await clients("learner1")
    second = await clients("learner1")  # another browser: a session of its own
    _, attempt = await start(first, seed.test_id)
    attempt_id, lease = attempt["attempt_id"], attempt["lease"]
    tab_a = await clients.socket(first)
    assert (await tab_a.call("join", {"attempt_id": attempt_id, "lease": lease}))["holder"]

    status, body = await start(second, seed.test_id)
    assert status == 409 and body["error"] == "attempt_in_use", body
    assert not tab_a.received["taken_over"]

    status, taken = await start(second, seed.test_id, takeover=True)
    assert status == 200, taken
    assert taken["attempt_id"] == attempt_id and taken["lease"] != lease
    event = await tab_a.wait_for("taken_over", within=5)
    assert event == {"attempt_id": attempt_id}

    q = attempt["questions"][0]
    save = {"attempt_id": attempt_id, "question_id": q["id"], "option_id": right_option(q)}
    assert_error(await tab_a.call("save", {**save, "lease": lease}), "attempt_in_use")
    tab_b = await clients.socket(second)
    ack = await tab_b.call("join", {"attempt_id": attempt_id, "lease": taken["lease"]})
    assert ack["holder"] is True
    assert (await tab_b.call("save", {**save, "lease": taken["lease"]}))["saved"] is True
    # The remaining time was not reset by the takeover.
    assert taken["deadline"] == attempt["deadline"]


async def test_submit_tells_every_tab(seed: Seed, clients: Clients) -> None:
    learner = await clients("learner1")
    _, attempt = await start(learner, seed.test_id)
    attempt_id, lease = attempt["attempt_id"], attempt["lease"]
    sock = await clients.socket(learner)
    await sock.call("join", {"attempt_id": attempt_id, "lease": lease})
    q = attempt["questions"][0]
    save = {
        "attempt_id": attempt_id,
        "question_id": q["id"],
        "option_id": right_option(q),
        "lease": lease,
    }
    assert (await sock.call("save", save))["saved"] is True

    status, result = await learner.call(
        "POST", f"/api/attempts/{attempt_id}/submit", json={"lease": lease}
    )
    assert status == 200, result
    assert result["correct"] == 1
    event = await sock.wait_for("submitted", within=5)
    assert event["attempt_id"] == attempt_id
    assert_error(await sock.call("save", save), "attempt_submitted")
    ack = await sock.call("join", {"attempt_id": attempt_id, "lease": lease})
    assert ack["status"] == "submitted"


async def test_sweeper_submits_at_the_deadline_and_tells_the_tab(
    seed: Seed, clients: Clients, client: TestClient[Any, Any]
) -> None:
    app = client.app
    learner = await clients("learner1")
    _, attempt = await start(learner, seed.test_id)
    attempt_id, lease = attempt["attempt_id"], attempt["lease"]
    sock = await clients.socket(learner)
    await sock.call("join", {"attempt_id": attempt_id, "lease": lease})
    q = attempt["questions"][0]
    save = {
        "attempt_id": attempt_id,
        "question_id": q["id"],
        "option_id": wrong_option(q),
        "lease": lease,
    }
    assert (await sock.call("save", save))["saved"] is True

    deadline = datetime.fromisoformat(attempt["deadline"])
    grace = timedelta(seconds=app[SETTINGS].answer_grace_seconds)
    # Time jumps past the deadline and its grace; the browser does nothing.
    app[CLOCK].offset = deadline - app[CLOCK].now() + grace + timedelta(seconds=1)
    event = await sock.wait_for("submitted", within=10)
    assert event == {"attempt_id": attempt_id, "by": "deadline"}
    async with app[SESSIONS]() as db:
        row = await db.get(Attempt, attempt_id)
        assert row is not None
        assert row.status == "submitted" and row.submitted_by == "deadline"
        assert row.correct == 0 and row.total == len(attempt["questions"])
    ack = await sock.call("save", {**save, "option_id": right_option(q)})
    assert_error(ack, "deadline_passed")
    assert "deadline" in ack and "server_time" in ack


async def test_a_socket_stops_acting_after_logout(
    seed: Seed, clients: Clients, monkeypatch: pytest.MonkeyPatch
) -> None:
    import server.realtime

    monkeypatch.setattr(server.realtime, "RECHECK_SECONDS", 0.0)
    learner = await clients("learner1")
    status, attempt = await start(learner, seed.test_id)
    assert status == 201, attempt
    sock = await clients.socket(learner)
    question = attempt["questions"][0]
    payload = {
        "attempt_id": attempt["attempt_id"],
        "question_id": question["id"],
        "option_id": right_option(question),
        "lease": attempt["lease"],
    }
    assert (await sock.call("save", payload))["saved"] is True
    status, _ = await learner.call("POST", "/api/logout")
    assert status == 200
    assert_error(await sock.call("save", payload), "unauthenticated")
