#!/usr/bin/env python3
"""Load benchmark of the test-taking path: N learners against a real examroom server.

    python bench/quiz_load.py --learners 2000 [--workers 1] [--seconds 15]

1. Seeds a fresh SQLite database in a temporary data dir (N learners, two 12-question
   tests with a 30-minute limit) and starts ``python -m server.cli serve`` on a free port.
2. Phase 1 (prep, untimed): every learner logs in over HTTP (cookie + CSRF token). The
   client side runs in several processes, each with its own asyncio loop and one aiohttp
   connection pool.
3. Phase 2 (synchronized start): all learners POST /api/tests/<id>/attempts, spread
   uniformly over one second; start latency p50/p99.
4. Phase 3 (answers): every learner answers every question after a random think time,
   through HTTP PUT or the socket.io ``save`` event (``--transport``), then submits.
   Save latency p50/p99 (also per 5-second window after the start, ``save_p99_ms_by_5s``);
   errors = any non-2xx, error ack, exception or timeout. The socket.io learners use the
   lean client of ``bench/sio_wire.py`` (same packets as the official clients, less of
   the shared CPU); ``--sio-client official`` uses python-socketio's ``AsyncClient``.
5. Phase 4 (saturation): ``wrk`` with bench/save.lua PUTs answers round-robin across all
   learners' attempts of a second test; durable saves per second and latency.
6. The server is stopped and the SQLite file is opened directly: every acknowledged answer
   must be stored with the acknowledged option (``answers_lost``), and the answer rows
   written during saturation must match what wrk saw acknowledged.

Progress goes to stderr; stdout gets exactly one JSON line at the end. Exit status is 0
when the run completed with no errors and no lost answers, 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import multiprocessing
import os
import random
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import socketio

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.sio_wire import WireSocket  # noqa: E402

SESSION_COOKIE = "examroom_session"
LUA_SCRIPT = Path(__file__).resolve().parent / "save.lua"
T_START = time.monotonic()


def log(message: str) -> None:
    """Progress on stderr, with the elapsed time."""
    print(f"[{time.monotonic() - T_START:7.1f}s] {message}", file=sys.stderr, flush=True)


def pct(values: list[float], p: float) -> float | None:
    """The p-th percentile (nearest rank) of values, or None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


# ---------------------------------------------------------------------------------------
# Load-generator processes
# ---------------------------------------------------------------------------------------


@dataclass
class Learner:
    index: int
    username: str
    transport: str  # "http" or "socketio"
    offset: float  # start offset within the synchronized second
    real_hash: bool
    cookie: str = ""
    csrf: str = ""
    attempt_id: int = 0
    lease: str = ""


class OfficialSocket:
    """``socketio.AsyncClient`` behind the :class:`WireSocket` interface (for comparison)."""

    def __init__(self, http: aiohttp.ClientSession, cookie: str) -> None:
        self.client = socketio.AsyncClient(
            reconnection=False,
            handle_sigint=False,
            http_session=http,
            websocket_extra_options={"headers": {"Cookie": f"{SESSION_COOKIE}={cookie}"}},
        )

    async def connect(
        self, _session: aiohttp.ClientSession, base: str, _cookie: str, within: float
    ) -> None:
        await self.client.connect(
            base, transports=["websocket"], namespaces=["/quiz"], wait_timeout=within
        )

    async def call(self, event: str, data: Any, within: float) -> Any:
        return await self.client.call(event, data, namespace="/quiz", timeout=within)

    async def close(self) -> None:
        await self.client.disconnect()


@dataclass
class Config:
    port: int
    password: str
    test_id: int
    saturation_test_id: int
    think_min: float
    think_max: float
    conn_limit: int
    timeout: float
    seed: int
    sio_client: str = "wire"


@dataclass
class Results:
    """What one load-generator process measured (pickled back to the parent)."""

    login: list[float] = field(default_factory=list)
    login_real: list[float] = field(default_factory=list)
    start: list[float] = field(default_factory=list)
    start_lag: list[float] = field(default_factory=list)
    sio_connect: list[float] = field(default_factory=list)
    save_http: list[float] = field(default_factory=list)
    save_sio: list[float] = field(default_factory=list)
    #: (seconds after the synchronized start at which a save was sent, its latency)
    save_timeline: list[tuple[float, float]] = field(default_factory=list)
    submit: list[float] = field(default_factory=list)
    acks: list[tuple[int, int, int]] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    error_samples: list[str] = field(default_factory=list)
    learners_done: int = 0
    cpu_s: float = 0.0  # CPU time of this load-generator process so far


