"""The recordings' command-line jobs: ``examroom retention run`` and the recording part
of ``examroom audit verify``."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from recordings.integrity import FilesReport, verify_files
from recordings.retention import RetentionReport, run_retention
from recordings.service import close_store, evidence_places, make_store, policy_of
from server.clock import Clock
from server.progress import ProgressBar
from server.settings import Settings


async def _with_store(settings: Settings, job: Any) -> Any:
    from server.database import make_engine, make_sessionmaker, migrate

    engine = make_engine(settings)
    store = make_store(settings)
    try:
        await migrate(engine)
        async with make_sessionmaker(engine)() as db:
            return await job(db, store)
    finally:
        await close_store(store)
        await engine.dispose()


def verify_recordings(settings: Settings) -> FilesReport:
    """Re-hash every stored recording against the manifest."""
    return asyncio.run(_with_store(settings, verify_files))  # type: ignore[no-any-return]


def retention_command(settings: Settings, dry_run: bool) -> int:
    """Delete (or with ``dry_run`` list) every expired recording and the rest of every
    expired session's evidence, with a progress bar;
    ends with one JSON line of what was done."""
    bars: list[ProgressBar] = []

    def total(count: int) -> None:
        bars.append(ProgressBar(count, "retention" + (" (dry run)" if dry_run else "")))

    def progress(step: int) -> None:
        bars[0].advance(step)

    async def job(db: Any, store: Any) -> RetentionReport:
        return await run_retention(
            db,
            store,
            policy_of(settings),
            Clock().now(),
            places=evidence_places(settings),
            dry_run=dry_run,
            progress=progress,
            total=total,
        )

    report: RetentionReport = asyncio.run(_with_store(settings, job))
    for bar in bars:
        bar.close()
    verb = "would delete" if dry_run else "deleted"
    for key in report.deleted:
        print(f"{verb} {key}")
    for item in report.evidence:
        print(f"{verb} {item.count} {item.kind} of {item.session}")
    print(
        json.dumps(
            {
                "dry_run": dry_run,
                "deleted": len(report.deleted),
                "bytes": report.bytes_freed,
                "evidence": [
                    {"session": item.session, "kind": item.kind, "count": item.count}
                    for item in report.evidence
                ],
                "held_sessions": report.held_sessions,
            }
        )
    )
    return 0
