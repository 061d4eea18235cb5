"""The MCP server: the four tools of `luma_tools.agent`, served with the official `mcp` SDK.

It is the SDK's low-level `Server`, not `FastMCP`, because the tools' schemas, validation and
error texts are declared once in the core: FastMCP would derive its own schema from a function
signature and phrase argument errors its own way. Each call runs in a worker thread
(`anyio.to_thread`): the client is blocking, and a blocking call on the event loop would
freeze every session of the server.
"""

from __future__ import annotations

import functools
import math
import threading
from pathlib import Path
from typing import Any

import anyio
import anyio.from_thread
import anyio.to_thread
from mcp import types
from mcp.server.lowlevel import Server
from mcp.server.lowlevel.helper_types import ReadResourceContents
from mcp.shared.exceptions import McpError
from pydantic import AnyUrl

from .._version import __version__
from ..agent import (
    CREATE_TOOL,
    DOWNLOAD_TOOL,
    MAX_WAIT_SECONDS,
    QUERY_TOOL,
    TOOL_SPECS,
    AgentTools,
    ProgressUpdate,
    ToolResult,
    ToolSpec,
)

__all__ = ["SERVER_NAME", "build_server", "list_tools", "to_call_result"]


#: The largest saved video `resources/read` hands out (base64 in one JSON message).
MAX_RESOURCE_BYTES = 64 * 2**20
_RESOURCE_NOT_FOUND = -32002  # the MCP specification's code

SERVER_NAME = "luma-tools"
INSTRUCTIONS = (
    f"Make short AI videos with Luma. {CREATE_TOOL} starts one (billed per call) and returns a "
    f"task id at once; then call {QUERY_TOOL} with wait_seconds={MAX_WAIT_SECONDS} until it is "
    f"completed (1-5 minutes), then {DOWNLOAD_TOOL}. Every result ends with the next step."
)


def list_tools() -> list[types.Tool]:
    """The four tools as MCP lists them: the core's schemas and descriptions, plus hints."""
    return [_tool(spec) for spec in TOOL_SPECS]


def _tool(spec: ToolSpec) -> types.Tool:
    return types.Tool(
        name=spec.name,
        title=spec.title,
        description=spec.description,
        inputSchema=spec.input_schema,
        outputSchema=spec.output_schema,
        annotations=types.ToolAnnotations(
            title=spec.title,
            readOnlyHint=spec.read_only,
            destructiveHint=spec.destructive,
            idempotentHint=not spec.paid,
            openWorldHint=True,
        ),
    )


def to_call_result(result: ToolResult, *, resource_links: bool = True) -> types.CallToolResult:
    """A core result as MCP's: the text, the structured content, a link to a saved file."""
    content: list[types.ContentBlock] = [types.TextContent(type="text", text=result.content)]
    if resource_links and result.file is not None and result.data is not None:
        content.append(
            types.ResourceLink(
                type="resource_link",
                uri=result.file.as_uri(),
                name=result.file.name,
                title=f"Video {result.file.name}",
                mimeType="video/mp4",
                size=result.data.get("bytes"),
            )
        )
    return types.CallToolResult(
        content=content,
        structuredContent=None if result.is_error else result.data,
        isError=result.is_error,
    )


def build_server(
    tools: AgentTools, *, name: str = SERVER_NAME, resource_links: bool = True
) -> Server[Any, Any]:
    """An MCP server serving `tools` (run it over stdio or streamable HTTP).

    A download's result links to the saved MP4 (`resource_link`); the videos this server
    saved are listed as resources and can be read back (`resources/read`), and no other file.

    Args:
        tools: The core, with its client, folders and spend guard; one for the server's life,
            so the guard counts across every session.
        name: The server name clients show.
        resource_links: Add the resource link to download results. Turn it off for clients
            that pass links on to a model as files (langchain-mcp-adapters turns it into a
            `file` content block with a `file://` URL, which model providers refuse).

    Example:
        ```python
        from luma_tools.agent import AgentTools
        from luma_tools.mcp import build_server

        server = build_server(AgentTools(client, output_dir="videos"))
        assert server.name == "luma-tools"
        ```
    """
    server: Server[Any, Any] = Server(name, version=__version__, instructions=INSTRUCTIONS)
    saved: dict[str, Path] = {}  # file:// URI -> the video this server saved there

    @server.list_tools()  # type: ignore[no-untyped-call,untyped-decorator]
    async def _list_tools() -> list[types.Tool]:
        return list_tools()

    # validate_input=False: the core validates, so a bad argument gets the same advice here
    # as from the LangChain tools, not a JSON Schema library's wording.
    @server.call_tool(validate_input=False)  # type: ignore[untyped-decorator]
    async def _call_tool(name: str, arguments: dict[str, Any]) -> types.CallToolResult:
        progress = _Progress(server)
        cancel = threading.Event()
        limit = tools.time_limit(name, arguments)
        started = anyio.current_time()
        with anyio.move_on_after(limit if limit is not None else math.inf) as deadline:
            try:
                result = await anyio.to_thread.run_sync(
                    functools.partial(
                        tools.run, name, arguments, progress=progress.send, cancel=cancel
                    ),
                    abandon_on_cancel=True,  # a cancelled call stops waiting; `cancel` ends it
                )
            finally:
                cancel.set()
        if deadline.cancelled_caught:  # the gateway kept a bounded wait past its bound
            result = tools.overdue(arguments, progress.last, anyio.current_time() - started)
        if result.file is not None:
            saved[result.file.as_uri()] = result.file
        return to_call_result(result, resource_links=resource_links)

    @server.list_resources()  # type: ignore[no-untyped-call,untyped-decorator]
    async def _list_resources() -> list[types.Resource]:
        return [
            types.Resource(uri=AnyUrl(uri), name=path.name, mimeType="video/mp4")
            for uri, path in saved.items()
            if path.is_file()
        ]

    @server.read_resource()  # type: ignore[no-untyped-call,untyped-decorator]
    async def _read_resource(uri: AnyUrl) -> list[ReadResourceContents]:
        path = saved.get(str(uri))
        if path is None or not path.is_file():
            raise McpError(
                types.ErrorData(
                    code=_RESOURCE_NOT_FOUND,
                    message="Unknown resource: only the videos this server saved can be read",
                )
            )
        if path.stat().st_size > MAX_RESOURCE_BYTES:
            raise McpError(
                types.ErrorData(
                    code=types.INVALID_REQUEST,
                    message=f"{path.name} is too large to send inline; open {path} instead",
                )
            )
        return [ReadResourceContents(await anyio.Path(path).read_bytes(), "video/mp4")]

    return server


class _Progress:
    """Remembers a call's last progress update, and sends each one as an MCP progress
    notification when the client asked for them (a progress token). `send` is called from
    the worker thread."""

    def __init__(self, server: Server[Any, Any]) -> None:
        context = server.request_context
        self._token = context.meta.progressToken if context.meta else None
        self._session, self._request_id = context.session, str(context.request_id)
        self._sent = -1.0
        self.last: ProgressUpdate | None = None

    def send(self, update: ProgressUpdate) -> None:
        self.last = update
        if self._token is None or update.progress <= self._sent:
            return  # not asked for; or not growing, as MCP requires (a resumed download)
        self._sent = update.progress
        anyio.from_thread.run(
            functools.partial(
                self._session.send_progress_notification,
                progress_token=self._token,
                progress=update.progress,
                total=update.total,
                message=update.message,
                related_request_id=self._request_id,
            )
        )
