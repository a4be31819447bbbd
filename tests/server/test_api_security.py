"""API security through the real server: CSRF, roles on every route, foreign ids, bad input."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from aiohttp import FormData, web
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from attestation.apidoc import PATHS as ATTESTATION_PATHS
from attestation.mail.apidoc import PATHS as MAIL_PATHS
from recordings.apidoc import PATHS as RECORDING_PATHS
from server.appkeys import SESSIONS
from server.audit import AuditEntry, verify_chain
from server.openapi import PATHS
from server.settings import Settings
from tests.conftest import Session
from tests.seed import Seed

UPLOAD_LIMIT = 50_000
NO_ID = 999_999_999


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A small upload limit, so that an oversize upload is cheap to send."""
    return settings.replace(max_upload_bytes=UPLOAD_LIMIT)


# Who may call each API route. "public": no login; "any": every logged-in role;
# otherwise the roles let through (seed usernames: chair has the commission role).
AUTHORS = frozenset({"instructor", "head", "admin"})
ANALYSTS = AUTHORS | {"auditor"}
ROUTES: dict[tuple[str, str], str | frozenset[str]] = {
    ("POST", "/api/login"): "public",
    ("GET", "/api/openapi.json"): "public",
    ("POST", "/api/logout"): "any",
    ("GET", "/api/me"): "any",
    ("GET", "/api/programs"): "any",
    ("GET", "/api/tests"): "any",
    ("POST", "/api/tests"): AUTHORS,
    ("POST", "/api/tests/{test_id}/attempts"): frozenset({"learner1"}),
    ("GET", "/api/tests/{test_id}/analysis"): ANALYSTS,
    ("GET", "/api/attempts/{attempt_id}"): "any",
    ("PUT", "/api/attempts/{attempt_id}/answers/{question_id}"): frozenset({"learner1"}),
    ("POST", "/api/attempts/{attempt_id}/submit"): frozenset({"learner1"}),
    ("GET", "/api/results"): frozenset({"learner1"}),
    ("GET", "/api/learners/{user_id}/account"): frozenset({"support", "admin"}),
    ("GET", "/api/banks"): ANALYSTS,
    ("POST", "/api/banks/import"): AUTHORS,
    ("GET", "/api/banks/{bank_id}/questions"): ANALYSTS,
    ("POST", "/api/banks/{bank_id}/approve"): frozenset({"head"}),
    ("PUT", "/api/questions/{question_id}"): AUTHORS,
    ("GET", "/api/rooms/{room}/ice"): frozenset({"learner1", "chair", "support", "admin"}),
    ("GET", "/api/rooms/{room}/publishers/{participant}/thumbnail.jpg"): frozenset(
        {"chair", "support", "admin"}
    ),
    ("POST", "/api/rooms/{room}/publishers/{participant}/capture"): frozenset(
        {"learner1", "chair", "admin"}
    ),
    ("POST", "/api/rooms/{room}/files"): frozenset({"learner1", "chair", "support", "admin"}),
    ("GET", "/api/rooms/{room}/files/{file_id}"): frozenset(
        {"learner1", "chair", "support", "admin", "auditor"}
    ),
    ("GET", "/api/rooms/{room}/snapshots/{snapshot_id}.jpg"): frozenset(
        {"learner1", "chair", "support", "admin", "auditor"}
    ),
    ("GET", "/api/rooms/{room}/identity"): frozenset(
        {"learner1", "chair", "support", "admin", "auditor"}
    ),
    ("GET", "/api/rooms/{room}/events"): frozenset({"chair", "support", "admin", "auditor"}),
}
USERS = ("learner1", "instructor", "head", "chair", "auditor", "support", "admin")


# The attestation, mail and recordings domains document their own routes and check their
# roles in tests/attestation and tests/recordings; this table covers the core API.
OTHER_DOMAINS = {
    (method.upper(), path)
    for paths in (ATTESTATION_PATHS, MAIL_PATHS, RECORDING_PATHS)
    for path, ops in paths.items()
    for method in ops
}


def _router_api_routes(app: web.Application) -> set[tuple[str, str]]:
    found = set()
    for route in app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if path.startswith("/api/") and route.method != "HEAD":
            found.add((route.method, path))
    return found - OTHER_DOMAINS


def _concrete(path: str) -> str:
    """The route with every id replaced by one that does not exist."""
    for name in (
        "test_id",
        "attempt_id",
        "question_id",
        "user_id",
        "bank_id",
        "file_id",
        "snapshot_id",
    ):
        path = path.replace("{" + name + "}", str(NO_ID))
    return path.replace("{room}", f"test-{NO_ID}").replace("{participant}", f"u{NO_ID}")


