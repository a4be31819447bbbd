"""The application factory: ``create_app(settings)`` wires every long-lived object."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

from aiohttp import web

from attestation.api import install as install_attestation
from attestation.mail.mailer import install_mail
from proctor.access import Roster
from proctor.bypass import install_decoder_bypass
from proctor.evidence import EVIDENCE, EvidenceStore, evidence_dir
from proctor.ice import server_configuration
from proctor.monitoring import MONITOR, Monitor
from proctor.namespace import ProctorNamespace
from proctor.room import RoomRegistry
from proctor.routes import routes as proctor_routes
from proctor.snapshots import Thumbnails
from quiz.attempts import overdue_attempt_ids, submit
from quiz.catalogue import CATALOGUE, Catalogue
from quiz.journal import AnswerJournal
from quiz.namespace import QuizNamespace
from quiz.routes import QUIZ_NS, attempt_room
from quiz.routes import routes as quiz_routes
from quiz.starts import START_LOCKS, StartLocks
from recordings.routes import routes as recordings_routes
from recordings.service import recordings_context
from server import auth, openapi, pages
from server.appkeys import (
    CLOCK,
    ENGINE,
    JOURNAL,
    PASSWORDS,
    ROOMS,
    ROSTER,
    SESSIONS,
    SETTINGS,
    SIO,
    TEMPLATES,
    THUMBNAILS,
    TRANSLATOR,
)
from server.auth import LOGIN_SLOTS, login_slots
from server.clock import Clock
from server.database import WRITER, make_engine, make_sessionmaker, make_writer, migrate
from server.i18n import Translator
from server.middleware import csrf, errors, headers, identity
from server.pages import Templates
from server.realtime import make_sio
from server.sessions import SESSION_CACHE, SessionCache, purge_expired
from server.settings import Settings
from server.users import Passwords

log = logging.getLogger(__name__)


async def _database(app: web.Application) -> AsyncIterator[None]:
    engine = make_engine(app[SETTINGS])
    await migrate(engine)
    app[ENGINE] = engine
    app[SESSIONS] = make_sessionmaker(engine)
    writer = make_writer(engine, app[SETTINGS])
    if writer is not None:
        await writer.start()
        app[WRITER] = writer
    journal = AnswerJournal(
        engine,
        app[SESSIONS],
        app[CLOCK],
        timedelta(seconds=app[SETTINGS].answer_grace_seconds),
        writer,
    )
    await journal.start()
    app[JOURNAL] = journal
    yield
    await journal.close()
    if writer is not None:
        await writer.close()
    await engine.dispose()


async def sweep_once(app: web.Application) -> list[int]:
    """Submit every attempt whose deadline and grace have passed; returns their ids."""
    now = app[CLOCK].now()
    grace = timedelta(seconds=app[SETTINGS].answer_grace_seconds)
    async with app[SESSIONS]() as db:
        ids = await overdue_attempt_ids(db, now, grace)
    done = []
    for attempt_id in ids:
        async with app[SESSIONS]() as db:
            await submit(db, attempt_id, now, "deadline")
            await db.commit()
        done.append(attempt_id)
        await app[SIO].emit(
            "submitted",
            {"attempt_id": attempt_id, "by": "deadline"},
            room=attempt_room(attempt_id),
            namespace=QUIZ_NS,
        )
    return done


async def _sweeper(app: web.Application) -> AsyncIterator[None]:
    async def loop() -> None:
        ticks = 0
        while True:
            try:
                await sweep_once(app)
                ticks += 1
                if ticks % 1800 == 0:
                    async with app[SESSIONS]() as db:
                        await purge_expired(db, app[CLOCK].now())
                        await db.commit()
            except Exception:
                log.exception("sweeper round failed")
            await asyncio.sleep(app[SETTINGS].sweep_seconds)

    task = asyncio.create_task(loop(), name="attempt-sweeper")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def _media(proctor: ProctorNamespace) -> Callable[[web.Application], AsyncIterator[None]]:
    """The media plane's lifetime: the room registry (decoder bypass installed first),
    the thumbnail maker, the evidence store, the rooms' periodic state updates and the
    learners' monitor; every room is closed on shutdown."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        install_decoder_bypass()
        registry = RoomRegistry(server_configuration(app[SETTINGS]))
        app[ROOMS] = registry
        app[THUMBNAILS] = Thumbnails()
        app[EVIDENCE] = EvidenceStore(evidence_dir(app[SETTINGS]))
        monitor = Monitor(app[SESSIONS], registry, app[ROSTER], app[CLOCK], proctor.push_monitoring)
        app[MONITOR] = monitor
        task = asyncio.create_task(proctor.run_state_updates(), name="proctor-state")
        watcher = asyncio.create_task(monitor.run(), name="proctor-monitor")
        yield
        for running in (task, watcher):
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running
        await registry.close()

    return context


def create_app(settings: Settings, clock: Clock | None = None) -> web.Application:
    """Build the aiohttp application for these settings."""
    app = web.Application(
        middlewares=[errors, headers, identity, csrf],
        client_max_size=settings.max_upload_bytes + 64 * 1024,
    )
    app[SETTINGS] = settings
    app[CLOCK] = clock or Clock()
    app[PASSWORDS] = Passwords()
    app[LOGIN_SLOTS] = login_slots()
    app[SESSION_CACHE] = SessionCache(settings.session_cache_seconds)
    app[CATALOGUE] = Catalogue()
    app[START_LOCKS] = StartLocks()
    app[TRANSLATOR] = Translator(settings.web_dir / "locale")
    app[TEMPLATES] = Templates(settings.web_dir / "templates")
    app[ROSTER] = Roster()
    sio = make_sio(settings)
    sio.register_namespace(QuizNamespace(app))
    proctor = ProctorNamespace(app)
    sio.register_namespace(proctor)
    sio.attach(app)
    app[SIO] = sio
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(_sweeper)
    app.cleanup_ctx.append(_media(proctor))
    app.cleanup_ctx.append(recordings_context)  # after the media plane: seals first
    app.add_routes(auth.routes)
    app.add_routes(openapi.routes)
    app.add_routes(quiz_routes)
    app.add_routes(proctor_routes)
    app.add_routes(recordings_routes)
    app.add_routes(pages.routes)
    install_mail(app, settings, app[CLOCK])  # after the database context: sends from it
    install_attestation(app)
    app.router.add_static("/static/", settings.web_dir / "static", append_version=True)
    return app
