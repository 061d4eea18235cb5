"""`luma-tools mcp --http`: streamable HTTP, with and without the bearer token."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from luma_servers import SERVER, HttpServer, server_env, start_http_server, stop
from mcp import ClientSession, types
from mcp.client.streamable_http import streamable_http_client

from luma_tools.simulator import LumaSimulator

TOKEN = "test-token-0123456789abcdef"
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "raw-http", "version": "0"},
    },
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream"}


@asynccontextmanager
async def http_session(url: str, token: str | None = None) -> AsyncIterator[ClientSession]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        httpx.AsyncClient(headers=headers, timeout=httpx.Timeout(30, read=120)) as http,
        streamable_http_client(url, http_client=http) as (read, write, _),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        yield session


def text_of(result: types.CallToolResult) -> str:
    first = result.content[0]
    assert isinstance(first, types.TextContent)
    return first.text


async def test_http_serves_the_tools_with_progress(
    http_server: HttpServer, mcp_sim: LumaSimulator
) -> None:
    assert http_server.url.startswith("http://127.0.0.1:")
    assert http_server.url.endswith("/mcp")
    seen: list[str | None] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append(message)

    async with http_session(http_server.url) as session:
        names = [tool.name for tool in (await session.list_tools()).tools]
        created = await session.call_tool("luma_create_video", {"prompt": "over http"})
        assert created.structuredContent is not None
        task_id = created.structuredContent["id"]
        queried = await session.call_tool(
            "luma_query_task",
            {"task_id": task_id, "wait_seconds": 45},
            progress_callback=on_progress,
        )
    assert names[0] == "luma_create_video"
    assert len(names) == 4
    assert not queried.isError
    assert seen
    assert all(task_id in (m or "") for m in seen)
    assert mcp_sim.count("create") == 1


async def test_bearer_token_is_required_when_set(mcp_sim: LumaSimulator) -> None:
    server = start_http_server(mcp_sim, LUMA_MCP_TOKEN=TOKEN)
    try:
        async with httpx.AsyncClient(timeout=10) as raw:
            missing = await raw.post(server.url, json=INITIALIZE, headers=MCP_HEADERS)
            wrong = await raw.post(
                server.url,
                json=INITIALIZE,
                headers={**MCP_HEADERS, "Authorization": f"Bearer {TOKEN}x"},
            )
        for refused in (missing, wrong):
            assert refused.status_code == 401
            assert refused.headers["WWW-Authenticate"].startswith("Bearer")
            assert TOKEN not in refused.text
        async with http_session(server.url, TOKEN) as session:
            listed = await session.list_tools()
            created = await session.call_tool("luma_create_video", {"prompt": "authorised"})
        assert len(listed.tools) == 4
        assert not created.isError
        assert mcp_sim.count("create") == 1
    finally:
        stop(server.process)


async def test_a_web_page_cannot_reach_the_loopback_server(http_server: HttpServer) -> None:
    # DNS rebinding: a page on evil.example resolves its name to 127.0.0.1.
    async with httpx.AsyncClient(timeout=10) as raw:
        rebound = await raw.post(
            http_server.url,
            json=INITIALIZE,
            headers={**MCP_HEADERS, "Host": "evil.example", "Origin": "http://evil.example"},
        )
    assert rebound.status_code in (400, 403, 421)


async def test_the_guard_counts_across_sessions(mcp_sim: LumaSimulator) -> None:
    server = start_http_server(mcp_sim, "--max-creates", "1")
    try:
        async with http_session(server.url) as first:
            assert not (await first.call_tool("luma_create_video", {"prompt": "a"})).isError
        async with http_session(server.url) as second:
            refused = await second.call_tool("luma_create_video", {"prompt": "b"})
        assert refused.isError
        assert "Spend limit reached" in text_of(refused)
        assert mcp_sim.count("create") == 1
    finally:
        stop(server.process)


def refused_server(
    sim: LumaSimulator, cwd: Path, options: list[str]
) -> subprocess.CompletedProcess[str]:
    """Run the server with `options`, which it must refuse (exit 2) before serving."""
    result = subprocess.run(
        [*SERVER, *options],
        env=server_env(sim),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
    )
    assert result.returncode == 2, result.stderr
    return result


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--http", "0.0.0.0:0"], "LUMA_MCP_TOKEN"),
        (["--http", "127.0.0.1:0", "--token", "short"], "at least 16"),
        (["--http", "127.0.0.1:99999"], "port from 0 to 65535"),
        (["--image-dir", "/no/such/folder"], "--image-dir"),
    ],
    ids=["public-without-token", "short-token", "bad-port", "missing-image-dir"],
)
def test_unsafe_or_broken_settings_are_refused_before_serving(
    mcp_sim: LumaSimulator, tmp_path: Path, options: list[str], expected: str
) -> None:
    result = refused_server(mcp_sim, tmp_path, options)
    assert expected in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_a_port_in_use_is_a_clear_usage_error(mcp_sim: LumaSimulator, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = refused_server(mcp_sim, tmp_path, ["--http", f"127.0.0.1:{port}"])
    assert f"127.0.0.1:{port} is in use" in result.stderr
    assert "port 0 picks a free one" in result.stderr
    assert "unexpected" not in result.stderr
    assert "Traceback" not in result.stderr
