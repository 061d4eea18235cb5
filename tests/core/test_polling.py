"""The poll schedule: estimate first, then exponential backoff with jitter between floor and cap."""

from __future__ import annotations

import itertools
import random

import pytest

from luma_tools import PollPolicy, PollSchedule, Task

NO_JITTER = PollPolicy(jitter=0.0)


def task(state: str = "processing", estimate: float | None = None, url: bool = False) -> Task:
    payload: dict[str, object] = {"id": "t", "state": state, "estimate_wait_seconds": estimate}
    if url:
        payload["video"] = {"url": "https://cdn/v.mp4"}
    return Task.from_payload(payload)


def test_without_estimate_gaps_grow_from_first_delay_to_the_cap() -> None:
    schedule = PollSchedule(NO_JITTER)
    delays = [schedule.next_delay(task()) for _ in range(12)]
    assert delays[0] == NO_JITTER.first_delay
    assert all(b >= a for a, b in itertools.pairwise(delays))
    assert delays[1] == pytest.approx(NO_JITTER.first_delay * NO_JITTER.growth)
    assert max(delays) == NO_JITTER.max_interval


def test_estimate_sets_the_first_poll_and_is_capped() -> None:
    assert PollSchedule(NO_JITTER).next_delay(task("pending", 95)) == 95
    assert PollSchedule(NO_JITTER).next_delay(task("pending", 0.5)) == NO_JITTER.min_interval
    assert PollSchedule(NO_JITTER).next_delay(task("pending", 10_000)) == 300


def test_an_estimate_run_down_to_zero_makes_the_task_overdue() -> None:
    # Counted down to 0 while the task still runs: gaps are 10 % of the time waited.
    schedule = PollSchedule(NO_JITTER)
    assert schedule.next_delay(task(estimate=60)) == 60
    assert schedule.next_delay(task(estimate=0)) == pytest.approx(6.0)
    assert schedule.overdue
    assert schedule.next_delay(task(estimate=0)) == pytest.approx(6.6)


def _notice(gateway: str, length: float, policy: PollPolicy = NO_JITTER) -> tuple[int, float]:
    """(polls, delay) of the schedule on a job of `length` s, slept exactly as told."""
    schedule, clock, polls = PollSchedule(policy, random.Random(3)), 0.0, 0
    seen = task(estimate=15 if gateway == "stale" else length / 2)
    while True:
        clock += schedule.next_delay(seen, elapsed=clock)
        polls += 1
        if clock >= length:
            return polls, clock - length
        estimate = {"stale": 15, "run out": max(0.0, length / 2 - clock)}[gateway]
        seen = task(estimate=estimate)


def test_a_repeated_estimate_does_not_double_the_notice_delay() -> None:
    # The case: a gateway says 15 s on every poll of a 20 s task. Trusting it again
    # noticed the end at 30 s; overdue gaps of 10 % of the time waited notice it at 21.7 s.
    polls, delay = _notice("stale", 20)
    assert delay <= 0.1 * 20
    assert polls <= 5


@pytest.mark.parametrize("gateway", ["stale", "run out"])
@pytest.mark.parametrize("length", [20, 45, 90, 180, 400, 600])
def test_overdue_notice_delay_stays_near_five_percent(gateway: str, length: float) -> None:
    polls, delay = _notice(gateway, length)
    assert delay <= max(0.1 * length, 2.0)  # one gap at most, never more than 10 %
    # About the polls of a fixed 5 s loop for short jobs (the 2 s floor), far fewer for long.
    assert polls <= length / 5 + 3


def test_a_revised_estimate_before_its_end_is_trusted() -> None:
    # An error or an early wake-up before the predicted end is not "overdue".
    schedule = PollSchedule(NO_JITTER)
    assert schedule.next_delay(task(estimate=100), elapsed=0) == 100
    assert schedule.next_delay(task(estimate=70), elapsed=30) == 70
    assert not schedule.overdue


def test_elapsed_follows_the_callers_clock_and_scale() -> None:
    schedule = PollSchedule(NO_JITTER.scaled(0.01))
    assert schedule.next_delay(task(estimate=50), elapsed=0) == pytest.approx(0.5)
    # 2 real s at scale 0.01 are 200 policy seconds: overdue, gap 10 % = 20 s = 0.2 real s.
    assert schedule.next_delay(task(estimate=50), elapsed=2.0) == pytest.approx(0.2)


def test_completed_without_url_polls_at_the_floor() -> None:
    schedule = PollSchedule(NO_JITTER)
    for _ in range(5):
        schedule.next_delay(task())
    assert schedule.next_delay(task("completed")) == NO_JITTER.min_interval


def test_jitter_stays_within_bounds() -> None:
    policy = PollPolicy(jitter=0.2)
    schedule = PollSchedule(policy, random.Random(1))
    delays = [schedule.next_delay(task()) for _ in range(200)]
    assert min(delays) >= policy.first_delay * 0.8
    assert max(delays) <= policy.max_interval * 1.2
    assert len({round(d, 6) for d in delays}) > 100  # actually random


def test_time_scale_scales_everything() -> None:
    fast = PollSchedule(NO_JITTER.scaled(0.01))
    assert fast.next_delay(task()) == pytest.approx(NO_JITTER.first_delay * 0.01)
    assert PollSchedule(NO_JITTER.scaled(0.01)).next_delay(task(estimate=100)) == 1.0


def test_fewer_polls_than_a_fixed_five_second_poll_for_a_three_minute_job() -> None:
    # The figure the benchmark measures against the simulator, computed on paper over jobs of
    # 2.5 to 3.5 minutes without an estimate (one job length alone is luck of alignment).
    rng = random.Random(7)
    ratios, lateness = [], []
    for _ in range(200):
        length = rng.uniform(150, 210)
        schedule = PollSchedule(PollPolicy(), random.Random(rng.random()))
        clock, polls = 0.0, 0
        while clock < length:
            clock += schedule.next_delay(task())
            polls += 1
        ratios.append(polls / (length / 5))
        lateness.append((clock - length) / length)
    assert sum(ratios) / len(ratios) <= 0.25
    assert sum(lateness) / len(lateness) <= 0.08


@pytest.mark.parametrize(
    "kwargs",
    [
        {"min_interval": 0},
        {"min_interval": 5, "max_interval": 1},
        {"growth": 0.5},
        {"jitter": 1.0},
        {"time_scale": 0},
        {"overdue_share": 0},
        {"overdue_share": 1.5},
    ],
)
def test_invalid_policies_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=r"PollPolicy needs"):
        PollPolicy(**kwargs)


def test_an_estimated_end_is_never_polled_early() -> None:
    # Jitter may only make the poll a little late: an early poll is a wasted request.
    policy = PollPolicy(jitter=0.3, min_interval=2)
    for seed in range(200):
        delay = PollSchedule(policy, random.Random(seed)).next_delay(task("pending", 42))
        assert 42 <= delay <= 42 + policy.jitter * policy.min_interval


def test_default_backoff_fits_multi_minute_jobs() -> None:
    # Without an estimate: a first look after 15 s, then gaps growing to 25 s (see the
    # benchmarks page for why no schedule can do much better without knowing the job length).
    delays = [PollSchedule(NO_JITTER).next_delay(task()) for _ in range(1)]
    assert delays == [15.0]
    assert NO_JITTER.max_interval == 25.0