def _is_error(body: Any) -> bool:
    return (
        isinstance(body, dict)
        and isinstance(body.get("error"), str)
        and isinstance(body.get("message"), str)
        and "Traceback" not in json.dumps(body)
    )


async def test_route_table_matches_the_router_and_the_openapi_paths(
    app: web.Application,
) -> None:
    documented = {(m.upper(), p) for p, ops in PATHS.items() for m in ops}
    assert set(ROUTES) == _router_api_routes(app)
    assert set(ROUTES) == documented


@pytest.mark.rule("A2.2-login")
async def test_every_private_route_is_401_for_anonymous_callers(
    client: TestClient[Any, Any], seed: Seed
) -> None:
    wrong: list[tuple[Any, ...]] = []
    # Logging in comes last: it gives this client a session.
    for (method, path), who in sorted(ROUTES.items(), key=lambda r: r[0][1] == "/api/login"):
        sent = {"username": "learner1", "password": "pw-test"} if path == "/api/login" else {}
        async with client.request(method, _concrete(path), json=sent) as resp:
            body = await resp.json(content_type=None)
            if who == "public" and resp.status != 200:
                wrong.append((method, path, resp.status, "public route refused", body))
            if who != "public" and (resp.status, body.get("error")) != (401, "unauthenticated"):
                wrong.append((method, path, resp.status, body))
    assert wrong == []


@pytest.mark.rule("A2.2-login")
async def test_every_route_of_every_domain_needs_a_login(
    client: TestClient[Any, Any], seed: Seed
) -> None:
    """The attestation, mail and recordings routes too: none answers an anonymous caller
    with data (their per-role tables live with their own tests)."""
    wrong = []
    for method, path in sorted(OTHER_DOMAINS):
        concrete = re.sub(r"\{[a-z_]+\}", str(NO_ID), _concrete(path))
        async with client.request(method, concrete, json={}) as resp:
            body = await resp.json(content_type=None)
            if (resp.status, body.get("error")) != (401, "unauthenticated"):
                wrong.append((method, path, resp.status, body))
    assert OTHER_DOMAINS
    assert wrong == []


@pytest.mark.rule("A2.2-login")
async def test_each_role_reaches_only_its_routes(seed: Seed, login: Any) -> None:
    sessions = {username: await login(username) for username in USERS}
    wrong = []
    for (method, path), who in ROUTES.items():
        if who == "public" or path == "/api/logout":
            continue
        for username, session in sessions.items():
            status, body = await session.call(method, _concrete(path), json={})
            allowed = who == "any" or username in who
            if not _is_error(body) and status >= 400:
                wrong.append((method, path, username, status, "not a JSON error", body))
            if allowed and status in (401, 403):
                wrong.append((method, path, username, status, "refused", body))
            if not allowed and (status, body.get("error")) != (403, "forbidden"):
                wrong.append((method, path, username, status, "let through", body))
    assert wrong == []


async def test_csrf_token_and_origin_are_checked_on_writes(
    client: TestClient[Any, Any], seed: Seed, login: Any
) -> None:
    learner = await login("learner1")
    other = await login("learner2")
    url = f"/api/tests/{seed.test_id}/attempts"
    base = f"http://{client.host}:{client.port}"
    for headers in (
        {"X-CSRF-Token": ""},
        {"X-CSRF-Token": "wrong"},
        {"X-CSRF-Token": other.csrf},
        {"X-CSRF-Token": learner.csrf, "Origin": "http://evil.example"},
        {"X-CSRF-Token": learner.csrf, "Origin": f"http://{client.host}:1"},
    ):
        status, body = await learner.call("POST", url, json={}, headers=headers)
        assert (status, body["error"]) == (403, "csrf"), (headers, body)
    async with learner.client.post(url, json={}) as resp:  # no header at all
        assert resp.status == 403 and (await resp.json())["error"] == "csrf"
    # Behind a TLS-terminating proxy the page's origin is https while the app sees http:
    # the same host is the same site, so only the host is compared.
    # A refused write changed nothing: the first real start creates the attempt.
    status, body = await learner.call("POST", url, json={}, headers={"Origin": base})
    assert status == 201, body
    # Cross-origin logins are refused too (login CSRF); same-origin ones work.
    async with client.post(
        "/api/login",
        json={"username": "learner3", "password": "pw-test"},
        headers={"Origin": "http://evil.example"},
    ) as resp:
        assert resp.status == 403 and (await resp.json())["error"] == "csrf"
    # Reads need no token.
    status, _ = await learner.call("GET", f"/api/attempts/{body['attempt_id']}")
    assert status == 200


