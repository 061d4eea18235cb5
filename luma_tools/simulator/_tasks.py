"""Task store: tasks whose state is a pure function of the clock.

Durations are *virtual* seconds; real seconds are ``virtual * time_scale``. A task's
state is computed from its creation time whenever somebody looks, so progression
needs no background thread (the scheduler only exists to fire notify hooks).
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["EstimateMode", "GatewayState", "Outcome", "Snapshot", "Task", "TaskStore", "Timing"]

GatewayState = Literal["pending", "processing", "completed", "failed"]
Outcome = Literal["completed", "failed", "stall"]
#: How a simulated gateway reports ``estimate_wait_seconds``: ``True`` the virtual seconds left,
#: ``False`` null; two wrong gateways that think a job lasts `WRONG_ESTIMATE_SHARE` of its
#: length: ``"stale"`` repeats that guess on every reply, ``"early"`` counts it down to 0 and
#: then says 0 until the job ends.
EstimateMode = bool | Literal["stale", "early"]
#: The share of a job's length the wrong gateways think it lasts (a 15 s guess for 20 s).
WRONG_ESTIMATE_SHARE = 0.75

DEFAULT_FAILURE_REASON = "Contains blacklisted words"
_EPSILON = 1e-6


@dataclass(frozen=True, slots=True)
class Timing:
    """Phase durations (virtual seconds) and the virtual-to-real factor."""

    queue: float
    run: float
    url_delay: float
    scale: float


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A task's observable status at one instant.

    Attributes:
        state: Gateway vocabulary state.
        video_ready: Whether media URLs are published (completed and past the URL delay).
        remaining: Virtual seconds until the task should finish (0 when overdue or done).
        progress: 0-100.
        start_epoch: Wall-clock time processing started, or ``None``.
        finish_epoch: Wall-clock time the task finished, or ``None``.
        epoch: Wall-clock time of the snapshot.
    """

    state: GatewayState
    video_ready: bool
    remaining: float
    progress: int
    start_epoch: float | None
    finish_epoch: float | None
    epoch: float

    @property
    def finished(self) -> bool:
        """Whether the state is terminal."""
        return self.state in ("completed", "failed")

    @property
    def estimate_seconds(self) -> int | None:
        """Whole virtual seconds left, or ``None`` once finished."""
        return None if self.finished else math.ceil(self.remaining)


@dataclass(slots=True)
class Task:
    """One generation task.

    Attributes:
        id: UUID string.
        record_id: Integer id of the gateway task record (batch endpoint).
        prompt: The user prompt.
        aspect_ratio: Requested aspect ratio.
        request: Validated optional request fields (echoed in some shapes).
        notify_hook: Callback URL, if any.
        outcome: How the task ends.
        failure_reason: Reason reported when ``outcome`` is ``"failed"``.
        extended_from: Source task id for extend requests.
        batch_id: UUID string reported as ``batch_id``.
        created_mono: ``time.monotonic()`` at creation.
        created_epoch: ``time.time()`` at creation.
        timing: Phase durations.
    """

    id: str
    record_id: int
    prompt: str
    aspect_ratio: str
    request: dict[str, Any]
    notify_hook: str | None
    outcome: Outcome
    failure_reason: str | None
    extended_from: str | None
    batch_id: str
    created_mono: float
    created_epoch: float
    timing: Timing = field(repr=False)

    def snapshot(self, now: float) -> Snapshot:
        """Compute the task's status at monotonic time ``now``."""
        t = self.timing
        virtual = max(0.0, now - self.created_mono) / t.scale
        end = t.queue + t.run
        epoch = self.created_epoch + (now - self.created_mono)
        start_epoch = self.created_epoch + t.queue * t.scale if virtual >= t.queue else None
        if virtual < t.queue:
            return Snapshot("pending", False, end - virtual, 0, None, None, epoch)
        if virtual < end or self.outcome == "stall":
            progress = 0 if t.run <= 0 else min(99, int(100 * (virtual - t.queue) / t.run))
            remaining = max(0.0, end - virtual)
            return Snapshot("processing", False, remaining, progress, start_epoch, None, epoch)
        finish_epoch = self.created_epoch + end * t.scale
        if self.outcome == "failed":
            return Snapshot("failed", False, 0.0, 100, start_epoch, finish_epoch, epoch)
        ready = virtual >= end + t.url_delay
        return Snapshot("completed", ready, 0.0, 100, start_epoch, finish_epoch, epoch)

    def change_times(self) -> list[float]:
        """Monotonic instants at which the observable status changes.

        The first element is the creation time. Instants where nothing observable
        changes (zero-length phases) are dropped.
        """
        t = self.timing
        candidates = [self.created_mono]
        offsets = [t.queue]
        if self.outcome != "stall":
            offsets.append(t.queue + t.run)
            if self.outcome == "completed":
                offsets.append(t.queue + t.run + t.url_delay)
        candidates += [self.created_mono + o * t.scale + _EPSILON for o in offsets]
        result: list[float] = []
        last: tuple[str, bool] | None = None
        for when in candidates:
            snap = self.snapshot(when)
            key = (snap.state, snap.video_ready)
            if key != last:
                result.append(when)
                last = key
        return result


