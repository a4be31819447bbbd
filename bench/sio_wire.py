"""A lean socket.io client for load generation: the socket.io 5 / Engine.IO 4 protocol
spoken directly over one aiohttp websocket.

The server sees exactly what the official clients send (``0`` open, ``40/ns,`` connect,
``42/ns,<id>[event, data]`` with ``43/ns,<id>[ack]``, ``2``/``3`` ping-pong), but the
client side costs a fraction of ``socketio.AsyncClient`` (no background reconnection
machinery, one reader task, acks resolved in place), so the load generator leaves more
of the machine to the server it measures. Used by ``quiz_load.py --sio-client wire``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import aiohttp


class WireError(Exception):
    """The server refused the connection or the namespace, or the socket closed."""


class WireSocket:
    """One websocket with one connected namespace."""

    def __init__(self, namespace: str = "/quiz") -> None:
        self.namespace = namespace
        self.events: list[tuple[str, Any]] = []
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._reader: asyncio.Task[None] | None = None
        self._next_id = 0
        self._acks: dict[int, asyncio.Future[Any]] = {}
        self._connected: asyncio.Future[None] | None = None
        self._prefix = f"/{namespace.strip('/')}," if namespace != "/" else ""

    async def connect(
        self, session: aiohttp.ClientSession, base_url: str, cookie: str, within: float
    ) -> None:
        """Open the websocket (``EIO=4``) and connect the namespace; raises on refusal."""
        url = base_url.rstrip("/") + "/socket.io/?EIO=4&transport=websocket"
        self._ws = await session.ws_connect(
            url, headers={"Cookie": cookie}, timeout=aiohttp.ClientWSTimeout(ws_close=within)
        )
        opened = await asyncio.wait_for(self._ws.receive(), within)
        if opened.type != aiohttp.WSMsgType.TEXT or not opened.data.startswith("0"):
            raise WireError(f"no Engine.IO open packet: {opened.data!r}")
        loop = asyncio.get_running_loop()
        self._connected = loop.create_future()
        self._reader = loop.create_task(self._read())
        await self._ws.send_str(f"40{self._prefix}")
        await asyncio.wait_for(self._connected, within)

    async def call(self, event: str, data: Any, within: float) -> Any:
        """Emit ``event`` with an ack id and wait for the ack's first argument."""
        if self._ws is None or self._ws.closed:
            raise WireError("not connected")
        self._next_id += 1
        ack_id = self._next_id
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._acks[ack_id] = future
        try:
            await self._ws.send_str(
                f"42{self._prefix}{ack_id}{json.dumps([event, data], separators=(',', ':'))}"
            )
            return await asyncio.wait_for(future, within)
        finally:
            self._acks.pop(ack_id, None)

    async def close(self) -> None:
        """Disconnect the namespace and close the websocket."""
        if self._ws is not None and not self._ws.closed:
            with contextlib.suppress(Exception):
                await self._ws.send_str(f"41{self._prefix}")
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    def _fail(self, error: Exception) -> None:
        if self._connected is not None and not self._connected.done():
            self._connected.set_exception(error)
        for future in self._acks.values():
            if not future.done():
                future.set_exception(error)

    async def _read(self) -> None:
        assert self._ws is not None
        prefix = self._prefix
        try:
            async for message in self._ws:
                if message.type != aiohttp.WSMsgType.TEXT:
                    continue
                text: str = message.data
                if text == "2":  # Engine.IO ping from the server
                    await self._ws.send_str("3")
                    continue
                if not text.startswith("4"):
                    continue
                packet, body = text[1:2], text[2:]
                if prefix:
                    if not body.startswith(prefix):
                        continue
                    body = body[len(prefix) :]
                if packet == "0" and self._connected is not None:
                    if not self._connected.done():
                        self._connected.set_result(None)
                elif packet == "4":
                    self._fail(WireError(f"namespace refused: {body}"))
                elif packet == "3":
                    digits = len(body) - len(body.lstrip("0123456789"))
                    future = self._acks.get(int(body[:digits])) if digits else None
                    if future is not None and not future.done():
                        args = json.loads(body[digits:])
                        future.set_result(args[0] if args else None)
                elif packet == "2":
                    args = json.loads(body.lstrip("0123456789"))
                    self.events.append((args[0], args[1] if len(args) > 1 else None))
                elif packet == "1":
                    break
        finally:
            self._fail(WireError("the socket closed"))
