"""Wiring of recordings into the app: the store, the sealer, the crash repair at start,
the recorder on the room registry, and the periodic retention run."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from proctor.evidence import EVIDENCE, EvidenceStore, evidence_dir
from recordings.recorder import Recorder
from recordings.recovery import recover
from recordings.retention import EvidencePlaces, Policy, run_retention
from recordings.s3 import S3Store
from recordings.sealing import Sealer
from recordings.sigv4 import Credentials
from recordings.storage import LocalStore, RecordingStore
from server.appkeys import CLOCK, ROOMS, SESSIONS, SETTINGS
from server.errors import ConfigError
from server.settings import Settings

log = logging.getLogger(__name__)

STORE: web.AppKey[RecordingStore] = web.AppKey("recording_store")
RECORDER: web.AppKey[Recorder] = web.AppKey("recorder")


def spool_dir(settings: Settings) -> Path:
    """Where recordings are written while they last."""
    return settings.recordings_root / "spool"


def make_store(settings: Settings) -> RecordingStore:
    """The store the settings select."""
    if settings.recordings_storage == "s3":
        missing = [
            name
            for name in ("s3_endpoint", "s3_bucket", "s3_access_key", "s3_secret_key")
            if not getattr(settings, name)
        ]
        if missing:
            raise ConfigError("recordings_storage=s3 needs " + ", ".join(missing))
        return S3Store(
            settings.s3_endpoint,
            settings.s3_bucket,
            Credentials(settings.s3_access_key, settings.s3_secret_key, settings.s3_region),
            settings.s3_prefix,
        )
    return LocalStore(settings.recordings_root / "store")


def evidence_places(settings: Settings) -> EvidencePlaces:
    """Where the settings keep the session evidence other than recordings."""
    return EvidencePlaces(settings.files_dir, EvidenceStore(evidence_dir(settings)))


def policy_of(settings: Settings) -> Policy:
    """The retention policy of the settings."""
    return Policy(settings.retention_recordings_days, settings.retention_evidence_days)


async def close_store(store: RecordingStore) -> None:
    """Release the store's connections (S3)."""
    if isinstance(store, S3Store):
        await store.close()


async def recordings_context(app: web.Application) -> AsyncIterator[None]:
    """The recordings' lifetime; appended to ``cleanup_ctx`` after the media plane, so
    recorders end (and seal) before the rooms close."""
    settings = app[SETTINGS]
    store = make_store(settings)
    app[STORE] = store
    clock = app[CLOCK]
    sealer = Sealer(app[SESSIONS], store, clock.now)
    spool = spool_dir(settings)
    repaired = await recover(spool, sealer)
    if repaired:
        log.info("%d unfinished recordings repaired and sealed", len(repaired))
    recorder = Recorder(
        spool, sealer, clock=clock.now, segment_seconds=settings.recording_segment_seconds
    )
    app[RECORDER] = recorder
    if settings.recording:
        recorder.attach(app[ROOMS])
    retention = None
    if settings.retention_interval_hours > 0:
        retention = asyncio.create_task(_retention_loop(app), name="recordings-retention")
    yield
    if retention is not None:
        retention.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await retention
    await recorder.close()
    await close_store(store)


async def _retention_loop(app: web.Application) -> None:
    settings = app[SETTINGS]
    while True:
        try:
            async with app[SESSIONS]() as db:
                report = await run_retention(
                    db,
                    app[STORE],
                    policy_of(settings),
                    app[CLOCK].now(),
                    places=EvidencePlaces(settings.files_dir, app[EVIDENCE]),
                )
            if report.deleted or report.evidence:
                log.info(
                    "retention deleted %d recordings and %d records of other evidence",
                    len(report.deleted),
                    sum(item.count for item in report.evidence),
                )
        except Exception:
            log.exception("retention run failed")
        await asyncio.sleep(settings.retention_interval_hours * 3600)
