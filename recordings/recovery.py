"""Crash repair: seal the recordings a killed process left in the spool.

Several workers share the spool: a file some live worker is writing is locked (``flock``
on its sidecar, dropped by the kernel when that process dies) and is skipped.

A file still in the spool at start was being written when the process died: its
cluster data up to the last flush is on disk but the index (cues) and the duration
never were. It is remuxed by stream copy (no decoding) into a proper file, which gets
its end time from the last packet, and sealed like any other.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from recordings.recorder import Segment
from recordings.sealing import Sealer
from recordings.webm import probe, remux
from recordings.writer import is_held, sidecar_path

log = logging.getLogger(__name__)


def unfinished(spool: Path) -> list[Path]:
    """Every recording file left in the spool, oldest first."""
    if not spool.is_dir():
        return []
    return sorted(spool.glob("*/*.webm"), key=lambda p: p.stat().st_mtime)


def repair(path: Path) -> float:
    """Rewrite ``path`` in place by a stream-copy remux; returns its duration (seconds),
    0 when nothing in it was readable."""
    fixed = path.with_suffix(".repaired")
    try:
        packets = remux(path, fixed)
    except Exception:
        log.exception("recording %s cannot be read, nothing to repair", path)
        fixed.unlink(missing_ok=True)
        return 0.0
    if packets == 0:
        fixed.unlink(missing_ok=True)
        return 0.0
    fixed.replace(path)
    return probe(path).duration


async def recover(spool: Path, sealer: Sealer) -> list[Segment]:
    """Repair and seal every unfinished recording; returns the segments sealed."""
    sealed = []
    for path in unfinished(spool):
        if is_held(path):
            continue  # another worker of this server is writing it
        try:
            meta = json.loads(sidecar_path(path).read_text(encoding="utf-8"))
            segment = Segment.from_meta(path, meta)
        except (OSError, ValueError, KeyError):
            log.error("recording %s has no readable metadata; left in the spool", path)
            continue
        duration = await asyncio.to_thread(repair, path)
        if duration <= 0:
            log.warning("recording %s held no media; removed", path)
            path.unlink(missing_ok=True)
            sidecar_path(path).unlink(missing_ok=True)
            continue
        segment = replace(segment, ended_at=segment.started_at + timedelta(seconds=duration))
        await sealer.seal(segment, repaired=True)
        log.info("recording %s repaired (%.1f s) and sealed", path.name, duration)
        sealed.append(segment)
    return sealed
