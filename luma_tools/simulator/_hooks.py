"""Deliver notify_hook callbacks like the official Luma callback does.

POST the JSON payload with a 5 s timeout; on anything but HTTP 200, retry up to
3 times, 100 ms apart. Deliveries for one task keep their order (a task always maps
to the same worker thread); different tasks are delivered in parallel.
"""

from __future__ import annotations

import http.client
import json
import queue
import threading
import time
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from typing import Any

from ._records import EventLog, HookDelivery

__all__ = ["HookSender"]


@dataclass(frozen=True, slots=True)
class _Job:
    url: str
    task_id: str
    state: str
    payload: Any


class HookSender:
    """Background notify_hook delivery with retries."""

    def __init__(
        self,
        log: EventLog[HookDelivery],
        *,
        workers: int = 4,
        timeout: float = 5.0,
        retries: int = 3,
        retry_delay: float = 0.1,
    ) -> None:
        """Create a stopped sender.

        Args:
            log: Where every attempt is recorded.
            workers: Number of delivery threads.
            timeout: Per-attempt timeout in seconds.
            retries: Retries after the first attempt.
            retry_delay: Pause between attempts in seconds.
        """
        self._log = log
        self._timeout = timeout
        self._retries = retries
        self._retry_delay = retry_delay
        self._stop = threading.Event()
        self._queues: list[queue.SimpleQueue[_Job | None]] = [
            queue.SimpleQueue() for _ in range(workers)
        ]
        self._threads: list[threading.Thread] = []
        # Never route callbacks through an environment proxy: receivers are local.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def start(self) -> None:
        """Start the worker threads."""
        for i, q in enumerate(self._queues):
            thread = threading.Thread(
                target=self._work, args=(q,), name=f"luma-sim-hooks-{i}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def submit(self, *, url: str, task_id: str, state: str, payload: Any) -> None:
        """Queue one delivery (with its retries)."""
        if self._stop.is_set():
            return
        index = zlib.crc32(task_id.encode()) % len(self._queues)
        self._queues[index].put(_Job(url, task_id, state, payload))

    def stop(self) -> None:
        """Abandon queued deliveries and join the workers. Idempotent.

        An attempt already in flight may take up to the timeout to finish.
        """
        self._stop.set()
        for q in self._queues:
            q.put(None)
        for thread in self._threads:
            thread.join(self._timeout + 2)
        self._threads.clear()

    def _work(self, q: queue.SimpleQueue[_Job | None]) -> None:
        while True:
            job = q.get()
            if job is None or self._stop.is_set():
                return
            self._deliver(job)

    def _deliver(self, job: _Job) -> None:
        data = json.dumps(job.payload).encode()
        for attempt in range(1, self._retries + 2):
            status, error = self._post(job.url, data)
            self._log.append(
                HookDelivery(
                    url=job.url,
                    task_id=job.task_id,
                    state=job.state,
                    attempt=attempt,
                    payload=job.payload,
                    status=status,
                    exception=error,
                    time=time.monotonic(),
                )
            )
            if status == 200 or attempt > self._retries or self._stop.wait(self._retry_delay):
                return

    def _post(self, url: str, data: bytes) -> tuple[int | None, str | None]:
        request = urllib.request.Request(
            url,
            data=data,
            method="POST",
            headers={"Content-Type": "application/json", "User-Agent": "luma-simulator"},
        )
        try:
            with self._opener.open(request, timeout=self._timeout) as response:
                response.read()
                return int(response.status), None
        except urllib.error.HTTPError as exc:
            exc.close()
            return exc.code, None
        except (OSError, ValueError, http.client.HTTPException) as exc:
            return None, f"{type(exc).__name__}: {exc}"
