"""Typed keys of the long-lived objects hanging off the aiohttp application."""

from __future__ import annotations

from typing import TYPE_CHECKING

import socketio
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from server.clock import Clock
from server.settings import Settings
from server.users import Passwords

if TYPE_CHECKING:
    from proctor.access import Roster
    from proctor.room import RoomRegistry
    from proctor.snapshots import Thumbnails
    from quiz.journal import AnswerJournal
    from server.i18n import Translator
    from server.pages import Templates

SETTINGS = web.AppKey("settings", Settings)
ENGINE = web.AppKey("engine", AsyncEngine)
SESSIONS = web.AppKey("sessions", async_sessionmaker[AsyncSession])
CLOCK = web.AppKey("clock", Clock)
PASSWORDS = web.AppKey("passwords", Passwords)
SIO = web.AppKey("sio", socketio.AsyncServer)
JOURNAL: web.AppKey[AnswerJournal] = web.AppKey("journal")
TRANSLATOR: web.AppKey[Translator] = web.AppKey("translator")
TEMPLATES: web.AppKey[Templates] = web.AppKey("templates")
ROOMS: web.AppKey[RoomRegistry] = web.AppKey("rooms")
ROSTER: web.AppKey[Roster] = web.AppKey("roster")
THUMBNAILS: web.AppKey[Thumbnails] = web.AppKey("thumbnails")
