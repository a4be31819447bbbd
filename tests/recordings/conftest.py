"""Fixtures of the recording tests: the SFU test media and peers, and a recorder whose
sealed files are collected instead of stored."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiortc import RTCConfiguration

from proctor.room import MediaRoom, RoomRegistry
from recordings.recorder import Recorder, Segment
from tests.proctor.conftest import Peers, clip, decoder_bypass, ice, peers
from tests.serverproc import free_port

__all__ = ["clip", "decoder_bypass", "ice", "peers"]


class Collected:
    """The segments the recorder handed over for sealing."""

    def __init__(self) -> None:
        self.segments: list[Segment] = []

    async def seal(self, segment: Segment) -> None:
        self.segments.append(segment)


@pytest.fixture
def collected() -> Collected:
    return Collected()


@pytest.fixture
async def registry(ice: RTCConfiguration) -> AsyncIterator[RoomRegistry]:
    r = RoomRegistry(ice, keyframe_interval=1.0, pli_min_interval=0.2)
    yield r
    await r.close()


@pytest.fixture
async def recorder(
    registry: RoomRegistry, collected: Collected, tmp_path: Path
) -> AsyncIterator[Recorder]:
    rec = Recorder(tmp_path / "spool", collected.seal, segment_seconds=600)
    rec.attach(registry)
    yield rec
    await rec.close()


@pytest.fixture
def room(registry: RoomRegistry) -> MediaRoom:
    return registry.get("test-1")


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3-compatible HTTP server on a free local port."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError):
                urllib.request.urlopen(url + "/moto-api/", timeout=1).close()
                break
            assert proc.poll() is None and time.monotonic() < deadline, "moto did not start"
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


__all__ += ["Peers"]
