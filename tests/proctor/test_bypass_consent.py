"""ICE consent that survives a lagging event loop but still expires for a silent peer
(installed with the decoder bypass; RFC 7675 allows 30 s without an answer)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aioice
import aioice.ice
import aioice.stun
import pytest

from proctor import ice
from proctor.bypass import install_decoder_bypass, internals_problems
from tests.proctor.media import wait_for


async def connected_pair() -> tuple[aioice.Connection, aioice.Connection]:
    a = aioice.Connection(ice_controlling=True, components=1, use_ipv6=False)
    b = aioice.Connection(ice_controlling=False, components=1, use_ipv6=False)
    await asyncio.gather(a.gather_candidates(), b.gather_candidates())
    for one, other in ((a, b), (b, a)):
        for candidate in other.local_candidates:
            await one.add_remote_candidate(candidate)
        await one.add_remote_candidate(None)
        one.remote_username = other.local_username
        one.remote_password = other.local_password
    await asyncio.gather(a.connect(), b.connect())
    return a, b


def test_tolerant_consent_is_installed_with_the_bypass() -> None:
    install_decoder_bypass()
    assert aioice.ice.Connection.query_consent is ice.tolerant_query_consent
    assert ice.consent_problems() == []


def test_the_guard_names_a_moved_consent_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(aioice.ice, "CONSENT_INTERVAL")
    assert any("CONSENT_INTERVAL" in p for p in internals_problems())


async def test_checks_are_retransmitted_and_a_silent_peer_expires(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    install_decoder_bypass()
    monkeypatch.setattr(aioice.ice, "CONSENT_INTERVAL", 0.2)
    monkeypatch.setattr(ice, "CONSENT_TIMEOUT", 2.0)
    a, b = await connected_pair()
    requests: list[int | None] = []
    original = aioice.ice.StunProtocol.request

    async def counting(self: Any, request: Any, addr: Any, **kwargs: Any) -> Any:
        requests.append(kwargs.get("retransmissions"))
        return await original(self, request, addr, **kwargs)

    monkeypatch.setattr(aioice.ice.StunProtocol, "request", counting)
    try:
        await asyncio.sleep(0.8)
        assert a._query_consent_task is not None and not a._query_consent_task.done()
        assert requests and set(requests) == {ice.CONSENT_RETRANSMISSIONS}
        silenced = time.monotonic()
        await b.close()  # the peer stops answering
        await wait_for(lambda: a._query_consent_task is None, within=10, what="expiry")
        elapsed = time.monotonic() - silenced
        assert elapsed >= 2.0, f"consent expired after {elapsed:.1f} s, before the timeout"
    finally:
        await a.close()
        await b.close()
