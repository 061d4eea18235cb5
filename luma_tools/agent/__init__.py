"""The agent-facing core of the Luma tools, free of any agent framework.

Everything a model meets is declared here once: the tool names, descriptions and argument
schemas, the text of every result and error, the bounded wait of `luma_query_task`, the folder
rules for images and downloads, and the spend guard. The LangChain tools
(`luma_tools.tools`) and the MCP server (`luma_tools.mcp`) are thin adapters over
[`AgentTools`][luma_tools.agent.AgentTools], so both give the same answers.

| name | what |
|---|---|
| `AgentTools` | the four tools as plain calls: `run(name, arguments) -> ToolResult` |
| `ToolResult` | short text for the model, structured data for code, `is_error` |
| `TOOL_SPECS` | name, title, description, input/output schemas and hints of each tool |
| `SpendGuard` | caps the paid calls (creates, extends); optional price for estimates |

Example:
    ```python
    from luma_tools.agent import TOOL_SPECS, AgentTools, SpendGuard

    tools = AgentTools(client, guard=SpendGuard(max_creates=1))
    assert [spec.name for spec in TOOL_SPECS][0] == "luma_create_video"
    first = tools.run("luma_create_video", {"prompt": "a kite over green hills"})
    second = tools.run("luma_create_video", {"prompt": "another kite"})
    assert not first.is_error and second.is_error
    print(second.content)  # Spend limit reached: ... ask the user ...
    ```
"""

from __future__ import annotations

from ._core import AgentTools
from ._guard import SpendGuard, SpendLimitError, describe_paid_call
from ._inputs import (
    LumaCreateVideoInput,
    LumaDownloadVideoInput,
    LumaExtendVideoInput,
    LumaQueryTaskInput,
)
from ._messages import describe_validation_error
from ._names import (
    CREATE_TOOL,
    DEFAULT_WAIT_SECONDS,
    DOWNLOAD_TOOL,
    EXTEND_TOOL,
    MAX_WAIT_SECONDS,
    PAID_TOOLS,
    QUERY_TOOL,
)
from ._results import DownloadData, ProgressSink, ProgressUpdate, TaskData, ToolResult
from ._specs import CREATE, DOWNLOAD, EXTEND, QUERY, TOOL_SPECS, ToolSpec, json_schema
from ._text import MAX_CONTENT_CHARS, quote

__all__ = [
    "CREATE",
    "CREATE_TOOL",
    "DEFAULT_WAIT_SECONDS",
    "DOWNLOAD",
    "DOWNLOAD_TOOL",
    "EXTEND",
    "EXTEND_TOOL",
    "MAX_CONTENT_CHARS",
    "MAX_WAIT_SECONDS",
    "PAID_TOOLS",
    "QUERY",
    "QUERY_TOOL",
    "TOOL_SPECS",
    "AgentTools",
    "DownloadData",
    "LumaCreateVideoInput",
    "LumaDownloadVideoInput",
    "LumaExtendVideoInput",
    "LumaQueryTaskInput",
    "ProgressSink",
    "ProgressUpdate",
    "SpendGuard",
    "SpendLimitError",
    "TaskData",
    "ToolResult",
    "ToolSpec",
    "describe_paid_call",
    "describe_validation_error",
    "json_schema",
    "quote",
]
