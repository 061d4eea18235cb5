"""The MCP server of the four video tools (the `[mcp]` extra; `luma-tools mcp` runs it).

The same tools, schemas, results and errors as the LangChain tools, from the same core
(`luma_tools.agent`), served with the official `mcp` SDK over stdio or streamable HTTP.

| name | what |
|---|---|
| `build_server(tools)` | an MCP `Server` serving an `AgentTools` |
| `serve_stdio(server)` | serve over stdin/stdout (what desktop hosts launch) |
| `serve_http(server, host, port, token=...)` | serve streamable HTTP at `/mcp` |
| `http_app(server, host=..., token=...)` | the ASGI app, to mount in your own server |

Example:
    ```python
    import anyio

    from luma_tools.agent import AgentTools
    from luma_tools.mcp import build_server, serve_stdio

    server = build_server(AgentTools(client, output_dir="videos"))
    # anyio.run(serve_stdio, server)  # what `luma-tools mcp` does
    ```

This package imports the `mcp` SDK only when one of these names is used, so that
`luma-tools mcp --help` (and the rest of the CLI) works without the extra.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._server import build_server as build_server
    from ._server import list_tools as list_tools
    from ._server import to_call_result as to_call_result
    from ._transports import MCP_PATH as MCP_PATH
    from ._transports import http_app as http_app
    from ._transports import serve_http as serve_http
    from ._transports import serve_stdio as serve_stdio

__all__ = [
    "MCP_PATH",
    "build_server",
    "http_app",
    "list_tools",
    "serve_http",
    "serve_stdio",
    "to_call_result",
]

_HOMES = {
    "build_server": "_server",
    "list_tools": "_server",
    "to_call_result": "_server",
    "MCP_PATH": "_transports",
    "http_app": "_transports",
    "serve_http": "_transports",
    "serve_stdio": "_transports",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'luma_tools.mcp' has no attribute {name!r}")
    try:
        module = importlib.import_module(f".{home}", __name__)
    except ImportError as exc:
        raise ImportError(
            "luma_tools.mcp needs the MCP SDK: pip install 'luma-tools[mcp]'"
        ) from exc
    return getattr(module, name)


def __dir__() -> list[str]:
    return list(__all__)
