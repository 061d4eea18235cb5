"""Progress shown in a terminal while a task runs and its video downloads.

On a TTY: a live status line (state, time left, elapsed time, polls) and a byte progress bar,
both tqdm. The time left counts down between polls from the last estimate the gateway sent.
Elsewhere (logs, CI, pipes): one plain line per state change and one when the file is saved.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

from tqdm import tqdm

from ._client import PollEvent
from ._closing import Closing
from ._models import Task, TaskState

__all__ = ["TerminalProgress"]

_REFRESH_SECONDS = 0.5
#: States with no time left to show (a completed task may still lack its video URL).
_ENDED = (TaskState.COMPLETED, TaskState.FAILED)


class TerminalProgress(Closing):
    """Callbacks for `LumaClient.wait`/`download` that draw progress on `stream`.

    Args:
        stream: Where to draw (a terminal, or a log).
        live: Draw live lines (default: whether `stream` is a terminal).
        clock: The monotonic clock behind the elapsed time and the time left.

    Example:
        ```python
        import sys

        with TerminalProgress(sys.stderr) as progress:
            task = client.wait(task_id, on_update=progress.on_update, on_poll=progress.on_poll)
            client.download(task, "out.mp4", on_progress=progress.on_download)
        ```
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        live: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.live = stream.isatty() if live is None else live
        self._clock = clock
        self._started = clock()
        self._task: Task | None = None
        self._task_seen_at = 0.0
        self._status: tqdm[Any] | None = None
        self._bytes: tqdm[Any] | None = None
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self._lock = threading.Lock()

    # -- waiting ------------------------------------------------------------------------------

    def on_update(self, task: Task) -> None:
        """Called on every state change."""
        if self.live:
            self._ensure_status_line()
            self._describe(task)
        else:
            elapsed = self._clock() - self._started
            print(f"[{elapsed:5.0f} s] {task.id}  {task.state.value}", file=self.stream, flush=True)

    def on_poll(self, event: PollEvent) -> None:
        """Called after every poll."""
        if not self.live or self._status is None:
            return
        if event.task is not None:
            self._describe(event.task)
        parts = [f"{event.polls} polls"]
        if event.error is not None:
            parts.append(f"retrying after: {event.error.message[:60]}")
        elif event.next_delay is not None:
            parts.append(f"next in {event.next_delay:.0f} s")
        with self._lock:
            self._status.set_postfix_str(", ".join(parts), refresh=True)

    def _describe(self, task: Task) -> None:
        with self._lock:
            self._task, self._task_seen_at = task, self._clock()
            self._redraw()

    def _redraw(self) -> None:
        """Draw the line: the latest task, its estimate counted down since seen (lock held)."""
        if self._status is None:
            return
        task = self._task
        if task is not None:
            left = ""
            if task.estimate_wait_seconds and task.state not in _ENDED:
                remaining = task.estimate_wait_seconds - (self._clock() - self._task_seen_at)
                left = f" (~{remaining:.0f} s left)" if remaining >= 0.5 else " (due any moment)"
            self._status.set_description_str(f"{task.id}  {task.state.value}{left}", refresh=False)
        self._status.refresh()

    def _ensure_status_line(self) -> None:
        if self._status is not None:
            return
        self._status = tqdm(
            total=None,
            file=self.stream,
            bar_format="{desc} | {elapsed}{postfix}",
            dynamic_ncols=True,
            leave=True,
        )
        self._ticker = threading.Thread(target=self._tick, name="luma-progress", daemon=True)
        self._ticker.start()

    def _tick(self) -> None:
        # tqdm redraws only when told to; keep the elapsed time and time left moving between
        # polls.
        while not self._stop.wait(_REFRESH_SECONDS):
            with self._lock:
                self._redraw()

    # -- downloading --------------------------------------------------------------------------

    def on_download(self, done: int, total: int | None) -> None:
        """Called after every chunk written."""
        if not self.live:
            return
        self._close_status_line()
        if self._bytes is None:
            self._bytes = tqdm(
                total=total,
                file=self.stream,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc="Downloading",
                dynamic_ncols=True,
                leave=True,
            )
        self._bytes.update(done - self._bytes.n)

    # -- teardown -----------------------------------------------------------------------------

    def _close_status_line(self) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
            self._ticker = None
        with self._lock:
            if self._status is not None:
                self._status.close()
                self._status = None

    def close(self) -> None:
        """Finish any line still drawn."""
        self._close_status_line()
        if self._bytes is not None:
            self._bytes.close()
            self._bytes = None
