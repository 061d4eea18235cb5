"""When to poll a running task: the schedule behind `LumaClient.wait`.

A Luma job takes minutes. Polling every few seconds wastes requests (and gateway rate limit);
polling rarely notices completion late. The schedule trusts the gateway's
`estimate_wait_seconds` when it gives one, and otherwise backs off exponentially from a floor to
a cap, with jitter so that many waiters do not poll in lock step.

An estimate is trusted once: when a poll at (or after) the end it predicted finds the task still
running, the task is overdue, and the estimate is stale (some gateways repeat the same number,
others count down to 0 and stay there). From then on the gaps are `overdue_share` of the time
waited so far (between the floor and the cap), which keeps the delay in noticing the end near
half that share of the job's length, whatever the gateway goes on saying.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from ._models import Task, TaskState

__all__ = ["PollPolicy", "PollSchedule"]

# One generator for every schedule without its own: seeding a new one reads os.urandom, which
# costs about a millisecond under load (a thousand waits started at once).
_SHARED_RNG = random.Random()


@dataclass(frozen=True)
class PollPolicy:
    """How `wait` spaces its polls. All durations are in seconds.

    Attributes:
        first_delay: Delay before the first poll when the gateway gave no estimate.
        min_interval: Shortest gap between polls (the floor).
        max_interval: Longest gap between polls (the cap).
        growth: Each gap is this many times the previous one, up to the cap.
        jitter: Each gap is scaled by a random factor in `[1 - jitter, 1 + jitter]`; a sleep
            to the estimated end only gets later, by up to `jitter * min_interval`.
        max_estimate_delay: Never sleep longer than this on the strength of an estimate.
        overdue_share: Once a task outlives its estimate, each gap is this share of the time
            waited so far (within the floor and the cap): 0.1 notices the end about 5 % of
            the job's length late, on average.
        time_scale: Multiplies every duration; for simulators that run time faster (a
            `time_scale` of 0.01 turns a 10-minute schedule into 6 seconds).

    Example:
        ```python
        from luma_tools import LumaClient, PollPolicy

        client = LumaClient(poll_policy=PollPolicy(max_interval=10))  # a poll at least every 10 s
        fast = PollPolicy().scaled(0.01)  # for a simulator running 100x faster
        ```
    """

    first_delay: float = 15.0
    min_interval: float = 2.0
    max_interval: float = 25.0
    growth: float = 1.4
    jitter: float = 0.1
    max_estimate_delay: float = 300.0
    overdue_share: float = 0.1
    time_scale: float = 1.0

    def __post_init__(self) -> None:
        if not 0 < self.min_interval <= self.max_interval:
            raise ValueError("PollPolicy needs 0 < min_interval <= max_interval")
        if self.growth < 1 or not 0 <= self.jitter < 1 or self.time_scale <= 0:
            raise ValueError("PollPolicy needs growth >= 1, 0 <= jitter < 1 and time_scale > 0")
        if not 0 < self.overdue_share <= 1:
            raise ValueError("PollPolicy needs 0 < overdue_share <= 1")

    def scaled(self, time_scale: float) -> PollPolicy:
        """A copy of this policy running at `time_scale` (see the attribute)."""
        return replace(self, time_scale=time_scale)


class PollSchedule:
    """The delays of one wait, given what each poll saw.

    Example:
        ```python
        from luma_tools import PollPolicy, PollSchedule, Task

        schedule = PollSchedule(PollPolicy(jitter=0))
        running = Task.from_payload(
            {"id": "9d4b7516", "state": "processing", "estimate_wait_seconds": 40}
        )
        assert schedule.next_delay(running, elapsed=0) == 40  # sleep to the estimated end
        # At 40 s the gateway still says 40 s: the task is overdue, poll at 10 % of the time
        # waited (between the 2 s floor and the 25 s cap) instead of trusting it again.
        assert schedule.next_delay(running, elapsed=40) == 4
        assert schedule.next_delay(None, elapsed=44) == 2  # after an error: the floor
        ```
    """

    def __init__(self, policy: PollPolicy, rng: random.Random | None = None) -> None:
        self.policy = policy
        self._rng = rng or _SHARED_RNG
        self._interval: float | None = None
        self._clock = 0.0  # policy seconds: the sum of the delays given, when not told
        self._predicted_end: float | None = None
        self._overdue = False

    @property
    def overdue(self) -> bool:
        """Whether the task outlived the end its estimate predicted."""
        return self._overdue

    def next_delay(self, task: Task | None, elapsed: float | None = None) -> float:
        """Seconds to sleep before the next poll, after seeing `task` (None after an error).

        Args:
            task: The task as just polled, or None when the poll failed.
            elapsed: Seconds since the wait began, on the caller's clock (scaled by
                `time_scale` like every delay); without it the schedule assumes each of its
                delays was slept exactly.

        With a fresh estimate the schedule sleeps until the estimated end and then polls at
        the floor; a task that outlives its estimate is polled every `overdue_share` of the
        time waited. Without any estimate, gaps grow from `first_delay` by `growth` to
        `max_interval`. A `completed` task still missing its video URL is polled at the floor.
        """
        p = self.policy
        now = self._clock if elapsed is None else max(0.0, elapsed / p.time_scale)
        gap, late_only = self._gap(task, now, p)
        if late_only:
            # Sleeping to the estimated end: jitter only ever makes the poll a little late (at
            # most jitter x min_interval). A poll before the end is a wasted request, and
            # waiters created at different times are spread out already.
            delay = gap + self._rng.uniform(0, p.jitter) * p.min_interval
        else:
            delay = max(0.0, gap * (1 + self._rng.uniform(-p.jitter, p.jitter)))
        self._clock = now + delay
        return delay * p.time_scale

    def _gap(self, task: Task | None, now: float, p: PollPolicy) -> tuple[float, bool]:
        """The next gap in policy seconds before jitter, and whether it sleeps to an estimate."""
        if task is None:
            return self._backoff(p.min_interval), False
        if task.state is TaskState.COMPLETED:
            return p.min_interval, False
        estimate = task.estimate_wait_seconds
        fresh = estimate if estimate is not None and estimate > 0 else None
        # A poll at (or after) the end an earlier estimate predicted that still sees the task
        # unfinished, or an estimate run down to 0: the estimates cannot be trusted any more.
        past_end = self._predicted_end is not None and now >= self._predicted_end
        if past_end or (estimate is not None and fresh is None):
            self._overdue = True
        if fresh is not None:
            # The earliest end promised so far: an estimate that does not count down (the same
            # number on every reply) must not push the end it promised later and later.
            end = now + fresh
            self._predicted_end = (
                end if self._predicted_end is None else min(self._predicted_end, end)
            )
            self._interval = None
        if self._overdue:
            gap = min(p.max_interval, max(p.min_interval, p.overdue_share * now))
            return (gap if fresh is None else min(gap, max(fresh, p.min_interval))), False
        if fresh is None or self._predicted_end is None:
            start = p.first_delay if self._predicted_end is None else p.min_interval
            return self._backoff(start), False
        # Sleep to the earliest end promised (not later than this estimate says).
        until_end = self._predicted_end - now
        if until_end > p.max_estimate_delay:
            return p.max_estimate_delay, False
        return max(until_end, p.min_interval), True

    def _backoff(self, start: float) -> float:
        """The next gap of the exponential back-off (from `start` when it begins)."""
        if self._interval is None:
            self._interval = start
        else:
            self._interval = min(self.policy.max_interval, self._interval * self.policy.growth)
        return self._interval
