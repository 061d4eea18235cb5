"""Fixtures for the hostile-conditions tests: a scripted server, and clients pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from hostile_server import KEY, HostileServer

from luma_tools import LumaClient, PollPolicy

FAST_POLL = PollPolicy(first_delay=0.05, min_interval=0.05, max_interval=0.2, jitter=0.1)


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    with HostileServer() as server:
        yield server


@pytest.fixture
def hostile_client(
    make_hostile_client: Callable[..., LumaClient], hostile: HostileServer
) -> LumaClient:
    return make_hostile_client(hostile.url)


@pytest.fixture
def make_hostile_client() -> Iterator[Callable[..., LumaClient]]:
    made: list[LumaClient] = []

    def make(url: str, *, api_key: str = KEY, **options: object) -> LumaClient:
        settings: dict[str, object] = {"poll_policy": FAST_POLL, "timeout": (2.0, 5.0)}
        settings.update(options)
        made.append(LumaClient(api_key, url, **settings))  # type: ignore[arg-type]
        return made[-1]

    yield make
    for client in made:
        client.close()
