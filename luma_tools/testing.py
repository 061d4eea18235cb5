"""Offline stand-ins for testing agents built on the Luma tools (needs `[langchain]`).

`ScriptedChatModel` is a chat model that plays a script written as a function of the
conversation, so an agent loop runs without an LLM. Like a real model, `video_agent_script`
reads the task id out of the previous tool result's *text*: what passes with it proves the
text a model sees is enough to act on. It works the same with the native tools and with the
MCP server's tools loaded through `langchain-mcp-adapters` (whose results are content blocks).

Example:
    ```python
    from langchain.agents import create_agent

    from luma_tools.testing import ScriptedChatModel, video_agent_script
    from luma_tools.tools import LumaToolkit

    model = ScriptedChatModel(script=video_agent_script("a red fox in snow"))
    agent = create_agent(model, tools=LumaToolkit(client=client).get_tools())
    result = agent.invoke({"messages": [("user", "Make me a fox video")]})
    assert result["messages"][-1].content.startswith("Done. Saved the video")
    ```
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tools import BaseTool

__all__ = [
    "Script",
    "ScriptedChatModel",
    "last_tool_message",
    "task_id_in",
    "tool_call",
    "tool_calls",
    "video_agent_script",
]

#: Given the conversation so far, the model's next message.
Script = Callable[[list[BaseMessage]], AIMessage]
_ids = itertools.count(1)


class ScriptedChatModel(BaseChatModel):
    """A chat model answering each turn with `script(messages)`.

    `bind_tools` returns the model itself, so `create_agent` accepts it.

    Attributes:
        script: The next message, given the conversation.
    """

    script: Script

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        **kwargs: Any,
    ) -> ScriptedChatModel:
        """The script already knows the tools: return the model itself."""
        return self

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self.script(messages))])


def tool_call(name: str, **args: Any) -> AIMessage:
    """An assistant message calling one tool."""
    return tool_calls((name, args))


def tool_calls(*calls: tuple[str, dict[str, Any]]) -> AIMessage:
    """An assistant message calling several tools at once (parallel tool calls).

    Example:
        ```python
        from luma_tools.testing import tool_calls

        message = tool_calls(
            ("luma_create_video", {"prompt": "a fox"}),
            ("luma_create_video", {"prompt": "a wolf"}),
        )
        assert [call["args"]["prompt"] for call in message.tool_calls] == ["a fox", "a wolf"]
        ```
    """
    return AIMessage(
        content="",
        tool_calls=[
            {"name": name, "args": args, "id": f"call_{next(_ids)}", "type": "tool_call"}
            for name, args in calls
        ],
    )


def last_tool_message(messages: list[BaseMessage]) -> ToolMessage | None:
    """The most recent tool result, if any."""
    return next((m for m in reversed(messages) if isinstance(m, ToolMessage)), None)


def task_id_in(text: str) -> str:
    """The task id a tool result names (as `task_id="..."` or `Task "..."`).

    Raises:
        ValueError: The text names no task id.
    """
    match = re.search(r'task_id="([^"]+)"', text) or re.search(r'Task "([^"]+)"', text)
    if match is None:
        raise ValueError(f"no task id in {text!r}")
    return match.group(1)


def video_agent_script(prompt: str, **create_args: Any) -> Script:
    """What a sensible model does: create, query until completed, download, report.

    It stops and explains at the first error, quoting the tool's advice.
    """

    def script(messages: list[BaseMessage]) -> AIMessage:
        last = last_tool_message(messages)
        if last is None:
            return tool_call("luma_create_video", prompt=prompt, **create_args)
        text = last.text
        if last.status == "error":
            return AIMessage(content=f"I could not finish the video. The tool said: {text}")
        if last.name in ("luma_create_video", "luma_query_task") and "is completed" not in text:
            return tool_call("luma_query_task", task_id=task_id_in(text), wait_seconds=45)
        if last.name == "luma_query_task":
            return tool_call("luma_download_video", task_id=task_id_in(text))
        return AIMessage(content=f"Done. {text}")

    return script
