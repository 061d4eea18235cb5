"""The MCP adapter in-process (the SDK's in-memory transport): what no gateway can provoke."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

from mcp import types
from mcp.shared.memory import create_connected_server_and_client_session

from luma_tools import LumaClient
from luma_tools.agent import AgentTools, ProgressSink, ToolResult
from luma_tools.mcp import build_server
from luma_tools.simulator import LumaSimulator


class StuckTools(AgentTools):
    """A core whose calls block (a hung DNS lookup, a bug): only the adapter can stop them."""

    def __init__(self, client: LumaClient) -> None:
        super().__init__(client)
        self.release = threading.Event()
        self.cancelled = threading.Event()

    def time_limit(self, name: str, arguments: Mapping[str, Any]) -> float | None:
        return 1.0 if name == "luma_query_task" else None

    def run(
        self,
        name: str,
        arguments: Mapping[str, Any] | Any,
        *,
        progress: ProgressSink | None = None,
        cancel: threading.Event | None = None,
    ) -> ToolResult:
        assert cancel is not None
        self.release.wait(30)
        if cancel.is_set():
            self.cancelled.set()
        return ToolResult("late")


async def test_a_call_stuck_past_its_time_limit_is_answered_and_stopped(
    client: LumaClient, sim: LumaSimulator
) -> None:
    tools = StuckTools(client)
    try:
        async with create_connected_server_and_client_session(build_server(tools)) as session:
            started = time.monotonic()
            result = await session.call_tool("luma_query_task", {"task_id": "t-1"})
            waited = time.monotonic() - started
            tools.release.set()
            assert tools.cancelled.wait(5)  # the worker was told to stop
    finally:
        tools.release.set()
    assert waited < 5
    assert not result.isError
    first = result.content[0]
    assert isinstance(first, types.TextContent)
    assert first.text.startswith('Task "t-1" is still in an unknown state')
    assert "Next: call luma_query_task" in first.text
