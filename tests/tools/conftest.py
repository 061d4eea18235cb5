"""A gateway of the tests' own, written from scratch, that answers what a test scripts.

The simulator shares its authors' assumptions; this one sends what a hostile or broken
gateway sends (a 5,000-character id, escape sequences in a state word, 200,000 characters of
failure reason, an HTML error page), over real loopback HTTP.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from luma_tools import LumaClient


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # JSON-encoded unless it is a str
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class ScriptedGateway:
    """Answers each route ("create", "extend", "query") with the `Reply` set for it."""

    replies: dict[str, Reply] = field(default_factory=dict)
    seen: list[str] = field(default_factory=list)
    base_url: str = ""

    def answer(self, route: str, body: Any, status: int = 200, content_type: str = "") -> None:
        self.replies[route] = Reply(status, body, content_type or "application/json")

    def count(self, route: str) -> int:
        return self.seen.count(route)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        parts = request.path.strip("/").split("/")
        route = (
            "create"
            if request.method == "POST" and parts[-1] == "generations"
            else "extend"
            if request.method == "POST"
            else "query"
        )
        self.seen.append(route)
        reply = self.replies.get(route, Reply(404, {"error": "not scripted"}))
        body = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
        response = Response(
            body, status=reply.status, content_type=reply.content_type, headers=reply.headers
        )
        return response(environ, start_response)


@pytest.fixture
def gateway() -> Iterator[ScriptedGateway]:
    app = ScriptedGateway()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    app.base_url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield app
    server.shutdown()
    thread.join(5)


@pytest.fixture
def gateway_client(gateway: ScriptedGateway) -> Iterator[LumaClient]:
    with LumaClient("sk-test-key", gateway.base_url, max_retries=0, timeout=(2.0, 5.0)) as c:
        yield c
