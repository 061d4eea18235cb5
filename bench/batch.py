"""Batch: 10,000 prompts through `luma-tools batch` (concurrency 100) on the simulator.

The client is the CLI's batch command (parser, plan, progress display, `BatchRunner`, manifest)
in a child process, so its thread count and peak RSS are its own, with a fresh journal in a
temporary `LUMA_TOOLS_HOME`; the simulator (in this process) counts the requests. The wall time
is set against one job run alone: with 100 at a time, 10,000 jobs take 100 rounds at best. The
same command is then run again over the finished batch, which must create nothing and be quick.
Last, the journal's cost per state change is timed apart, on a fresh file of its own.
"""

from __future__ import annotations

import math
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from luma_tools import Journal, Task
from luma_tools.simulator import LumaSimulator

from ._common import Row, Section, mib, run_child

JOB_SECONDS = 180.0  # virtual: a 3 minute job
TIME_SCALE = 0.005  # ... run in 0.9 s
JOURNAL_WRITES = 2000  # state changes timed on a fresh journal (full run)
FULL = (10_000, 100)  # prompts, concurrency
QUICK = (200, 20)


def _scratch(stack: ExitStack, name: str) -> Path:
    """A fresh folder, in memory (tmpfs) where there is one: the disk is not what is measured."""
    shm = Path("/dev/shm")
    where = str(shm) if shm.is_dir() else None
    return Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=name, dir=where)))


def _cli(sim: LumaSimulator, file: Path, out: Path, home: Path, concurrency: int) -> dict[str, Any]:
    return run_child(
        "bench._child",
        {
            "kind": "batch",
            "api_key": sim.api_key,
            "base_url": sim.base_url,
            "file": str(file),
            "out": str(out),
            "home": str(home),
            "concurrency": concurrency,
            "time_scale": TIME_SCALE,
        },
        timeout=1800,
    )


def _journal_contents(home: Path) -> dict[str, int]:
    """Rows and bytes of the journal a batch left (the main file and its write-ahead log)."""
    path = home / "journal.sqlite3"
    size = sum(p.stat().st_size for p in home.glob("journal.sqlite3*"))
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        jobs = int(db.execute("SELECT count(*) FROM jobs").fetchone()[0])
        events = int(db.execute("SELECT count(*) FROM events").fetchone()[0])
    return {"jobs": jobs, "events": events, "bytes": size}


def _state_change_cost(folder: Path, tasks: int) -> dict[str, float]:
    """Microseconds per state change written through the public `Journal` API, on a fresh
    file-backed journal: each task is recorded (intent, created), then moves
    pending -> processing -> completed, and each of those two `seen` calls is timed."""
    journal = Journal(folder / "journal.sqlite3")
    ids = [str(uuid.uuid4()) for _ in range(tasks)]
    for task_id in ids:
        number = journal.intent(
            operation="create", gateway="http://127.0.0.1", body={"user_prompt": "a fox"}
        )
        journal.created(number, Task.from_payload({"id": task_id, "state": "pending"}))
    timings = []
    for state in ("processing", "completed"):
        for task_id in ids:
            task = Task.from_payload({"id": task_id, "state": state})
            started = time.perf_counter()
            journal.seen(task)
            timings.append(time.perf_counter() - started)
    journal.close()
    ordered = sorted(timings)
    return {
        "writes": len(ordered),
        "median_us": statistics.median(ordered) * 1e6,
        "p95_us": ordered[int(0.95 * (len(ordered) - 1))] * 1e6,
    }


def _fmt_us(us: float) -> str:
    return f"{us:.0f} µs" if us < 1000 else f"{us / 1000:.1f} ms"


def _fmt_writes(figures: dict[str, Any]) -> str:
    return f"median {_fmt_us(figures['median_us'])}, p95 {_fmt_us(figures['p95_us'])}"


