"""The names of the four tools, and the waiting bounds their texts quote."""

from __future__ import annotations

__all__ = [
    "CREATE_TOOL",
    "DEFAULT_WAIT_SECONDS",
    "DOWNLOAD_TOOL",
    "EXTEND_TOOL",
    "MAX_WAIT_SECONDS",
    "PAID_TOOLS",
    "QUERY_TOOL",
]

CREATE_TOOL = "luma_create_video"
EXTEND_TOOL = "luma_extend_video"
QUERY_TOOL = "luma_query_task"
DOWNLOAD_TOOL = "luma_download_video"
#: The tools whose every call may be billed.
PAID_TOOLS = frozenset({CREATE_TOOL, EXTEND_TOOL})

#: The longest a single luma_query_task call blocks: under the 60 s that MCP clients and
#: agent frameworks commonly allow a tool call.
MAX_WAIT_SECONDS = 45
#: What luma_query_task waits when the model does not say.
DEFAULT_WAIT_SECONDS = 30
