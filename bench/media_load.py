#!/usr/bin/env python3
"""Media-plane load benchmark: N publishing learners, M viewers each, SFU vs stock aiortc.

    python bench/media_load.py --learners N --viewers M --seconds S [--no-baseline]

For each server (the examroom SFU, then bench/media_baseline.py on stock aiortc unless
``--no-baseline``):

1. The server is started as a subprocess on 127.0.0.1 (examroom: ``python -m server.cli
   serve`` on a fresh SQLite database seeded directly with N learners in one group,
   max(M, 1) commission users and a test of that group, so room ``test-<id>`` admits them).
2. Load-generator processes (``--procs``, multiprocessing "spawn"; bench/media_clients.py)
   log everyone in over HTTP, connect socket.io ``/proctor`` and ``join``. Learners are
   spread round-robin over the processes; each learner ``publish``es an aiortc peer that
   replays a pre-encoded VP8 640×480@15 (~0.55 Mbit/s) + Opus clip (no encoding).
   The first commission member polls every learner's thumbnail every ``--thumb-interval``
   seconds, as the commission's grid does.
3. Window A (``--pub-seconds``, after ``--warmup``): publishers only.
4. Every commission member ``subscribe``s to every learner (M viewer peer connections per
   learner, in the learner's own load-generator process, with the decoder bypass installed
   there so viewers never decode). Window B (``--seconds``, after ``--warmup``).

Server CPU: utime+stime of the server process (all threads) from /proc/<pid>/stat, over
each window only (never setup or warm-up). ``cpu_pct_*`` are percent of ONE core.
  cpu_pct_per_learner        = CPU(A) / publishers   (incl. thumbnails and idle overhead)
  cpu_pct_per_viewer_stream  = (CPU(B) - CPU(A)) / viewers receiving (same server, same
                               publishers: the "run with viewers=0" is window A)
  cpu_pct_total              = CPU(B) (CPU(A) when M = 0)
  loop_thread_cpu_pct        = the event-loop thread alone (/proc/<pid>/task/<pid>/stat):
                               one Python process cannot give it more than one core.
  cpu_ratio                  = baseline / SFU cpu_pct_total, as measured;
  cpu_ratio_model            = the same from each server's per-learner and per-stream costs
                               at N x M (only when both loads were delivered; with
                               ``--baseline-learners K`` the baseline runs K learners).
Loss: the viewers' RTP receive statistics (``pc.getStats()`` inbound-rtp packetsLost /
(packetsLost + packetsReceived), video + audio, deltas over window B); ingest loss from
the publishers' remote-inbound-rtp (the server's receiver reports); frame delivery from
frames the publishers sent in the window vs. those of them the viewers got.
Latency: publisher track hands frame k to aiortc → viewer's track returns it, matched by
a frame-index marker carried in the RTP timestamps (see bench/media_clients.py), which
survives the baseline's re-encoding; against the SFU also cross-checked by content digest.
Every figure comes with the load average, the CPU the rest of the machine used in the
window (``others_cpu_pct``: other processes) and ``saturated`` / ``load_delivered``
flags; ``notes`` says in words when a figure must not be quoted as is. ``--quiet-wait``
waits (bounded) for a calm machine before each setup step and window.

Progress goes to stderr; stdout gets ONE JSON line (``--details`` adds every window's raw
measurements). Every server and generator process is stopped in ``finally``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import math
import multiprocessing
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.media_clients import (  # noqa: E402
    FPS,
    PASSWORD,
    GenConfig,
    cpu_seconds,
    generator_main,
    make_clip,
)

T0 = time.monotonic()
CPUS = os.cpu_count() or 1


def log(message: str) -> None:
    print(f"[{time.monotonic() - T0:7.1f}s] {message}", file=sys.stderr, flush=True)


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


def r(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def system_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    total = sum(fields[:8])
    return total - idle, total


# ---------------------------------------------------------------------------- seeding


async def seed_examroom(
    data_dir: Path, learners: int, commission: int
) -> tuple[int, list[str], list[str]]:
    """A fresh SQLite database: one program, one group of N learners, commission users and
    a test of the group. One cheap argon2 hash for everyone (logins are outside the
    measured windows). Returns (test id, learner usernames, commission usernames)."""
    from argon2 import PasswordHasher
    from sqlalchemy import insert

    from quiz.models import Quiz
    from server.database import make_engine, make_sessionmaker, migrate
    from server.programs import Enrollment, Group, Program
    from server.settings import Settings
    from server.users import Role, User

    engine = make_engine(Settings(data_dir=data_dir))
    try:
        await migrate(engine)
        pw = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)
        learner_names = [f"mlearner{i}" for i in range(1, learners + 1)]
        commission_names = [f"mcommission{i}" for i in range(1, commission + 1)]
        async with make_sessionmaker(engine)() as db:
            program = Program(code="MEDIA", title="Media benchmark")
            db.add(program)
            await db.flush()
            group = Group(program_id=program.id, code="MEDIA-1", title="Media benchmark group")
            db.add(group)
            await db.flush()

            def rows(names: list[str], role: Role) -> list[dict[str, Any]]:
                return [
                    {"username": n, "role": role.value, "password_hash": pw, "full_name": n,
                     "email": "", "active": True}
                    for n in names
                ]  # fmt: skip

            ids = list(
                await db.scalars(insert(User).returning(User.id), rows(learner_names, Role.LEARNER))
            )
            await db.execute(insert(User), rows(commission_names, Role.COMMISSION))
            await db.execute(
                insert(Enrollment), [{"group_id": group.id, "user_id": uid} for uid in ids]
            )
            quiz = Quiz(program_id=program.id, group_id=group.id, title="Media benchmark test",
                        form="testing", time_limit_s=1800)  # fmt: skip
            db.add(quiz)
            await db.commit()
            return quiz.id, learner_names, commission_names
    finally:
        await engine.dispose()


# ---------------------------------------------------------------------------- servers


def clean_env(root: Path = REPO) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXAMROOM_")}
    env["PYTHONPATH"] = str(root)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def start_server(
    kind: str,
    data_dir: Path,
    port: int,
    log_level: str,
    recording: bool = True,
    root: Path = REPO,
) -> subprocess.Popen[bytes]:
    env = clean_env(root if kind == "sfu" else REPO)
    if kind == "sfu":
        env["EXAMROOM_RECORDING"] = "true" if recording else "false"
        command = [
            sys.executable, "-m", "server.cli", "serve", "--data-dir", str(data_dir),
            "--port", str(port), "--host", "127.0.0.1", "--workers", "1",
            "--log-level", log_level,
        ]  # fmt: skip
    else:
        command = [
            sys.executable, str(REPO / "bench" / "media_baseline.py"), "--port", str(port),
            "--host", "127.0.0.1", "--log-level", log_level,
        ]  # fmt: skip
    out = open(data_dir / f"{kind}-server.log", "wb")  # noqa: SIM115 (closed with the process)
    try:
        return subprocess.Popen(
            command, cwd=root if kind == "sfu" else REPO, env=env, stdout=out,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    finally:
        out.close()


def wait_ready(proc: subprocess.Popen[bytes], url: str, limit: float = 60) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with status {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server did not answer {url} within {limit} s")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            log(f"server {proc.pid} did not stop within 20 s: SIGKILL")
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


# ---------------------------------------------------------------------------- generators


class Generators:
    """The load-generator processes and their pipes."""

    def __init__(
        self, count: int, url: str, room: str, clip: Path, keep_digests: bool, inline: bool
    ) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.procs: list[Any] = []
        self.conns: list[Any] = []
        for i in range(count):
            parent, child = ctx.Pipe()
            cfg = GenConfig(url, room, str(clip), keep_digests, i, inline)
            proc = ctx.Process(target=generator_main, args=(child, cfg), daemon=True)
            proc.start()
            child.close()
            self.procs.append(proc)
            self.conns.append(parent)

    def ask(self, messages: list[tuple[Any, ...] | None], limit: float) -> list[Any]:
        """Send one message to each generator (None: skip it) and wait for the replies."""
        for conn, message in zip(self.conns, messages, strict=True):
            if message is not None:
                conn.send(message)
        replies: list[Any] = []
        deadline = time.monotonic() + limit
        for conn, message in zip(self.conns, messages, strict=True):
            if message is None:
                replies.append(None)
                continue
            if not conn.poll(max(0.1, deadline - time.monotonic())):
                raise TimeoutError(f"a load generator did not answer {message[0]} in {limit} s")
            reply = conn.recv()
            if isinstance(reply, dict) and "trace" in reply:
                raise RuntimeError(f"load generator failed: {reply['error']}\n{reply['trace']}")
            replies.append(reply)
        return replies

    def all(self, message: tuple[Any, ...], limit: float) -> list[Any]:
        return self.ask([message] * len(self.conns), limit)

    def cpu(self) -> float:
        total = 0.0
        for proc in self.procs:
            with contextlib.suppress(OSError, ValueError, IndexError):
                total += cpu_seconds(proc.pid)
        return total

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.all(("close",), 40)
        for proc in self.procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
                proc.join(timeout=5)


class Meter:
    """CPU counters of the server, the load generators and the machine at one instant."""

    def __init__(self, server_pid: int, gens: Generators) -> None:
        self.at = time.monotonic()
        self.server = cpu_seconds(server_pid)
        # the event-loop thread: one Python process cannot give it more than one core
        self.loop = cpu_seconds(server_pid, server_pid)
        self.gens = gens.cpu()
        self.busy, self.total = system_jiffies()

    def since(self, start: Meter) -> dict[str, Any]:
        seconds = self.at - start.at
        server = 100 * (self.server - start.server) / seconds
        gens = 100 * (self.gens - start.gens) / seconds
        busy = (self.busy - start.busy) / max(1, self.total - start.total)
        return {
            # everything else on the machine (other processes), % of one core
            "others_cpu_pct": round(max(0.0, busy * CPUS * 100 - server - gens), 1),
            "wall_s": round(seconds, 2),
            "server_cpu_pct": round(100 * (self.server - start.server) / seconds, 1),
            "server_loop_thread_cpu_pct": round(100 * (self.loop - start.loop) / seconds, 1),
            "loadgen_cpu_pct": round(100 * (self.gens - start.gens) / seconds, 1),
            "machine_busy_pct": round(
                100 * (self.busy - start.busy) / max(1, self.total - start.total), 1
            ),
            "load_avg": loadavg(),
        }


# ---------------------------------------------------------------------------- one server


def wait_quiet(gens: Generators, server_pid: int, limit: float, threshold: float) -> float:
    """Wait (at most ``limit`` s) until the rest of the machine uses less than
    ``threshold`` % of one core; returns how long it waited."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        a = Meter(server_pid, gens)
        time.sleep(1.0)
        others = Meter(server_pid, gens).since(a)["others_cpu_pct"]
        if others < threshold:
            break
    return round(time.monotonic() - started, 1)


