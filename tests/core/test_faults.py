"""Each simulator fault, with nothing lost: one create per call, retries only where safe."""

from __future__ import annotations

import time

import pytest

from luma_tools import (
    AmbiguousSubmitError,
    LumaClient,
    LumaConnectionError,
    RateLimitError,
    ServerError,
    TaskState,
)
from luma_tools.simulator import LumaSimulator


def test_get_retries_429_honouring_retry_after(client: LumaClient, sim: LumaSimulator) -> None:
    task_id = sim.add_task(state="completed")
    sim.faults.rate_limit(times=1, retry_after=1, route="query")
    started = time.monotonic()
    task = client.get(task_id)
    assert task.state is TaskState.COMPLETED
    assert time.monotonic() - started >= 0.9  # it waited as told
    statuses = [r.status for r in sim.requests if r.route == "query"]
    assert statuses == [429, 200]


def test_get_retries_5xx_then_gives_up_with_a_server_error(
    client: LumaClient, sim: LumaSimulator
) -> None:
    task_id = sim.add_task(state="completed")
    sim.faults.server_error(times=2, status=502, route="query", html=True)
    assert client.get(task_id).id == task_id
    sim.faults.server_error(times=50, status=503, route="query")
    with pytest.raises(ServerError) as caught:
        client.get(task_id)
    assert caught.value.status_code == 503
    assert caught.value.task_id == task_id
    # 1 + 2 retried, then 1 + 3 retries (max_retries=3)
    assert sim.count("query") == 3 + 4


def test_create_is_never_retried_on_429(client: LumaClient, sim: LumaSimulator) -> None:
    sim.faults.rate_limit(times=1, retry_after=2, route="create")
    with pytest.raises(RateLimitError) as caught:
        client.create("busy")
    assert caught.value.retry_after == 2
    assert "Wait 2 s" in str(caught.value)
    assert sim.count("create") == 1


def test_a_5xx_on_create_is_ambiguous_and_never_retried(
    client: LumaClient, sim: LumaSimulator
) -> None:
    sim.faults.server_error(times=1, status=504, route="create")
    with pytest.raises(AmbiguousSubmitError) as caught:
        client.create("gateway timeout")
    assert caught.value.status_code == 504
    assert "does not prove it refused" in str(caught.value)
    assert sim.count("create") == 1


def test_reset_after_create_is_ambiguous_and_not_resent(
    client: LumaClient, sim: LumaSimulator
) -> None:
    sim.faults.reset_connection(times=1, route="create")
    with pytest.raises(AmbiguousSubmitError) as caught:
        client.create("a lost reply")
    message = str(caught.value)
    assert "a lost reply" in message
    assert "may have been created" in message
    assert "do not resubmit" in message
    assert not isinstance(caught.value, LumaConnectionError)  # so naive retry loops skip it
    assert sim.count("create") == 1
    assert len([r for r in sim.requests if r.route == "create" and r.status is None]) == 1


def test_reset_during_extend_is_ambiguous(client: LumaClient, sim: LumaSimulator) -> None:
    source = sim.add_task(state="completed")
    sim.faults.reset_connection(times=1, route="extend")
    with pytest.raises(AmbiguousSubmitError) as caught:
        client.extend(source, "more")
    assert caught.value.extends == source
    assert caught.value.task_id is None  # the new task's id is what is unknown
    assert sim.count("extend") == 1


def test_reset_on_a_get_is_retried(client: LumaClient, sim: LumaSimulator) -> None:
    task_id = sim.add_task(state="completed")
    sim.faults.reset_connection(times=1, route="query")
    assert client.get(task_id).id == task_id
    assert sim.count("query") == 2


def test_read_timeout_on_create_is_ambiguous(sim: LumaSimulator) -> None:
    sim.faults.delay_response(times=1, seconds=2.0, route="create")
    with (
        LumaClient(sim.api_key, sim.base_url, timeout=(2.0, 0.3)) as impatient,
        pytest.raises(AmbiguousSubmitError, match=r"read timeout|no reply"),
    ):
        impatient.create("slow gateway")
    assert sim.count("create") == 1


def test_slow_body_within_the_timeout_is_fine(client: LumaClient, sim: LumaSimulator) -> None:
    task_id = sim.add_task(state="completed")
    sim.faults.slow_body(times=1, seconds=0.5, route="query")
    assert client.get(task_id).id == task_id


def test_connection_refused_on_create_is_safe_to_report(sim: LumaSimulator) -> None:
    base_url = sim.base_url
    sim.stop()
    with (
        LumaClient(sim.api_key, base_url, max_retries=1) as offline,
        pytest.raises(LumaConnectionError, match=r"connection refused"),
    ):
        offline.create("nobody home")  # provably never sent: not an AmbiguousSubmitError
