"""Starting `luma-tools mcp` the way clients do, on a real simulator (helpers for the tests).

Over stdio the official Python client launches the server itself; over HTTP the server runs
as `luma-tools mcp --http 127.0.0.1:0` and announces its URL on stderr.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from luma_tools.simulator import LumaSimulator

#: The command that serves the tools (what a desktop host's configuration runs).
SERVER = [sys.executable, "-m", "luma_tools", "mcp"]


def server_env(sim: LumaSimulator, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LUMA_")}
    return {**env, "LUMA_API_KEY": sim.api_key, "LUMA_BASE_URL": sim.base_url, **extra}


@asynccontextmanager
async def stdio_session(
    sim: LumaSimulator, *options: str, cwd: Path | None = None
) -> AsyncIterator[ClientSession]:
    """An initialized client session with `luma-tools mcp OPTIONS` over stdio."""
    params = StdioServerParameters(
        command=SERVER[0], args=[*SERVER[1:], *options], env=server_env(sim), cwd=cwd
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        yield session


@dataclass
class HttpServer:
    url: str
    process: subprocess.Popen[str]


def start_http_server(sim: LumaSimulator, *options: str, **env: str) -> HttpServer:
    """`luma-tools mcp --http 127.0.0.1:0 OPTIONS`, once it listens."""
    process = subprocess.Popen(
        [*SERVER, "--http", "127.0.0.1:0", *options],
        env=server_env(sim, **env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    assert process.stderr is not None
    stderr = process.stderr

    def pump() -> None:  # keeps reading, so a chatty server never blocks on a full pipe
        for line in stderr:
            lines.put(line)
        lines.put("")

    threading.Thread(target=pump, daemon=True).start()
    while True:
        line = lines.get(timeout=30)
        assert line, f"the server exited with {process.wait(5)} before listening"
        if "MCP server at " in line:
            url = line.split("MCP server at ", 1)[1].split()[0]
            return HttpServer(url, process)


def stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)
