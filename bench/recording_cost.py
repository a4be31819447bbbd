#!/usr/bin/env python3
"""Recording cost: server CPU per publishing learner with recording on and off, and the
storage a learner-hour of recording takes.

    python bench/recording_cost.py --learners N --seconds S [--procs P]

Runs ``bench/media_load.py`` twice against the examroom SFU only (no baseline, no
viewers: window A, publishers only): once with ``--recording`` (the server's default)
and once with ``--no-recording``. From the first run's kept work directory it reads
every recording file (sealed or still in the spool), sums their sizes and their media
durations (read from the files' packets), and derives bytes per learner-hour.

Prints ONE JSON line: both runs' ``cpu_pct_per_learner`` (percent of one core), their
difference (the recording's cost per learner), storage per learner-hour in MB, the load
average around each run and ``others_cpu_pct`` as media_load reports it (other work on
the shared machine). The difference of two noisy figures is noisy: quote it with them.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from recordings.webm import probe  # noqa: E402


def run_load(args: argparse.Namespace, recording: bool) -> tuple[dict[str, Any], Path | None]:
    """One media_load run; its JSON line and (when kept) its work directory."""
    command = [
        sys.executable,
        str(REPO / "bench" / "media_load.py"),
        "--learners", str(args.learners),
        "--viewers", "0",
        "--seconds", str(args.seconds),
        "--pub-seconds", str(args.seconds),
        "--procs", str(args.procs),
        "--no-baseline",
        "--recording" if recording else "--no-recording",
        "--server-log-level", "WARNING",
    ]  # fmt: skip
    if recording:
        command.append("--keep-work")
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    sys.stderr.write(done.stderr[-2000:])
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"media_load printed no result (exit {done.returncode})")
    kept = re.search(r"kept (\S+)", done.stderr)
    return json.loads(lines[-1]), Path(kept.group(1)) if kept else None


def storage(work: Path) -> dict[str, Any]:
    """Bytes and media seconds of every recording under the run's data directory."""
    files = sorted(work.rglob("*.webm"))
    files = [f for f in files if f.name != "clip.webm" and "recordings" in f.parts]
    total_bytes = sum(f.stat().st_size for f in files)
    seconds = sum(probe(f).duration for f in files)
    per_hour = total_bytes / seconds * 3600 if seconds else None
    return {
        "files": len(files),
        "bytes": total_bytes,
        "media_seconds": round(seconds, 1),
        "mb_per_learner_hour": round(per_hour / 1e6, 1) if per_hour else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--learners", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--procs", type=int, default=1)
    args = parser.parse_args()
    out: dict[str, Any] = {"learners": args.learners, "seconds": args.seconds}
    on, work = run_load(args, recording=True)
    off, _ = run_load(args, recording=False)
    try:
        if work is not None:
            out["storage"] = storage(work)
    finally:
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)
    for name, result in (("recording_on", on), ("recording_off", off)):
        sfu = result.get("sfu", {})
        out[name] = {
            "cpu_pct_per_learner": sfu.get("cpu_pct_per_learner"),
            "cpu_pct_total": sfu.get("cpu_pct_total"),
            "others_cpu_pct": sfu.get("others_cpu_pct"),
            "load_delivered": sfu.get("load_delivered"),
            "load_avg": result.get("load_avg"),
        }
    a = out["recording_on"]["cpu_pct_per_learner"]
    b = out["recording_off"]["cpu_pct_per_learner"]
    out["recording_cpu_pct_per_learner"] = round(a - b, 2) if a is not None and b else None
    out["load_avg_end"] = list(os.getloadavg())
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
