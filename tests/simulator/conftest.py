"""Helpers for testing the simulator over loopback HTTP with plain `requests`.

The luma-tools client is deliberately not used here: the simulator is checked on its
own, against the gateway reference, so it can in turn be trusted to check the client.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

import pytest
import requests

from luma_tools.simulator import LumaSimulator

T = TypeVar("T")

#: Per-request (connect, read) timeout: nothing on loopback should take longer.
HTTP_TIMEOUT = (2.0, 5.0)


def wait_until(condition: Callable[[], T], timeout: float = 5.0, interval: float = 0.01) -> T:
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"condition not met within {timeout} s (last value: {value!r})")
        time.sleep(interval)


class Gateway:
    """A thin `requests` wrapper that talks to one simulator with its key."""

    def __init__(self, sim: LumaSimulator) -> None:
        self.sim = sim
        self.base_url = sim.base_url
        self.session = requests.Session()
        self.session.trust_env = False  # never route loopback through a proxy
        self.auth = {"Authorization": f"Bearer {sim.api_key}"}

    def close(self) -> None:
        self.session.close()

    def request(
        self, method: str, path: str, *, auth: bool = True, **kwargs: Any
    ) -> requests.Response:
        headers = {**(self.auth if auth else {}), **kwargs.pop("headers", {})}
        url = path if path.startswith("http") else self.base_url + path
        kwargs.setdefault("timeout", HTTP_TIMEOUT)
        return self.session.request(method, url, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def create(self, prompt: str = "a cat surfing", **fields: Any) -> dict[str, Any]:
        """Create a task (default shapes) and return the flat task object."""
        response = self.post("/luma/generations", json={"user_prompt": prompt, **fields})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def query(self, task_id: str) -> dict[str, Any]:
        response = self.get(f"/luma/generations/{task_id}")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def download_url(self, task_id: str) -> str:
        response = self.get(f"/luma/generations/{task_id}/download_video_url")
        assert response.status_code == 200, response.text
        url: str = response.json()["url"]
        return url

    def fetch_file(self, url: str, **kwargs: Any) -> requests.Response:
        """GET a file link the way a downloader must: without the API key."""
        return self.get(url, auth=False, **kwargs)

    def wait_for_state(self, task_id: str, state: str, timeout: float = 5.0) -> dict[str, Any]:
        return wait_until(lambda: (t := self.query(task_id))["state"] == state and t, timeout)

    def wait_for_video(self, task_id: str, timeout: float = 5.0) -> dict[str, Any]:
        return wait_until(lambda: (t := self.query(task_id))["video"] is not None and t, timeout)


@pytest.fixture
def gateway(sim: LumaSimulator) -> Iterator[Gateway]:
    gw = Gateway(sim)
    yield gw
    gw.close()


@pytest.fixture
def make_sim() -> Iterator[Callable[..., LumaSimulator]]:
    """Start simulators with custom options; all are stopped after the test."""
    started: list[LumaSimulator] = []

    def make(**options: Any) -> LumaSimulator:
        started.append(LumaSimulator(**options).start())
        return started[-1]

    yield make
    for s in started:
        s.stop()


@pytest.fixture
def make_gateway() -> Iterator[Callable[[LumaSimulator], Gateway]]:
    made: list[Gateway] = []

    def make(sim: LumaSimulator) -> Gateway:
        made.append(Gateway(sim))
        return made[-1]

    yield make
    for gw in made:
        gw.close()


# -- a notify_hook receiver -------------------------------------------------------------


@dataclass
class ReceivedHook:
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class HookReceiver:
    """Records POSTs on 127.0.0.1; answers with ``statuses`` in turn, then 200."""

    url: str = ""
    statuses: list[int] = field(default_factory=list)
    received: list[ReceivedHook] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def next_status(self) -> int:
        with self.changed:
            return self.statuses.pop(0) if self.statuses else 200

    def record(self, hook: ReceivedHook) -> None:
        with self.changed:
            self.received.append(hook)
            self.changed.notify_all()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[ReceivedHook]:
        """Block until at least ``count`` POSTs arrived; return them all."""
        with self.changed:
            ok = self.changed.wait_for(lambda: len(self.received) >= count, timeout)
            assert ok, f"expected {count} hooks within {timeout} s, got {len(self.received)}"
            return list(self.received)


@pytest.fixture
def hook_receiver() -> Iterator[HookReceiver]:
    receiver = HookReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            status = receiver.next_status()
            receiver.record(ReceivedHook(self.path, dict(self.headers), json.loads(raw)))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield receiver
    server.shutdown()
    thread.join(5)
    server.server_close()


@pytest.fixture(name="wait_until")
def wait_until_fixture() -> Callable[..., Any]:
    """`wait_until(condition, timeout=5.0)` for test modules (they cannot import conftest)."""
    return wait_until
