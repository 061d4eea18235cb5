"""Prompt-to-video runnables on the simulator: single, batch, async, extend, composition."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.messages import AIMessage
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

from luma_tools import InvalidInputError, LumaClient, Task, TaskFailedError
from luma_tools.chains import ExtendChain, ExtendResult, VideoChain, VideoResult
from luma_tools.simulator import LumaSimulator

if TYPE_CHECKING:  # the fixture's type; conftest modules are not importable by name
    from conftest import LoopWatch

MakeClient = Callable[..., LumaClient]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def peak_jobs(sim: LumaSimulator) -> int:
    """Most jobs in flight at once: from a task's create to the start of its file download."""
    edges: list[tuple[float, int]] = []
    for r in sim.requests:
        if r.route == "create":
            edges.append((r.time, +1))
        elif r.route == "file":
            edges.append((r.time, -1))
    level = peak = 0
    for _, step in sorted(edges):
        level += step
        peak = max(peak, level)
    return peak


def test_prompt_string_dict_and_message(
    client: LumaClient, sim: LumaSimulator, tmp_path: Path
) -> None:
    chain = VideoChain(client, output_dir=tmp_path / "out")
    from_text = chain.invoke("a hummingbird in slow motion")
    assert isinstance(from_text, VideoResult)
    assert from_text.task.state.value == "completed"
    assert from_text.path == tmp_path / "out" / f"{from_text.task.id}.mp4"
    assert sha256(from_text.path) == sim.video_sha256

    from_dict = chain.invoke(
        {"prompt": "neon rain", "aspect_ratio": "9:16", "filename": "rain.mp4"}
    )
    assert from_dict.path.name == "rain.mp4"
    creates = [r.json for r in sim.requests if r.route == "create"]
    assert creates[-1]["aspect_ratio"] == "9:16", creates

    from_message = chain.invoke(AIMessage("a paper boat"))
    assert from_message.prompt == "a paper boat"


def test_bad_inputs_fail_before_any_request(client: LumaClient, sim: LumaSimulator) -> None:
    chain = VideoChain(client)
    with pytest.raises(InvalidInputError, match="prompt"):
        chain.invoke({"aspect_ratio": "16:9"})
    with pytest.raises(InvalidInputError, match="aspect_ratio"):
        chain.invoke({"prompt": "x", "aspect_ratio": "2:1"})
    with pytest.raises(InvalidInputError, match="filename"):
        chain.invoke({"prompt": "x", "filename": "../x.mp4"})
    with pytest.raises(InvalidInputError, match="continuations"):
        ExtendChain(client).invoke({"prompt": "x", "continuations": "not a list"})
    assert sim.requests == []


def test_batch_of_20_runs_five_at_a_time(make_client: MakeClient, tmp_path: Path) -> None:
    with LumaSimulator(queue_seconds=0.2, run_seconds=0.8) as sim:
        chain = VideoChain(make_client(sim), output_dir=tmp_path)
        started = time.monotonic()
        single = chain.invoke("warm-up job")
        single_time = time.monotonic() - started
        assert single.path.exists()

        started = time.monotonic()
        results = chain.batch([f"prompt {i}" for i in range(20)], config={"max_concurrency": 5})
        batch_time = time.monotonic() - started

        assert [r.prompt for r in results] == [f"prompt {i}" for i in range(20)]
        assert len({r.task.id for r in results}) == 20
        assert all(sha256(r.path) == sim.video_sha256 for r in results)
        assert peak_jobs(sim) <= 5  # max_concurrency is honoured...
        # ...and the jobs overlap: 4 rounds of 5, far from the sum of 20 sequential jobs.
        assert batch_time < 20 * single_time / 2.5, (batch_time, single_time)


def test_batch_without_limit_takes_about_the_slowest_job(
    make_client: MakeClient, tmp_path: Path
) -> None:
    with LumaSimulator(queue_seconds=0.2, run_seconds=0.8) as sim:
        chain = VideoChain(make_client(sim, max_connections=20), output_dir=tmp_path)
        started = time.monotonic()
        chain.invoke("warm-up job")
        single_time = time.monotonic() - started
        started = time.monotonic()
        results = chain.batch([f"p{i}" for i in range(20)], config={"max_concurrency": 20})
        batch_time = time.monotonic() - started
        assert len(results) == 20
        assert peak_jobs(sim) > 5
        assert batch_time < 2.5 * single_time, (batch_time, single_time)


