"""Class 6: deadlines hold, whatever the gateway does."""

from __future__ import annotations

import math
import threading
import time
from pathlib import Path

import pytest
from hostile_server import HostileServer, hold, json_reply, reply

from luma_tools import InvalidInputError, LumaClient, WaitTimeoutError

RUNNING = {"id": "task-1", "state": "processing"}


@pytest.fixture
def release() -> threading.Event:
    event = threading.Event()
    yield event
    event.set()


def test_a_hanging_gateway_cannot_stretch_a_wait(
    hostile: HostileServer, make_hostile_client, release: threading.Event
) -> None:
    client = make_hostile_client(hostile.url, timeout=(2.0, 2.0))
    hostile.script("GET", "/luma/generations/task-1", hold(release))
    started = time.monotonic()
    with pytest.raises(WaitTimeoutError) as caught:
        client.wait("task-1", timeout=1)
    assert time.monotonic() - started < 1.6
    assert caught.value.task_id == "task-1"


def test_retry_after_never_outlasts_the_deadline(
    hostile: HostileServer, hostile_client: LumaClient
) -> None:
    hostile.script(
        "GET", "/luma/generations/task-1", reply(503, "busy", headers={"Retry-After": "30"})
    )
    started = time.monotonic()
    with pytest.raises(WaitTimeoutError):
        hostile_client.wait("task-1", timeout=3)
    assert time.monotonic() - started < 3.6
    assert hostile.count("GET") <= 3  # never slept 30 s: no time was left for it


def test_a_wait_ends_on_time_with_a_slow_but_answering_gateway(
    hostile: HostileServer, make_hostile_client
) -> None:
    client = make_hostile_client(hostile.url, timeout=(2.0, 2.0))
    hostile.script("GET", "/luma/generations/task-1", json_reply(200, RUNNING))
    started = time.monotonic()
    with pytest.raises(WaitTimeoutError) as caught:
        client.wait("task-1", timeout=1)
    assert time.monotonic() - started < 1.6
    assert caught.value.last_state is not None
    assert caught.value.last_state.value == "running"


def test_a_zero_timeout_still_looks_once(
    hostile: HostileServer, hostile_client: LumaClient
) -> None:
    done = {"id": "task-1", "state": "completed", "video": {"url": "https://cdn.example/v.mp4"}}
    hostile.script("GET", "/luma/generations/task-1", json_reply(200, done))
    assert hostile_client.wait("task-1", timeout=0).state.value == "completed"
    hostile.script("GET", "/luma/generations/task-2", json_reply(200, {**RUNNING, "id": "task-2"}))
    with pytest.raises(WaitTimeoutError) as caught:
        hostile_client.wait("task-2", timeout=0)
    assert caught.value.last_state is not None  # it looked: the state is known
    assert hostile.count("GET", "/luma/generations/task-2") == 1


@pytest.mark.parametrize("value", [math.nan, -1, math.inf, "soon"])
def test_unusable_timeouts_are_refused_before_any_request(
    value: object, hostile: HostileServer, hostile_client: LumaClient, tmp_path: Path
) -> None:
    for call in (
        lambda: hostile_client.wait("task-1", timeout=value),  # type: ignore[arg-type]
        lambda: hostile_client.generate("a fox", tmp_path / "v.mp4", timeout=value),  # type: ignore[arg-type]
        lambda: hostile_client.download("task-1", tmp_path / "v.mp4", timeout=value),  # type: ignore[arg-type]
        lambda: LumaClient("sk-test-key-1", hostile.url, timeout=value),  # type: ignore[arg-type]
    ):
        with pytest.raises(InvalidInputError, match="timeout"):
            call()
    assert hostile.received == []


@pytest.mark.parametrize("header", ["soon", "-5", "Wed, 32 Foo 2015 99:99:99 GMT", "1e999", "²"])
def test_a_malformed_retry_after_is_ignored_not_fatal(
    header: str, hostile: HostileServer, hostile_client: LumaClient
) -> None:
    hostile.script(
        "GET",
        "/luma/generations/task-1",
        reply(503, "busy", headers={"Retry-After": header}),
        json_reply(200, RUNNING),
    )
    assert hostile_client.get("task-1").id == "task-1"
    assert hostile.count("GET") == 2


def test_a_past_retry_after_date_means_now(
    hostile: HostileServer, hostile_client: LumaClient
) -> None:
    hostile.script(
        "GET",
        "/luma/generations/task-1",
        reply(429, "slow down", headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}),
        json_reply(200, RUNNING),
    )
    started = time.monotonic()
    assert hostile_client.get("task-1").id == "task-1"
    assert time.monotonic() - started < 2.5
