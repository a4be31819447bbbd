"""``examroom serve --workers 2`` with Redis: socket.io events cross worker processes.

Clients connect over the websocket transport until at least two of them are served by
different workers (told apart through /proc: which worker owns the server end of each
client's TCP connection). A takeover and a submission over HTTP, served by whichever
worker, must reach every client. A second deployment on another Redis database of the
same server, with the same attempt ids, must hear none of it. Redis is required; without it
the tests are skipped, except under CI=true, where they fail.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from server.settings import Settings
from tests.seed import PASSWORD
from tests.serverproc import (
    Api,
    QuizSocket,
    ServerProc,
    db_env,
    seed_database,
    start_server,
)

pytestmark = pytest.mark.slow

REDIS_DB = 13  # this test's own Redis databases (13 and 14); flushed before use
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"
OTHER_REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB + 1}"
MAX_CLIENTS = 40


async def _redis_or_skip() -> None:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            pass
    except OSError:
        if os.environ.get("CI") == "true":
            pytest.fail("Redis at 127.0.0.1:6379 is not reachable; CI must test it")
        pytest.skip("Redis is not reachable")
    import redis.asyncio as aioredis

    for url in (REDIS_URL, OTHER_REDIS_URL):
        client = aioredis.Redis.from_url(url)
        try:
            await asyncio.wait_for(client.flushdb(), 5)
        finally:
            await client.aclose()


# ---------------------------------------------------------------- who serves a connection


def _established() -> list[tuple[int, int, int]]:
    """(local port, remote port, inode) of every established IPv4 TCP socket."""
    rows = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[3] != "01":  # TCP_ESTABLISHED
            continue
        local, remote = fields[1].split(":")[1], fields[2].split(":")[1]
        rows.append((int(local, 16), int(remote, 16), int(fields[9])))
    return rows


def _socket_inodes(pid: int) -> set[int]:
    inodes = set()
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(int(target[8:-1]))
    return inodes


def _my_ports(server_port: int) -> set[int]:
    """Local ports of this process's connections to the server."""
    mine = _socket_inodes(os.getpid())
    return {lp for lp, rp, inode in _established() if rp == server_port and inode in mine}


def _worker_of(client_port: int, server_port: int, workers: list[int]) -> int | None:
    """The worker that owns the server end of the connection from ``client_port``."""
    ends = {inode for lp, rp, inode in _established() if lp == server_port and rp == client_port}
    for pid in workers:
        if ends & _socket_inodes(pid):
            return pid
    return None


def _workers(server: ServerProc) -> list[int]:
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    return [int(pid) for pid in children]


# ---------------------------------------------------------------- the test


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[tuple[ServerProc, int]]:
    """Two workers on SQLite with Redis, seeded; yields the server and the test id."""
    await _redis_or_skip()
    settings = Settings(data_dir=tmp_path / "data")
    seed = await seed_database(settings)
    env = {
        **db_env(settings),
        "EXAMROOM_REDIS_URL": REDIS_URL,
        "EXAMROOM_WORKERS": "2",
        "EXAMROOM_LOG_LEVEL": "INFO",
    }
    server = await asyncio.to_thread(start_server, "serve", env, tmp_path / "logs")
    try:
        yield server, seed.test_id
    finally:
        await asyncio.to_thread(server.stop)


