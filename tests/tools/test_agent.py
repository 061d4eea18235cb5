"""The toolkit inside a real LangChain agent loop (`create_agent`) with a scripted model."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage

from luma_tools import LumaClient, LumaToolkit
from luma_tools.simulator import LumaSimulator
from luma_tools.testing import ScriptedChatModel, tool_call, video_agent_script

MakeClient = Callable[..., LumaClient]


def run_agent(
    client: LumaClient, output_dir: Path, script: Any, request: str = "Make me a video"
) -> list[BaseMessage]:
    agent = create_agent(
        ScriptedChatModel(script=script),
        tools=LumaToolkit(client=client, output_dir=output_dir).get_tools(),
        system_prompt="You make short videos with the Luma tools.",
    )
    result = agent.invoke({"messages": [HumanMessage(request)]}, {"recursion_limit": 30})
    return list(result["messages"])


def transcript(messages: list[BaseMessage]) -> str:
    """The conversation as a reader (or a model) sees it."""
    lines = []
    for m in messages:
        if isinstance(m, AIMessage) and m.tool_calls:
            for c in m.tool_calls:
                lines.append(f"AI -> {c['name']}({c['args']})")
        elif isinstance(m, ToolMessage):
            lines.append(f"TOOL {m.name} [{m.status}]: {m.content}")
        else:
            lines.append(f"{m.type.upper()}: {m.content}")
    return "\n".join(lines)


def tool_messages(messages: list[BaseMessage]) -> list[ToolMessage]:
    return [m for m in messages if isinstance(m, ToolMessage)]


def test_agent_makes_a_video_end_to_end(
    client: LumaClient, sim: LumaSimulator, tmp_path: Path
) -> None:
    messages = run_agent(
        client, tmp_path, video_agent_script("a red fox running through snow", aspect_ratio="16:9")
    )
    print("\n" + transcript(messages))  # shown with `pytest -s`: the model-facing text
    results = tool_messages(messages)
    assert results[0].name == "luma_create_video"
    assert results[-1].name == "luma_download_video"
    assert all(m.status == "success" for m in results)
    saved = Path(results[-1].artifact["path"])
    assert saved.parent == tmp_path
    assert saved.stat().st_size == sim.video_size
    assert str(saved) in str(messages[-1].content)
    assert sim.count("create") == 1
    assert sim.count("query") <= 8  # bounded waits, not a spin


def test_agent_streams_progress(client: LumaClient, sim: LumaSimulator, tmp_path: Path) -> None:
    agent = create_agent(
        ScriptedChatModel(script=video_agent_script("waves at dusk")),
        tools=LumaToolkit(client=client, output_dir=tmp_path).get_tools(),
    )
    custom = [
        chunk
        for mode, chunk in agent.stream(
            {"messages": [HumanMessage("video please")]}, stream_mode=["custom", "updates"]
        )
        if mode == "custom"
    ]
    assert custom
    assert all("luma_progress" in chunk for chunk in custom)
    assert {chunk["luma_progress"]["tool"] for chunk in custom} >= {"luma_query_task"}


def test_failed_task(client: LumaClient, sim: LumaSimulator, tmp_path: Path) -> None:
    sim.faults.fail_next_task("Frame moderation failed")
    messages = run_agent(client, tmp_path, video_agent_script("something forbidden"))
    error = tool_messages(messages)[-1]
    assert error.status == "error"
    assert "Frame moderation failed" in str(error.content)
    assert "Rephrase the prompt" in str(error.content)
    assert isinstance(messages[-1], AIMessage)
    assert not messages[-1].tool_calls  # the run completed


def test_rate_limited_create(client: LumaClient, sim: LumaSimulator, tmp_path: Path) -> None:
    sim.faults.rate_limit(times=1, retry_after=12, route="create")
    messages = run_agent(client, tmp_path, video_agent_script("a kite"))
    error = tool_messages(messages)[-1]
    assert error.status == "error"
    assert "Wait 12 s, then call luma_create_video again" in str(error.content)
    assert sim.count("create") == 1


def test_unknown_id(client: LumaClient, sim: LumaSimulator, tmp_path: Path) -> None:
    def script(messages: list[BaseMessage]) -> AIMessage:
        if not tool_messages(messages):
            return tool_call("luma_query_task", task_id="made-up-id", wait_seconds=45)
        return AIMessage(content=str(messages[-1].content))

    messages = run_agent(client, tmp_path, script)
    error = tool_messages(messages)[0]
    assert error.status == "error"
    assert "Check the id" in str(error.content)


def test_bad_enum_argument(client: LumaClient, sim: LumaSimulator, tmp_path: Path) -> None:
    messages = run_agent(client, tmp_path, video_agent_script("a cat", aspect_ratio="2:1"))
    error = tool_messages(messages)[0]
    assert error.status == "error"
    assert "aspect_ratio" in str(error.content)
    assert "Fix them and call the tool again" in str(error.content)
    assert sim.count("create") == 0


@pytest.mark.parametrize("renewable", [True, False], ids=["renewed", "file-host-down"])
def test_expired_link(
    client: LumaClient, sim: LumaSimulator, tmp_path: Path, renewable: bool
) -> None:
    base = video_agent_script("a lighthouse")

    def script(messages: list[BaseMessage]) -> AIMessage:
        answer = base(messages)
        if answer.tool_calls and answer.tool_calls[0]["name"] == "luma_download_video":
            sim.faults.expire_links()  # the link went stale while the model was thinking
            if not renewable:  # and the file host keeps dropping the connection
                sim.faults.truncate_download(times=100, fraction=0.0)
        return answer

    messages = run_agent(client, tmp_path, script)
    last = tool_messages(messages)[-1]
    assert last.name == "luma_download_video"
    if renewable:
        assert last.status == "success"
        assert Path(last.artifact["path"]).stat().st_size == sim.video_size
    else:
        assert last.status == "error"
        assert "Try luma_download_video again in a minute" in str(last.content)
        assert not list(tmp_path.iterdir())  # no partial file left behind
