"""What the simulator observed: recorded requests and notify_hook deliveries."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

__all__ = ["EventLog", "HookDelivery", "RecordedRequest"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One HTTP request received by the simulator.

    Attributes:
        method: HTTP method, e.g. ``"POST"``.
        path: URL path without the query string, e.g. ``"/luma/generations"``.
        route: Route name: ``"create"``, ``"extend"``, ``"query"``, ``"download_url"``,
            ``"batch"``, ``"file"`` or ``"other"``.
        query: Query-string parameters (last value wins for repeated keys).
        headers: Request headers; the ``Authorization`` value is replaced by
            ``"<redacted>"``.
        json: The parsed JSON body, or ``None`` when there was no body or it was not JSON.
        had_authorization: Whether the request carried an ``Authorization`` header.
        status: HTTP status sent back, or ``None`` when the connection was reset instead.
        time: ``time.monotonic()`` when the request arrived.
    """

    method: str
    path: str
    route: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any
    had_authorization: bool
    status: int | None
    time: float


@dataclass(frozen=True, slots=True)
class HookDelivery:
    """One attempt to POST a task to its ``notify_hook`` URL.

    Every HTTP attempt is recorded, so a delivery retried twice shows up three times
    with ``attempt`` 1, 2 and 3.

    Attributes:
        url: The ``notify_hook`` URL.
        task_id: Id of the task the payload describes.
        state: The task's gateway state at the transition (``"pending"``,
            ``"processing"``, ``"completed"`` or ``"failed"``).
        attempt: 1 for the first try, 2.. for retries.
        payload: The JSON document that was POSTed.
        status: HTTP status answered by the receiver, or ``None`` if the request failed.
        exception: Description of the network error when ``status`` is ``None``.
        time: ``time.monotonic()`` when the attempt finished.
    """

    url: str
    task_id: str
    state: str
    attempt: int
    payload: Any
    status: int | None
    exception: str | None
    time: float


class EventLog(Generic[T]):
    """A thread-safe append-only list whose readers get snapshot copies."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[T] = []

    def append(self, item: T) -> None:
        """Add one item."""
        with self._lock:
            self._items.append(item)

    def snapshot(self) -> list[T]:
        """Return a copy of all items, oldest first."""
        with self._lock:
            return list(self._items)
