"""The writer thread: every muxing call of the recorder runs here, off the event loop.

The event loop only hands over ``(segment, frame bytes, timestamp)`` through a queue (a
few microseconds per frame); opening, muxing, flushing and closing files, which touch
the disk, happen on one thread shared by all recordings of the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recordings.webm import WebmWriter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Open:
    key: str
    path: Path
    video_size: tuple[int, int] | None
    audio: bool
    meta: dict[str, Any]


@dataclass(frozen=True)
class _Write:
    key: str
    kind: str
    data: bytes
    pts_ms: int
    keyframe: bool


@dataclass(frozen=True)
class _Close:
    key: str
    done: Callable[[int, int], None]


_Op = _Open | _Write | _Close | None


def sidecar_path(path: Path) -> Path:
    """The metadata file kept next to an unfinished recording."""
    return path.with_suffix(".json")


def write_sidecar(path: Path, meta: dict[str, Any]) -> None:
    """Write the metadata durably before the recording's first byte."""
    target = sidecar_path(path)
    temporary = target.with_suffix(".tmp")
    with temporary.open("w", encoding="utf-8") as handle:
        json.dump(meta, handle)
        handle.flush()
        os.fsync(handle.fileno())
    temporary.replace(target)


def hold(path: Path) -> int:
    """Lock a recording as being written by this process (released when the process dies,
    SIGKILL included), so the crash repair of another worker leaves it alone."""
    fd = os.open(sidecar_path(path), os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    return fd


def is_held(path: Path) -> bool:
    """Whether a live process is writing this recording."""
    try:
        fd = os.open(sidecar_path(path), os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


class WriterThread:
    """Owns the open :class:`WebmWriter` s; callers post operations, never wait."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[_Op] = queue.SimpleQueue()
        self._writers: dict[str, WebmWriter] = {}
        self._locks: dict[str, int] = {}
        self._broken: set[str] = set()
        self._thread = threading.Thread(target=self._run, name="recording-writer", daemon=True)
        self._thread.start()

    def open(
        self,
        key: str,
        path: Path,
        video_size: tuple[int, int] | None,
        audio: bool,
        meta: dict[str, Any],
    ) -> None:
        """Create the file of segment ``key`` and, next to it, ``meta`` as JSON (what the
        crash repair needs to seal the file if the process dies before closing it)."""
        self._queue.put(_Open(key, path, video_size, audio, meta))

    def write(self, key: str, kind: str, data: bytes, pts_ms: int, keyframe: bool) -> None:
        """Mux one frame into segment ``key``."""
        self._queue.put(_Write(key, kind, data, pts_ms, keyframe))

    def close_segment(self, key: str) -> asyncio.Future[tuple[int, int]]:
        """Finish segment ``key``; the future gets ``(packets, last pts in ms)``."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[tuple[int, int]] = loop.create_future()

        def done(packets: int, last_pts: int) -> None:
            def settle() -> None:
                if not future.done():
                    future.set_result((packets, last_pts))

            loop.call_soon_threadsafe(settle)

        self._queue.put(_Close(key, done))
        return future

    def backlog(self) -> int:
        """Operations waiting for the thread (a health figure)."""
        return self._queue.qsize()

    async def stop(self) -> None:
        """Finish every queued operation and end the thread."""
        self._queue.put(None)
        await asyncio.to_thread(self._thread.join)

    def _run(self) -> None:
        while True:
            op = self._queue.get()
            if op is None:
                for key in list(self._writers):
                    self._finish(key)
                return
            try:
                self._apply(op)
            except Exception:
                log.exception("recording %s: %s failed", op.key, type(op).__name__)
                self._broken.add(op.key)

    def _apply(self, op: Any) -> None:
        if isinstance(op, _Open):
            self._broken.discard(op.key)
            op.path.parent.mkdir(parents=True, exist_ok=True)
            write_sidecar(op.path, op.meta)
            self._locks[op.key] = hold(op.path)
            self._writers[op.key] = WebmWriter(op.path, video_size=op.video_size, audio=op.audio)
        elif isinstance(op, _Write):
            writer = self._writers.get(op.key)
            if writer is not None:
                writer.write(op.kind, op.data, op.pts_ms, op.keyframe)
        elif isinstance(op, _Close):
            packets, last = self._finish(op.key)
            op.done(packets, last)

    def _finish(self, key: str) -> tuple[int, int]:
        writer = self._writers.pop(key, None)
        lock = self._locks.pop(key, None)
        try:
            if writer is None:
                return 0, 0
            try:
                writer.close()
            except Exception:
                log.exception("recording %s: closing %s failed", key, writer.path)
            return writer.packets, writer.last_pts
        finally:
            if lock is not None:
                with contextlib.suppress(OSError):
                    os.close(lock)
