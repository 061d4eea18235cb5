"""Shared fixtures: a real simulator on 127.0.0.1 and a client pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from luma_tools import LumaClient, PollPolicy
from luma_tools.simulator import LumaSimulator

#: Polls fast enough for the simulator's sub-second jobs.
FAST_POLL = PollPolicy(first_delay=0.05, min_interval=0.05, max_interval=0.2, jitter=0.1)


@pytest.fixture
def sim() -> Iterator[LumaSimulator]:
    with LumaSimulator() as simulator:
        yield simulator


@pytest.fixture
def make_client() -> Iterator[Callable[..., LumaClient]]:
    """Build fast-polling clients for any simulator; they are closed after the test."""
    made: list[LumaClient] = []

    def make(simulator: LumaSimulator, **options: object) -> LumaClient:
        settings: dict[str, object] = {"poll_policy": FAST_POLL, "timeout": (2.0, 5.0)}
        settings.update(options)
        made.append(LumaClient(simulator.api_key, simulator.base_url, **settings))  # type: ignore[arg-type]
        return made[-1]

    yield make
    for c in made:
        c.close()


@pytest.fixture
def client(sim: LumaSimulator, make_client: Callable[..., LumaClient]) -> LumaClient:
    return make_client(sim)
