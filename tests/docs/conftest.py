"""Markers and fixtures for the documentation tests.

The `namespace` fixture is what every documentation example runs in (see `test_examples.py`
and `test_docstring_examples.py`): a fresh simulator, a client on it, the environment pointing
at it, and an empty temporary working directory.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import luma_tools._client
from luma_tools import LumaClient, PollPolicy
from luma_tools.simulator import LumaSimulator

#: The simulator's jobs take well under a second: run the schedule (estimates included) 10x faster.
FAST_POLL = PollPolicy(first_delay=0.5, min_interval=0.5, max_interval=2.0).scaled(0.1)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "docs_build: runs `mkdocs build --strict` in a subprocess (a few seconds; "
        'deselect with -m "not docs_build")',
    )


@pytest.fixture
def docs_sim() -> Iterator[LumaSimulator]:
    # A fresh simulator per block: faults and shapes a block sets cannot leak into the next.
    with LumaSimulator(queue_seconds=0.1, run_seconds=0.2) as simulator:
        yield simulator


@pytest.fixture
def namespace(
    docs_sim: LumaSimulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, object]]:
    """`client` and `sim` for an example, run in an empty directory with `LUMA_*` set."""
    monkeypatch.setenv("LUMA_API_KEY", docs_sim.api_key)
    monkeypatch.setenv("LUMA_BASE_URL", docs_sim.base_url)
    monkeypatch.chdir(tmp_path)
    # `LumaClient()` in an example gets the simulator's pace, not a real gateway's.
    monkeypatch.setattr(luma_tools._client, "PollPolicy", lambda: FAST_POLL)
    with LumaClient(timeout=(2.0, 10.0)) as client:
        namespace: dict[str, object] = {"__name__": "__docs_example__", "client": client}
        namespace["sim"] = docs_sim
        yield namespace
        _stop_background_work(namespace)


def _stop_background_work(namespace: dict[str, object]) -> None:
    """Close the widgets a block left running, so their threads do not outlive the simulator."""
    widgets = sys.modules.get("luma_tools.widgets")
    if widgets is None:
        return
    values = list(namespace.values())
    for value in list(values):
        if isinstance(value, list | tuple):
            values.extend(value)
    for value in values:
        if isinstance(value, widgets.TaskPanel | widgets.LumaStudio):
            value.close()  # stops the polling and rendering threads
            _close_tree(value)
        elif isinstance(value, widgets.TaskTracker):
            value.stop()


def _close_tree(root: Any) -> None:
    """Close every widget under `root`: a live container must not keep closed children."""
    stack = [root]
    while stack:
        widget = stack.pop()
        stack.extend(getattr(widget, "children", ()))
        if getattr(widget, "comm", None) is not None:
            widget.close()
