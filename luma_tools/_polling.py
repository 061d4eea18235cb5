"""When to poll a running task: the schedule behind `LumaClient.wait`.

A Luma job takes minutes. Polling every few seconds wastes requests (and gateway rate limit);
polling rarely notices completion late. The schedule trusts the gateway's
`estimate_wait_seconds` when it gives one, and otherwise backs off exponentially from a floor to
a cap, with jitter so that many waiters do not poll in lock step.
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
    time_scale: float = 1.0

    def __post_init__(self) -> None:
        if not 0 < self.min_interval <= self.max_interval:
            raise ValueError("PollPolicy needs 0 < min_interval <= max_interval")
        if self.growth < 1 or not 0 <= self.jitter < 1 or self.time_scale <= 0:
            raise ValueError("PollPolicy needs growth >= 1, 0 <= jitter < 1 and time_scale > 0")

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
        assert schedule.next_delay(running) == 40  # sleep until the estimated end
        assert schedule.next_delay(None) == 2  # after an error: poll again at the floor
        ```
    """

    def __init__(self, policy: PollPolicy, rng: random.Random | None = None) -> None:
        self.policy = policy
        self._rng = rng or _SHARED_RNG
        self._interval: float | None = None

    def next_delay(self, task: Task | None) -> float:
        """Seconds to sleep before the next poll, after seeing `task` (None after an error).

        With an estimate the schedule sleeps until the estimated end (it is updated on every
        poll) and then polls at the floor; without one, gaps grow from `first_delay` by `growth`
        to `max_interval`. A `completed` task still missing its video URL is polled at the floor.
        """
        p = self.policy
        estimate = task.estimate_wait_seconds if task is not None else None
        if task is not None and task.state is TaskState.COMPLETED:
            delay = p.min_interval
        elif estimate is not None and estimate > 0:
            self._interval = None  # once the estimate runs out, start again from the floor
            if estimate <= p.max_estimate_delay:
                # Sleeping to the estimated end: jitter only ever makes the poll a little late
                # (at most jitter x min_interval). A poll before the end is a wasted request,
                # and waiters created at different times are spread out already.
                late = self._rng.uniform(0, p.jitter) * p.min_interval
                return (max(estimate, p.min_interval) + late) * p.time_scale
            delay = p.max_estimate_delay
        elif self._interval is None:
            delay = self._interval = (
                p.first_delay if estimate is None and task is not None else p.min_interval
            )
        else:
            delay = self._interval = min(p.max_interval, self._interval * p.growth)
        spread = 1 + self._rng.uniform(-p.jitter, p.jitter)
        return max(0.0, delay * spread * p.time_scale)
