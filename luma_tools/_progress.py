"""Progress shown in a terminal while a task runs and its video downloads.

On a TTY: a live status line (state, elapsed time, polls) and a byte progress bar, both tqdm.
Elsewhere (logs, CI, pipes): one plain line per state change and one when the file is saved.
"""

from __future__ import annotations

import threading
import time
from typing import Any, TextIO

from tqdm import tqdm

from ._client import PollEvent
from ._closing import Closing
from ._models import Task

__all__ = ["TerminalProgress"]

_REFRESH_SECONDS = 0.5


class TerminalProgress(Closing):
    """Callbacks for `LumaClient.wait`/`download` that draw progress on `stream`.

    Example:
        ```python
        import sys

        with TerminalProgress(sys.stderr) as progress:
            task = client.wait(task_id, on_update=progress.on_update, on_poll=progress.on_poll)
            client.download(task, "out.mp4", on_progress=progress.on_download)
        ```
    """

    def __init__(self, stream: TextIO, *, live: bool | None = None) -> None:
        self.stream = stream
        self.live = stream.isatty() if live is None else live
        self._started = time.monotonic()
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
            elapsed = time.monotonic() - self._started
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
        assert self._status is not None
        estimate = task.estimate_wait_seconds
        left = f" (~{estimate:.0f} s left)" if estimate else ""
        with self._lock:
            self._status.set_description_str(f"{task.id}  {task.state.value}{left}", refresh=True)

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
        # tqdm redraws only when told to; keep the elapsed time moving between polls.
        while not self._stop.wait(_REFRESH_SECONDS):
            with self._lock:
                if self._status is not None:
                    self._status.refresh()

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