@pytest.mark.rule("A2.2-login")
async def test_foreign_and_hidden_objects_are_404_never_403(seed: Seed, login: Any) -> None:
    owner = await login("learner1")
    status, attempt = await owner.call("POST", f"/api/tests/{seed.test_id}/attempts", json={})
    assert status == 201, attempt
    attempt_id, lease = attempt["attempt_id"], attempt["lease"]
    question = attempt["questions"][0]
    answer = {"option_id": question["options"][0]["id"], "lease": lease}
    base = f"/api/attempts/{attempt_id}"
    for username in ("learner2", "outsider", "support"):
        intruder = await login(username)
        calls: list[tuple[str, str, Any]] = [("GET", base, None)]
        if username != "support":
            calls += [
                ("PUT", f"{base}/answers/{question['id']}", answer),
                ("POST", f"{base}/submit", {"lease": lease}),
            ]
        for method, path, payload in calls:
            status, body = await intruder.call(method, path, json=payload)
            assert (status, body["error"]) == (404, "not_found"), (username, method, path, body)
            assert body == {
                "error": "not_found",
                "message": f"attempt {attempt_id} does not exist",
            }, "the same answer as for an id that does not exist"
    status, body = await owner.call("GET", base)
    assert status == 200 and body["answered"] == 0 and body["status"] == "active", body


@pytest.mark.rule("A2.2-login")
async def test_a_learner_outside_the_group_neither_sees_nor_starts_the_test(
    seed: Seed, login: Any
) -> None:
    outsider = await login("outsider")
    status, tests = await outsider.call("GET", "/api/tests")
    assert status == 200 and seed.test_id not in [t["id"] for t in tests]
    status, body = await outsider.call("POST", f"/api/tests/{seed.test_id}/attempts", json={})
    assert (status, body["error"]) == (404, "not_found"), body
    member = await login("learner1")
    status, tests = await member.call("GET", "/api/tests")
    assert status == 200 and seed.test_id in [t["id"] for t in tests]


