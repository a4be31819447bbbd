"""The hash-chained audit log on both backends: appends chain, tampering is found where it is."""

from __future__ import annotations

import asyncio
import itertools
from datetime import timedelta
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server import audit
from server.appkeys import CLOCK, SESSIONS
from server.audit import GENESIS, AuditEntry, ChainReport, entry_hash, verify_chain


async def _append(
    sessions: async_sessionmaker[AsyncSession], app: web.Application, n: int
) -> list[int]:
    ids = []
    for i in range(n):
        async with sessions() as db:
            entry = await audit.record(
                db,
                app[CLOCK].now() + timedelta(seconds=i),
                i + 1,
                "test.action",
                "thing",
                i,
                note=f"запись {i}",
                amount=i * 10,
            )
            await db.commit()
            ids.append(entry.id)
    return ids


async def _verify(sessions: async_sessionmaker[AsyncSession]) -> ChainReport:
    async with sessions() as db:
        return await verify_chain(db)


async def _sql(sessions: async_sessionmaker[AsyncSession], statement: str, **params: Any) -> None:
    async with sessions() as db:
        await db.execute(text(statement), params)
        await db.commit()


async def test_entries_chain_and_verify(client: TestClient[Any, Any], app: web.Application) -> None:
    sessions = app[SESSIONS]
    assert await _verify(sessions) == ChainReport(0, None)
    ids = await _append(sessions, app, 5)

    # Concurrent writers still make one chain: no two entries link to the same predecessor.
    async def one(i: int) -> None:
        async with sessions() as db:
            await audit.record(db, app[CLOCK].now(), None, "test.burst", "x", i)
            await db.commit()

    await asyncio.gather(*(one(i) for i in range(12)))
    report = await _verify(sessions)
    assert report.ok and report.entries == 17, report
    async with sessions() as db:
        entries = list(await db.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    assert [e.id for e in entries[:5]] == ids
    assert entries[0].prev_hash == GENESIS
    for previous, entry in itertools.pairwise(entries):
        assert entry.prev_hash == previous.hash
    assert len({e.prev_hash for e in entries}) == len(entries)
    first = entries[0]
    assert first.at.microsecond == 0 and first.at.tzinfo is not None
    assert first.hash == entry_hash(
        GENESIS, first.at, 1, "test.action", "thing", "0", first.details
    )
    assert first.details == '{"amount": 0, "note": "запись 0"}'


async def test_tampering_is_reported_at_the_first_broken_entry(
    client: TestClient[Any, Any],
    app: web.Application,
) -> None:
    sessions = app[SESSIONS]
    ids = await _append(sessions, app, 6)
    async with sessions() as db:
        original = {e.id: e for e in await db.scalars(select(AuditEntry))}
    third, fourth = ids[2], ids[3]
    content = "entry content does not match its hash"
    async with sessions() as db:
        dialect = db.get_bind().dialect.name
    later = "at + INTERVAL '1 second'" if dialect == "postgresql" else "datetime(at, '+1 second')"
    for column, value in [
        ("details", "'{\"amount\": 999}'"),
        ("actor_id", "42"),
        ("action", "'test.other'"),
        ("object_id", "'7'"),
        ("at", later),
    ]:
        await _sql(sessions, f"UPDATE audit_log SET {column} = {value} WHERE id = :id", id=third)
        assert await _verify(sessions) == ChainReport(3, third, content), column
        async with sessions() as db:
            await db.execute(
                update(AuditEntry)
                .where(AuditEntry.id == third)
                .values({column: getattr(original[third], column)})
            )
            await db.commit()
        assert (await _verify(sessions)).ok, f"restoring {column} mends the chain"

    # Rewriting an entry together with its own hash breaks the link of the next one.
    forged = '{"amount": 20, "note": "подделка"}'
    e = original[third]
    new_hash = entry_hash(
        e.prev_hash, e.at, e.actor_id, e.action, e.object_type, e.object_id, forged
    )
    await _sql(
        sessions,
        "UPDATE audit_log SET details = :d, hash = :h WHERE id = :id",
        d=forged,
        h=new_hash,
        id=third,
    )
    assert await _verify(sessions) == ChainReport(4, fourth, "previous hash does not match")
    await _sql(
        sessions,
        "UPDATE audit_log SET details = :d, hash = :h WHERE id = :id",
        d=e.details,
        h=e.hash,
        id=third,
    )
    assert (await _verify(sessions)).ok

    # Deleting a middle entry is reported at the entry that followed it.
    await _sql(sessions, "DELETE FROM audit_log WHERE id = :id", id=third)
    assert await _verify(sessions) == ChainReport(3, fourth, "previous hash does not match")
