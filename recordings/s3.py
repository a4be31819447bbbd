"""Sealed recordings in S3-compatible object storage (AWS S3, MinIO, Ceph …).

Path-style requests (``<endpoint>/<bucket>/<prefix><key>``) signed with SigV4
(:mod:`recordings.sigv4`) over aiohttp; replays read byte ranges with ``Range``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp

from recordings.sigv4 import EMPTY_SHA256, Credentials, authorization, encode_path
from recordings.storage import CHUNK, StorageError, check_key, hash_file
from server.errors import NotFound

log = logging.getLogger(__name__)


class S3Store:
    """A bucket (and key prefix) of an S3-compatible service."""

    name = "s3"

    def __init__(
        self, endpoint: str, bucket: str, credentials: Credentials, prefix: str = ""
    ) -> None:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"S3 endpoint {endpoint!r} is not an http(s) URL")
        self.endpoint = f"{parts.scheme}://{parts.netloc}"
        self.host = parts.netloc
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.credentials = credentials
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))
        return self._session

    async def close(self) -> None:
        """Close the HTTP connections."""
        if self._session is not None:
            await self._session.close()

    def _signed(
        self, method: str, key: str | None, payload_hash: str, extra: dict[str, str] | None = None
    ) -> tuple[str, dict[str, str]]:
        path = "/" + self.bucket
        if key is not None:
            path += "/" + self.prefix + check_key(key)
        path = encode_path(path)
        at = datetime.now(UTC)
        headers = {
            "host": self.host,
            "x-amz-date": at.strftime("%Y%m%dT%H%M%SZ"),
            "x-amz-content-sha256": payload_hash,
            **(extra or {}),
        }
        headers["Authorization"] = authorization(
            self.credentials, method, path, {}, headers, payload_hash, at
        )
        del headers["host"]  # aiohttp sends it
        return self.endpoint + path, headers

    async def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist (development and tests)."""
        url, headers = self._signed("PUT", None, EMPTY_SHA256)
        async with self._client().put(url, headers=headers) as response:
            if response.status not in (200, 409):
                raise StorageError(f"bucket {self.bucket}: HTTP {response.status}")

    async def put(self, key: str, source: Path) -> None:
        size, digest = await asyncio.to_thread(hash_file, source)
        url, headers = self._signed(
            "PUT",
            key,
            digest,
            {"content-length": str(size), "content-type": "video/webm"},
        )
        with source.open("rb") as handle:
            async with self._client().put(url, data=handle, headers=headers) as response:
                if response.status != 200:
                    body = (await response.text())[:300]
                    raise StorageError(f"storing {key}: HTTP {response.status} {body}")
        await asyncio.to_thread(source.unlink, True)

    async def size(self, key: str) -> int:
        url, headers = self._signed("HEAD", key, EMPTY_SHA256)
        async with self._client().head(url, headers=headers) as response:
            if response.status == 404:
                raise NotFound(f"recording {key} is not in the store")
            if response.status != 200:
                raise StorageError(f"size of {key}: HTTP {response.status}")
            return int(response.headers["Content-Length"])

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        extra = {}
        if start or end is not None:
            extra["range"] = f"bytes={start}-" + ("" if end is None else str(end - 1))
        url, headers = self._signed("GET", key, EMPTY_SHA256, extra)
        async with self._client().get(url, headers=headers) as response:
            if response.status == 404:
                raise NotFound(f"recording {key} is not in the store")
            if response.status not in (200, 206):
                raise StorageError(f"reading {key}: HTTP {response.status}")
            async for chunk in response.content.iter_chunked(CHUNK):
                yield chunk

    async def delete(self, key: str) -> None:
        url, headers = self._signed("DELETE", key, EMPTY_SHA256)
        async with self._client().delete(url, headers=headers) as response:
            if response.status not in (200, 204, 404):
                raise StorageError(f"deleting {key}: HTTP {response.status}")

    def local_path(self, key: str) -> Path | None:
        return None
