"""`TerminalProgress` in a terminal: the time left counts down between polls."""

from __future__ import annotations

import io
import re
import threading

from luma_tools import PollEvent, Task, TaskState
from luma_tools._progress import TerminalProgress

#: Long enough for several of the ticker's 0.5 s redraws on a busy machine.
REDRAW_TIMEOUT = 10.0


class WatchedStream(io.StringIO):
    """A terminal stand-in that lets a test wait until a text has been drawn."""

    def __init__(self) -> None:
        super().__init__()
        self._changed = threading.Condition()

    def write(self, text: str) -> int:
        with self._changed:
            written = super().write(text)
            self._changed.notify_all()
        return written

    def isatty(self) -> bool:
        return True

    def drawn_since(self, start: int) -> str:
        return self.getvalue()[start:]

    def wait_for(self, pattern: str, start: int = 0) -> str:
        """Block until `pattern` is drawn after offset `start`; returns what was drawn."""
        with self._changed:
            found = self._changed.wait_for(
                lambda: re.search(pattern, self.drawn_since(start)), REDRAW_TIMEOUT
            )
        assert found, f"{pattern!r} never drawn; drawn: {self.drawn_since(start)[-300:]!r}"
        return self.drawn_since(start)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def redrawn_after(stream: WatchedStream, clock: FakeClock, seconds: float, pattern: str) -> str:
    """Move the clock on, with no poll or update, and wait until the ticker draws `pattern`."""
    mark = len(stream.getvalue())
    clock.now += seconds
    return stream.wait_for(pattern, mark)


def running(estimate: float | None) -> Task:
    return Task(id="t-1", state=TaskState.RUNNING, estimate_wait_seconds=estimate)


def test_time_left_counts_down_between_polls() -> None:
    stream, clock = WatchedStream(), FakeClock()
    with TerminalProgress(stream, clock=clock) as progress:
        assert progress.live  # decided by the stream being a terminal
        progress.on_update(running(30))
        stream.wait_for(r"t-1  running \(~30 s left\)")
        # No poll and no update from here on: only the ticker redraws.
        redrawn_after(stream, clock, 10, r"\(~20 s left\)")
        redrawn_after(stream, clock, 19.7, r"\(due any moment\)")


def test_a_new_estimate_restarts_the_countdown_from_when_it_was_seen() -> None:
    stream, clock = WatchedStream(), FakeClock()
    with TerminalProgress(stream, live=True, clock=clock) as progress:
        progress.on_update(running(60))
        redrawn_after(stream, clock, 40, r"\(~20 s left\)")
        event = PollEvent(task=running(45), error=None, polls=3, elapsed=40.0, next_delay=15.0)
        mark = len(stream.getvalue())
        progress.on_poll(event)
        drawn = stream.wait_for(r"\(~45 s left\)", mark)
        assert "3 polls, next in 15 s" in drawn
        redrawn_after(stream, clock, 5, r"\(~40 s left\)")


def test_no_estimate_and_finished_tasks_show_no_time_left() -> None:
    stream, clock = WatchedStream(), FakeClock()
    with TerminalProgress(stream, live=True, clock=clock) as progress:
        progress.on_update(running(None))
        stream.wait_for(r"t-1  running \|")
        progress.on_update(Task(id="t-1", state=TaskState.COMPLETED, estimate_wait_seconds=5))
        drawn = redrawn_after(stream, clock, 1, r"t-1  completed")
    assert "left" not in drawn
    assert "due any moment" not in stream.getvalue()
