"""Tasks move pending → processing → completed on a (scalable) clock."""

from __future__ import annotations

import time

import pytest

from luma_tools.simulator import LumaSimulator


def observe_states(gateway, task_id: str, timeout: float = 5.0) -> list[tuple[str, object]]:
    """Poll until completed; return each distinct (state, estimate) seen, in order."""
    seen: list[tuple[str, object]] = []
    deadline = time.monotonic() + timeout
    while True:
        task = gateway.query(task_id)
        point = (task["state"], task["estimate_wait_seconds"])
        if not seen or seen[-1] != point:
            seen.append(point)
        if task["state"] == "completed" and task["video"] is not None:
            return seen
        assert time.monotonic() < deadline, f"not completed in {timeout} s: {seen}"
        time.sleep(0.005)


def test_states_progress_in_order_with_a_decreasing_estimate(make_sim, make_gateway) -> None:
    # 10 + 20 virtual seconds at 0.02 real seconds each: 0.6 s in all.
    sim = make_sim(queue_seconds=10, run_seconds=20, time_scale=0.02)
    gateway = make_gateway(sim)
    created = gateway.create()
    assert created["estimate_wait_seconds"] == 30
    seen = observe_states(gateway, created["id"])
    states = [state for state, _ in seen]
    assert states == sorted(states, key=["pending", "processing", "completed"].index)
    assert {"pending", "processing", "completed"} <= set(states)
    estimates = [est for state, est in seen if state != "completed"]
    assert all(isinstance(e, int) for e in estimates)
    assert estimates == sorted(estimates, reverse=True)
    assert len(estimates) >= 5  # it really counts down
    assert max(estimates) <= 30
    assert seen[-1] == ("completed", None)


def test_time_scale_stretches_real_time(make_sim, make_gateway) -> None:
    sim = make_sim(queue_seconds=0.1, run_seconds=0.1, time_scale=3.0)
    gateway = make_gateway(sim)
    started = time.monotonic()
    task_id = gateway.create()["id"]
    gateway.wait_for_state(task_id, "processing")
    assert time.monotonic() - started >= 0.3 - 0.02
    gateway.wait_for_state(task_id, "completed")
    assert time.monotonic() - started >= 0.6 - 0.02


def test_estimate_false_reports_null_while_unfinished(make_sim, make_gateway) -> None:
    sim = make_sim(queue_seconds=0.2, run_seconds=0.2, estimate=False)
    gateway = make_gateway(sim)
    created = gateway.create()
    assert created["estimate_wait_seconds"] is None
    seen = observe_states(gateway, created["id"])
    assert {est for _, est in seen} == {None}
    assert seen[0][0] == "pending"


def test_url_delay_keeps_the_video_null_after_completion(make_sim, make_gateway) -> None:
    sim = make_sim(queue_seconds=0, run_seconds=0.05, url_delay_seconds=0.4)
    gateway = make_gateway(sim)
    task_id = gateway.create()["id"]
    completed = gateway.wait_for_state(task_id, "completed")
    assert completed["video"] is None
    assert completed["video_raw"] is None
    assert completed["estimate_wait_seconds"] is None
    early = gateway.get(f"/luma/generations/{task_id}/download_video_url")
    assert early.status_code == 400
    assert "not ready" in early.json()["detail"]["reason"]
    cdn = gateway.fetch_file(f"{gateway.base_url}/cdn/{task_id}/video_watermarked.mp4")
    assert cdn.status_code == 404
    done = gateway.wait_for_video(task_id)
    assert done["state"] == "completed"
    assert done["video"]["download_url"]
    assert gateway.get(f"/luma/generations/{task_id}/download_video_url").status_code == 200


def test_vip_download_url_off_leaves_download_url_empty(make_sim, make_gateway) -> None:
    sim = make_sim(vip_download_url=False)
    gateway = make_gateway(sim)
    task = gateway.query(sim.add_task(state="completed"))
    assert task["video"]["download_url"] == ""
    assert task["video_raw"] is None
    assert task["video"]["url"].endswith("/video_watermarked.mp4")
    link = gateway.download_url(task["id"])
    assert gateway.fetch_file(link).status_code == 200


