"""`luma-tools jobs`, `resume` and `batch`, run as a user runs them, kills included."""

from __future__ import annotations

import csv
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from luma_tools import Journal
from luma_tools.cli import EXIT_CODES
from luma_tools.simulator import LumaSimulator


@pytest.fixture
def home(tmp_path: Path) -> Path:
    folder = tmp_path / "home"
    folder.mkdir()
    return folder


def env_for(sim: LumaSimulator, home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "LUMA_API_KEY": sim.api_key,
        "LUMA_BASE_URL": sim.base_url,
        "LUMA_TOOLS_HOME": str(home),
    }


def cli(
    sim: LumaSimulator, home: Path, *args: str, cwd: Path, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "luma_tools.cli", *args],
        capture_output=True,
        text=True,
        env=env_for(sim, home),
        cwd=cwd,
        timeout=timeout,
    )


def start(sim: LumaSimulator, home: Path, *args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "luma_tools.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env_for(sim, home),
        cwd=cwd,
    )


def creates_per_prompt(sim: LumaSimulator) -> Counter[str]:
    return Counter(r.json["user_prompt"] for r in sim.requests if r.route == "create" and r.json)


def attach_ambiguous_from_the_task_log(sim: LumaSimulator, home: Path) -> int:
    """What a user does for each ambiguous job: find the task in the gateway's log, attach it."""
    journal = Journal(home / "journal.sqlite3")
    attached = 0
    log = sim.task_log()
    for job in journal.jobs(ambiguous=True):
        matches = [t["id"] for t in log if t["prompt"] == job.prompt]
        if matches:
            journal.attach(job.number, matches[-1])
            attached += 1
        else:
            journal.dismiss(job.number)  # it never reached the gateway
    return attached


@pytest.fixture
def slow_sim() -> LumaSimulator:
    # Jobs of about 1.5 s, so kills land in create, wait or download.
    with LumaSimulator(queue_seconds=0.5, run_seconds=1.0) as simulator:
        yield simulator


