"""`AsyncLumaClient`: the same requests and decisions as the blocking client, waits that sleep
in the event loop, threads held only for one exchange, cancellation that loses nothing."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest

from luma_tools import (
    AmbiguousSubmitError,
    AsyncLumaClient,
    Journal,
    LumaClient,
    PollPolicy,
    TaskFailedError,
    WaitTimeoutError,
)
from luma_tools.simulator import LumaSimulator
from luma_tools.webhooks import NotifyListener

FAST = PollPolicy(first_delay=0.05, min_interval=0.05, max_interval=0.2, jitter=0.0)


@pytest.fixture
async def aclient(sim: LumaSimulator, tmp_path: Path):
    client = AsyncLumaClient(
        sim.api_key, sim.base_url, poll_policy=FAST, journal=Journal(tmp_path / "j.sqlite3")
    )
    yield client
    await client.aclose()


async def test_create_wait_download(
    aclient: AsyncLumaClient, sim: LumaSimulator, tmp_path: Path
) -> None:
    task = await aclient.create("an async fox", aspect_ratio="1:1")
    seen: list[str] = []
    done = await aclient.wait(task, timeout=30, on_update=lambda t: seen.append(t.state.value))
    assert done.state.value == "completed"
    assert seen[0] == "queued"
    assert seen[-1] == "completed"
    path = await aclient.download(done, tmp_path / "fox.mp4")
    assert path.stat().st_size == sim.video("1:1").size
    job = aclient.client.journal.job(task.id)
    assert job is not None
    assert job.is_saved


async def test_the_event_loop_stays_free_while_waiting(
    aclient: AsyncLumaClient, loop_watch
) -> None:
    task = await aclient.create("a patient fox")
    async with loop_watch as watch:
        await aclient.wait(task, timeout=30)
    assert watch.ticks > 20  # the loop kept turning every 10 ms while the wait slept


async def test_waits_hold_no_thread_between_polls(sim: LumaSimulator) -> None:
    slow = LumaSimulator(queue_seconds=0.5, run_seconds=1.5)
    with slow:
        client = AsyncLumaClient(
            slow.api_key, slow.base_url, poll_policy=FAST, max_threads=4, journal=False
        )
        try:
            tasks = [await client.create(f"fox {i}") for i in range(40)]
            results = await asyncio.gather(*(client.wait(t, timeout=60) for t in tasks))
            assert all(r.state.value == "completed" for r in results)
            names = [thread.name for thread in threading.enumerate()]
            # 40 waits ran on the client's 4 exchange threads, none on the loop's executor.
            assert sum(name.startswith("luma-http") for name in names) <= 4
            assert not any(name.startswith("asyncio_") for name in names)
        finally:
            await client.aclose()


async def test_failed_task_and_timeout_raise_like_the_blocking_client(
    aclient: AsyncLumaClient, sim: LumaSimulator
) -> None:
    sim.faults.fail_next_task("Frame moderation failed")
    task = await aclient.create("a forbidden fox")
    with pytest.raises(TaskFailedError, match="Frame moderation failed"):
        await aclient.wait(task, timeout=30)
    sim.faults.stall_next_task()
    stuck = await aclient.create("a stuck fox")
    started = time.monotonic()
    with pytest.raises(WaitTimeoutError) as caught:
        await aclient.wait(stuck, timeout=0.5)
    assert time.monotonic() - started < 1.5
    assert caught.value.task_id == stuck.id


async def test_cancelling_a_wait_stops_polling_and_names_the_task(
    aclient: AsyncLumaClient, sim: LumaSimulator
) -> None:
    sim.faults.stall_next_task()
    task = await aclient.create("a fox to abandon")
    waiting = asyncio.ensure_future(aclient.wait(task, timeout=60))
    await asyncio.sleep(0.3)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError) as caught:
        await waiting
    assert any(task.id in note for note in getattr(caught.value, "__notes__", []))
    polls = sim.count("query")
    await asyncio.sleep(0.5)
    assert sim.count("query") == polls  # no poll after the cancel
    assert aclient.client.journal.job(task.id) is not None  # and the id is kept


async def test_cancelling_a_create_in_flight_still_records_its_outcome(
    sim: LumaSimulator, tmp_path: Path
) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    client = AsyncLumaClient(sim.api_key, sim.base_url, journal=journal)
    sim.faults.delay_response(times=1, seconds=1.0, route="create")
    creating = asyncio.ensure_future(client.create("a fox on a slow gateway"))
    await asyncio.sleep(0.3)
    creating.cancel()
    with pytest.raises(asyncio.CancelledError):
        await creating
    await client.aclose()  # lets the request in its thread finish
    (job,) = journal.jobs()
    assert job.status == "created"  # the reply came back after all: the task id is recorded
    assert job.task_id is not None
    assert sim.count("create") == 1


async def test_a_notify_callback_wakes_an_async_wait(sim: LumaSimulator, tmp_path: Path) -> None:
    slow_poll = PollPolicy(first_delay=30, min_interval=30, max_interval=30, jitter=0.0)
    client = AsyncLumaClient(sim.api_key, sim.base_url, poll_policy=slow_poll, journal=False)
    try:
        with NotifyListener() as listener:
            task = await client.create("a called-back fox", notify=listener)
            started = time.monotonic()
            done = await client.wait(task, timeout=30, listener=listener)
            assert done.state.value == "completed"
            assert time.monotonic() - started < 5  # not the 30 s poll: a callback woke it
    finally:
        await client.aclose()


async def test_an_ambiguous_create_is_ambiguous_here_too(sim: LumaSimulator) -> None:
    client = AsyncLumaClient(sim.api_key, sim.base_url, journal=False)
    try:
        sim.faults.reset_connection(times=1, route="create")
        with pytest.raises(AmbiguousSubmitError):
            await client.create("a lost fox")
        assert sim.count("create") == 1
    finally:
        await client.aclose()


def test_it_shares_a_blocking_client(sim: LumaSimulator) -> None:
    blocking = LumaClient(sim.api_key, sim.base_url, journal=False)

    async def main() -> str:
        async with AsyncLumaClient(client=blocking) as client:
            return (await client.create("shared")).id

    assert asyncio.run(main())
    assert blocking.get(sim.add_task()).state.value == "completed"  # still open
