"""The MCP server loaded into LangChain through `langchain-mcp-adapters`: an agent loop, and
the proof that both adapters give a model the same tools, texts and errors."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from langchain.agents import create_agent
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from langchain_mcp_adapters.client import MultiServerMCPClient
from langchain_mcp_adapters.tools import load_mcp_tools
from luma_servers import SERVER, server_env

from luma_tools import LumaClient, LumaToolkit
from luma_tools.agent import MAX_CONTENT_CHARS
from luma_tools.simulator import LumaSimulator
from luma_tools.testing import ScriptedChatModel, last_tool_message, tool_call, video_agent_script

Script = Callable[[list[BaseMessage]], AIMessage]


@asynccontextmanager
async def mcp_tools(sim: LumaSimulator, *options: str) -> AsyncIterator[list[BaseTool]]:
    """The server's tools as LangChain tools, over one stdio session.

    One session for the whole run: `MultiServerMCPClient.get_tools()` would start a new server
    process per call, and each would have its own spend guard.
    """
    client = MultiServerMCPClient(
        {
            "luma": {
                "transport": "stdio",
                "command": SERVER[0],
                "args": [*SERVER[1:], *options],
                "env": server_env(sim),
            }
        }
    )
    async with client.session("luma") as session:
        yield await load_mcp_tools(session)


def tool_results(messages: list[BaseMessage]) -> list[ToolMessage]:
    return [m for m in messages if isinstance(m, ToolMessage)]


async def run_agent(tools: list[BaseTool], script: Script) -> list[BaseMessage]:
    agent = create_agent(ScriptedChatModel(script=script), tools=tools)
    state = await agent.ainvoke(
        {"messages": [("user", "Make me a video")]}, {"recursion_limit": 30}
    )
    return list(state["messages"])


async def test_an_agent_makes_a_video_through_mcp(mcp_sim: LumaSimulator, tmp_path: Path) -> None:
    async with mcp_tools(mcp_sim, "--output-dir", str(tmp_path), "--no-resource-links") as tools:
        assert [tool.name for tool in tools] == [
            "luma_create_video",
            "luma_extend_video",
            "luma_query_task",
            "luma_download_video",
        ]
        messages = await run_agent(tools, video_agent_script("a red fox running through snow"))
    results = tool_results(messages)
    assert results[0].name == "luma_create_video"
    assert results[-1].name == "luma_download_video"
    assert all(m.status == "success" for m in results)
    assert [block["type"] for block in results[-1].content] == ["text"]  # no file:// for the model
    saved = Path(results[-1].artifact["structured_content"]["path"])
    assert saved.parent == tmp_path
    assert saved.stat().st_size == mcp_sim.video_size
    assert messages[-1].text.startswith("Done. Saved the video")
    assert mcp_sim.count("create") == 1
    assert mcp_sim.count("query") <= 8  # bounded waits, not a spin


async def test_max_creates_holds_through_the_adapter(mcp_sim: LumaSimulator) -> None:
    def greedy(messages: list[BaseMessage]) -> AIMessage:
        last = last_tool_message(messages)
        if last is not None and last.status == "error":
            return AIMessage(content=f"Stopped: {last.text}")
        return tool_call("luma_create_video", prompt="one more video")

    async with mcp_tools(mcp_sim, "--max-creates", "2") as tools:
        messages = await run_agent(tools, greedy)
    results = tool_results(messages)
    assert [m.status for m in results] == ["success", "success", "error"]
    assert "Spend limit reached" in results[-1].text
    assert "ask the user" in results[-1].text
    assert mcp_sim.count("create") == 2


# -- one core, two adapters: the same tools, texts and errors -----------------------------------

_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def scenarios(sim: LumaSimulator) -> list[tuple[str, dict[str, Any]]]:
    completed = sim.add_task(state="completed")
    failed = sim.add_task(state="failed", failure_reason="Frame moderation " * 20_000)
    return [
        ("luma_query_task", {"task_id": "no-such-task"}),
        ("luma_query_task", {"task_id": "../../admin"}),
        ("luma_query_task", {"task_id": failed}),
        ("luma_query_task", {"task_id": completed, "wait_seconds": 0}),
        ("luma_query_task", {"task_id": completed, "wait_seconds": -1}),
        ("luma_create_video", {"prompt": "x", "aspect_ratio": "2:1"}),
        ("luma_create_video", {"prompt": "a kite"}),
        ("luma_create_video", {"prompt": "past the limit"}),
        ("luma_extend_video", {"task_id": completed, "prompt": "past the limit too"}),
        ("luma_download_video", {"task_id": completed, "filename": "bad\x00name"}),
        ("luma_download_video", {"task_id": completed, "filename": "../escape"}),
    ]


async def call(tool: BaseTool, args: dict[str, Any]) -> ToolMessage:
    message = await tool.ainvoke({"name": tool.name, "args": args, "id": "c1", "type": "tool_call"})
    assert isinstance(message, ToolMessage)
    return message


async def test_both_adapters_give_the_same_tools_texts_and_errors(
    mcp_sim: LumaSimulator, tmp_path: Path
) -> None:
    calls = scenarios(mcp_sim)
    with LumaClient(mcp_sim.api_key, mcp_sim.base_url) as client:
        native = {t.name: t for t in LumaToolkit(client=client, max_creates=1).get_tools()}
        native_results = [await call(native[name], args) for name, args in calls]
    options = ("--max-creates", "1", "--output-dir", str(tmp_path), "--no-resource-links")
    async with mcp_tools(mcp_sim, *options) as tools:
        bridged = {t.name: t for t in tools}
        bridged_results = [await call(bridged[name], args) for name, args in calls]
        for name in native:  # what the model is shown of each tool
            assert convert_to_openai_tool(bridged[name]) == convert_to_openai_tool(native[name])
    for (name, args), ours, theirs in zip(calls, native_results, bridged_results, strict=True):
        case = f"{name}({args})"
        assert ours.status == theirs.status, case
        assert _ID.sub("<id>", ours.text) == _ID.sub("<id>", theirs.text), case
        assert len(theirs.text) <= MAX_CONTENT_CHARS, case
    statuses = [m.status for m in native_results]
    assert statuses == ["error"] * 3 + ["success", "error", "error", "success"] + ["error"] * 4
    assert mcp_sim.count("create") == 2  # one per adapter: the guard stopped the rest
