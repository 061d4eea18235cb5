"""Fixtures for the headless widget tests (no kernel: ipywidgets falls back to a dummy comm)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from luma_tools import LumaClient, PollPolicy
from luma_tools.simulator import LumaSimulator
from luma_tools.widgets import PanelView, TaskPanel

#: Fast polls that also cap the wait on the gateway's estimate, so every state is seen.
LIVE_POLL = PollPolicy(
    first_delay=0.05, min_interval=0.05, max_interval=0.1, jitter=0.1, max_estimate_delay=0.1
)


@pytest.fixture
def live_policy() -> PollPolicy:
    return LIVE_POLL


@pytest.fixture
def live_sim() -> Iterator[LumaSimulator]:
    """A simulator whose tasks spend long enough queued and running to be seen in each."""
    with LumaSimulator(queue_seconds=0.4, run_seconds=0.6) as simulator:
        yield simulator


@pytest.fixture
def live_client(live_sim: LumaSimulator, make_client: Callable[..., LumaClient]) -> LumaClient:
    return make_client(live_sim, poll_policy=LIVE_POLL)


@pytest.fixture
def panels() -> Iterator[list[TaskPanel]]:
    """Panels to close after the test, so no poll thread outlives it."""
    made: list[TaskPanel] = []
    yield made
    for panel in made:
        panel.close()


Until = Callable[..., PanelView]


def _until(panel: TaskPanel, check: Callable[[PanelView], bool], timeout: float = 10) -> PanelView:
    """Wait (on the tracker's condition, with a deadline) until `check(view)` holds."""
    deadline = time.monotonic() + timeout
    view = panel.view
    while not check(view):
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"timed out; the panel is at {view}")
        view = panel._tracker.wait_for_change(view.version, timeout=min(left, 0.5))
    return view


@pytest.fixture
def until() -> Until:
    """`until(panel, check, timeout=10)`: wait for a panel state, with a deadline."""
    return _until
