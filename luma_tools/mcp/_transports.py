"""Serving the MCP server: stdio (what desktop hosts launch), or streamable HTTP.

Over HTTP anyone who can reach the port can spend the gateway account's money, so a host other
than loopback needs a bearer token, and on loopback the SDK's DNS-rebinding protection stops
web pages from reaching the server through the user's browser.
"""

from __future__ import annotations

import hmac
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from mcp.server.lowlevel import Server
from mcp.server.stdio import stdio_server
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ._address import is_loopback

__all__ = ["MCP_PATH", "http_app", "serve_http", "serve_stdio"]

#: Where the streamable HTTP endpoint lives.
MCP_PATH = "/mcp"


async def serve_stdio(server: Server[Any, Any]) -> None:
    """Serve over stdin/stdout until the client closes them."""
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


class _BearerTokenGate:
    """Refuses HTTP requests without `Authorization: Bearer <token>` (401)."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self._expected = f"bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self._authorized(scope):
            refusal = JSONResponse(
                {"error": "unauthorized", "error_description": "a valid bearer token is needed"},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer realm="luma-tools"'},
            )
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _authorized(self, scope: Scope) -> bool:
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                scheme, _, token = value.partition(b" ")
                return hmac.compare_digest(scheme.lower() + b" " + token.strip(), self._expected)
        return False


class _Endpoint:
    """The MCP endpoint as a plain ASGI app (Starlette would treat a function as a view)."""

    def __init__(self, manager: StreamableHTTPSessionManager) -> None:
        self.manager = manager

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.manager.handle_request(scope, receive, send)


def _security(host: str) -> TransportSecuritySettings:
    if is_loopback(host):
        return TransportSecuritySettings(
            enable_dns_rebinding_protection=True,
            allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*"],
            allowed_origins=["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"],
        )
    # Reached by name or address from other machines: the bearer token is the protection.
    return TransportSecuritySettings(enable_dns_rebinding_protection=False)


def http_app(server: Server[Any, Any], *, host: str, token: str | None) -> ASGIApp:
    """The streamable HTTP app (at `MCP_PATH`), behind the bearer token when one is given."""
    manager = StreamableHTTPSessionManager(app=server, security_settings=_security(host))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with manager.run():
            yield

    app: ASGIApp = Starlette(
        routes=[Route(MCP_PATH, endpoint=_Endpoint(manager))], lifespan=lifespan
    )
    return app if token is None else _BearerTokenGate(app, token)


async def serve_http(
    server: Server[Any, Any],
    host: str,
    port: int,
    *,
    token: str | None,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve streamable HTTP on `host:port` (port 0: any free one) until cancelled.

    `on_ready` gets the endpoint URL once the port is listening.
    """
    import uvicorn

    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host.strip("[]"), port))
        sock.listen(128)  # connections queue from now on, before uvicorn accepts them
    except OSError:
        sock.close()
        raise
    bound = sock.getsockname()[1]
    shown = f"[{host.strip('[]')}]" if family == socket.AF_INET6 else host
    config = uvicorn.Config(
        http_app(server, host=host, token=token), log_level="warning", lifespan="on"
    )
    if on_ready is not None:
        on_ready(f"http://{shown}:{bound}{MCP_PATH}")
    await uvicorn.Server(config).serve(sockets=[sock])
