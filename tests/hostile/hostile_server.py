"""A hostile HTTP server of our own: every byte it sends is scripted by the test.

The simulator shares the authors' assumptions about gateways, so it cannot be the only
adversary. This server speaks raw HTTP/1.1 over a real socket on 127.0.0.1 and does whatever a
test scripts, including what no well-behaved server does: lie in `Content-Length`, stall
mid-body, reset the connection after reading a request, redirect in loops, answer with HTML
error pages, send deeply nested or gigantic JSON, or act as a proxy that forwards a request to a
real origin (the simulator) and then tells the client the origin failed.

```python
with HostileServer() as server:
    server.script("POST", "/luma/generations", reply(502, "<html>Bad gateway</html>"))
    client = LumaClient("sk-test", server.url)
```
"""

from __future__ import annotations

import contextlib
import gzip
import json
import re
import socket
import ssl
import struct
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import requests

__all__ = [
    "KEY",
    "Behaviour",
    "HostileServer",
    "Received",
    "close_after_request",
    "forward",
    "forward_then",
    "hold",
    "json_reply",
    "redirect",
    "reply",
    "reset_after_request",
    "serve_bytes",
    "slow_body",
]


#: The API key every hostile test uses; tests assert it never shows anywhere.
KEY = "sk-hostile-test-key-0123456789"