def test_jobs_lists_and_filters_in_text_and_json(
    sim: LumaSimulator, home: Path, tmp_path: Path
) -> None:
    done = cli(sim, home, "generate", "a saved fox", "-o", "fox.mp4", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    sim.faults.reset_connection(times=1, route="create")
    lost = cli(sim, home, "create", "a lost fox", cwd=tmp_path)
    assert lost.returncode == EXIT_CODES["ambiguous"]
    listing = cli(sim, home, "jobs", cwd=tmp_path)
    assert listing.returncode == 0
    assert "a saved fox" in listing.stdout
    assert "saved" in listing.stdout
    assert "a lost fox" in listing.stdout
    assert "ambiguous" in listing.stdout
    assert "jobs attach JOB TASK_ID" in listing.stderr
    document = json.loads(cli(sim, home, "jobs", "--json", cwd=tmp_path).stdout)
    assert {job["label"] for job in document["jobs"]} == {"saved", "ambiguous"}
    ambiguous = json.loads(cli(sim, home, "jobs", "--ambiguous", "--json", cwd=tmp_path).stdout)[
        "jobs"
    ]
    assert [job["prompt"] for job in ambiguous] == ["a lost fox"]
    assert (
        json.loads(cli(sim, home, "jobs", "--unfinished", "--json", cwd=tmp_path).stdout)["jobs"]
        == []
    )
    assert sim.api_key not in listing.stdout + listing.stderr


def test_attach_then_resume_finishes_an_ambiguous_job_without_a_new_create(
    sim: LumaSimulator, home: Path, tmp_path: Path
) -> None:
    sim.faults.reset_connection(times=1, route="create")
    assert (
        cli(sim, home, "create", "a lost fox", cwd=tmp_path).returncode == EXIT_CODES["ambiguous"]
    )
    number = json.loads(cli(sim, home, "jobs", "--json", cwd=tmp_path).stdout)["jobs"][0]["number"]
    (task,) = sim.task_log()  # the gateway did create it
    attached = cli(sim, home, "jobs", "attach", str(number), task["id"], cwd=tmp_path)
    assert attached.returncode == 0, attached.stderr
    resumed = cli(sim, home, "resume", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert (tmp_path / f"{task['id']}.mp4").stat().st_size == sim.video_size
    again = cli(sim, home, "resume", task["id"], cwd=tmp_path)
    assert again.returncode == 0
    assert "nothing to do" in again.stdout + again.stderr or "skipped" in again.stdout
    assert sim.count("create") == 1


def test_dismiss_sets_a_job_aside(sim: LumaSimulator, home: Path, tmp_path: Path) -> None:
    sim.faults.reset_connection(times=1, route="create")
    cli(sim, home, "create", "never mind", cwd=tmp_path)
    number = json.loads(cli(sim, home, "jobs", "--json", cwd=tmp_path).stdout)["jobs"][0]["number"]
    assert cli(sim, home, "jobs", "dismiss", str(number), cwd=tmp_path).returncode == 0
    assert (
        json.loads(cli(sim, home, "jobs", "--ambiguous", "--json", cwd=tmp_path).stdout)["jobs"]
        == []
    )
    again = cli(sim, home, "jobs", "dismiss", str(number), cwd=tmp_path)  # dismissed: finished
    assert again.returncode == EXIT_CODES["usage"]
    assert "only an ambiguous or unfinished job" in again.stderr
    assert "Traceback" not in again.stderr
    bad = cli(sim, home, "jobs", "dismiss", "999", cwd=tmp_path)
    assert bad.returncode == EXIT_CODES["usage"]
    assert "luma-tools jobs" in bad.stderr


@pytest.mark.parametrize("kill_after", [0.3, 0.9, 1.8])
def test_a_killed_generate_is_finished_by_resume(
    kill_after: float, slow_sim: LumaSimulator, home: Path, tmp_path: Path
) -> None:
    process = start(slow_sim, home, "generate", "a killed fox", "-o", "out/fox.mp4", cwd=tmp_path)
    time.sleep(kill_after)  # the kill point: somewhere in create, wait or download
    process.send_signal(signal.SIGKILL)
    process.wait(30)
    attach_ambiguous_from_the_task_log(slow_sim, home)
    if not (tmp_path / "out" / "fox.mp4").exists():
        jobs = json.loads(cli(slow_sim, home, "jobs", "--json", cwd=tmp_path).stdout)["jobs"]
        if slow_sim.count("create"):
            assert len(jobs) == 1  # the paid task is listed
        resumed = cli(slow_sim, home, "resume", cwd=tmp_path)
        assert resumed.returncode == 0, resumed.stderr
    if slow_sim.count("create"):
        assert (tmp_path / "out" / "fox.mp4").stat().st_size == slow_sim.video_size
    assert slow_sim.count("create") <= 1
    assert (
        [p.name for p in (tmp_path / "out").iterdir()] in ([], ["fox.mp4"])
        if (tmp_path / "out").exists()
        else True
    )


def test_resume_from_another_folder_saves_where_the_video_was_headed(
    slow_sim: LumaSimulator, home: Path, tmp_path: Path
) -> None:
    process = start(slow_sim, home, "generate", "a moving fox", "-o", "out/fox.mp4", cwd=tmp_path)
    journal = Journal(home / "journal.sqlite3")
    deadline = time.monotonic() + 30
    while not any(job.task_id for job in journal.jobs()):  # the create has been answered
        assert time.monotonic() < deadline, "the create was never recorded"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait(30)
    (job,) = journal.jobs()
    assert job.dest == str(tmp_path / "out" / "fox.mp4")  # absolute: the CLI ran in tmp_path
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    resumed = cli(slow_sim, home, "resume", cwd=elsewhere)
    assert resumed.returncode == 0, resumed.stderr
    assert (tmp_path / "out" / "fox.mp4").stat().st_size == slow_sim.video_size
    assert list(elsewhere.iterdir()) == []
    assert slow_sim.count("create") == 1


def test_resume_leaves_a_job_of_another_gateway_alone(
    sim: LumaSimulator, home: Path, tmp_path: Path
) -> None:
    made = cli(sim, home, "create", "a fox elsewhere", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    with LumaSimulator() as other:
        resumed = cli(other, home, "resume", "--json", cwd=tmp_path)
        assert other.count("query") == 0  # its id (and the key) never went to the other one
    assert resumed.returncode == EXIT_CODES["error"]
    (result,) = json.loads(resumed.stdout)["results"]
    assert result["outcome"] == "other gateway"
    assert sim.base_url in result["detail"]
    assert "LUMA_BASE_URL" in result["detail"]
    assert cli(sim, home, "resume", cwd=tmp_path).returncode == 0  # on its own gateway


def write_prompts(path: Path, count: int) -> list[str]:
    prompts = [f"prompt number {i}" for i in range(count)]
    path.write_text("\n".join(prompts) + "\n")
    return prompts


def test_batch_makes_every_video_and_writes_a_manifest(
    sim: LumaSimulator, home: Path, tmp_path: Path
) -> None:
    prompts = write_prompts(tmp_path / "prompts.txt", 6)
    result = cli(
        sim, home, "batch", "prompts.txt", "-o", "videos/", "--concurrency", "3", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader((tmp_path / "videos" / "manifest.csv").open()))
    assert [row["prompt"] for row in rows] == prompts
    assert {row["outcome"] for row in rows} == {"saved"}
    for row in rows:
        assert Path(row["file"]).stat().st_size == sim.video_size
    assert creates_per_prompt(sim) == Counter(prompts)
    again = cli(sim, home, "batch", "prompts.txt", "-o", "videos/", "--json", cwd=tmp_path)
    assert again.returncode == 0
    document = json.loads(again.stdout)
    assert document["created"] == 0
    assert document["counts"] == {"saved": 6}
    assert creates_per_prompt(sim) == Counter(prompts)  # nothing created twice


def test_batch_concurrency_bounds_tasks_in_flight(home: Path, tmp_path: Path) -> None:
    with LumaSimulator(queue_seconds=0.2, run_seconds=0.4) as sim:
        write_prompts(tmp_path / "p.txt", 8)
        result = cli(sim, home, "batch", "p.txt", "-o", "v/", "--concurrency", "2", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        starts = sorted(r.time for r in sim.requests if r.route == "create")
    length = 0.6  # each task is unfinished on the gateway for this long after its create
    in_flight = max(sum(1 for s in starts if s <= t < s + length) for t in starts)
    assert in_flight <= 2


def test_batch_reads_jsonl_and_csv_with_options_and_names(
    sim: LumaSimulator, home: Path, tmp_path: Path
) -> None:
    (tmp_path / "b.jsonl").write_text(
        json.dumps({"prompt": "a tall fox", "aspect_ratio": "9:16", "filename": "tall"})
        + "\n"
        + json.dumps({"prompt": "a square fox", "aspect_ratio": "1:1", "loop": True})
        + "\n"
    )
    assert cli(sim, home, "batch", "b.jsonl", "-o", "j/", cwd=tmp_path).returncode == 0
    assert (tmp_path / "j" / "tall.mp4").exists()
    bodies = [r.json for r in sim.requests if r.route == "create"]
    assert {"user_prompt": "a tall fox", "aspect_ratio": "9:16"} in bodies
    (tmp_path / "b.csv").write_text(
        "prompt,aspect_ratio,loop,filename\na wide fox,16:9,false,wide.mp4\n"
    )
    assert cli(sim, home, "batch", "b.csv", "-o", "c/", cwd=tmp_path).returncode == 0
    assert (tmp_path / "c" / "wide.mp4").exists()
    assert {"user_prompt": "a wide fox", "aspect_ratio": "16:9", "loop": False} in [
        r.json for r in sim.requests if r.route == "create"
    ]


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ('{"prompt": "x", "aspect_ratio": "5:4"}\n', "line 1: aspect_ratio"),
        ('{"prompt": "x", "colour": "red"}\n', "line 1: colour"),
        (
            '{"prompt": "x", "filename": "a.mp4"}\n{"prompt": "y", "filename": "a.mp4"}\n',
            "line 2: filename",
        ),
        ('{"prompt": ""}\n', "line 1: prompt"),
        ("not json\n", "line 1"),
    ],
)
def test_batch_files_are_checked_before_anything_is_sent(
    content: str, words: str, sim: LumaSimulator, home: Path, tmp_path: Path
) -> None:
    (tmp_path / "bad.jsonl").write_text(content)
    result = cli(sim, home, "batch", "bad.jsonl", "-o", "v/", cwd=tmp_path)
    assert result.returncode == EXIT_CODES["usage"]
    assert words in result.stderr
    assert "Traceback" not in result.stderr
    assert sim.count("create") == 0


def test_batch_spend_guards(sim: LumaSimulator, home: Path, tmp_path: Path) -> None:
    write_prompts(tmp_path / "p.txt", 6)
    result = cli(
        sim, home, "batch", "p.txt", "-o", "v/", "--max-tasks", "2", "--price", "0.5", cwd=tmp_path
    )
    assert "6 videos x $0.50 = $3.00" not in result.stderr  # capped by --max-tasks:
    assert "2 videos x $0.50 = $1.00" in result.stderr
    assert sim.count("create") == 2
    assert result.returncode == EXIT_CODES["error"]  # 4 left not created
    rest = cli(sim, home, "batch", "p.txt", "-o", "v/", "--price", "0.5", cwd=tmp_path)
    assert "4 videos x $0.50 = $2.00" in rest.stderr
    assert rest.returncode == 0
    assert sim.count("create") == 6


def test_batch_backs_off_on_429_and_retries_failed_only_when_asked(
    sim: LumaSimulator, home: Path, tmp_path: Path
) -> None:
    write_prompts(tmp_path / "p.txt", 3)
    sim.faults.rate_limit(times=2, retry_after=1, route="create")
    sim.faults.fail_next_task("Frame moderation failed")
    first = cli(sim, home, "batch", "p.txt", "-o", "v/", "--concurrency", "1", cwd=tmp_path)
    assert first.returncode == EXIT_CODES["task_failed"], first.stderr
    counts = json.loads(
        cli(sim, home, "batch", "p.txt", "-o", "v/", "--json", cwd=tmp_path).stdout
    )["counts"]
    assert counts == {"saved": 2, "failed": 1}
    assert sum(creates_per_prompt(sim).values()) == 3 + 2  # two 429s, refused: nothing was made
    retried = cli(sim, home, "batch", "p.txt", "-o", "v/", "--retry-failed", cwd=tmp_path)
    assert retried.returncode == 0, retried.stderr
    assert len(sim.task_log()) == 4  # one more task, for the failed item only


def test_a_batch_killed_again_and_again_creates_nothing_twice(
    slow_sim: LumaSimulator, home: Path, tmp_path: Path
) -> None:
    prompts = write_prompts(tmp_path / "p.txt", 8)
    rng = random.Random(7)
    for _ in range(5):  # killed at varied points: in creates, waits and downloads
        process = start(
            slow_sim, home, "batch", "p.txt", "-o", "v/", "--concurrency", "4", cwd=tmp_path
        )
        time.sleep(rng.uniform(0.2, 1.6))
        process.send_signal(signal.SIGKILL)
        process.wait(30)
    while True:
        final = cli(slow_sim, home, "batch", "p.txt", "-o", "v/", "--json", cwd=tmp_path)
        if final.returncode != EXIT_CODES["ambiguous"]:
            break
        assert attach_ambiguous_from_the_task_log(slow_sim, home) >= 0  # the user resolves them
    assert final.returncode == 0, final.stderr
    rows = list(csv.DictReader((tmp_path / "v" / "manifest.csv").open()))
    assert {row["outcome"] for row in rows} == {"saved"}
    assert creates_per_prompt(slow_sim) == Counter(prompts)  # exactly one create per prompt
    assert len(slow_sim.task_log()) == len(prompts)
    # A probe a killed process was making may remain (removed once a minute old); no partial
    # download does: each was cleared when its destination was downloaded again.
    leftovers = [p.name for p in (tmp_path / "v").iterdir() if not p.name.endswith(".mp4")]
    assert [name for name in leftovers if not name.startswith(".luma-tools-probe-")] == [
        "manifest.csv"
    ]


def test_the_cli_names_the_job_to_attach(sim: LumaSimulator, home: Path, tmp_path: Path) -> None:
    sim.faults.reset_connection(times=1, route="create")
    lost = cli(sim, home, "create", "a lost fox", cwd=tmp_path)
    number = json.loads(cli(sim, home, "jobs", "--json", cwd=tmp_path).stdout)["jobs"][0]["number"]
    assert f"jobs attach {number} TASK_ID" in lost.stderr