async def test_events_reach_clients_of_every_worker(
    cluster: tuple[ServerProc, int],
) -> None:
    server, test_id = cluster
    workers: list[int] = []
    until = time.monotonic() + 10
    while len(workers) < 2 and time.monotonic() < until:
        workers = await asyncio.to_thread(_workers, server)
        await asyncio.sleep(0.1)
    assert len(workers) == 2, workers

    tab = Api(server.url)
    other = Api(server.url)
    sockets: list[QuizSocket] = []
    try:
        await tab.login("learner1", PASSWORD)
        await other.login("learner1", PASSWORD)
        status, attempt = await tab.call("POST", f"/api/tests/{test_id}/attempts", json={})
        assert status == 201, attempt
        attempt_id, lease = attempt["attempt_id"], attempt["lease"]

        served_by: list[int] = []
        while len(set(served_by)) < 2 and len(sockets) < MAX_CLIENTS:
            before = _my_ports(server.port)
            sock = QuizSocket(server.url, tab.cookie, transports=["websocket"])
            sockets.append(sock)
            await sock.connect()
            new = _my_ports(server.port) - before
            assert len(new) == 1, new
            pid = _worker_of(new.pop(), server.port, workers)
            assert pid is not None
            served_by.append(pid)
            ack = await sock.call("join", {"attempt_id": attempt_id, "lease": lease})
            assert ack["ok"] is True and ack["holder"] is True, ack
            if len(set(served_by)) < 2:
                # A worker still starting its app accepts nothing yet: give it time.
                await asyncio.sleep(0.25)
        assert len(set(served_by)) == 2, f"all {len(sockets)} clients landed on one worker"

        assert not any(sock.received for sock in sockets)
        # Whichever worker serves the takeover, clients of both workers hear of it.
        status, taken = await other.call(
            "POST", f"/api/tests/{test_id}/attempts", json={"takeover": True}
        )
        assert status == 200, taken
        for sock, pid in zip(sockets, served_by, strict=True):
            event = await sock.wait_for("taken_over", within=5)
            assert event == {"attempt_id": attempt_id}, pid

        status, result = await other.call(
            "POST", f"/api/attempts/{attempt_id}/submit", json={"lease": taken["lease"]}
        )
        assert status == 200, result
        for sock in sockets:
            assert (await sock.wait_for("submitted", within=5))["attempt_id"] == attempt_id
        # The takeover was logged by one worker, under its own pid.
        log = server.output()
        line = next((ln for ln in log.splitlines() if "taken over" in ln), "")
        assert any(f"[{pid}]" in line for pid in workers), line
    finally:
        for sock in sockets:
            await sock.close()
        await tab.close()
        await other.close()


async def test_another_redis_database_does_not_hear_our_events(tmp_path: Path) -> None:
    """Two deployments on one Redis server, databases 13 and 14, with the same attempt ids."""
    await _redis_or_skip()
    servers: list[ServerProc] = []
    apis: list[Api] = []
    sockets: list[QuizSocket] = []
    try:
        attempts = []
        for name, url in (("ours", REDIS_URL), ("theirs", OTHER_REDIS_URL)):
            settings = Settings(data_dir=tmp_path / name)
            seed = await seed_database(settings)
            env = {**db_env(settings), "EXAMROOM_REDIS_URL": url, "EXAMROOM_LOG_LEVEL": "WARNING"}
            server = await asyncio.to_thread(start_server, "serve", env, tmp_path / "logs")
            servers.append(server)
            api = Api(server.url)
            apis.append(api)
            await api.login("learner1", PASSWORD)
            status, attempt = await api.call("POST", f"/api/tests/{seed.test_id}/attempts", json={})
            assert status == 201, attempt
            sock = QuizSocket(server.url, api.cookie, transports=["websocket"])
            sockets.append(sock)
            await sock.connect()
            await sock.call(
                "join", {"attempt_id": attempt["attempt_id"], "lease": attempt["lease"]}
            )
            attempts.append(attempt)
        ours, theirs = sockets
        assert attempts[0]["attempt_id"] == attempts[1]["attempt_id"]  # same room name

        # Our learner submits; only our tab hears of it.
        attempt = attempts[0]
        status, _ = await apis[0].call(
            "POST",
            f"/api/attempts/{attempt['attempt_id']}/submit",
            json={"lease": attempt["lease"]},
        )
        assert status == 200
        await ours.wait_for("submitted", within=5)
        await asyncio.sleep(1.0)  # time enough for a stray event to arrive
        assert not theirs.received, theirs.received
    finally:
        for sock in sockets:
            await sock.close()
        for api in apis:
            await api.close()
        for server in servers:
            await asyncio.to_thread(server.stop)