def run(quick: bool = False) -> Section:
    jobs, concurrency = QUICK if quick else FULL
    with ExitStack() as stack:
        work = _scratch(stack, "luma-bench-batch-")
        file = work / "prompts.txt"
        file.write_text("".join(f"a fox in the snow, take {i}\n" for i in range(jobs)))
        (work / "one.txt").write_text("a fox alone\n")
        # The journals live on the disk, as they would for a user: their cost is measured.
        home = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="luma-bench-home-")))
        single_home, fresh = (
            Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="luma-bench-")))
            for _ in range(2)
        )
        out = work / "videos"
        with LumaSimulator(
            queue_seconds=JOB_SECONDS * 0.1, run_seconds=JOB_SECONDS * 0.9, time_scale=TIME_SCALE
        ) as sim:
            single = _cli(sim, work / "one.txt", work / "one", single_home, 1)
            since = len(sim.requests)
            first = _cli(sim, file, out, home, concurrency)
            seen = sim.requests
            routes = Counter(r.route for r in seen[since:])
            again = _cli(sim, file, out, home, concurrency)
            routes_again = Counter(r.route for r in sim.requests[len(seen) :])
        saved = sum(1 for p in out.iterdir() if p.suffix == ".mp4")
        contents = _journal_contents(home)
        cost = _state_change_cost(fresh, 100 if quick else JOURNAL_WRITES // 2)
    single_s, wall = float(single["seconds"]), float(first["seconds"])
    rounds = math.ceil(jobs / concurrency)
    ideal = rounds * single_s
    requests_total = sum(routes.values())
    in_batch = first["journal_writes"]
    section = Section(f"Batch ({jobs:,} prompts, luma-tools batch --concurrency {concurrency})")
    section.rows += [
        Row(
            "wall time",
            f"{wall:.1f} s = {wall / ideal:.2f}x the best possible ({rounds} rounds x "
            f"{single_s:.2f} s, one job alone)",
            "<= 1.3x",
            wall <= 1.3 * ideal,
        ),
        Row("creates sent", f"{routes['create']:,}", f"exactly {jobs:,}", routes["create"] == jobs),
        Row("videos saved", f"{saved:,}", f"{jobs:,}", saved == jobs),
        Row(
            "exit status", str(first["exit_code"]), "0 (every item saved)", first["exit_code"] == 0
        ),
        Row(
            "requests",
            f"{requests_total:,} ({requests_total / jobs:.1f} per job: "
            + ", ".join(f"{k} {v:,}" for k, v in sorted(routes.items()))
            + ")",
        ),
        Row("peak threads (client process)", str(first["peak_threads"]), f"~{concurrency} + a few"),
        Row(
            "peak RSS (client process)",
            f"{mib(first['peak_rss'])} (+{mib(first['peak_rss'] - first['rss_before'])} over "
            "the batch)",
        ),
        Row(
            "journal cost per state change",
            f"{_fmt_writes(cost)} ({cost['writes']:,} `Journal.seen` writes on a fresh file)",
        ),
        Row(
            "journal writes in the batch",
            f"{in_batch['writes']:,} ({in_batch['writes'] / jobs:.1f} per job), "
            f"{_fmt_writes(in_batch)} each, lock wait included; "
            f"{in_batch['total_s']:.1f} thread-seconds in all",
        ),
        Row(
            "journal after the batch",
            f"{contents['jobs']:,} jobs, {contents['events']:,} events, {mib(contents['bytes'])} "
            f"({contents['bytes'] / jobs / 1024:.2f} KiB per job)",
        ),
        Row(
            "the same command again (resume)",
            f"{again['seconds']:.1f} s, {routes_again['create']} creates, "
            f"{sum(routes_again.values())} requests",
            "0 creates, < 10 s",
            routes_again["create"] == 0 and float(again["seconds"]) < 10,
        ),
    ]
    section.notes.append(
        f"Jobs of {JOB_SECONDS:.0f} s (job time) on a simulator running at time scale "
        f"{TIME_SCALE}; the client's poll policy is scaled the same way. Videos are the "
        "packaged sample clip, saved to a tmpfs folder; the journal is a fresh SQLite file on "
        "the disk. The client is the CLI's own `batch` command (`cmd_batch` with the CLI's "
        "parser, output, progress display and manifest; only the client's poll policy is "
        "set), so the wall time includes all of it. The re-run is a new process over the "
        "finished batch, as a user would run it."
    )
    section.notes.append(
        "A journal write in the batch costs far more than one alone: the journal takes one "
        "write at a time, so its figure is mostly the wait for the writes of the other "
        "workers (and, now and then, for a WAL checkpoint), and for the GIL."
    )
    return section
