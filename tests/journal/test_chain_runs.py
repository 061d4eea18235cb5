"""A named VideoChain run survives the death of its process and never pays twice."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from luma_tools import AmbiguousSubmitError, InvalidInputError, Journal, LumaClient
from luma_tools.chains import VideoChain
from luma_tools.simulator import LumaSimulator

SCRIPT = """
import sys
from luma_tools import LumaClient, Journal, PollPolicy
from luma_tools.chains import VideoChain
client = LumaClient(sys.argv[1], sys.argv[2], journal=Journal(sys.argv[3]),
                    poll_policy=PollPolicy(first_delay=0.1, min_interval=0.1, max_interval=0.3))
prompts = [f"chain prompt {i}" for i in range(6)] + ["chain prompt 0"]  # one twice: two videos
chain = VideoChain(client, output_dir=sys.argv[4], run="nightly")
chain.batch(prompts, config={"max_concurrency": 3}, return_exceptions=True)
"""


def test_a_killed_chain_run_resumes_without_paying_twice(tmp_path: Path) -> None:
    journal_path = tmp_path / "journal.sqlite3"
    with LumaSimulator(queue_seconds=0.4, run_seconds=0.8) as sim:
        rng = random.Random(3)
        args = [
            sys.executable,
            "-c",
            SCRIPT,
            sim.api_key,
            sim.base_url,
            str(journal_path),
            str(tmp_path / "v"),
        ]
        for _ in range(3):
            process = subprocess.Popen(args, stderr=subprocess.PIPE, env=os.environ.copy())
            time.sleep(rng.uniform(0.3, 1.5))
            process.send_signal(signal.SIGKILL)
            process.wait(30)
        journal = Journal(journal_path)
        for job in journal.jobs(ambiguous=True):  # the user resolves what was on the wire
            found = [t["id"] for t in sim.task_log() if t["prompt"] == job.prompt]
            taken = {j.task_id for j in journal.jobs() if j.task_id}
            free = [task_id for task_id in found if task_id not in taken]
            if free:
                journal.attach(job.number, free[0])
            else:
                journal.dismiss(job.number)
        client = LumaClient(sim.api_key, sim.base_url, journal=journal)
        prompts = [f"chain prompt {i}" for i in range(6)] + ["chain prompt 0"]
        results = VideoChain(client, output_dir=tmp_path / "v", run="nightly").batch(prompts)
        assert [r.prompt for r in results] == prompts
        assert len({r.path for r in results}) == 7
        assert all(r.path.stat().st_size == sim.video_size for r in results)
        creates = Counter(r.json["user_prompt"] for r in sim.requests if r.route == "create")
        assert creates == Counter(prompts)  # exactly one create per input, the duplicate included


def test_a_chain_run_never_resends_an_ambiguous_create(
    sim: LumaSimulator, make_client, tmp_path: Path
) -> None:
    client = make_client(sim, journal=Journal(tmp_path / "j.sqlite3"))
    chain = VideoChain(client, output_dir=tmp_path / "v", run="r")
    sim.faults.reset_connection(times=1, route="create")
    with pytest.raises(AmbiguousSubmitError):
        chain.invoke("lost")
    again = VideoChain(client, output_dir=tmp_path / "v", run="r")
    with pytest.raises(AmbiguousSubmitError, match="not sent again"):
        again.invoke("lost")
    assert sim.count("create") == 1


def test_a_named_run_needs_the_journal(sim: LumaSimulator) -> None:
    with pytest.raises(InvalidInputError, match="journal"):
        VideoChain(LumaClient(sim.api_key, sim.base_url, journal=False), run="r")


def test_a_run_name_reused_on_another_gateway_is_new_work(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    with LumaSimulator() as first, LumaSimulator() as second:
        one = VideoChain(
            LumaClient(first.api_key, first.base_url, journal=journal),
            output_dir=tmp_path / "a",
            run="nightly",
        ).invoke("a kite")
        two = VideoChain(
            LumaClient(second.api_key, second.base_url, journal=journal),
            output_dir=tmp_path / "b",
            run="nightly",
        ).invoke("a kite")
        assert one.task.id != two.task.id  # not the first gateway's task, which the second lacks
        assert first.count("create") == 1
        assert second.count("create") == 1
