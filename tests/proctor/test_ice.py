"""ICE servers from settings: coturn REST credentials, browser dicts, the server's config."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection

from proctor.ice import ice_servers_for, server_configuration, split_urls, turn_credentials
from server.errors import ConfigError
from server.settings import SETTINGS, Settings, load_settings

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)  # 1700000000
TURN = "turn:turn.example.org:3478?transport=udp,turns:turn.example.org:443?transport=tcp"


def reference_credential(secret: str, username: str) -> str:
    """coturn's check, written out independently of the code under test."""
    return base64.b64encode(
        hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    ).decode()


def test_turn_credential_matches_a_known_vector() -> None:
    # Computed with `printf '1700003600:42' | openssl dgst -sha1 -hmac north -binary | base64`.
    assert turn_credentials("north", 42, NOW, 3600) == (
        "1700003600:42",
        "WO3ZFttCQxBYtA2Ohz7jjGcQStA=",
    )


@pytest.mark.parametrize(
    ("secret", "user_id", "now", "ttl", "username"),
    [
        ("north", 42, NOW, 3600, "1700003600:42"),
        ("north", "u42", NOW, 60, "1700000060:u42"),
        ("секрет-ünicode", 7, NOW, 86400, "1700086400:7"),
        # The instant, not the wall-clock zone, decides the expiry.
        ("s", 1, NOW.astimezone(timezone(timedelta(hours=3))), 10, "1700000010:1"),
        # Sub-second parts are dropped, as coturn compares whole seconds.
        ("s", 1, NOW + timedelta(microseconds=999_999), 10, "1700000010:1"),
    ],
)
def test_turn_credentials_follow_the_coturn_rest_scheme(
    secret: str, user_id: Any, now: datetime, ttl: int, username: str
) -> None:
    got_username, credential = turn_credentials(secret, user_id, now, ttl)
    assert got_username == username
    assert credential == reference_credential(secret, username)
    assert turn_credentials(secret + "x", user_id, now, ttl)[1] != credential


@pytest.mark.parametrize(
    ("raw", "urls"),
    [
        ("", []),
        (" , ", []),
        ("stun:a.example:3478", ["stun:a.example:3478"]),
        (" stun:a , stun:b ", ["stun:a", "stun:b"]),
        (TURN, TURN.split(",")),
    ],
)
def test_split_urls(raw: str, urls: list[str]) -> None:
    assert split_urls(raw) == urls


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, []),
        ({"stun_urls": "stun:stun.example.org:3478"}, [{"urls": ["stun:stun.example.org:3478"]}]),
        # TURN URLs without a secret give no TURN (no credentials to hand out).
        ({"turn_urls": TURN}, []),
        # A secret without URLs names no server.
        ({"turn_secret": "north"}, []),
        (
            {"turn_urls": TURN, "turn_secret": "north"},
            [
                {
                    "urls": TURN.split(","),
                    "username": "1700003600:42",
                    "credential": "WO3ZFttCQxBYtA2Ohz7jjGcQStA=",
                }
            ],
        ),
        (
            {"stun_urls": "stun:s1,stun:s2", "turn_urls": TURN, "turn_secret": "north"},
            [
                {"urls": ["stun:s1", "stun:s2"]},
                {
                    "urls": TURN.split(","),
                    "username": "1700003600:42",
                    "credential": "WO3ZFttCQxBYtA2Ohz7jjGcQStA=",
                },
            ],
        ),
        (
            {"turn_urls": TURN, "turn_secret": "north", "turn_ttl_seconds": 60},
            [
                {
                    "urls": TURN.split(","),
                    "username": "1700000060:42",
                    "credential": reference_credential("north", "1700000060:42"),
                }
            ],
        ),
    ],
)
def test_ice_servers_for_browsers(changes: dict[str, Any], expected: list[dict[str, Any]]) -> None:
    assert ice_servers_for(Settings().replace(**changes), 42, NOW) == expected


