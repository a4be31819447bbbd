"""ICE servers from settings: STUN, and TURN with time-limited credentials.

TURN credentials follow coturn's REST-API scheme (``--use-auth-secret``): the username is
``"<expiry unix time>:<user id>"`` and the password is base64(HMAC-SHA1(secret, username)).
coturn recomputes the HMAC with its ``static-auth-secret`` and refuses expired usernames,
so credentials handed to a browser stop working on their own after ``turn_ttl_seconds``.

Browsers get STUN and TURN (:func:`ice_servers_for`). The server's own peer connections
get STUN only (:func:`server_configuration`): the SFU is reachable on its own address, a
learner behind a strict network reaches it through the learner's TURN relay, and TURN
credentials baked into a long-lived configuration would expire under it. The list is
always explicit, because aiortc falls back to a public Google STUN server when it gets
``None`` — traffic that must never leave the deployment.

ICE consent (RFC 7675): aioice checks it every ~5 s with a *single* STUN request that
times out after 0.5 s, and closes the connection after six misses in a row. A process
whose event loop lags by more than 0.5 s for ~30 s (an overloaded room) therefore drops
every connection at once. :func:`install_tolerant_consent` (installed with the decoder
bypass) keeps the 5 s checks but retransmits each request (0.5, 1, 2 s) and lets consent
expire only when no check has been answered for 30 s, the limit RFC 7675 sets.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import inspect
import logging
import random
import time
from datetime import datetime
from typing import Any

import aioice.ice
import aioice.stun
from aiortc import RTCConfiguration, RTCIceServer

from server.settings import Settings

log = logging.getLogger(__name__)

#: Seconds without an answered consent check before a connection is closed (RFC 7675).
CONSENT_TIMEOUT = 30.0
#: Retransmissions of each consent request (tries at 0, 0.5, 1.5 s, given up at 3.5 s).
CONSENT_RETRANSMISSIONS = 2


def split_urls(raw: str) -> list[str]:
    """The URLs of a comma-separated setting, blanks dropped."""
    return [url.strip() for url in raw.split(",") if url.strip()]


def turn_credentials(secret: str, user_id: str | int, now: datetime, ttl: int) -> tuple[str, str]:
    """A TURN ``(username, credential)`` valid for ``ttl`` seconds from ``now`` (coturn REST)."""
    expiry = int(now.timestamp()) + int(ttl)
    username = f"{expiry}:{user_id}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode("ascii")


def ice_servers_for(settings: Settings, user_id: str | int, now: datetime) -> list[dict[str, Any]]:
    """The ``RTCIceServer`` dicts a browser of this user passes to ``RTCPeerConnection``."""
    servers: list[dict[str, Any]] = []
    stun = split_urls(settings.stun_urls)
    if stun:
        servers.append({"urls": stun})
    turn = split_urls(settings.turn_urls)
    if turn and settings.turn_secret:
        username, credential = turn_credentials(
            settings.turn_secret, user_id, now, settings.turn_ttl_seconds
        )
        servers.append({"urls": turn, "username": username, "credential": credential})
    return servers


def server_configuration(settings: Settings) -> RTCConfiguration:
    """The aiortc configuration of the server's peer connections: explicit STUN, no TURN.

    An empty list when no STUN is configured (host candidates suffice on a reachable
    address and on loopback); never ``None``, which would mean aiortc's public STUN.
    """
    stun = split_urls(settings.stun_urls)
    servers = [RTCIceServer(urls=stun)] if stun else []
    return RTCConfiguration(iceServers=servers)


async def tolerant_query_consent(self: Any) -> None:
    """``aioice.ice.Connection.query_consent`` with retransmitted checks and a 30 s expiry."""
    assert self.remote_password is not None
    answered = time.monotonic()
    while True:
        interval = aioice.ice.CONSENT_INTERVAL
        await asyncio.sleep(interval * (0.8 + 0.4 * random.random()))
        for pair in list(self._nominated.values()):
            request = self.build_request(pair, nominate=False)
            try:
                await pair.protocol.request(
                    request,
                    pair.remote_addr,
                    integrity_key=self.remote_password.encode("utf8"),
                    retransmissions=CONSENT_RETRANSMISSIONS,
                )
                answered = time.monotonic()
            except aioice.stun.TransactionError:
                log.info("ICE consent check unanswered for %.1f s", time.monotonic() - answered)
        if time.monotonic() - answered >= CONSENT_TIMEOUT:
            log.info("ICE consent expired: no answer for %.0f s", CONSENT_TIMEOUT)
            self._query_consent_task = None
            await self.close()
            return


def consent_problems() -> list[str]:
    """What :func:`tolerant_query_consent` relies on in aioice."""
    connection: Any = getattr(aioice.ice, "Connection", None)
    problems = []
    query = getattr(connection, "query_consent", None)
    query = getattr(query, "__wrapped__", query)
    names = getattr(getattr(query, "__code__", None), "co_names", ())
    for name in ("_nominated", "build_request", "remote_password", "_query_consent_task"):
        if name not in names:
            problems.append(f"aioice Connection.query_consent no longer uses {name}")
    if not isinstance(getattr(aioice.ice, "CONSENT_INTERVAL", None), int | float):
        problems.append("aioice.ice.CONSENT_INTERVAL is gone")
    request = getattr(getattr(aioice.ice, "StunProtocol", None), "request", None)
    if request is None or "retransmissions" not in inspect.signature(request).parameters:
        problems.append("aioice StunProtocol.request(..., retransmissions) is gone")
    if not isinstance(getattr(aioice.stun, "TransactionError", None), type):
        problems.append("aioice.stun.TransactionError is gone")
    return problems


def tolerant_consent_installed() -> bool:
    """Whether aioice connections use :func:`tolerant_query_consent`."""
    return getattr(aioice.ice.Connection, "query_consent", None) is tolerant_query_consent


def install_tolerant_consent() -> None:
    """Replace aioice's consent check process-wide (idempotent; checked by
    :func:`consent_problems` through ``proctor.bypass.internals_problems``)."""
    connection: Any = aioice.ice.Connection
    if not tolerant_consent_installed():
        tolerant_query_consent.__wrapped__ = connection.query_consent  # type: ignore[attr-defined]
        connection.query_consent = tolerant_query_consent
