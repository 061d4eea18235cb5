"""The notify_hook listener: auth token, size cap, payload shapes, waking `wait`, fallbacks.

Everything runs over real loopback HTTP: the simulator POSTs its callbacks to the listener, and
the tests post their own with `requests`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import requests

from luma_tools import (
    InvalidInputError,
    LumaClient,
    PollPolicy,
    TaskState,
    WaitCancelledError,
)
from luma_tools.simulator import LumaSimulator
from luma_tools.webhooks import NotifyListener, parse_notify_payload

MakeClient = Callable[..., LumaClient]

# A policy whose own polling would be far too slow for these sub-second jobs: when `wait`
# returns quickly, a callback woke it.
SLOW_POLL = PollPolicy(first_delay=30, min_interval=30, max_interval=30, jitter=0.0)
FAST_POLL = PollPolicy(first_delay=0.05, min_interval=0.05, max_interval=0.2, jitter=0.0)


@pytest.fixture
def listener() -> Iterator[NotifyListener]:
    with NotifyListener() as running:
        yield running


def post(url: str, body: object, **kwargs: object) -> requests.Response:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return requests.post(url, data=data, timeout=5, **kwargs)  # type: ignore[arg-type]


# --- parse_notify_payload ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "task_id", "state"),
    [
        ({"id": "t-1", "state": "completed", "video": {"url": "x"}}, "t-1", TaskState.COMPLETED),
        ({"id": "t-1", "state": "dreaming"}, "t-1", TaskState.RUNNING),
        # The gateway task record: an integer record id next to the real task id.
        (
            {"id": 13917, "task_id": "t-2", "status": "SUCCESS", "data": {"id": "t-2"}},
            "t-2",
            TaskState.COMPLETED,
        ),
        ({"code": 0, "data": {"id": "t-3", "state": "failed"}}, "t-3", TaskState.FAILED),
        ({"data": {"task_id": "t-4", "task_status": "IN_PROGRESS"}}, "t-4", TaskState.RUNNING),
        ([{"id": "t-5", "status": "succeed"}], "t-5", TaskState.COMPLETED),
        ({"task_id": "t-6"}, "t-6", TaskState.UNKNOWN),
        (b'{"id": "t-7", "state": "pending"}', "t-7", TaskState.QUEUED),
    ],
)
def test_payload_shapes(body: object, task_id: str, state: TaskState) -> None:
    assert parse_notify_payload(body) == (task_id, state)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "body",
    [b"not json", b"[]", b'"text"', b'{"state": "completed"}', b'{"id": "../../etc"}'],
)
def test_unusable_payloads_raise_value_error(body: bytes) -> None:
    with pytest.raises(ValueError, match=r"callback|JSON|object"):
        parse_notify_payload(body)


# --- HTTP: token, size cap, methods -----------------------------------------------------------


def test_requests_without_the_token_are_refused(listener: NotifyListener) -> None:
    body = {"id": "t-1", "state": "completed"}
    base = listener.url.rsplit("/", 1)[0]
    assert post(base + "/wrong-token", body).status_code == 401
    assert post(base + "/", body).status_code == 401
    assert post(listener.url, body).status_code == 200
    assert post(listener.url + "?x=1", body).status_code == 200
    assert listener.stats.unauthorized == 2
    assert listener.stats.accepted == 2


def test_two_listeners_have_different_tokens() -> None:
    with NotifyListener() as a, NotifyListener() as b:
        assert a.url.rsplit("/", 1)[1] != b.url.rsplit("/", 1)[1]
        assert len(a.url.rsplit("/", 1)[1]) >= 32


def test_bodies_over_the_cap_are_refused() -> None:
    with NotifyListener(max_body_bytes=1024) as small:
        big = {"id": "t-1", "state": "completed", "pad": "x" * 2000}
        assert post(small.url, big).status_code == 413
        assert small.stats.too_large == 1
        assert small.stats.accepted == 0
        # The listener keeps working after refusing.
        assert post(small.url, {"id": "t-1", "state": "completed"}).status_code == 200


def test_malformed_bodies_get_400_and_other_methods_405(listener: NotifyListener) -> None:
    assert post(listener.url, b"<html>").status_code == 400
    assert post(listener.url, {"hello": "world"}).status_code == 400
    assert requests.get(listener.url, timeout=5).status_code == 405
    assert listener.stats.malformed == 2


def test_public_url_carries_the_token() -> None:
    listener = NotifyListener(public_url="https://hooks.example.com/luma/")
    assert listener.url.startswith("https://hooks.example.com/luma/")
    assert len(listener.url.rsplit("/", 1)[1]) >= 32
    with pytest.raises(ValueError, match="http"):
        NotifyListener(public_url="ftp://x")


# --- with the simulator -----------------------------------------------------------------------


def test_wait_returns_right_after_the_completion_callback(make_client: MakeClient) -> None:
    with LumaSimulator(estimate=False) as sim, NotifyListener() as listener:
        client = make_client(sim, poll_policy=SLOW_POLL)
        task = client.create("callback", notify=listener)
        assert sim.requests[-1].json["notify_hook"] == listener.url
        done = client.wait(task, listener=listener, timeout=20)
        finished_at = time.monotonic()
        assert done.state is TaskState.COMPLETED
        assert done.video_url
        # The simulator logs a delivery once our 200 reached it, which may be after `wait`
        # returned: give the log a moment.
        deadline = time.monotonic() + 5
        while not (done_hooks := [h for h in sim.hooks if h.state == "completed"]):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert done_hooks[0].status == 200
        assert finished_at - done_hooks[0].time < 0.5
        # Progress callbacks are not confirmed; the completion callback costs one GET.
        assert sim.count("query") <= 2
        assert listener.stats.accepted == len(sim.hooks)


def test_record_shaped_callbacks_work_too(make_client: MakeClient) -> None:
    with LumaSimulator(estimate=False) as sim, NotifyListener() as listener:
        sim.shapes.notify = "record"
        client = make_client(sim, poll_policy=SLOW_POLL)
        done = client.wait(client.create("record", notify=listener), listener=listener, timeout=20)
        assert done.is_finished
        assert sim.count("query") <= 2


def test_a_false_completion_claim_is_checked_not_trusted(
    make_client: MakeClient, listener: NotifyListener
) -> None:
    with LumaSimulator() as sim:
        sim.faults.stall_next_task()  # runs forever: any "completed" is a lie
        client = make_client(sim, poll_policy=SLOW_POLL)
        task = client.create("liar", notify=listener)
        states: list[TaskState] = []
        cancel = threading.Event()
        forged = threading.Timer(0.3, post, (listener.url, {"id": task.id, "state": "completed"}))
        forged.start()
        threading.Timer(1.0, cancel.set).start()
        with pytest.raises(WaitCancelledError):
            client.wait(
                task, listener=listener, cancel=cancel, on_update=lambda t: states.append(t.state)
            )
        forged.join()
        # The claim cost exactly one GET, which saw the task still running; waiting went on.
        assert sim.count("query") == 1
        assert states[-1] is TaskState.RUNNING


def test_duplicate_and_out_of_order_callbacks_are_harmless(
    make_client: MakeClient, listener: NotifyListener
) -> None:
    with LumaSimulator() as sim:
        client = make_client(sim, poll_policy=SLOW_POLL)
        task_id = sim.add_task(state="completed")
        for state in ("completed", "completed", "processing", "pending", "completed"):
            assert post(listener.url, {"id": task_id, "state": state}).status_code == 200
        # Callbacks before the wait began prove the gateway reaches us; one GET settles it.
        assert client.wait(task_id, listener=listener, timeout=5).is_finished
        assert sim.count("query") == 1
        # ...and late duplicates after the wait returned go nowhere.
        assert post(listener.url, {"id": task_id, "state": "completed"}).status_code == 200
        assert sim.count("query") == 1


def test_unknown_task_ids_are_accepted_and_ignored(
    sim: LumaSimulator, listener: NotifyListener
) -> None:
    reply = post(listener.url, {"id": "never-created", "state": "completed"})
    assert reply.status_code == 200
    assert listener.stats.accepted == 1
    assert listener.stats.woke == 0
    assert sim.count("query") == 0


def test_a_dead_listener_falls_back_to_polling(make_client: MakeClient) -> None:
    with LumaSimulator(queue_seconds=0.3, run_seconds=0.6, estimate=False) as sim:
        client = make_client(sim, poll_policy=FAST_POLL)
        listener = NotifyListener().start()
        task = client.create("dead listener", notify=listener)
        listener.stop()  # every callback now fails to connect
        done = client.wait(task, listener=listener, timeout=10)
        assert done.is_finished
        assert any(h.status is None for h in sim.hooks)


def test_stopping_the_listener_mid_wait_falls_back_to_polling(make_client: MakeClient) -> None:
    with LumaSimulator(queue_seconds=0.5, run_seconds=0.5) as sim:
        client = make_client(sim, poll_policy=FAST_POLL)
        listener = NotifyListener().start()
        task = client.create("stopped mid-wait", notify=listener)
        # Let the first callback arrive: from now on polling is only a (slow) safety net.
        deadline = time.monotonic() + 5
        while listener.stats.accepted == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        timer = threading.Timer(0.2, listener.stop)
        timer.start()
        try:
            assert client.wait(task, listener=listener, timeout=10).is_finished
        finally:
            timer.join()


def test_unreachable_listener_url_still_finishes(
    make_client: MakeClient, listener: NotifyListener
) -> None:
    # The gateway never calls back (it ignores notify_hook): ordinary polling carries on.
    with LumaSimulator(queue_seconds=0.1, run_seconds=0.3) as sim:
        client = make_client(sim, poll_policy=FAST_POLL)
        assert client.wait(client.create("no hook"), listener=listener, timeout=10).is_finished
        assert listener.stats.accepted == 0


def test_cancel_works_while_sleeping_on_the_listener(
    make_client: MakeClient, listener: NotifyListener
) -> None:
    with LumaSimulator() as sim:
        sim.faults.stall_next_task()
        client = make_client(sim, poll_policy=SLOW_POLL)
        task = client.create("stalls", notify=listener)
        cancel = threading.Event()
        threading.Timer(0.2, cancel.set).start()
        started = time.monotonic()
        with pytest.raises(WaitCancelledError):
            client.wait(task, listener=listener, cancel=cancel, timeout=20)
        assert time.monotonic() - started < 2


def test_notify_and_notify_hook_conflict(client: LumaClient, listener: NotifyListener) -> None:
    with pytest.raises(InvalidInputError, match="notify"):
        client.create("x", notify=listener, notify_hook="https://elsewhere.example/hook")


def test_url_before_start_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="start"):
        _ = NotifyListener().url


def test_the_token_never_reaches_the_log(
    listener: NotifyListener, caplog: pytest.LogCaptureFixture
) -> None:
    token = listener.url.rsplit("/", 1)[1]
    with caplog.at_level("DEBUG", logger="luma_tools"):
        assert post(listener.url, {"id": "t-1", "state": "completed"}).status_code == 200
        assert requests.get(listener.url, timeout=5).status_code == 405
        assert post(listener.url, b"<html>").status_code == 400
    lines = [record.getMessage() for record in caplog.records]
    assert any("notify listener:" in line and "<token>" in line for line in lines)
    assert not any(token in line for line in lines)