@pytest.mark.parametrize(
    ("changes", "servers"),
    [
        ({}, []),
        # TURN is for browsers; the server never takes a relay for itself.
        ({"turn_urls": TURN, "turn_secret": "north"}, []),
        ({"stun_urls": "stun:s1:3478"}, [RTCIceServer(urls=["stun:s1:3478"])]),
    ],
)
def test_server_configuration_is_explicit(
    changes: dict[str, Any], servers: list[RTCIceServer]
) -> None:
    config = server_configuration(Settings().replace(**changes))
    assert isinstance(config, RTCConfiguration)
    # None would make aiortc fall back to a public STUN server.
    assert config.iceServers is not None
    assert config.iceServers == servers


async def test_no_public_stun_is_contacted_without_configuration() -> None:
    """A real peer connection with the server's configuration gathers host candidates only."""
    pc = RTCPeerConnection(server_configuration(Settings()))
    try:
        pc.addTransceiver("video", direction="recvonly")
        await pc.setLocalDescription(await pc.createOffer())
        sdp = pc.localDescription.sdp
        assert "a=candidate:" in sdp
        assert "typ srflx" not in sdp and "typ relay" not in sdp
        gatherer = pc.getTransceivers()[0].receiver.transport.transport.iceGatherer
        assert gatherer._connection.stun_server is None
        assert gatherer._connection.turn_server is None
    finally:
        await pc.close()


@pytest.mark.parametrize(
    ("env", "field", "expected"),
    [
        ({"EXAMROOM_STUN_URLS": " stun:a:3478 , stun:b "}, "stun_urls", "stun:a:3478,stun:b"),
        ({"EXAMROOM_TURN_URLS": TURN}, "turn_urls", TURN),
        ({"EXAMROOM_TURN_SECRET": "north"}, "turn_secret", "north"),
        ({"EXAMROOM_TURN_TTL_SECONDS": "600"}, "turn_ttl_seconds", 600),
    ],
)
def test_ice_settings_are_read(env: dict[str, str], field: str, expected: object) -> None:
    assert getattr(load_settings(env), field) == expected


@pytest.mark.parametrize(
    "env",
    [
        {"EXAMROOM_STUN_URLS": "turn:a:3478"},
        {"EXAMROOM_STUN_URLS": "stun.example.org:3478"},
        {"EXAMROOM_STUN_URLS": "stun:"},
        {"EXAMROOM_TURN_URLS": "stun:a:3478"},
        {"EXAMROOM_TURN_URLS": "https://turn.example.org"},
        {"EXAMROOM_TURN_URLS": "turn:a b:3478"},
        {"EXAMROOM_TURN_TTL_SECONDS": "0"},
        {"EXAMROOM_TURN_TTL_SECONDS": "an hour"},
    ],
)
def test_bad_ice_settings_fail_loudly(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(env)
    assert next(iter(env)) in str(info.value)


def test_compose_runs_coturn_with_the_apps_secret() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
    services = compose["services"]
    coturn = services["coturn"]
    assert coturn["image"].startswith("coturn/coturn")
    args = coturn["command"]
    assert "--use-auth-secret" in args and "--no-cli" in args and "--fingerprint" in args
    assert "--listening-port=3478" in args and "--tls-listening-port=443" in args
    assert any(a.startswith("--realm=") for a in args)
    assert any(a.startswith("--min-port=") for a in args)
    assert any(a.startswith("--max-port=") for a in args)
    secret_arg = next(a for a in args if a.startswith("--static-auth-secret="))
    app_env = services["app"]["environment"]
    # The same variable feeds coturn's secret and the app's: credentials verify.
    assert "${EXAMROOM_TURN_SECRET" in secret_arg
    assert "${EXAMROOM_TURN_SECRET" in app_env["EXAMROOM_TURN_SECRET"]
    urls = app_env["EXAMROOM_TURN_URLS"].replace("${TURN_HOST:?set TURN_HOST}", "turn.example.org")
    urls = urls.replace("${TURN_HOST}", "turn.example.org")
    spec = next(s for s in SETTINGS if s.name == "turn_urls")
    assert spec.cast(urls) == urls
    assert "turns:turn.example.org:443?transport=tcp" in split_urls(urls)
