"""Real ``examroom`` processes for tests: the CLI as a subprocess, servers on free ports.

:func:`start_server` runs ``python -m server.cli <command> …`` on a free 127.0.0.1 port with
its own data directory, waits until ``/api/openapi.json`` answers and returns a
:class:`ServerProc`; :func:`running_server` does the same as a context manager that always
stops the process (its whole process group, so ``--workers`` children go too).
:func:`run_cli` runs one CLI command to completion. Both take the database from
:func:`db_env` of the test's :class:`~server.settings.Settings`, so a PostgreSQL run passes
``EXAMROOM_DATABASE_URL`` and ``EXAMROOM_DATABASE_SCHEMA``. :func:`running_demo` runs the
demo server of the browser tests (its own SQLite data directory).

Also here: :func:`seed_database` and :func:`database` (the test's database directly, for
seeding before a server starts and checking after it died), and the real clients of a
server, :class:`Api` (aiohttp, logged in, CSRF) and :class:`QuizSocket` (python-socketio
on ``/quiz`` with the session cookie, recording ``taken_over`` and ``submitted``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import socketio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.clock import Clock
from server.database import make_engine, make_sessionmaker, migrate
from server.settings import Settings
from server.users import Passwords
from tests.seed import PASSWORD, Seed, seed_basic

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
READY_TIMEOUT = 30.0
CLI_TIMEOUT = 60.0


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def db_env(settings: Settings) -> dict[str, str]:
    """The ``EXAMROOM_*`` variables that point a subprocess at the test's database."""
    env = {"EXAMROOM_DATA_DIR": str(settings.data_dir)}
    if settings.database_url:
        env["EXAMROOM_DATABASE_URL"] = settings.database_url
    if settings.database_schema:
        env["EXAMROOM_DATABASE_SCHEMA"] = settings.database_schema
    return env


def _environ(extra: Mapping[str, str]) -> dict[str, str]:
    # Start from the test process's environment without any EXAMROOM_* of its own, so
    # only what the test says reaches the server.
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXAMROOM_")}
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    env.update(extra)
    return env


