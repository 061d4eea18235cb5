"""`wait`: state changes reported, deadline respected, failures and transient errors handled."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from luma_tools import (
    LumaClient,
    PollEvent,
    PollPolicy,
    Task,
    TaskFailedError,
    TaskState,
    WaitCancelledError,
    WaitTimeoutError,
)
from luma_tools.simulator import LumaSimulator

MakeClient = Callable[..., LumaClient]


def test_reports_each_state_change_once(make_client: MakeClient) -> None:
    # Without an estimate the schedule polls from its floor, so it sees every phase.
    with LumaSimulator(estimate=False) as sim:
        client = make_client(sim)
        seen: list[TaskState] = []
        task = client.wait(
            client.create("states"), timeout=10, on_update=lambda t: seen.append(t.state)
        )
    assert seen == [TaskState.QUEUED, TaskState.RUNNING, TaskState.COMPLETED]
    assert task.is_finished


def test_first_poll_follows_the_estimate(make_client: MakeClient) -> None:
    # A 2 s job whose estimate (whole seconds, as gateways send) is known: the schedule
    # sleeps through it and polls little.
    with LumaSimulator(queue_seconds=1.0, run_seconds=1.0) as sim:
        client = make_client(sim, poll_policy=PollPolicy(min_interval=0.05, jitter=0.0))
        created = client.create("estimate")
        assert created.estimate_wait_seconds is not None
        started = time.monotonic()
        client.wait(created, timeout=10)
        elapsed = time.monotonic() - started
        assert sim.count("query") <= 3
        assert elapsed < 2.0 + 0.5  # noticed promptly


@pytest.mark.parametrize("estimate", ["stale", "early"])
def test_a_task_outliving_its_estimate_is_noticed_soon(
    make_client: MakeClient, estimate: str
) -> None:
    # A 20 s job (at 0.1 real s per second) whose gateway says 15 s on every reply ("stale")
    # or counts 15 s down to 0 ("early"). Trusting the repeated 15 s noticed the end at 30 s;
    # polling an overdue task at 10 % of the time waited notices it at about 21 s.
    scale = 0.1
    with LumaSimulator(
        queue_seconds=2,
        run_seconds=18,
        time_scale=scale,
        estimate=estimate,  # type: ignore[arg-type]
    ) as sim:
        client = make_client(sim, poll_policy=PollPolicy(jitter=0).scaled(scale))
        created = client.create("overdue")
        assert created.estimate_wait_seconds == 15
        client.wait(created, timeout=60 * scale)
        noticed = (time.monotonic() - sim.requests[0].time) / scale
        assert noticed < 25  # virtual seconds: 30 before the fix
        assert sim.count("query") <= 5


def test_without_estimate_it_still_finishes(make_client: MakeClient) -> None:
    with LumaSimulator(estimate=False) as sim:
        client = make_client(sim)
        assert client.wait(client.create("no estimate"), timeout=10).is_finished


def test_deadline_is_respected_and_the_task_id_kept(client: LumaClient, sim: LumaSimulator) -> None:
    sim.faults.stall_next_task()
    task = client.create("never ends")
    started = time.monotonic()
    with pytest.raises(WaitTimeoutError) as caught:
        client.wait(task.id, timeout=0.6)
    elapsed = time.monotonic() - started
    assert 0.6 <= elapsed < 1.2
    error = caught.value
    assert error.task_id == task.id
    assert error.last_state is TaskState.RUNNING
    assert error.task is not None
    assert error.task.id == task.id
    assert f"wait on {task.id} again" in str(error)


def test_failed_task_raises_with_its_reason(client: LumaClient, sim: LumaSimulator) -> None:
    sim.faults.fail_next_task(reason="Advanced prompt moderation failed")
    task = client.create("forbidden")
    with pytest.raises(TaskFailedError) as caught:
        client.wait(task, timeout=10)
    assert caught.value.failure_reason == "Advanced prompt moderation failed"
    assert caught.value.task.id == task.id
    assert caught.value.task_id == task.id


def test_completed_without_url_is_waited_out(make_client: MakeClient) -> None:
    with LumaSimulator(url_delay_seconds=0.4) as sim:
        client = make_client(sim)
        states: list[Task] = []
        task = client.wait(client.create("late url"), timeout=10, on_update=states.append)
        assert task.video_url is not None
        assert states[-1].state is TaskState.COMPLETED


def test_a_rate_limited_link_lookup_is_ridden_out(make_client: MakeClient) -> None:
    # The task completed without a URL; asking download_video_url for one hits a 429.
    with LumaSimulator(url_delay_seconds=0.6) as sim:
        client = make_client(sim, max_retries=0)
        sim.faults.rate_limit(times=1, retry_after=0, route="download_url")
        task = client.wait(client.create("late url, busy gateway"), timeout=10)
        assert task.video_url is not None
        assert sim.count("download_url") >= 1


def test_generate_into_a_new_folder(client: LumaClient, sim: LumaSimulator, tmp_path: Path) -> None:
    task, path = client.generate("into a folder", f"{tmp_path}/videos/")
    assert path == tmp_path / "videos" / f"{task.id}.mp4"
    assert path.stat().st_size == sim.video_size


def test_transient_errors_are_ridden_out(client: LumaClient, sim: LumaSimulator) -> None:
    task = client.create("flaky gateway")
    sim.faults.server_error(times=6, status=502, route="query")
    events: list[PollEvent] = []
    done = client.wait(task, timeout=20, on_poll=events.append)
    assert done.is_finished
    assert any(e.error is not None for e in events)
    assert events[-1].task is not None
    assert events[-1].next_delay is None
    assert [e.polls for e in events] == list(range(1, len(events) + 1))


def test_cancel_stops_promptly(client: LumaClient, sim: LumaSimulator) -> None:
    sim.faults.stall_next_task()
    task = client.create("stoppable")
    cancel = threading.Event()
    timer = threading.Timer(0.3, cancel.set)
    timer.start()
    started = time.monotonic()
    with pytest.raises(WaitCancelledError) as caught:
        client.wait(
            task,
            timeout=30,
            cancel=cancel,
            poll_policy=PollPolicy(first_delay=10, min_interval=10, max_interval=10),
        )
    assert time.monotonic() - started < 1.0
    assert caught.value.task_id == task.id


def test_generate_keeps_the_task_id_on_failure(
    client: LumaClient, sim: LumaSimulator, tmp_path: object
) -> None:
    sim.faults.stall_next_task()
    with pytest.raises(WaitTimeoutError) as caught:
        client.generate("stuck", f"{tmp_path}/x.mp4", timeout=0.3)
    assert caught.value.task_id
    assert sim.task_state(caught.value.task_id) == "processing"