class TaskStore:
    """Thread-safe collection of tasks."""

    def __init__(self, timing: Timing, clock: Callable[[], float] = time.monotonic) -> None:
        """Create an empty store.

        Args:
            timing: Phase durations for new tasks.
            clock: Monotonic clock (injectable for tests).
        """
        self.timing = timing
        self.clock = clock
        self._lock = threading.Lock()
        self._tasks: dict[str, Task] = {}
        self._next_record_id = 13917

    def create(
        self,
        *,
        prompt: str,
        aspect_ratio: str = "16:9",
        request: dict[str, Any] | None = None,
        notify_hook: str | None = None,
        outcome: Outcome = "completed",
        failure_reason: str | None = None,
        extended_from: str | None = None,
        age: float = 0.0,
    ) -> Task:
        """Create a task and return it.

        Args:
            prompt: The user prompt.
            aspect_ratio: Requested aspect ratio.
            request: Other validated request fields.
            notify_hook: Callback URL.
            outcome: How the task ends.
            failure_reason: Reason for a failed outcome.
            extended_from: Source task id for extensions.
            age: Pretend the task was created this many *real* seconds ago.

        Returns:
            The new task.
        """
        now = self.clock()
        with self._lock:
            record_id = self._next_record_id
            self._next_record_id += 1
            task = Task(
                id=str(uuid.uuid4()),
                record_id=record_id,
                prompt=prompt,
                aspect_ratio=aspect_ratio,
                request=dict(request or {}),
                notify_hook=notify_hook,
                outcome=outcome,
                failure_reason=(failure_reason or DEFAULT_FAILURE_REASON)
                if outcome == "failed"
                else None,
                extended_from=extended_from,
                batch_id=str(uuid.uuid4()),
                created_mono=now - age,
                created_epoch=time.time() - age,
                timing=self.timing,
            )
            self._tasks[task.id] = task
        return task

    def insert(self, *, state: GatewayState, prompt: str, failure_reason: str | None) -> Task:
        """Create a task that is already in ``state`` (backdating its creation).

        Args:
            state: ``"pending"``, ``"processing"``, ``"completed"`` or ``"failed"``.
            prompt: The user prompt.
            failure_reason: Reason for ``"failed"`` tasks (a default is used if ``None``).

        Returns:
            The new task.
        """
        t = self.timing
        if state == "pending":
            return self.create(prompt=prompt)
        if state == "processing":
            return self.create(prompt=prompt, age=t.queue * t.scale + _EPSILON)
        done_age = (t.queue + t.run + t.url_delay) * t.scale + _EPSILON
        if state == "completed":
            return self.create(prompt=prompt, age=done_age)
        return self.create(
            prompt=prompt, outcome="failed", failure_reason=failure_reason, age=done_age
        )

    def get(self, task_id: str) -> Task | None:
        """Return the task with this id, or ``None``."""
        with self._lock:
            return self._tasks.get(task_id)

    def all(self) -> list[Task]:
        """Every task, oldest first."""
        with self._lock:
            return sorted(self._tasks.values(), key=lambda task: task.created_mono)

    def __len__(self) -> int:
        with self._lock:
            return len(self._tasks)
