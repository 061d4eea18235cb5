"""notify_hook: a POST on every state change, recorded in `sim.hooks`, with retries."""

from __future__ import annotations

import itertools
import socket

import pytest

from luma_tools.simulator import HookDelivery


@pytest.fixture
def quick_sim(make_sim):
    return make_sim(queue_seconds=0.05, run_seconds=0.1)


@pytest.fixture
def quick_gateway(quick_sim, make_gateway):
    return make_gateway(quick_sim)


def test_a_hook_fires_on_each_state_change(
    quick_sim, quick_gateway, hook_receiver, wait_until
) -> None:
    task_id = quick_gateway.create(notify_hook=hook_receiver.url)["id"]
    received = hook_receiver.wait_for(3)
    assert [h.body["state"] for h in received] == ["pending", "processing", "completed"]
    assert {h.body["id"] for h in received} == {task_id}
    assert all(h.path == "/hook" for h in received)
    assert received[0].headers["Content-Type"] == "application/json"
    assert received[0].headers["User-Agent"] == "luma-simulator"
    assert received[-1].body["video"]["download_url"]
    assert received[0].body["video"] is None
    # the completed payload equals what the query endpoint says
    assert received[-1].body.keys() == quick_gateway.query(task_id).keys()

    hooks = wait_until(lambda: len(quick_sim.hooks) >= 3 and quick_sim.hooks)
    assert all(isinstance(h, HookDelivery) for h in hooks)
    assert [(h.state, h.attempt, h.status, h.exception) for h in hooks] == [
        ("pending", 1, 200, None),
        ("processing", 1, 200, None),
        ("completed", 1, 200, None),
    ]
    assert {(h.url, h.task_id) for h in hooks} == {(hook_receiver.url, task_id)}
    assert [h.payload for h in hooks] == [r.body for r in received]
    assert [h.time for h in hooks] == sorted(h.time for h in hooks)


def test_a_failed_task_ends_with_a_failed_hook(quick_sim, quick_gateway, hook_receiver) -> None:
    quick_sim.faults.fail_next_task("Frame moderation failed")
    quick_gateway.create(notify_hook=hook_receiver.url)
    received = hook_receiver.wait_for(3)
    assert [h.body["state"] for h in received] == ["pending", "processing", "failed"]
    assert received[-1].body["failure_reason"] == "Frame moderation failed"


def test_url_delay_sends_a_second_completed_hook_with_the_video(
    make_sim, make_gateway, hook_receiver
) -> None:
    sim = make_sim(queue_seconds=0, run_seconds=0.05, url_delay_seconds=0.1)
    make_gateway(sim).create(notify_hook=hook_receiver.url)
    received = hook_receiver.wait_for(3)
    assert [(h.body["state"], h.body["video"] is None) for h in received] == [
        ("processing", True),
        ("completed", True),
        ("completed", False),
    ]


def test_record_shape_wraps_the_task_in_a_gateway_record(
    quick_sim, quick_gateway, hook_receiver
) -> None:
    quick_sim.shapes.notify = "record"
    task_id = quick_gateway.create(notify_hook=hook_receiver.url)["id"]
    received = hook_receiver.wait_for(3)
    assert [h.body["status"] for h in received] == ["NOT_START", "IN_PROGRESS", "SUCCESS"]
    assert all(h.body["task_id"] == task_id for h in received)
    assert [h.body["data"]["state"] for h in received] == ["pending", "processing", "completed"]
    assert received[-1].body["progress"] == "100%"
    assert received[-1].body["finish_time"] > 0


def test_hooks_follow_the_query_shape_and_state_vocabulary(
    quick_sim, quick_gateway, hook_receiver, wait_until
) -> None:
    quick_sim.shapes.query = "official"
    quick_gateway.create(notify_hook=hook_receiver.url)
    received = hook_receiver.wait_for(3)
    assert [h.body["state"] for h in received] == ["queued", "dreaming", "completed"]
    assert received[-1].body["assets"]["video"]
    hooks = wait_until(lambda: len(quick_sim.hooks) >= 3 and quick_sim.hooks)
    assert [h.state for h in hooks] == ["pending", "processing", "completed"]


def test_a_failing_receiver_is_retried_until_it_answers_200(
    quick_sim, quick_gateway, hook_receiver, wait_until
) -> None:
    hook_receiver.statuses = [500, 503]
    quick_sim.faults.stall_next_task()  # two transitions only: pending, processing
    quick_gateway.create(notify_hook=hook_receiver.url)
    received = hook_receiver.wait_for(4)
    assert [h.body["state"] for h in received] == ["pending"] * 3 + ["processing"]
    hooks = wait_until(lambda: len(quick_sim.hooks) >= 4 and quick_sim.hooks)
    assert [(h.state, h.attempt, h.status) for h in hooks] == [
        ("pending", 1, 500),
        ("pending", 2, 503),
        ("pending", 3, 200),
        ("processing", 1, 200),
    ]


def test_a_receiver_that_keeps_failing_gets_three_retries(
    quick_sim, quick_gateway, hook_receiver, wait_until
) -> None:
    hook_receiver.statuses = [500] * 4 + [204] * 4  # only 200 counts as delivered
    quick_sim.faults.stall_next_task()
    quick_gateway.create(notify_hook=hook_receiver.url)
    hook_receiver.wait_for(8)
    hooks = wait_until(lambda: len(quick_sim.hooks) >= 8 and quick_sim.hooks)
    attempts = [(h.state, h.attempt, h.status) for h in hooks]
    assert attempts == [("pending", n, 500) for n in (1, 2, 3, 4)] + [
        ("processing", n, 204) for n in (1, 2, 3, 4)
    ]
    gaps = [b.time - a.time for a, b in itertools.pairwise(hooks)]
    assert min(gaps[:3]) >= 0.09  # 100 ms between attempts


def test_an_unreachable_receiver_is_recorded_with_the_error(
    quick_sim, quick_gateway, wait_until
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    quick_sim.faults.stall_next_task()
    quick_gateway.create(notify_hook=f"http://127.0.0.1:{port}/hook")
    hooks = wait_until(lambda: len(quick_sim.hooks) >= 8 and quick_sim.hooks)
    assert all(h.status is None for h in hooks)
    assert all(h.exception and "Connection refused" in h.exception for h in hooks)
    assert [h.attempt for h in hooks] == [1, 2, 3, 4] * 2


def test_tasks_without_a_hook_send_nothing(quick_sim, quick_gateway) -> None:
    task_id = quick_gateway.create()["id"]
    quick_gateway.wait_for_state(task_id, "completed")
    assert quick_sim.hooks == []


def test_hooks_of_several_tasks_keep_per_task_order(
    quick_sim, quick_gateway, hook_receiver
) -> None:
    ids = [quick_gateway.create(f"t{n}", notify_hook=hook_receiver.url)["id"] for n in range(5)]
    received = hook_receiver.wait_for(15)
    for task_id in ids:
        states = [h.body["state"] for h in received if h.body["id"] == task_id]
        assert states == ["pending", "processing", "completed"]
