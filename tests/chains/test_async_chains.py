"""The chains' native async path: a big abatch holds no thread per job."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from luma_tools import LumaClient, PollPolicy
from luma_tools.chains import ExtendChain, VideoChain
from luma_tools.simulator import LumaSimulator

POLL = PollPolicy(first_delay=0.1, min_interval=0.1, max_interval=0.3, jitter=0.1)


async def test_abatch_of_many_jobs_uses_few_threads(tmp_path: Path, loop_watch) -> None:
    with LumaSimulator(queue_seconds=0.5, run_seconds=1.5) as sim:
        client = LumaClient(
            sim.api_key, sim.base_url, poll_policy=POLL, journal=False, max_connections=4
        )
        chain = VideoChain(client, output_dir=tmp_path)
        peak = 0

        async def count() -> None:
            nonlocal peak
            while True:
                peak = max(peak, sum(t.name.startswith("luma-http") for t in threading.enumerate()))
                await asyncio.sleep(0.05)

        counter = asyncio.ensure_future(count())
        async with loop_watch as watch:
            results = await chain.abatch(
                [f"fox {i}" for i in range(30)], config={"max_concurrency": 30}
            )
        counter.cancel()
        assert [r.prompt for r in results] == [f"fox {i}" for i in range(30)]
        assert all(r.path.stat().st_size == sim.video_size for r in results)
        assert peak <= 8  # the client's exchange threads, not one per job
        assert watch.ticks > 50  # and the loop stayed free
        client.close()


async def test_abatch_returns_exceptions_per_item(
    client: LumaClient, sim: LumaSimulator, tmp_path: Path
) -> None:
    sim.faults.fail_next_task("Frame moderation failed")
    results = await VideoChain(client, output_dir=tmp_path).abatch(
        ["bad", "good"], config={"max_concurrency": 1}, return_exceptions=True
    )
    assert isinstance(results[0], Exception)
    assert results[0].task_id  # type: ignore[union-attr]
    assert results[1].path.exists()  # type: ignore[union-attr]


async def test_extend_chain_ainvoke(client: LumaClient, tmp_path: Path) -> None:
    story = await ExtendChain(client, output_dir=tmp_path).ainvoke(
        {"prompt": "a seed", "continuations": ["a sprout", "a tree"]}
    )
    assert len(story.tasks) == 3
    assert story.results[2].extends == story.tasks[1].id
    assert all(path.exists() for path in story.paths)