class Generator:
    """One load-generator process: its learners, one loop, one connection pool."""

    def __init__(self, conn: Any, cfg: Config, learners: list[Learner]) -> None:
        self.conn = conn
        self.cfg = cfg
        self.learners = learners
        self.base = f"http://127.0.0.1:{cfg.port}"
        self.res = Results()
        self.rng = random.Random(cfg.seed)
        self.t0 = 0.0  # the loop's time of the synchronized start

    def error(self, kind: str, detail: str = "") -> None:
        self.res.errors[kind] += 1
        if len(self.res.error_samples) < 20:
            self.res.error_samples.append(f"{kind}: {detail}"[:300])

    async def serve(self) -> None:
        loop = asyncio.get_running_loop()
        timeout = aiohttp.ClientTimeout(total=self.cfg.timeout)
        self.http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self.cfg.conn_limit, keepalive_timeout=120),
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=timeout,
        )
        # socket.io websockets get their own pool so they never eat the HTTP limit; the
        # cookie goes in each client's own handshake headers (no shared cookie jar).
        self.ws_http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0), cookie_jar=aiohttp.DummyCookieJar()
        )
        try:
            while True:
                message = await loop.run_in_executor(None, self.conn.recv)
                command, args = message[0], message[1:]
                if command == "quit":
                    break
                handler = getattr(self, f"cmd_{command}")
                self.conn.send(await handler(*args))
        finally:
            await self.http.close()
            await self.ws_http.close()

    async def request(
        self, method: str, path: str, learner: Learner, payload: Any
    ) -> tuple[bool, Any, Any, float]:
        """One API call with the learner's cookie and CSRF token: ok, status, body, seconds."""
        headers = {"Cookie": f"{SESSION_COOKIE}={learner.cookie}", "X-CSRF-Token": learner.csrf}
        started = time.perf_counter()
        try:
            async with self.http.request(
                method, self.base + path, json=payload, headers=headers
            ) as resp:
                raw = await resp.read()
                status = resp.status
        except Exception as exc:  # any exception or timeout is an error
            return False, type(exc).__name__, str(exc), time.perf_counter() - started
        elapsed = time.perf_counter() - started
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw[:200].decode("utf-8", "replace")
        return 200 <= status < 300, status, body, elapsed

    # -- phase 1 ------------------------------------------------------------------------

    async def _login(self, learner: Learner, out: list[float]) -> None:
        started = time.perf_counter()
        try:
            async with self.http.post(
                self.base + "/api/login",
                json={"username": learner.username, "password": self.cfg.password},
            ) as resp:
                body = await resp.json(content_type=None)
                cookie = resp.cookies.get(SESSION_COOKIE)
                if resp.status != 200 or cookie is None:
                    self.error(f"login:{resp.status}", str(body))
                    return
        except Exception as exc:
            self.error(f"login:{type(exc).__name__}", str(exc))
            return
        out.append(time.perf_counter() - started)
        learner.cookie = cookie.value
        learner.csrf = body["csrf_token"]

    async def bounded(self, phase: str, coros: list[Any], deadline_wall: float) -> None:
        """Run the coroutines together; whatever is unfinished at the deadline is an error."""
        if not coros:
            return
        tasks = [asyncio.ensure_future(c) for c in coros]
        _, pending = await asyncio.wait(tasks, timeout=max(0.0, deadline_wall - time.time()))
        for task in pending:
            task.cancel()
        if pending:
            self.res.errors[f"abandoned:{phase}"] += len(pending)
            await asyncio.wait(pending, timeout=5)

    async def cmd_login(self, real_hash: bool, deadline_wall: float) -> int:
        """Log in this process's learners: the real-hash ones one by one, the rest at once."""
        chosen = [lr for lr in self.learners if lr.real_hash == real_hash]
        if real_hash:

            async def one_by_one() -> None:
                for learner in chosen:
                    await self._login(learner, self.res.login_real)

            await self.bounded("login", [one_by_one()], deadline_wall)
        else:
            await self.bounded(
                "login", [self._login(lr, self.res.login) for lr in chosen], deadline_wall
            )
        return sum(1 for lr in chosen if lr.cookie)

    # -- phases 2 and 3 -----------------------------------------------------------------

    async def cmd_run(self, t0_wall: float, deadline_wall: float) -> Results:
        """Start at t0 + offset, answer every question, submit; returns the measurements."""
        loop = asyncio.get_running_loop()
        base = loop.time() + (t0_wall - time.time())
        self.t0 = base
        flows = [self._flow(lr, base + lr.offset) for lr in self.learners if lr.cookie]
        cpu = time.process_time()
        await self.bounded("answers", flows, deadline_wall)
        self.res.cpu_s = time.process_time() - cpu
        return self.res

    async def _flow(self, learner: Learner, when: float) -> None:
        loop = asyncio.get_running_loop()
        await asyncio.sleep(max(0.0, when - loop.time()))
        self.res.start_lag.append(loop.time() - when)
        ok, status, body, elapsed = await self.request(
            "POST", f"/api/tests/{self.cfg.test_id}/attempts", learner, {}
        )
        self.res.start.append(elapsed)
        if not ok:
            self.error(f"start:{status}", str(body))
            return
        learner.attempt_id, learner.lease = body["attempt_id"], body["lease"]
        sio = None
        if learner.transport == "socketio":
            sio = await self._sio_open(learner)
        try:
            for question in body["questions"]:
                await asyncio.sleep(self.rng.uniform(self.cfg.think_min, self.cfg.think_max))
                option = self.rng.choice(question["options"])["id"]
                if sio is not None:
                    await self._save_sio(sio, learner, question["id"], option)
                else:
                    await self._save_http(learner, question["id"], option)
            ok, status, body, elapsed = await self.request(
                "POST",
                f"/api/attempts/{learner.attempt_id}/submit",
                learner,
                {"lease": learner.lease},
            )
            self.res.submit.append(elapsed)
            if not ok:
                self.error(f"submit:{status}", str(body))
            else:
                self.res.learners_done += 1
        finally:
            if sio is not None:
                try:
                    await sio.close()
                except Exception as exc:
                    self.error(f"sio_disconnect:{type(exc).__name__}", str(exc))

    async def _sio_open(self, learner: Learner) -> Any:
        """A socket.io client on /quiz (websocket transport) that joined the attempt."""
        if self.cfg.sio_client == "wire":
            sio: Any = WireSocket("/quiz")
        else:
            sio = OfficialSocket(self.ws_http, learner.cookie)
        started = time.perf_counter()
        try:
            await sio.connect(
                self.ws_http, self.base, f"{SESSION_COOKIE}={learner.cookie}", self.cfg.timeout
            )
            ack = await sio.call(
                "join",
                {"attempt_id": learner.attempt_id, "lease": learner.lease},
                within=self.cfg.timeout,
            )
        except Exception as exc:
            self.error(f"sio_connect:{type(exc).__name__}", str(exc))
            with contextlib.suppress(Exception):
                await sio.close()
            return None  # the page falls back to the HTTP API, as the browser does
        self.res.sio_connect.append(time.perf_counter() - started)
        if not isinstance(ack, dict) or "error" in ack or not ack.get("holder"):
            self.error("sio_join", str(ack))
        return sio

    async def _save_http(self, learner: Learner, question_id: int, option_id: int) -> None:
        ok, status, body, elapsed = await self.request(
            "PUT",
            f"/api/attempts/{learner.attempt_id}/answers/{question_id}",
            learner,
            {"option_id": option_id, "lease": learner.lease},
        )
        self.res.save_http.append(elapsed)
        self.res.save_timeline.append(
            (asyncio.get_running_loop().time() - elapsed - self.t0, elapsed)
        )
        if not ok:
            self.error(f"save_http:{status}", str(body))
        elif not (body.get("saved") and body.get("option_id") == option_id):
            self.error("save_http:bad_reply", str(body))
        else:
            self.res.acks.append((learner.attempt_id, question_id, option_id))

    async def _save_sio(self, sio: Any, learner: Learner, question_id: int, option_id: int) -> None:
        payload = {
            "attempt_id": learner.attempt_id,
            "question_id": question_id,
            "option_id": option_id,
            "lease": learner.lease,
        }
        started = time.perf_counter()
        try:
            ack = await sio.call("save", payload, within=self.cfg.timeout)
        except Exception as exc:
            self.res.save_sio.append(time.perf_counter() - started)
            self.error(f"save_sio:{type(exc).__name__}", str(exc))
            return
        self.res.save_sio.append(time.perf_counter() - started)
        self.res.save_timeline.append(
            (
                asyncio.get_running_loop().time() - self.t0 - self.res.save_sio[-1],
                self.res.save_sio[-1],
            )
        )
        if not isinstance(ack, dict) or "error" in ack:
            code = ack.get("error") if isinstance(ack, dict) else "bad_ack"
            self.error(f"save_sio:{code}", str(ack))
        elif not (ack.get("saved") and ack.get("option_id") == option_id):
            self.error("save_sio:bad_ack", str(ack))
        else:
            self.res.acks.append((learner.attempt_id, question_id, option_id))

    # -- phase 4 prep ---------------------------------------------------------------------

    async def cmd_prep_saturation(
        self, deadline_wall: float
    ) -> tuple[list[tuple[Any, ...]], Counter[str]]:
        """Start every learner's attempt of the saturation test; returns wrk's data lines."""
        gate = asyncio.Semaphore(64)
        failures: Counter[str] = Counter()
        lines: list[tuple[Any, ...]] = []

        async def one(learner: Learner) -> None:
            async with gate:
                ok, status, body, _ = await self.request(
                    "POST", f"/api/tests/{self.cfg.saturation_test_id}/attempts", learner, {}
                )
            if not ok:
                failures[f"prep:{status}"] += 1
                return
            for position, question in enumerate(body["questions"]):
                options = [o["id"] for o in question["options"]]
                lines.append(
                    (
                        position,
                        body["attempt_id"],
                        question["id"],
                        learner.cookie,
                        learner.csrf,
                        body["lease"],
                        options,
                    )
                )

        await self.bounded(
            "saturation_prep", [one(lr) for lr in self.learners if lr.cookie], deadline_wall
        )
        return lines, failures


