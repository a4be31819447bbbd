"""Several server processes on one port: one listening socket, one process per core.

The parent applies migrations, binds the socket and forks; every worker runs its own app
(engine, answer journal, sweeper) on the inherited socket and the kernel spreads the
connections. Plain HTTP is stateless, so any worker serves any request. socket.io needs
``redis_url`` (events between workers) and the websocket transport or a sticky balancer,
because long-polling requests of one client must reach the same worker.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import socket
from typing import Any

from aiohttp import web

from server.settings import Settings

log = logging.getLogger(__name__)


def _bind(settings: Settings) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in settings.host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((settings.host, settings.port))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


def _worker(settings: Settings, sock: socket.socket) -> None:
    from server.app import create_app
    from server.heap import serving_app

    # force: the handler the parent configured came along with the fork; replace it so
    # the worker's lines carry its pid.
    logging.basicConfig(
        level=settings.log_level.upper(),
        format=f"%(asctime)s %(levelname)s [{os.getpid()}] %(name)s: %(message)s",
        force=True,
    )
    web.run_app(
        serving_app(create_app(settings)),
        sock=sock,
        print=None,
        access_log=None,
        handle_signals=True,
    )


def serve_workers(settings: Settings, workers: int) -> None:
    """Run ``workers`` processes on one port until interrupted."""
    from server.database import make_engine, migrate

    async def prepare() -> None:
        engine = make_engine(settings)
        await migrate(engine)
        await engine.dispose()

    asyncio.run(prepare())
    sock = _bind(settings)
    context = multiprocessing.get_context("fork")
    procs: list[Any] = []
    for _ in range(workers):
        proc = context.Process(target=_worker, args=(settings, sock), daemon=False)
        proc.start()
        procs.append(proc)
    log.info("%d workers listening on %s:%s", workers, settings.host, settings.port)

    def stop(signum: int, _frame: Any) -> None:
        for proc in procs:
            if proc.is_alive():
                os.kill(proc.pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for proc in procs:
        proc.join()
