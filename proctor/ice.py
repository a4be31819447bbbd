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
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime
from typing import Any

from aiortc import RTCConfiguration, RTCIceServer

from server.settings import Settings


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
