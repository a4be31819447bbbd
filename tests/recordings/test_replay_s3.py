"""The same replay API with the recordings in S3-compatible storage (moto's server):
sealing uploads, the media route proxies Range requests, audit verify re-hashes."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from recordings.s3 import S3Store
from recordings.service import STORE
from server.settings import Settings
from tests.proctor.media import Clip
from tests.proctor.test_signaling import Room
from tests.recordings.test_replay import _recorded, people
from tests.seed import Seed

__all__ = ["people"]


@pytest.fixture
def settings(settings: Settings, s3_endpoint: str, request: pytest.FixtureRequest) -> Settings:
    return settings.replace(
        recordings_storage="s3",
        s3_endpoint=s3_endpoint,
        s3_bucket="evidence-" + str(abs(hash(request.node.nodeid)) % 10**8),
        s3_access_key="testing",
        s3_secret_key="testing",
    )


@pytest.fixture
async def bucket(client: TestClient[Any, Any]) -> S3Store:
    store = client.server.app[STORE]
    assert isinstance(store, S3Store)
    await store.ensure_bucket()
    return store


async def test_s3_recordings_are_replayed_with_range(
    client: TestClient[Any, Any], bucket: S3Store, people: Room, clip: Clip, login: Any, seed: Seed
) -> None:
    row = await _recorded(client, people, clip)
    data = b"".join([chunk async for chunk in bucket.read(row.storage_key)])
    assert len(data) == row.size
    auditor = await login("auditor")
    url = f"/api/recordings/{people.room}/files/{row.id}"
    async with auditor.client.get(url, headers={"Range": "bytes=10-1009"}) as resp:
        assert resp.status == 206
        assert resp.headers["Content-Range"] == f"bytes 10-1009/{row.size}"
        assert await resp.read() == data[10:1010]
    async with auditor.client.get(url, headers={"Range": "bytes=-100"}) as resp:
        assert resp.status == 206 and await resp.read() == data[-100:]
    async with auditor.client.get(url) as resp:
        assert resp.status == 200 and await resp.read() == data
    async with auditor.client.get(url, headers={"Range": "bytes=0-1,5-6"}) as resp:
        assert resp.status == 400
        assert (await resp.json())["error"] == "bad_range"