async def test_bad_input_gets_a_json_error_with_the_right_status(
    client: TestClient[Any, Any], seed: Seed, login: Any
) -> None:
    learner = await login("learner1")
    instructor = await login("instructor")
    anonymous = Session(client)
    status, attempt = await learner.call("POST", f"/api/tests/{seed.test_id}/attempts", json={})
    assert status == 201, attempt
    save = f"/api/attempts/{attempt['attempt_id']}/answers/{attempt['questions'][0]['id']}"
    lease = attempt["lease"]
    start = f"/api/tests/{seed.test_id}/attempts"
    plan = {str(s): 1 for s in seed.section_ids}
    new_test = {"program_id": seed.program_id, "title": "x", "time_limit_minutes": 10}
    as_json = {"Content-Type": "application/json"}
    cases: list[tuple[str, Session, str, str, dict[str, Any], int, str]] = [
        ("malformed JSON", learner, "PUT", save, {"data": b'{"option_id": '}, 400, "bad_json"),
        ("not UTF-8", learner, "PUT", save, {"data": b'{"x": "\xff"}'}, 400, "bad_json"),
        ("JSON array", learner, "PUT", save, {"data": b"[1, 2]"}, 400, "bad_json"),
        ("oversize JSON", learner, "PUT", save, {"json": {"pad": "x" * 70_000}}, 413, "too_large"),
        (
            "oversize login",
            anonymous,
            "POST",
            "/api/login",
            {"json": {"username": "x" * 70_000, "password": "x"}},
            413,
            "too_large",
        ),
        ("string option", learner, "PUT", save, {"json": {"option_id": "1"}}, 422, "invalid"),
        ("bool option", learner, "PUT", save, {"json": {"option_id": True}}, 422, "invalid"),
        ("no option", learner, "PUT", save, {"json": {"lease": lease}}, 422, "invalid"),
        (
            "int lease",
            learner,
            "PUT",
            save,
            {"json": {"option_id": None, "lease": 5}},
            422,
            "invalid",
        ),
        ("string takeover", learner, "POST", start, {"json": {"takeover": "yes"}}, 422, "invalid"),
        (
            "string minutes",
            instructor,
            "POST",
            "/api/tests",
            {"json": {**new_test, "sections": plan, "time_limit_minutes": "10"}},
            422,
            "invalid",
        ),
        (
            "sections as a list",
            instructor,
            "POST",
            "/api/tests",
            {"json": {**new_test, "sections": [1, 2]}},
            422,
            "invalid",
        ),
        (
            "section key not an id",
            instructor,
            "POST",
            "/api/tests",
            {"json": {**new_test, "sections": {"²": 1, "1": 1}}},
            422,
            "invalid",
        ),
        (
            "naive datetime",
            instructor,
            "POST",
            "/api/tests",
            {"json": {**new_test, "sections": plan, "opens_at": "2030-01-01T10:00:00"}},
            422,
            "invalid",
        ),
        (
            "program id out of range",
            instructor,
            "POST",
            "/api/tests",
            {"json": {**new_test, "sections": plan, "program_id": 2**31}},
            422,
            "invalid",
        ),
        (
            "group id out of range",
            instructor,
            "POST",
            "/api/tests",
            {"json": {**new_test, "sections": plan, "group_id": 10**12}},
            422,
            "invalid",
        ),
        (
            "option id out of range",
            learner,
            "PUT",
            save,
            {"json": {"option_id": -(2**40), "lease": lease}},
            422,
            "invalid",
        ),
        (
            "upload program id out of range",
            instructor,
            "POST",
            "/api/banks/import",
            {"data": _upload(program_id="9" * 12)},
            422,
            "invalid",
        ),
        (
            "program id not an integer",
            instructor,
            "POST",
            "/api/banks/import",
            {"data": _upload(program_id="²")},
            422,
            "invalid",
        ),
        (
            "multipart without a boundary",
            instructor,
            "POST",
            "/api/banks/import",
            {"data": b"--x--", "headers": {"Content-Type": "multipart/form-data"}},
            400,
            "not_multipart",
        ),
        (
            "multipart cut short",
            instructor,
            "POST",
            "/api/banks/import",
            {
                "data": b'--b\r\nContent-Disposition: form-data; name="file"; filename="q.txt"\r\n',
                "headers": {"Content-Type": "multipart/form-data; boundary=b"},
            },
            400,
            "not_multipart",
        ),
        ("unknown API path", learner, "GET", "/api/nothing/here", {}, 404, "not_found"),
        ("wrong method", learner, "DELETE", "/api/me", {}, 405, "method_not_allowed"),
    ]
    for name, session, method, path, kwargs, want_status, want_error in cases:
        if isinstance(kwargs.get("data"), bytes) and "headers" not in kwargs:
            kwargs = {**kwargs, "headers": dict(as_json)}
        status, body = await session.call(method, path, **kwargs)
        assert (status, _is_error(body)) == (want_status, True), (name, body)
        assert body["error"] == want_error, (name, body)
    status, body = await learner.call("GET", f"/api/attempts/{attempt['attempt_id']}")
    assert status == 200 and body["answered"] == 0, "no bad request saved anything"


def _upload(program_id: str, content: bytes = b"Q?\nA) a\nB) b\nC) c\nANSWER: A\n") -> FormData:
    form = FormData()
    form.add_field("program_id", program_id)
    form.add_field("file", content, filename="q.txt", content_type="text/plain")
    return form


NOT_IDS = ("abc", "-1", "1.5", "0x10", "1e3", "²", "١٢", "9" * 19, "%20", "1%2F2", "2147483648")


async def test_ids_that_are_not_integers_are_404(seed: Seed, login: Any) -> None:
    learner = await login("learner1")
    instructor = await login("instructor")
    support = await login("support")
    wrong = []
    for raw_id in NOT_IDS:
        for session, method, path in [
            (learner, "GET", f"/api/attempts/{raw_id}"),
            (learner, "POST", f"/api/tests/{raw_id}/attempts"),
            (learner, "PUT", f"/api/attempts/1/answers/{raw_id}"),
            (learner, "POST", f"/api/attempts/{raw_id}/submit"),
            (instructor, "GET", f"/api/banks/{raw_id}/questions"),
            (instructor, "GET", f"/api/tests/{raw_id}/analysis"),
            (instructor, "PUT", f"/api/questions/{raw_id}"),
            (support, "GET", f"/api/learners/{raw_id}/account?reason=x"),
            (learner, "GET", f"/api/rooms/test-{seed.test_id}/files/{raw_id}"),
            (learner, "GET", f"/api/rooms/test-{seed.test_id}/snapshots/{raw_id}.jpg"),
        ]:
            status, body = await session.call(method, path, json={"option_id": None})
            if (status, _is_error(body) and body["error"]) != (404, "not_found"):
                wrong.append((method, path, status, body))
    assert wrong == []