def test_batch_returns_or_raises_per_item_errors(
    client: LumaClient, sim: LumaSimulator, tmp_path: Path
) -> None:
    chain = VideoChain(client, output_dir=tmp_path)
    sim.faults.fail_next_task("Frame moderation failed")
    results = chain.batch(
        ["doomed", "fine 1", "fine 2"], config={"max_concurrency": 1}, return_exceptions=True
    )
    failed, *fine = results
    assert isinstance(failed, TaskFailedError)
    assert failed.task_id  # the paid task is never lost
    assert failed.failure_reason == "Frame moderation failed"
    assert all(isinstance(r, VideoResult) for r in fine)

    sim.faults.fail_next_task("again")
    with pytest.raises(TaskFailedError, match="again"):
        chain.batch(["doomed", "fine"], config={"max_concurrency": 1})


async def test_abatch_runs_concurrently_without_blocking(
    make_client: MakeClient, tmp_path: Path, loop_watch: LoopWatch
) -> None:
    with LumaSimulator(queue_seconds=0.2, run_seconds=0.8) as sim:
        chain = VideoChain(make_client(sim, max_connections=12), output_dir=tmp_path)
        async with loop_watch:
            results = await chain.abatch(
                [f"async {i}" for i in range(12)], config={"max_concurrency": 12}
            )
        assert len(results) == 12
        assert peak_jobs(sim) > 6  # more than the event loop's default executor would allow
        assert loop_watch.ticks > 20
        single = await chain.ainvoke("one more")
        assert single.path.exists()


def test_extend_chain_links_each_task_to_the_previous(
    client: LumaClient, sim: LumaSimulator, tmp_path: Path
) -> None:
    story = ExtendChain(client, output_dir=tmp_path).invoke(
        {
            "prompt": "a seed in dark soil",
            "aspect_ratio": "1:1",
            "continuations": ["it sprouts", "it grows into a tree"],
        }
    )
    assert isinstance(story, ExtendResult)
    assert [r.prompt for r in story.results] == [
        "a seed in dark soil",
        "it sprouts",
        "it grows into a tree",
    ]
    ids = [t.id for t in story.tasks]
    assert story.results[0].extends is None
    assert [r.extends for r in story.results[1:]] == ids[:-1]
    extend_paths = [r.path for r in sim.requests if r.route == "extend"]
    assert extend_paths == [f"/luma/generations/{i}/extend" for i in ids[:-1]]
    # Each video is the simulator's 1:1 clip: an extension keeps its source's aspect ratio.
    assert all(p.exists() and sha256(p) == sim.video("1:1").sha256 for p in story.paths)


def test_extend_chain_failure_keeps_the_finished_steps(
    client: LumaClient, sim: LumaSimulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    create = client.create

    def create_then_fail_the_next(prompt: str, **options: Any) -> Task:
        task = create(prompt, **options)
        sim.faults.fail_next_task("Extension rejected")  # hits the extension, not the start
        return task

    monkeypatch.setattr(client, "create", create_then_fail_the_next)
    with pytest.raises(TaskFailedError, match="Extension rejected") as caught:
        ExtendChain(client, output_dir=tmp_path).invoke(
            {"prompt": "start", "continuations": ["more"]}
        )
    assert caught.value.task_id is not None
    notes = "\n".join(caught.value.__notes__)
    assert "Finished steps:" in notes
    assert str(tmp_path) in notes


def test_composes_after_a_prompt_rewriting_llm(
    client: LumaClient, sim: LumaSimulator, tmp_path: Path
) -> None:
    rewrite = ChatPromptTemplate.from_messages(
        [("system", "Rewrite the idea as a detailed shot description."), ("human", "{idea}")]
    )
    llm = FakeListChatModel(responses=["Slow dolly shot of a red fox crossing fresh snow at dawn"])
    pipeline = rewrite | llm | StrOutputParser() | VideoChain(client, output_dir=tmp_path)
    result = pipeline.invoke({"idea": "fox in snow"})
    assert result.prompt.startswith("Slow dolly shot")
    assert [r.json["user_prompt"] for r in sim.requests if r.route == "create"] == [result.prompt]
    assert result.path.exists()


def test_batch_warns_when_the_pool_is_smaller_than_the_concurrency(
    make_client: MakeClient, sim: LumaSimulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    chain = VideoChain(make_client(sim, max_connections=2), output_dir=tmp_path)
    chain.batch(["a", "b", "c"], config={"max_concurrency": 3})
    assert "create the LumaClient with max_connections=3" in caplog.text