@pytest.mark.parametrize(
    ("requested", "reported"),
    [
        ("pending", "pending"),
        ("queued", "pending"),
        ("processing", "processing"),
        ("dreaming", "processing"),
        ("completed", "completed"),
        ("failed", "failed"),
    ],
)
def test_add_task_inserts_a_task_in_the_given_state(
    make_sim, make_gateway, requested: str, reported: str
) -> None:
    sim = make_sim(queue_seconds=30, run_seconds=30)  # nothing moves during the test
    gateway = make_gateway(sim)
    task_id = sim.add_task(state=requested, prompt="inserted")
    task = gateway.query(task_id)
    assert task["state"] == reported
    assert task["prompt"] == "inserted"
    assert sim.task_state(task_id) == reported
    assert (task["video"] is not None) == (reported == "completed")
    assert sim.count("create") == 0  # no HTTP involved


def test_add_task_failed_reports_its_reason(gateway, sim: LumaSimulator) -> None:
    default = gateway.query(sim.add_task(state="failed"))
    assert default["failure_reason"] == "Contains blacklisted words"
    custom = gateway.query(sim.add_task(state="failed", failure_reason="Frame moderation failed"))
    assert custom["failure_reason"] == "Frame moderation failed"
    assert custom["video"] is None


def test_added_pending_tasks_then_progress_on_the_clock(sim, gateway) -> None:
    task_id = sim.add_task(state="pending")
    gateway.wait_for_state(task_id, "completed")
    assert sim.task_state(task_id) == "completed"


def test_task_state_follows_the_official_vocabulary_when_switched(make_sim) -> None:
    sim = make_sim(queue_seconds=30, run_seconds=30)
    pending, running = sim.add_task(state="pending"), sim.add_task(state="processing")
    sim.shapes.states = "official"
    assert (sim.task_state(pending), sim.task_state(running)) == ("queued", "dreaming")
    sim.shapes.states = "gateway"
    sim.shapes.query = "official"
    assert (sim.task_state(pending), sim.task_state(running)) == ("queued", "dreaming")


def test_unknown_states_and_ids_are_rejected(sim: LumaSimulator) -> None:
    with pytest.raises(ValueError, match="unknown state"):
        sim.add_task(state="running")
    with pytest.raises(KeyError):
        sim.task_state("no-such-task")


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"queue_seconds": -1}, "queue_seconds"),
        ({"run_seconds": -0.1}, "run_seconds"),
        ({"url_delay_seconds": -1}, "url_delay_seconds"),
        ({"time_scale": 0}, "time_scale"),
        ({"time_scale": -1}, "time_scale"),
    ],
)
def test_bad_timings_are_rejected(options: dict[str, float], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        LumaSimulator(**options)


def test_a_stale_estimate_repeats_a_short_guess(make_sim, make_gateway) -> None:
    sim = make_sim(queue_seconds=10, run_seconds=30, time_scale=0.02, estimate="stale")
    gateway = make_gateway(sim)
    seen = observe_states(gateway, gateway.create()["id"])
    assert {est for state, est in seen if state != "completed"} == {30}  # 3/4 of 40 s
    assert seen[-1] == ("completed", None)


def test_an_early_estimate_counts_down_to_zero_before_the_end(make_sim, make_gateway) -> None:
    sim = make_sim(queue_seconds=10, run_seconds=30, time_scale=0.02, estimate="early")
    gateway = make_gateway(sim)
    created = gateway.create()
    assert created["estimate_wait_seconds"] == 30
    seen = observe_states(gateway, created["id"])
    estimates = [est for state, est in seen if state != "completed"]
    assert estimates == sorted(estimates, reverse=True)
    assert estimates[-1] == 0
    assert ("processing", 0) in seen  # still running at 0


def test_an_unknown_estimate_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="estimate must be"):
        LumaSimulator(estimate="sometimes")  # type: ignore[arg-type]
