"""Fixtures of the MCP tests: a simulator with short jobs, and a running HTTP server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from luma_servers import HttpServer, start_http_server, stop

from luma_tools.simulator import LumaSimulator


@pytest.fixture
def mcp_sim() -> Iterator[LumaSimulator]:
    # Short jobs: a task completes within about a second and a half of wall time.
    with LumaSimulator(queue_seconds=0.3, run_seconds=1.0) as simulator:
        yield simulator


@pytest.fixture
def http_server(mcp_sim: LumaSimulator) -> Iterator[HttpServer]:
    server = start_http_server(mcp_sim)
    yield server
    stop(server.process)
