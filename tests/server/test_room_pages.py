"""The live room's pages: who gets the learner's room, who the commission's view, who neither."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from tests.conftest import Session
from tests.seed import Seed
from tests.server.test_pages import assert_well_formed, get_page


@pytest.fixture
def backend() -> str:
    """Pages do not depend on the database backend: SQLite is enough."""
    return "sqlite"


async def test_learner_gets_the_room_and_staff_the_commission_view(
    client: TestClient[Any, Any], seed: Seed, login: Any
) -> None:
    room = f"test-{seed.test_id}"
    learner: Session = await login("learner1")
    status, html = await get_page(learner.client, f"/rooms/{room}")
    assert status == 200
    markup = assert_well_formed(html)
    assert f'data-room="{room}"' in html
    assert "/static/js/room.js?v=" in html and "/static/vendor/socket.io.min.js?v=" in html
    # The test opens in a new tab, so this tab keeps the camera on.
    assert f"/tests/{seed.test_id}" in markup.links
    assert 'target="_blank"' in html
    for slot in ("identity-check", "room-chat", "local-video", "mic-meter", "join-btn"):
        assert slot in markup.ids
    assert (await get_page(learner.client, f"/rooms/{room}/commission"))[0] == 403

    for name in ("chair", "admin", "support"):
        staff: Session = await login(name)
        status, _ = await get_page(staff.client, f"/rooms/{room}")
        assert status == 303, name
        async with staff.client.get(f"/rooms/{room}", allow_redirects=False) as response:
            assert response.headers["Location"] == f"/rooms/{room}/commission"
        status, html = await get_page(staff.client, f"/rooms/{room}/commission")
        assert status == 200, name
        markup = assert_well_formed(html)
        assert "/static/js/commission.js?v=" in html
        for slot in ("learner-grid", "live-dialog", "live-video", "identity-review"):
            assert slot in markup.ids


async def test_rooms_are_closed_to_outsiders_and_to_roles_that_never_join(
    client: TestClient[Any, Any], seed: Seed, login: Any
) -> None:
    room = f"test-{seed.test_id}"
    outsider: Session = await login("outsider")  # a learner outside the test's group
    assert (await get_page(outsider.client, f"/rooms/{room}"))[0] == 404
    learner: Session = await login("learner1")
    for missing in ("test-999999", "lobby", "test-0"):
        status, html = await get_page(learner.client, f"/rooms/{missing}")
        assert status == 404, missing
        assert "Страница не найдена" in html
    for name in ("auditor", "instructor"):
        user: Session = await login(name)
        for path in (f"/rooms/{room}", f"/rooms/{room}/commission"):
            status, html = await get_page(user.client, path)
            assert status == 403, (name, path)
            assert "Доступ запрещён" in html
    async with client.get(f"/rooms/{room}", allow_redirects=False) as response:
        assert response.status == 303
        assert response.headers["Location"].startswith("/login?next=")
