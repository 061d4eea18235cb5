"""Shared fixtures: a real simulator on 127.0.0.1 and a client pointed at it; the built docs."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType

import pytest

from luma_tools import LumaClient, PollPolicy
from luma_tools.simulator import LumaSimulator


def pytest_configure(config: pytest.Config) -> None:
    # The journal and download locks live in luma-tools' home: never the real user folder in
    # tests (subprocesses inherit it too). One per pytest process.
    os.environ["LUMA_TOOLS_HOME"] = tempfile.mkdtemp(prefix="luma-tools-home-")


#: Polls fast enough for the simulator's sub-second jobs.
FAST_POLL = PollPolicy(first_delay=0.05, min_interval=0.05, max_interval=0.2, jitter=0.1)


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The documentation site, built once per run the way `python3 tasks.py docs` builds it."""
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings_handlers.python")
    site = tmp_path_factory.mktemp("docs") / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=Path(__file__).resolve().parents[1],
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=170,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return site


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


class LoopWatch:
    """Counts event-loop turns while an awaited call runs: proof that the loop stayed free.

    ```python
    async with LoopWatch() as watch:
        await something_slow()
    assert watch.ticks > 10
    ```
    """

    def __init__(self, interval: float = 0.01) -> None:
        self.interval = interval
        self.ticks = 0
        self._task: asyncio.Task[None] | None = None

    async def _tick(self) -> None:
        while True:
            self.ticks += 1
            await asyncio.sleep(self.interval)

    async def __aenter__(self) -> LoopWatch:
        self._task = asyncio.create_task(self._tick())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._task is not None
        self._task.cancel()


@pytest.fixture
def loop_watch() -> LoopWatch:
    return LoopWatch()