def generator_main(conn: Any, cfg: Config, learners: list[Learner]) -> None:
    """Entry point of a load-generator process."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    asyncio.run(Generator(conn, cfg, learners).serve())


# ---------------------------------------------------------------------------------------
# Server process
# ---------------------------------------------------------------------------------------


def code_version(root: Path) -> str:
    """The server code measured: commit, plus a hash of uncommitted changes (read-only git)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"], cwd=root, capture_output=True,
            text=True, timeout=10, check=True,
        ).stdout.strip()  # fmt: skip
        diff = subprocess.run(
            ["git", "diff", "HEAD", "--", "server", "quiz"], cwd=root, capture_output=True,
            timeout=10, check=True,
        ).stdout  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if not diff:
        return head
    import hashlib

    return f"{head}+dirty:{hashlib.sha256(diff).hexdigest()[:10]}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(args: argparse.Namespace, data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "server.cli", "serve",
        "--data-dir", str(data_dir),
        "--port", str(port),
        "--host", "127.0.0.1",
        "--workers", str(args.workers),
        "--sqlite-synchronous", args.sqlite_synchronous,
        "--log-level", args.server_log_level,
    ]  # fmt: skip
    log(f"server: {' '.join(command[1:])}")
    server_log = open(data_dir / "server.log", "wb")  # noqa: SIM115 (closed with the process)
    root = args.server_root.resolve() if args.server_root else REPO
    env = dict(os.environ, PYTHONPATH=str(root))
    return subprocess.Popen(
        command,
        cwd=root,
        env=env,
        stdout=server_log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_for_server(proc: subprocess.Popen[bytes], port: int, limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    url = f"http://127.0.0.1:{port}/api/openapi.json"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with status {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server did not answer on port {port} within {limit} s")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM (graceful: the journal writes what is queued), then SIGKILL if it hangs."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        log("server did not stop within 30 s; killing it")
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def server_cpu(proc: subprocess.Popen[bytes]) -> float:
    """CPU seconds used so far by the server process and its worker processes."""
    pids = [proc.pid]
    with contextlib.suppress(OSError):
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        pids += [int(pid) for pid in children]
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------------------------------
# Saturation with wrk
# ---------------------------------------------------------------------------------------


def write_wrk_data(path: Path, lines: list[tuple[Any, ...]]) -> int:
    """Question-major order: all learners' first question, then their second, ..."""
    lines.sort(key=lambda line: (line[0], line[1]))
    with path.open("w") as out:
        for _, attempt_id, question_id, cookie, csrf, lease, options in lines:
            out.write("\t".join(map(str, (attempt_id, question_id, cookie, csrf, lease, *options))))
            out.write("\n")
    return len(lines)


def run_wrk(args: argparse.Namespace, port: int, data: Path, out: Path) -> dict[str, Any]:
    env = dict(os.environ)
    env.update(
        SAVE_LUA_DATA=str(data), SAVE_LUA_OUT=str(out), SAVE_LUA_THREADS=str(args.wrk_threads)
    )
    command = [
        args.wrk, f"-t{args.wrk_threads}", f"-c{args.wrk_connections}", f"-d{args.seconds}s",
        "--timeout", "10s", "-s", str(LUA_SCRIPT), f"http://127.0.0.1:{port}/",
    ]  # fmt: skip
    log(f"phase 4: {' '.join(command)}")
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=args.seconds + 120, check=False
    )
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    result: dict[str, Any] = {"statuses": Counter(), "acks": {}, "bad_bodies": 0}
    for line in out.read_text().splitlines():
        key, _, rest = line.partition(" ")
        if key == "ack":
            item, option, count = rest.split()
            attempt_id, question_id = item.split(":")
            result["acks"][(int(attempt_id), int(question_id))] = (int(option), int(count))
        elif key == "status":
            status, count = rest.split()
            result["statuses"][int(status)] += int(count)
        elif key == "bad_bodies":
            result["bad_bodies"] += int(rest)
        elif key == "errors":
            result["errors"] = {k: int(v) for k, v in (kv.split("=") for kv in rest.split())}
        else:
            result[key] = float(rest)
    result["stdout"] = done.stdout
    return result


# ---------------------------------------------------------------------------------------
# Verification in the database
# ---------------------------------------------------------------------------------------


def verify(
    db_path: Path,
    acks: list[tuple[int, int, int]],
    saturation_attempts: set[int],
    wrk_acks: dict[tuple[int, int], tuple[int, int]],
) -> dict[str, Any]:
    """Compare what the clients saw acknowledged with what the SQLite file holds."""
    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        integrity = con.execute("PRAGMA quick_check").fetchone()[0]
        chosen = {
            (aid, qid): oid
            for aid, qid, oid in con.execute(
                "SELECT attempt_id, question_id, chosen_option_id FROM attempt_items"
            )
        }
        last_ack: dict[tuple[int, int], int] = {}
        for attempt_id, question_id, option_id in acks:
            last_ack[(attempt_id, question_id)] = option_id
        lost = sum(1 for key, option in last_ack.items() if chosen.get(key) != option)
        # Saturation: wrk never has two saves of one (attempt, question) in flight and every
        # save changes the option, so each acknowledgement is exactly one answer_events row
        # (committed with the attempt_items update in one transaction). A pair may have one
        # more row than acknowledgements: the save in flight when wrk stopped.
        events: Counter[tuple[int, int]] = Counter()
        last_event: dict[tuple[int, int], int] = {}
        for aid, qid, oid in con.execute(
            "SELECT attempt_id, question_id, option_id FROM answer_events ORDER BY id"
        ):
            if aid in saturation_attempts:
                events[(aid, qid)] += 1
                last_event[(aid, qid)] = oid
        sat_lost = 0
        unacked = 0
        for key, (option, count) in wrk_acks.items():
            stored = events.get(key, 0)
            if stored < count:
                sat_lost += count - stored
            elif stored == count and chosen.get(key) != option:
                sat_lost += 1
            unacked += max(0, stored - count)
        unacked += sum(c for key, c in events.items() if key not in wrk_acks)
        inconsistent = sum(1 for key, oid in last_event.items() if chosen.get(key) != oid)
        submitted = con.execute(
            "SELECT COUNT(*) FROM attempts WHERE status = 'submitted'"
        ).fetchone()[0]
        return {
            "integrity": integrity,
            "answers_lost": lost,
            "acked_answers": len(last_ack),
            "saturation_lost": sat_lost,
            "saturation_rows": sum(events.values()),
            "saturation_acked": sum(count for _, count in wrk_acks.values()),
            "saturation_unacked_rows": unacked,
            "items_inconsistent_with_events": inconsistent,
            "attempts_submitted": submitted,
        }
    finally:
        con.close()


# ---------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--learners", type=int, default=2000, help="simulated learners")
    parser.add_argument("--workers", type=int, default=1, help="server processes (--workers)")
    parser.add_argument("--seconds", type=int, default=15, help="saturation (wrk) duration")
    parser.add_argument("--think-min", type=float, default=0.5, help="min think time, s")
    parser.add_argument("--think-max", type=float, default=3.0, help="max think time, s")
    parser.add_argument(
        "--transport",
        choices=["http", "socketio", "mixed"],
        default="mixed",
        help="how answers are saved: HTTP PUT, socket.io save, or half and half",
    )
    parser.add_argument(
        "--sio-client",
        choices=["wire", "official"],
        default="wire",
        help="socket.io client of the simulated pages: the lean wire client "
        "(bench/sio_wire.py, same packets) or python-socketio's AsyncClient",
    )
    parser.add_argument("--keep", action="store_true", help="keep the data dir")
    parser.add_argument(
        "--sqlite-synchronous", default="FULL", choices=["FULL", "NORMAL", "EXTRA", "OFF"]
    )
    parser.add_argument("--procs", type=int, default=4, help="load-generator processes")
    parser.add_argument(
        "--conn-limit", type=int, default=0,
        help="HTTP connections per load-generator process (0: learners per process, <=500)",
    )  # fmt: skip
    parser.add_argument("--timeout", type=float, default=30.0, help="client timeout per call, s")
    parser.add_argument(
        "--real-hash-learners", type=int, default=20,
        help="learners seeded with the server's own argon2 parameters (logged in one by one"
        " to measure real login cost); the rest get a cheap hash",
    )  # fmt: skip
    parser.add_argument("--wrk", default=shutil.which("wrk") or "wrk", help="wrk binary")
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--wrk-connections", type=int, default=256)
    parser.add_argument("--no-saturation", action="store_true", help="skip phase 4 (wrk)")
    parser.add_argument("--server-log-level", default="INFO")
    parser.add_argument(
        "--server-root",
        type=Path,
        help="run the server from another checkout (e.g. a branch with a fix) instead of"
        " this one; the schema must be the same",
    )
    parser.add_argument(
        "--profile", choices=["none", "answers", "saturation"], default="none",
        help="attach py-spy (if installed) to the server during a phase; the flame graph"
        " and a top-functions table go to the data dir (implies --keep)",
    )  # fmt: skip
    parser.add_argument(
        "--profile-seconds", type=float, default=0.0,
        help="profile only the first seconds of the phase (0: all of it)",
    )  # fmt: skip
    parser.add_argument("--data-dir", type=Path, help="use this (empty) dir instead of a tmp one")
    parser.add_argument("--seed", type=int, default=1, help="random seed")
    parser.add_argument(
        "--wait-quiet", type=float, default=0.0, metavar="LOAD",
        help="first wait until the 1-minute load average is below LOAD (0: do not wait)",
    )  # fmt: skip
    parser.add_argument(
        "--wait-quiet-max", type=float, default=600, help="longest wait for --wait-quiet, s"
    )
    parser.add_argument(
        "--max-seconds", type=float, default=290,
        help="hard budget of the whole run; phases still running then are cut short"
        " and their unfinished learners counted as errors",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.learners < 1 or args.procs < 1 or args.think_min > args.think_max:
        parser.error("need learners >= 1, procs >= 1 and think-min <= think-max")
    if args.profile != "none":
        args.keep = True
    return args


def start_profiler(
    args: argparse.Namespace, proc: subprocess.Popen[bytes], data_dir: Path, phase: str,
    seconds: float,
) -> subprocess.Popen[bytes] | None:  # fmt: skip
    if args.profile != phase:
        return None
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        log("py-spy is not installed; no profile")
        return None
    out = data_dir / f"profile-{phase}"
    command = [
        spy, "record", "--pid", str(proc.pid), "--subprocesses", "--duration",
        str(int(seconds)), "--rate", "200", "--format", "raw", "--output", f"{out}.txt",
        "--nonblocking",
    ]  # fmt: skip
    log(f"profiling: {' '.join(command)}")
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_quiet(threshold: float, limit: float) -> None:
    """Wait (at most ``limit`` s) until the 1-minute load average drops below ``threshold``:
    the machine is shared, and a neighbour's test suite skews every figure."""
    global T_START
    if threshold <= 0:
        return
    deadline = time.monotonic() + limit
    while os.getloadavg()[0] >= threshold and time.monotonic() < deadline:
        log(f"waiting for a quiet machine: load {os.getloadavg()[0]:.2f} >= {threshold}")
        time.sleep(15)
    T_START = time.monotonic()  # the wait is not part of the run


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    wait_quiet(args.wait_quiet, args.wait_quiet_max)
    from bench.seed import PASSWORD, seed
    from server.settings import Settings

    own_dir = args.data_dir is None
    data_dir = (
        Path(tempfile.mkdtemp(prefix="examroom-bench-")) if own_dir else args.data_dir.resolve()
    )
    data_dir.mkdir(parents=True, exist_ok=True)
    out: dict[str, Any] = {
        "learners": args.learners,
        "workers": args.workers,
        "sqlite_synchronous": args.sqlite_synchronous,
        "transport": args.transport,
        "sio_client": args.sio_client,
        "think_s": [args.think_min, args.think_max],
        # This machine is shared: a busy neighbour skews every figure.
        "loadavg_1m_before": round(os.getloadavg()[0], 2),
        "server_code": code_version(args.server_root.resolve() if args.server_root else REPO),
    }
    server: subprocess.Popen[bytes] | None = None
    procs: list[Any] = []
    pipes: list[Any] = []
    exit_code = 1
    try:
        log(f"seeding {args.learners} learners into {data_dir}")
        settings = Settings(data_dir=data_dir, sqlite_synchronous=args.sqlite_synchronous)
        seeded = asyncio.run(seed(settings, args.learners, args.real_hash_learners))
        port = free_port()
        server = start_server(args, data_dir, port)
        wait_for_server(server, port)
        log(f"server up on port {port} (pid {server.pid}, workers {args.workers})")

        # Learners: contiguous blocks per process; transport alternates inside a block.
        rng = random.Random(args.seed)
        n = args.learners
        offsets = [(j + rng.random()) / n for j in range(n)]
        rng.shuffle(offsets)
        learners = []
        for i, name in enumerate(seeded.learners):
            transport = args.transport
            if transport == "mixed":
                transport = "http" if i % 2 == 0 else "socketio"
            learners.append(Learner(i, name, transport, offsets[i], i < args.real_hash_learners))
        nprocs = min(args.procs, n)
        blocks = [learners[k * n // nprocs : (k + 1) * n // nprocs] for k in range(nprocs)]
        conn_limit = args.conn_limit or min(500, max(len(b) for b in blocks))
        ctx = multiprocessing.get_context("fork")
        for k, block in enumerate(blocks):
            parent_end, child_end = ctx.Pipe()
            cfg = Config(
                port, PASSWORD, seeded.test_id, seeded.saturation_test_id, args.think_min,
                args.think_max, conn_limit, args.timeout, args.seed * 1000 + k, args.sio_client,
            )  # fmt: skip
            proc = ctx.Process(target=generator_main, args=(child_end, cfg, block), daemon=True)
            proc.start()
            procs.append(proc)
            pipes.append(parent_end)

        budget_end: float = time.time() + args.max_seconds - (time.monotonic() - T_START)
        # Kept back for phase 4, stopping the server and the checks.
        reserve = (0 if args.no_saturation else args.seconds + 45) + 20

        def until(seconds: float, keep: float = 0.0) -> float:
            """A wall-clock deadline: now + seconds, but within the run's budget."""
            return min(time.time() + seconds, budget_end - keep)

        def ask_all(message: tuple[Any, ...], deadline_wall: float) -> list[Any]:
            """Send a command to every generator; they answer by their deadline."""
            for pipe in pipes:
                pipe.send((*message, deadline_wall))
            replies = []
            for pipe in pipes:
                if not pipe.poll(max(0.0, deadline_wall - time.time()) + 20):
                    raise RuntimeError(f"load generators did not answer {message[0]!r}")
                replies.append(pipe.recv())
            return replies

        # Phase 1: logins.
        t1 = time.monotonic()
        real = 0
        for pipe in pipes:  # the production-cost hashes, one login at a time
            deadline = until(60, reserve + 60)
            pipe.send(("login", True, deadline))
            if not pipe.poll(max(0.0, deadline - time.time()) + 20):
                raise RuntimeError("real-hash logins did not finish in time")
            real += pipe.recv()
        t_real = time.monotonic() - t1
        logged = sum(ask_all(("login", False), until(150, reserve + 60))) + real
        out["login_s"] = round(time.monotonic() - t1, 1)
        log(f"phase 1: {logged}/{n} learners logged in in {out['login_s']} s")

        # Phases 2 and 3: synchronized start, answers, submit.
        t0 = time.time() + 2.0
        expected = seeded.questions_per_attempt * args.think_max + 60
        span = 2 + expected - 60
        profiler = start_profiler(
            args, server, data_dir, "answers", min(span, args.profile_seconds or span)
        )
        log(
            f"phases 2-3: {n} starts spread over 1 s, then {seeded.questions_per_attempt} "
            f"answers each ({args.transport}, think {args.think_min}-{args.think_max} s)"
        )
        t2 = time.monotonic()
        cpu2 = server_cpu(server)
        run_deadline = until(2 + expected + 2 * args.timeout, reserve)
        results: list[Results] = ask_all(("run", t0), run_deadline)
        out["answers_phase_s"] = round(time.monotonic() - t2, 1)
        out["server_cpu_answers_s"] = round(server_cpu(server) - cpu2, 1)
        out["generators_cpu_answers_s"] = round(sum(r.cpu_s for r in results), 1)
        if profiler is not None:
            profiler.wait(timeout=600)
        merged = Results()
        for r in results:
            for name in (
                "login", "login_real", "start", "start_lag", "sio_connect", "save_http",
                "save_sio", "submit", "acks", "error_samples", "save_timeline",
            ):  # fmt: skip
                getattr(merged, name).extend(getattr(r, name))
            merged.errors.update(r.errors)
            merged.learners_done += r.learners_done
        saves = merged.save_http + merged.save_sio
        # Where the slow saves are: p99 by 5-second window after the synchronized start.
        windows: dict[int, list[float]] = {}
        for sent, latency in merged.save_timeline:
            windows.setdefault(max(0, int(sent // 5)) * 5, []).append(latency)
        out["save_p99_ms_by_5s"] = {
            f"{w}-{w + 5}s": [len(v), ms(pct(v, 99))] for w, v in sorted(windows.items())
        }
        out.update(
            start_p50_ms=ms(pct(merged.start, 50)),
            start_p99_ms=ms(pct(merged.start, 99)),
            start_max_ms=ms(max(merged.start, default=None)),
            save_p50_ms=ms(pct(saves, 50)),
            save_p99_ms=ms(pct(saves, 99)),
            save_max_ms=ms(max(saves, default=None)),
            save_http_p99_ms=ms(pct(merged.save_http, 99)),
            save_sio_p99_ms=ms(pct(merged.save_sio, 99)),
            saves_total=len(merged.acks),
            saves_attempted=len(saves),
            errors=sum(merged.errors.values()),
            error_kinds=dict(merged.errors),
            learners_submitted=merged.learners_done,
            login_p50_ms=ms(pct(merged.login, 50)),
            login_p99_ms=ms(pct(merged.login, 99)),
            login_real_hash_p50_ms=ms(pct(merged.login_real, 50)),
            login_real_hash_per_s=round(len(merged.login_real) / t_real, 1) if t_real else None,
            sio_connect_p99_ms=ms(pct(merged.sio_connect, 99)),
            submit_p99_ms=ms(pct(merged.submit, 99)),
            client_start_lag_p99_ms=ms(pct(merged.start_lag, 99)),
        )
        log(
            f"phases 2-3 done in {out['answers_phase_s']} s: start p50/p99 "
            f"{out['start_p50_ms']}/{out['start_p99_ms']} ms, save p50/p99 "
            f"{out['save_p50_ms']}/{out['save_p99_ms']} ms, {out['saves_total']} acked, "
            f"errors {out['errors']} {dict(merged.errors)}"
        )
        for sample in merged.error_samples[:5]:
            log(f"  error sample: {sample}")

        # Phase 4: saturation with wrk.
        wrk: dict[str, Any] = {"acks": {}}
        sat_attempts: set[int] = set()
        if not args.no_saturation and budget_end - time.time() < args.seconds + 40:
            log("phase 4 skipped: not enough time left in --max-seconds")
            out["saturation_skipped"] = "no time left"
        if not args.no_saturation and "saturation_skipped" not in out:
            replies = ask_all(("prep_saturation",), until(90, args.seconds + 40))
            lines = [line for chunk, _ in replies for line in chunk]
            prep_failures: Counter[str] = Counter()
            for _, failures in replies:
                prep_failures.update(failures)
            sat_attempts = {line[1] for line in lines}
            data_file = data_dir / "wrk-data.tsv"
            entries = write_wrk_data(data_file, lines)
            log(
                f"phase 4 prep: {len(sat_attempts)} attempts, {entries} (attempt, question) "
                f"pairs; prep failures {dict(prep_failures)}"
            )
            profiler = start_profiler(args, server, data_dir, "saturation", args.seconds)
            cpu4 = server_cpu(server)
            wrk_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
            wrk = run_wrk(args, port, data_file, data_dir / "wrk-out.txt")
            wrk_cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
            out["server_cpu_saturation_s"] = round(server_cpu(server) - cpu4, 1)
            out["wrk_cpu_s"] = round(
                wrk_cpu_after.ru_utime + wrk_cpu_after.ru_stime
                - wrk_cpu.ru_utime - wrk_cpu.ru_stime,
                1,
            )  # fmt: skip
            if profiler is not None:
                profiler.wait(timeout=600)
            ok_saves = wrk["statuses"].get(200, 0)
            non2xx = sum(c for s, c in wrk["statuses"].items() if not 200 <= s < 300)
            socket_errors = sum(v for k, v in wrk.get("errors", {}).items() if k != "status")
            duration = wrk["duration_us"] / 1e6
            out.update(
                saturation_saves_per_s=round(ok_saves / duration, 1),
                saturation_p50_ms=round(wrk["latency_p50_us"] / 1000, 1),
                saturation_p99_ms=round(wrk["latency_p99_us"] / 1000, 1),
                saturation_max_ms=round(wrk["latency_max_us"] / 1000, 1),
                saturation_requests=int(wrk["requests"]),
                saturation_errors=non2xx + socket_errors + wrk["bad_bodies"],
                saturation_statuses={str(k): v for k, v in sorted(wrk["statuses"].items())},
                saturation_prep_failures=sum(prep_failures.values()),
                wrk=f"-t{args.wrk_threads} -c{args.wrk_connections} -d{args.seconds}s",
            )
            log(
                f"phase 4: {out['saturation_saves_per_s']} saves/s, p50/p99 "
                f"{out['saturation_p50_ms']}/{out['saturation_p99_ms']} ms, "
                f"errors {out['saturation_errors']} {out['saturation_statuses']}"
            )
        else:
            out.update(saturation_saves_per_s=None, saturation_p99_ms=None)

        for pipe in pipes:
            pipe.send(("quit",))
        stop_server(server)
        log(f"server stopped (exit {server.returncode}); verifying the database")
        checked = verify(data_dir / "examroom.db", merged.acks, sat_attempts, wrk["acks"])
        out["answers_lost"] = checked["answers_lost"] + checked["saturation_lost"]
        out.update(
            answers_lost_phase3=checked["answers_lost"],
            answers_lost_saturation=checked["saturation_lost"],
            saturation_rows_written=checked["saturation_rows"],
            saturation_rows_acked=checked["saturation_acked"],
            saturation_rows_unacked=checked["saturation_unacked_rows"],
            db_integrity=checked["integrity"],
            db_items_inconsistent=checked["items_inconsistent_with_events"],
            attempts_submitted=checked["attempts_submitted"],
        )
        log(f"verification: {checked}")
        healthy = (
            out["errors"] == 0
            and out["answers_lost"] == 0
            and checked["integrity"] == "ok"
            and checked["items_inconsistent_with_events"] == 0
            and merged.learners_done == n
            and (args.no_saturation or out.get("saturation_errors") == 0)
        )
        exit_code = 0 if healthy else 1
    except Exception as exc:
        log(f"benchmark failed: {type(exc).__name__}: {exc}")
        out["failure"] = f"{type(exc).__name__}: {exc}"
        if server is not None:
            tail = (data_dir / "server.log").read_bytes()[-3000:].decode("utf-8", "replace")
            log(f"server log tail:\n{tail}")
    finally:
        for pipe in pipes:
            with contextlib.suppress(OSError):
                pipe.send(("quit",))
        for proc in procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)
        if server is not None:
            stop_server(server)
        if args.keep or not own_dir:
            log(f"data dir kept: {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)
    out["duration_s"] = round(time.monotonic() - T_START, 1)
    out["loadavg_1m_after"] = round(os.getloadavg()[0], 2)
    keys = [
        "learners", "workers", "start_p50_ms", "start_p99_ms", "save_p50_ms", "save_p99_ms",
        "saves_total", "errors", "answers_lost", "saturation_saves_per_s", "saturation_p99_ms",
        "sqlite_synchronous", "duration_s",
    ]  # fmt: skip
    line = {key: out.get(key) for key in keys}
    line.update({key: value for key, value in out.items() if key not in line})
    print(json.dumps(line, ensure_ascii=False), flush=True)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