async def test_uploads_over_the_limit_are_413(seed: Seed, login: Any) -> None:
    instructor = await login("instructor")
    question = "Вопрос?\nA) да\nB) нет\nC) может быть\nANSWER: A\n\n"
    big = (question * (UPLOAD_LIMIT // len(question.encode()) + 5)).encode()
    assert UPLOAD_LIMIT < len(big) < 2 * UPLOAD_LIMIT
    form = FormData()
    form.add_field("program_id", str(seed.program_id))
    form.add_field("file", big, filename="big.txt", content_type="text/plain")
    status, body = await instructor.call("POST", "/api/banks/import", data=form)
    assert (status, body["error"]) == (413, "too_large"), body
    # Text fields are streamed too: a huge one is refused, not read into memory whole.
    form = _upload(str(seed.program_id))
    form.add_field("title", "т" * 40_000)
    status, body = await instructor.call("POST", "/api/banks/import", data=form)
    assert (status, body["error"]) == (413, "too_large"), body
    small = _upload(str(seed.program_id), question.encode() * 10)
    small.add_field("title", "Небольшой банк")
    status, body = await instructor.call("POST", "/api/banks/import", data=small)
    assert status == 201 and body["imported"] == 10, body
    status, body = await instructor.call(
        "POST", "/api/banks/import", data=b"{}", headers={"Content-Type": "application/json"}
    )
    assert (status, body["error"]) == (400, "not_multipart"), body
    status, banks = await instructor.call("GET", "/api/banks")
    assert status == 200 and [b["title"] for b in banks] == ["Банк", "Небольшой банк"]


async def test_security_headers_are_on_every_kind_of_response(
    client: TestClient[Any, Any], seed: Seed, login: Any
) -> None:
    learner = await login("learner1")
    for session_client, path in [
        (learner.client, "/api/me"),
        (client, "/api/me"),  # 401
        (client, "/api/nothing"),  # 404
        (client, "/api/openapi.json"),
        (client, "/login"),
        (learner.client, "/account"),
        (client, "/api/login"),  # 405 on GET
    ]:
        async with session_client.get(path, allow_redirects=False) as resp:
            headers = resp.headers
            assert headers.get("X-Content-Type-Options") == "nosniff", (path, resp.status)
            assert "default-src 'self'" in headers.get("Content-Security-Policy", ""), path
            assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], path
            assert headers.get("X-Frame-Options") == "DENY", path
            if path.startswith("/api/"):
                assert headers.get("Cache-Control") == "no-store", path
                assert resp.content_type == "application/json", path


@pytest.mark.rule("A2.2-support")
async def test_support_opens_a_learner_account_and_every_access_is_logged(
    app: web.Application, seed: Seed, login: Any
) -> None:
    learner = await login("learner1")
    status, attempt = await learner.call("POST", f"/api/tests/{seed.test_id}/attempts", json={})
    assert status == 201
    status, _ = await learner.call(
        "POST", f"/api/attempts/{attempt['attempt_id']}/submit", json={"lease": attempt["lease"]}
    )
    assert status == 200
    support = await login("support")
    learner_id = seed.users["learner1"]
    path = f"/api/learners/{learner_id}/account"
    status, body = await support.call("GET", f"{path}?reason=ticket%20%2342%3A%20lost%20mark")
    assert status == 200, body
    assert body["learner"]["username"] == "learner1"
    assert [r["attempt_id"] for r in body["results"]] == [attempt["attempt_id"]]
    assert [t["id"] for t in body["tests"]] == [seed.test_id]
    for query in ("", "?reason=", "?reason=%20%20"):
        status, body = await support.call("GET", path + query)
        assert (status, body["error"], body.get("field")) == (422, "invalid", "reason"), query
    status, body = await learner.call("GET", f"{path}?reason=curious")
    assert (status, body["error"]) == (403, "forbidden")
    status, body = await support.call("GET", f"/api/learners/{seed.users['head']}/account?reason=x")
    assert (status, body["error"]) == (404, "not_found"), "only learners' accounts are opened"
    async with app[SESSIONS]() as db:
        entries = list(
            await db.scalars(select(AuditEntry).where(AuditEntry.action == "support.access"))
        )
        assert (await verify_chain(db)).ok
    assert [(e.actor_id, e.object_type, e.object_id) for e in entries] == [
        (seed.users["support"], "user", str(learner_id))
    ], "one entry for the one access that was allowed"
    assert json.loads(entries[0].details) == {"reason": "ticket #42: lost mark"}