@dataclass
class Received:
    """A request the server read (all of it, body included)."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Connection:
    """The client connection a behaviour answers on."""

    def __init__(self, sock: socket.socket, server: HostileServer) -> None:
        self.sock = sock
        self.server = server

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def reset(self) -> None:
        """Abort with a TCP RST (SO_LINGER 0), like a crashed proxy."""
        with contextlib.suppress(OSError):
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()


#: Answers one request: writes to the connection (or closes it).
Behaviour = Callable[[Received, Connection], None]


def _head(status: int, headers: Iterable[tuple[str, str]], reason: str = "X") -> bytes:
    lines = [f"HTTP/1.1 {status} {reason}"] + [f"{k}: {v}" for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def reply(
    status: int,
    body: bytes | str = b"",
    *,
    headers: dict[str, str] | None = None,
    content_length: int | None = None,
    declare_length: bool = True,
    content_type: str = "text/html",
    close: bool = True,
) -> Behaviour:
    """Answer `status` with `body`; `content_length` may lie about its size, and
    `declare_length=False` leaves it out (the body then ends when the connection closes)."""
    data = body.encode() if isinstance(body, str) else body

    def behave(request: Received, conn: Connection) -> None:
        extra = dict(headers or {})
        extra.setdefault("Content-Type", content_type)
        if declare_length:
            extra.setdefault(
                "Content-Length", str(len(data) if content_length is None else content_length)
            )
        if close:
            extra.setdefault("Connection", "close")
        conn.send(_head(status, extra.items()) + data)

    return behave


def json_reply(status: int, document: Any, **options: Any) -> Behaviour:
    """Answer with `document` as JSON."""
    return reply(status, json.dumps(document), content_type="application/json", **options)


def gzip_reply(
    status: int, body: bytes, *, content_type: str = "application/octet-stream"
) -> Behaviour:
    """Answer with `body` gzip-compressed, `Content-Encoding: gzip` (asked for identity or not)."""
    return reply(
        status, gzip.compress(body), headers={"Content-Encoding": "gzip"}, content_type=content_type
    )


def redirect(status: int, location: str) -> Behaviour:
    """Redirect to `location`."""
    return reply(status, b"", headers={"Location": location})


def close_after_request() -> Behaviour:
    """Read the request, then close without a word (the origin may have acted)."""

    def behave(request: Received, conn: Connection) -> None:
        conn.sock.close()

    return behave


def reset_after_request() -> Behaviour:
    """Read the request, then abort the connection with a RST."""

    def behave(request: Received, conn: Connection) -> None:
        conn.reset()

    return behave


def hold(release: threading.Event, then: Behaviour | None = None) -> Behaviour:
    """Read the request, say nothing until `release` is set (or the client leaves), then `then`."""

    def behave(request: Received, conn: Connection) -> None:
        conn.server.held.set()
        release.wait(60)
        if then is not None:
            then(request, conn)

    return behave


def slow_body(
    body: bytes,
    *,
    step: int = 1,
    interval: float = 0.5,
    status: int = 200,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
    declare_length: bool = True,
) -> Behaviour:
    """Send the headers at once, then `body` a few bytes at a time.

    Each step arrives well within any read timeout, so only an overall deadline stops it.
    """

    def behave(request: Received, conn: Connection) -> None:
        extra = {"Content-Type": content_type, "Connection": "close", **(headers or {})}
        if declare_length:
            extra["Content-Length"] = str(len(body))
        conn.send(_head(status, extra.items()))
        for start in range(0, len(body), step):
            try:
                conn.send(body[start : start + step])
            except OSError:
                return  # the client gave up
            if conn.server.stopping.wait(interval):
                return

    return behave


def serve_bytes(
    data: bytes,
    *,
    cut_at: int | None = None,
    declare_length: bool = True,
    content_type: str = "video/mp4",
    chunk: int = 16384,
    pause: float = 0.0,
    started: threading.Event | None = None,
) -> Behaviour:
    """Serve `data` like a storage host, honouring `Range: bytes=N-`.

    Args:
        cut_at: Close the connection once the body reaches this offset (a drop mid-body).
        declare_length: Send `Content-Length` (and `Content-Range`); without it the body ends
            when the connection closes, so a cut looks exactly like the end.
        pause: Seconds between chunks (a slow host).
        started: Set once the first body byte is out.
    """

    def behave(request: Received, conn: Connection) -> None:
        match = re.match(r"bytes=(\d+)-", request.headers.get("Range", ""))
        offset = int(match.group(1)) if match else 0
        if offset >= len(data) > 0:
            reply(416, b"", headers={"Content-Range": f"bytes */{len(data)}"})(request, conn)
            return
        headers = {"Content-Type": content_type, "Connection": "close", "Accept-Ranges": "bytes"}
        if declare_length:
            headers["Content-Length"] = str(len(data) - offset)
        if match:
            headers["Content-Range"] = f"bytes {offset}-{len(data) - 1}/{len(data)}"
        conn.send(_head(206 if match else 200, headers.items()))
        end = len(data) if cut_at is None or cut_at <= offset else cut_at
        for start in range(offset, end, chunk):
            conn.send(data[start : min(end, start + chunk)])
            if started is not None:
                started.set()
            if pause and conn.server.stopping.wait(pause):
                return
        if end < len(data):
            conn.reset()

    return behave


def forward(upstream: str) -> Behaviour:
    """Pass the request to `upstream` (an origin URL) and its reply back, like a plain proxy."""

    def behave(request: Received, conn: Connection) -> None:
        response = _forward(upstream, request)
        headers = {"Content-Type": response.headers.get("Content-Type", "application/json")}
        reply(response.status_code, response.content, headers=headers)(request, conn)

    return behave


def forward_then(upstream: str, failure: Behaviour) -> Behaviour:
    """Pass the request to `upstream`, let the origin act, then answer with `failure` instead.

    This is the proxy or CDN that gives up after the origin created the task: a 502, a 504, a
    Cloudflare 52x page, a dropped connection.
    """

    def behave(request: Received, conn: Connection) -> None:
        _forward(upstream, request)
        failure(request, conn)

    return behave


def _forward(upstream: str, request: Received) -> requests.Response:
    headers = {
        k: v for k, v in request.headers.items() if k.lower() in ("authorization", "content-type")
    }
    return requests.request(
        request.method,
        upstream.rstrip("/") + request.path,
        data=request.body,
        headers=headers,
        timeout=10,
    )


@dataclass
class _Route:
    method: str
    pattern: re.Pattern[str]
    behaviours: list[Behaviour] = field(default_factory=list)
    used: int = 0


class HostileServer:
    """A scripted HTTP/1.1 server on 127.0.0.1 (see the module docstring).

    Args:
        tls: An `ssl.SSLContext` to serve https with, or None for plain http.
        raw_greeting: Bytes sent as soon as a client connects, before reading anything (with
            an https client: a TLS handshake that fails).
    """

    def __init__(
        self, *, tls: ssl.SSLContext | None = None, raw_greeting: bytes | None = None
    ) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._tls = tls
        self._greeting = raw_greeting
        self._routes: list[_Route] = []
        self._lock = threading.Condition()
        self.received: list[Received] = []
        self.connections = 0
        self.stopping = threading.Event()
        self.held = threading.Event()  # set when a `hold` behaviour has a request in hand
        self._threads: list[threading.Thread] = []
        self._accepter = threading.Thread(target=self._accept, name="hostile-accept", daemon=True)

    @property
    def url(self) -> str:
        return f"{'https' if self._tls else 'http'}://127.0.0.1:{self.port}"

    def script(self, method: str, path: str, *behaviours: Behaviour) -> None:
        """Answer requests matching `method` and `path` (a regex) with `behaviours` in turn;
        the last one answers every later request too."""
        with self._lock:
            self._routes.insert(
                0, _Route(method.upper(), re.compile(path + r"(\?.*)?$"), list(behaviours))
            )

    def count(self, method: str, path: str | None = None) -> int:
        """Requests received with `method` (and, if given, a path matching the regex)."""
        with self._lock:
            return self._count(method, path)

    def _count(self, method: str, path: str | None) -> int:
        return sum(
            1
            for r in self.received
            if r.method == method and (path is None or re.fullmatch(path, r.path.split("?")[0]))
        )

    def wait_for(
        self, method: str, path: str | None = None, *, count: int = 1, timeout: float = 10
    ) -> bool:
        """Block until `count` such requests arrived (they are read before being answered)."""
        with self._lock:
            return self._lock.wait_for(lambda: self._count(method, path) >= count, timeout)

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> HostileServer:
        self._accepter.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self.stopping.set()
        self._accepter.join(5)
        self._listener.close()
        for thread in self._threads:
            thread.join(5)

    # -- serving -----------------------------------------------------------------------------

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
            thread = threading.Thread(
                target=self._serve, args=(sock,), name="hostile-conn", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket) -> None:
        sock.settimeout(30)
        try:
            if self._greeting is not None:
                sock.sendall(self._greeting)
                return
            if self._tls is not None:
                try:
                    sock = self._tls.wrap_socket(sock, server_side=True)
                except (ssl.SSLError, OSError):
                    return
            reader = sock.makefile("rb")
            while not self.stopping.is_set():
                request = self._read_request(reader)
                if request is None:
                    return
                with self._lock:
                    self.received.append(request)
                    behaviour = self._behaviour_for(request)
                    self._lock.notify_all()
                conn = Connection(sock, self)
                behaviour(request, conn)
                if sock.fileno() == -1:
                    return
                # Every scripted answer closes (Connection: close) unless it says otherwise.
                return
        except OSError:
            return
        finally:
            with contextlib.suppress(OSError):
                sock.close()

    def _behaviour_for(self, request: Received) -> Behaviour:
        path = request.path.split("?")[0]
        for route in self._routes:
            if route.method in (request.method, "*") and route.pattern.fullmatch(path):
                index = min(route.used, len(route.behaviours) - 1)
                route.used += 1
                return route.behaviours[index]
        return json_reply(404, {"error": {"message": f"no route {request.method} {path}"}})

    @staticmethod
    def _read_request(reader: Any) -> Received | None:
        line = reader.readline(65536)
        if not line or not line.strip():
            return None
        method, path, _ = line.decode("latin-1").split(" ", 2)
        headers: dict[str, str] = {}
        while True:
            header = reader.readline(65536)
            if header in (b"\r\n", b"\n", b""):
                break
            name, _, value = header.decode("latin-1").partition(":")
            headers[name.strip()] = value.strip()
        length = int(headers.get("Content-Length", "0") or 0)
        body = reader.read(length) if length else b""
        return Received(method, path, headers, body)
