"""A tiny timer thread: run callbacks at monotonic instants."""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable

__all__ = ["Scheduler"]

_log = logging.getLogger(__name__)


class Scheduler:
    """Runs callbacks at given ``time.monotonic()`` instants on one daemon thread.

    Callbacks must be quick (hand slow work to another thread).
    """

    def __init__(self, name: str = "luma-sim-scheduler") -> None:
        """Create a stopped scheduler.

        Args:
            name: Thread name.
        """
        self._name = name
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._stopped = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the timer thread."""
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def call_at(self, when: float, callback: Callable[[], None]) -> None:
        """Schedule ``callback`` to run at monotonic time ``when`` (or now, if past)."""
        with self._cond:
            if self._stopped:
                return
            heapq.heappush(self._heap, (when, next(self._seq), callback))
            self._cond.notify()

    def stop(self) -> None:
        """Drop pending callbacks and join the thread. Idempotent."""
        with self._cond:
            self._stopped = True
            self._heap.clear()
            self._cond.notify()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopped:
                    if not self._heap:
                        self._cond.wait()
                        continue
                    delay = self._heap[0][0] - time.monotonic()
                    if delay <= 0:
                        break
                    self._cond.wait(delay)
                if self._stopped:
                    return
                _, _, callback = heapq.heappop(self._heap)
            try:
                callback()
            except Exception:
                _log.exception("scheduled callback failed")
