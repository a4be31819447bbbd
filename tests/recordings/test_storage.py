"""Both recording stores behind the one interface: a local directory and S3 (a real
S3-compatible server: moto's server mode on 127.0.0.1, a subprocess)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from recordings.s3 import S3Store
from recordings.sigv4 import Credentials
from recordings.storage import LocalStore, RecordingStore, sha256_of
from server.errors import NotFound

KEY = "test-1/u7-20261123T100000-abcdef01.webm"


@pytest.fixture(params=["local", "s3"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[RecordingStore]:
    if request.param == "local":
        yield LocalStore(tmp_path / "store")
        return
    endpoint = request.getfixturevalue("s3_endpoint")
    s3 = S3Store(endpoint, "evidence", Credentials("testing", "testing"), "recordings")
    await s3.ensure_bucket()
    try:
        yield s3
    finally:
        await s3.close()


async def _read(store: RecordingStore, start: int = 0, end: int | None = None) -> bytes:
    return b"".join([chunk async for chunk in store.read(KEY, start, end)])


async def test_put_read_ranges_hash_and_delete(store: RecordingStore, tmp_path: Path) -> None:
    data = bytes(range(256)) * 2000  # 512 000 bytes, several chunks
    source = tmp_path / "spool.webm"
    source.write_bytes(data)
    await store.put(KEY, source)
    assert await store.size(KEY) == len(data)
    assert await _read(store) == data
    assert await _read(store, 1000, 1010) == data[1000:1010]
    assert await _read(store, len(data) - 5) == data[-5:]
    assert await sha256_of(store, KEY) == (len(data), hashlib.sha256(data).hexdigest())
    await store.delete(KEY)
    with pytest.raises(NotFound):
        await store.size(KEY)
    with pytest.raises(NotFound):
        await _read(store)
    await store.delete(KEY)  # already gone: no error


@pytest.mark.parametrize("key", ["../etc/passwd", "a/../../b.webm", "room/", "/abs.webm", "a b/c"])
async def test_keys_cannot_leave_the_store(store: RecordingStore, key: str) -> None:
    with pytest.raises(NotFound):
        await store.size(key)


async def test_s3_put_removes_the_spool_copy(s3_endpoint: str, tmp_path: Path) -> None:
    # moto does not check signatures by default: it proves the requests' shape; the
    # signature itself is proven by test_sigv4's published vectors.
    source = tmp_path / "x.webm"
    source.write_bytes(b"x")
    store = S3Store(s3_endpoint, "evidence", Credentials("testing", "testing"))
    await store.ensure_bucket()
    try:
        await store.put(KEY, source)
        assert not source.exists()  # a stored spool copy is removed
        assert await store.size(KEY) == 1
    finally:
        await store.close()
