"""Many jobs: 200 prompts through `VideoChain.batch` (max_concurrency 50) on the simulator.

The client runs in a child process, so its thread count and peak RSS are its own; the simulator
(in this process) counts the requests. The wall time is set against one job run alone: with 50
at a time, 200 jobs take 4 rounds of a job's length at best.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from luma_tools.simulator import LumaSimulator

from ._common import Row, Section, mib, run_child

JOB_SECONDS = 180.0  # virtual: a 3 minute job
TIME_SCALE = 0.02  # ... run in 3.6 s


def _batch(sim: LumaSimulator, jobs: int, concurrency: int, prompt: str) -> dict[str, Any]:
    return run_child(
        "bench._child",
        {
            "kind": "many",
            "api_key": sim.api_key,
            "base_url": sim.base_url,
            "jobs": jobs,
            "max_concurrency": concurrency,
            "time_scale": TIME_SCALE,
            "prompt": prompt,
        },
    )


def run(quick: bool = False) -> Section:
    jobs, concurrency = (20, 5) if quick else (200, 50)
    with LumaSimulator(
        queue_seconds=JOB_SECONDS * 0.1, run_seconds=JOB_SECONDS * 0.9, time_scale=TIME_SCALE
    ) as sim:
        single = _batch(sim, 1, 1, "alone")
        since = len(sim.requests)
        many = _batch(sim, jobs, concurrency, "batch")
        routes = Counter(r.route for r in sim.requests[since:])
    single_s = float(single["seconds"])
    wall = float(many["seconds"])
    peak_rss, rss_before = float(many["peak_rss"]), float(many["rss_before"])
    rounds = math.ceil(jobs / concurrency)
    ideal = rounds * single_s
    requests_total = sum(routes.values())
    section = Section(f"Many jobs ({jobs} prompts, max_concurrency {concurrency})")
    section.rows += [
        Row(
            "wall time",
            f"{wall:.2f} s = {wall / single_s:.2f}x one job alone ({single_s:.2f} s); "
            f"{wall / ideal:.2f}x the {rounds} rounds it needs at best",
            "",
            None,
        ),
        Row(
            "requests",
            f"{requests_total} ({requests_total / jobs:.1f} per job: "
            + ", ".join(f"{k} {v}" for k, v in sorted(routes.items()))
            + ")",
            "",
            None,
        ),
        Row(
            "failed jobs",
            f"{many['error_count']} {many['errors'] or ''}".strip(),
            "0",
            many["error_count"] == 0,
        ),
        Row("videos saved", str(many["saved"]), str(jobs), many["saved"] == jobs),
        Row(
            "peak threads (client process)",
            str(many["peak_threads"]),
            f"~{concurrency} + a few",
            None,
        ),
        Row(
            "peak RSS (client process)",
            f"{mib(peak_rss)} (from {mib(rss_before)} before the batch)",
            "",
            None,
        ),
    ]
    section.notes.append(
        f"Jobs of {JOB_SECONDS:.0f} s (job time) on a simulator running at time scale "
        f"{TIME_SCALE}; the client's poll policy is scaled the same way. Videos are the "
        "packaged sample clip. One `LumaClient` with `max_connections` = max_concurrency."
    )
    return section
