"""The decisions of waiting for a task, free of I/O and of real time.

[`WaitCore`][luma_tools._waiting.WaitCore] says when to poll and what a poll means: the poll
schedule, grace polls for a completed task whose video link is not published yet, the budget of
transient errors, the deadline, and notify-hook wake-ups (throttled, so a flood of callbacks
cannot turn into a flood of confirming GETs). A driver does the sleeping and the HTTP: the
blocking `LumaClient.wait`, the asyncio client's, or a benchmark on a virtual clock. Given the
same replies at the same times, every driver makes the same requests.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

from ._exceptions import (
    LumaError,
    RateLimitError,
    ServerError,
    TaskFailedError,
    WaitTimeoutError,
)
from ._models import Task, TaskState
from ._polling import PollPolicy, PollSchedule

__all__ = ["NotifySignal", "Poll", "PollEvent", "PollReport", "Sleep", "WaitCore"]

#: What ended a driver's sleep: its time ran out ("timeout"), a callback claims the task
#: finished ("final"), a callback shows it is still going ("alive"), the listener stopped
#: ("closed").
NotifySignal = Literal["timeout", "final", "alive", "closed"]

# Polls that may see "completed" without a video URL before asking download_video_url directly.
URL_GRACE_POLLS = 3
# Consecutive transient errors (network, 5xx, 429) that a wait rides out before giving up.
MAX_WAIT_ERRORS = 5
# When the time is up, a wait looks one last time (unless it just did), for at most this long
# (and a quarter of the timeout): the state it reports is then the state at the deadline.
LAST_LOOK_SECONDS = 1.0


@dataclass(frozen=True)
class PollEvent:
    """What one poll of `wait` saw, for progress displays.

    Attributes:
        task: The task as polled, or None if the poll failed.
        error: The transient error of a failed poll (it will be retried), else None.
        polls: Polls made so far, this one included.
        elapsed: Seconds since `wait` started.
        next_delay: Seconds until the next poll, or None if this was the last one.
    """

    task: Task | None
    error: LumaError | None
    polls: int
    elapsed: float
    next_delay: float | None


@dataclass(frozen=True)
class Sleep:
    """Sleep (or listen for callbacks) this many seconds, then report why you woke."""

    seconds: float


@dataclass(frozen=True)
class Poll:
    """Fetch the task now, with requests that end by `deadline` (same clock as the core)."""

    deadline: float


@dataclass(frozen=True)
class PollReport:
    """What a successful poll means.

    Attributes:
        update: The task, if its state changed (or it was first seen): call `on_update`.
        event: The `PollEvent` for `on_poll`.
        done: The finished task (completed with a link, or failed), else None.
    """

    update: Task | None
    event: PollEvent
    done: Task | None


class WaitCore:
    """The state of one wait (see the module docstring).

    Args:
        task_id: The task waited for.
        first: The task as already known (it saves a request), or None.
        timeout: Seconds to wait in all.
        policy: The poll schedule's policy.
        now: The driver's clock reading at the start (any monotonic clock).
        safety_interval: With notify callbacks: once they arrive for the task, poll only this
            often (seconds, before `policy.time_scale`); 0 without a listener.
        rng: Randomness for the schedule's jitter (seed it for reproducible runs).
    """

    def __init__(
        self,
        task_id: str,
        first: Task | None,
        *,
        timeout: float,
        policy: PollPolicy,
        now: float,
        safety_interval: float = 0.0,
        rng: random.Random | None = None,
    ) -> None:
        self.task_id = task_id
        self.last = first
        self.timeout = timeout
        self.started = now
        self.deadline = now + timeout
        self.polls = 0
        self.proven = False  # a callback for this task arrived: the gateway reaches us
        self._policy = policy
        self._schedule = PollSchedule(policy, rng)
        self._safety = safety_interval * policy.time_scale
        self._notify = safety_interval > 0
        self._errors = 0
        self._completed_without_url = 0
        self._seen_state: TaskState | None = first.state if first is not None else None
        self._last_poll_at: float | None = None
        self._looked_at_end = False
        self._due = now + (self._delay_after(first, now) if first is not None else 0.0)

    # -- what next ---------------------------------------------------------------------------

    def next_step(self, now: float) -> Sleep | Poll:
        """Sleep or poll; raises `WaitTimeoutError` when the time is up."""
        remaining = self.deadline - now
        if remaining <= 0:
            floor = self._policy.min_interval * self._policy.time_scale
            just_looked = self._last_poll_at is not None and now - self._last_poll_at < floor
            if self._looked_at_end or just_looked:
                raise self.timed_out()
            # A zero timeout still looks once: `wait --timeout 0` reports a finished task.
            self._looked_at_end = True
            budget = LAST_LOOK_SECONDS if self.timeout == 0 else 0.25 * self.timeout
            return Poll(now + min(LAST_LOOK_SECONDS, max(budget, 0.1)))
        if now >= self._due or (self.polls == 0 and self.last is None):
            return Poll(self.deadline)
        return Sleep(min(self._due - now, remaining))

    def timed_out(self) -> WaitTimeoutError:
        """The error that ends a wait whose time is up."""
        state = self.last.state if self.last is not None else None
        return WaitTimeoutError(self.task_id, state, self.last, waited=self.timeout)

    def woke(self, signal: NotifySignal, now: float) -> None:
        """The driver's sleep ended; `signal` says why."""
        if signal == "alive":
            # A progress callback: the gateway reaches us, so restart the safety net.
            self.proven = True
            self._due = now + self._delay_after(self.last, now)
        elif signal == "final":
            # A claim, to be confirmed by one GET; repeated claims cannot make GETs closer
            # together than the schedule's floor.
            self.proven = True
            floor = self._policy.min_interval * self._policy.time_scale
            earliest = now if self._last_poll_at is None else self._last_poll_at + floor
            self._due = max(now, earliest)
        elif signal == "closed":
            self._notify = False
            self._due = now  # poll now, then on the ordinary schedule
        # "timeout": the sleep ran its course; `_due` has come.

    @property
    def listening(self) -> bool:
        """Whether the driver should listen for callbacks while it sleeps."""
        return self._notify

    # -- what a poll means -------------------------------------------------------------------

    def needs_link(self, task: Task) -> bool:
        """Whether to ask `download_video_url` before `polled` (completed, still no link)."""
        if task.state is TaskState.COMPLETED and task.video_url is None:
            return self._completed_without_url + 1 >= URL_GRACE_POLLS
        return False

    def polled(self, task: Task, now: float) -> PollReport:
        """Take in a successful poll (with any link already merged in)."""
        self.polls += 1
        self._last_poll_at = now
        self._errors = 0
        if task.state is TaskState.COMPLETED and task.video_url is None:
            self._completed_without_url += 1
        self.last = task
        update = None
        if task.state is not self._seen_state:
            self._seen_state = task.state
            update = task
        delay = self._delay_after(task, now)
        self._due = now + delay
        done = task if task.is_finished else None
        event = PollEvent(task, None, self.polls, now - self.started, None if done else delay)
        return PollReport(update, event, done)

    def poll_failed(self, error: LumaError, now: float) -> PollEvent:
        """Take in a transient poll error; raises it when the error budget is spent."""
        self.polls += 1
        self._last_poll_at = now
        self._errors += 1
        if self._errors > MAX_WAIT_ERRORS:
            raise error
        delay = self._delay_after(None, now)
        if isinstance(error, RateLimitError | ServerError) and error.retry_after:
            delay = max(delay, error.retry_after)
        self._due = now + delay
        return PollEvent(None, error, self.polls, now - self.started, delay)

    def outcome(self, task: Task) -> Task:
        """The result of the wait for a finished `task` (raises `TaskFailedError`)."""
        if task.state is TaskState.FAILED:
            raise TaskFailedError(task)
        return task

    # -- schedule ----------------------------------------------------------------------------

    def _delay_after(self, seen: Task | None, now: float) -> float:
        # Once callbacks for the task arrive, polling is only a safety net against a lost
        # final callback: slow, and without the estimate (the callback will say when).
        delay = self._schedule.next_delay(seen, elapsed=now - self.started)
        if self._notify and self.proven:
            if seen is not None and seen.state is TaskState.COMPLETED:
                return delay  # completed, waiting for the URL: no callback may follow
            return max(delay, self._safety)
        return delay