def measure_window(
    gens: Generators, server_pid: int, label: str, seconds: float,
    profile: list[tuple[int, Path]] | None, args: argparse.Namespace,
) -> dict[str, Any]:  # fmt: skip
    waited = 0.0
    if args.quiet_wait:
        waited = wait_quiet(gens, server_pid, args.quiet_wait, args.quiet_pct)
        if waited >= 1.5:
            time.sleep(args.warmup)  # let what the neighbours' burst delayed drain first
    gens.all(("snapshot", f"{label}0"), 60)
    start = Meter(server_pid, gens)
    spies = [
        subprocess.Popen(
            [
                str(Path(sys.executable).parent / "py-spy"),
                "record",
                "--pid",
                str(pid),
                "--duration",
                str(int(seconds)),
                "--rate",
                "100",
                "--gil",
                "--format",
                "raw",
                "--output",
                str(path),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for pid, path in profile or []
    ]
    try:
        time.sleep(seconds)
        end = Meter(server_pid, gens)
        gens.all(("snapshot", f"{label}1"), 60)
    finally:
        for spy in spies:
            try:
                spy.wait(timeout=30)
            except subprocess.TimeoutExpired:
                spy.kill()
                spy.wait(timeout=5)
    return {**end.since(start), "waited_for_quiet_s": waited}


def summarize(window: dict[str, Any], parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Merge what the generators measured in one window."""
    latencies = [x * 1000 for p in parts for x in p["latencies"]]
    digest_lat = [x * 1000 for p in parts for x in p["digest_latencies"]]
    frames = [f for p in parts for f in p["viewer_frames"]]
    audio = [f for p in parts for f in p["viewer_audio"]]
    seconds = window["wall_s"]

    def rtp(key: str) -> dict[str, int]:
        acc: dict[str, int] = Counter()
        for p in parts:
            for entry in p[key].values():
                acc.update(entry)
        return dict(acc)

    view = rtp("view_rtp")
    pub = rtp("pub_rtp")
    lost, received = view.get("lost", 0), view.get("received", 0)
    video_lost = sum(p["view_rtp"].get("video", {}).get("lost", 0) for p in parts)
    video_recv = sum(p["view_rtp"].get("video", {}).get("received", 0) for p in parts)
    thumbs = [t for p in parts for t in p["thumbs"]]
    received_frames = sum(frames)
    delivered = [d for p in parts for d in p["delivered"]]
    expected_frames = sum(d[1] for d in delivered)
    return {
        **window,
        "viewer_streams": len(frames),
        "loss_pct": r(100 * lost / (lost + received), 3) if lost + received > 0 else None,
        "video_loss_pct": r(100 * video_lost / (video_lost + video_recv), 3)
        if video_lost + video_recv > 0
        else None,
        "ingest_loss_pct": r(100 * pub.get("remote_lost", 0) / pub["sent"], 3)
        if pub.get("sent")
        else None,
        "frame_delivery_pct": r(100 * sum(d[0] for d in delivered) / expected_frames, 2)
        if expected_frames
        else None,
        "latency_p50_ms": r(pct(latencies, 50), 1),
        "latency_p99_ms": r(pct(latencies, 99), 1),
        "latency_max_ms": r(max(latencies), 1) if latencies else None,
        "latency_samples": len(latencies),
        "latency_worst": sorted((x for p in parts for x in p["worst"]), reverse=True)[:5],
        "latency_check_digest_p50_ms": r(pct(digest_lat, 50), 1),
        "latency_check_digest_p99_ms": r(pct(digest_lat, 99), 1),
        "marker_pairs_agree": sum(p["marker_agree"] for p in parts),
        "marker_pairs_disagree": sum(p["marker_disagree"] for p in parts),
        "frames_per_viewer_s": r(received_frames / len(frames) / seconds, 2) if frames else None,
        "min_frames_per_viewer_s": r(min(frames) / seconds, 2) if frames else None,
        "audio_frames_per_viewer_s": r(sum(audio) / len(audio) / seconds, 1) if audio else None,
        "publisher_opus_ptime_ms": sorted({t for p in parts for t in p.get("ptime_ms", [])}),
        "publisher_fps": r(
            sum(f for p in parts for f in p["pub_frames"])
            / max(1, sum(len(p["pub_frames"]) for p in parts))
            / seconds,
            2,
        ),
        "thumbnails_ok": sum(1 for t in thumbs if t[1] == 200),
        "thumbnails_failed": sum(1 for t in thumbs if t[1] != 200),
        "thumbnail_p50_ms": r(pct([t[2] * 1000 for t in thumbs], 50), 1),
    }


def run_server(kind: str, args: argparse.Namespace, clip: Path, work: Path) -> dict[str, Any]:
    """Start one server, put the load on it, measure windows A and B; always clean up."""
    data_dir = work / kind
    data_dir.mkdir()
    n, m = args.learners, args.viewers
    if kind == "baseline" and args.baseline_learners:
        n = args.baseline_learners
    if kind == "sfu":
        test_id, learners, commission = asyncio.run(seed_examroom(data_dir, n, max(m, 1)))
        room = f"test-{test_id}"
        ready = "/api/openapi.json"
    else:
        learners = [f"mlearner{i}" for i in range(1, n + 1)]
        commission = [f"mcommission{i}" for i in range(1, max(m, 1) + 1)]
        room = "bench"
        ready = "/healthz"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    out: dict[str, Any] = {"setup": {}, "learners": n}
    root = args.server_root.resolve() if args.server_root else REPO
    server = start_server(kind, data_dir, port, args.server_log_level, args.recording, root)
    gens: Generators | None = None
    try:
        wait_ready(server, url + ready)
        log(f"{kind}: server up on {url} (pid {server.pid}), room {room}")
        gens = Generators(
            args.procs, url, room, clip, keep_digests=kind == "sfu", inline=args.inline_viewers
        )
        k = args.procs
        time.sleep(args.settle)
        idle0 = Meter(server.pid, gens)
        time.sleep(args.settle)
        out["idle"] = Meter(server.pid, gens).since(idle0)

        if args.quiet_wait:
            out["setup"]["waited_for_quiet_s"] = wait_quiet(
                gens, server.pid, args.quiet_wait, args.quiet_pct
            )
        t = time.monotonic()
        gens.all(("commission", commission, 60), 90)
        replies = gens.ask([("publishers", learners[i::k], 120) for i in range(k)], 150)
        pids = {pid: name for rep in replies for pid, name in rep["participants"].items()}
        errors = [e for rep in replies for e in rep["errors"]]
        out["setup"]["publishers"] = len(pids)
        out["setup"]["publish_s"] = round(time.monotonic() - t, 1)
        log(f"{kind}: {len(pids)}/{n} publishers flowing in {time.monotonic() - t:.1f} s"
            + (f"; errors: {errors[:3]}" if errors else ""))  # fmt: skip
        if not pids:
            raise RuntimeError(f"no publisher got through: {errors[:3]}")
        gens.ask([("thumbnails", sorted(pids), args.thumb_interval)] + [None] * (k - 1), 30)

        time.sleep(args.warmup)
        log(f"{kind}: window A (publishers only) {args.pub_seconds} s")
        profile_a = []
        if m == 0 and kind in args.profile:  # no window B: profile A
            profile_a.append((server.pid, work / f"{kind}-server-profile.txt"))
        windows: dict[str, Any] = {
            "A": measure_window(gens, server.pid, "A", args.pub_seconds, profile_a, args)
        }
        for _, path in profile_a:
            if path.exists():
                out.setdefault("profiles", {})[path.stem] = top_functions(path)
                if args.keep_profile:
                    args.keep_profile.mkdir(parents=True, exist_ok=True)
                    shutil.copy(path, args.keep_profile / path.name)
        log(f"{kind}: A: {windows['A']}")
        names = {"A": ("A0", "A1")}
        if m > 0:
            if args.quiet_wait:
                out["setup"]["waited_for_quiet_s"] += wait_quiet(
                    gens, server.pid, args.quiet_wait, args.quiet_pct
                )
            t = time.monotonic()
            replies = gens.all(("viewers", commission[:m], 120), 150)
            out["setup"]["viewers"] = sum(rep["viewers"] for rep in replies)
            out["setup"]["viewers_receiving"] = sum(rep["receiving"] for rep in replies)
            out["setup"]["subscribe_s"] = round(time.monotonic() - t, 1)
            out["setup"]["throttled_retries"] = sum(rep["throttled"] for rep in replies)
            errors = [e for rep in replies for e in rep["errors"]]
            log(f"{kind}: {out['setup']['viewers_receiving']}/{out['setup']['viewers']} viewers "
                f"receiving in {time.monotonic() - t:.1f} s"
                + (f"; errors: {errors[:3]}" if errors else ""))  # fmt: skip
            time.sleep(args.warmup)
            log(f"{kind}: window B (with viewers) {args.seconds} s")
            profile = []
            if kind in args.profile:
                profile.append((server.pid, work / f"{kind}-server-profile.txt"))
            if "loadgen" in args.profile:
                profile.append((gens.procs[0].pid, work / f"{kind}-loadgen-profile.txt"))
            windows["B"] = measure_window(gens, server.pid, "B", args.seconds, profile, args)
            log(f"{kind}: B: {windows['B']}")
            names["B"] = ("B0", "B1")
            for _, path in profile:
                if path.exists():
                    out.setdefault("profiles", {})[path.stem] = top_functions(path)
                    if args.keep_profile:
                        args.keep_profile.mkdir(parents=True, exist_ok=True)
                        shutil.copy(path, args.keep_profile / path.name)
        time.sleep(2)  # frames sent near a window's end are still on their way
        parts = gens.all(("collect", names), 120)
        out["errors"] = [e for p in parts for e in p.pop("errors")][:20]
        out["keyframe_requests_seen_by_publishers"] = sum(p.pop("keyframe_requests") for p in parts)
        out["windows"] = {
            name: summarize(windows[name], [p[name] for p in parts]) for name in names
        }
    finally:
        if gens is not None:
            gens.close()
        stop_server(server)
        out["server_log_tail"] = tail(data_dir / f"{kind}-server.log", args)
    return out


def tail(path: Path, args: argparse.Namespace) -> list[str]:
    """Warnings and errors the server logged (a few), for the report."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return []
    bad = [ln for ln in lines if "ERROR" in ln or "Traceback" in ln or "WARNING" in ln]
    return bad[-5:]


IDLE_LEAVES = (
    "Condition.wait (threading.py",
    "_connection_worker_thread (aiosqlite/core.py:59)",
    "_worker (concurrent/futures/thread.py:81)",
    "select (selectors.py",
    "Connection._recv (multiprocessing/connection.py",
)


#: Where a profiled sample goes: the first category (in this order) with a frame in the
#: sample's stack containing one of the patterns.
CATEGORIES: list[tuple[str, tuple[str, ...]]] = [
    ("thumbnails (keyframe decode + JPEG)", ("keyframe_to_jpeg", "Thumbnails.", "to_jpeg")),
    (
        "stock decode/encode (baseline)",
        ("Vp8Decoder.decode", "OpusDecoder.decode", "Vp8Encoder.encode", "OpusEncoder.encode"),
    ),
    (
        "stock: audio level of each re-encoded audio frame (pure Python)",
        ("compute_audio_level_dbov",),
    ),
    (
        "ingest: frame hop to decoder thread and back",
        ("decoder_worker", "run_coroutine_threadsafe", "Queue.put (queue.py"),
    ),
    ("ingest: REMB bandwidth estimation", ("RemoteBitrateEstimator",)),
    ("ingest: SRTP unprotect", ("Session.unprotect",)),
    ("ingest: jitter buffer", ("JitterBuffer.",)),
    (
        "ingest: RTP parse, stats, NACK, depayload",
        ("RTCRtpReceiver._handle_rtp_packet", "RtpPacket.parse", "_handle_rtp_data"),
    ),
    (
        "room: pump + fan-out to viewer queues",
        ("MediaRoom._pump", "MediaRoom._fan_out", "ForwardedTrack.push", "sink ("),
    ),
    ("forward: SRTP protect", ("Session.protect",)),
    ("forward: abs-send-time NTP clock", ("current_ntp_time",)),
    ("forward: RTP serialize + UDP send", ("RtpPacket.serialize", "RTCDtlsTransport._send_rtp")),
    (
        "forward: track recv + packetize",
        ("_next_encoded_frame", "ForwardedTrack.recv", "RelayStreamTrack.recv"),
    ),
    ("forward: sender loop, other", ("RTCRtpSender._run_rtp",)),
    ("RTCP", ("_run_rtcp", "_handle_rtcp", "_send_rtcp", "Rtcp")),
    ("ICE transport (aioice datagram queue, STUN consent)", ("aioice", "StunProtocol")),
    (
        "UDP receive + DTLS demux",
        ("_read_ready", "RTCDtlsTransport._recv_next", "RTCDtlsTransport.__run"),
    ),
    (
        "signaling, socket.io, state, monitor, HTTP",
        ("socketio/", "engineio/", "proctor/namespace", "proctor/monitoring", "aiohttp/web_"),
    ),
]


def profile_categories(path: Path) -> dict[str, float]:
    """Share of the profiled (GIL-holding) samples per :data:`CATEGORIES` entry."""
    counts: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        frames = [f for f in stack.split(";") if f]
        if not frames or frames[-1].startswith(IDLE_LEAVES):
            continue
        total += int(n)
        for name, patterns in CATEGORIES:
            if any(p in f for f in frames for p in patterns):
                counts[name] += int(n)
                break
        else:
            counts["event loop + other"] += int(n)
    return {k: round(100 * v / total, 1) for k, v in counts.most_common()} if total else {}


def top_functions(path: Path, count: int = 15) -> dict[str, Any]:
    """Self and inclusive sample shares per function from py-spy's raw (collapsed) output
    (recorded with ``--gil``: a sample is Python code running; stacks that end in a wait
    are dropped anyway)."""
    self_c: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        samples = int(n)
        frames = [f for f in stack.split(";") if f and not f.startswith(("thread ", "process "))]
        if not frames or frames[-1].startswith(IDLE_LEAVES):
            continue
        total += samples
        self_c[frames[-1]] += samples
        for f in set(frames):
            incl[f] += samples

    def share(c: Counter[str]) -> list[tuple[str, float]]:
        return [(f, round(100 * s / total, 1)) for f, s in c.most_common(count)]

    return {
        "samples": total,
        "categories_pct": profile_categories(path),
        "self_pct": share(self_c),
        "inclusive_pct": share(incl),
    }


# ---------------------------------------------------------------------------- main


def code_version() -> str:
    """The server code measured: commit, plus a hash of uncommitted changes to the
    server's packages (read-only git; the tree is shared and changes under us)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        diff = subprocess.run(
            ["git", "diff", "HEAD", "--", "proctor", "server"],
            cwd=REPO,
            capture_output=True,
            timeout=10,
        ).stdout
        untracked = subprocess.run(
            ["git", "ls-files", "--others", "--exclude-standard", "--", "proctor", "server"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    h = hashlib.sha256(diff)
    for name in sorted(untracked):
        with contextlib.suppress(OSError):
            h.update(name.encode() + (REPO / name).read_bytes())
    return head if not diff and not untracked else f"{head}+dirty:{h.hexdigest()[:10]}"


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def figures(result: dict[str, Any], n: int, m: int) -> dict[str, Any]:
    """The headline figures of one server."""
    a = result["windows"]["A"]
    # per what actually ran: publishers that got through, viewers that received video
    n = result["setup"].get("publishers") or result["learners"]
    streams = result["setup"].get("viewers_receiving") or 0
    b = result["windows"].get("B")
    top = b or a
    per_viewer = None
    if b is not None and streams:
        per_viewer = (b["server_cpu_pct"] - a["server_cpu_pct"]) / streams
    return {
        "learners": n,
        "cpu_pct_total": top["server_cpu_pct"],
        "cpu_pct_per_learner": r(a["server_cpu_pct"] / n, 2),
        "cpu_pct_per_viewer_stream": r(per_viewer, 2),
        "loss_pct": top["loss_pct"],
        "latency_p50_ms": top["latency_p50_ms"],
        "latency_p99_ms": top["latency_p99_ms"],
        "frames_per_viewer_s": top["frames_per_viewer_s"],
        "audio_frames_per_viewer_s": top.get("audio_frames_per_viewer_s"),
        "opus_ptime_ms": top.get("publisher_opus_ptime_ms"),
        "ingest_loss_pct": top["ingest_loss_pct"],
        "frame_delivery_pct": top["frame_delivery_pct"],
        "cpu_pct_publish_only": a["server_cpu_pct"],
        "cpu_pct_idle": result["idle"]["server_cpu_pct"],
        "loop_thread_cpu_pct": top["server_loop_thread_cpu_pct"],
        "loadgen_cpu_pct": top["loadgen_cpu_pct"],
        "machine_busy_pct": top["machine_busy_pct"],
        "others_cpu_pct": top["others_cpu_pct"],
        "load_avg": top["load_avg"],
        "saturated": top["machine_busy_pct"] >= 95,
        # the publishers kept their 15 fps and the viewers got it: the load was the load
        "load_delivered": a["publisher_fps"] >= 14.5
        and (b is None or (b["publisher_fps"] >= 14.5 and (b["frames_per_viewer_s"] or 0) >= 14)),
        "publishers": result["setup"].get("publishers"),
        "viewers_receiving": result["setup"].get("viewers_receiving"),
    }


def notes(out: dict[str, Any]) -> list[str]:
    """What a reader of the JSON line must know before quoting its figures."""
    said = []
    for kind in ("sfu", "baseline"):
        f = out.get(kind)
        if not f or "error" in f:
            continue
        if f["saturated"]:
            said.append(f"{kind}: the machine was saturated in the measured window "
                        f"(others {f['others_cpu_pct']} %, load generator {f['loadgen_cpu_pct']} %"
                        " of one core)")  # fmt: skip
        if not f["load_delivered"]:
            said.append(
                f"{kind}: the load was not delivered (publishers below 15 fps or viewers "
                "below 14 fps): its CPU figures are those of a smaller, broken load"
            )
    if "cpu_ratio" in out and "cpu_ratio_model" not in out:
        said.append(
            "cpu_ratio compares CPU actually used; a server that could not keep up used "
            "less than the load needs (no cpu_ratio_model: a load was not delivered)"
        )
    return said


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--learners", type=int, default=2)
    p.add_argument("--viewers", type=int, default=2, help="viewers per learner (commission)")
    p.add_argument("--seconds", type=float, default=15, help="window B (with viewers)")
    p.add_argument("--pub-seconds", type=float, help="window A (publishers only); default S/2, ≥ 5")
    p.add_argument("--baseline", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument(
        "--baseline-learners",
        type=int,
        help="learners for the baseline run "
        "(default: the same N); its per-learner and per-viewer costs feed "
        "cpu_ratio_model at N x M",
    )
    p.add_argument("--procs", type=int, default=2, help="load-generator processes")
    p.add_argument("--warmup", type=float, default=3.0, help="seconds before each window")
    p.add_argument("--settle", type=float, default=2.0, help="idle measurement half-length")
    p.add_argument(
        "--quiet-wait",
        type=float,
        default=0,
        help="before each window, wait up "
        "to this many seconds for the rest of the machine to calm down",
    )
    p.add_argument(
        "--quiet-pct",
        type=float,
        default=30,
        help="'calm': others use less than this %% of one core",
    )
    p.add_argument("--thumb-interval", type=float, default=3.0, help="grid refresh, seconds")
    p.add_argument(
        "--profile",
        default="",
        help="comma-separated: 'sfu', 'baseline' (py-spy "
        "that server in window B), 'loadgen' (the first load generator); py-spy "
        "perturbs the CPU figures, so profile in a separate run",
    )
    p.add_argument("--keep-profile", type=Path, help="copy the py-spy collapsed stacks here")
    p.add_argument(
        "--inline-viewers",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="bench viewers use the SFU's receive path: frames on the loop on their marker "
        "packet, no decoder thread, no REMB (load generator only; --no-inline-viewers: "
        "aiortc's stock receive path)",
    )
    p.add_argument(
        "--recording",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="the SFU records every publisher (the server's default); --no-recording "
        "measures forwarding alone",
    )
    p.add_argument(
        "--server-root",
        type=Path,
        help="run the SFU from another checkout of examroom (same schema), e.g. an older "
        "commit exported with git archive, to compare trees with the same load generator",
    )
    p.add_argument("--server-log-level", default="INFO")
    p.add_argument("--keep-work", action="store_true", help="keep the temp dir (server logs)")
    p.add_argument(
        "--details",
        action="store_true",
        help="add every window's measurements, setup times, errors and profiles to the JSON line",
    )
    args = p.parse_args(argv)
    if args.pub_seconds is None:
        args.pub_seconds = max(5.0, args.seconds / 2)
    args.profile = {x.strip() for x in args.profile.split(",") if x.strip()}
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="media-bench-"))
    out: dict[str, Any] = {
        "learners": args.learners,
        "viewers_per_learner": args.viewers,
        "seconds": args.seconds,
        "pub_seconds": args.pub_seconds,
        "load_avg_start": loadavg(),
        "code": code_version(),
        "sfu_root": str(args.server_root) if args.server_root else None,
        "sfu_recording": args.recording,
        "machine": {"cpus": CPUS, "model": cpu_model()},
    }
    details: dict[str, Any] = {}
    status = 0
    try:
        t = time.monotonic()
        clip = make_clip(work)
        out["clip"] = {"video_kbps": round(clip.video_kbps), "audio_kbps": round(clip.audio_kbps),
                       "video_frames": len(clip.video), "fps": FPS}  # fmt: skip
        log(f"clip: {out['clip']} in {time.monotonic() - t:.1f} s")
        for kind in ["sfu"] + (["baseline"] if args.baseline else []):
            try:
                details[kind] = run_server(kind, args, clip.path, work)
                out[kind] = figures(details[kind], args.learners, args.viewers)
                if details[kind].get("errors"):
                    out[kind]["errors"] = details[kind]["errors"][:3]
                if details[kind].get("profiles"):
                    out.setdefault("profiles", {}).update(details[kind]["profiles"])
            except Exception as exc:
                log(f"{kind}: failed: {exc!r}")
                out[kind] = {"error": repr(exc)}
                status = 1
        sfu, base = out.get("sfu", {}), out.get("baseline", {})
        if sfu.get("cpu_pct_total") and base.get("cpu_pct_total"):
            out["cpu_ratio"] = round(base["cpu_pct_total"] / sfu["cpu_pct_total"], 2)
            n, m = int(args.learners), int(args.viewers)

            def model(f: dict[str, Any]) -> float | None:
                if f.get("cpu_pct_per_learner") is None:
                    return None
                per_stream = float(f["cpu_pct_per_viewer_stream"] or 0)
                return float(f["cpu_pct_per_learner"]) * n + per_stream * n * m

            sfu_model, base_model = model(sfu), model(base)
            if sfu_model and base_model and sfu["load_delivered"] and base["load_delivered"]:
                # from each server's per-learner and per-viewer-stream costs at N x M: the
                # fair ratio when the baseline saturates the machine (or ran fewer learners)
                out["cpu_ratio_model"] = round(base_model / sfu_model, 2)
                out["cpu_pct_model"] = {
                    "sfu": round(sfu_model, 1),
                    "baseline": round(base_model, 1),
                }
            if sfu.get("frames_per_viewer_s") and base.get("frames_per_viewer_s"):
                # CPU per frame actually delivered: fair when the baseline saturates.
                out["cpu_ratio_per_delivered_frame"] = round(
                    (base["cpu_pct_total"] / base["frames_per_viewer_s"])
                    / (sfu["cpu_pct_total"] / sfu["frames_per_viewer_s"]),
                    2,
                )
        out["load_avg"] = loadavg()
        out["notes"] = notes(out)
        if args.details:
            out["details"] = details
    finally:
        if args.keep_work:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(out, ensure_ascii=False), flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