def run_cli(
    args: Sequence[str],
    env: Mapping[str, str],
    *,
    input_text: str | None = None,
    timeout: float = CLI_TIMEOUT,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m server.cli ARGS`` to completion; stdout and stderr are captured."""
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        env=_environ(env),
        cwd=REPO,
        input=input_text,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@dataclass
class ServerProc:
    """A running ``examroom`` server process."""

    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path
    env: dict[str, str] = field(repr=False)

    @property
    def url(self) -> str:
        """The base URL, without a trailing slash."""
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        """The id of the process started (the parent when it runs workers)."""
        return self.proc.pid

    def output(self) -> str:
        """Everything the server printed so far (stdout and stderr)."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def alive(self) -> bool:
        """True while the process runs."""
        return self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the server and every process of its group; no shutdown code runs."""
        self._signal_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM (a graceful shutdown), then SIGKILL after ``timeout``; returns the exit code."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=timeout)
        # Whatever is left of the group (workers of a killed parent) goes too.
        self._signal_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        return self.proc.returncode

    def _signal_group(self, signum: int) -> None:
        # The server was started in a session of its own: its pid is its group id.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signum)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/api/openapi.json", timeout=2) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _listens(pid: int, port: int) -> bool:
    """True when process ``pid`` holds the socket listening on ``port`` (Linux /proc).

    Another test's server that grabbed the same "free" port would answer the readiness
    probe too; this tells ours apart. Without /proc it cannot tell and says yes.
    """
    try:
        table = Path("/proc/net/tcp").read_text().splitlines()[1:]
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return True
    listening = {
        f"socket:[{fields[9]}]"
        for fields in (line.split() for line in table)
        if fields[3] == "0A" and int(fields[1].split(":")[1], 16) == port  # TCP_LISTEN
    }
    for fd in fds:
        with contextlib.suppress(OSError):
            if os.readlink(fd) in listening:
                return True
    return False


class PortTaken(RuntimeError):
    """The port was free when chosen but another process listens on it now."""


def _launch(
    command: str, env: Mapping[str, str], log_dir: Path, args: Sequence[str], port: int
) -> ServerProc:
    log_path = log_dir / f"server-{command}-{port}-{time.monotonic_ns()}.log"
    full_env = _environ({**env, "EXAMROOM_HOST": HOST, "EXAMROOM_PORT": str(port)})
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "server.cli", command, *args],
            env=full_env,
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return ServerProc(proc, port, log_path, full_env)


def _wait_ready(server: ServerProc, command: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if not server.alive():
            output = server.output()
            if "address already in use" in output.lower():
                raise PortTaken(output)
            raise RuntimeError(
                f"examroom {command} exited with {server.proc.returncode}:\n{output}"
            )
        if _answers(server.url):
            if _listens(server.pid, server.port):
                return
            if not server.alive():
                continue  # it failed to bind: reported above on the next round
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"examroom {command} did not answer within {timeout} s:\n{server.output()}"
            )
        time.sleep(0.1)


def start_server(
    command: str,
    env: Mapping[str, str],
    log_dir: Path,
    *,
    args: Sequence[str] = (),
    port: int | None = None,
    timeout: float = READY_TIMEOUT,
) -> ServerProc:
    """Start ``examroom COMMAND`` (serve or demo) and wait until it answers HTTP.

    ``env`` holds the ``EXAMROOM_*`` settings (see :func:`db_env`); host and port are set
    here (a free port unless ``port`` is given; a chosen port taken meanwhile by another
    process is replaced, up to three times). Raises ``RuntimeError`` with the server's
    output when it exits or does not answer within ``timeout`` seconds.
    """
    log_dir.mkdir(parents=True, exist_ok=True)
    tries = 1 if port else 3
    for attempt in range(tries):
        server = _launch(command, env, log_dir, args, port or free_port())
        try:
            _wait_ready(server, command, timeout)
            return server
        except PortTaken:
            server.stop(timeout=5)
            if attempt == tries - 1:
                raise
        except BaseException:
            server.stop(timeout=5)
            raise
    raise AssertionError("unreachable")


@contextlib.contextmanager
def running_server(
    command: str,
    env: Mapping[str, str],
    log_dir: Path,
    *,
    args: Sequence[str] = (),
    port: int | None = None,
    timeout: float = READY_TIMEOUT,
) -> Iterator[ServerProc]:
    """:func:`start_server` as a context manager; the server is stopped on the way out."""
    server = start_server(command, env, log_dir, args=args, port=port, timeout=timeout)
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def running_demo(base: Path, *flags: str, timeout: float = READY_TIMEOUT) -> Iterator[ServerProc]:
    """``examroom demo`` (logging warnings only) with a fresh data directory
    ``base/data`` and its log in ``base``, given setting ``flags`` such as
    ``("--identity-check", "required")``; stopped on the way out (:func:`running_server`)."""
    args = ("--data-dir", str(base / "data"), "--log-level", "WARNING", *flags)
    with running_server("demo", {}, base, args=args, timeout=timeout) as server:
        yield server


# ---------------------------------------------------------------- the database directly


@contextlib.asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on the test's database (migrated), for seeding and checking; disposed after."""
    engine = make_engine(settings)
    try:
        await migrate(engine)
        yield make_sessionmaker(engine)
    finally:
        await engine.dispose()


async def seed_database(settings: Settings, **kwargs: Any) -> Seed:
    """:func:`tests.seed.seed_basic` on the test's database, before any server runs on it."""
    async with database(settings) as sessions, sessions() as db:
        return await seed_basic(db, Passwords(), Clock().now(), **kwargs)


# ---------------------------------------------------------------- clients of a server


class Api:
    """A logged-in HTTP client of a server at ``url``: own cookie jar, CSRF token on writes."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url
        self.http = aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True),
            timeout=aiohttp.ClientTimeout(total=timeout),
        )
        self.csrf = ""
        self.cookie = ""
        self.user: dict[str, Any] = {}

    async def login(self, username: str, password: str) -> Api:
        """Log in; keeps the session cookie (also as :attr:`cookie`) and the CSRF token."""
        async with self.http.post(
            self.url + "/api/login", json={"username": username, "password": password}
        ) as resp:
            body = await resp.json()
            if resp.status != 200:
                raise AssertionError(f"login of {username} failed: {resp.status} {body}")
            self.cookie = resp.cookies["examroom_session"].value
        self.csrf, self.user = body["csrf_token"], body["user"]
        return self

    async def call(self, method: str, path: str, json: Any = None) -> tuple[int, Any]:
        """Call the API; returns the status and the decoded JSON body (or text)."""
        headers = {} if method == "GET" else {"X-CSRF-Token": self.csrf}
        async with self.http.request(method, self.url + path, json=json, headers=headers) as resp:
            if resp.content_type == "application/json":
                return resp.status, await resp.json()
            return resp.status, await resp.text()

    async def close(self) -> None:
        """Close the connection pool."""
        await self.http.close()


class QuizSocket:
    """A real python-socketio client of the ``/quiz`` namespace that records server events."""

    EVENTS = ("taken_over", "submitted")

    def __init__(
        self,
        url: str,
        cookie: str | None,
        transports: list[str] | None = None,
        other_cookies: str = "",
    ) -> None:
        self.url = url
        self.cookie = cookie
        self.other_cookies = other_cookies  # sent before the session cookie, verbatim
        self.transports = transports
        self.sio = socketio.AsyncClient(reconnection=False)
        self.received: dict[str, list[Any]] = defaultdict(list)
        self._arrived: dict[str, asyncio.Event] = {name: asyncio.Event() for name in self.EVENTS}
        for name in self.EVENTS:
            self.sio.on(name, self._recorder(name), namespace="/quiz")

    def _recorder(self, name: str) -> Any:
        async def record(data: Any = None) -> None:
            self.received[name].append(data)
            self._arrived[name].set()

        return record

    async def connect(self, within: float = 10.0) -> QuizSocket:
        """Connect with the session cookie in the handshake, within ``within`` seconds."""
        cookies = [self.other_cookies] if self.other_cookies else []
        if self.cookie:
            cookies.append(f"examroom_session={self.cookie}")
        headers = {"Cookie": "; ".join(cookies)} if cookies else {}
        await asyncio.wait_for(
            self.sio.connect(
                self.url,
                headers=headers,
                namespaces=["/quiz"],
                transports=self.transports,
                wait_timeout=within,
            ),
            within + 1,
        )
        return self

    async def call(self, event: str, data: Any = None, within: float = 10.0) -> Any:
        """Emit an event and return its acknowledgement (no data when ``data`` is None)."""
        return await self.sio.call(event, data, namespace="/quiz", timeout=within)

    async def wait_for(self, event: str, within: float = 10.0) -> Any:
        """The first ``event`` the server sent (waits for it up to ``within`` seconds)."""
        await asyncio.wait_for(self._arrived[event].wait(), within)
        return self.received[event][0]

    async def close(self) -> None:
        """Disconnect (harmless when not connected)."""
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.sio.disconnect(), 5)


__all__ = [
    "HOST",
    "Api",
    "QuizSocket",
    "ServerProc",
    "database",
    "db_env",
    "free_port",
    "run_cli",
    "running_demo",
    "running_server",
    "seed_database",
    "start_server",
]


class Clients:
    """``await clients("learner1")`` → a logged-in :class:`Api`; ``clients.socket(api)`` → a
    connected :class:`QuizSocket`; ``clients.learner(name)`` → both. Closed together."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.apis: list[Api] = []
        self.sockets: list[QuizSocket] = []

    async def __call__(self, username: str) -> Api:
        api = Api(self.url)
        self.apis.append(api)
        return await api.login(username, PASSWORD)

    async def socket(self, api: Api | None) -> QuizSocket:
        sock = QuizSocket(self.url, api.cookie if api else None)
        self.sockets.append(sock)
        return await sock.connect()

    async def learner(self, username: str) -> tuple[Api, QuizSocket]:
        api = await self(username)
        return api, await self.socket(api)

    async def close(self) -> None:
        for sock in self.sockets:
            await sock.close()
        for api in self.apis:
            await api.close()
